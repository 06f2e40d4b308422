/**
 * The OCI runtimes side by side: `create`, `start`, wait for the container's init to exit, and
 * `delete`, of a container running `true` from one busybox bundle, under berth-runtime, crun and
 * runc, interleaved (one run of each runtime per iteration, so that they share the host's noise).
 * Prints medians and p95 of the whole sequence and of each step, and the ratios to crun.
 *
 *   npm run bench -- runtime-run [--runs 50] [--only berth-runtime,crun]
 *
 * Run as root. Every runtime gets the same config.json (no network namespace, a cgroup under a
 * parent of this run's own); the containers, their cgroups and the temp dir are removed at the
 * end, and a hugetlb v1 hierarchy mounted for crun is unmounted again.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { removeCgroups } from '../common/testing/kernel';
import { baseSpec, makeRootfs, makeTempDir, writeBundle } from '../native/testing/bundle';
import { procStat } from '../native/testing/proc';
import { packageRoot } from '../common/package-root';
import { mountHugetlbForCrun } from '../oci/testing/runtimes';
import { formatMs, summarize } from './lib/stats';

const RUNTIMES: Record<string, string> = {
  'berth-runtime': path.join(packageRoot(), 'native', 'bin', 'berth-runtime'),
  crun: '/usr/bin/crun',
  runc: '/usr/sbin/runc',
};
const STEPS = ['create', 'start', 'wait', 'delete'] as const;
type Step = (typeof STEPS)[number];

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '50' },
    only: { type: 'string', default: Object.keys(RUNTIMES).join(',') },
  },
});
const RUNS = Number(values.runs);
const NAMES = (values.only as string).split(',');
const CGROUP_PARENT = `berth-bench-runtime-${process.pid}`;

function ms(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}

/** Runs the runtime to completion; stdio goes nowhere, as with a detached container. */
function runtime(bin: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${bin} ${args.join(' ')}: exit ${code ?? signal}`)),
    );
  });
}

/**
 * Whether the container's init is gone or a zombie. It is reparented when `create` exits, so
 * whoever reaps it, the runtime is not involved: the wait is the same for every runtime.
 */
function exited(pid: number): boolean {
  const state = procStat(pid)?.state;
  return state === undefined || state === 'Z' || state === 'X';
}

/** Polls every millisecond until the pid has exited (10 s at most). */
async function waitExit(pid: number): Promise<void> {
  const deadline = Date.now() + 10000;
  while (!exited(pid)) {
    if (Date.now() > deadline) throw new Error(`container init ${pid} did not exit within 10 s`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

interface Bench {
  name: string;
  bin: string;
  root: string;
  samples: Record<Step | 'total', number[]>;
}

async function once(bench: Bench, work: string, bundle: string, id: string): Promise<void> {
  const pidFile = path.join(work, `${id}.pid`);
  const root = ['--root', bench.root];
  const times: Partial<Record<Step, number>> = {};
  let t = process.hrtime.bigint();
  await runtime(bench.bin, [...root, 'create', '--bundle', bundle, '--pid-file', pidFile, id]);
  times.create = ms(t);
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  t = process.hrtime.bigint();
  await runtime(bench.bin, [...root, 'start', id]);
  times.start = ms(t);
  t = process.hrtime.bigint();
  await waitExit(pid);
  times.wait = ms(t);
  t = process.hrtime.bigint();
  await runtime(bench.bin, [...root, 'delete', id]);
  times.delete = ms(t);
  let total = 0;
  for (const step of STEPS) {
    bench.samples[step].push(times[step]!);
    total += times[step]!;
  }
  bench.samples.total.push(total);
}

function report(benches: Bench[]): void {
  const reference = benches.find((b) => b.name === 'crun') ?? benches[0];
  console.log(`\n${RUNS} runs of each runtime, interleaved; the container runs \`true\`; times in ms`);
  console.log(
    `  ${'step'.padEnd(8)} ${'runtime'.padEnd(14)} ${'median'.padStart(8)} ${'p95'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)}  vs ${reference.name} (median)`,
  );
  for (const step of [...STEPS, 'total'] as const) {
    const ref = summarize(reference.samples[step]).median;
    for (const bench of benches) {
      const s = summarize(bench.samples[step]);
      console.log(
        `  ${step.padEnd(8)} ${bench.name.padEnd(14)} ${formatMs(s.median)} ${formatMs(s.p95)} ${formatMs(s.min)} ${formatMs(s.max)}  ${(s.median / ref).toFixed(2)}`,
      );
    }
  }
}

async function main(): Promise<void> {
  for (const name of NAMES) {
    if (!RUNTIMES[name])
      throw new Error(`unknown runtime ${name}; known: ${Object.keys(RUNTIMES).join(', ')}`);
    if (!fs.existsSync(RUNTIMES[name])) throw new Error(`${RUNTIMES[name]} is not installed`);
  }
  const work = makeTempDir('berth-bench-runtime-');
  const rootfs = makeRootfs(work);
  const spec = baseSpec(rootfs, ['true']);
  spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
  const benches: Bench[] = NAMES.map((name) => ({
    name,
    bin: RUNTIMES[name],
    root: path.join(work, `state-${name}`),
    samples: { create: [], start: [], wait: [], delete: [], total: [] },
  }));
  const created: Array<[Bench, string]> = [];
  const unmountHugetlb = mountHugetlbForCrun();
  try {
    // One bundle per container, identical but for its cgroup: a cgroup name is never reused, so
    // no run waits for the kernel to let go of the previous container's group.
    const bundle = (bench: Bench, id: string): string => {
      spec.linux.cgroupsPath = `/${CGROUP_PARENT}/${id}`;
      created.push([bench, id]);
      return writeBundle(work, `bundle-${id}`, spec);
    };
    for (const bench of benches) {
      const id = `${bench.name}-warmup`;
      await once(
        { ...bench, samples: { create: [], start: [], wait: [], delete: [], total: [] } },
        work,
        bundle(bench, id),
        id,
      );
    }
    for (let i = 0; i < RUNS; i++) {
      for (const bench of benches) {
        const id = `${bench.name}-${i}`;
        await once(bench, work, bundle(bench, id), id);
      }
    }
    report(benches);
  } finally {
    for (const [bench, id] of created)
      spawnSync(bench.bin, ['--root', bench.root, 'delete', '--force', id], { stdio: 'ignore' });
    removeCgroups(CGROUP_PARENT);
    unmountHugetlb();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
