import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status } from '@grpc/grpc-js';
import { CniPluginError } from './cni-errors';
import { execPlugin, formatCniArgs } from './cni-exec';
import { readFakePluginCalls, writeFakePlugin } from './test-support/fake-plugin';

describe('execPlugin', () => {
  let binDir: string;
  beforeEach(async () => {
    binDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cni-exec-'));
  });
  afterEach(() => fs.rm(binDir, { recursive: true, force: true }));

  const shellPlugin = (name: string, body: string) =>
    fs.writeFile(path.join(binDir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });

  const base = { command: 'ADD' as const, timeoutMs: 10_000, config: { cniVersion: '1.0.0', name: 'n' } };

  test('passes the CNI parameters and PATH only, and the config on stdin', async () => {
    await writeFakePlugin(binDir, 'fake', { addInterface: { name: 'eth0', address: '10.9.0.2/24' } });
    process.env.BERTH_SECRET_FOR_TEST = 'leak';
    try {
      const { output } = await execPlugin({
        ...base,
        binary: path.join(binDir, 'fake'),
        containerId: 'c1',
        netns: '/run/netns/x',
        ifName: 'eth0',
        args: [
          ['IgnoreUnknown', '1'],
          ['K8S_POD_NAME', 'web'],
        ],
        binDirs: [binDir, '/usr/lib/cni'],
      });
      expect(output).toMatchObject({ ips: [{ address: '10.9.0.2/24', interface: 0 }] });
    } finally {
      delete process.env.BERTH_SECRET_FOR_TEST;
    }
    const [call] = await readFakePluginCalls(binDir);
    expect(call.env).toEqual({
      PATH: process.env.PATH,
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c1',
      CNI_NETNS: '/run/netns/x',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web',
      CNI_PATH: `${binDir}:/usr/lib/cni`,
    });
    expect(call.config).toEqual(base.config);
  });

  test('an empty answer (DEL, CHECK) is undefined', async () => {
    await shellPlugin('quiet', 'cat >/dev/null; exit 0');
    await expect(
      execPlugin({ ...base, command: 'DEL', binary: path.join(binDir, 'quiet'), binDirs: [binDir] }),
    ).resolves.toEqual({ output: undefined, stderr: '' });
  });

  test("a plugin's error object surfaces with its code, msg and details", async () => {
    await shellPlugin(
      'broken',
      `cat >/dev/null
echo '{"cniVersion":"1.0.0","code":7,"msg":"Invalid Configuration","details":"subnet too small"}'
echo 'some log line' >&2
exit 1`,
    );
    const err = await execPlugin({ ...base, binary: path.join(binDir, 'broken'), binDirs: [binDir] }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CniPluginError);
    expect(err).toMatchObject({ plugin: 'broken', command: 'ADD', cniCode: 7, msg: 'Invalid Configuration' });
    expect((err as Error).message).toBe(
      'CNI plugin broken failed on ADD (CNI error 7, invalid network config): Invalid Configuration: subnet too small',
    );
    expect((err as CniPluginError).grpcStatus).toBe(status.INTERNAL);
  });

  test('"try again later" is UNAVAILABLE', async () => {
    await shellPlugin('busy', `cat >/dev/null; echo '{"code":11,"msg":"locked"}'; exit 1`);
    await expect(
      execPlugin({ ...base, binary: path.join(binDir, 'busy'), binDirs: [binDir] }),
    ).rejects.toMatchObject({
      cniCode: 11,
      grpcStatus: status.UNAVAILABLE,
    });
  });

  test('a failure without an error object reports the exit status and stderr', async () => {
    await shellPlugin('crash', 'cat >/dev/null; echo "panic: boom" >&2; exit 2');
    await expect(
      execPlugin({ ...base, binary: path.join(binDir, 'crash'), binDirs: [binDir] }),
    ).rejects.toThrow('CNI plugin crash failed on ADD: exited with status 2: panic: boom');
  });

  test('output that is not JSON is an error', async () => {
    await shellPlugin('chatty', 'cat >/dev/null; echo hello');
    await expect(
      execPlugin({ ...base, binary: path.join(binDir, 'chatty'), binDirs: [binDir] }),
    ).rejects.toThrow(/printed invalid JSON: "hello"/);
  });

  test('a plugin that hangs is killed at the timeout', async () => {
    await shellPlugin('hang', 'exec sleep 30');
    const started = Date.now();
    await expect(
      execPlugin({ ...base, timeoutMs: 200, binary: path.join(binDir, 'hang'), binDirs: [binDir] }),
    ).rejects.toThrow('CNI plugin hang failed on ADD: timed out after 200 ms');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('a plugin that cannot be run is an error naming it', async () => {
    await fs.writeFile(path.join(binDir, 'noexec'), '#!/bin/sh\n', { mode: 0o644 });
    await expect(
      execPlugin({ ...base, binary: path.join(binDir, 'noexec'), binDirs: [binDir] }),
    ).rejects.toThrow(/CNI plugin noexec failed on ADD: cannot run .*noexec: .*EACCES/);
  });
});

describe('formatCniArgs', () => {
  test('joins K=V pairs with ;', () => {
    expect(
      formatCniArgs([
        ['A', '1'],
        ['B', 'x=y'],
      ]),
    ).toBe('A=1;B=x=y');
  });
  test('refuses what would break the framing', () => {
    expect(() => formatCniArgs([['A;B', '1']])).toThrow(/cannot be passed/);
    expect(() => formatCniArgs([['A', '1;B=2']])).toThrow(/cannot be passed/);
  });
});
