import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PodSandboxConfig__Output } from '../api/generated/runtime/v1/PodSandboxConfig';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../common/errors';
import { packageRoot } from '../common/package-root';
import { mountsUnder, removeCgroups, removeTempDir } from '../common/testing/kernel';
import { resolveConfig, type Config } from '../server/config';
import { silentLogger } from '../server/logger';
import type { PodNetwork } from './pod-network';
import { SandboxManager } from './sandbox-manager';

const NATIVE = path.join(packageRoot(), 'native', 'bin');
// A cgroup parent of this test run's own, removed from every hierarchy afterwards.
const CGROUP_PARENT = `/berth-test-${process.pid}`;

// These pods share the host's network, so pod networking must never be asked for.
const noNetwork: PodNetwork = {
  setUpPod: () => Promise.reject(new Error('unexpected network set-up')),
  tearDownPod: () => Promise.reject(new Error('unexpected network tear-down')),
};

function podConfig(
  name: string,
  overrides: Partial<PodSandboxConfig__Output> = {},
): PodSandboxConfig__Output {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 },
    hostname: '',
    log_directory: '',
    dns_config: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] },
    port_mappings: [],
    labels: { app: name },
    annotations: { note: 'test' },
    linux: {
      cgroup_parent: CGROUP_PARENT,
      sysctls: {},
      security_context: {
        namespace_options: {
          network: 'NODE',
          pid: 'CONTAINER',
          ipc: 'POD',
          target_id: '',
          userns_options: null,
        },
        selinux_options: null,
        run_as_user: null,
        run_as_group: null,
        readonly_rootfs: false,
        supplemental_groups: [],
        supplemental_groups_policy: 'Merge',
        privileged: false,
        seccomp: null,
        apparmor: null,
        seccomp_profile_path: '',
      },
      overhead: null,
      resources: null,
    },
    windows: null,
    ...overrides,
  } as PodSandboxConfig__Output;
}

function withNamespaces(config: PodSandboxConfig__Output, pid: string, sysctls: Record<string, string> = {}) {
  config.linux!.security_context!.namespace_options!.pid = pid as 'POD';
  config.linux!.sysctls = sysctls;
  return config;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

// The pause process runs under our own runtime and under runc, the reference.
describe.each(['berth', 'runc'])('SandboxManager with the %s runtime, host network', (handler) => {
  let dir: string;
  let config: Config;
  let manager: SandboxManager;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-sandbox-'));
    config = resolveConfig(
      {
        root: path.join(dir, 'root'),
        runroot: path.join(dir, 'run'),
        native_dir: NATIVE,
        default_runtime: handler,
      },
      'test',
    );
    manager = new SandboxManager(config, silentLogger(), noNetwork);
    await manager.load();
  });

  afterEach(async () => {
    // Remove whatever a failed test left, then make sure nothing is mounted under the temp dir.
    for (const record of manager.store.all()) await manager.remove(record.id).catch(() => undefined);
    removeTempDir(dir);
    removeCgroups(CGROUP_PARENT);
  });

  test('run, status, stop twice, remove twice', async () => {
    const record = await manager.run(podConfig('web'), '');
    expect(record.id).toMatch(/^[0-9a-f]{64}$/);
    expect(record.runtimeHandler).toBe(handler);
    expect(record.state).toBe('ready');
    expect(alive(record.pausePid)).toBe(true);
    // The pause process runs the pause binary under the pod's cgroup.
    const exe = fs.statSync(`/proc/${record.pausePid}/exe`);
    const pause = fs.statSync(config.pause.binary);
    expect([exe.dev, exe.ino]).toEqual([pause.dev, pause.ino]);
    expect(fs.readFileSync(`/proc/${record.pausePid}/cgroup`, 'utf8')).toContain(
      `${CGROUP_PARENT}/${record.id}`,
    );
    // Pod files.
    expect(fs.readFileSync(path.join(record.stateDir, 'resolv.conf'), 'utf8')).toBe(
      'search default.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
    expect(fs.readFileSync(path.join(record.stateDir, 'hostname'), 'utf8')).toBe(`${os.hostname()}\n`);
    // A private /dev/shm and IPC namespace, the host's network namespace.
    expect(mountsUnder(record.shmDir)).toEqual([record.shmDir]);
    expect(fs.readlinkSync(`/proc/${record.pausePid}/ns/ipc`)).not.toBe(fs.readlinkSync('/proc/self/ns/ipc'));
    expect(fs.readlinkSync(`/proc/${record.pausePid}/ns/net`)).toBe(fs.readlinkSync('/proc/self/ns/net'));

    expect((await manager.get(record.id.slice(0, 12))).id).toBe(record.id);
    await manager.stop(record.id);
    expect(alive(record.pausePid)).toBe(false);
    expect((await manager.get(record.id)).state).toBe('notready');
    await manager.stop(record.id);

    await manager.remove(record.id);
    await manager.remove(record.id);
    await expect(manager.get(record.id)).rejects.toThrow(NotFoundError);
    expect(mountsUnder(dir)).toEqual([]);
    expect(fs.readdirSync(path.join(config.root, 'sandboxes'))).toEqual([]);
    expect(fs.existsSync(record.runDir)).toBe(false);
  });

  test('a pod-wide pid namespace is pinned, with pause as its PID 1', async () => {
    const record = await manager.run(withNamespaces(podConfig('pidshare'), 'POD'), '');
    expect(record.sharedPid).toBe(true);
    const nspid = /NSpid:\s+(.*)/.exec(fs.readFileSync(`/proc/${record.pausePid}/status`, 'utf8'))![1];
    expect(nspid.split(/\s+/)).toEqual([String(record.pausePid), '1']);
    expect(mountsUnder(record.namespaces.pid!)).toEqual([record.namespaces.pid]);
    expect(fs.statSync(record.namespaces.pid!).ino).toBe(fs.statSync(`/proc/${record.pausePid}/ns/pid`).ino);
    await manager.remove(record.id);
    expect(fs.existsSync(record.namespaces.pid!)).toBe(false);
  });

  test('namespaced IPC sysctls land in the pod; node-wide ones are refused', async () => {
    const record = await manager.run(
      withNamespaces(podConfig('sysctl'), 'CONTAINER', { 'kernel.shmmni': '1234' }),
      '',
    );
    const inPod = execFileSync('nsenter', [
      `--ipc=${record.namespaces.ipc}`,
      'cat',
      '/proc/sys/kernel/shmmni',
    ]);
    expect(inPod.toString().trim()).toBe('1234');
    expect(fs.readFileSync('/proc/sys/kernel/shmmni', 'utf8').trim()).not.toBe('1234');

    const refused = withNamespaces(podConfig('bad'), 'CONTAINER', { 'kernel.pid_max': '4096' });
    await expect(manager.run(refused, '')).rejects.toThrow(InvalidArgumentError);
    const hostNet = withNamespaces(podConfig('badnet'), 'CONTAINER', { 'net.ipv4.ip_forward': '1' });
    await expect(manager.run(hostNet, '')).rejects.toThrow(/shares the host's net namespace/);
  });

  test("the pod's seccomp profile confines the pause process; a missing Localhost profile is refused", async () => {
    const confined = podConfig('seccomp');
    confined.linux!.security_context!.seccomp = { profile_type: 'RuntimeDefault', localhost_ref: '' };
    const record = await manager.run(confined, '');
    expect(await pauseStatus(record.pausePid)).toMatch(/^Seccomp:\s+2$/m);

    const open = await manager.run(podConfig('unconfined'), '');
    expect(await pauseStatus(open.pausePid)).toMatch(/^Seccomp:\s+0$/m);

    const missing = podConfig('missing-profile');
    missing.linux!.security_context!.seccomp = {
      profile_type: 'Localhost',
      localhost_ref: '/nonexistent/profile.json',
    };
    await expect(manager.run(missing, '')).rejects.toThrow(/cannot read seccomp profile \/nonexistent/);
    expect(manager.store.all()).toHaveLength(2);
  });

  test('a second sandbox of the same pod attempt is refused, naming the first', async () => {
    const first = await manager.run(podConfig('dup'), '');
    await expect(manager.run(podConfig('dup'), '')).rejects.toThrow(AlreadyExistsError);
    await expect(manager.run(podConfig('dup'), '')).rejects.toThrow(first.id);
    // Another attempt of the same pod is a different sandbox.
    const retry = podConfig('dup');
    retry.metadata!.attempt = 1;
    await manager.run(retry, '');
    expect(manager.store.all()).toHaveLength(2);
  });

  test('an unknown runtime handler or missing metadata is refused and leaves nothing', async () => {
    await expect(manager.run(podConfig('x'), 'kata')).rejects.toThrow(/unknown runtime handler "kata"/);
    const noName = podConfig('');
    await expect(manager.run(noName, '')).rejects.toThrow(InvalidArgumentError);
    expect(manager.store.all()).toEqual([]);
  });

  test('a runtime failure rolls everything back', async () => {
    const broken = resolveConfig(
      {
        root: path.join(dir, 'root'),
        runroot: path.join(dir, 'run'),
        native_dir: NATIVE,
        default_runtime: handler,
        pause: { binary: path.join(dir, 'no-such-pause') },
      },
      'test',
    );
    const failing = new SandboxManager(broken, silentLogger(), noNetwork);
    await failing.load();
    await expect(failing.run(podConfig('broken'), '')).rejects.toThrow(
      new RegExp(`runtime ${handler}: run .*no-such-pause`),
    );
    expect(failing.store.all()).toEqual([]);
    expect(fs.readdirSync(path.join(broken.root, 'sandboxes'))).toEqual([]);
    expect(mountsUnder(dir)).toEqual([]);
    expect(fs.readdirSync(path.join(broken.runroot, 'sandboxes'))).toEqual([]);
    // The name is free again.
    await expect(manager.run(podConfig('broken'), '')).resolves.toBeDefined();
  });

  test('a new manager on the same root (a restarted daemon) knows the pods and can stop and remove them', async () => {
    const record = await manager.run(podConfig('survivor'), '');
    const restarted = new SandboxManager(config, silentLogger(), noNetwork);
    await restarted.load();
    expect((await restarted.get(record.id)).state).toBe('ready');
    await restarted.remove(record.id);
    expect(alive(record.pausePid)).toBe(false);
    expect(mountsUnder(dir)).toEqual([]);
  });

  test('a dead pause process makes the pod not ready', async () => {
    const record = await manager.run(podConfig('fragile'), '');
    process.kill(record.pausePid, 'SIGKILL');
    for (let i = 0; i < 100 && alive(record.pausePid); i++) await new Promise((r) => setTimeout(r, 20));
    expect((await manager.get(record.id)).state).toBe('notready');
    expect((await manager.list()).map((r) => r.state)).toEqual(['notready']);
  });
});

/**
 * The pause process's /proc status once it runs berth-pause: the runtime returns when the process
 * is started, which may be just before its exec of /pause (where the seccomp filter is installed).
 */
async function pauseStatus(pid: number): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    if (/^Name:\s+pause$/m.test(status)) return status;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`process ${pid} never ran the pause binary`);
}
