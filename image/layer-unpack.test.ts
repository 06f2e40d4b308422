import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { DigestMismatchError, UnsafeLayerError } from './errors';
import { unpackLayer } from './layer-unpack';
import { sha256Digest } from './digest';
import { buildLayer, type LayerCompression, type TarEntry } from './test-registry';

// An absolute path that exists (so an extractor following it would succeed in writing).
const sandboxMarker = os.tmpdir();

const getfattr = (p: string, name: string): string =>
  execFileSync('getfattr', ['-h', '--only-values', '-n', name, p]).toString();

/** Every path under dir, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      out.push(r);
      if (e.isDirectory()) await walk(r);
    }
  };
  await walk('');
  return out.sort();
}

describe('unpackLayer', () => {
  let sandbox: string;
  let layerDir: string;

  beforeEach(async () => {
    sandbox = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-unpack-'));
    // Deep enough that "../../.." escapes land inside the sandbox, where the test can see them.
    layerDir = path.join(sandbox, 'a', 'b', 'layer');
    await fs.mkdir(layerDir, { recursive: true });
  });
  afterEach(async () => {
    await fs.rm(sandbox, { recursive: true, force: true });
  });

  async function unpack(entries: TarEntry[], compression: LayerCompression = 'gzip', dir = layerDir) {
    const layer = await buildLayer(entries, compression);
    return unpackLayer(Readable.from([layer.data]), dir, {
      compression,
      diffID: layer.diffID,
      blob: { digest: layer.digest, size: layer.size },
    });
  }

  const mtime = new Date('2020-05-06T07:08:09Z');

  it.each(['gzip', 'zstd', 'none'] as const)('unpacks every entry type with its metadata (%s)', async (c) => {
    await unpack(
      [
        { name: './', type: 'directory', mode: 0o755, mtime },
        { name: 'etc/', type: 'directory', mode: 0o750, uid: 10, gid: 20, mtime },
        { name: 'etc/conf', content: 'x=1\n', mode: 0o640, uid: 1000, gid: 1001, mtime },
        { name: 'bin/tool', content: '#!/bin/sh\n', mode: 0o4755, mtime },
        { name: 'bin/alias', type: 'symlink', linkname: 'tool', uid: 5, gid: 6, mtime },
        { name: 'bin/hard', type: 'link', linkname: 'bin/tool' },
        { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
        { name: 'dev/loop9', type: 'block-device', devmajor: 7, devminor: 9, mode: 0o660 },
        { name: 'run/pipe', type: 'fifo', mode: 0o600 },
        {
          name: 'attrs',
          content: '',
          pax: { 'SCHILY.xattr.user.note': 'hello', 'SCHILY.xattr.trusted.t': 'v' },
        },
        { name: 'deep/implicit/file', content: 'deep' },
      ],
      c,
    );
    const st = (p: string) => fs.lstat(path.join(layerDir, p));
    expect(await fs.readFile(path.join(layerDir, 'etc/conf'), 'utf8')).toBe('x=1\n');
    expect(await st('etc/conf')).toMatchObject({ uid: 1000, gid: 1001, mode: 0o100640 });
    expect((await st('etc/conf')).mtime).toEqual(mtime);
    expect(await st('etc')).toMatchObject({ uid: 10, gid: 20, mode: 0o40750 });
    expect((await st('etc')).mtime).toEqual(mtime);
    expect((await st('.')).mtime).toEqual(mtime);
    expect((await st('bin/tool')).mode).toBe(0o104755);
    expect(await fs.readlink(path.join(layerDir, 'bin/alias'))).toBe('tool');
    expect(await st('bin/alias')).toMatchObject({ uid: 5, gid: 6 });
    expect((await st('bin/alias')).mtime).toEqual(mtime);
    expect((await st('bin/hard')).ino).toBe((await st('bin/tool')).ino);
    const nul = await st('dev/null');
    expect(nul.isCharacterDevice()).toBe(true);
    expect([nul.rdev >> 8, nul.rdev & 0xff, nul.mode & 0o7777]).toEqual([1, 3, 0o666]);
    expect((await st('dev/loop9')).isBlockDevice()).toBe(true);
    expect((await st('run/pipe')).isFIFO()).toBe(true);
    expect(getfattr(path.join(layerDir, 'attrs'), 'user.note')).toBe('hello');
    expect(getfattr(path.join(layerDir, 'attrs'), 'trusted.t')).toBe('v');
    expect(await st('deep/implicit')).toMatchObject({ mode: 0o40755 });
  });

  it('sets xattr values byte for byte, binary ones included', async () => {
    // VFS_CAP_REVISION_2 | effective, permitted = CAP_SETUID (bit 7): bytes above 0x7f.
    const capability = Buffer.from('0100000280000000000000000000000000000000', 'hex');
    const binary = Buffer.from([0x00, 0x80, 0xff, 0xfe]);
    // tar-stream writes PAX values as UTF-8 strings: write placeholders and put the bytes in.
    const layer = await buildLayer(
      [
        {
          name: 'ping',
          content: 'elf',
          mode: 0o755,
          pax: {
            'SCHILY.xattr.security.capability': 'C'.repeat(capability.length),
            'SCHILY.xattr.user.bin': 'B'.repeat(binary.length),
          },
        },
      ],
      'none',
    );
    const data = Buffer.from(layer.data);
    capability.copy(data, data.indexOf('=' + 'C'.repeat(capability.length) + '\n') + 1);
    binary.copy(data, data.indexOf('=' + 'B'.repeat(binary.length) + '\n') + 1);
    await unpackLayer(Readable.from([data]), layerDir, { compression: 'none', diffID: sha256Digest(data) });
    const hex = (name: string) =>
      execFileSync('getfattr', ['-h', '-e', 'hex', '--only-values', '-n', name, path.join(layerDir, 'ping')]);
    expect(hex('security.capability')).toEqual(capability);
    expect(hex('user.bin')).toEqual(binary);
  });

  it('turns whiteouts into overlayfs whiteouts and opaque directories', async () => {
    await unpack([
      { name: '.wh.gone', content: '' },
      { name: 'dir/.wh..wh..opq', content: '' },
      { name: 'dir/kept', content: 'k' },
      { name: '.wh..wh.plnk', type: 'directory' },
    ]);
    const gone = await fs.lstat(path.join(layerDir, 'gone'));
    expect(gone.isCharacterDevice()).toBe(true);
    expect(gone.rdev).toBe(0);
    expect(getfattr(path.join(layerDir, 'dir'), 'trusted.overlay.opaque')).toBe('y');
    expect(await tree(layerDir)).toEqual(['dir', 'dir/kept', 'gone']);
  });

  it('stacks on overlayfs: whiteouts hide lower files, opaque dirs hide lower contents', async () => {
    const lower = path.join(sandbox, 'lower');
    const upper = path.join(sandbox, 'upper');
    const mnt = path.join(sandbox, 'mnt');
    await Promise.all([lower, upper, mnt].map((d) => fs.mkdir(d)));
    await unpack(
      [
        { name: 'keep', content: 'lower' },
        { name: 'gone', content: 'lower' },
        { name: 'dir/old', content: 'lower' },
      ],
      'gzip',
      lower,
    );
    await unpack(
      [
        { name: '.wh.gone', content: '' },
        { name: 'dir/.wh..wh..opq', content: '' },
        { name: 'dir/new', content: 'u' },
      ],
      'zstd',
      upper,
    );
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${upper}:${lower}`, mnt]);
    try {
      expect(await tree(mnt)).toEqual(['dir', 'dir/new', 'keep']);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('follows a parent symlink that stays inside the layer', async () => {
    await unpack([
      { name: 'usr/lib/', type: 'directory' },
      { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
      { name: 'lib/libc.so', content: 'elf' },
      { name: 'usr/bin/up', type: 'symlink', linkname: '../lib' },
      { name: 'usr/bin/up/two', content: '2' },
    ]);
    expect(await fs.readFile(path.join(layerDir, 'usr/lib/libc.so'), 'utf8')).toBe('elf');
    expect(await fs.readFile(path.join(layerDir, 'usr/lib/two'), 'utf8')).toBe('2');
  });

  it('replaces earlier entries of the same name, as tar does', async () => {
    await unpack([
      { name: 'f', content: 'old' },
      { name: 'f', content: 'new' },
      { name: 'd/x', content: 'x' },
      { name: 'd', content: 'now a file' },
      // A file over a symlink replaces the link; it never writes through it.
      { name: 'l', type: 'symlink', linkname: '/etc/hostname' },
      { name: 'l', content: 'not the host file' },
    ]);
    expect(await fs.readFile(path.join(layerDir, 'f'), 'utf8')).toBe('new');
    expect(await fs.readFile(path.join(layerDir, 'd'), 'utf8')).toBe('now a file');
    expect((await fs.lstat(path.join(layerDir, 'l'))).isFile()).toBe(true);
    expect(await fs.readFile(path.join(layerDir, 'l'), 'utf8')).toBe('not the host file');
  });

  describe('refuses hostile layers', () => {
    const cases: Array<[string, TarEntry[], string]> = [
      ['a ../ path', [{ name: '../../../escaped', content: 'x' }], '".." in path'],
      ['a ../ inside a path', [{ name: 'ok/../../escaped', content: 'x' }], '".." in path'],
      ['an absolute path', [{ name: '/tmp/escaped', content: 'x' }], 'absolute path'],
      [
        'a symlink that climbs out',
        [
          { name: 'up', type: 'symlink', linkname: '../../..' },
          { name: 'up/escaped', content: 'x' },
        ],
        'path leaves the layer through a symlink',
      ],
      [
        'a symlink chain that climbs out',
        [
          { name: 'one', type: 'symlink', linkname: 'two' },
          { name: 'two', type: 'symlink', linkname: 'sub/three' },
          { name: 'sub/three', type: 'symlink', linkname: '../../x' },
          { name: 'one/escaped', content: 'x' },
        ],
        'path leaves the layer through a symlink',
      ],
      [
        'an absolute symlink in the parent chain',
        [
          { name: 'abs', type: 'symlink', linkname: sandboxMarker },
          { name: 'abs/escaped', content: 'x' },
        ],
        'is a symlink to absolute path',
      ],
      [
        'a symlink loop',
        [
          { name: 'l1', type: 'symlink', linkname: 'l2' },
          { name: 'l2', type: 'symlink', linkname: 'l1' },
          { name: 'l1/x', content: 'x' },
        ],
        'too many levels of symlinks',
      ],
      [
        'a hard link to a path outside',
        [{ name: 'h', type: 'link', linkname: '../../../outside-file' }],
        '".." in path',
      ],
      [
        'a hard link through an escaping symlink',
        [
          { name: 'up', type: 'symlink', linkname: '../..' },
          { name: 'h', type: 'link', linkname: 'up/outside-file' },
        ],
        'path leaves the layer through a symlink',
      ],
      [
        'a hard link with an absolute target',
        [{ name: 'h', type: 'link', linkname: '/etc/passwd' }],
        'absolute path',
      ],
      [
        'a symlink replaced by a directory',
        [
          { name: 'x', type: 'symlink', linkname: '../..' },
          { name: 'x/', type: 'directory', mode: 0o777 },
          { name: 'x/escaped', content: 'x' },
        ],
        'a directory would replace a symlink',
      ],
      [
        'a whiteout through an escaping symlink',
        [
          { name: 'up', type: 'symlink', linkname: '../..' },
          { name: 'up/.wh.outside-file', content: '' },
        ],
        'path leaves the layer through a symlink',
      ],
    ];

    it.each(cases)('%s', async (_what, entries, message) => {
      const outside = path.join(sandbox, 'a', 'outside-file');
      await fs.writeFile(outside, 'precious');
      const before = await tree(sandbox);
      const error = await unpack(entries).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnsafeLayerError);
      expect((error as Error).message).toContain(message);
      // Nothing changed outside the layer directory.
      const after = (await tree(sandbox)).filter((p) => !p.startsWith('a/b/layer/'));
      expect(after).toEqual(before);
      expect(await fs.readFile(outside, 'utf8')).toBe('precious');
      expect((await fs.lstat(path.join(sandbox, 'a'))).mode & 0o777).toBe(0o755);
    });
  });

  it('fails cleanly when the download breaks off in the middle of a file', async () => {
    const layer = await buildLayer([{ name: 'big', content: Buffer.alloc(4 << 20, 1) }], 'none');
    // Break off at different moments: while the file is read, written, or waiting for data.
    for (let attempt = 0; attempt < 20; attempt++) {
      const dir = path.join(sandbox, `attempt-${attempt}`);
      await fs.mkdir(dir);
      let offset = 0;
      const source = new Readable({
        read() {
          if (offset >= 2 << 20) return;
          this.push(layer.data.subarray(offset, offset + 8192));
          offset += 8192;
        },
      });
      setTimeout(() => source.destroy(new Error('connection reset')), attempt);
      await expect(unpackLayer(source, dir, { compression: 'none', diffID: layer.diffID })).rejects.toThrow(
        'connection reset',
      );
    }
    // Give a stray 'error' event the chance to surface as an uncaught exception (fails the run).
    await new Promise((r) => setTimeout(r, 20));
  });

  it('fails when the content does not match the diff ID', async () => {
    const layer = await buildLayer([{ name: 'f', content: 'x' }], 'gzip');
    await expect(
      unpackLayer(Readable.from([layer.data]), layerDir, {
        compression: 'gzip',
        diffID: sha256Digest('other'),
      }),
    ).rejects.toThrow(DigestMismatchError);
  });

  it('reports a blob that gunzip chokes on as not matching its digest, once it was read whole', async () => {
    const layer = await buildLayer([{ name: 'f', content: Buffer.alloc(1 << 20, 'x') }], 'gzip');
    // The first deflate block header (after the 10-byte gzip header) says reserved block type 3:
    // gunzip fails at once, long before the digest of the whole blob is known.
    const corrupt = Buffer.from(layer.data);
    corrupt[10] = 0xff;
    let served = 0;
    const chunks = function* () {
      for (let at = 0; at < corrupt.length; at += 1024) {
        served += Math.min(1024, corrupt.length - at);
        yield corrupt.subarray(at, at + 1024);
      }
    };
    await expect(
      unpackLayer(Readable.from(chunks()), layerDir, {
        compression: 'gzip',
        diffID: layer.diffID,
        blob: { digest: layer.digest, size: layer.size },
      }),
    ).rejects.toThrow(new RegExp(`layer blob ${layer.digest}: digest sha256:\\w+ does not match`));
    expect(served).toBe(corrupt.length);
    // The same bytes announced with their own digest are a corrupt gzip stream, said plainly.
    await fs.rm(layerDir, { recursive: true });
    await fs.mkdir(layerDir);
    await expect(
      unpackLayer(Readable.from([corrupt]), layerDir, {
        compression: 'gzip',
        diffID: layer.diffID,
        blob: { digest: sha256Digest(corrupt), size: corrupt.length },
      }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'gzip layer is corrupt: invalid block type',
    });
  });

  it('stops reading a blob as soon as an entry is hostile', async () => {
    const layer = await buildLayer(
      [
        { name: '../escape', content: 'x' },
        { name: 'big', content: randomBytes(4 << 20) },
      ],
      'none',
    );
    let served = 0;
    const chunks = function* () {
      for (let at = 0; at < layer.data.length; at += 16384) {
        served += 16384;
        yield layer.data.subarray(at, at + 16384);
      }
    };
    await expect(
      unpackLayer(Readable.from(chunks()), layerDir, {
        compression: 'none',
        diffID: layer.diffID,
        blob: { digest: layer.digest, size: layer.size },
      }),
    ).rejects.toThrow(UnsafeLayerError);
    expect(served).toBeLessThan(layer.data.length / 2);
  });

  it('fails when the blob does not match its digest', async () => {
    const layer = await buildLayer([{ name: 'f', content: 'x' }], 'gzip');
    await expect(
      unpackLayer(Readable.from([layer.data]), layerDir, {
        compression: 'gzip',
        diffID: layer.diffID,
        blob: { digest: sha256Digest('other'), size: layer.size },
      }),
    ).rejects.toThrow(`layer blob ${sha256Digest('other')}`);
  });
});
