import type { Capability__Output } from '../../api/generated/runtime/v1/Capability';
import { InvalidArgumentError } from '../../common/errors';
import type { OciProcess } from '../spec-types';
import type { SpecOpt } from './input';

/** Linux capabilities by number (capability.h); the index is the capability's number. */
export const LINUX_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

/**
 * The capabilities of a non-privileged container: containerd's (and Docker's) 14. CRI-O's
 * default is smaller (no MKNOD, NET_RAW, SYS_CHROOT, AUDIT_WRITE); berth follows containerd so
 * that images written for Docker (ping, chroot, mknod in entrypoints) behave the same.
 */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** A capability name as the CRI gives it ("NET_ADMIN", "cap_net_admin") in its CAP_ form. */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!(LINUX_CAPABILITIES as readonly string[]).includes(full)) {
    throw new InvalidArgumentError(`unknown capability "${name}"`);
  }
  return full;
}

/**
 * The capabilities this kernel has (up to /proc/sys/kernel/cap_last_cap) and, when `held` is
 * given, the daemon holds: a runtime started by a daemon without, say, CAP_SYS_RESOURCE cannot
 * grant it (capset(2) fails with EPERM), so "all" means the daemon's own set, as containerd's
 * cap.Current() does.
 */
export function allCapabilities(lastCap: number, held?: readonly string[]): string[] {
  const known = LINUX_CAPABILITIES.slice(0, lastCap + 1);
  return held ? known.filter((c) => held.includes(c)) : known;
}

/** The capability names of a /proc/<pid>/status mask (CapBnd: 000001ffffffffff). */
export function capabilitiesOfMask(mask: bigint): string[] {
  return LINUX_CAPABILITIES.filter((_name, bit) => (mask >> BigInt(bit)) & 1n);
}

const isAll = (name: string): boolean => name.trim().toUpperCase() === 'ALL';

/**
 * The capability set after the CRI's changes, in containerd's order so that "ALL" combines with
 * single names: add ALL, then drop ALL, then the single adds, then the single drops. So
 * add [ALL] drop [CHOWN] is everything but CHOWN, and drop [ALL] add [NET_BIND_SERVICE] is just
 * NET_BIND_SERVICE. Capabilities the kernel does not have are left out, as runc ignores them.
 */
export function effectiveCapabilities(
  defaults: string[],
  change: Capability__Output | null | undefined,
  lastCap: number,
  held?: readonly string[],
): { caps: string[]; ambient: string[] } {
  const all = allCapabilities(lastCap, held);
  const add = change?.add_capabilities ?? [];
  const drop = change?.drop_capabilities ?? [];
  let caps = defaults.map(normalizeCapability);
  if (add.some(isAll)) caps = [...all];
  if (drop.some(isAll)) caps = [];
  for (const name of add.filter((n) => !isAll(n))) caps.push(normalizeCapability(name));
  const dropped = new Set(drop.filter((n) => !isAll(n)).map(normalizeCapability));
  const ambient = (change?.add_ambient_capabilities ?? [])
    .map(normalizeCapability)
    .filter((c) => !dropped.has(c));
  caps.push(...ambient);
  const known = new Set(all);
  const keep = (list: string[]): string[] =>
    [...new Set(list)].filter((c) => !dropped.has(c) && known.has(c));
  return { caps: keep(caps), ambient: keep(ambient) };
}

/**
 * The OCI capability sets: bounding, permitted and effective hold the container's capabilities.
 * Inheritable stays empty (CVE-2022-24769: a non-empty inheritable set let setcap'd binaries
 * regain capabilities) except for ambient ones, which the kernel only keeps when they are both
 * permitted and inheritable (capabilities(7)).
 */
export function capabilitySets(caps: string[], ambient: string[]): NonNullable<OciProcess['capabilities']> {
  return { bounding: caps, effective: caps, permitted: caps, inheritable: ambient, ambient };
}

export const withCapabilities: SpecOpt = (spec, { config, defaults, features }) => {
  const sc = config.linux?.security_context;
  if (sc?.privileged) {
    const all = allCapabilities(features.lastCap, features.boundingCapabilities);
    spec.process.capabilities = capabilitySets(all, []);
    return;
  }
  const { caps, ambient } = effectiveCapabilities(
    defaults.capabilities,
    sc?.capabilities,
    features.lastCap,
    features.boundingCapabilities,
  );
  spec.process.capabilities = capabilitySets(caps, ambient);
};
