import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { run } from '../common/exec';
import { InternalError } from '../common/errors';
import { unmountIfMounted } from '../common/mounts';

export const PINNED_KINDS = ['net', 'ipc', 'uts', 'pid'] as const;
export type PinnedKind = (typeof PINNED_KINDS)[number];

/** Paths of a pod's pinned namespaces; a kind is absent when the pod shares the host's. */
export type PinnedNamespaces = Partial<Record<PinnedKind, string>>;

/**
 * Pins a pod's namespaces to files under `<runroot>/ns/<kind>/<pod id>` with berth-pinns, so that
 * they exist before (and after) any process: CNI configures the network namespace (which comes with
 * `lo` already up) before the pause process starts, and containers join by path.
 */
export class NamespacePinner {
  constructor(
    private readonly pinnsBinary: string,
    private readonly nsDir: string,
  ) {}

  /**
   * Creates the requested namespaces with the hostname (UTS) and sysctls set inside them; a new
   * network namespace has its loopback interface up, so CNI only configures the pod's network.
   */
  async pin(
    podId: string,
    kinds: { net: boolean; ipc: boolean; uts: boolean },
    hostname: string | undefined,
    sysctls: Record<string, string>,
  ): Promise<PinnedNamespaces> {
    const flags = [kinds.net ? '-n' : '', kinds.ipc ? '-c' : '', kinds.uts ? '-u' : ''].filter(Boolean);
    const pinned: PinnedNamespaces = {};
    if (flags.length === 0) return pinned;
    const args = ['pin', '-d', this.nsDir, '-i', podId, ...flags];
    if (kinds.uts && hostname) args.push('-H', hostname);
    for (const [key, value] of Object.entries(sysctls)) args.push('-s', `${key}=${value}`);
    try {
      await run(this.pinnsBinary, args);
    } catch (err) {
      throw new InternalError(`cannot create the pod's namespaces: ${(err as Error).message}`, {
        cause: err,
      });
    }
    for (const kind of ['net', 'ipc', 'uts'] as const) {
      if (kinds[kind]) pinned[kind] = this.pathOf(kind, podId);
    }
    return pinned;
  }

  /**
   * Pins the pid namespace of a running process (the pause process of a pod whose containers
   * share one pid namespace), so containers can join it by path like the others.
   */
  async pinPidOf(podId: string, pid: number): Promise<string> {
    try {
      await run(this.pinnsBinary, ['pin-pid', '-d', this.nsDir, '-i', podId, '-p', String(pid)]);
    } catch (err) {
      throw new InternalError(`cannot pin the pid namespace of ${pid}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return this.pathOf('pid', podId);
  }

  /**
   * Unmounts and removes pinned namespace files; files already gone are fine. The daemon's own
   * umount2 and unlink, the same steps as `berth-pinns unpin` without a process.
   */
  async unpin(files: string[]): Promise<void> {
    try {
      await Promise.all(
        files.map(async (file) => {
          await unmountIfMounted(file);
          await fs.rm(file, { force: true });
        }),
      );
    } catch (err) {
      throw new InternalError(`cannot release the pod's namespaces: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  pathOf(kind: PinnedKind, podId: string): string {
    return path.join(this.nsDir, kind, podId);
  }
}
