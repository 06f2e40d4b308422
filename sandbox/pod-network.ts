import type { PodNetworkRequest } from '../network/cni-manager';

export type { PodNetworkRequest, PodPortMapping } from '../network/cni-manager';

/**
 * What the sandbox needs from pod networking (network/cni-manager.ts implements it with CNI):
 * attach a pod's network namespace and learn its addresses; detach it again, idempotently, even
 * after a daemon restart and even when the namespace is already gone.
 */
export interface PodNetwork {
  setUpPod(request: PodNetworkRequest): Promise<{ ips: string[] }>;
  tearDownPod(request: { podId: string; netnsPath?: string }): Promise<void>;
}
