import { loadCri } from '../api';
import type { StreamContainerStatsRequest__Output } from '../api/generated/runtime/v1/StreamContainerStatsRequest';
import type { StreamContainerStatsResponse } from '../api/generated/runtime/v1/StreamContainerStatsResponse';
import { listContainerStats } from './container-stats-list';
import type { DaemonContext } from './context';
import type { CallContext } from './rpc';
import { encodedItemSize, sendInBatches } from './stream-batches';

const itemSize = encodedItemSize(
  loadCri().runtime.v1.RuntimeService.service.StreamContainerStats,
  'container_stats',
);

/** StreamContainerStats: ListContainerStats's stats, same filter and order, in batches. */
export async function streamContainerStats(
  ctx: DaemonContext,
  request: StreamContainerStatsRequest__Output,
  send: (response: StreamContainerStatsResponse) => Promise<void>,
  call: CallContext,
): Promise<void> {
  const { stats } = await listContainerStats(ctx, { filter: request.filter });
  await sendInBatches(
    stats ?? [],
    ctx.config.stream_batch,
    itemSize,
    (batch) => send({ container_stats: batch }),
    call.signal,
  );
}
