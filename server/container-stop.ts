import type { StopContainerRequest__Output } from '../api/generated/runtime/v1/StopContainerRequest';
import type { StopContainerResponse } from '../api/generated/runtime/v1/StopContainerResponse';
import { InvalidArgumentError } from '../common/errors';
import type { DaemonContext } from './context';

/**
 * StopContainer: the stop signal, `timeout` seconds, then SIGKILL. Stopping a stopped or missing
 * container succeeds: the CRI asks StopContainer to be idempotent.
 */
export async function stopContainer(
  ctx: DaemonContext,
  request: StopContainerRequest__Output,
): Promise<StopContainerResponse> {
  if (!request.container_id) throw new InvalidArgumentError('StopContainer needs a container_id');
  await ctx.containers.stop(request.container_id, Number(request.timeout));
  return {};
}
