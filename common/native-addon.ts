import * as path from 'node:path';
import { packageRoot } from './package-root';

/** native/addon: the system calls the daemon makes itself (see native/addon/addon.h). */
export interface NativeAddon {
  setExitHandler(handler: (pid: number, code: number, signal: number) => void): void;
  spawn(
    file: string,
    argv: string[],
    env: string[],
    stdio: number[],
    cwd: string | null,
    setsid: boolean,
  ): Array<number | null>;
  mount(
    source: string | null,
    target: string,
    fstype: string | null,
    flags: number,
    data: string | null,
    callback: (err: NodeJS.ErrnoException | null) => void,
  ): void;
  umount(target: string, flags: number, callback: (err: NodeJS.ErrnoException | null) => void): void;
  /** malloc_trim(0): free malloc memory back to the kernel. */
  trimMemory(): void;
}

let addon: NativeAddon | undefined;

/** The addon, loaded on first use from native/bin (built by `make -C native`). */
export function nativeAddon(): NativeAddon {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  addon ??= require(path.join(packageRoot(), 'native', 'bin', 'berth-addon.node')) as NativeAddon;
  return addon;
}
