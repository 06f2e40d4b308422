import type { StopPodSandboxRequest__Output } from '../api/generated/runtime/v1/StopPodSandboxRequest';
import type { StopPodSandboxResponse } from '../api/generated/runtime/v1/StopPodSandboxResponse';
import { InvalidArgumentError } from '../common/errors';
import type { DaemonContext } from './context';

/** StopPodSandbox: idempotent, and a pod that no longer exists is success, as the CRI asks. */
export async function stopPodSandbox(
  ctx: DaemonContext,
  request: StopPodSandboxRequest__Output,
): Promise<StopPodSandboxResponse> {
  if (!request.pod_sandbox_id) throw new InvalidArgumentError('StopPodSandbox needs a pod_sandbox_id');
  await ctx.sandboxes.stop(request.pod_sandbox_id);
  return {};
}
