import type { Image as CriImage } from '../api/generated/runtime/v1/Image';
import type { ImageStatusRequest__Output } from '../api/generated/runtime/v1/ImageStatusRequest';
import type { ImageStatusResponse } from '../api/generated/runtime/v1/ImageStatusResponse';
import { InvalidArgumentError } from '../common/errors';
import type { Image } from '../image/image-store';
import type { DaemonContext } from './context';

/**
 * ImageStatus: the image a reference names; a missing image is not an error but an empty answer
 * (CRI: "If the image isn't present, returns a response with ImageStatusResponse.Image set to
 * nil"). With verbose, `info` carries the image config and manifest as JSON.
 */
export async function imageStatus(
  ctx: DaemonContext,
  request: ImageStatusRequest__Output,
): Promise<ImageStatusResponse> {
  const name = request.image?.image;
  if (!name) throw new InvalidArgumentError('ImageStatus needs image.image');
  const image = ctx.images.status(name);
  if (!image) return { image: null, info: {} };
  return { image: toCriImage(image), info: request.verbose ? await ctx.images.info(image.id) : {} };
}

/** An image record as the CRI Image message. */
export function toCriImage(image: Image): CriImage {
  return {
    id: image.id,
    repo_tags: image.repoTags,
    repo_digests: image.repoDigests,
    size: String(image.size),
    // uid and username are exclusive: uid is set only for a numeric user (CRI api.proto, Image).
    uid: image.uid !== undefined ? { value: String(image.uid) } : null,
    username: image.username,
    spec: { image: image.id, annotations: {} },
    pinned: image.pinned,
  };
}
