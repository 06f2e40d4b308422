import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CniResultCache } from './cni-cache';

describe('CniResultCache', () => {
  let root: string;
  let cache: CniResultCache;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cni-cache-'));
    cache = CniResultCache.at(root);
  });
  afterEach(() => fs.rm(root, { recursive: true, force: true }));

  const record = {
    containerId: 'pod1',
    ifName: 'eth0',
    network: {
      file: 'f',
      cniVersion: '1.0.0',
      name: 'n',
      disableCheck: false,
      disableGC: false,
      plugins: [{ type: 'bridge' }],
    },
    netns: '/run/netns/p',
    args: [['K8S_POD_NAME', 'web']] as Array<[string, string]>,
    capabilityArgs: { portMappings: [] },
    result: { cniVersion: '1.0.0', ips: [] },
  };

  test('stores, reads, lists and removes attachment records', async () => {
    expect(await cache.get('pod1', 'eth0')).toBeUndefined();
    await cache.put(record);
    expect(await cache.get('pod1', 'eth0')).toEqual({
      ...record,
      kind: 'berth.cni-attachment/v1',
      addedAt: expect.any(String),
    });
    const file = path.join(root, 'network', 'cni-results', 'pod1', 'eth0.json');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(await cache.list()).toEqual([{ containerId: 'pod1', ifName: 'eth0' }]);
    await cache.remove('pod1', 'eth0');
    await cache.remove('pod1', 'eth0');
    expect(await cache.get('pod1', 'eth0')).toBeUndefined();
    expect(await cache.list()).toEqual([]);
  });

  test('removing an attachment also removes what a write cut short by a crash left, and its dir', async () => {
    // A daemon killed in the middle of put(): the temp file of the write, no record yet.
    const dir = path.join(root, 'network', 'cni-results', 'pod1');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, '.eth0.json.4242.1.tmp'), '{"kind":');
    await fs.writeFile(path.join(dir, '.net1.json.4242.2.tmp'), '{"kind":');
    await cache.remove('pod1', 'eth0');
    // Another attachment's leftovers are its own to remove.
    expect(await fs.readdir(dir)).toEqual(['.net1.json.4242.2.tmp']);
    await cache.remove('pod1', 'net1');
    expect(await fs.readdir(path.dirname(dir))).toEqual([]);
  });

  test('a record that is not one is an error, not a silent miss', async () => {
    const file = path.join(root, 'network', 'cni-results', 'pod1', 'eth0.json');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, '{"kind":"other"}');
    await expect(cache.get('pod1', 'eth0')).rejects.toThrow(/is not a berth.cni-attachment\/v1 record/);
    await fs.writeFile(file, '{');
    await expect(cache.get('pod1', 'eth0')).rejects.toThrow(/is unreadable/);
  });

  test('IDs that would escape the cache dir are refused', async () => {
    await expect(cache.get('../x', 'eth0')).rejects.toThrow(/invalid CNI container ID/);
    await expect(cache.get('pod1', '../../x')).rejects.toThrow(/invalid interface name/);
  });
});
