import type { ContainerConfig__Output } from '../api/generated/runtime/v1/ContainerConfig';
import type { LinuxContainerResources__Output } from '../api/generated/runtime/v1/LinuxContainerResources';

/** A ContainerConfig as stored: env values (bytes on the wire) kept as UTF-8 text. */
export type StoredContainerConfig = Omit<ContainerConfig__Output, 'envs'> & {
  envs: Array<{ key: string; value: string }>;
};

/**
 * A container as berth keeps it on disk (`<root>/containers/<id>/container.json`). Its state is
 * derived from the timestamps, never stored:
 *
 *   CreateContainer ──► CREATED ──StartContainer──► RUNNING ──process exits──► EXITED ──RemoveContainer──► (gone)
 *                          └──────────────── killed before start ───────────────┘
 *
 * The monitor writes the exit (code, signal, OOM, time) into its exit record; the daemon folds
 * it into this record when it sees it, also after a restart.
 */
export interface ContainerRecord {
  version: 1;
  id: string;
  podId: string;
  config: StoredContainerConfig;
  /** The image's ID (config digest), its digested reference, and the name the kubelet used. */
  imageId: string;
  /** Images mounted as volumes (CRI Mount.image): they may not be removed while the container exists. */
  volumeImageIds?: string[];
  imageRef: string;
  imageName: string;
  runtimeHandler: string;
  /** Nanoseconds since the epoch, as decimal strings (CRI int64). */
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  reason?: string;
  message?: string;
  /** The container's first process and its monitor, on the host. */
  pid: number;
  monitorPid: number;
  /** The signal StopContainer sends first (name, e.g. SIGTERM). */
  stopSignal: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  cgroupsPath: string;
  /** Resources last applied (CreateContainer or UpdateContainerResources). */
  resources?: LinuxContainerResources__Output | null;
  /** Host path of the CRI log, or '' when the pod keeps none. */
  logPath: string;
  /** Volatile: the bundle (config.json, rootfs mount point) and the monitor's runroot. */
  bundleDir: string;
  runDir: string;
  /** Persistent: the container's writable layer. */
  upperDir: string;
  workDir: string;
}

export type ContainerStateName = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED';

export function containerState(record: ContainerRecord): ContainerStateName {
  if (record.finishedAt) return 'CONTAINER_EXITED';
  if (record.startedAt) return 'CONTAINER_RUNNING';
  return 'CONTAINER_CREATED';
}

/** The kubelet's identity of a container in its pod: two containers may never share it. */
export function containerName(
  podId: string,
  config: { metadata: ContainerConfig__Output['metadata'] },
): string {
  return `${podId}_${config.metadata!.name}_${config.metadata!.attempt}`;
}

/**
 * What CreateContainer writes before it makes anything (`creating.json` beside the record), so
 * that the next daemon can undo a create a crash cut short: the runtime that may hold the
 * container, the monitor's directory, and the bundle whose rootfs may be mounted.
 */
export interface ContainerIntent {
  runtimeHandler: string;
  bundleDir: string;
  runDir: string;
}
