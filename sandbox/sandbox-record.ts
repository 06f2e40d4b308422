import type { LinuxContainerResources__Output } from '../api/generated/runtime/v1/LinuxContainerResources';
import type { PodSandboxConfig__Output } from '../api/generated/runtime/v1/PodSandboxConfig';
import type { PinnedNamespaces } from './namespaces';

/**
 * A pod sandbox as berth keeps it on disk (`<root>/sandboxes/<id>/sandbox.json`).
 *
 *   RunPodSandbox ──► ready ──StopPodSandbox / pause died──► notready ──RemovePodSandbox──► (gone)
 *
 * A record is written only once the sandbox is fully set up (a failed run leaves none), and again
 * on every state change. `version` lets a later berth read an older record.
 */
export interface SandboxRecord {
  version: 1;
  id: string;
  config: PodSandboxConfig__Output;
  /** The handler name the pod asked for ('' = the default), and the one it got. */
  requestedHandler: string;
  runtimeHandler: string;
  /** Nanoseconds since the epoch, as a decimal string (CRI int64). */
  createdAt: string;
  state: 'ready' | 'notready';
  /** StopPodSandbox finished: the pause container is deleted and the network released. */
  released?: boolean;
  /** Which of the host's namespaces the pod shares instead of having its own. */
  host: { network: boolean; ipc: boolean; pid: boolean };
  /** Pod-wide pid namespace (NamespaceOption.pid POD): containers join the pause process's. */
  sharedPid: boolean;
  namespaces: PinnedNamespaces;
  ips: string[];
  pausePid: number;
  /** The pause process's start time (/proc/<pid>/stat), so its liveness is checked without the runtime. */
  pauseStartTime?: string;
  cgroupsPath: string;
  /** Persistent per-pod dir (resolv.conf, hosts, hostname) and volatile one (bundle, shm). */
  stateDir: string;
  runDir: string;
  shmDir: string;
  /** The pod-level resources of the latest in-place resize; absent until the first one. */
  updatedResources?: UpdatedPodResources;
}

/**
 * What UpdatePodSandboxResources reported: the pod's overhead and the sum of its containers'
 * resources, as in LinuxPodSandboxConfig.overhead and .resources. `config` keeps the values the
 * pod was created with.
 */
export interface UpdatedPodResources {
  overhead: LinuxContainerResources__Output | null;
  resources: LinuxContainerResources__Output | null;
  /** When berth was told, nanoseconds since the epoch as a decimal string. */
  updatedAt: string;
}

/**
 * What RunPodSandbox writes before it makes anything (`creating.json` beside the record), so that
 * the next daemon can undo a run a crash cut short: the runtime that may hold the pause process,
 * the network to tear down, and the directories to remove. Namespaces are found by the pod's ID.
 */
export interface SandboxIntent {
  config: PodSandboxConfig__Output;
  runtimeHandler: string;
  hostNetwork: boolean;
  runDir: string;
  shmDir: string;
}

/** The kubelet's identity of a pod attempt: two sandboxes may never share it. */
export function sandboxName(config: PodSandboxConfig__Output): string {
  const m = config.metadata!;
  return `${m.name}_${m.namespace}_${m.uid}_${m.attempt}`;
}
