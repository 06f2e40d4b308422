import type { RemoveContainerRequest__Output } from '../api/generated/runtime/v1/RemoveContainerRequest';
import type { RemoveContainerResponse } from '../api/generated/runtime/v1/RemoveContainerResponse';
import { InvalidArgumentError } from '../common/errors';
import type { DaemonContext } from './context';

/** RemoveContainer: kills a running container first; removing a missing one succeeds (CRI). */
export async function removeContainer(
  ctx: DaemonContext,
  request: RemoveContainerRequest__Output,
): Promise<RemoveContainerResponse> {
  if (!request.container_id) throw new InvalidArgumentError('RemoveContainer needs a container_id');
  await ctx.containers.remove(request.container_id);
  return {};
}
