/**
 * berth-monitor against the real kernel, in front of each OCI runtime found here (see
 * testing/runtimes.ts): creation and its errors, the CRI log, exit records (code, signal, OOM),
 * survival of its starter's SIGKILL, log reopen, attach, terminals, exec-sync, a full disk.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { killPid, procStat, waitFor } from '../native/testing/proc';
import { Spec, baseSpec, makeRootfs, makeTempDir, writeBundle } from '../native/testing/bundle';
import {
  AttachSession,
  ContainerCreateError,
  ExitRecord,
  MonitorOptions,
  FrameDecoder,
  encodeFrame,
  execSync,
  liveMonitorPid,
  monitorArgs,
  monitorBinary,
  parseExitRecord,
  parseSyncMessage,
  readExitRecord,
  reopenLog,
  resizeTerminal,
  startMonitor,
  watchExits,
} from './monitor';
import { ExecSession, startExecSession } from './exec-session';
import { TestRuntime, mountHugetlbForCrun, removeCgroups, testRuntimes } from './testing/runtimes';
import { logLines, parseLog } from './testing/cri-log';

const RUNTIMES = testRuntimes();
const CGROUP_PARENT = `berth-monitor-test-${process.pid}`;

interface Container {
  id: string;
  runroot: string;
  logPath: string;
  monitorPid: number;
  containerPid: number;
}

let work: string;
let rootfs: string;
let exitDir: string;
let seq = 0;
let unmountHugetlb = (): void => undefined;
const cleanups: (() => void)[] = [];

beforeAll(() => {
  // Mounted here, not at load, so that a run that selects none of these tests changes nothing.
  unmountHugetlb = mountHugetlbForCrun();
  work = makeTempDir('berth-monitor-test-');
  rootfs = makeRootfs(work);
  exitDir = path.join(work, 'exits');
  fs.mkdirSync(exitDir);
  fs.mkdirSync(path.join(work, 'run'));
});

afterEach(() => {
  for (const undo of cleanups.splice(0).reverse()) {
    try {
      undo();
    } catch (e) {
      console.error(`cleanup: ${(e as Error).message}`);
    }
  }
});

afterAll(() => {
  try {
    removeCgroups(CGROUP_PARENT);
  } finally {
    unmountHugetlb();
    fs.rmSync(work, { recursive: true, force: true });
  }
});

describe('the monitor protocol, without a container', () => {
  test('monitorArgs maps every option', () => {
    // prettier-ignore
    const want = [
      '--runtime', '/usr/sbin/runc', '--runtime-arg', '--root', '--runtime-arg', '/run/r',
      '--id', 'c1', '--runroot', '/run/c1', '--bundle', '/b', '--log-path', '/l', '--exit-dir', '/e',
      '--sync-fd', '3', '--log-max-line', '100', '--stdin', '--stdin-once', '--tty',
    ];
    expect(
      monitorArgs({
        runtime: { path: '/usr/sbin/runc', args: ['--root', '/run/r'] },
        id: 'c1',
        bundle: '/b',
        runroot: '/run/c1',
        logPath: '/l',
        exitDir: '/e',
        logMaxLine: 100,
        stdin: true,
        stdinOnce: true,
        tty: true,
      }),
    ).toEqual(want);
  });

  test('parseSyncMessage: the pids, or the runtime error as ContainerCreateError', () => {
    expect(parseSyncMessage('{"pid":12,"monitor_pid":10}\n', 'c')).toEqual({
      containerPid: 12,
      monitorPid: 10,
    });
    const err = (() => {
      try {
        parseSyncMessage('{"error":"runc create failed (exit status 1): boom","runtime_status":1}\n', 'c');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ContainerCreateError);
    expect(err).toMatchObject({ message: 'runc create failed (exit status 1): boom', runtimeStatus: 1 });
    expect(() => parseSyncMessage('', 'c')).toThrow(/without reporting/);
  });

  test('FrameDecoder reassembles frames split anywhere and skips unknown types', () => {
    const bytes = Buffer.concat([
      encodeFrame(1, Buffer.from('out')),
      encodeFrame(9, Buffer.from('?')),
      encodeFrame(2, Buffer.from('err')),
      encodeFrame(1),
    ]);
    const d = new FrameDecoder();
    const got = [...bytes].flatMap((b) => d.push(Buffer.from([b])));
    expect(got.map((f) => `${f.stream}:${f.data.toString()}`)).toEqual([
      'stdout:out',
      'stderr:err',
      'stdout:',
    ]);
  });

  test('parseExitRecord reads the JSON the monitor writes', () => {
    expect(
      parseExitRecord(
        '{"id":"c","pid":4,"exit_code":137,"signal":9,"oom_killed":true,"exited_at":"2024-05-01T12:34:56.123456789Z","log_bytes_dropped":3}\n',
      ),
    ).toEqual({
      id: 'c',
      pid: 4,
      exitCode: 137,
      signal: 9,
      oomKilled: true,
      exitedAt: '2024-05-01T12:34:56.123456789Z',
      logBytesDropped: 3,
    });
  });
});

for (const rt of RUNTIMES.filter((r) => r.skip)) {
  describe(`berth-monitor with ${rt.name}`, () => {
    test.skip(`not run: ${rt.skip}`, () => undefined);
  });
}

describe.each(RUNTIMES.filter((r) => !r.skip))('berth-monitor with $name', (rt: TestRuntime) => {
  const stateRoot = (): string => path.join(work, `state-${rt.name}`);
  const runtime = (): { path: string; args: string[] } => ({ path: rt.path, args: ['--root', stateRoot()] });

  function runtimeCmd(args: string[]): { status: number | null; stderr: string } {
    const r = spawnSync(rt.path, ['--root', stateRoot(), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 30000,
    });
    return { status: r.status, stderr: r.stderr ?? '' };
  }

  function shSpec(script: string, edit?: (s: Spec) => void): Spec {
    const spec = baseSpec(rootfs, ['sh', '-c', script]);
    spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
    if (edit) edit(spec);
    return spec;
  }

  function options(id: string, spec: Spec, extra: Partial<MonitorOptions> = {}): MonitorOptions {
    spec.linux.cgroupsPath = `/${CGROUP_PARENT}/${id}`;
    return {
      runtime: runtime(),
      id,
      bundle: writeBundle(work, `bundle-${id}`, spec),
      runroot: path.join(work, 'run', id),
      logPath: path.join(work, `${id}.log`),
      exitDir,
      ...extra,
    };
  }

  function track(id: string, monitorPid?: number): void {
    cleanups.push(() => {
      runtimeCmd(['delete', '--force', id]);
      killPid(monitorPid);
    });
  }

  async function create(spec: Spec, extra: Partial<MonitorOptions> = {}): Promise<Container> {
    const id = `${rt.name}-${process.pid}-${++seq}`;
    const o = options(id, spec, extra);
    track(id);
    const started = await startMonitor(o);
    track(id, started.monitorPid);
    return { id, runroot: o.runroot, logPath: o.logPath, ...started };
  }

  function start(c: Container): void {
    const r = runtimeCmd(['start', c.id]);
    if (r.status !== 0) throw new Error(`${rt.name} start: ${r.stderr}`);
  }

  function waitExit(c: Container, timeoutMs = 10000): Promise<ExitRecord> {
    return waitFor(`the exit record of ${c.id}`, () => readExitRecord(exitDir, c.id), timeoutMs);
  }

  test('records exit 3, interleaves stdout and stderr, keeps a last line without newline, leaks no descriptor', async () => {
    const c = await create(
      shSpec(
        'ls /proc/self/fd | tr "\\n" " "; echo; echo out1; sleep 0.05; echo err1 >&2; sleep 0.05; ' +
          'echo out2; sleep 0.05; echo err2 >&2; sleep 0.05; printf tail; exit 3',
      ),
    );
    const exited = new Promise<ExitRecord>((resolve) => {
      const w = watchExits(exitDir, (r) => {
        if (r.id === c.id) {
          w.close();
          resolve(r);
        }
      });
      cleanups.push(() => w.close());
    });
    start(c);
    const record = await exited;
    expect(record).toMatchObject({ id: c.id, pid: c.containerPid, exitCode: 3, signal: 0, oomKilled: false });
    expect(Date.now() - Date.parse(record.exitedAt)).toBeLessThan(60000);
    const entries = parseLog(c.logPath);
    // 3 is the descriptor ls opens for /proc/self/fd; nothing of the monitor's got in.
    expect(logLines(entries, 'stdout')).toEqual(['0 1 2 3 ', 'out1', 'out2', 'tail']);
    expect(logLines(entries, 'stderr')).toEqual(['err1', 'err2']);
    // The sleeps order the writes; the log keeps that order across the two streams.
    expect(
      entries.filter((e) => /^(out|err)\d$/.test(e.text)).map((e) => `${e.stream} ${e.tag} ${e.text}`),
    ).toEqual(['stdout F out1', 'stderr F err1', 'stdout F out2', 'stderr F err2']);
    expect(entries[entries.length - 1]).toEqual({ stream: 'stdout', tag: 'P', text: 'tail' });
    // Gone, or a zombie until whatever adopted it (init) reaps it.
    await waitFor('the monitor to exit', () => [undefined, 'Z'].includes(procStat(c.monitorPid)?.state));
  });

  test('cuts a line longer than the maximum into P pieces and ends it with F', async () => {
    const c = await create(shSpec("printf 'abcdefghijklmnopqrst\\n12345678\\n\\nxyz\\n'"), { logMaxLine: 8 });
    start(c);
    expect((await waitExit(c)).exitCode).toBe(0);
    expect(parseLog(c.logPath).map((e) => `${e.tag} ${e.text}`)).toEqual([
      'P abcdefgh',
      'P ijklmnop',
      'F qrst',
      'F 12345678',
      'F ',
      'F xyz',
    ]);
  });

  test('records the signal of a container killed with SIGKILL, with a monitor under 1 MiB RSS', async () => {
    const c = await create(shSpec('echo up; exec sleep 1000'));
    start(c);
    await waitFor('output', () => parseLog(c.logPath).length > 0);
    const rss = Number(
      /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${c.monitorPid}/status`, 'utf8'))?.[1],
    );
    console.log(`berth-monitor VmRSS with ${rt.name}: ${rss} kB`);
    expect(rss).toBeLessThan(1024);
    expect(runtimeCmd(['kill', c.id, 'KILL']).status).toBe(0);
    expect(await waitExit(c)).toMatchObject({ exitCode: 137, signal: 9, oomKilled: false });
  });

  (rt.appliesMemoryLimit ? test : test.skip)('records an OOM kill in a memory-limited cgroup', async () => {
    const c = await create(
      shSpec('exec dd if=/dev/zero of=/dev/null bs=64M count=1', (s) => {
        s.linux.resources = { memory: { limit: 16 << 20 } };
      }),
    );
    start(c);
    expect(await waitExit(c)).toMatchObject({ exitCode: 137, signal: 9, oomKilled: true });
  });

  test('keeps the container running and logging when its starter is killed with SIGKILL', async () => {
    const o = options(
      `${rt.name}-${process.pid}-${++seq}`,
      shSpec('i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.05; done'),
    );
    track(o.id);
    // A stand-in for the daemon: starts the monitor the way startMonitor does, prints the sync
    // message, and stays until it is killed.
    const script = `
      const { spawn } = require('child_process');
      const c = spawn(process.argv[1], JSON.parse(process.argv[2]), { stdio: ['ignore', 'ignore', 'ignore', 'pipe'], detached: true });
      c.unref();
      let s = '';
      c.stdio[3].on('data', (d) => (s += d));
      c.stdio[3].on('close', () => process.stdout.write(s));
      setInterval(() => {}, 1000);`;
    const starter = spawn(process.execPath, ['-e', script, monitorBinary(), JSON.stringify(monitorArgs(o))], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => killPid(starter.pid));
    let out = '';
    starter.stdout.on('data', (d) => (out += d));
    const sync = JSON.parse(
      await waitFor('the sync message', () => out.includes('\n') && out.split('\n')[0], 10000),
    );
    track(o.id, sync.monitor_pid);
    const c: Container = {
      id: o.id,
      runroot: o.runroot,
      logPath: o.logPath,
      monitorPid: sync.monitor_pid,
      containerPid: sync.pid,
    };
    start(c);
    await waitFor('ticks', () => parseLog(c.logPath).length >= 3);

    const gone = new Promise((r) => starter.on('exit', r));
    process.kill(starter.pid!, 'SIGKILL');
    await gone;
    const before = parseLog(c.logPath).length;
    await waitFor('more ticks after the kill', () => parseLog(c.logPath).length >= before + 5, 5000);
    const stat = fs.readFileSync(`/proc/${c.monitorPid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    expect(Number(fields[1])).not.toBe(starter.pid); // ppid: re-parented
    expect(Number(fields[3])).toBe(c.monitorPid); // session id: its own session
    expect(procStat(c.containerPid)?.state).not.toBe('Z');
    expect(liveMonitorPid(c.runroot)).toBe(c.monitorPid);

    // sh as PID 1 of its namespace ignores SIGTERM (it has no handler), so KILL.
    expect(runtimeCmd(['kill', c.id, 'KILL']).status).toBe(0);
    expect(await waitExit(c)).toMatchObject({ exitCode: 137, signal: 9 });
    await waitFor('the monitor to be gone', () => liveMonitorPid(c.runroot) === undefined);
    const ticks = logLines(parseLog(c.logPath), 'stdout');
    expect(ticks.slice(0, 3)).toEqual(['tick 0', 'tick 1', 'tick 2']);
  });

  test('survives a starter gone before the sync message (no SIGPIPE death), keeps none of its descriptors', async () => {
    const o = options(`${rt.name}-${process.pid}-${++seq}`, shSpec('echo still here; exit 7'));
    track(o.id);
    // A descriptor the starter leaks by mistake: the monitor must not hold it for the container's life.
    const marker = path.join(work, `leaked-${o.id}`);
    const leaked = fs.openSync(marker, 'w');
    cleanups.push(() => fs.closeSync(leaked));
    const child = spawn(monitorBinary(), monitorArgs(o), {
      stdio: ['ignore', 'ignore', 'ignore', 'pipe', leaked],
    });
    // Our end of the sync socket closes before the monitor can write its report to it.
    (child.stdio[3] as NodeJS.ReadableStream & { destroy(): void }).destroy();
    const pidFile = path.join(o.runroot, 'container.pid');
    await waitFor('the created container', () => fs.existsSync(pidFile) && fs.statSync(pidFile).size > 0);
    const monitorPid = Number(fs.readFileSync(path.join(o.runroot, 'monitor.pid'), 'utf8'));
    track(o.id, monitorPid);
    // Give the monitor the time to write to the closed socket.
    await new Promise((r) => setTimeout(r, 100));
    expect(procStat(monitorPid)?.state).not.toBe('Z');
    const held = fs.readdirSync(`/proc/${monitorPid}/fd`).map((fd) => {
      try {
        return fs.readlinkSync(`/proc/${monitorPid}/fd/${fd}`);
      } catch {
        return '';
      }
    });
    expect(held).not.toContain(marker);
    expect(held).toContain(o.logPath);
    start({ id: o.id, runroot: o.runroot, logPath: o.logPath, monitorPid, containerPid: 0 });
    expect(await waitFor('the exit record', () => readExitRecord(exitDir, o.id))).toMatchObject({
      exitCode: 7,
    });
    expect(logLines(parseLog(o.logPath), 'stdout')).toEqual(['still here']);
  });

  test('moves logging to a new file on reopen without losing a line', async () => {
    const c = await create(
      shSpec('i=0; while true; do echo line $i; i=$((i+1)); [ $((i % 20)) = 0 ] && sleep 0.01; done'),
    );
    start(c);
    await waitFor('lines', () => parseLog(c.logPath).length > 200);
    const rotated = `${c.logPath}.1`;
    fs.renameSync(c.logPath, rotated);
    await reopenLog(c.runroot);
    const afterReopen = fs.statSync(rotated).size;
    await waitFor('lines in the new file', () => parseLog(c.logPath).length > 200);
    expect(runtimeCmd(['kill', c.id, 'KILL']).status).toBe(0);
    await waitExit(c);
    // Nothing reached the old file once reopen had answered.
    expect(fs.statSync(rotated).size).toBe(afterReopen);
    const old = logLines(parseLog(rotated), 'stdout');
    const fresh = logLines(parseLog(c.logPath), 'stdout');
    const all = [...old, ...fresh];
    expect(all).toEqual(all.map((_, i) => `line ${i}`));
    expect(old.length).toBeGreaterThan(200);
    expect(fresh.length).toBeGreaterThan(200);
  });

  test('serves two attach clients, and closes stdin when the session that used it ends (stdin_once)', async () => {
    const c = await create(shSpec('cat; echo done'), { stdin: true, stdinOnce: true });
    const seen: Record<string, string> = { a: '', b: '' };
    const a = await AttachSession.connect(c.runroot, (_s, d) => (seen.a += d.toString()));
    const b = await AttachSession.connect(c.runroot, (_s, d) => (seen.b += d.toString()));
    cleanups.push(() => void a.close());
    cleanups.push(() => void b.close());
    start(c);
    await expect(resizeTerminal(c.runroot, 24, 80)).rejects.toThrow(/no terminal/);
    a.writeStdin('hello\n');
    await waitFor(
      'the echo in both sessions',
      () => seen.a.includes('hello\n') && seen.b.includes('hello\n'),
    );
    expect(readExitRecord(exitDir, c.id)).toBeUndefined();
    await a.close();
    await b.closed;
    expect(seen.b).toBe('hello\ndone\n');
    expect(await waitExit(c)).toMatchObject({ exitCode: 0 });
    expect(logLines(parseLog(c.logPath), 'stdout')).toEqual(['hello', 'done']);
  });

  test('drops an attach client that does not read, and the container runs on unhindered', async () => {
    const c = await create(
      shSpec(
        'i=0; while [ $i -lt 20000 ]; do echo 0123456789012345678901234567890123456789 $i; i=$((i+1)); done',
      ),
    );
    const stalled = net.connect(path.join(c.runroot, 'attach.sock'));
    await new Promise((r) => stalled.once('connect', r));
    stalled.pause(); // never read: its socket buffer fills up
    const dropped = new Promise((r) => stalled.once('close', r));
    cleanups.push(() => stalled.destroy());
    start(c);
    expect(await waitExit(c)).toMatchObject({ exitCode: 0 });
    const lines = logLines(parseLog(c.logPath), 'stdout');
    expect(lines.length).toBe(20000);
    expect(lines[19999]).toMatch(/ 19999$/);
    stalled.resume();
    await dropped;
    // It got a prefix of the output, far from all of it (about 900 KB).
    expect(stalled.bytesRead).toBeLessThan(800000);
  });

  test('gives a terminal and resizes it through the attach and control sockets', async () => {
    const spec = shSpec('tty; read x; stty size; read y; stty size', (sp) => (sp.process.terminal = true));
    const c = await create(spec, { tty: true, stdin: true });
    let seen = '';
    const s = await AttachSession.connect(c.runroot, (stream, d) => {
      expect(stream).toBe('stdout');
      seen += d.toString();
    });
    cleanups.push(() => void s.close());
    start(c);
    await waitFor('the tty name', () => seen.includes('/dev/pts/'));
    s.resize(30, 100);
    s.writeStdin('a\n');
    await waitFor('the first size', () => seen.includes('30 100'));
    await resizeTerminal(c.runroot, 40, 120);
    s.writeStdin('b\n');
    await waitFor('the second size', () => seen.includes('40 120'));
    expect(await waitExit(c)).toMatchObject({ exitCode: 0 });
    const lines = logLines(parseLog(c.logPath), 'stdout').join('\n');
    expect(lines).toMatch(/\/dev\/pts\/\d+\r/);
    expect(lines).toContain('40 120');
    expect(parseLog(c.logPath).every((e) => e.stream === 'stdout')).toBe(true);
  });

  (rt.canExec ? test : test.skip)(
    'exec-sync returns output and exit code, truncates, and kills on timeout',
    async () => {
      const c = await create(shSpec('exec sleep 1000'));
      start(c);
      const base = { runtime: runtime(), id: c.id, runroot: c.runroot };
      const r = await execSync({
        ...base,
        command: ['sh', '-c', 'echo hi; echo oops >&2; exit 4'],
        timeoutSeconds: 10,
      });
      expect(r).toMatchObject({ exitCode: 4, signal: 0, timedOut: false });
      expect(r.stdout.toString()).toBe('hi\n');
      expect(r.stderr.toString()).toBe('oops\n');

      const big = await execSync({
        ...base,
        command: ['head', '-c', '100000', '/dev/zero'],
        maxOutputBytes: 1000,
      });
      expect(big.stdout.length).toBe(1000);
      expect(big.stdoutTruncated).toBe(true);

      const t0 = Date.now();
      const slow = await execSync({ ...base, command: ['sleep', '101'], timeoutSeconds: 1 });
      expect(slow).toMatchObject({ timedOut: true, signal: 9 });
      expect(Date.now() - t0).toBeLessThan(5000);
      const sleepers = fs
        .readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\u0000101\u0000';
          } catch {
            return false;
          }
        });
      expect(sleepers).toEqual([]);
      await expect(execSync({ ...base, id: 'no-such-container', command: ['true'] })).rejects.toThrow(/exec/);
    },
  );

  (rt.canExec ? test : test.skip)('monitors an exec session: its output, its own exit record', async () => {
    const c = await create(shSpec('exec sleep 1000'));
    start(c);
    const processFile = path.join(work, `process-${c.id}.json`);
    fs.writeFileSync(
      processFile,
      JSON.stringify({
        terminal: false,
        user: { uid: 0, gid: 0 },
        args: ['sh', '-c', 'echo in-exec; echo oops >&2; exit 5'],
        env: ['PATH=/bin'],
        cwd: '/',
      }),
    );
    const session = `${c.id}-exec`;
    const logPath = path.join(work, `${session}.log`);
    const started = await startMonitor({
      runtime: runtime(),
      id: c.id,
      execProcess: processFile,
      exitName: session,
      runroot: path.join(work, 'run', session),
      logPath,
      exitDir,
    });
    cleanups.push(() => killPid(started.monitorPid));
    const record = await waitFor('the exec exit record', () => readExitRecord(exitDir, session));
    expect(record).toMatchObject({ id: session, pid: started.containerPid, exitCode: 5, signal: 0 });
    const entries = parseLog(logPath);
    expect(logLines(entries, 'stdout')).toEqual(['in-exec']);
    expect(logLines(entries, 'stderr')).toEqual(['oops']);
    // The container itself runs on.
    expect(readExitRecord(exitDir, c.id)).toBeUndefined();
    expect(procStat(c.containerPid)?.comm).toBe('sleep');
  });

  (rt.canExec ? test : test.skip)(
    'an exec session with --attach-fd: its client sees all output of a short command and feeds stdin',
    async () => {
      const c = await create(shSpec('exec sleep 1000'));
      start(c);
      const processFile = path.join(work, `process-${c.id}-attached.json`);
      fs.writeFileSync(
        processFile,
        JSON.stringify({
          terminal: false,
          user: { uid: 0, gid: 0 },
          args: ['sh', '-c', 'echo first; read line; echo "got $line"; echo err >&2; exit 2'],
          env: ['PATH=/bin'],
          cwd: '/',
        }),
      );
      const session = `${c.id}-attached`;
      const started = await startMonitor({
        runtime: runtime(),
        id: c.id,
        execProcess: processFile,
        exitName: session,
        runroot: path.join(work, 'run', session),
        logPath: '/dev/null',
        exitDir,
        stdin: true,
        attachSocket: true,
      });
      cleanups.push(() => killPid(started.monitorPid));
      // 'first' is written before anyone could connect to attach.sock; the inherited client has it.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const seen = { stdout: '', stderr: '' };
      const s = started.attach!;
      s.onOutput((stream, d) => (seen[stream] += d.toString()));
      s.writeStdin('line\n');
      await s.closed;
      expect(seen).toEqual({ stdout: 'first\ngot line\n', stderr: 'err\n' });
      const record = await waitFor('the exec exit record', () => readExitRecord(exitDir, session));
      expect(record.exitCode).toBe(2);
    },
  );

  (rt.canExec ? test : test.skip)(
    "an exec session's exit code comes after all its output (20 concurrent sessions of echo)",
    async () => {
      const c = await create(shSpec('exec sleep 1000'));
      start(c);
      const sessionsDir = path.join(work, `x-${c.id}`);
      cleanups.push(() => fs.rmSync(sessionsDir, { recursive: true, force: true }));
      // The monitor writes the exit record once the output is in the attach socket: the
      // record is often there before the daemon read that socket, and the code must wait for it.
      const runs = Array.from({ length: 20 }, async (_, i) => {
        const session = await startExecSession({
          runtime: runtime(),
          containerId: c.id,
          bundleDir: path.join(work, `bundle-${c.id}`),
          sessionsDir,
          command: ['echo', `n${i}`],
          tty: false,
          stdin: false,
        });
        let stdout = '';
        let outputEnded = false;
        session.attach.onOutput((stream, d) => (stdout += stream === 'stdout' ? d.toString() : ''));
        void session.attach.closed.then(() => (outputEnded = true));
        const code = await session.exited;
        return { code, stdout, outputEnded };
      });
      const results = await Promise.all(runs);
      expect(results).toEqual(results.map((_, i) => ({ code: 0, stdout: `n${i}\n`, outputEnded: true })));
    },
  );

  /** An exec session of `head -c <bytes> /dev/zero` whose daemon side does not read yet. */
  async function slowReaderSession(
    c: Container,
    bytes: number,
  ): Promise<{ session: ExecSession; monitorPid: number }> {
    const sessionsDir = path.join(work, `x-${c.id}`);
    cleanups.push(() => fs.rmSync(sessionsDir, { recursive: true, force: true }));
    const session = await startExecSession({
      runtime: runtime(),
      containerId: c.id,
      bundleDir: path.join(work, `bundle-${c.id}`),
      sessionsDir,
      command: ['head', '-c', String(bytes), '/dev/zero'],
      tty: false,
      stdin: false,
    });
    session.attach.pauseOutput();
    // The process is re-parented to its monitor (a subreaper) once the runtime's exec returns.
    const monitorPid = Number(
      /^PPid:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${session.pid}/status`, 'utf8'))?.[1],
    );
    cleanups.push(() => {
      session.kill();
      killPid(monitorPid);
    });
    // Unread, 20 MB would pass in a few tens of milliseconds: after a second, the process must
    // still be there, blocked on its pipe, and the monitor small (it holds one frame, not the output).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(procStat(session.pid)?.comm).toBe('head');
    expect(procStat(monitorPid)?.comm).toBe('berth-monitor');
    const rss = Number(
      /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${monitorPid}/status`, 'utf8'))?.[1],
    );
    expect(rss).toBeLessThan(1024);
    return { session, monitorPid };
  }

  (rt.canExec ? test : test.skip)(
    'an exec session whose daemon reads slowly loses no output: the process waits for it (20 MB)',
    async () => {
      const c = await create(shSpec('exec sleep 1000'));
      start(c);
      const { session } = await slowReaderSession(c, 20_000_000);
      let stdout = 0;
      let stderr = 0;
      let nonZero = 0;
      session.attach.onOutput((stream, d) => {
        if (stream === 'stdout') stdout += d.length;
        else stderr += d.length;
        for (const b of d) nonZero += b;
      });
      session.attach.resumeOutput();
      expect(await session.exited).toBe(0);
      expect({ stdout, stderr, nonZero }).toEqual({ stdout: 20_000_000, stderr: 0, nonZero: 0 });
    },
    30000,
  );

  (rt.canExec ? test : test.skip)(
    'an exec session killed while its output waits: the exit record comes only after the rest of the output was taken',
    async () => {
      const c = await create(shSpec('exec sleep 1000'));
      start(c);
      const { session, monitorPid } = await slowReaderSession(c, 20_000_000);
      const sessionsDir = path.join(work, `x-${c.id}`);
      const [sessionDir] = fs.readdirSync(sessionsDir);
      session.kill();
      await waitFor('head to be reaped', () => procStat(session.pid)?.comm !== 'head');
      // Reaped, but what it wrote is still in the pipe and the monitor's last frame unsent: no record yet.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(procStat(monitorPid)?.state).toBe('S');
      expect(fs.readdirSync(path.join(sessionsDir, sessionDir, 'exit'))).toEqual([]);
      let stdout = 0;
      session.attach.onOutput((_stream, d) => (stdout += d.length));
      session.attach.resumeOutput();
      expect(await session.exited).toBe(137);
      expect(stdout).toBeGreaterThan(0);
      expect(stdout).toBeLessThan(20_000_000);
    },
    30000,
  );

  (rt.canExec ? test : test.skip)(
    'an exec session whose daemon side goes away while its output waits: the output is discarded, the process runs to its end, the monitor exits',
    async () => {
      const c = await create(shSpec('exec sleep 1000'));
      start(c);
      const { session, monitorPid } = await slowReaderSession(c, 20_000_000);
      await session.attach.destroy();
      // The exit record (head's own 0, not a SIGPIPE death) comes without the daemon reading more.
      expect(await session.exited).toBe(0);
      await waitFor(
        'the monitor to exit',
        () => ['Z', undefined].includes(procStat(monitorPid)?.state),
        10000,
      );
      expect(procStat(session.pid)?.comm).not.toBe('head');
    },
    30000,
  );

  test('keeps the container running when the log disk is full', async () => {
    const full = path.join(work, `full-${++seq}`);
    fs.mkdirSync(full);
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', full]);
    expect(mount.status).toBe(0);
    cleanups.push(() => {
      spawnSync('umount', [full]);
      fs.rmdirSync(full);
    });
    const c = await create(
      shSpec(
        'i=0; while [ $i -lt 2000 ]; do echo 0123456789012345678901234567890123456789012345678901234567890123; i=$((i+1)); done; echo end >&2',
      ),
      { logPath: path.join(full, 'c.log') },
    );
    start(c);
    const record = await waitExit(c);
    expect(record).toMatchObject({ exitCode: 0, signal: 0 });
    expect(record.logBytesDropped).toBeGreaterThan(100000);
  });

  test('reports its own setup errors over the sync descriptor, before running the runtime', async () => {
    const id = `${rt.name}-${process.pid}-${++seq}`;
    track(id);
    const o = options(id, shSpec('true'), { logPath: path.join(work, 'no-such-dir', 'c.log') });
    await expect(startMonitor(o)).rejects.toThrow(
      /open log .*no-such-dir\/c\.log.*No such file or directory/,
    );
    expect(runtimeCmd(['state', id]).status).not.toBe(0);
  });

  test("reports the runtime's error text when create fails, and leaves no monitor", async () => {
    const spec = shSpec('true');
    spec.root.path = path.join(work, 'no-such-rootfs');
    const id = `${rt.name}-${process.pid}-${++seq}`;
    track(id);
    const o = options(id, spec);
    const err = await startMonitor(o).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ContainerCreateError);
    expect((err as Error).message).toMatch(
      new RegExp(`${rt.path} create failed \\(exit status \\d+\\): \\S`),
    );
    expect(readExitRecord(exitDir, id)).toBeUndefined();
    const monitorPid = Number(fs.readFileSync(path.join(o.runroot, 'monitor.pid'), 'utf8'));
    await waitFor(
      'the monitor to exit',
      () => procStat(monitorPid) === undefined || procStat(monitorPid)?.state === 'Z',
    );
    expect(fs.existsSync(path.join(o.runroot, 'attach.sock'))).toBe(false);
  });
});
