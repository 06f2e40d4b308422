import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ImageStore } from '../image/image-store';
import { buildImage, buildLayer, pushImage, startRegistry, type TestRegistry } from '../image/test-registry';
import type { DaemonContext } from './context';
import { imageFsInfo } from './image-fs-info';
import { listImages } from './image-list';
import { pullImage } from './image-pull';
import { removeImage } from './image-remove';
import { imageStatus } from './image-status';

const spec = (image: string) => ({
  image,
  annotations: {},
  user_specified_image: '',
  runtime_handler: '',
  image_ref: '',
});

describe('ImageService RPCs', () => {
  let registry: TestRegistry;
  let root: string;
  let ctx: DaemonContext;
  let configDigest: string;

  beforeAll(async () => {
    registry = await startRegistry();
    const image = buildImage([await buildLayer([{ name: 'f', content: 'x' }])], { user: '123' });
    configDigest = image.config.digest;
    await pushImage(registry.url, 'rpc/app', 'v1', image);
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-image-rpc-'));
    const images = new ImageStore({ root });
    await images.init();
    // The image RPCs only touch ctx.images.
    ctx = { images } as DaemonContext;
  });
  afterEach(async () => {
    await ctx.images.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('pulls, reports, lists, measures and removes an image', async () => {
    const ref = `${registry.host}/rpc/app:v1`;
    const { image_ref } = await pullImage(ctx, { image: spec(ref), auth: null, sandbox_config: null });
    expect(image_ref).toBe(configDigest);

    const status = await imageStatus(ctx, { image: spec(ref), verbose: true });
    expect(status.image).toMatchObject({
      id: configDigest,
      repo_tags: [ref],
      uid: { value: '123' },
      username: '',
      spec: { image: configDigest },
      pinned: false,
    });
    expect(JSON.parse(status.info!.info).imageSpec.config.User).toBe('123');
    expect(await imageStatus(ctx, { image: spec('missing:tag'), verbose: false })).toEqual({
      image: null,
      info: {},
    });

    expect(listImages(ctx, { filter: null }).images!.map((i) => i.id)).toEqual([configDigest]);
    expect(listImages(ctx, { filter: { image: spec('other') } }).images).toEqual([]);

    const fsInfo = await imageFsInfo(ctx);
    expect(fsInfo.image_filesystems![0].fs_id).toEqual({ mountpoint: root });
    expect(Number(fsInfo.image_filesystems![0].used_bytes!.value)).toBeGreaterThan(0);
    expect(Number(fsInfo.image_filesystems![0].inodes_used!.value)).toBeGreaterThan(0);

    await removeImage(ctx, { image: spec(configDigest) });
    await removeImage(ctx, { image: spec(configDigest) });
    expect(listImages(ctx, { filter: null }).images).toEqual([]);
  });

  it('rejects requests without an image', async () => {
    await expect(pullImage(ctx, { image: null, auth: null, sandbox_config: null })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(imageStatus(ctx, { image: spec(''), verbose: false })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(removeImage(ctx, { image: null })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('maps a malformed name and an unknown image to their gRPC codes', async () => {
    await expect(
      pullImage(ctx, { image: spec('Busybox'), auth: null, sandbox_config: null }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(
      pullImage(ctx, { image: spec(`${registry.host}/rpc/app:nope`), auth: null, sandbox_config: null }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
