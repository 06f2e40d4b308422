import type { ExecRequest__Output } from '../api/generated/runtime/v1/ExecRequest';
import type { ExecResponse } from '../api/generated/runtime/v1/ExecResponse';
import { FailedPreconditionError, InvalidArgumentError } from '../common/errors';
import { containerState } from '../oci/container-record';
import type { DaemonContext } from './context';
import { streamOptionsProblem } from './streaming/protocol';

/** Exec: a URL on the streaming server where the client runs the command in the container. */
export async function execInContainer(
  ctx: DaemonContext,
  request: ExecRequest__Output,
): Promise<ExecResponse> {
  if (!request.container_id) throw new InvalidArgumentError('Exec needs a container_id');
  if (request.cmd.length === 0) throw new InvalidArgumentError('Exec needs a command');
  const problem = streamOptionsProblem(request);
  if (problem) throw new InvalidArgumentError(problem);
  const record = ctx.containers.get(request.container_id);
  if (containerState(record) !== 'CONTAINER_RUNNING') {
    throw new FailedPreconditionError(`container ${record.id} is not running`);
  }
  const { cmd, tty, stdin, stdout, stderr } = request;
  return {
    url: ctx.streaming.url({ kind: 'exec', containerId: record.id, cmd, tty, stdin, stdout, stderr }),
  };
}
