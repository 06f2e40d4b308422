import type { OciNamespace, OciSeccomp, OciSpec } from '../oci/spec-types';
import { OCI_VERSION } from '../oci/spec-types';
import { defaultMounts } from '../oci/spec/mounts';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from '../oci/spec/security';
import type { PinnedNamespaces } from './namespaces';

/** Where the pause binary appears inside its otherwise empty rootfs. */
export const PAUSE_PATH = '/pause';

export interface PauseSpecInput {
  rootfs: string;
  pauseBinary: string;
  /** The pod's pinned namespaces to join; a missing kind means the host's. */
  namespaces: PinnedNamespaces;
  /** A new pid namespace for the pod (false: the host's, for hostPID pods). */
  newPidNamespace: boolean;
  cgroupsPath: string;
  /** The pod's /dev/shm to bind: its private tmpfs, or the host's /dev/shm for a host-IPC pod. */
  shmSource: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  oomScoreAdj: number;
  /** The pod's seccomp filter, if it asks for one. */
  seccomp?: OciSeccomp;
  annotations: Record<string, string>;
}

/**
 * The OCI spec of a pod's pause process: a read-only rootfs holding only the pause binary, no
 * capabilities, no new privileges, joined to the pod's pinned namespaces. It never reads a file,
 * so it needs none of the pod's /etc files. The hostname is already set in the pinned UTS
 * namespace, so the spec sets none (a runtime would refuse one in a namespace it only joins).
 */
export function pauseSpec(input: PauseSpecInput): OciSpec {
  const namespaces: OciNamespace[] = [{ type: 'mount' }];
  if (input.newPidNamespace) namespaces.push({ type: 'pid' });
  if (input.namespaces.net) namespaces.push({ type: 'network', path: input.namespaces.net });
  if (input.namespaces.ipc) namespaces.push({ type: 'ipc', path: input.namespaces.ipc });
  if (input.namespaces.uts) namespaces.push({ type: 'uts', path: input.namespaces.uts });
  const ownIpc = input.namespaces.ipc !== undefined;
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: { uid: input.user.uid, gid: input.user.gid, additionalGids: input.user.additionalGids },
      args: [PAUSE_PATH],
      env: ['PATH=/'],
      cwd: '/',
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      noNewPrivileges: true,
      oomScoreAdj: input.oomScoreAdj,
    },
    root: { path: input.rootfs, readonly: true },
    mounts: [
      // A container's /proc and /dev, less /sys: the pause process reads nothing there, and on
      // cgroup v1 the cgroup tree alone would add a mount per hierarchy to every pod start.
      ...defaultMounts(false, ownIpc).filter((m) => !m.destination.startsWith('/sys')),
      {
        destination: '/dev/shm',
        type: 'bind',
        source: input.shmSource,
        options: ['rbind', 'nosuid', 'noexec', 'nodev'],
      },
      {
        destination: PAUSE_PATH,
        type: 'bind',
        source: input.pauseBinary,
        options: ['rbind', 'ro', 'nosuid', 'nodev'],
      },
    ],
    annotations: input.annotations,
    linux: {
      namespaces,
      cgroupsPath: input.cgroupsPath,
      ...(input.seccomp ? { seccomp: input.seccomp } : {}),
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      maskedPaths: DEFAULT_MASKED_PATHS,
      readonlyPaths: DEFAULT_READONLY_PATHS,
    },
  };
}
