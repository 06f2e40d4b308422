import { loadCri } from '../api';
import type { StreamPodSandboxStatsRequest__Output } from '../api/generated/runtime/v1/StreamPodSandboxStatsRequest';
import type { StreamPodSandboxStatsResponse } from '../api/generated/runtime/v1/StreamPodSandboxStatsResponse';
import type { DaemonContext } from './context';
import type { CallContext } from './rpc';
import { listPodSandboxStats } from './sandbox-stats-list';
import { encodedItemSize, sendInBatches } from './stream-batches';

const itemSize = encodedItemSize(
  loadCri().runtime.v1.RuntimeService.service.StreamPodSandboxStats,
  'pod_sandbox_stats',
);

/** StreamPodSandboxStats: ListPodSandboxStats's stats, same filter and order, in batches. */
export async function streamPodSandboxStats(
  ctx: DaemonContext,
  request: StreamPodSandboxStatsRequest__Output,
  send: (response: StreamPodSandboxStatsResponse) => Promise<void>,
  call: CallContext,
): Promise<void> {
  const { stats } = await listPodSandboxStats(ctx, { filter: request.filter });
  await sendInBatches(
    stats ?? [],
    ctx.config.stream_batch,
    itemSize,
    (batch) => send({ pod_sandbox_stats: batch }),
    call.signal,
  );
}
