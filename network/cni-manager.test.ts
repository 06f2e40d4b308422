import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CniResultCache } from './cni-cache';
import { CniPluginError } from './cni-errors';
import { CniManager, type PodNetworkRequest } from './cni-manager';
import { bandwidthFromAnnotations } from './pod-bandwidth';
import { fetchTcp, serveInNetns } from './test-support/tcp';
import { chains, sh, TestBridgeNetwork } from './test-support/test-network';

/*
 * Real plugins from /usr/lib/cni on the real kernel. Everything is test-unique (bridge, subnet,
 * netns names, IPAM data dir) and removed afterwards; drops in mangle FORWARD (ahead of any ACCEPT
 * the firewall plugin adds in the filter table) keep the pod subnet from being routed anywhere off
 * this host, and ipMasq is off.
 */

const PLUGIN_DIR = '/usr/lib/cni';

const suffix = randomBytes(3).toString('hex');
let testNet: TestBridgeNetwork;
let root = '';
let confDir = '';
let fakeBinDir = '';
const netnsNames = new Set<string>();
const managers: CniManager[] = [];
const children: ChildProcess[] = [];

const natChains = () => chains('nat');

async function addNetns(): Promise<string> {
  const name = `berth-test-${suffix}-${randomBytes(2).toString('hex')}`;
  await sh('ip', 'netns', 'add', name);
  netnsNames.add(name);
  return name;
}

async function delNetns(name: string): Promise<void> {
  await sh('ip', 'netns', 'del', name).catch(() => undefined);
  netnsNames.delete(name);
}

function newManager(options: { confDir?: string; binDirs?: string[] } = {}): CniManager {
  const manager = new CniManager({
    confDir: options.confDir ?? confDir,
    binDirs: options.binDirs ?? [PLUGIN_DIR],
    cache: CniResultCache.at(root),
    pluginTimeoutMs: 20_000,
    reloadDebounceMs: 20,
  });
  managers.push(manager);
  return manager;
}

function podRequest(netns: string, extra: Partial<PodNetworkRequest> = {}): PodNetworkRequest {
  const podId = `pod${randomBytes(6).toString('hex')}`;
  return {
    podId,
    netnsPath: `/run/netns/${netns}`,
    name: `web-${podId}`,
    namespace: 'default',
    uid: `uid-${podId}`,
    ...extra,
  };
}

/** Polls `read` until it returns `expected` (or 3 s pass) and returns its last value. */
async function eventually<T>(read: () => Promise<T>, expected: T): Promise<T> {
  const deadline = Date.now() + 3000;
  let value = await read();
  while (value !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

async function ping(fromNetns: string, address: string): Promise<void> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await sh('ip', 'netns', 'exec', fromNetns, '/usr/bin/busybox', 'ping', '-c1', '-W1', address);
      return;
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cni-manager-'));
  confDir = path.join(root, 'net.d');
  fakeBinDir = path.join(root, 'bin');
  await fs.mkdir(fakeBinDir);
  testNet = await TestBridgeNetwork.create(path.join(root, 'ipam'));
  await testNet.writeConflist(confDir);
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(managers.splice(0).map((m) => m.close()));
  for (const name of [...netnsNames]) await delNetns(name);
});

afterAll(async () => {
  await testNet?.destroy();
  if (root !== '') await fs.rm(root, { recursive: true, force: true });
});

describe('CniManager on the real kernel', () => {
  test('ADD gives each pod eth0 with an address and leaves lo alone; pods reach each other; DEL releases it all', async () => {
    const manager = newManager();
    const [nsA, nsB] = [await addNetns(), await addNetns()];
    const a = podRequest(nsA);
    const b = podRequest(nsB);
    const podA = await manager.setUpPod(a);
    const podB = await manager.setUpPod(b);

    expect(podA.network).toBe(testNet.name);
    expect(podA.ips).toHaveLength(1);
    expect(podA.ips[0].startsWith(testNet.prefix)).toBe(true);
    expect(podA.interfaces).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'eth0', sandbox: a.netnsPath })]),
    );
    expect(await sh('ip', '-n', nsA, '-o', '-4', 'addr', 'show', 'eth0')).toContain(`${podA.ips[0]}/24`);
    // lo is the namespace creator's (berth-pinns sets it up); no loopback plugin runs.
    expect(await sh('ip', '-n', nsA, '-o', 'link', 'show', 'lo')).toMatch(/<LOOPBACK>.* state DOWN/);
    expect((await testNet.leases()).sort()).toEqual([podA.ips[0], podB.ips[0]].sort());
    expect(await manager.podNetwork(a.podId)).toMatchObject({ ips: podA.ips });

    await ping(nsA, podB.ips[0]);
    await ping(nsB, podA.ips[0]);

    const hostVethA = podA.interfaces.find((i) => i.sandbox === undefined && i.name !== testNet.bridge)!.name;
    await manager.tearDownPod(a);
    expect(await testNet.leases()).toEqual([podB.ips[0]]);
    await expect(sh('ip', 'link', 'show', hostVethA)).rejects.toThrow();
    expect(await sh('ip', '-n', nsA, '-o', 'link')).not.toContain('eth0');
    expect(await manager.podNetwork(a.podId)).toBeUndefined();

    // DEL again, and DEL of a pod never set up, both succeed.
    await manager.tearDownPod(a);
    await manager.tearDownPod({ podId: 'neverseen', netnsPath: '' });

    await manager.tearDownPod(b);
    expect(await testNet.leases()).toEqual([]);
    expect(await testNet.ports()).toBe('');
  });

  test('a portMappings capability makes a server in the pod reachable at 127.0.0.1:hostPort', async () => {
    const manager = newManager();
    const ns = await addNetns();
    const hostPort = randomInt(20000, 40000);
    const request = podRequest(ns, {
      portMappings: [{ protocol: 'tcp', containerPort: 8080, hostPort, hostIP: '' }],
    });
    await manager.setUpPod(request);
    const chain = (await natChains()).find((c) => c.startsWith('CNI-DN-'));
    expect(chain).toBeDefined();
    expect(await sh('iptables', '-w', '-t', 'nat', '-S', chain!)).toContain(`--dport ${hostPort}`);

    children.push(await serveInNetns(`/run/netns/${ns}`, 8080, `hello from ${ns}`));
    await expect(fetchTcp('127.0.0.1', hostPort)).resolves.toBe(`hello from ${ns}`);

    await manager.tearDownPod(request);
    expect(await natChains()).not.toContain(chain);
    expect(await testNet.leases()).toEqual([]);
  });

  test('after a restart, DEL works from the cache alone, with the netns gone and the config changed', async () => {
    const ns = await addNetns();
    const request = podRequest(ns);
    const pod = await newManager().setUpPod(request);
    expect(await testNet.leases()).toEqual(pod.ips);

    // The daemon restarts, the conf dir now holds another network, and the pod's netns is gone.
    const otherData = path.join(root, 'ipam-other');
    await fs.writeFile(
      path.join(confDir, '10-test.conflist'),
      testNet.conflist({ name: 'other', dataDir: otherData }),
    );
    await delNetns(ns);
    try {
      const restarted = newManager();
      await restarted.tearDownPod({ podId: request.podId });
      expect(await testNet.leases()).toEqual([]);
      expect(await testNet.leases(otherData, 'other')).toEqual([]);
      // The kernel destroys a deleted netns, and the veth end in it, asynchronously.
      expect(await eventually(() => testNet.ports(), '')).toBe('');
      expect(await restarted.podNetwork(request.podId)).toBeUndefined();
      await restarted.tearDownPod({ podId: request.podId });
    } finally {
      await fs.writeFile(path.join(confDir, '10-test.conflist'), testNet.conflist());
    }
  });

  test('a damaged cache record does not block teardown: DEL runs with the current config', async () => {
    const manager = newManager();
    const ns = await addNetns();
    const request = podRequest(ns);
    await manager.setUpPod(request);
    const file = path.join(root, 'network', 'cni-results', request.podId, 'eth0.json');
    await fs.writeFile(file, '{"truncated');

    await manager.tearDownPod(request);
    expect(await testNet.leases()).toEqual([]);
    expect(await testNet.ports()).toBe('');
    await expect(fs.access(file)).rejects.toThrow();
  });

  test('garbage collection tears down cached pods that no longer exist and keeps the others', async () => {
    const manager = newManager();
    const [nsA, nsB] = [await addNetns(), await addNetns()];
    const gone = podRequest(nsA);
    const kept = podRequest(nsB);
    await manager.setUpPod(gone);
    const keptPod = await manager.setUpPod(kept);

    await expect(manager.garbageCollect([kept.podId])).resolves.toEqual({
      removed: [gone.podId],
      errors: [],
    });
    expect(await testNet.leases()).toEqual(keptPod.ips);
    expect(await manager.podNetwork(gone.podId)).toBeUndefined();
    expect(await manager.podNetwork(kept.podId)).toBeDefined();
    await manager.tearDownPod(kept);
  });

  test('CHECK passes for a healthy pod and reports the plugin error when eth0 is gone', async () => {
    const manager = newManager();
    const ns = await addNetns();
    const request = podRequest(ns);
    await manager.setUpPod(request);
    await manager.checkPod(request.podId);

    await sh('ip', '-n', ns, 'link', 'del', 'eth0');
    await expect(manager.checkPod(request.podId)).rejects.toThrow(/CNI plugin bridge failed on CHECK/);
    await manager.tearDownPod(request);
    expect(await testNet.leases()).toEqual([]);
    await expect(manager.checkPod(request.podId)).rejects.toThrow(/is not attached/);
  });

  test('a conflist that lists the loopback plugin runs it like any other plugin', async () => {
    const loopbackConfDir = path.join(root, 'net.d-loopback');
    await fs.mkdir(loopbackConfDir, { recursive: true });
    await fs.writeFile(
      path.join(loopbackConfDir, '10-test.conflist'),
      testNet.conflist({ plugins: [{ type: 'loopback' }] }),
    );
    const manager = newManager({ confDir: loopbackConfDir });
    const ns = await addNetns();
    const request = podRequest(ns);
    const pod = await manager.setUpPod(request);
    // loopback passes the bridge's result on, so the pod's address is still eth0's.
    expect(pod.ips).toHaveLength(1);
    expect(pod.ips[0].startsWith(testNet.prefix)).toBe(true);
    expect(await sh('ip', '-n', ns, '-o', 'link', 'show', 'lo')).toMatch(/<LOOPBACK,UP,LOWER_UP>/);
    expect(await sh('ip', '-n', ns, '-o', '-4', 'addr', 'show', 'lo')).toContain('inet 127.0.0.1/8');

    await manager.tearDownPod(request);
    expect(await testNet.leases()).toEqual([]);
    expect(await sh('ip', '-n', ns, '-o', 'link', 'show', 'lo')).toMatch(/<LOOPBACK>.* state DOWN/);
  });

  test("a failing plugin's code and msg surface, and what was added is deleted again", async () => {
    await fs.writeFile(
      path.join(fakeBinDir, 'refuse'),
      `#!/bin/sh
cat >/dev/null
[ "$CNI_COMMAND" = ADD ] || exit 0
echo '{"cniVersion":"1.0.0","code":101,"msg":"quota exceeded","details":"pod limit 0"}'
exit 1
`,
      { mode: 0o755 },
    );
    const failingConfDir = path.join(root, 'net.d-failing');
    await fs.mkdir(failingConfDir, { recursive: true });
    await fs.writeFile(
      path.join(failingConfDir, '10-test.conflist'),
      testNet.conflist({ plugins: [{ type: 'refuse' }] }),
    );
    const manager = newManager({ confDir: failingConfDir, binDirs: [fakeBinDir, PLUGIN_DIR] });
    const ns = await addNetns();
    const request = podRequest(ns);

    const err = await manager.setUpPod(request).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniPluginError);
    expect((err as Error).message).toBe(
      'CNI plugin refuse failed on ADD (CNI error 101): quota exceeded: pod limit 0',
    );
    expect(await testNet.leases()).toEqual([]);
    expect(await testNet.ports()).toBe('');
    expect(await sh('ip', '-n', ns, '-o', 'link')).not.toContain('eth0');
    expect(await manager.podNetwork(request.podId)).toBeUndefined();
  });
});

describe('the shipped default conflist', () => {
  test('works with the real plugins: bridge, portmap, firewall and bandwidth', async () => {
    const shipped = JSON.parse(
      await fs.readFile(path.join(__dirname, '..', 'deploy', '10-berth-bridge.conflist'), 'utf8'),
    );
    expect(shipped.plugins.map((p: { type: string }) => p.type)).toEqual([
      'bridge',
      'portmap',
      'firewall',
      'bandwidth',
    ]);
    // Made test-unique: this test's bridge, subnet and IPAM dir, and no masquerading.
    Object.assign(shipped, { name: testNet.name });
    Object.assign(shipped.plugins[0], { bridge: testNet.bridge, ipMasq: false });
    Object.assign(shipped.plugins[0].ipam, {
      dataDir: testNet.dataDir,
      ranges: [[{ subnet: testNet.subnet }]],
    });
    const shippedConfDir = path.join(root, 'net.d-shipped');
    await fs.mkdir(shippedConfDir, { recursive: true });
    await fs.writeFile(path.join(shippedConfDir, '10-berth-bridge.conflist'), JSON.stringify(shipped));

    const manager = newManager({ confDir: shippedConfDir });
    expect(await manager.status()).toMatchObject({ ready: true });
    const ns = await addNetns();
    const request = podRequest(ns, {
      bandwidth: bandwidthFromAnnotations({
        'kubernetes.io/ingress-bandwidth': '10M',
        'kubernetes.io/egress-bandwidth': '10M',
      }),
    });
    const pod = await manager.setUpPod(request);
    const hostVeth = pod.interfaces.find((i) => i.sandbox === undefined && i.name !== testNet.bridge)!.name;
    expect(await sh('tc', 'qdisc', 'show', 'dev', hostVeth)).toContain('tbf');
    expect(await sh('iptables', '-w', '-S', 'CNI-FORWARD')).toContain(pod.ips[0]);
    expect(await sh('ip', '-o', 'link')).toMatch(/bwp/); // the ifb device shaping the pod's egress
    await manager.checkPod(request.podId);

    await manager.tearDownPod(request);
    expect(await testNet.leases()).toEqual([]);
    expect(await sh('iptables', '-w', '-S', 'CNI-FORWARD')).not.toContain(pod.ips[0]);
    expect(await sh('ip', '-o', 'link')).not.toMatch(/bwp/);
  });
});

describe('CniManager configuration handling', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cni-conf-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  const simple = (name: string) =>
    JSON.stringify({ cniVersion: '1.0.0', name, plugins: [{ type: 'bridge' }] });

  test('broken conflists are skipped and reported; with none valid, setup and status say why', async () => {
    await fs.writeFile(path.join(dir, '05-broken.conflist'), '{"name": "x"');
    await fs.writeFile(
      path.join(dir, '06-old.conflist'),
      JSON.stringify({ cniVersion: '0.2.0', name: 'old', plugins: [{ type: 'bridge' }] }),
    );
    await fs.writeFile(path.join(dir, '10-good.conflist'), simple('good'));
    const manager = newManager({ confDir: dir });
    const found = await manager.defaultNetwork();
    expect(found.network?.name).toBe('good');
    expect(found.problems).toEqual([
      expect.stringMatching(/05-broken.conflist: invalid JSON/),
      expect.stringMatching(/06-old.conflist: unsupported CNI version "0.2.0"/),
    ]);
    expect(await manager.status()).toMatchObject({ ready: true });

    await fs.rm(path.join(dir, '10-good.conflist'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ns = await addNetns();
    await expect(manager.setUpPod(podRequest(ns))).rejects.toThrow(
      /no CNI network configuration in .*05-broken.conflist: invalid JSON.*06-old.conflist: unsupported/,
    );
    expect(await manager.status()).toMatchObject({ ready: false, reason: 'NetworkPluginNotReady' });
  });

  test('a change in the conf dir is picked up, also when the dir appears only later', async () => {
    await fs.writeFile(path.join(dir, '10-first.conflist'), simple('first'));
    const manager = newManager({ confDir: dir });
    expect((await manager.defaultNetwork()).network?.name).toBe('first');
    await fs.writeFile(path.join(dir, '05-second.conflist'), simple('second'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await manager.defaultNetwork()).network?.name).toBe('second');

    const later = path.join(dir, 'later');
    const lateManager = newManager({ confDir: later });
    expect((await lateManager.defaultNetwork()).network).toBeUndefined();
    await fs.mkdir(later);
    await fs.writeFile(path.join(later, '10-late.conflist'), simple('late'));
    expect((await lateManager.defaultNetwork()).network?.name).toBe('late');
    await fs.writeFile(path.join(later, '01-later.conflist'), simple('later'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await lateManager.defaultNetwork()).network?.name).toBe('later');
  });

  test('bad port mappings are refused before any plugin runs', async () => {
    await fs.writeFile(path.join(dir, '10-a.conflist'), simple('a'));
    const manager = newManager({ confDir: dir, binDirs: [path.join(dir, 'no-plugins-here')] });
    const ns = await addNetns();
    const mapping = { protocol: 'tcp', containerPort: 80, hostPort: 8080, hostIP: '' };
    for (const [bad, message] of [
      [{ hostPort: 70000 }, /ports must be 1-65535/],
      [{ containerPort: 0 }, /ports must be 1-65535/],
      [{ protocol: 'icmp' }, /protocol TCP, UDP or SCTP/],
      [{ hostIP: 'localhost' }, /host IP "localhost" is not an IP address/],
    ] as const) {
      await expect(
        manager.setUpPod(podRequest(ns, { portMappings: [{ ...mapping, ...bad }] })),
      ).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(message),
      });
    }
  });

  test('a netns path that is not a namespace is refused', async () => {
    await fs.writeFile(path.join(dir, '10-a.conflist'), simple('a'));
    const manager = newManager({ confDir: dir });
    await fs.writeFile(path.join(dir, 'plain-file'), '');
    await expect(
      manager.setUpPod(podRequest('x', { netnsPath: path.join(dir, 'plain-file') })),
    ).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringMatching(/is not a network namespace/),
    });
  });

  test("status needs the network's plugins, and no loopback plugin", async () => {
    await fs.writeFile(path.join(dir, '10-a.conflist'), simple('a'));
    const bin = path.join(dir, 'bin');
    await fs.mkdir(bin);
    const manager = newManager({ confDir: dir, binDirs: [bin] });
    expect(await manager.status()).toMatchObject({
      ready: false,
      reason: 'NetworkPluginNotReady',
      message: expect.stringMatching(/bridge/),
    });
    await fs.symlink(path.join(PLUGIN_DIR, 'bridge'), path.join(bin, 'bridge'));
    expect(await manager.status()).toMatchObject({ ready: true });
  });
});
