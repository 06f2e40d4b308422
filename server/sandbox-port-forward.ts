import type { PortForwardRequest__Output } from '../api/generated/runtime/v1/PortForwardRequest';
import type { PortForwardResponse } from '../api/generated/runtime/v1/PortForwardResponse';
import { FailedPreconditionError, InvalidArgumentError } from '../common/errors';
import type { DaemonContext } from './context';

/** PortForward: a URL on the streaming server that forwards connections to ports of the pod. */
export async function portForward(
  ctx: DaemonContext,
  request: PortForwardRequest__Output,
): Promise<PortForwardResponse> {
  if (!request.pod_sandbox_id) throw new InvalidArgumentError('PortForward needs a pod_sandbox_id');
  const bad = request.port.find((p) => !Number.isInteger(p) || p < 1 || p > 65535);
  if (bad !== undefined) throw new InvalidArgumentError(`port ${bad} is not between 1 and 65535`);
  const sandbox = await ctx.sandboxes.get(request.pod_sandbox_id);
  if (sandbox.state !== 'ready') throw new FailedPreconditionError(`pod sandbox ${sandbox.id} is not ready`);
  return { url: ctx.streaming.url({ kind: 'portforward', podId: sandbox.id, ports: request.port }) };
}
