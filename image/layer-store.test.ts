import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sha256Digest } from './digest';
import { LayerStore } from './layer-store';

describe('LayerStore', () => {
  let dir: string;
  let store: LayerStore;
  const id = sha256Digest('layer');

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-layers-'));
    store = new LayerStore(dir);
    await store.init();
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('unpacks a layer once, even for concurrent callers, and records its usage', async () => {
    let runs = 0;
    const produce = async (d: string) => {
      runs += 1;
      await new Promise((r) => setTimeout(r, 20));
      await fs.writeFile(path.join(d, 'a'), 'x'.repeat(10000));
      await fs.link(path.join(d, 'a'), path.join(d, 'b'));
    };
    const [one, two] = await Promise.all([store.ensure(id, produce), store.ensure(id, produce)]);
    const three = await store.ensure(id, produce);
    expect(runs).toBe(1);
    expect([one.created, two.created, three.created].sort()).toEqual([false, false, true]);
    expect(three.record).toEqual(one.record);
    // The diff directory, and one inode for the two names of the file.
    expect(one.record.inodes).toBe(2);
    expect(one.record.bytes).toBeGreaterThanOrEqual(10000);
    expect(await fs.readFile(path.join(store.diffPath(id), 'b'), 'utf8')).toHaveLength(10000);
    expect(await store.list()).toEqual([one.record]);
  });

  it('leaves nothing behind when the unpack fails, and can try again', async () => {
    await expect(
      store.ensure(id, async (d) => {
        await fs.writeFile(path.join(d, 'partial'), 'x');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await fs.readdir(dir)).toEqual([]);
    expect(await store.get(id)).toBeUndefined();
    const { created } = await store.ensure(id, async () => undefined);
    expect(created).toBe(true);
  });

  it('removes layers and leftovers of a crash', async () => {
    await store.ensure(id, async (d) => fs.writeFile(path.join(d, 'f'), 'x'));
    await fs.mkdir(path.join(dir, '.tmp-crashed'));
    await fs.mkdir(path.join(dir, '.trash-crashed'));
    await new LayerStore(dir).init();
    expect((await fs.readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
    await store.remove(id);
    await store.remove(id);
    expect(await fs.readdir(dir)).toEqual([]);
  });
});
