import type { ListContainerStatsRequest__Output } from '../api/generated/runtime/v1/ListContainerStatsRequest';
import type { ListContainerStatsResponse } from '../api/generated/runtime/v1/ListContainerStatsResponse';
import { selectContainers } from './container-filter';
import type { DaemonContext } from './context';

/**
 * ListContainerStats: the stats of every container the filter selects (ID, pod, labels), running
 * or not, as containerd lists them: a container that is not running has attributes and a
 * writable layer only.
 */
export async function listContainerStats(
  ctx: DaemonContext,
  request: ListContainerStatsRequest__Output,
): Promise<ListContainerStatsResponse> {
  const records = selectContainers(ctx.containers.list(), request.filter);
  const samples = await Promise.all(records.map((record) => ctx.stats.containers.sample(record)));
  return { stats: samples.map((s) => s.stats) };
}
