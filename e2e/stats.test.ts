// ContainerStats, ListContainerStats, PodSandboxStats and ListPodSandboxStats over CRI, read from
// real cgroups, overlay upper dirs and the pod's network namespace.
import { status as grpcStatus } from '@grpc/grpc-js';
import type { ContainerStats__Output } from '../api/generated/runtime/v1/ContainerStats';
import type { PodSandboxConfig } from '../api/generated/runtime/v1/PodSandboxConfig';
import { cgroupDirs, removeCgroups } from '../common/testing/kernel';
import { fetchTcp, serveInNetns } from '../network/test-support/tcp';
import { eventually, PodFixture } from './pod-fixture';

const MiB = 1 << 20;
const LIMIT = 256 * MiB;

describe('stats over CRI', () => {
  let fixture: PodFixture;
  let podConfig: PodSandboxConfig;
  let podId: string;
  /** Busy, holding 16 MiB in a shell variable, with an 8 MiB file in its writable layer. */
  let busyId: string;
  let exitedId: string;

  const runtime = () => fixture.client.runtime;
  const value = (v: { value: string } | null | undefined): number => Number(v?.value ?? NaN);
  const containerStats = async (id: string): Promise<ContainerStats__Output> =>
    (await runtime().ContainerStats({ container_id: id })).stats!;

  beforeAll(async () => {
    fixture = await PodFixture.start('stats');
    // A cgroup parent of the pod's own, as the kubelet gives every pod (pod<uid>), under the
    // fixture's, which close() removes.
    const base = fixture.podConfig('measured');
    podConfig = {
      ...base,
      labels: { app: 'measured' },
      linux: { ...base.linux, cgroup_parent: `${fixture.cgroupParent}/pod-measured` },
    };
    podId = (await runtime().RunPodSandbox({ config: podConfig })).pod_sandbox_id;
    const create = async (name: string, command: string[], limit = 0): Promise<string> => {
      const config = fixture.containerConfig(name, command);
      config.linux = { ...config.linux, resources: { memory_limit_in_bytes: limit } };
      const { container_id } = await runtime().CreateContainer({
        pod_sandbox_id: podId,
        config,
        sandbox_config: podConfig,
      });
      await runtime().StartContainer({ container_id });
      return container_id;
    };
    busyId = await create(
      'busy',
      [
        'sh',
        '-c',
        `head -c ${8 * MiB} /dev/zero > /tmp/blob; x=$(head -c ${16 * MiB} /dev/zero | tr '\\0' a); ` +
          'touch /tmp/ready; while :; do :; done',
      ],
      LIMIT,
    );
    exitedId = await create('done', ['true']);
    await fixture.exited(exitedId);
    const ready = await eventually(
      () => fixture.exec(busyId, ['test', '-f', '/tmp/ready']),
      (r) => r.exitCode === 0,
    );
    expect(ready.exitCode).toBe(0);
  }, 120_000);

  afterAll(() => fixture?.close());

  test('a running container: CPU time and its rate, memory above what it holds, its writable layer', async () => {
    const first = await containerStats(busyId);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const second = await containerStats(busyId);

    expect(second.attributes).toMatchObject({
      id: busyId,
      metadata: { name: 'busy', attempt: 0 },
      labels: { container: 'busy' },
    });
    expect(value(second.cpu!.usage_core_nano_seconds)).toBeGreaterThan(
      value(first.cpu!.usage_core_nano_seconds),
    );
    expect(BigInt(second.cpu!.timestamp)).toBeGreaterThan(BigInt(first.cpu!.timestamp));
    // The shell spins on one core: well above a tenth of one between the two samples.
    expect(value(second.cpu!.usage_nano_cores)).toBeGreaterThan(100_000_000);

    const memory = second.memory!;
    expect(value(memory.working_set_bytes)).toBeGreaterThan(16 * MiB);
    expect(value(memory.rss_bytes)).toBeGreaterThan(16 * MiB);
    expect(value(memory.usage_bytes)).toBeGreaterThanOrEqual(value(memory.working_set_bytes));
    expect(value(memory.available_bytes) + value(memory.working_set_bytes)).toBe(LIMIT);
    expect(value(memory.page_faults)).toBeGreaterThan(0);

    const layer = second.writable_layer!;
    expect(layer.fs_id!.mountpoint).toMatch(/\/containers$/);
    expect(value(layer.used_bytes)).toBeGreaterThanOrEqual(8 * MiB);
    expect(value(layer.inodes_used)).toBeGreaterThanOrEqual(3);
  });

  test('an exited container has its attributes and writable layer, no cgroup numbers', async () => {
    const stats = await containerStats(exitedId);
    expect(stats.attributes!.id).toBe(exitedId);
    expect(stats.cpu).toBeNull();
    expect(stats.memory).toBeNull();
    expect(stats.writable_layer!.used_bytes).not.toBeNull();
  });

  test('ListContainerStats narrows by ID prefix, pod and labels', async () => {
    const ids = async (filter: object) =>
      (await runtime().ListContainerStats({ filter })).stats.map((s) => s.attributes!.id).sort();
    expect(await ids({ pod_sandbox_id: podId })).toEqual([busyId, exitedId].sort());
    expect(await ids({ id: busyId.slice(0, 12) })).toEqual([busyId]);
    expect(await ids({ pod_sandbox_id: podId, label_selector: { container: 'done' } })).toEqual([exitedId]);
    expect(await ids({ label_selector: { container: 'none' } })).toEqual([]);
    expect(await ids({ id: 'f'.repeat(64) })).toEqual([]);
  });

  test('a pod: its cgroup, its processes, its containers, and eth0 counting traffic into it', async () => {
    const { status, info } = await runtime().PodSandboxStatus({ pod_sandbox_id: podId, verbose: true });
    const before = (await runtime().PodSandboxStats({ pod_sandbox_id: podId })).stats!;
    // One argument of the server's command line holds it: under the kernel's 128 KiB per argument.
    const greeting = 'x'.repeat(100_000);
    const server = await serveInNetns(JSON.parse(info.info).netns, 8080, greeting);
    try {
      await expect(fetchTcp(status!.network!.ip, 8080)).resolves.toBe(greeting);
    } finally {
      server.kill('SIGKILL');
    }
    const after = (await runtime().PodSandboxStats({ pod_sandbox_id: podId })).stats!;

    expect(after.attributes).toMatchObject({ id: podId, labels: { app: 'measured' } });
    const linux = after.linux!;
    expect(value(linux.cpu!.usage_core_nano_seconds)).toBeGreaterThan(
      value(before.linux!.cpu!.usage_core_nano_seconds),
    );
    expect(value(linux.cpu!.usage_nano_cores)).toBeGreaterThan(100_000_000);
    expect(value(linux.memory!.working_set_bytes)).toBeGreaterThan(16 * MiB);
    // The pause process, the busy shell; the server ran under nsenter, outside the pod cgroup.
    expect(value(linux.process!.process_count)).toBeGreaterThanOrEqual(2);
    expect(linux.containers.map((c) => c.attributes!.id).sort()).toEqual([busyId, exitedId].sort());

    const eth0 = linux.network!.default_interface!;
    const eth0Before = before.linux!.network!.default_interface!;
    expect(eth0.name).toBe('eth0');
    expect(linux.network!.interfaces.map((i) => i.name)).toEqual(['eth0']);
    expect(value(eth0.tx_bytes) - value(eth0Before.tx_bytes)).toBeGreaterThanOrEqual(greeting.length);
    expect(value(eth0.rx_bytes)).toBeGreaterThan(value(eth0Before.rx_bytes));
    expect(value(eth0.rx_errors)).toBe(0);
  });

  test('ListPodSandboxStats narrows by ID and labels and leaves out pods that are not ready', async () => {
    const stopped = await fixture.runPod('stopped');
    await runtime().StopPodSandbox({ pod_sandbox_id: stopped });
    const ids = async (filter: object) =>
      (await runtime().ListPodSandboxStats({ filter })).stats.map((s) => s.attributes!.id);
    expect(await ids({})).toEqual([podId]);
    expect(await ids({ id: podId.slice(0, 10) })).toEqual([podId]);
    expect(await ids({ label_selector: { app: 'other' } })).toEqual([]);
    await expect(runtime().PodSandboxStats({ pod_sandbox_id: stopped })).rejects.toMatchObject({
      code: grpcStatus.UNAVAILABLE,
    });
    await runtime().RemovePodSandbox({ pod_sandbox_id: stopped });
  });

  test('a host-network pod without a cgroup parent: its own cgroups summed, no network of its own', async () => {
    // berth's default parent, shared by parentless pods; removed afterwards unless it was there.
    const defaultParentExisted = cgroupDirs('/berth').length > 0;
    const base = fixture.podConfig('parentless', { namespace_options: { network: 'NODE' } });
    const config = { ...base, linux: { ...base.linux, cgroup_parent: '' } };
    const { pod_sandbox_id: id } = await runtime().RunPodSandbox({ config });
    try {
      const linux = (await runtime().PodSandboxStats({ pod_sandbox_id: id })).stats!.linux!;
      expect(value(linux.cpu!.usage_core_nano_seconds)).toBeGreaterThan(0);
      expect(value(linux.process!.process_count)).toBe(1);
      expect(value(linux.memory!.usage_bytes)).toBeGreaterThan(0);
      expect(linux.memory!.available_bytes).toBeNull();
      expect(linux.network).toBeNull();
      expect(linux.containers).toEqual([]);
    } finally {
      await runtime().RemovePodSandbox({ pod_sandbox_id: id });
      if (!defaultParentExisted) removeCgroups('/berth');
    }
  });

  test('unknown IDs are NotFound', async () => {
    await expect(runtime().ContainerStats({ container_id: 'f'.repeat(64) })).rejects.toMatchObject({
      code: grpcStatus.NOT_FOUND,
    });
    await expect(runtime().PodSandboxStats({ pod_sandbox_id: 'f'.repeat(64) })).rejects.toMatchObject({
      code: grpcStatus.NOT_FOUND,
    });
  });
});
