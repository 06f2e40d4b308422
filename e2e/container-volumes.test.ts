/**
 * hostPath volumes over CRI: read-only and read-write binds, a missing source made a directory,
 * and mount propagation from the host into the container (CRI MountPropagation).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { Mount } from '../api/generated/runtime/v1/Mount';
import { mountsUnder, unmountAllUnder } from '../common/testing/kernel';
import { PodFixture } from './pod-fixture';

/** Makes `dir` a mount point of its own (a bind of itself) with the given propagation. */
function bindToItself(dir: string, propagation: 'shared' | 'private'): void {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['--bind', dir, dir]);
  // Private first, so that a shared one gets a peer group of its own rather than joining the
  // parent mount's, and nothing the test mounts under it propagates elsewhere on the host.
  execFileSync('mount', ['--make-private', dir]);
  if (propagation === 'shared') execFileSync('mount', ['--make-shared', dir]);
}

describe('hostPath volumes over CRI', () => {
  let fixture: PodFixture;
  let podId: string;
  let volumes: string;

  const withMounts = (mounts: Mount[]) => ({ mounts });

  beforeAll(async () => {
    fixture = await PodFixture.start('vol', {
      // Two layers (busybox, then data/): its volume is an overlay; busybox alone is one layer.
      data: {
        files: [
          { name: 'data', type: 'directory', mode: 0o755 },
          { name: 'data/hello', content: 'from the image\n' },
          { name: 'data/escape', type: 'symlink', linkname: '/../../../../etc' },
        ],
      },
    });
    podId = await fixture.runPod('vol');
    volumes = path.join(fixture.workDir, 'volumes');
    fs.mkdirSync(volumes);
  }, 120_000);

  afterAll(async () => {
    await fixture?.close(); // removes the pods first, then unmounts what is left under workDir
  });

  test('a read-write bind takes writes the host sees; a read-only one refuses them', async () => {
    const rw = path.join(volumes, 'rw');
    const ro = path.join(volumes, 'ro');
    fs.mkdirSync(rw);
    fs.mkdirSync(ro);
    fs.writeFileSync(path.join(ro, 'given'), 'from the host\n');
    const id = await fixture.run(
      podId,
      'binds',
      ['sleep', '3600'],
      withMounts([
        { host_path: rw, container_path: '/data' },
        { host_path: ro, container_path: '/config', readonly: true },
      ]),
    );
    expect(await fixture.exec(id, ['sh', '-c', 'echo written > /data/out'])).toMatchObject({ exitCode: 0 });
    expect(fs.readFileSync(path.join(rw, 'out'), 'utf8')).toBe('written\n');
    expect(await fixture.exec(id, ['cat', '/config/given'])).toMatchObject({ stdout: 'from the host\n' });
    const refused = await fixture.exec(id, ['touch', '/config/new']);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/Read-only file system/);
    expect(fs.existsSync(path.join(ro, 'new'))).toBe(false);
    await fixture.client.runtime.RemoveContainer({ container_id: id });
  });

  test('recursive_read_only makes the submounts of a read-only bind read-only too', async () => {
    const tree = path.join(volumes, 'tree');
    const sub = path.join(tree, 'sub');
    fs.mkdirSync(sub, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', sub]);
    try {
      const { runtime_handlers } = await fixture.client.runtime.Status({});
      expect(runtime_handlers.find((h) => h.name === 'berth')?.features).toMatchObject({
        recursive_read_only_mounts: true,
      });
      const id = await fixture.run(
        podId,
        'rro',
        ['sleep', '3600'],
        withMounts([
          { host_path: tree, container_path: '/ro', readonly: true },
          { host_path: tree, container_path: '/rro', readonly: true, recursive_read_only: true },
        ]),
      );
      // Plain read-only covers the bind's own mount, not what is mounted below it.
      expect(await fixture.exec(id, ['touch', '/ro/sub/plain'])).toMatchObject({ exitCode: 0 });
      const refused = await fixture.exec(id, ['touch', '/rro/sub/recursive']);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toMatch(/Read-only file system/);
      await fixture.client.runtime.RemoveContainer({ container_id: id });

      // Recursive read-only without read-only is a contradiction the kubelet never sends.
      await expect(
        fixture.create(
          podId,
          'rro-rw',
          ['true'],
          withMounts([{ host_path: tree, container_path: '/rro', recursive_read_only: true }]),
        ),
      ).rejects.toMatchObject({ code: grpcStatus.INVALID_ARGUMENT });
    } finally {
      execFileSync('umount', ['-l', sub]);
    }
  });

  test('image volumes: an image read-only in the container, whole or a sub path of it', async () => {
    const imageVolume = (container_path: string, image: string, image_sub_path = ''): Mount => ({
      container_path,
      image: { image },
      image_sub_path,
    });
    const id = await fixture.run(
      podId,
      'images',
      ['sleep', '3600'],
      withMounts([
        imageVolume('/img', fixture.images.data),
        imageVolume('/sub', fixture.images.data, 'data'),
        imageVolume('/bb', fixture.images.busybox),
      ]),
    );
    const seen = await fixture.exec(id, [
      'sh',
      '-c',
      'cat /img/data/hello /sub/hello; test -x /img/bin/busybox && test -x /bb/bin/busybox && echo both',
    ]);
    expect(seen).toMatchObject({ exitCode: 0, stdout: 'from the image\nfrom the image\nboth\n' });
    const refused = await fixture.exec(id, ['touch', '/img/data/new']);
    expect(refused.stderr).toMatch(/Read-only file system/);
    // An image a container mounts is in use, as the one it runs.
    await expect(
      fixture.client.image.RemoveImage({ image: { image: fixture.images.data } }),
    ).rejects.toMatchObject({
      code: grpcStatus.FAILED_PRECONDITION,
    });
    const volumes = () => mountsUnder(fixture.daemon.dir).filter((m) => m.includes('/image-volumes/'));
    expect(volumes()).toHaveLength(2);
    await fixture.client.runtime.RemoveContainer({ container_id: id });
    expect(volumes()).toEqual([]);
  });

  test('an image volume of a missing image or sub path fails the create and leaves no mount', async () => {
    const create = (mount: Mount) => fixture.create(podId, 'bad-image-volume', ['true'], withMounts([mount]));
    await expect(
      create({ container_path: '/img', image: { image: 'localhost/no/such:image' } }),
    ).rejects.toMatchObject({ code: grpcStatus.NOT_FOUND });
    await expect(
      create({
        container_path: '/img',
        image: { image: fixture.images.data },
        image_sub_path: 'nothing/here',
      }),
    ).rejects.toMatchObject({ code: grpcStatus.NOT_FOUND });
    // A symlink of the image resolves inside the image: /etc of the image, not the host's.
    const id = await fixture.run(
      podId,
      'escape',
      ['sleep', '3600'],
      withMounts([
        {
          container_path: '/etc-of-image',
          image: { image: fixture.images.data },
          image_sub_path: 'data/escape',
        },
      ]),
    );
    expect((await fixture.exec(id, ['ls', '/etc-of-image'])).stdout).not.toMatch(
      /\bhostname\b.*\bmachine-id\b/s,
    );
    expect(await fixture.exec(id, ['test', '-e', '/etc-of-image/shadow'])).toMatchObject({ exitCode: 1 });
    await fixture.client.runtime.RemoveContainer({ container_id: id });
    expect(mountsUnder(fixture.daemon.dir).filter((m) => m.includes('/image-volumes/'))).toEqual([]);
  });

  test('a missing host path is created as a directory, as the kubelet expects', async () => {
    const missing = path.join(volumes, 'missing', 'deeper');
    const id = await fixture.run(
      podId,
      'missing',
      ['sleep', '3600'],
      withMounts([{ host_path: missing, container_path: '/made' }]),
    );
    expect(fs.statSync(missing).isDirectory()).toBe(true);
    expect(await fixture.exec(id, ['sh', '-c', 'echo x > /made/file'])).toMatchObject({ exitCode: 0 });
    expect(fs.readFileSync(path.join(missing, 'file'), 'utf8')).toBe('x\n');
    await fixture.client.runtime.RemoveContainer({ container_id: id });
  });

  test('HOST_TO_CONTAINER (rslave) sees a mount the host makes after the start; PRIVATE does not', async () => {
    const shared = path.join(volumes, 'shared');
    bindToItself(shared, 'shared');
    try {
      const source = path.join(shared, 'src');
      fs.mkdirSync(path.join(source, 'later'), { recursive: true });
      const id = await fixture.run(
        podId,
        'propagation',
        ['sleep', '3600'],
        withMounts([
          { host_path: source, container_path: '/slave', propagation: 'PROPAGATION_HOST_TO_CONTAINER' },
          { host_path: source, container_path: '/private', propagation: 'PROPAGATION_PRIVATE' },
        ]),
      );
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', path.join(source, 'later')]);
      fs.writeFileSync(path.join(source, 'later', 'hello'), 'propagated\n');
      expect(await fixture.exec(id, ['cat', '/slave/later/hello'])).toMatchObject({
        exitCode: 0,
        stdout: 'propagated\n',
      });
      expect((await fixture.exec(id, ['ls', '/private/later'])).stdout).toBe('');
      await fixture.client.runtime.RemoveContainer({ container_id: id });
    } finally {
      unmountAllUnder(shared);
    }
  });

  test('host-to-container propagation from a private mount is refused up front', async () => {
    const privateDir = path.join(volumes, 'private');
    bindToItself(privateDir, 'private');
    try {
      await expect(
        fixture.create(
          podId,
          'private-source',
          ['sleep', '3600'],
          withMounts([
            { host_path: privateDir, container_path: '/p', propagation: 'PROPAGATION_HOST_TO_CONTAINER' },
          ]),
        ),
      ).rejects.toMatchObject({ code: grpcStatus.FAILED_PRECONDITION });
    } finally {
      unmountAllUnder(privateDir);
    }
  });
});
