// ListMetricDescriptors, ListPodSandboxMetrics and StreamPodSandboxMetrics over CRI, read from
// real cgroups, overlay upper dirs and the pod's network namespace; the stream in batches of one.
import type { Metric__Output } from '../api/generated/runtime/v1/Metric';
import type { PodSandboxMetrics__Output } from '../api/generated/runtime/v1/PodSandboxMetrics';
import { fetchTcp, serveInNetns } from '../network/test-support/tcp';
import { readStream } from './cri-client';
import { eventually, PodFixture } from './pod-fixture';

const MiB = 1 << 20;

describe('CRI metrics', () => {
  let fixture: PodFixture;
  let podId: string;
  let idlePodId: string;
  /** Busy, holding 16 MiB in a shell variable. */
  let busyId: string;

  const runtime = () => fixture.client.runtime;
  const podMetrics = async (id: string): Promise<PodSandboxMetrics__Output> =>
    (await runtime().ListPodSandboxMetrics({})).pod_metrics.find((p) => p.pod_sandbox_id === id)!;
  /** The value of the one sample of `name` (whose label values end with `last`, when given). */
  const valueOf = (metrics: Metric__Output[], name: string, last?: string): number => {
    const found = metrics.filter(
      (m) => m.name === name && (last === undefined || m.label_values.at(-1) === last),
    );
    expect(found).toHaveLength(1);
    return Number(found[0].value!.value);
  };
  const busyMetrics = async () =>
    (await podMetrics(podId)).container_metrics.find((c) => c.container_id === busyId)!;

  beforeAll(async () => {
    fixture = await PodFixture.start('metrics', {}, { stream_batch: { max_items: 1 } });
    const base = fixture.podConfig('measured');
    const podConfig = {
      ...base,
      linux: { ...base.linux, cgroup_parent: `${fixture.cgroupParent}/pod-measured` },
    };
    podId = (await runtime().RunPodSandbox({ config: podConfig })).pod_sandbox_id;
    const config = fixture.containerConfig('busy', [
      'sh',
      '-c',
      `x=$(head -c ${16 * MiB} /dev/zero | tr '\\0' a); touch /tmp/ready; while :; do :; done`,
    ]);
    busyId = (await runtime().CreateContainer({ pod_sandbox_id: podId, config, sandbox_config: podConfig }))
      .container_id;
    await runtime().StartContainer({ container_id: busyId });
    idlePodId = await fixture.runPod('idle');
    const ready = await eventually(
      () => fixture.exec(busyId, ['test', '-f', '/tmp/ready']),
      (r) => r.exitCode === 0,
    );
    expect(ready.exitCode).toBe(0);
  }, 120_000);

  afterAll(() => fixture?.close());

  test('the descriptors cover every metric sent, with as many label keys as it has values', async () => {
    const { descriptors } = await runtime().ListMetricDescriptors({});
    const byName = new Map(descriptors.map((d) => [d.name, d]));
    const { pod_metrics } = await runtime().ListPodSandboxMetrics({});
    const metrics = pod_metrics.flatMap((p) => [
      ...p.metrics,
      ...p.container_metrics.flatMap((c) => c.metrics),
    ]);
    expect(metrics.length).toBeGreaterThan(0);
    for (const metric of metrics) {
      expect(byName.get(metric.name)?.label_keys).toHaveLength(metric.label_values.length);
    }
  });

  test('a running container: CPU seconds growing, memory above what it holds, its name and image', async () => {
    const first = await busyMetrics();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const second = await busyMetrics();
    // The shell spins on one core: 1.5 s later its whole seconds have moved on by at least one.
    expect(valueOf(second.metrics, 'container_cpu_usage_seconds_total', 'total')).toBeGreaterThan(
      valueOf(first.metrics, 'container_cpu_usage_seconds_total', 'total'),
    );
    expect(valueOf(second.metrics, 'container_memory_working_set_bytes')).toBeGreaterThan(16 * MiB);
    expect(valueOf(second.metrics, 'container_memory_rss')).toBeGreaterThan(16 * MiB);
    expect(valueOf(second.metrics, 'container_last_seen')).toBeCloseTo(Date.now() / 1000, -1);
    const cpu = second.metrics.find((m) => m.name === 'container_cpu_usage_seconds_total')!;
    expect(cpu.metric_type).toBe('COUNTER');
    expect(cpu.label_values).toEqual([
      busyId,
      'busy',
      fixture.containerConfig('busy', []).image!.image,
      'total',
    ]);
    // The idle pod runs no container: it has its network only.
    expect((await podMetrics(idlePodId)).container_metrics).toEqual([]);
  });

  test("the pod's eth0 counts traffic into it; loopback is left out", async () => {
    const { status, info } = await runtime().PodSandboxStatus({ pod_sandbox_id: podId, verbose: true });
    const before = (await podMetrics(podId)).metrics;
    const greeting = 'x'.repeat(100_000);
    const server = await serveInNetns(JSON.parse(info.info).netns, 8080, greeting);
    try {
      await expect(fetchTcp(status!.network!.ip, 8080)).resolves.toBe(greeting);
    } finally {
      server.kill('SIGKILL');
    }
    const after = (await podMetrics(podId)).metrics;
    expect(new Set(after.map((m) => m.label_values.at(-1)))).toEqual(new Set(['eth0']));
    expect(after.every((m) => m.label_values[0] === podId && m.label_values[1] === 'POD')).toBe(true);
    const sent = (m: Metric__Output[]) => valueOf(m, 'container_network_transmit_bytes_total', 'eth0');
    const received = (m: Metric__Output[]) => valueOf(m, 'container_network_receive_packets_total', 'eth0');
    expect(sent(after) - sent(before)).toBeGreaterThanOrEqual(greeting.length);
    expect(received(after)).toBeGreaterThan(received(before));
  });

  test('StreamPodSandboxMetrics: the listed pods, containers and series, one pod a batch', async () => {
    // Values move between the two calls; what each sends is the same pods, containers and series.
    const series = (pods: PodSandboxMetrics__Output[]) =>
      pods.map((p) => ({
        pod: p.pod_sandbox_id,
        metrics: p.metrics.map((m) => [m.name, ...m.label_values]),
        containers: p.container_metrics.map((c) => ({
          id: c.container_id,
          metrics: c.metrics.map((m) => [m.name, ...m.label_values]),
        })),
      }));
    const listed = (await runtime().ListPodSandboxMetrics({})).pod_metrics;
    const batches = await readStream(fixture.client.runtimeStreams.StreamPodSandboxMetrics({}));
    expect(batches.map((b) => b.pod_sandbox_metrics.length)).toEqual([1, 1]);
    expect(series(batches.flatMap((b) => b.pod_sandbox_metrics))).toEqual(series(listed));
  });
});
