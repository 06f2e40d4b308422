import type { ReopenContainerLogRequest__Output } from '../api/generated/runtime/v1/ReopenContainerLogRequest';
import type { ReopenContainerLogResponse } from '../api/generated/runtime/v1/ReopenContainerLogResponse';
import { InvalidArgumentError } from '../common/errors';
import type { DaemonContext } from './context';

/** ReopenContainerLog: the kubelet rotated the log file; the monitor writes to a new one. */
export async function reopenContainerLog(
  ctx: DaemonContext,
  request: ReopenContainerLogRequest__Output,
): Promise<ReopenContainerLogResponse> {
  if (!request.container_id) throw new InvalidArgumentError('ReopenContainerLog needs a container_id');
  await ctx.containers.reopenLog(request.container_id);
  return {};
}
