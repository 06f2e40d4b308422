import type { AttachRequest__Output } from '../api/generated/runtime/v1/AttachRequest';
import type { AttachResponse } from '../api/generated/runtime/v1/AttachResponse';
import { FailedPreconditionError, InvalidArgumentError } from '../common/errors';
import { containerState } from '../oci/container-record';
import type { DaemonContext } from './context';
import { streamOptionsProblem } from './streaming/protocol';

/** Attach: a URL on the streaming server where the client joins the container's stdio. */
export async function attachToContainer(
  ctx: DaemonContext,
  request: AttachRequest__Output,
): Promise<AttachResponse> {
  if (!request.container_id) throw new InvalidArgumentError('Attach needs a container_id');
  const problem = streamOptionsProblem(request);
  if (problem) throw new InvalidArgumentError(problem);
  const record = ctx.containers.get(request.container_id);
  if (containerState(record) !== 'CONTAINER_RUNNING') {
    throw new FailedPreconditionError(`container ${record.id} is not running`);
  }
  const { tty, stdin, stdout, stderr } = request;
  return { url: ctx.streaming.url({ kind: 'attach', containerId: record.id, tty, stdin, stdout, stderr }) };
}
