// The Stream* list RPCs over CRI: each answers exactly its List* twin (same items, same order,
// same filters) in batches, here of at most two items so that a handful of objects makes several.
// Each container carries a 200 KiB annotation, so that a batch is larger than an HTTP/2
// flow-control window and the daemon is still sending when a client cancels.
// Also UpdatePodSandboxResources, which records a pod's resized resources.
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { PodSandboxConfig } from '../api/generated/runtime/v1/PodSandboxConfig';
import { readStream } from './cri-client';
import { PodFixture } from './pod-fixture';

const BATCH = 2;
const BULKY = { note: 'x'.repeat(200 * 1024) };

describe('streaming list RPCs over CRI', () => {
  let fixture: PodFixture;
  const pods: Record<string, { id: string; config: PodSandboxConfig }> = {};
  const containers: string[] = [];

  const runtime = () => fixture.client.runtime;
  const streams = () => fixture.client.runtimeStreams;

  /** The batches' items in order, after checking that no batch is over the limit or empty. */
  const flatten = <T>(batches: T[][]): T[] => {
    for (const batch of batches) {
      expect(batch.length).toBeGreaterThan(0);
      expect(batch.length).toBeLessThanOrEqual(BATCH);
    }
    return batches.flat();
  };

  beforeAll(async () => {
    fixture = await PodFixture.start(
      'list-stream',
      // Distinct images: the same content under several names would be one image.
      { extra: { config: { Env: ['IMAGE=extra'] } }, another: { config: { Env: ['IMAGE=another'] } } },
      { stream_batch: { max_items: BATCH } },
    );
    for (const [name, group] of [
      ['one', 'a'],
      ['two', 'a'],
      ['three', 'b'],
    ]) {
      const base = fixture.podConfig(name);
      const config = { ...base, labels: { group } };
      const { pod_sandbox_id } = await runtime().RunPodSandbox({ config });
      pods[name] = { id: pod_sandbox_id, config };
    }
    for (const [pod, name] of [
      ['one', 'c1'],
      ['one', 'c2'],
      ['one', 'c3'],
      ['two', 'c4'],
      ['three', 'c5'],
    ]) {
      const { container_id } = await runtime().CreateContainer({
        pod_sandbox_id: pods[pod].id,
        config: fixture.containerConfig(name, ['sleep', '60'], { annotations: BULKY }),
        sandbox_config: pods[pod].config,
      });
      containers.push(container_id);
    }
    await runtime().StartContainer({ container_id: containers[0] });
  }, 120_000);

  afterAll(() => fixture?.close());

  test('StreamPodSandboxes: ListPodSandbox in batches, filters applied', async () => {
    const all = await runtime().ListPodSandbox({});
    expect(all.items).toHaveLength(3);
    const batches = await readStream(streams().StreamPodSandboxes({}));
    expect(batches).toHaveLength(2);
    expect(flatten(batches.map((b) => b.pod_sandboxes))).toEqual(all.items);

    const filter = { label_selector: { group: 'a' } };
    const listed = await runtime().ListPodSandbox({ filter });
    expect(listed.items.map((p) => p.id).sort()).toEqual([pods.one.id, pods.two.id].sort());
    const streamed = await readStream(streams().StreamPodSandboxes({ filter }));
    expect(flatten(streamed.map((b) => b.pod_sandboxes))).toEqual(listed.items);
  });

  test('StreamContainers: ListContainers in batches, filters applied', async () => {
    const all = await runtime().ListContainers({});
    expect(all.containers).toHaveLength(5);
    const batches = await readStream(streams().StreamContainers({}));
    expect(batches).toHaveLength(3);
    expect(flatten(batches.map((b) => b.containers))).toEqual(all.containers);

    const filter = { pod_sandbox_id: pods.one.id };
    const listed = await runtime().ListContainers({ filter });
    expect(listed.containers).toHaveLength(3);
    const streamed = await readStream(streams().StreamContainers({ filter }));
    expect(streamed).toHaveLength(2);
    expect(flatten(streamed.map((b) => b.containers))).toEqual(listed.containers);

    const running = { state: { state: 'CONTAINER_RUNNING' as const } };
    const runningOnly = await readStream(streams().StreamContainers({ filter: running }));
    expect(flatten(runningOnly.map((b) => b.containers)).map((c) => c.id)).toEqual([containers[0]]);
  });

  test('an empty result is a stream without messages', async () => {
    const filter = { id: 'f'.repeat(64) };
    expect((await runtime().ListContainers({ filter })).containers).toEqual([]);
    expect(await readStream(streams().StreamContainers({ filter }))).toEqual([]);
    expect(await readStream(streams().StreamPodSandboxes({ filter }))).toEqual([]);
  });

  test('StreamImages: ListImages in batches', async () => {
    const all = await fixture.client.image.ListImages({});
    expect(all.images).toHaveLength(3);
    const batches = await readStream(fixture.client.imageStreams.StreamImages({}));
    expect(batches).toHaveLength(2);
    expect(flatten(batches.map((b) => b.images))).toEqual(all.images);

    const filter = { image: { image: fixture.images.extra } };
    const one = await readStream(fixture.client.imageStreams.StreamImages({ filter }));
    expect(flatten(one.map((b) => b.images))).toEqual(
      (await fixture.client.image.ListImages({ filter })).images,
    );
    expect(one.flatMap((b) => b.images)).toHaveLength(1);
  });

  test('StreamContainerStats and StreamPodSandboxStats: the listed objects, in batches', async () => {
    const ids = (stats: { attributes: { id: string } | null }[]) => stats.map((s) => s.attributes!.id);

    const listed = await runtime().ListContainerStats({});
    const streamed = await readStream(streams().StreamContainerStats({}));
    expect(streamed).toHaveLength(3);
    expect(ids(flatten(streamed.map((b) => b.container_stats)))).toEqual(ids(listed.stats));
    const inPod = { pod_sandbox_id: pods.one.id };
    const streamedInPod = await readStream(streams().StreamContainerStats({ filter: inPod }));
    expect(ids(flatten(streamedInPod.map((b) => b.container_stats)))).toEqual(
      ids((await runtime().ListContainerStats({ filter: inPod })).stats),
    );

    const podStats = await runtime().ListPodSandboxStats({});
    expect(podStats.stats).toHaveLength(3);
    const streamedPods = await readStream(streams().StreamPodSandboxStats({}));
    expect(streamedPods).toHaveLength(2);
    expect(ids(flatten(streamedPods.map((b) => b.pod_sandbox_stats)))).toEqual(ids(podStats.stats));
    const groupB = { label_selector: { group: 'b' } };
    const streamedB = await readStream(streams().StreamPodSandboxStats({ filter: groupB }));
    expect(ids(flatten(streamedB.map((b) => b.pod_sandbox_stats)))).toEqual([pods.three.id]);
  });

  test('a client that cancels after the first batch gets CANCELLED, and the daemon serves on', async () => {
    const stream = streams().StreamContainers({});
    const received: unknown[] = [];
    const ended = new Promise<ServiceError>((resolve, reject) => {
      stream.on('data', (message) => {
        received.push(message);
        stream.cancel();
      });
      stream.on('error', resolve);
      stream.on('end', () => reject(new Error('the stream ended without an error')));
    });
    expect((await ended).code).toBe(grpcStatus.CANCELLED);
    expect(received.length).toBeLessThan(3);
    // The daemon saw the cancellation while it was sending, rather than finishing the stream.
    await fixture.daemon.waitForLog(/rpc failed.*StreamContainers.*CANCELLED/);
    expect((await runtime().ListContainers({})).containers).toHaveLength(5);
  });

  test('UpdatePodSandboxResources records the resized resources; PodSandboxStatus verbose shows them', async () => {
    const overhead = { cpu_shares: '64', memory_limit_in_bytes: String(32 << 20) };
    const resources = { cpu_period: '100000', cpu_quota: '50000', memory_limit_in_bytes: String(256 << 20) };
    await runtime().UpdatePodSandboxResources({ pod_sandbox_id: pods.two.id, overhead, resources });
    const { info } = await runtime().PodSandboxStatus({ pod_sandbox_id: pods.two.id, verbose: true });
    const updated = (JSON.parse(info.info) as { updatedResources: Record<string, Record<string, unknown>> })
      .updatedResources;
    expect(updated.overhead).toMatchObject(overhead);
    expect(updated.resources).toMatchObject(resources);
    expect(Number(updated.updatedAt)).toBeGreaterThan(0);

    // Another pod is untouched.
    const other = await runtime().PodSandboxStatus({ pod_sandbox_id: pods.one.id, verbose: true });
    expect(JSON.parse(other.info.info)).toMatchObject({ updatedResources: null });
  });

  test('UpdatePodSandboxResources: NotFound for an unknown pod, InvalidArgument without an ID', async () => {
    await expect(
      runtime().UpdatePodSandboxResources({ pod_sandbox_id: 'f'.repeat(64), resources: {} }),
    ).rejects.toMatchObject({ code: grpcStatus.NOT_FOUND });
    await expect(runtime().UpdatePodSandboxResources({ pod_sandbox_id: '' })).rejects.toMatchObject({
      code: grpcStatus.INVALID_ARGUMENT,
    });
  });
});
