import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  MS_BIND,
  MS_NODEV,
  MS_NOSUID,
  MS_RDONLY,
  MS_REMOUNT,
  mount,
  unmountIfMounted,
} from '../common/mounts';
import { FailedPreconditionError, InternalError } from '../common/errors';

export interface OverlayDirs {
  /** Where the container sees its root filesystem (the bundle's rootfs). */
  target: string;
  /** The container's own writable layer and overlayfs's scratch dir. */
  upper: string;
  work: string;
}

/**
 * Mounts a container's root filesystem: the image's unpacked layers (top first) as read-only
 * lower dirs under the container's own upper dir. Layers stay shared between images and
 * containers; a container's writes land in its upper dir only.
 */
export async function mountOverlay(lowerDirs: string[], dirs: OverlayDirs): Promise<void> {
  if (lowerDirs.length === 0) throw new FailedPreconditionError('the image has no layers to run');
  await Promise.all(
    [dirs.target, dirs.upper, dirs.work].map((d) => fs.mkdir(d, { recursive: true, mode: 0o755 })),
  );
  // The option string is limited to a page (4096 bytes): about 40 layers at our path lengths.
  const options = `lowerdir=${lowerDirs.join(':')},upperdir=${dirs.upper},workdir=${dirs.work}`;
  try {
    await mount('overlay', dirs.target, 'overlay', 0, options);
  } catch (err) {
    throw new InternalError(`cannot mount the container's rootfs: ${(err as Error).message}`, { cause: err });
  }
}

/** Where a container's image volumes (CRI Mount.image) are mounted, one directory each. */
export function imageVolumesDir(bundleDir: string): string {
  return path.join(bundleDir, 'image-volumes');
}

/**
 * Mounts an image's layers read-only at `target`, for an image volume: an overlay of the layers
 * without an upper dir (read-only by construction), or a read-only bind of an image's only layer
 * (overlayfs needs two lower dirs when it has no upper one). nosuid and nodev: an image volume
 * is data, not a root filesystem.
 */
export async function mountImageVolume(lowerDirs: string[], target: string): Promise<void> {
  if (lowerDirs.length === 0) throw new FailedPreconditionError('the image has no layers to mount');
  await fs.mkdir(target, { recursive: true, mode: 0o755 });
  try {
    if (lowerDirs.length === 1) {
      await mount(lowerDirs[0], target, null, MS_BIND, null);
      await mount(null, target, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, null);
    } else {
      await mount(
        'overlay',
        target,
        'overlay',
        MS_RDONLY | MS_NOSUID | MS_NODEV,
        `lowerdir=${lowerDirs.join(':')}`,
      );
    }
  } catch (err) {
    await unmountIfMounted(target);
    throw new InternalError(`cannot mount an image volume: ${(err as Error).message}`, { cause: err });
  }
}

/** Unmounts every image volume of a container's bundle; none there is fine. */
export async function unmountImageVolumes(bundleDir: string): Promise<void> {
  const dir = imageVolumesDir(bundleDir);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.map((name) => unmountIfMounted(path.join(dir, name))));
}
