/**
 * What berth-monitor adds to a container start: `runtime create` + `runtime start` run directly,
 * against the same through the monitor (startMonitor, then `runtime start`), N runs of each,
 * interleaved; prints medians, p95 and the ratio, and the monitor's RSS with a live container.
 *
 *   npm run bench -- monitor-start [--runs 30] [--runtime /usr/sbin/runc]
 *
 * Run as root. Everything it makes (containers, cgroups, the temp dir) is removed at the end.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { baseSpec, makeRootfs, makeTempDir, writeBundle } from '../native/testing/bundle';
import { readExitRecord, startMonitor } from '../oci/monitor';
import { removeCgroups } from '../common/testing/kernel';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    runtime: { type: 'string', default: '/usr/sbin/runc' },
  },
});
const RUNS = Number(values.runs);
const RUNTIME = values.runtime as string;
const CGROUP_PARENT = `berth-bench-monitor-${process.pid}`;

function summary(samples: number[]): { median: number; p95: number; min: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  return { median: at(0.5), p95: at(0.95), min: s[0] };
}

function ms(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}

function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(RUNTIME, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${RUNTIME} ${args.join(' ')}: ${code}`)),
    );
  });
}

async function waitFor<T>(fn: () => T | undefined, timeoutMs = 10000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function main(): Promise<void> {
  const work = makeTempDir('berth-bench-monitor-');
  const root = path.join(work, 'state');
  const exitDir = path.join(work, 'exits');
  fs.mkdirSync(exitDir);
  fs.mkdirSync(path.join(work, 'run'));
  const rootfs = makeRootfs(work);
  const ids: string[] = [];
  const bundle = (id: string, args: string[]): string => {
    const spec = baseSpec(rootfs, args);
    spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
    spec.linux.cgroupsPath = `/${CGROUP_PARENT}/${id}`;
    ids.push(id);
    return writeBundle(work, `bundle-${id}`, spec);
  };
  const direct: number[] = [];
  const monitored: number[] = [];
  const directCreate: number[] = [];
  const monitoredCreate: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const d = `direct-${i}`;
      const dBundle = bundle(d, ['true']);
      let t = process.hrtime.bigint();
      // The pid file too, as the monitor asks for it (the daemon needs the pid either way).
      await run([
        '--root',
        root,
        'create',
        '--bundle',
        dBundle,
        '--pid-file',
        path.join(work, `${d}.pid`),
        d,
      ]);
      directCreate.push(ms(t));
      await run(['--root', root, 'start', d]);
      direct.push(ms(t));
      await run(['--root', root, 'delete', '--force', d]);

      const m = `monitor-${i}`;
      const mBundle = bundle(m, ['true']);
      t = process.hrtime.bigint();
      await startMonitor({
        runtime: { path: RUNTIME, args: ['--root', root] },
        id: m,
        bundle: mBundle,
        runroot: path.join(work, 'run', m),
        logPath: path.join(work, `${m}.log`),
        exitDir,
      });
      monitoredCreate.push(ms(t));
      await run(['--root', root, 'start', m]);
      monitored.push(ms(t));
      await waitFor(() => readExitRecord(exitDir, m));
      await run(['--root', root, 'delete', '--force', m]);
    }

    const live = 'rss';
    const started = await startMonitor({
      runtime: { path: RUNTIME, args: ['--root', root] },
      id: live,
      bundle: bundle(live, ['sleep', '1000']),
      runroot: path.join(work, 'run', live),
      logPath: path.join(work, `${live}.log`),
      exitDir,
    });
    await run(['--root', root, 'start', live]);
    const status = fs.readFileSync(`/proc/${started.monitorPid}/status`, 'utf8');
    const field = (name: string): string =>
      new RegExp(`^${name}:\\s+(\\d+ kB)$`, 'm').exec(status)?.[1] ?? '?';

    const f = (x: number): string => x.toFixed(1).padStart(7);
    const report = (what: string, without: number[], withMonitor: number[]): void => {
      const a = summary(without);
      const b = summary(withMonitor);
      console.log(`${what} (ms)            median     p95     min`);
      console.log(`  direct                 ${f(a.median)} ${f(a.p95)} ${f(a.min)}`);
      console.log(`  with monitor           ${f(b.median)} ${f(b.p95)} ${f(b.min)}`);
      console.log(
        `  ratio ${(b.median / a.median).toFixed(3)} (median), overhead ${(b.median - a.median).toFixed(1)} ms median, ${(b.min - a.min).toFixed(1)} ms min`,
      );
    };
    console.log(`runtime ${RUNTIME}, ${RUNS} runs each, interleaved; the container runs \`true\``);
    report('create        ', directCreate, monitoredCreate);
    report('create + start', direct, monitored);
    console.log(`monitor VmRSS ${field('VmRSS')} (RssAnon ${field('RssAnon')}, RssFile ${field('RssFile')})`);
  } finally {
    for (const id of ids) spawnSync(RUNTIME, ['--root', root, 'delete', '--force', id], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 200)); // the monitors write their exit records and leave
    removeCgroups(CGROUP_PARENT);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
