import type { RemoveImageRequest__Output } from '../api/generated/runtime/v1/RemoveImageRequest';
import type { RemoveImageResponse } from '../api/generated/runtime/v1/RemoveImageResponse';
import { InvalidArgumentError } from '../common/errors';
import type { DaemonContext } from './context';

/**
 * RemoveImage by ID, tag or digest. Idempotent: removing a missing image succeeds (CRI contract).
 * An image a container uses is refused with FAILED_PRECONDITION.
 */
export async function removeImage(
  ctx: DaemonContext,
  request: RemoveImageRequest__Output,
): Promise<RemoveImageResponse> {
  const name = request.image?.image;
  if (!name) throw new InvalidArgumentError('RemoveImage needs image.image');
  await ctx.images.remove(name);
  return {};
}
