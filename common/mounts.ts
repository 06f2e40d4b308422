import { InternalError } from './errors';
import { nativeAddon } from './native-addon';

/** The kernel's mount flags (linux/mount.h) that the daemon uses. */
export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_REMOUNT = 0x20;
export const MS_BIND = 0x1000;
const MNT_DETACH = 0x2;

/** mount(2), made by the daemon itself (no mount(8) process); rejects with the errno's code. */
export function mount(
  source: string | null,
  target: string,
  fstype: string | null,
  flags: number,
  data: string | null,
): Promise<void> {
  return new Promise((resolve, reject) =>
    nativeAddon().mount(source, target, fstype, flags, data, (err) => (err ? reject(err) : resolve())),
  );
}

function umountDetach(target: string): Promise<void> {
  return new Promise((resolve, reject) =>
    nativeAddon().umount(target, MNT_DETACH, (err) => (err ? reject(err) : resolve())),
  );
}

/**
 * Unmounts whatever is mounted at `dir`, stacked mounts included, lazily (MNT_DETACH), so a
 * straggling user does not block removal. Nothing mounted there, or no `dir`, is fine.
 */
export async function unmountIfMounted(dir: string): Promise<void> {
  for (let i = 0; i < 64; i++) {
    try {
      await umountDetach(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // EINVAL: not a mount point (any more).
      if (code === 'EINVAL' || code === 'ENOENT') return;
      throw new InternalError(`cannot unmount ${dir}: ${(err as Error).message}`, { cause: err });
    }
  }
  throw new InternalError(`cannot unmount ${dir}: still mounted after 64 unmounts`);
}
