import type { ListImagesRequest__Output } from '../api/generated/runtime/v1/ListImagesRequest';
import type { ListImagesResponse } from '../api/generated/runtime/v1/ListImagesResponse';
import type { DaemonContext } from './context';
import { toCriImage } from './image-status';

/** ListImages: every image, or the one the filter's reference names. */
export function listImages(ctx: DaemonContext, request: ListImagesRequest__Output): ListImagesResponse {
  const filter = request.filter?.image?.image || undefined;
  return { images: ctx.images.list(filter).map(toCriImage) };
}
