import { InvalidArgumentError } from '../common/errors';

/** kernel.* sysctls that belong to the IPC namespace (ipc_sysctl.c) and UTS namespace (utsname_sysctl.c). */
const IPC_KERNEL_SYSCTLS = new Set([
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
]);
const UTS_KERNEL_SYSCTLS = new Set(['kernel.domainname']);

export type SysctlNamespace = 'net' | 'ipc' | 'uts';

/**
 * Checks a pod's sysctls: only sysctls that live in a namespace the pod owns may be set (net.*
 * in the network namespace; the namespaced kernel.* and fs.mqueue.* ones in the IPC or UTS
 * namespace). Anything else would change the whole node and is refused, as is a namespaced
 * sysctl when the pod shares that namespace with the host. Keys may use `/` as separator, as the
 * kernel's own /proc/sys paths do; they are returned in dotted form.
 */
export function validatePodSysctls(
  sysctls: Record<string, string>,
  owns: Record<SysctlNamespace, boolean>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawKey, value] of Object.entries(sysctls)) {
    const key = rawKey.includes('/') ? rawKey.replace(/\//g, '.') : rawKey;
    if (!/^[a-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(key)) {
      throw new InvalidArgumentError(`sysctl "${rawKey}" is not a valid sysctl name`);
    }
    if (/[\n\0]/.test(value)) throw new InvalidArgumentError(`sysctl "${rawKey}" has an invalid value`);
    const ns = namespaceOf(key);
    if (!ns) {
      throw new InvalidArgumentError(
        `sysctl "${rawKey}" is not namespaced (only net.*, fs.mqueue.* and the IPC/UTS kernel.* sysctls are)`,
      );
    }
    if (!owns[ns]) {
      throw new InvalidArgumentError(
        `sysctl "${rawKey}" cannot be set: the pod shares the host's ${ns} namespace`,
      );
    }
    out[key] = value;
  }
  return out;
}

function namespaceOf(key: string): SysctlNamespace | undefined {
  if (key.startsWith('net.')) return 'net';
  if (key.startsWith('fs.mqueue.') || IPC_KERNEL_SYSCTLS.has(key)) return 'ipc';
  if (UTS_KERNEL_SYSCTLS.has(key)) return 'uts';
  return undefined;
}
