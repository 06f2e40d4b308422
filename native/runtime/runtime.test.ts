/**
 * berth-runtime against the real kernel, compared with runc as the reference implementation:
 * the same bundle runs under both and what the container sees (ids, capabilities, mounts,
 * devices, limits, exit codes) and what `state` reports must match.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { NATIVE_BIN, buildNative, killPid, procStat, waitFor } from '../testing/proc';
import { Spec, baseSpec, makeRootfs, makeTempDir, writeBundle } from '../testing/bundle';
import { buildConsoleReceiver, listenConsole } from '../testing/console';
import { cgroupDirs } from '../../common/testing/kernel';

const BERTH = path.join(NATIVE_BIN, 'berth-runtime');

interface Runtime {
  name: string;
  argv: string[];
}

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

let work: string;
let rootfs: string;
let berth: Runtime;
let runc: Runtime;
const created: { rt: Runtime; id: string; pid?: number }[] = [];
let seq = 0;
const CGROUP_PARENT = `/berth-test-${process.pid}`;


function invoke(rt: Runtime, args: string[], stdio?: number): Result {
  const r = spawnSync(rt.argv[0], [...rt.argv.slice(1), ...args], {
    encoding: 'utf8',
    timeout: 30000,
    stdio: stdio === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', stdio, stdio],
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function newId(rt: Runtime): string {
  const id = `berth-test-${process.pid}-${++seq}`;
  created.push({ rt, id });
  return id;
}

/** `run` in the foreground: the container's output and exit status. */
function runIn(rt: Runtime, spec: Spec): Result {
  const bundle = writeBundle(work, `bundle-${++seq}`, spec);
  return invoke(rt, ['run', '--bundle', bundle, newId(rt)]);
}

function shSpec(script: string, edit?: (s: Spec) => void): Spec {
  const spec = baseSpec(rootfs, ['sh', '-c', script]);
  // Every container's cgroup sits below one parent of this test run, removed in afterAll.
  spec.linux.cgroupsPath = `${CGROUP_PARENT}/c-${++seq}`;
  if (edit) edit(spec);
  return spec;
}

/** Runs the same spec under runc and berth-runtime and expects the same exit and output. */
function expectSameAsRunc(spec: Spec): Result {
  const want = runIn(runc, spec);
  const got = runIn(berth, spec);
  expect({ status: got.status, stdout: got.stdout }).toEqual({ status: want.status, stdout: want.stdout });
  return got;
}

function state(rt: Runtime, id: string): Record<string, unknown> {
  const r = invoke(rt, ['state', id]);
  if (r.status !== 0) throw new Error(`${rt.name} state ${id}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

beforeAll(() => {
  buildNative();
  work = makeTempDir('berth-runtime-test-');
  rootfs = makeRootfs(work);
  berth = { name: 'berth-runtime', argv: [BERTH, '--root', path.join(work, 'state-berth')] };
  runc = { name: 'runc', argv: ['runc', '--root', path.join(work, 'state-runc')] };
});

afterEach(() => {
  for (const c of created.splice(0)) {
    invoke(c.rt, ['delete', '--force', c.id]);
    killPid(c.pid);
  }
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
  // Only the (by now empty) parent is left: the runtimes removed each container's cgroup.
  for (const parent of cgroupDirs(CGROUP_PARENT)) fs.rmdirSync(parent);
});

describe('berth-runtime CLI', () => {
  test('--version names the runtime and the spec version', () => {
    const r = invoke(berth, ['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^berth-runtime version \S+\nspec: 1\.\d+\.\d+\n$/);
  });

  test('features is JSON listing namespaces, capabilities and mount options', () => {
    const r = invoke(berth, ['features']);
    expect(r.status).toBe(0);
    const f = JSON.parse(r.stdout);
    expect(f.linux.namespaces).toEqual(
      expect.arrayContaining(['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup']),
    );
    expect(f.linux.capabilities).toContain('CAP_SYS_ADMIN');
    expect(f.mountOptions).toEqual(expect.arrayContaining(['rbind', 'ro', 'nosuid', 'rslave']));
  });

  test('unknown commands and missing containers fail with a message', () => {
    expect(invoke(berth, ['frobnicate']).status).not.toBe(0);
    const r = invoke(berth, ['state', 'no-such-container']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/does not exist/);
  });

  test('--log-format json writes runc-style error lines to --log', () => {
    const log = path.join(work, 'log.json');
    const r = spawnSync(BERTH, [
      '--root',
      path.join(work, 'state-berth'),
      '--log',
      log,
      '--log-format',
      'json',
      'state',
      'nope',
    ]);
    expect(r.status).toBe(1);
    const line = JSON.parse(fs.readFileSync(log, 'utf8').trim().split('\n').pop() ?? '');
    expect(line).toMatchObject({ level: 'error', msg: expect.stringMatching(/nope.*does not exist/) });
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  test('list is empty at first', () => {
    const empty = invoke(berth, ['list', '--format', 'json']);
    expect(empty.status).toBe(0);
    expect(JSON.parse(empty.stdout)).toEqual([]);
  });
});

describe('berth-runtime run, compared with runc', () => {
  test('identity, hostname and environment', () => {
    expectSameAsRunc(shSpec('id; hostname; env | sort; pwd'));
  });

  test('capabilities of the default set', () => {
    expectSameAsRunc(shSpec('grep -E "^(Cap|NoNewPrivs)" /proc/self/status'));
  });

  test('mount table, devices and /dev links', () => {
    expectSameAsRunc(shSpec('mount; ls -l /dev | sed "s/ [A-Z][a-z][a-z] .* / /"'));
  });

  test('exit status of the process', () => {
    const r = expectSameAsRunc(shSpec('exit 7'));
    expect(r.status).toBe(7);
  });

  test('a user with additional groups, umask and cwd', () => {
    const r = expectSameAsRunc(
      shSpec('id; umask; pwd; echo $HOME; grep -E "^Cap" /proc/self/status', (s) => {
        s.process.user = { uid: 1000, gid: 1000, additionalGids: [5, 10], umask: 0o027 };
        s.process.cwd = '/tmp';
      }),
    );
    expect(r.stdout).toMatch(/uid=1000\(user\) gid=1000\(user\) groups=5\(tty\),10/);
  });

  test('capabilities in all five sets for a non-root user', () => {
    const caps = ['CAP_CHOWN', 'CAP_NET_RAW', 'CAP_KILL'];
    const r = expectSameAsRunc(
      shSpec('grep -E "^Cap" /proc/self/status', (s) => {
        s.process.user = { uid: 1000, gid: 1000 };
        s.process.capabilities = {
          bounding: [...caps, 'CAP_SETUID'],
          effective: caps,
          permitted: caps,
          inheritable: caps,
          ambient: caps,
        };
      }),
    );
    expect(r.stdout).toMatch(/CapAmb:\s+0000000000002021/);
  });

  test('rlimits and noNewPrivileges off', () => {
    expectSameAsRunc(
      shSpec('ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status', (s) => {
        s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 300, hard: 400 }];
        s.process.noNewPrivileges = false;
      }),
    );
  });

  test('read-only root, masked and read-only paths', () => {
    const r = expectSameAsRunc(
      shSpec(
        'touch /x 2>&1; wc -c < /proc/kcore; ls /sys/firmware | wc -l; echo 1 > /proc/sys/vm/overcommit_memory 2>&1; echo done',
      ),
    );
    expect(r.stdout).toMatch(/Read-only file system/);
  });

  test('bind mounts with options, tmpfs and sysctl', () => {
    const data = path.join(work, 'data');
    fs.mkdirSync(data, { recursive: true });
    fs.writeFileSync(path.join(data, 'hello'), 'hello from the host\n');
    expectSameAsRunc(
      shSpec(
        'cat /data/hello; touch /data/x 2>&1; grep -E " /(data|scratch) " /proc/self/mountinfo | cut -d" " -f5,6; cat /proc/sys/net/ipv4/ip_forward',
        (s) => {
          s.mounts.push({
            destination: '/data',
            type: 'bind',
            source: data,
            options: ['rbind', 'ro', 'nosuid', 'nodev'],
          });
          s.mounts.push({
            destination: '/scratch',
            type: 'tmpfs',
            source: 'tmpfs',
            options: ['noexec', 'size=1m'],
          });
          s.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
          s.root.readonly = false;
        },
      ),
    );
    // The mount points were created in the rootfs; remove them for the next tests.
    fs.rmSync(path.join(rootfs, 'data'), { recursive: true, force: true });
    fs.rmSync(path.join(rootfs, 'scratch'), { recursive: true, force: true });
  });

  test('recursive read-only (rro) reaches the submounts of a bind source; plain ro does not', () => {
    const tree = path.join(work, 'tree');
    const sub = path.join(tree, 'sub');
    fs.mkdirSync(sub, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', sub]);
    try {
      const script =
        'touch /tree/sub/x 2>/dev/null && echo writable || echo read-only; grep -c " /tree/sub ro[, ]" /proc/self/mountinfo';
      const withOptions = (options: string[]) =>
        shSpec(script, (s) => {
          s.mounts.push({ destination: '/tree', type: 'bind', source: tree, options });
          s.root.readonly = false;
        });
      expect(expectSameAsRunc(withOptions(['rbind', 'ro'])).stdout).toBe('writable\n0\n');
      expect(expectSameAsRunc(withOptions(['rbind', 'ro', 'rro'])).stdout).toBe('read-only\n1\n');
      // The last of a pair wins.
      expect(runIn(berth, withOptions(['rbind', 'rro', 'rrw'])).stdout).toBe('writable\n0\n');
    } finally {
      execFileSync('umount', [sub]);
      fs.rmSync(path.join(rootfs, 'tree'), { recursive: true, force: true });
    }
  });

  test('signals the caller ignores are at their default in the container', () => {
    const out: Record<string, string> = {};
    for (const rt of [runc, berth]) {
      const bundle = writeBundle(work, `bundle-${++seq}`, shSpec('grep -E "^Sig(Ign|Blk)" /proc/self/status'));
      const r = spawnSync(
        'sh',
        ['-c', 'trap "" USR1 TERM; exec "$@"', 'sh', ...rt.argv, 'run', '--bundle', bundle, newId(rt)],
        { encoding: 'utf8', timeout: 30000 },
      );
      expect(r.status).toBe(0);
      out[rt.name] = r.stdout;
    }
    expect(out['berth-runtime']).toBe(out['runc']);
    const ignored = BigInt('0x' + (/SigIgn:\s+([0-9a-f]+)/.exec(out['berth-runtime']) ?? ['', '0'])[1]);
    expect(ignored & ((1n << 9n) | (1n << 14n))).toBe(0n); // SIGUSR1, SIGTERM
  });

  test('hostname in a new uts namespace', () => {
    expectSameAsRunc(shSpec('hostname', (s) => (s.hostname = 'pod-a')));
  });

  test('domainname (runc 1.1 ignores it; runtime-spec asks for it)', () => {
    const r = runIn(
      berth,
      shSpec('cat /proc/sys/kernel/domainname', (s) => (s.domainname = 'example.test')),
    );
    expect(r).toMatchObject({ status: 0, stdout: 'example.test\n' });
  });

  test('hostname without a new uts namespace is an error', () => {
    const r = runIn(
      berth,
      shSpec('true', (s) => {
        s.linux.namespaces = s.linux.namespaces.filter((n: { type: string }) => n.type !== 'uts');
      }),
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/uts namespace/);
  });

  test('a missing executable fails create with a clear message', () => {
    const r = runIn(
      berth,
      shSpec('true', (s) => (s.process.args = ['no-such-binary'])),
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no-such-binary.*not found in \$PATH/);
  });

});

describe('berth-runtime cgroups (v1 on this host), compared with runc', () => {
  const knobs = [
    'memory/memory.limit_in_bytes',
    'memory/memory.soft_limit_in_bytes',
    'memory/memory.memsw.limit_in_bytes',
    'cpu/cpu.shares',
    'cpu/cpu.cfs_period_us',
    'cpu/cpu.cfs_quota_us',
    'cpuset/cpuset.cpus',
    'pids/pids.max',
    'blkio/blkio.bfq.weight',
    'devices/devices.list',
  ];

  test('resources are written to the container cgroup and removed with it', () => {
    const results: Record<string, Result> = {};
    for (const rt of [runc, berth]) {
      const cgpath = `${CGROUP_PARENT}/${rt.name}-${++seq}`;
      const spec = shSpec(
        `for k in ${knobs.join(' ')}; do cat /sys/fs/cgroup/$k 2>/dev/null || echo "$k missing"; done; head -c 1 /dev/zero | wc -c; grep -c ${cgpath} /proc/self/cgroup`,
        (s) => {
          s.linux.cgroupsPath = cgpath;
          s.linux.resources = {
            devices: [{ allow: false, access: 'rwm' }],
            memory: { limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20 },
            cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0' },
            pids: { limit: 50 },
            blockIO: { weight: 300 },
          };
        },
      );
      results[rt.name] = runIn(rt, spec);
      // Gone after run: every hierarchy's directory was removed.
      expect(cgroupDirs(cgpath)).toEqual([]);
    }
    expect(results['berth-runtime'].stdout).toBe(results['runc'].stdout);
    expect(results['berth-runtime'].status).toBe(0);
    expect(results['berth-runtime'].stdout).toMatch(
      /^67108864\n33554432\n134217728\n512\n100000\n50000\n0\n50\n/,
    );
  });

  test('a pids limit is enforced', () => {
    const r = runIn(
      berth,
      shSpec(
        'for i in 1 2 3 4 5 6; do sleep 1 & done 2>&1 | grep -c "Resource temporarily unavailable"; true',
        (s) => {
          s.linux.cgroupsPath = `${CGROUP_PARENT}/pids-${++seq}`;
          s.linux.resources = { pids: { limit: 4 } };
        },
      ),
    );
    expect(r.status).toBe(0);
    expect(Number(r.stdout.trim())).toBeGreaterThan(0);
  });

  test('ps lists and kill --all signals every process of a container sharing the host pid namespace', async () => {
    const spec = shSpec('sleep 61 & exec sleep 62', (s) => {
      s.linux.namespaces = s.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
      s.linux.cgroupsPath = `${CGROUP_PARENT}/all-${++seq}`;
    });
    const bundle = writeBundle(work, `bundle-${++seq}`, spec);
    const id = newId(berth);
    const fd = fs.openSync('/dev/null', 'w');
    try {
      expect(invoke(berth, ['run', '--detach', '--bundle', bundle, id], fd).status).toBe(0);
    } finally {
      fs.closeSync(fd);
    }
    created[created.length - 1].pid = state(berth, id).pid as number;
    const pids: number[] = await waitFor('two processes', () => {
      const list = JSON.parse(invoke(berth, ['ps', '--format', 'json', id]).stdout);
      return list.length === 2 ? list : undefined;
    });
    const table = invoke(berth, ['ps', id]).stdout;
    expect(table).toMatch(/^UID\s+PID/);
    expect(table).toMatch(/sleep 61/);
    expect(invoke(berth, ['kill', '--all', id, 'KILL']).status).toBe(0);
    await waitFor('every process to die', () => pids.every((p) => (procStat(p)?.state ?? 'Z') === 'Z'));
    expect(invoke(berth, ['delete', id]).status).toBe(0);
  });
});

describe('berth-runtime lifecycle, compared with runc', () => {
  test.each(['berth', 'runc'])('create, start, state, kill, delete (%s)', async (which) => {
    const rt = which === 'berth' ? berth : runc;
    const spec = shSpec('echo started; exec sleep 60', (s) => (s.annotations = { 'io.berth.test': 'yes' }));
    const bundle = writeBundle(work, `bundle-${++seq}`, spec);
    const id = newId(rt);
    const out = path.join(work, `${id}.out`);
    const fd = fs.openSync(out, 'w');
    const pidFile = path.join(work, `${id}.pid`);
    try {
      const c = invoke(rt, ['create', '--bundle', bundle, '--pid-file', pidFile, id], fd);
      expect(c.status).toBe(0);
    } finally {
      fs.closeSync(fd);
    }
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    created[created.length - 1].pid = pid;

    const s1 = state(rt, id);
    expect(s1).toMatchObject({
      ociVersion: expect.stringMatching(/^1\./),
      id,
      status: 'created',
      pid,
      bundle,
      annotations: { 'io.berth.test': 'yes' },
    });
    expect(fs.readFileSync(out, 'utf8')).toBe('');
    expect(invoke(rt, ['create', '--bundle', bundle, id]).status).not.toBe(0);

    expect(invoke(rt, ['start', id]).status).toBe(0);
    await waitFor('the container to print', () => fs.readFileSync(out, 'utf8') === 'started\n');
    expect(state(rt, id)).toMatchObject({ status: 'running', pid });
    expect(invoke(rt, ['start', id]).status).not.toBe(0);
    expect(invoke(rt, ['delete', id]).status).not.toBe(0);
    const listed = JSON.parse(invoke(rt, ['list', '--format', 'json']).stdout);
    expect(listed.map((c: { id: string }) => c.id)).toContain(id);

    expect(invoke(rt, ['kill', id, 'KILL']).status).toBe(0);
    await waitFor('the container to stop', () => state(rt, id).status === 'stopped');
    expect(procStat(pid)?.state ?? 'gone').toMatch(/Z|gone/);
    expect(invoke(rt, ['delete', id]).status).toBe(0);
    expect(invoke(rt, ['state', id]).status).not.toBe(0);
  });

  test.each(['berth', 'runc'])('delete removes a created container without --force (%s)', (which) => {
    const rt = which === 'berth' ? berth : runc;
    const bundle = writeBundle(work, `bundle-${++seq}`, shSpec('echo never'));
    const id = newId(rt);
    const fd = fs.openSync('/dev/null', 'w');
    try {
      expect(invoke(rt, ['create', '--bundle', bundle, id], fd).status).toBe(0);
    } finally {
      fs.closeSync(fd);
    }
    const pid = state(rt, id).pid as number;
    created[created.length - 1].pid = pid;
    expect(invoke(rt, ['delete', id]).status).toBe(0);
    expect(invoke(rt, ['state', id]).status).not.toBe(0);
    expect(procStat(pid)?.state ?? 'gone').toMatch(/Z|gone/);
  });

  test('delete --force kills a running container', async () => {
    const bundle = writeBundle(work, `bundle-${++seq}`, shSpec('exec sleep 60'));
    const id = newId(berth);
    const fd = fs.openSync('/dev/null', 'w');
    try {
      expect(invoke(berth, ['create', '--bundle', bundle, id], fd).status).toBe(0);
    } finally {
      fs.closeSync(fd);
    }
    const pid = state(berth, id).pid as number;
    created[created.length - 1].pid = pid;
    expect(invoke(berth, ['start', id]).status).toBe(0);
    expect(invoke(berth, ['kill', id, 'SIGTERM']).status).toBe(0);
    // sleep is PID 1 of its namespace with no handler: SIGTERM does nothing, it still runs.
    await new Promise((r) => setTimeout(r, 100));
    expect(state(berth, id).status).toBe('running');
    expect(invoke(berth, ['delete', '--force', id]).status).toBe(0);
    expect(procStat(pid)?.state ?? 'gone').toMatch(/Z|gone/);
  });
});

describe('berth-runtime exec, compared with runc', () => {
  let containers: Record<string, { id: string; pid: number }>;

  /** Runs the same exec under both runtimes: same exit status, stdout and stderr. */
  function expectSameExec(args: string[]): Result {
    const want = invoke(runc, ['exec', ...withId(args, containers.runc.id)]);
    const got = invoke(berth, ['exec', ...withId(args, containers.berth.id)]);
    expect(got).toEqual(want);
    return got;
  }

  /** args holds "ID" where the container id goes. */
  function withId(args: string[], id: string): string[] {
    return args.map((a) => (a === 'ID' ? id : a));
  }

  beforeEach(() => {
    const spec = shSpec('exec sleep 60', (s) => {
      s.process.env.push('FROM_CONFIG=yes');
      s.process.noNewPrivileges = false;
    });
    containers = { runc: runDetached(runc, spec), berth: runDetached(berth, spec) };
  });

  test('identity, cwd and environment of the config process', () => {
    const r = expectSameExec(['ID', 'sh', '-c', 'id; pwd; env | sort']);
    expect(r.stdout).toMatch(/FROM_CONFIG=yes/);
  });

  test('exit codes and stderr, and 128+signal for a killed process', () => {
    expect(expectSameExec(['ID', 'sh', '-c', 'echo out; echo err >&2; exit 3']).status).toBe(3);
    expect(expectSameExec(['ID', 'sh', '-c', 'kill -9 $$']).status).toBe(137);
  });

  test('--cwd, --env, --user and --additional-gids', () => {
    const r = expectSameExec([
      '--cwd',
      '/tmp',
      '--env',
      'EXTRA=1',
      '--env',
      'FROM_CONFIG=overridden',
      '--user',
      '1000:1000',
      '--additional-gids',
      '5',
      'ID',
      'sh',
      '-c',
      'id; pwd; env | sort; umask',
    ]);
    expect(r.stdout).toMatch(/uid=1000\(user\) gid=1000\(user\) groups=5\(tty\)/);
    expect(r.stdout).toMatch(/FROM_CONFIG=overridden/);
  });

  test('capabilities, --cap and --no-new-privs', () => {
    expectSameExec(['ID', 'grep', '-E', '^(Cap|NoNewPrivs)', '/proc/self/status']);
    const r = expectSameExec([
      '--cap',
      'CAP_SYS_ADMIN',
      '--no-new-privs',
      'ID',
      'grep',
      '-E',
      '^(Cap|NoNewPrivs)',
      '/proc/self/status',
    ]);
    expect(r.stdout).toMatch(/NoNewPrivs:\s+1/);
  });

  test('the process runs in every namespace and the cgroup of the init', () => {
    for (const [rt, c] of [
      [runc, containers.runc],
      [berth, containers.berth],
    ] as const) {
      const kinds = ['pid', 'net', 'mnt', 'ipc', 'uts'];
      const r = invoke(rt, [
        'exec',
        c.id,
        'sh',
        '-c',
        `for n in ${kinds.join(' ')}; do readlink /proc/self/ns/$n; done; hostname; ps -o pid,comm`,
      ]);
      expect(r.status).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines.slice(0, kinds.length)).toEqual(kinds.map((n) => fs.readlinkSync(`/proc/${c.pid}/ns/${n}`)));
      expect(lines[kinds.length]).toBe('berth-test');
      // In the container's pid namespace the init is pid 1.
      expect(lines.slice(kinds.length + 1).map((l) => l.trim().split(/\s+/))).toEqual([
        ['PID', 'COMMAND'],
        ['1', 'sleep'],
        [expect.stringMatching(/^\d+$/), 'ps'],
      ]);
    }
  });

  test('--process runs a runtime-spec process object', () => {
    const processFile = path.join(work, `process-${++seq}.json`);
    fs.writeFileSync(
      processFile,
      JSON.stringify({
        args: ['sh', '-c', 'id; pwd; echo $A; grep ^CapEff /proc/self/status'],
        env: ['PATH=/bin', 'A=from-process-json'],
        cwd: '/root',
        user: { uid: 1000, gid: 1000 },
        capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
      }),
    );
    const r = expectSameExec(['--process', processFile, 'ID']);
    expect(r.stdout).toMatch(/from-process-json/);
  });

  test('--detach returns at once and writes --pid-file; the process is in the container', async () => {
    for (const [rt, c] of [
      [runc, containers.runc],
      [berth, containers.berth],
    ] as const) {
      const pidFile = path.join(work, `exec-${++seq}.pid`);
      const fd = fs.openSync('/dev/null', 'w');
      let r: Result;
      try {
        r = invoke(rt, ['exec', '--detach', '--pid-file', pidFile, c.id, 'sleep', '61'], fd);
      } finally {
        fs.closeSync(fd);
      }
      expect(r.status).toBe(0);
      const pid = Number(fs.readFileSync(pidFile, 'utf8'));
      try {
        // runc writes the pid file just before its init execs the process.
        await waitFor('the process to exec', () => procStat(pid)?.comm === 'sleep');
        expect(fs.readlinkSync(`/proc/${pid}/ns/pid`)).toBe(fs.readlinkSync(`/proc/${c.pid}/ns/pid`));
        expect(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toBe(fs.readFileSync(`/proc/${c.pid}/cgroup`, 'utf8'));
        const listed = JSON.parse(invoke(rt, ['ps', '--format', 'json', c.id]).stdout);
        expect(listed).toEqual(expect.arrayContaining([c.pid, pid]));
      } finally {
        killPid(pid);
      }
    }
  });

  test('exec into a stopped container fails clearly', async () => {
    for (const [rt, c] of [
      [runc, containers.runc],
      [berth, containers.berth],
    ] as const) {
      expect(invoke(rt, ['kill', c.id, 'KILL']).status).toBe(0);
      await waitFor('the container to stop', () => state(rt, c.id).status === 'stopped');
      const r = invoke(rt, ['exec', c.id, 'true']);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/stopped/);
    }
  });

  test('a missing command fails with a clear message', () => {
    const r = invoke(berth, ['exec', containers.berth.id, 'no-such-binary']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no-such-binary.*not found in \$PATH/);
  });
});

describe('berth-runtime seccomp, compared with runc', () => {
  /** What busybox sh and its applets, and each runtime's last steps before execve, call. */
  const ALLOWED = [
    'access', 'arch_prctl', 'brk', 'capget', 'capset', 'chdir', 'clock_gettime', 'clock_nanosleep',
    'clone', 'clone3', 'close', 'close_range', 'dup', 'dup2', 'dup3', 'epoll_create1', 'epoll_ctl',
    'epoll_pwait', 'execve', 'execveat', 'exit', 'exit_group', 'faccessat', 'faccessat2', 'fchdir',
    'fcntl', 'fstat', 'fstatfs', 'futex', 'getcwd', 'getdents64', 'getegid', 'geteuid', 'getgid',
    'getgroups', 'getpgrp', 'getpid', 'getppid', 'getrandom', 'getrlimit', 'gettid', 'getuid',
    'ioctl', 'kill', 'lseek', 'lstat', 'madvise', 'mmap', 'mprotect', 'munmap', 'nanosleep',
    'newfstatat', 'open', 'openat', 'pipe', 'pipe2', 'poll', 'prctl', 'pread64', 'prlimit64',
    'read', 'readlink', 'readlinkat', 'rseq', 'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn',
    'sched_getaffinity', 'sched_yield', 'set_robust_list', 'set_tid_address', 'setgid',
    'setgroups', 'setresgid', 'setresuid', 'setsid', 'setuid', 'sigaltstack', 'stat', 'statfs',
    'statx', 'tgkill', 'umask', 'uname', 'vfork', 'wait4', 'waitid', 'write', 'writev',
    'definitely_not_a_syscall',
  ];

  function withSeccomp(script: string, seccomp: Spec, edit?: (s: Spec) => void): Spec {
    return shSpec(script, (s) => {
      s.linux.seccomp = seccomp;
      s.mounts.find((m: Spec) => m.destination === '/dev/shm').options = ['nosuid', 'nodev', 'mode=1777'];
      if (edit) edit(s);
    });
  }

  const MKDIR = 'mkdir /dev/shm/d 2>&1; echo "mkdir $?"; grep ^Seccomp /proc/self/status';

  test('a rule that denies mkdir with EPERM', () => {
    const r = expectSameAsRunc(
      withSeccomp(MKDIR, {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }],
      }),
    );
    expect(r.stdout).toMatch(/Operation not permitted\nmkdir 1\nSeccomp:\s+2\n/);
  });

  test('the filter is loaded before the capabilities drop when noNewPrivileges is off', () => {
    const r = expectSameAsRunc(
      withSeccomp(
        `${MKDIR}; grep NoNewPrivs /proc/self/status`,
        {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [{ names: ['mkdirat', 'mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
        },
        (s) => (s.process.noNewPrivileges = false),
      ),
    );
    expect(r.stdout).toMatch(/Permission denied\nmkdir 1\n[^]*NoNewPrivs:\s+0/);
  });

  test('argument filters: personality with one persona, open with O_CREAT (masked)', () => {
    const r = expectSameAsRunc(
      withSeccomp(
        'linux32 echo 32 2>&1; linux64 echo 64; touch /dev/shm/f 2>&1; cat /etc/group > /dev/null && echo read',
        {
          defaultAction: 'SCMP_ACT_ALLOW',
          architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
          syscalls: [
            {
              names: ['personality'],
              action: 'SCMP_ACT_ERRNO',
              errnoRet: 22,
              args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }],
            },
            {
              names: ['open', 'openat'],
              action: 'SCMP_ACT_ERRNO',
              args: [
                { index: 1, value: 0o100, valueTwo: 0o100, op: 'SCMP_CMP_MASKED_EQ' },
                { index: 2, value: 0o100, valueTwo: 0o100, op: 'SCMP_CMP_MASKED_EQ' },
              ],
            },
          ],
        },
      ),
    );
    expect(r.stdout).toMatch(/Invalid argument[^]*\n64\n[^]*Operation not permitted[^]*\nread\n$/);
  });

  test('default ERRNO with an allow list (unknown names skipped)', () => {
    const r = expectSameAsRunc(
      withSeccomp(`id -u; ${MKDIR}`, {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 1,
        syscalls: [{ names: ALLOWED, action: 'SCMP_ACT_ALLOW' }],
      }),
    );
    expect(r.stdout).toMatch(/^0\n.*Operation not permitted\nmkdir 1\n/);
  });

  test('a killing rule ends the process with SIGSYS', () => {
    const r = expectSameAsRunc(
      withSeccomp('sh -c "mkdir /dev/shm/k"; echo "status $?"', {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS' }],
      }),
    );
    expect(r.stdout).toBe('status 159\n');
  });

  test('exec applies the container filter', () => {
    const spec = withSeccomp('exec sleep 60', {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 30 }],
    });
    const out: Record<string, Result> = {};
    for (const rt of [runc, berth]) {
      const bundle = writeBundle(work, `bundle-${++seq}`, spec);
      const id = newId(rt);
      const fd = fs.openSync('/dev/null', 'w');
      try {
        expect(invoke(rt, ['run', '--detach', '--bundle', bundle, id], fd).status).toBe(0);
      } finally {
        fs.closeSync(fd);
      }
      created[created.length - 1].pid = state(rt, id).pid as number;
      out[rt.name] = invoke(rt, ['exec', id, 'sh', '-c', MKDIR]);
    }
    expect(out['berth-runtime']).toEqual(out['runc']);
    expect(out['berth-runtime'].stdout).toMatch(/Read-only file system\nmkdir 1/);
  });

  test('filter flags (runc 1.1 refuses them; runtime-spec lists them)', () => {
    const r = runIn(
      berth,
      withSeccomp(MKDIR, {
        defaultAction: 'SCMP_ACT_ALLOW',
        flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
        syscalls: [{ names: ['mkdirat', 'mkdir'], action: 'SCMP_ACT_LOG' }],
      }),
    );
    expect(r).toMatchObject({ status: 0, stdout: expect.stringMatching(/^mkdir 0\nSeccomp:\s+2\n/) });
  });

  test('profiles this runtime cannot honour are refused at create', () => {
    for (const [seccomp, message] of [
      [{ defaultAction: 'SCMP_ACT_NOTIFY' }, /SCMP_ACT_NOTIFY.*not supported/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1 }, /errnoRet is only valid/],
      [{ defaultAction: 'SCMP_ACT_BOGUS' }, /unknown action/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_BOGUS'] }, /unknown flag/],
      [
        {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 7, op: 'SCMP_CMP_EQ' }] }],
        },
        /index must be/,
      ],
    ] as const) {
      const r = runIn(berth, withSeccomp('true', seccomp));
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('berth-runtime hooks, compared with runc', () => {
  const KINDS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];
  const IN_CONTAINER = ['createContainer', 'startContainer'];
  const NAMESPACES = ['mnt', 'pid', 'net', 'uts', 'ipc'];
  // $0: a name, $1: the kind, $2: the output directory. Saves the state from stdin, the
  // namespaces, the environment and the arguments.
  const SCRIPT =
    'cat > "$2/$1.json"; for n in ' +
    NAMESPACES.join(' ') +
    ' ; do readlink /proc/self/ns/$n; done > "$2/$1.ns"; echo "$HOOK_VAR $0" > "$2/$1.env"';

  function hook(kind: string, out: string, extra?: Spec): Spec {
    return { path: '/bin/sh', args: ['sh', '-c', SCRIPT, 'named-hook', kind, out], env: [`HOOK_VAR=${kind}`], ...extra };
  }

  function hookedSpec(out: string, hooks: Spec): Spec {
    return shSpec('exec sleep 60', (s) => {
      s.annotations = { 'io.berth.hooks': 'yes' };
      s.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
      s.hooks = hooks;
    });
  }

  /** create with stdio in a file (the container keeps it open): its content is the stderr. */
  function createIn(rt: Runtime, spec: Spec): { id: string; bundle: string; r: Result } {
    const bundle = writeBundle(work, `bundle-${++seq}`, spec);
    const id = newId(rt);
    const log = path.join(bundle, 'stdio');
    const fd = fs.openSync(log, 'w');
    try {
      const r = invoke(rt, ['create', '--bundle', bundle, id], fd);
      return { id, bundle, r: { ...r, stderr: fs.readFileSync(log, 'utf8') } };
    } finally {
      fs.closeSync(fd);
    }
  }

  afterAll(() => fs.rmSync(path.join(rootfs, 'out'), { recursive: true, force: true }));

  test.each(['berth', 'runc'])('every kind runs at its step, in its namespaces, with the state (%s)', (which) => {
    const rt = which === 'berth' ? berth : runc;
    const out = fs.mkdtempSync(path.join(work, 'hooks-'));
    const hooks: Spec = {};
    for (const kind of KINDS) hooks[kind] = [hook(kind, kind === 'startContainer' ? '/out' : out)];
    const { id, bundle, r } = createIn(rt, hookedSpec(out, hooks));
    expect(r).toMatchObject({ status: 0 });
    const pid = state(rt, id).pid as number;
    created[created.length - 1].pid = pid;
    const ran = (): string[] => KINDS.filter((k) => fs.existsSync(path.join(out, `${k}.json`)));
    // runtime-spec runs poststart in start, once the process runs; runc 1.1 runs it in create.
    const early = which === 'runc' ? ['poststart'] : [];
    expect(ran()).toEqual(['prestart', 'createRuntime', 'createContainer', ...early]);
    const containerNs = NAMESPACES.map((n) => fs.readlinkSync(`/proc/${pid}/ns/${n}`));

    expect(invoke(rt, ['start', id]).status).toBe(0);
    expect(ran()).toEqual(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart']);
    expect(invoke(rt, ['kill', id, 'KILL']).status).toBe(0);
    expect(invoke(rt, ['delete', '--force', id]).status).toBe(0);
    expect(ran()).toEqual(KINDS);

    const hostNs = NAMESPACES.map((n) => fs.readlinkSync(`/proc/self/ns/${n}`));
    const status: Record<string, string> = {
      prestart: 'creating',
      createRuntime: 'creating',
      createContainer: 'creating',
      startContainer: 'created',
      poststart: 'running',
      poststop: 'stopped',
    };
    for (const kind of KINDS) {
      const seen = JSON.parse(fs.readFileSync(path.join(out, `${kind}.json`), 'utf8'));
      expect({ kind, ...seen }).toEqual({
        kind,
        ociVersion: expect.stringMatching(/^1\./),
        id,
        status: which === 'runc' && kind === 'poststart' ? 'created' : status[kind],
        // runc reports the pid as the init sees it (1) to the hooks it runs in the container.
        ...(kind === 'poststop' ? {} : { pid: which === 'runc' && IN_CONTAINER.includes(kind) ? 1 : pid }),
        bundle,
        annotations: { 'io.berth.hooks': 'yes' },
      });
      const ns = fs.readFileSync(path.join(out, `${kind}.ns`), 'utf8').trim().split('\n');
      expect({ kind, ns }).toEqual({ kind, ns: IN_CONTAINER.includes(kind) ? containerNs : hostNs });
      expect(fs.readFileSync(path.join(out, `${kind}.env`), 'utf8')).toBe(`${kind} named-hook\n`);
    }
  });

  test.each(['berth', 'runc'])('a failing createRuntime hook fails create and leaves nothing (%s)', (which) => {
    const rt = which === 'berth' ? berth : runc;
    const out = fs.mkdtempSync(path.join(work, 'hooks-'));
    const cgpath = `${CGROUP_PARENT}/failing-${++seq}`;
    const spec = hookedSpec(out, {
      createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'echo boom; exit 3'] }],
      createContainer: [hook('createContainer', out)],
    });
    spec.linux.cgroupsPath = cgpath;
    const { id, r } = createIn(rt, spec);
    expect(r.status).not.toBe(0);
    if (which === 'berth') expect(r.stderr).toMatch(/hooks\.createRuntime\[0\] `\/bin\/sh` exited with status 3: boom/);
    expect(invoke(rt, ['state', id]).status).not.toBe(0);
    expect(fs.existsSync(path.join(out, 'createContainer.json'))).toBe(false);
    expect(cgroupDirs(cgpath)).toEqual([]);
  });

  test('a failing startContainer hook fails start and stops the container; poststart only warns', async () => {
    const out = fs.mkdtempSync(path.join(work, 'hooks-'));
    const failing = createIn(
      berth,
      hookedSpec(out, { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo no >&2; exit 1'] }] }),
    );
    expect(failing.r.status).toBe(0);
    created[created.length - 1].pid = state(berth, failing.id).pid as number;
    const start = invoke(berth, ['start', failing.id]);
    expect(start.status).toBe(1);
    expect(start.stderr).toMatch(/hooks\.startContainer\[0\] `\/bin\/sh` exited with status 1: no/);
    await waitFor('the container to stop', () => state(berth, failing.id).status === 'stopped');

    const warned = createIn(
      berth,
      hookedSpec(out, { poststart: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 9'] }, hook('poststart', out)] }),
    );
    created[created.length - 1].pid = state(berth, warned.id).pid as number;
    const ok = invoke(berth, ['start', warned.id]);
    expect(ok.status).toBe(0);
    expect(ok.stderr).toMatch(/warning: hooks\.poststart\[0\] `\/bin\/sh` exited with status 9/);
    // The hooks after the failed one still ran.
    expect(fs.existsSync(path.join(out, 'poststart.json'))).toBe(true);
    expect(state(berth, warned.id).status).toBe('running');
  });

  test('a hook past its timeout is killed and fails the step', () => {
    const out = fs.mkdtempSync(path.join(work, 'hooks-'));
    const started = Date.now();
    const { r } = createIn(
      berth,
      hookedSpec(out, { prestart: [{ path: '/bin/sh', args: ['sh', '-c', 'exec sleep 30'], timeout: 1 }] }),
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/hooks\.prestart\[0\] `\/bin\/sh` timed out after 1s/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

/** run --detach with stdio on /dev/null; the container's pid is recorded for cleanup. */
function runDetached(rt: Runtime, spec: Spec): { id: string; pid: number } {
  const bundle = writeBundle(work, `bundle-${++seq}`, spec);
  const id = newId(rt);
  const fd = fs.openSync('/dev/null', 'w');
  try {
    const r = invoke(rt, ['run', '--detach', '--bundle', bundle, id], fd);
    if (r.status !== 0) throw new Error(`${rt.name} run --detach failed`);
  } finally {
    fs.closeSync(fd);
  }
  const pid = state(rt, id).pid as number;
  created[created.length - 1].pid = pid;
  return { id, pid };
}

describe('berth-runtime namespaces joined by path, compared with runc', () => {
  const netns = `berth-test-${process.pid}`;

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', netns]);
  });

  afterAll(() => {
    spawnSync('ip', ['netns', 'del', netns]);
  });

  test('a network namespace made with `ip netns add`', () => {
    const r = expectSameAsRunc(
      shSpec('readlink /proc/self/ns/net; ip -o link | cut -d: -f2', (s) => {
        s.linux.namespaces = s.linux.namespaces.map((n: Spec) =>
          n.type === 'network' ? { type: 'network', path: `/var/run/netns/${netns}` } : n,
        );
      }),
    );
    const ino = fs.statSync(`/var/run/netns/${netns}`).ino;
    expect(r.stdout).toBe(`net:[${ino}]\n lo\n`);
  });

  test("a pod's namespaces: pid, ipc, uts and network of another container", () => {
    const sandbox = runDetached(
      berth,
      shSpec('exec sleep 60', (s) => (s.hostname = 'pod-a')),
    );
    const joined = (kind: string, proc: string) => ({ type: kind, path: `/proc/${sandbox.pid}/ns/${proc}` });
    const r = expectSameAsRunc(
      shSpec('hostname; for n in pid net ipc; do readlink /proc/self/ns/$n; done; ps -o comm', (s) => {
        delete s.hostname;
        s.linux.namespaces = [
          joined('pid', 'pid'),
          joined('network', 'net'),
          joined('ipc', 'ipc'),
          joined('uts', 'uts'),
          { type: 'mount' },
        ];
      }),
    );
    const want = ['pid', 'net', 'ipc'].map((n) => fs.readlinkSync(`/proc/${sandbox.pid}/ns/${n}`));
    // sh execs its last command: the pod's sleep and our ps are all there is.
    expect(r.stdout).toBe(['pod-a', ...want, 'COMMAND', 'sleep', 'ps', ''].join('\n'));
  });
});

describe('berth-runtime user namespaces, compared with runc', () => {
  // The container's root is host uid 100000: it must be able to reach the rootfs.
  beforeAll(() => fs.chmodSync(work, 0o755));
  afterAll(() => fs.chmodSync(work, 0o700));

  function userSpec(script: string): Spec {
    return shSpec(script, (s) => {
      s.linux.namespaces.push({ type: 'user' });
      s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    });
  }

  test('uid and gid mappings, capabilities, files seen through the mapping; exec joins it', () => {
    const script = 'id; cat /proc/self/uid_map /proc/self/gid_map; grep ^Cap /proc/self/status; ls -ln /etc/passwd';
    const probe = runIn(runc, userSpec('true'));
    if (probe.status !== 0) {
      // The reference cannot make one here (a kernel or sysctl without user namespaces).
      console.warn(`user namespace tests skipped: runc says ${probe.stderr.trim()}`);
      return;
    }
    const r = expectSameAsRunc(userSpec(script));
    expect(r.stdout).toMatch(/^uid=0\(root\) gid=0\(root\)\n\s+0\s+100000\s+65536\n/);

    const out: Record<string, string> = {};
    for (const rt of [runc, berth]) {
      const c = runDetached(rt, userSpec('exec sleep 60'));
      expect(fs.readFileSync(`/proc/${c.pid}/status`, 'utf8')).toMatch(/^Uid:\s+100000\s/m);
      const e = invoke(rt, ['exec', c.id, 'sh', '-c', script]);
      expect(e.status).toBe(0);
      out[rt.name] = e.stdout;
    }
    expect(out['berth-runtime']).toBe(out['runc']);
  });
});

describe('berth-runtime terminal over --console-socket, compared with runc', () => {
  let receiver: string;

  beforeAll(() => {
    receiver = buildConsoleReceiver(work);
  });

  async function throughConsole(args: (socket: string) => string[], rt: Runtime) {
    const socket = path.join(work, `console-${++seq}.sock`);
    const listening = await listenConsole(receiver, socket, path.join(work, `console-${seq}.out`));
    try {
      const r = invoke(rt, args(socket));
      expect(r).toMatchObject({ status: 0 });
      return await listening.done;
    } finally {
      killPid(listening.child.pid);
    }
  }

  test('run with process.terminal sends the pty master; size and controlling terminal', async () => {
    const spec = shSpec('tty; stty size; echo $TERM; [ -t 0 ] && echo stdin-is-a-tty', (s) => {
      s.process.terminal = true;
      s.process.consoleSize = { height: 40, width: 100 };
    });
    const seen: Record<string, { name: string; output: string }> = {};
    for (const rt of [runc, berth]) {
      const bundle = writeBundle(work, `bundle-${++seq}`, spec);
      const id = newId(rt);
      seen[rt.name] = await throughConsole((socket) => ['run', '--detach', '--console-socket', socket, '--bundle', bundle, id], rt);
    }
    expect(seen['berth-runtime']).toEqual(seen['runc']);
    expect(seen['berth-runtime'].output).toBe('/dev/pts/0\r\n40 100\r\nxterm\r\nstdin-is-a-tty\r\n');
  });

  test('exec --tty sends a new pty of the container', async () => {
    const seen: Record<string, { name: string; output: string }> = {};
    for (const rt of [runc, berth]) {
      const c = runDetached(rt, shSpec('exec sleep 60'));
      seen[rt.name] = await throughConsole(
        (socket) => ['exec', '--tty', '--detach', '--console-socket', socket, c.id, 'sh', '-c', 'tty; [ -t 1 ] && echo tty'],
        rt,
      );
    }
    expect(seen['berth-runtime']).toEqual(seen['runc']);
    expect(seen['berth-runtime'].output).toBe('/dev/pts/0\r\ntty\r\n');
  });
});

describe('berth-runtime compared with crun as a second reference', () => {
  const HUGETLB = '/sys/fs/cgroup/hugetlb';
  let crun: Runtime;
  let mountedHugetlb = false;

  /** Removes a cgroup directory tree bottom-up (cgroupfs allows rmdir of empty groups only). */
  function removeCgroupTree(dir: string): void {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
    fs.rmdirSync(dir);
  }

  beforeAll(() => {
    crun = { name: 'crun', argv: ['crun', '--root', path.join(work, 'state-crun')] };
    // crun refuses a hybrid cgroup host until hugetlb has a v1 hierarchy of its own.
    if (!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(' /sys/fs/cgroup/hugetlb ')) {
      fs.mkdirSync(HUGETLB, { recursive: true });
      execFileSync('mount', ['-t', 'cgroup', '-o', 'hugetlb', 'cgroup', HUGETLB]);
      mountedHugetlb = true;
    }
  });

  afterAll(() => {
    removeCgroupTree(path.join(HUGETLB, CGROUP_PARENT));
    if (mountedHugetlb) {
      // Only ours to remove; another user of the host may have come to depend on it meanwhile.
      const r = spawnSync('umount', [HUGETLB], { encoding: 'utf8' });
      if (r.status === 0) fs.rmdirSync(HUGETLB);
      else console.warn(`could not unmount ${HUGETLB}: ${r.stderr.trim()}`);
    }
  });

  function expectSameAsCrun(spec: Spec): Result {
    const want = runIn(crun, spec);
    const got = runIn(berth, spec);
    expect({ status: got.status, stdout: got.stdout }).toEqual({ status: want.status, stdout: want.stdout });
    return got;
  }

  test('identity, hostname, environment, capabilities and exit status', () => {
    expectSameAsCrun(shSpec('id; hostname; env | sort; pwd; grep -E "^(Cap|NoNewPrivs)" /proc/self/status; exit 5'));
  });

  test('a user with groups, rlimits and a read-only root', () => {
    expectSameAsCrun(
      shSpec('id; umask; ulimit -n; touch /x 2>&1; wc -c < /proc/kcore', (s) => {
        s.process.user = { uid: 1000, gid: 1000, additionalGids: [5], umask: 0o027 };
        s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 300, hard: 400 }];
      }),
    );
  });

  // Not compared: the mount table (crun orders the cgroup hierarchies and masks paths its own
  // way; ours matches runc's, tested above) and exec --env (crun 1.8 replaces the environment
  // with the --env list, where runc appends to the config's).

  test('seccomp: a denied mkdir with errnoRet and an argument filter', () => {
    expectSameAsCrun(
      shSpec('mkdir /dev/shm/d 2>&1; linux32 true 2>&1; linux64 echo 64', (s) => {
        s.linux.seccomp = {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [
            { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
            { names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
          ],
        };
      }),
    );
  });

  test('exec: identity, environment and the pid namespace', () => {
    const out: Record<string, Result> = {};
    for (const rt of [crun, berth]) {
      const c = runDetached(rt, shSpec('exec sleep 60'));
      out[rt.name] = invoke(rt, [
        'exec',
        '--cwd',
        '/tmp',
        '--user',
        '1000:1000',
        c.id,
        'sh',
        '-c',
        'id; pwd; env | sort; ps -o comm; readlink /proc/1/exe; exit 4',
      ]);
    }
    expect(out['berth-runtime']).toEqual(out['crun']);
    expect(out['berth-runtime'].status).toBe(4);
  });
});
