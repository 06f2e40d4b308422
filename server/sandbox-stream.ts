import { loadCri } from '../api';
import type { StreamPodSandboxesRequest__Output } from '../api/generated/runtime/v1/StreamPodSandboxesRequest';
import type { StreamPodSandboxesResponse } from '../api/generated/runtime/v1/StreamPodSandboxesResponse';
import type { DaemonContext } from './context';
import type { CallContext } from './rpc';
import { listPodSandbox } from './sandbox-list';
import { encodedItemSize, sendInBatches } from './stream-batches';

const itemSize = encodedItemSize(
  loadCri().runtime.v1.RuntimeService.service.StreamPodSandboxes,
  'pod_sandboxes',
);

/** StreamPodSandboxes: ListPodSandbox's sandboxes, same filter and order, in batches. */
export async function streamPodSandboxes(
  ctx: DaemonContext,
  request: StreamPodSandboxesRequest__Output,
  send: (response: StreamPodSandboxesResponse) => Promise<void>,
  call: CallContext,
): Promise<void> {
  const { items } = await listPodSandbox(ctx, { filter: request.filter });
  await sendInBatches(
    items ?? [],
    ctx.config.stream_batch,
    itemSize,
    (batch) => send({ pod_sandboxes: batch }),
    call.signal,
  );
}
