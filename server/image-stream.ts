import { loadCri } from '../api';
import type { StreamImagesRequest__Output } from '../api/generated/runtime/v1/StreamImagesRequest';
import type { StreamImagesResponse } from '../api/generated/runtime/v1/StreamImagesResponse';
import type { DaemonContext } from './context';
import { listImages } from './image-list';
import type { CallContext } from './rpc';
import { encodedItemSize, sendInBatches } from './stream-batches';

const itemSize = encodedItemSize(loadCri().runtime.v1.ImageService.service.StreamImages, 'images');

/** StreamImages: ListImages's images, same filter and order, in batches. */
export async function streamImages(
  ctx: DaemonContext,
  request: StreamImagesRequest__Output,
  send: (response: StreamImagesResponse) => Promise<void>,
  call: CallContext,
): Promise<void> {
  const { images } = listImages(ctx, { filter: request.filter });
  await sendInBatches(
    images ?? [],
    ctx.config.stream_batch,
    itemSize,
    (batch) => send({ images: batch }),
    call.signal,
  );
}
