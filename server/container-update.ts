import type { UpdateContainerResourcesRequest__Output } from '../api/generated/runtime/v1/UpdateContainerResourcesRequest';
import type { UpdateContainerResourcesResponse } from '../api/generated/runtime/v1/UpdateContainerResourcesResponse';
import { InvalidArgumentError } from '../common/errors';
import type { DaemonContext } from './context';

/** UpdateContainerResources: new CPU, memory and hugepage limits on the live container. */
export async function updateContainerResources(
  ctx: DaemonContext,
  request: UpdateContainerResourcesRequest__Output,
): Promise<UpdateContainerResourcesResponse> {
  if (!request.container_id) throw new InvalidArgumentError('UpdateContainerResources needs a container_id');
  if (!request.linux) throw new InvalidArgumentError('UpdateContainerResources needs linux resources');
  await ctx.containers.updateResources(request.container_id, request.linux);
  return {};
}
