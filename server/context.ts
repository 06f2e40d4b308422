import type { ImageStore } from '../image/image-store';
import type { CniManager } from '../network/cni-manager';
import type { PodCidrStore } from '../network/pod-cidr';
import type { ContainerManager } from '../oci/container-manager';
import type { PodStatsCollector } from '../sandbox/pod-stats';
import type { SandboxManager } from '../sandbox/sandbox-manager';
import type { Config } from './config';
import type { LifecycleEvents } from './lifecycle-events';
import type { Logger } from './logger';
import type { StreamingServer } from './streaming/server';

/** What the RPC handlers share: the effective config, the logger and the daemon's managers. */
export interface DaemonContext {
  config: Config;
  logger: Logger;
  podCidrs: PodCidrStore;
  network: CniManager;
  sandboxes: SandboxManager;
  images: ImageStore;
  containers: ContainerManager;
  streaming: StreamingServer;
  /** Stats of pods and containers, with the previous CPU samples and writable layer walks. */
  stats: PodStatsCollector;
  /** The container lifecycle events GetContainerEvents streams. */
  events: LifecycleEvents;
}
