import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { connectCri } from './cri-client';
import { runCli, spawnDaemon, TestDaemon, writeTestConfig } from './harness';

const BRIDGE_CONFLIST = {
  cniVersion: '1.0.0',
  name: 'berth-test',
  plugins: [{ type: 'bridge', bridge: 'berth-test0', ipam: { type: 'host-local' } }, { type: 'portmap' }],
};

/** Expects `promise` to fail with a gRPC status and a message matching `message`. */
async function expectStatus(promise: Promise<unknown>, code: grpcStatus, message: RegExp): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code, details: expect.stringMatching(message) });
}

describe('daemon over its socket', () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await TestDaemon.start({
      config: { default_runtime: 'runc', cni: { bin_dirs: ['/usr/lib/cni'] } },
    });
  });
  afterAll(() => daemon?.stop());

  test('Version names berth and the v1 API', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
    await expect(daemon.client.runtime.Version({ version: '0.1.0' })).resolves.toEqual({
      version: '0.1.0',
      runtime_name: 'berth',
      runtime_version: pkg.version,
      runtime_api_version: 'v1',
    });
  });

  test('just started, the daemon stays small: no registry client, no second proto loaded', () => {
    // 60.5 to 61 MiB VmRSS in its first seconds when this was written, 43 of them file pages
    // (bench/README.md, "Memory"); loading undici up front again would add 5 MiB, proto-loader's
    // descriptors 5, winston 2.
    const status = fs.readFileSync(`/proc/${daemon.child.pid}/status`, 'utf8');
    const rssMiB = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
    expect(rssMiB).toBeLessThan(66);
  });

  test('the socket is a socket with mode 0660', () => {
    const stat = fs.statSync(daemon.socket);
    expect(stat.isSocket()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o660);
  });

  test('Status says why the network is not ready until a CNI config exists, then says ready', async () => {
    const before = await daemon.client.runtime.Status({});
    const conditions = Object.fromEntries(before.status!.conditions.map((c) => [c.type, c]));
    expect(conditions.RuntimeReady).toMatchObject({ status: true, reason: '', message: '' });
    expect(conditions.NetworkReady).toMatchObject({
      status: false,
      reason: 'NetworkPluginNotReady',
      message: expect.stringContaining('no valid CNI network configuration found'),
    });
    expect(before.info).toEqual({});

    const confDir = path.join(daemon.dir, 'cni', 'net.d');
    const file = path.join(confDir, '10-test.conflist');
    fs.writeFileSync(file, JSON.stringify({ ...BRIDGE_CONFLIST, plugins: [{ type: 'no-such-plugin' }] }));
    const missing = await daemon.client.runtime.Status({});
    expect(missing.status!.conditions.find((c) => c.type === 'NetworkReady')).toMatchObject({
      status: false,
      message: expect.stringContaining('CNI plugin "no-such-plugin"'),
    });

    fs.writeFileSync(file, JSON.stringify(BRIDGE_CONFLIST));
    const after = await daemon.client.runtime.Status({ verbose: true });
    expect(after.status!.conditions.every((c) => c.status)).toBe(true);
    expect(after.runtime_handlers.map((h) => h.name)).toEqual(
      expect.arrayContaining(['berth', 'runc', 'crun']),
    );
    expect(JSON.parse(after.info.config)).toMatchObject({ listen: daemon.socket, default_runtime: 'runc' });
    expect(JSON.parse(after.info.network)).toMatchObject({ name: 'berth-test', file });
  });

  test('Status lists each runtime handler with what its runtime supports', async () => {
    const { runtime_handlers, features } = await daemon.client.runtime.Status({});
    const byName = Object.fromEntries(runtime_handlers.map((h) => [h.name, h.features]));
    // berth-runtime and Debian's runc list "rro" in their features; crun 1.8 has no features command.
    expect(byName).toEqual({
      berth: { recursive_read_only_mounts: true, user_namespaces: false },
      runc: { recursive_read_only_mounts: true, user_namespaces: false },
      crun: { recursive_read_only_mounts: false, user_namespaces: false },
    });
    expect(features).toEqual({
      supplemental_groups_policy: true,
      user_namespaces_host_network: false,
      mount_options: true,
    });
  });

  test('RuntimeConfig reports the cgroupfs driver', async () => {
    await expect(daemon.client.runtime.RuntimeConfig({})).resolves.toEqual({
      linux: { cgroup_driver: 'CGROUPFS' },
    });
  });

  test('UpdateRuntimeConfig records the pod CIDR and rejects a bad one', async () => {
    await daemon.client.runtime.UpdateRuntimeConfig({
      runtime_config: { network_config: { pod_cidr: '10.88.0.0/16,fd00:88::/64' } },
    });
    const verbose = await daemon.client.runtime.Status({ verbose: true });
    expect(JSON.parse(verbose.info.podCIDRs)).toEqual(['10.88.0.0/16', 'fd00:88::/64']);
    await expectStatus(
      daemon.client.runtime.UpdateRuntimeConfig({
        runtime_config: { network_config: { pod_cidr: '10.88.0.0/33' } },
      }),
      grpcStatus.INVALID_ARGUMENT,
      /pod CIDR "10\.88\.0\.0\/33"/,
    );
    // An empty CIDR changes nothing.
    await daemon.client.runtime.UpdateRuntimeConfig({ runtime_config: { network_config: { pod_cidr: '' } } });
    const again = await daemon.client.runtime.Status({ verbose: true });
    expect(JSON.parse(again.info.podCIDRs)).toEqual(['10.88.0.0/16', 'fd00:88::/64']);
  });

  test('methods not built yet answer UNIMPLEMENTED naming the method', async () => {
    await expectStatus(
      daemon.client.runtime.CheckpointContainer({ container_id: 'x' }),
      grpcStatus.UNIMPLEMENTED,
      /runtime\.v1\.RuntimeService\/CheckpointContainer is not implemented/,
    );
    await expectStatus(
      daemon.client.runtime.CheckpointPod({}),
      grpcStatus.UNIMPLEMENTED,
      /runtime\.v1\.RuntimeService\/CheckpointPod is not implemented/,
    );
  });

  test('every RPC is logged with its duration and status', async () => {
    await daemon.client.runtime.Version({});
    await expect(daemon.client.runtime.ContainerStatus({ container_id: 'x' })).rejects.toBeDefined();
    const logs = await daemon.waitForLog(/rpc failed method=runtime\.v1\.RuntimeService\/ContainerStatus/);
    expect(logs).toMatch(
      /DEBUG rpc method=runtime\.v1\.RuntimeService\/Version duration_ms=[\d.]+ status=OK/,
    );
    expect(logs).toMatch(
      /WARN {2}rpc failed method=runtime\.v1\.RuntimeService\/ContainerStatus .*status=NOT_FOUND/,
    );
  });

  test('a second daemon on the same socket refuses to start and leaves the first serving', async () => {
    const second = spawnDaemon(['--config', daemon.configFile]);
    let stderr = '';
    second.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise((resolve) => second.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(`another daemon is already serving ${daemon.socket}`);
    await expect(daemon.client.runtime.Version({})).resolves.toMatchObject({ runtime_name: 'berth' });
  });
});

describe('daemon lifecycle', () => {
  test('SIGHUP reloads the log level, registries and CDI dirs; other changes wait for a restart', async () => {
    const daemon = await TestDaemon.start();
    try {
      const edit = (change: (doc: Record<string, Record<string, unknown>>) => void): void => {
        const doc = parseToml(fs.readFileSync(daemon.configFile, 'utf8')) as Record<
          string,
          Record<string, unknown>
        >;
        change(doc);
        fs.writeFileSync(daemon.configFile, stringifyToml(doc));
      };
      const reloaded = async (n: number): Promise<void> => {
        daemon.child.kill('SIGHUP');
        await daemon.waitForLog(new RegExp(`(configuration (not )?reloaded[^\\n]*\\n[^]*){${n}}`));
      };
      const running = async () =>
        JSON.parse((await daemon.client.runtime.Status({ verbose: true })).info.config);

      edit((doc) => {
        doc.log = { level: 'warn' };
        doc.registries = { mirrors: { 'docker.io': ['mirror.example:5000'] } };
        doc.cdi = { spec_dirs: ['/etc/cdi-reloaded'] };
        doc.streaming = { port: 1 };
      });
      await reloaded(1);
      expect(daemon.logs()).toMatch(
        /configuration reloaded applied=\["log","cdi","registries"\] needRestart=\["streaming"\]/,
      );
      expect(await running()).toMatchObject({
        log: { level: 'warn' },
        registries: { mirrors: { 'docker.io': ['mirror.example:5000'] } },
        cdi: { spec_dirs: ['/etc/cdi-reloaded'] },
        streaming: { port: 0 },
      });
      // At warn, calls are no longer logged.
      const calls = () =>
        daemon
          .logs()
          .split('\n')
          .filter((l) => / rpc method=.*Version/.test(l)).length;
      const before = calls();
      await daemon.client.runtime.Version({});
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(calls()).toBe(before);

      // A config that does not load changes nothing.
      fs.writeFileSync(daemon.configFile, 'no_such_key = 1\n');
      await reloaded(2);
      expect(daemon.logs()).toMatch(/configuration not reloaded; the running one stays error=.*no_such_key/);
      expect(await running()).toMatchObject({ log: { level: 'warn' } });
    } finally {
      await daemon.stop();
    }
  });

  test('a restart keeps the pod CIDR; SIGKILL leaves a stale socket the next daemon replaces', async () => {
    const first = await TestDaemon.start();
    try {
      await first.client.runtime.UpdateRuntimeConfig({
        runtime_config: { network_config: { pod_cidr: '10.1.0.0/24' } },
      });
      first.child.kill('SIGKILL');
      await first.waitExit();
      expect(fs.existsSync(first.socket)).toBe(true); // stale: nobody removed it

      const second = spawnDaemon(['--config', first.configFile]);
      const exited = new Promise((resolve) => second.once('exit', resolve));
      try {
        const client = connectCri(first.socket);
        try {
          await waitFor(
            async () => (await client.runtime.Version({}, { timeoutMs: 1000 })).runtime_name === 'berth',
          );
          const status = await client.runtime.Status({ verbose: true });
          expect(JSON.parse(status.info.podCIDRs)).toEqual(['10.1.0.0/24']);
        } finally {
          client.close();
        }
      } finally {
        second.kill('SIGTERM');
        await exited;
      }
    } finally {
      await first.stop();
    }
  });

  test('SIGTERM stops the daemon cleanly and removes the socket', async () => {
    const daemon = await TestDaemon.start();
    try {
      daemon.child.kill('SIGTERM');
      await expect(daemon.waitExit()).resolves.toEqual({ code: 0, signal: null });
      expect(fs.existsSync(daemon.socket)).toBe(false);
      expect(daemon.logs()).toContain('shutting down');
    } finally {
      await daemon.stop();
    }
  });

  test('SIGINT does the same', async () => {
    const daemon = await TestDaemon.start();
    try {
      daemon.child.kill('SIGINT');
      await expect(daemon.waitExit()).resolves.toEqual({ code: 0, signal: null });
      expect(fs.existsSync(daemon.socket)).toBe(false);
    } finally {
      await daemon.stop();
    }
  });

  test('a path that is not a socket is never replaced', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-'));
    try {
      const { configFile, socket } = writeTestConfig(dir);
      fs.writeFileSync(socket, 'precious');
      const result = await runCli(['daemon', '--config', configFile]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('exists and is not a socket');
      expect(fs.readFileSync(socket, 'utf8')).toBe('precious');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('berth CLI', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cli-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('version prints the runtime and API versions', async () => {
    const result = await runCli(['version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^berth \d+\.\d+\.\d+\nCRI API: v1\n$/);
  });

  test('config prints the effective config as TOML, with flags applied', async () => {
    const { configFile } = writeTestConfig(dir, { streaming: { port: 10010 } });
    const result = await runCli([
      'config',
      '--config',
      configFile,
      '--root',
      '/srv/x',
      '--log-level',
      'warn',
    ]);
    expect(result.code).toBe(0);
    const printed = parseToml(result.stdout) as Record<string, unknown>;
    expect(printed).toMatchObject({ root: '/srv/x', log: { level: 'warn' }, streaming: { port: 10010 } });
  });

  test('a bad config key fails with the key and the file named', async () => {
    const file = path.join(dir, 'bad.toml');
    fs.writeFileSync(file, '[log]\nlevle = "debug"\n');
    const result = await runCli(['daemon', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`berth: key "log.levle" in ${file}: unknown key\n`);
  });

  test('an unknown flag or command is refused', async () => {
    const flag = await runCli(['daemon', '--bogus']);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toMatch(/Unknown option '--bogus'/);
    const command = await runCli(['frobnicate']);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('unknown command "frobnicate"');
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
