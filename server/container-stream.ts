import { loadCri } from '../api';
import type { StreamContainersRequest__Output } from '../api/generated/runtime/v1/StreamContainersRequest';
import type { StreamContainersResponse } from '../api/generated/runtime/v1/StreamContainersResponse';
import { listContainers } from './container-list';
import type { DaemonContext } from './context';
import type { CallContext } from './rpc';
import { encodedItemSize, sendInBatches } from './stream-batches';

const itemSize = encodedItemSize(loadCri().runtime.v1.RuntimeService.service.StreamContainers, 'containers');

/** StreamContainers: ListContainers's containers, same filter and order, in batches. */
export async function streamContainers(
  ctx: DaemonContext,
  request: StreamContainersRequest__Output,
  send: (response: StreamContainersResponse) => Promise<void>,
  call: CallContext,
): Promise<void> {
  const { containers } = await listContainers(ctx, { filter: request.filter });
  await sendInBatches(
    containers ?? [],
    ctx.config.stream_batch,
    itemSize,
    (batch) => send({ containers: batch }),
    call.signal,
  );
}
