import { loadCri } from '../api';
import type { StreamPodSandboxMetricsResponse } from '../api/generated/runtime/v1/StreamPodSandboxMetricsResponse';
import type { DaemonContext } from './context';
import type { CallContext } from './rpc';
import { listPodSandboxMetrics } from './sandbox-metrics-list';
import { encodedItemSize, sendInBatches } from './stream-batches';

const itemSize = encodedItemSize(
  loadCri().runtime.v1.RuntimeService.service.StreamPodSandboxMetrics,
  'pod_sandbox_metrics',
);

/** StreamPodSandboxMetrics: ListPodSandboxMetrics's pod metrics, same order, in batches. */
export async function streamPodSandboxMetrics(
  ctx: DaemonContext,
  send: (response: StreamPodSandboxMetricsResponse) => Promise<void>,
  call: CallContext,
): Promise<void> {
  const { pod_metrics } = await listPodSandboxMetrics(ctx);
  await sendInBatches(
    pod_metrics ?? [],
    ctx.config.stream_batch,
    itemSize,
    (batch) => send({ pod_sandbox_metrics: batch }),
    call.signal,
  );
}
