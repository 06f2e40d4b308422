import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CniNetworkList } from './cni-config';
import {
  type CniAttachment,
  addNetworkList,
  buildExecConfig,
  checkNetworkList,
  delNetworkList,
  gcNetworkList,
  statusNetworkList,
} from './cni-network';
import { readFakePluginCalls, writeFakePlugin } from './test-support/fake-plugin';

const network = (extra: Partial<CniNetworkList> = {}): CniNetworkList => ({
  file: '/etc/cni/net.d/10-test.conflist',
  cniVersion: '1.0.0',
  name: 'testnet',
  disableCheck: false,
  disableGC: false,
  plugins: [
    { type: 'main', keep: { nested: [1, 2] } },
    { type: 'ports', capabilities: { portMappings: true, bandwidth: false } },
  ],
  ...extra,
});

const attachment: CniAttachment = {
  containerId: 'pod1',
  netns: '/run/netns/pod1',
  ifName: 'eth0',
  args: [['K8S_POD_NAME', 'web']],
  capabilityArgs: {
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    bandwidth: { ingressRate: 1000 },
    dns: { servers: ['1.1.1.1'] },
  },
};

describe('buildExecConfig', () => {
  test('inserts name, version, prevResult and the declared capabilities only; drops capabilities', () => {
    const list = network();
    expect(buildExecConfig(list, list.plugins[1], { ips: [] }, attachment.capabilityArgs)).toEqual({
      type: 'ports',
      name: 'testnet',
      cniVersion: '1.0.0',
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
      prevResult: { ips: [] },
    });
  });

  test('passes other fields through and adds no runtimeConfig without capabilities', () => {
    const list = network();
    expect(buildExecConfig(list, list.plugins[0], undefined, attachment.capabilityArgs)).toEqual({
      type: 'main',
      keep: { nested: [1, 2] },
      name: 'testnet',
      cniVersion: '1.0.0',
    });
  });

  test('a single-plugin .conf loses its own version fields and reserved keys', () => {
    const list = network({ cniVersion: '1.1.0' });
    const plugin = { type: 'x', cniVersions: ['1.1.0'], runtimeConfig: { stale: true }, prevResult: {} };
    expect(buildExecConfig(list, plugin, undefined, {})).toEqual({
      type: 'x',
      name: 'testnet',
      cniVersion: '1.1.0',
    });
  });
});

describe('network list operations with fake plugins', () => {
  let binDir: string;
  const options = () => ({ binDirs: [binDir], timeoutMs: 10_000 });
  beforeEach(async () => {
    binDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cni-net-'));
    await writeFakePlugin(binDir, 'main', { addInterface: { name: 'eth0', address: '10.20.0.2/24' } });
    await writeFakePlugin(binDir, 'ports', {});
  });
  afterEach(() => fs.rm(binDir, { recursive: true, force: true }));

  test('ADD chains prevResult; DEL runs in reverse with the final result; CHECK in order', async () => {
    const list = network();
    const { raw, result } = await addNetworkList(list, attachment, options());
    expect(result.ips).toEqual([{ address: '10.20.0.2/24', interface: 0 }]);
    expect(result.interfaces).toEqual([{ name: 'eth0', sandbox: '/run/netns/pod1' }]);

    await checkNetworkList(list, attachment, raw, options());
    await delNetworkList(list, attachment, raw, options());

    const calls = await readFakePluginCalls(binDir);
    expect(calls.map((c) => `${c.command} ${c.plugin}`)).toEqual([
      'ADD main',
      'ADD ports',
      'CHECK main',
      'CHECK ports',
      'DEL ports',
      'DEL main',
    ]);
    expect(calls[0].config.prevResult).toBeUndefined();
    expect(calls[1].config.prevResult).toEqual(raw);
    for (const call of calls.slice(2)) expect(call.config.prevResult).toEqual(raw);
    expect(calls[1].config.runtimeConfig).toEqual({ portMappings: attachment.capabilityArgs.portMappings });
    for (const call of calls) {
      expect(call.env).toMatchObject({
        CNI_CONTAINERID: 'pod1',
        CNI_NETNS: '/run/netns/pod1',
        CNI_IFNAME: 'eth0',
        CNI_ARGS: 'K8S_POD_NAME=web',
        CNI_PATH: binDir,
      });
    }
  });

  test('ADD stops at the first failing plugin with its error', async () => {
    await writeFakePlugin(binDir, 'main', { fail: { ADD: { code: 100, msg: 'no more addresses' } } });
    await expect(addNetworkList(network(), attachment, options())).rejects.toThrow(
      'CNI plugin main failed on ADD (CNI error 100): no more addresses',
    );
    expect((await readFakePluginCalls(binDir)).map((c) => c.plugin)).toEqual(['main']);
  });

  test('an ADD result that is not a result is refused', async () => {
    await writeFakePlugin(binDir, 'main', { rawOutput: '{"ips":[{"address":"nope"}]}' });
    await expect(addNetworkList(network(), attachment, options())).rejects.toThrow(
      /CNI plugin main failed on ADD: printed an invalid result: ips\[0\]/,
    );
  });

  test('a missing plugin binary is an error naming the bin dirs', async () => {
    const list = network({ plugins: [{ type: 'absent' }] });
    await expect(addNetworkList(list, attachment, options())).rejects.toThrow(
      `CNI plugin absent failed on ADD: not found in ${binDir}`,
    );
  });

  test('0.3.1 networks get no prevResult on DEL and no CHECK', async () => {
    const list = network({ cniVersion: '0.3.1' });
    await delNetworkList(list, attachment, { ips: [] }, options());
    await checkNetworkList(list, attachment, { ips: [] }, options());
    const calls = await readFakePluginCalls(binDir);
    expect(calls.map((c) => c.command)).toEqual(['DEL', 'DEL']);
    for (const call of calls) expect(call.config.prevResult).toBeUndefined();
  });

  test('disableCheck skips CHECK', async () => {
    await checkNetworkList(network({ disableCheck: true }), attachment, {}, options());
    expect(await readFakePluginCalls(binDir)).toEqual([]);
  });

  test('STATUS and GC run only at 1.1.0, GC with the valid attachments', async () => {
    const valid = [{ containerID: 'pod1', ifname: 'eth0' }];
    await statusNetworkList(network(), options());
    await gcNetworkList(network(), valid, options());
    expect(await readFakePluginCalls(binDir)).toEqual([]);

    await statusNetworkList(network({ cniVersion: '1.1.0' }), options());
    await gcNetworkList(network({ cniVersion: '1.1.0' }), valid, options());
    await gcNetworkList(network({ cniVersion: '1.1.0', disableGC: true }), valid, options());
    const calls = await readFakePluginCalls(binDir);
    expect(calls.map((c) => `${c.command} ${c.plugin}`)).toEqual([
      'STATUS main',
      'STATUS ports',
      'GC main',
      'GC ports',
    ]);
    expect(calls[2].config['cni.dev/valid-attachments']).toEqual(valid);
    expect(calls[0].env.CNI_CONTAINERID).toBeUndefined();
  });

  test('a STATUS failure carries the plugin code', async () => {
    await writeFakePlugin(binDir, 'ports', { fail: { STATUS: { code: 50, msg: 'daemon down' } } });
    await expect(statusNetworkList(network({ cniVersion: '1.1.0' }), options())).rejects.toMatchObject({
      cniCode: 50,
      message: 'CNI plugin ports failed on STATUS (CNI error 50, plugin not available): daemon down',
    });
  });
});
