import type { UpdateRuntimeConfigRequest__Output } from '../api/generated/runtime/v1/UpdateRuntimeConfigRequest';
import type { UpdateRuntimeConfigResponse } from '../api/generated/runtime/v1/UpdateRuntimeConfigResponse';
import type { DaemonContext } from './context';

/**
 * UpdateRuntimeConfig: the kubelet hands over the node's pod CIDR. We record it (validated, on
 * disk); an empty CIDR is how the kubelet says "nothing to update", so it changes nothing.
 */
export async function updateRuntimeConfig(
  ctx: DaemonContext,
  request: UpdateRuntimeConfigRequest__Output,
): Promise<UpdateRuntimeConfigResponse> {
  const podCidr = request.runtime_config?.network_config?.pod_cidr ?? '';
  if (podCidr === '') return {};
  await ctx.podCidrs.set(podCidr);
  ctx.logger.info('pod CIDR updated', { pod_cidr: podCidr });
  return {};
}
