/**
 * Pod sandbox lifecycle latency, berth vs containerd's CRI plugin, side by side on this host:
 * RunPodSandbox, StopPodSandbox and RemovePodSandbox with a CNI bridge network (bridge +
 * host-local + portmap, no masquerade), 30 pods one after another and 10 at once.
 *
 *   npm run bench -- pod-lifecycle [--runs 30] [--parallel 10] [--only berth|containerd]
 *
 * containerd (Debian's 1.6 with runc) gets the same CNI network and, as its sandbox image, an
 * image holding our berth-pause, so both run the same pause binary.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { PodSandboxConfig } from '../api/generated/runtime/v1/PodSandboxConfig';
import { removeCgroups, removeTempDir } from '../common/testing/kernel';
import type { CriClient } from '../e2e/cri-client';
import { TestDaemon } from '../e2e/harness';
import { TestBridgeNetwork } from '../network/test-support/test-network';
import { cniFloor } from './lib/cni-floor';
import { BenchContainerd } from './lib/containerd';
import { formatMs, summarize, timed, printRatios, reportSteps } from './lib/stats';

const CGROUP_PARENT = `/berth-bench-${process.pid}`;

interface Phases {
  run: number[];
  stop: number[];
  remove: number[];
  total: number[];
}

function podConfig(runtime: string, name: string): PodSandboxConfig {
  return {
    metadata: { name, namespace: 'bench', uid: `${runtime}-${name}`, attempt: 0 },
    hostname: name,
    log_directory: '',
    linux: {
      cgroup_parent: CGROUP_PARENT,
      security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } },
    },
  };
}

async function lifecycle(client: CriClient, runtime: string, name: string, phases: Phases): Promise<void> {
  const [run, response] = await timed(() =>
    client.runtime.RunPodSandbox({ config: podConfig(runtime, name) }),
  );
  const id = response.pod_sandbox_id;
  const [stop] = await timed(() => client.runtime.StopPodSandbox({ pod_sandbox_id: id }));
  const [remove] = await timed(() => client.runtime.RemovePodSandbox({ pod_sandbox_id: id }));
  phases.run.push(run);
  phases.stop.push(stop);
  phases.remove.push(remove);
  phases.total.push(run + stop + remove);
}

async function measure(client: CriClient, runtime: string, runs: number, parallel: number) {
  // Warm up caches (binaries, plugins, the image) so the first sample is not an outlier.
  await lifecycle(client, runtime, 'warmup', { run: [], stop: [], remove: [], total: [] });
  const sequential: Phases = { run: [], stop: [], remove: [], total: [] };
  for (let i = 0; i < runs; i++) await lifecycle(client, runtime, `seq-${i}`, sequential);
  const concurrent: Phases = { run: [], stop: [], remove: [], total: [] };
  const [wall] = await timed(() =>
    Promise.all(
      Array.from({ length: parallel }, (_, i) => lifecycle(client, runtime, `par-${i}`, concurrent)),
    ),
  );
  return { sequential, concurrent, wall };
}

function report(runtime: string, result: Awaited<ReturnType<typeof measure>>): Record<string, number> {
  const medians: Record<string, number> = {};
  console.log(`\n${runtime}`);
  console.log('  phase                      n   median      p95      min      max  (ms)');
  for (const [label, phases] of [
    ['sequential', result.sequential],
    ['parallel', result.concurrent],
  ] as const) {
    for (const phase of ['run', 'stop', 'remove', 'total'] as const) {
      const s = summarize(phases[phase]);
      medians[`${label}.${phase}`] = s.median;
      console.log(
        `  ${`${label} ${phase}`.padEnd(22)} ${String(s.n).padStart(4)} ${formatMs(s.median)} ${formatMs(s.p95)} ${formatMs(s.min)} ${formatMs(s.max)}`,
      );
    }
  }
  console.log(`  parallel wall time for ${result.concurrent.run.length} pods: ${result.wall.toFixed(1)} ms`);
  return medians;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '30' },
      parallel: { type: 'string', default: '10' },
      only: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  const parallel = Number(values.parallel);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-'));
  const network = await TestBridgeNetwork.create(path.join(work, 'ipam'));
  await network.writeConflist(path.join(work, 'net.d'));
  const results: Record<string, Record<string, number>> = {};
  try {
    if (values.only !== 'containerd') {
      const daemon = await TestDaemon.start({
        config: {
          cni: { conf_dir: path.join(work, 'net.d'), bin_dirs: ['/usr/lib/cni'] },
          log: { level: 'info' },
        },
      });
      try {
        results.berth = report(
          'berth (berth-runtime)',
          await measure(daemon.client, 'berth', runs, parallel),
        );
        reportSteps(daemon.logs(), 'pod sandbox ready', 'RunPodSandbox');
        reportSteps(daemon.logs(), 'pod sandbox stopped', 'StopPodSandbox');
        reportSteps(daemon.logs(), 'pod sandbox removed', 'RemovePodSandbox');
      } finally {
        await daemon.stop();
      }
    }
    if (values.only !== 'berth') {
      const dir = path.join(work, 'containerd');
      fs.mkdirSync(dir);
      const containerd = await BenchContainerd.startWithBerthPause(dir, path.join(work, 'net.d'));
      try {
        results.containerd = report(
          'containerd 1.6 (runc)',
          await measure(containerd.client, 'containerd', runs, parallel),
        );
      } finally {
        await containerd.stop();
      }
    }
    // The plugins alone, with no runtime: StopPodSandbox cannot be faster than their DEL.
    const floor = await cniFloor(network.conflist(), '/usr/lib/cni', runs);
    const add = summarize(floor.add);
    const del = summarize(floor.del);
    console.log('\nCNI plugins alone (no runtime), the floor of run and stop');
    console.log(
      `  ADD, all plugins            ${String(add.n).padStart(4)} ${formatMs(add.median)} ${formatMs(add.p95)}`,
    );
    console.log(
      `  DEL, all plugins            ${String(del.n).padStart(4)} ${formatMs(del.median)} ${formatMs(del.p95)}`,
    );
    if (results.containerd) {
      const half = results.containerd['sequential.stop'] / 2;
      console.log(
        `  DEL alone / half of containerd's sequential stop (${formatMs(half).trim()} ms): ${(del.median / half).toFixed(2)}`,
      );
    }
    if (results.berth && results.containerd)
      printRatios(results.berth, results.containerd, 'below 1 is faster');
  } finally {
    await network.destroy();
    removeCgroups(CGROUP_PARENT);
    removeTempDir(work);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
