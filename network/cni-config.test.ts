import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkNetworkReady, findDefaultNetwork, parseNetworkConfig } from './cni-config';

const list = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ cniVersion: '1.0.0', name: 'net', plugins: [{ type: 'bridge' }], ...extra });

describe('parseNetworkConfig', () => {
  test('reads a list, keeping plugin fields as they are', () => {
    const parsed = parseNetworkConfig(
      'f.conflist',
      list({
        disableCheck: true,
        plugins: [{ type: 'bridge', bridge: 'br0', ipam: { type: 'host-local' } }],
      }),
    );
    expect(parsed).toEqual({
      file: 'f.conflist',
      cniVersion: '1.0.0',
      name: 'net',
      disableCheck: true,
      disableGC: false,
      plugins: [{ type: 'bridge', bridge: 'br0', ipam: { type: 'host-local' } }],
    });
  });

  test('a single plugin .conf becomes a list of one', () => {
    const parsed = parseNetworkConfig(
      'f.conf',
      JSON.stringify({ cniVersion: '0.4.0', name: 'n', type: 'ptp' }),
    );
    expect(parsed.plugins).toEqual([{ cniVersion: '0.4.0', name: 'n', type: 'ptp' }]);
  });

  test.each([
    ['{', /f: invalid JSON/],
    ['[]', /f: not a JSON object/],
    [list({ name: '' }), /missing network "name"/],
    [list({ name: 'bad name' }), /network name "bad name" has characters/],
    [list({ cniVersion: '0.2.0' }), /unsupported CNI version "0.2.0"/],
    [list({ cniVersion: undefined }), /missing "cniVersion"/],
    [list({ plugins: [] }), /"plugins" must be a non-empty list/],
    [list({ plugins: [{}] }), /plugin 0 has no "type"/],
    [list({ plugins: [{ type: '../bin/sh' }] }), /plugin 0 type "..\/bin\/sh" must be a file name/],
  ])('rejects %s', (text, message) => {
    expect(() => parseNetworkConfig('f', text)).toThrow(message);
  });
});

describe('findDefaultNetwork', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cni-conf-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  test('takes the lexically first valid file and says why earlier ones were skipped', async () => {
    await fs.writeFile(path.join(dir, '05-broken.conflist'), '{ nope');
    await fs.writeFile(path.join(dir, '10-good.conflist'), list({ name: 'good' }));
    await fs.writeFile(path.join(dir, '20-later.conf'), list({ name: 'later' }));
    await fs.writeFile(path.join(dir, '00-ignored.txt'), 'not a config');
    const found = await findDefaultNetwork(dir);
    expect(found.network).toMatchObject({ name: 'good', file: path.join(dir, '10-good.conflist') });
    expect(found.problems).toEqual([expect.stringMatching(/05-broken.conflist: invalid JSON/)]);
  });

  test('readiness names the missing plugin or the broken files', async () => {
    await fs.writeFile(path.join(dir, '10-a.conflist'), list({ cniVersion: '7.0.0' }));
    await expect(checkNetworkReady(dir, ['/usr/lib/cni'])).resolves.toMatchObject({
      ready: false,
      reason: 'NetworkPluginNotReady',
      message: expect.stringMatching(
        /no valid CNI network configuration found in .*unsupported CNI version "7.0.0"/,
      ),
    });
    await fs.writeFile(path.join(dir, '10-a.conflist'), list({ plugins: [{ type: 'nope' }] }));
    await expect(checkNetworkReady(dir, ['/usr/lib/cni'])).resolves.toMatchObject({
      ready: false,
      message: expect.stringContaining('CNI plugin "nope" of network "net"'),
    });
    await fs.writeFile(path.join(dir, '10-a.conflist'), list());
    await expect(checkNetworkReady(dir, ['/usr/lib/cni'])).resolves.toMatchObject({ ready: true });
  });
});
