/**
 * Container lifecycle latency and memory, berth vs containerd's CRI plugin, side by side on this
 * host:
 *
 * - CreateContainer + StartContainer, then StopContainer + RemoveContainer, of a busybox
 *   container running `sleep 3600` in an existing pod (stopped with timeout 0: SIGKILL at once,
 *   as `sleep` as PID 1 ignores SIGTERM anyway);
 * - the whole pod + container lifecycle as the kubelet drives it: RunPodSandbox, CreateContainer,
 *   StartContainer, StopContainer, RemoveContainer, StopPodSandbox, RemovePodSandbox;
 * - the daemon's memory idle and with 50 running containers (10 pods of 5), and what each
 *   container adds beside the daemon: berth's berth-monitor per container, containerd's
 *   containerd-shim-runc-v2 per pod (pause processes left out on both sides).
 *
 *   npm run bench -- container-lifecycle [--runs 30] [--pods 10] [--per-pod 5] [--only berth|containerd]
 *
 * containerd is Debian's 1.6 with runc (`apt-get install containerd`), with the same CNI bridge
 * network and, as its sandbox image, one holding our berth-pause. Both run the very same busybox
 * image: berth pulls it from a registry on loopback, containerd imports the same blobs from an
 * OCI layout tarball. Everything (pods, daemons, registry, cgroups, temp dirs) goes at the end.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { ContainerConfig } from '../api/generated/runtime/v1/ContainerConfig';
import type { PodSandboxConfig } from '../api/generated/runtime/v1/PodSandboxConfig';
import { removeCgroups, removeTempDir } from '../common/testing/kernel';
import type { CriClient } from '../e2e/cri-client';
import { TestDaemon } from '../e2e/harness';
import { busyboxLayer } from '../e2e/test-images';
import { buildImage, pushImage, startRegistry } from '../image/test-registry';
import { TestBridgeNetwork } from '../network/test-support/test-network';
import { BenchContainerd } from './lib/containerd';
import { libraryFloor } from './lib/library-floor';
import { formatMiB, pidsWithCommandLine, processMemory, totalMemory, type ProcessMemory } from './lib/memory';
import { writeImageTar } from './lib/pause-image';
import { formatMs, summarize, timed, printRatios, reportSteps } from './lib/stats';

const CGROUP_PARENT = `/berth-bench-ctr-${process.pid}`;

interface Subject {
  label: string;
  client: CriClient;
  /** The CRI daemon's own pid. */
  daemonPid: number;
  /** The per-container (berth) or per-pod (containerd) helper processes beside the daemon. */
  helperPids(containerIds: string[]): Promise<number[]>;
}

type Samples = Record<string, number[]>;

interface Setting {
  image: string;
  logDir: string;
}

function podConfig(setting: Setting, runtime: string, name: string): PodSandboxConfig {
  return {
    metadata: { name, namespace: 'bench', uid: `${runtime}-${name}`, attempt: 0 },
    hostname: name,
    log_directory: path.join(setting.logDir, runtime, name),
    linux: {
      cgroup_parent: CGROUP_PARENT,
      security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } },
    },
  };
}

function containerConfig(setting: Setting, name: string): ContainerConfig {
  return {
    metadata: { name, attempt: 0 },
    image: { image: setting.image },
    command: ['sleep', '3600'],
    log_path: `${name}.log`,
    linux: { resources: {}, security_context: { namespace_options: { pid: 'CONTAINER' } } },
  };
}

function push(samples: Samples, key: string, ms: number): void {
  (samples[key] ??= []).push(ms);
}

/** One container's create+start and stop+remove in an existing pod. */
async function containerCycle(
  client: CriClient,
  setting: Setting,
  podId: string,
  pod: PodSandboxConfig,
  name: string,
  samples: Samples,
): Promise<void> {
  const [create, { container_id }] = await timed(() =>
    client.runtime.CreateContainer({
      pod_sandbox_id: podId,
      config: containerConfig(setting, name),
      sandbox_config: pod,
    }),
  );
  const [start] = await timed(() => client.runtime.StartContainer({ container_id }));
  const [stop] = await timed(() => client.runtime.StopContainer({ container_id, timeout: 0 }));
  const [remove] = await timed(() => client.runtime.RemoveContainer({ container_id }));
  push(samples, 'create', create);
  push(samples, 'start', start);
  push(samples, 'create+start', create + start);
  push(samples, 'stop', stop);
  push(samples, 'remove', remove);
  push(samples, 'stop+remove', stop + remove);
}

/** A pod with one container, from RunPodSandbox to RemovePodSandbox, the kubelet's order. */
async function podCycle(
  client: CriClient,
  setting: Setting,
  runtime: string,
  name: string,
  samples: Samples,
) {
  const pod = podConfig(setting, runtime, name);
  const [run, { pod_sandbox_id }] = await timed(() => client.runtime.RunPodSandbox({ config: pod }));
  const container: Samples = {};
  await containerCycle(client, setting, pod_sandbox_id, pod, 'main', container);
  const [stopPod] = await timed(() => client.runtime.StopPodSandbox({ pod_sandbox_id }));
  const [removePod] = await timed(() => client.runtime.RemovePodSandbox({ pod_sandbox_id }));
  push(samples, 'pod run', run);
  push(samples, 'pod stop+remove', stopPod + removePod);
  push(
    samples,
    'pod+container total',
    run + container['create+start'][0] + container['stop+remove'][0] + stopPod + removePod,
  );
}

async function latencies(subject: Subject, setting: Setting, runs: number): Promise<Samples> {
  const samples: Samples = {};
  const runtime = subject.label.split(' ')[0];
  const pod = podConfig(setting, runtime, 'steady');
  const { pod_sandbox_id } = await subject.client.runtime.RunPodSandbox({ config: pod });
  // Warm up caches (binaries, the image's layers, the shim) so the first sample is no outlier.
  await containerCycle(subject.client, setting, pod_sandbox_id, pod, 'warmup', {});
  for (let i = 0; i < runs; i++) {
    await containerCycle(subject.client, setting, pod_sandbox_id, pod, `c-${i}`, samples);
  }
  await subject.client.runtime.StopPodSandbox({ pod_sandbox_id });
  await subject.client.runtime.RemovePodSandbox({ pod_sandbox_id });
  await podCycle(subject.client, setting, runtime, 'warmup', {});
  for (let i = 0; i < runs; i++) await podCycle(subject.client, setting, runtime, `p-${i}`, samples);
  return samples;
}

interface MemoryFigures {
  idle: ProcessMemory;
  loaded: ProcessMemory;
  helpers: ProcessMemory;
  helperCount: number;
  containers: number;
}

/** The daemon idle (after the latency runs, nothing running) and with pods × perPod containers. */
async function memory(
  subject: Subject,
  setting: Setting,
  pods: number,
  perPod: number,
): Promise<MemoryFigures> {
  const runtime = subject.label.split(' ')[0];
  await settle();
  const idle = processMemory(subject.daemonPid);
  const ids: string[] = [];
  for (let p = 0; p < pods; p++) {
    const pod = podConfig(setting, runtime, `mem-${p}`);
    const { pod_sandbox_id } = await subject.client.runtime.RunPodSandbox({ config: pod });
    for (let c = 0; c < perPod; c++) {
      const { container_id } = await subject.client.runtime.CreateContainer({
        pod_sandbox_id,
        config: containerConfig(setting, `c-${c}`),
        sandbox_config: pod,
      });
      await subject.client.runtime.StartContainer({ container_id });
      ids.push(container_id);
    }
  }
  await settle();
  const loaded = processMemory(subject.daemonPid);
  const helperPids = await subject.helperPids(ids);
  const helpers = totalMemory(helperPids);
  await removeAllPods(subject.client);
  return { idle, loaded, helpers, helperCount: helperPids.length, containers: ids.length };
}

/**
 * Waits until the daemon is idle in the steady state, not in the tail of the last burst: berth
 * collects and trims 5 s after its last lifecycle RPC (common/memory-release.ts).
 */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 8000));
}

async function removeAllPods(client: CriClient): Promise<void> {
  const { items } = await client.runtime.ListPodSandbox({});
  for (const pod of items) {
    await client.runtime.StopPodSandbox({ pod_sandbox_id: pod.id });
    await client.runtime.RemovePodSandbox({ pod_sandbox_id: pod.id });
  }
}

function reportLatencies(label: string, samples: Samples): Record<string, number> {
  const medians: Record<string, number> = {};
  console.log(`\n${label}`);
  console.log('  phase                      n   median      p95      min      max  (ms)');
  for (const [phase, values] of Object.entries(samples)) {
    const s = summarize(values);
    medians[phase] = s.median;
    console.log(
      `  ${phase.padEnd(22)} ${String(s.n).padStart(4)} ${formatMs(s.median)} ${formatMs(s.p95)} ${formatMs(s.min)} ${formatMs(s.max)}`,
    );
  }
  return medians;
}

function reportMemory(label: string, m: MemoryFigures, helperName: string): void {
  const row = (what: string, v: ProcessMemory) =>
    console.log(
      `  ${what.padEnd(44)} VmRSS ${formatMiB(v.rss).padStart(10)}  anon ${formatMiB(v.anon).padStart(10)}  Pss ${formatMiB(v.pss).padStart(10)}`,
    );
  const per = (v: ProcessMemory, n: number): ProcessMemory => ({
    rss: v.rss / n,
    anon: v.anon / n,
    pss: v.pss / n,
  });
  console.log(`\n${label}: memory`);
  row('daemon idle', m.idle);
  row(`daemon with ${m.containers} running containers`, m.loaded);
  row(`${m.helperCount} × ${helperName}, in all`, m.helpers);
  row(`${helperName}, per container`, per(m.helpers, m.containers));
  row('daemon growth, per container', {
    rss: (m.loaded.rss - m.idle.rss) / m.containers,
    anon: (m.loaded.anon - m.idle.anon) / m.containers,
    pss: (m.loaded.pss - m.idle.pss) / m.containers,
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '30' },
      pods: { type: 'string', default: '10' },
      'per-pod': { type: 'string', default: '5' },
      only: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  const pods = Number(values.pods);
  const perPod = Number(values['per-pod']);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-ctr-'));
  const network = await TestBridgeNetwork.create(path.join(work, 'ipam'));
  await network.writeConflist(path.join(work, 'net.d'));
  const registry = await startRegistry();
  const busybox = buildImage([await busyboxLayer()]);
  await pushImage(registry.url, 'bench/busybox', 'latest', busybox);
  const setting: Setting = {
    image: `${registry.host}/bench/busybox:latest`,
    logDir: path.join(work, 'logs'),
  };
  const medians: Record<string, Record<string, number>> = {};
  try {
    if (values.only !== 'containerd') {
      const daemon = await TestDaemon.start({
        config: {
          cni: { conf_dir: path.join(work, 'net.d'), bin_dirs: ['/usr/lib/cni'] },
          log: { level: 'info' },
        },
      });
      try {
        await daemon.client.image.PullImage({ image: { image: setting.image } });
        await settle();
        const fresh = processMemory(daemon.child.pid!);
        const subject: Subject = {
          label: 'berth (berth-runtime)',
          client: daemon.client,
          daemonPid: daemon.child.pid!,
          helperPids: async (ids) =>
            Promise.all(
              ids.map(async (id) => {
                const { info } = await daemon.client.runtime.ContainerStatus({
                  container_id: id,
                  verbose: true,
                });
                return (JSON.parse(info.info) as { monitorPid: number }).monitorPid;
              }),
            ),
        };
        medians.berth = reportLatencies(subject.label, await latencies(subject, setting, runs));
        reportSteps(daemon.logs(), 'pod sandbox ready', 'RunPodSandbox');
        reportSteps(daemon.logs(), 'container created', 'CreateContainer');
        console.log(
          `  daemon just started, image pulled: VmRSS ${formatMiB(fresh.rss)}, Pss ${formatMiB(fresh.pss)}`,
        );
        reportMemory(subject.label, await memory(subject, setting, pods, perPod), 'berth-monitor');
        console.log("  the floor: node with the daemon's flags and its chosen libraries, nothing else");
        for (const { step, rss, anon } of libraryFloor()) {
          console.log(
            `    ${step.padEnd(42)} VmRSS ${formatMiB(rss).padStart(10)}  anon ${formatMiB(anon).padStart(10)}`,
          );
        }
      } finally {
        await removeAllPods(daemon.client).catch(() => undefined);
        await daemon.stop();
      }
    }
    if (values.only !== 'berth') {
      const dir = path.join(work, 'containerd');
      fs.mkdirSync(dir);
      const containerd = await BenchContainerd.startWithBerthPause(dir, path.join(work, 'net.d'));
      try {
        const busyboxTar = path.join(work, 'busybox.tar');
        await writeImageTar(setting.image, busybox, busyboxTar);
        containerd.importImage(busyboxTar);
        await settle();
        const fresh = processMemory(containerd.pid);
        const subject: Subject = {
          label: 'containerd 1.6 (runc)',
          client: containerd.client,
          daemonPid: containerd.pid,
          helperPids: async () => pidsWithCommandLine('containerd-shim', containerd.socket),
        };
        medians.containerd = reportLatencies(subject.label, await latencies(subject, setting, runs));
        console.log(
          `  daemon just started, images imported: VmRSS ${formatMiB(fresh.rss)}, Pss ${formatMiB(fresh.pss)}`,
        );
        reportMemory(subject.label, await memory(subject, setting, pods, perPod), 'containerd-shim-runc-v2');
      } finally {
        await removeAllPods(containerd.client).catch(() => undefined);
        await containerd.stop();
      }
    }
    if (medians.berth && medians.containerd)
      printRatios(medians.berth, medians.containerd, 'target: at most 0.50');
  } finally {
    await registry.stop();
    await network.destroy();
    removeCgroups(CGROUP_PARENT);
    removeTempDir(work);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
