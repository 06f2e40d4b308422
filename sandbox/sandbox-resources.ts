import type { LinuxContainerResources__Output } from '../api/generated/runtime/v1/LinuxContainerResources';
import { NotFoundError } from '../common/errors';
import { nowNanos } from '../common/time';
import type { SandboxRecord } from './sandbox-record';
import type { SandboxStore } from './sandbox-store';

/**
 * Records a pod's new pod-level resources after an in-place resize (UpdatePodSandboxResources,
 * KEP-1287). The kubelet has already written the pod cgroup, which it owns, so nothing is applied
 * here: like containerd, berth keeps the values in the sandbox record, where PodSandboxStatus
 * (verbose) shows them. A stopped pod is accepted as well (neither containerd nor CRI-O checks the
 * state): the call is best effort and only informs.
 */
export async function recordUpdatedResources(
  store: SandboxStore,
  idOrPrefix: string,
  overhead: LinuxContainerResources__Output | null,
  resources: LinuxContainerResources__Output | null,
): Promise<SandboxRecord> {
  const record = store.find(idOrPrefix);
  if (!record) throw new NotFoundError(`pod sandbox "${idOrPrefix}" not found`);
  record.updatedResources = { overhead, resources, updatedAt: nowNanos() };
  await store.save(record);
  return record;
}
