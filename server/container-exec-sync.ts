import type { ExecSyncRequest__Output } from '../api/generated/runtime/v1/ExecSyncRequest';
import type { ExecSyncResponse } from '../api/generated/runtime/v1/ExecSyncResponse';
import { InvalidArgumentError } from '../common/errors';
import type { DaemonContext } from './context';

/** ExecSync: a command in the running container; its output and exit code (probes use it). */
export async function execSyncInContainer(
  ctx: DaemonContext,
  request: ExecSyncRequest__Output,
): Promise<ExecSyncResponse> {
  if (!request.container_id) throw new InvalidArgumentError('ExecSync needs a container_id');
  const result = await ctx.containers.execSync(request.container_id, request.cmd, Number(request.timeout));
  return { stdout: result.stdout, stderr: result.stderr, exit_code: result.exitCode };
}
