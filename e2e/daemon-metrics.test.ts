/**
 * The daemon's own Prometheus metrics (`[metrics] address`): CRI calls by method and status with
 * their latency, pod sandboxes and containers by state, images, node's process metrics.
 */
import { removeCgroups } from '../common/testing/kernel';
import { freePort } from '../common/testing/ports';
import { TestDaemon } from './harness';

const CGROUP_PARENT = `/berth-e2e-metrics-${process.pid}`;

describe("the daemon's metrics endpoint", () => {
  let daemon: TestDaemon;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}/metrics`;
    daemon = await TestDaemon.start({ config: { metrics: { address: `127.0.0.1:${port}` } } });
  });

  afterAll(async () => {
    await daemon?.stop();
    removeCgroups(CGROUP_PARENT);
  });

  /** The value of one sample line (`name{labels} value`), or undefined when it is not there. */
  const sample = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  test('calls, their outcome and latency, and the pods they made', async () => {
    const before = await (await fetch(url)).text();
    expect(sample(before, 'berth_pod_sandboxes{state="ready"}')).toBe(0);
    expect(sample(before, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);

    const { pod_sandbox_id } = await daemon.client.runtime.RunPodSandbox({
      config: {
        metadata: { name: 'metered', namespace: 'e2e', uid: 'metered', attempt: 0 },
        linux: {
          cgroup_parent: CGROUP_PARENT,
          security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } },
        },
      },
    });
    await expect(daemon.client.runtime.ContainerStatus({ container_id: 'nonexistent' })).rejects.toThrow();

    const after = await (await fetch(url)).text();
    expect(sample(after, 'berth_cri_requests_total{method="RunPodSandbox",status="OK"}')).toBe(1);
    expect(sample(after, 'berth_cri_requests_total{method="ContainerStatus",status="NOT_FOUND"}')).toBe(1);
    expect(sample(after, 'berth_cri_request_duration_seconds_count{method="RunPodSandbox"}')).toBe(1);
    expect(sample(after, 'berth_cri_request_duration_seconds_bucket{le="300",method="RunPodSandbox"}')).toBe(
      1,
    );
    expect(sample(after, 'berth_pod_sandboxes{state="ready"}')).toBe(1);
    expect(sample(after, 'berth_containers{state="running"}')).toBe(0);
    expect(sample(after, 'berth_images')).toBe(0);

    await daemon.client.runtime.StopPodSandbox({ pod_sandbox_id });
    const stopped = await (await fetch(url)).text();
    expect(sample(stopped, 'berth_pod_sandboxes{state="notready"}')).toBe(1);
    await daemon.client.runtime.RemovePodSandbox({ pod_sandbox_id });
  });

  test('only /metrics is served', async () => {
    expect((await fetch(url.replace('/metrics', '/'))).status).toBe(404);
  });
});
