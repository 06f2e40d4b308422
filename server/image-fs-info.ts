import type { ImageFsInfoResponse } from '../api/generated/runtime/v1/ImageFsInfoResponse';
import { nowNanos } from '../common/time';
import type { DaemonContext } from './context';

/**
 * ImageFsInfo: bytes and inodes the image store uses, from the per-layer usage recorded at unpack
 * time (no tree walk per call: the kubelet asks every few seconds). Containers' writable layers
 * are not counted here.
 */
export async function imageFsInfo(ctx: DaemonContext): Promise<ImageFsInfoResponse> {
  const usage = await ctx.images.usage();
  return {
    image_filesystems: [
      {
        timestamp: nowNanos(),
        fs_id: { mountpoint: usage.mountpoint },
        used_bytes: { value: String(usage.usedBytes) },
        inodes_used: { value: String(usage.inodesUsed) },
      },
    ],
    container_filesystems: [],
  };
}
