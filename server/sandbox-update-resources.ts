import type { UpdatePodSandboxResourcesRequest__Output } from '../api/generated/runtime/v1/UpdatePodSandboxResourcesRequest';
import type { UpdatePodSandboxResourcesResponse } from '../api/generated/runtime/v1/UpdatePodSandboxResourcesResponse';
import { InvalidArgumentError } from '../common/errors';
import { recordUpdatedResources } from '../sandbox/sandbox-resources';
import type { DaemonContext } from './context';

/** UpdatePodSandboxResources: keeps the pod's resized overhead and resources in its record. */
export async function updatePodSandboxResources(
  ctx: DaemonContext,
  request: UpdatePodSandboxResourcesRequest__Output,
): Promise<UpdatePodSandboxResourcesResponse> {
  if (!request.pod_sandbox_id) {
    throw new InvalidArgumentError('UpdatePodSandboxResources needs a pod_sandbox_id');
  }
  const record = await recordUpdatedResources(
    ctx.sandboxes.store,
    request.pod_sandbox_id,
    request.overhead,
    request.resources,
  );
  ctx.logger.info('pod sandbox resources updated', { id: record.id });
  return {};
}
