import type { StartContainerRequest__Output } from '../api/generated/runtime/v1/StartContainerRequest';
import type { StartContainerResponse } from '../api/generated/runtime/v1/StartContainerResponse';
import { InvalidArgumentError } from '../common/errors';
import type { DaemonContext } from './context';

/** StartContainer: lets a created container's process run. */
export async function startContainer(
  ctx: DaemonContext,
  request: StartContainerRequest__Output,
): Promise<StartContainerResponse> {
  if (!request.container_id) throw new InvalidArgumentError('StartContainer needs a container_id');
  await ctx.containers.start(request.container_id);
  return {};
}
