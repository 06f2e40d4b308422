import type { RemovePodSandboxRequest__Output } from '../api/generated/runtime/v1/RemovePodSandboxRequest';
import type { RemovePodSandboxResponse } from '../api/generated/runtime/v1/RemovePodSandboxResponse';
import { InvalidArgumentError } from '../common/errors';
import type { DaemonContext } from './context';

/** RemovePodSandbox: stops the pod if it runs, then deletes it; a missing pod is success (CRI). */
export async function removePodSandbox(
  ctx: DaemonContext,
  request: RemovePodSandboxRequest__Output,
): Promise<RemovePodSandboxResponse> {
  if (!request.pod_sandbox_id) throw new InvalidArgumentError('RemovePodSandbox needs a pod_sandbox_id');
  await ctx.sandboxes.remove(request.pod_sandbox_id);
  return {};
}
