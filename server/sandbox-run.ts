import type { RunPodSandboxRequest__Output } from '../api/generated/runtime/v1/RunPodSandboxRequest';
import type { RunPodSandboxResponse } from '../api/generated/runtime/v1/RunPodSandboxResponse';
import { InvalidArgumentError } from '../common/errors';
import type { DaemonContext } from './context';

/** RunPodSandbox: creates and starts a pod's sandbox (namespaces, network, pause process). */
export async function runPodSandbox(
  ctx: DaemonContext,
  request: RunPodSandboxRequest__Output,
): Promise<RunPodSandboxResponse> {
  if (!request.config) throw new InvalidArgumentError('RunPodSandbox needs a config');
  const record = await ctx.sandboxes.run(request.config, request.runtime_handler);
  return { pod_sandbox_id: record.id };
}
