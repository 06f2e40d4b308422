import type { ContainerStatsRequest__Output } from '../api/generated/runtime/v1/ContainerStatsRequest';
import type { ContainerStatsResponse } from '../api/generated/runtime/v1/ContainerStatsResponse';
import { InvalidArgumentError } from '../common/errors';
import type { DaemonContext } from './context';

/**
 * ContainerStats: one container's CPU, memory and swap (while it runs) and its writable layer;
 * NotFound for an unknown ID.
 */
export async function containerStats(
  ctx: DaemonContext,
  request: ContainerStatsRequest__Output,
): Promise<ContainerStatsResponse> {
  if (!request.container_id) throw new InvalidArgumentError('ContainerStats needs a container_id');
  const record = ctx.containers.get(request.container_id);
  return { stats: (await ctx.stats.containers.sample(record)).stats };
}
