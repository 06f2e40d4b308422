import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  buildImage,
  buildLayer,
  pushImage,
  type BuiltLayer,
  type TarEntry,
  type TestRegistry,
} from '../image/test-registry';
import { makeRootfs } from '../native/testing/bundle';

let busybox: Promise<BuiltLayer> | undefined;

/**
 * One layer holding a busybox userland: Debian's dynamic busybox with its glibc libraries and
 * every applet as a hard link (so it behaves like Docker's busybox image), /etc/passwd with root
 * and user (1000), /etc/group. Built once per test process.
 */
export function busyboxLayer(): Promise<BuiltLayer> {
  busybox ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-image-'));
    try {
      return await buildLayer(tarEntriesOf(makeRootfs(dir)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  })();
  return busybox;
}

/**
 * Pushes a busybox image with the given run config and, when `files` are given, a second layer
 * holding them (to replace /etc/passwd, say); returns its reference (`host/repo:tag`).
 */
export async function pushBusybox(
  registry: TestRegistry,
  repo: string,
  tag: string,
  config: Record<string, unknown> = {},
  files: TarEntry[] = [],
): Promise<string> {
  const layers = [await busyboxLayer()];
  if (files.length > 0) layers.push(await buildLayer(files));
  const image = buildImage(layers, { config });
  await pushImage(registry.url, repo, tag, image);
  return `${registry.host}/${repo}:${tag}`;
}

/** A directory tree as tar entries, hard links as links to the first path of their inode. */
function tarEntriesOf(root: string): TarEntry[] {
  const entries: TarEntry[] = [];
  const firstPathOfInode = new Map<number, string>();
  const walk = (dir: string, prefix: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const rel = prefix ? `${prefix}/${name}` : name;
      const stat = fs.lstatSync(full);
      if (stat.isDirectory()) {
        entries.push({ name: rel, type: 'directory', mode: stat.mode & 0o7777 });
        walk(full, rel);
      } else if (stat.isSymbolicLink()) {
        entries.push({ name: rel, type: 'symlink', linkname: fs.readlinkSync(full) });
      } else if (stat.nlink > 1 && firstPathOfInode.has(stat.ino)) {
        // With the file's mode: Docker's and containerd's unpackers chmod a hard link to its
        // header's mode, so a link header with the default 0644 would make busybox unrunnable.
        entries.push({
          name: rel,
          type: 'link',
          linkname: firstPathOfInode.get(stat.ino)!,
          mode: stat.mode & 0o7777,
        });
      } else {
        firstPathOfInode.set(stat.ino, rel);
        entries.push({ name: rel, content: fs.readFileSync(full), mode: stat.mode & 0o7777 });
      }
    }
  };
  walk(root, '');
  return entries;
}
