import { buildImage, buildLayer, pushImage, startRegistry, type TestRegistry } from '../image/test-registry';
import { TestDaemon } from './harness';

// The ImageService over the daemon's socket, with docker.io served by a mirror on loopback as
// configured in [registries.mirrors].
describe('image service over the socket', () => {
  let registry: TestRegistry;
  let daemon: TestDaemon;
  let configDigest: string;

  beforeAll(async () => {
    registry = await startRegistry();
    const image = buildImage(
      [
        await buildLayer([{ name: 'bin/sh', content: 'sh', mode: 0o755 }]),
        await buildLayer([{ name: 'etc/motd', content: 'hi' }], 'zstd'),
      ],
      { user: 'nobody' },
    );
    configDigest = image.config.digest;
    await pushImage(registry.url, 'library/busybox', 'latest', image);
    daemon = await TestDaemon.start({
      config: { registries: { mirrors: { 'docker.io': [`http://${registry.host}`] } } },
    });
  });
  afterAll(async () => {
    await daemon?.stop();
    await registry?.stop();
  });

  test('pull, status, list, fs info, remove', async () => {
    const { client } = daemon;
    await expect(client.image.PullImage({ image: { image: 'busybox' } })).resolves.toEqual({
      image_ref: configDigest,
    });
    const status = await client.image.ImageStatus({ image: { image: 'busybox:latest' }, verbose: true });
    expect(status.image).toMatchObject({
      id: configDigest,
      repo_tags: ['docker.io/library/busybox:latest'],
      username: 'nobody',
      uid: null,
      pinned: false,
    });
    expect(JSON.parse(status.info.info).imageSpec.rootfs.diff_ids).toHaveLength(2);
    const list = await client.image.ListImages({ filter: { image: { image: configDigest } } });
    expect(list.images.map((i) => i.id)).toEqual([configDigest]);
    const fsInfo = await client.image.ImageFsInfo({});
    expect(Number(fsInfo.image_filesystems[0].inodes_used?.value)).toBeGreaterThan(2);
    await client.image.RemoveImage({ image: { image: 'busybox' } });
    await expect(client.image.ImageStatus({ image: { image: configDigest } })).resolves.toMatchObject({
      image: null,
    });
    expect(daemon.logs()).toContain('pulled image');
  });
});
