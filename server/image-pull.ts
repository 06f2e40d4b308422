import type { PullImageRequest__Output } from '../api/generated/runtime/v1/PullImageRequest';
import type { PullImageResponse } from '../api/generated/runtime/v1/PullImageResponse';
import { InvalidArgumentError } from '../common/errors';
import type { DaemonContext } from './context';

/**
 * PullImage: fetches the image (through mirrors, with the request's credentials) and answers its
 * ID, the config digest, which is what the kubelet passes to CreateContainer as image_ref. A
 * client that cancels (or whose deadline passes) stops the pull, unless others wait for it too.
 */
export async function pullImage(
  ctx: DaemonContext,
  request: PullImageRequest__Output,
  signal?: AbortSignal,
): Promise<PullImageResponse> {
  const name = request.image?.image;
  if (!name) throw new InvalidArgumentError('PullImage needs image.image');
  const image = await ctx.images.pull(name, request.auth ?? undefined, signal);
  return { image_ref: image.id };
}
