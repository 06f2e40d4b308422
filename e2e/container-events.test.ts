import * as grpc from '@grpc/grpc-js';
import { loadCri } from '../api';
import type { ContainerEventResponse__Output } from '../api/generated/runtime/v1/ContainerEventResponse';
import { TestDaemon } from './harness';
import { eventually, PodFixture } from './pod-fixture';

/** A GetContainerEvents call on a connection of its own, collecting what it receives. */
class EventStream {
  readonly events: ContainerEventResponse__Output[] = [];
  private readonly channel: grpc.Client;
  private readonly call: grpc.ClientReadableStream<ContainerEventResponse__Output>;
  /** The call's final status code, once it has ended. */
  readonly ended: Promise<grpc.status>;

  constructor(socket: string) {
    this.channel = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure());
    const method = loadCri().runtime.v1.RuntimeService.service.GetContainerEvents;
    this.call = this.channel.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      {},
      new grpc.Metadata(),
      {},
    ) as grpc.ClientReadableStream<ContainerEventResponse__Output>;
    this.call.on('data', (event: ContainerEventResponse__Output) => this.events.push(event));
    this.call.on('error', () => {}); // a cancelled call ends with CANCELLED, as asked
    this.ended = new Promise((resolve) =>
      this.call.once('status', (status: grpc.StatusObject) => resolve(status.code)),
    );
  }

  /** The events as `TYPE id` lines, for ordered comparisons. */
  summary(): string[] {
    return this.events.map(
      (e) => `${e.container_event_type.replace(/^CONTAINER_|_EVENT$/g, '')} ${e.container_id}`,
    );
  }

  of(id: string, type: string): ContainerEventResponse__Output {
    const event = this.events.find((e) => e.container_id === id && e.container_event_type === type);
    if (!event) throw new Error(`no ${type} for ${id} in ${this.summary().join(', ')}`);
    return event;
  }

  cancel(): void {
    this.call.cancel();
    this.channel.close();
  }
}

describe('GetContainerEvents over CRI', () => {
  let fixture: PodFixture;
  const streams: EventStream[] = [];

  const subscribe = async (expectedSubscribers: number): Promise<EventStream> => {
    const stream = new EventStream(fixture.daemon.socket);
    streams.push(stream);
    // The subscription is made when the daemon runs the call: wait for it before acting.
    await fixture.daemon.waitForLog(
      new RegExp(`container events subscriber joined.*subscribers=${expectedSubscribers}\\b`),
    );
    return stream;
  };

  beforeAll(async () => {
    fixture = await PodFixture.start('events');
  }, 120_000);

  afterAll(async () => {
    for (const stream of streams) stream.cancel();
    await fixture?.close();
  });

  test('a pod and a container that exits by itself, told in order with their statuses', async () => {
    const client = fixture.client;
    const first = await subscribe(1);
    const since = BigInt(Date.now()) * 1_000_000n;
    const podId = await fixture.runPod('ev');
    const second = await subscribe(2);

    const id = await fixture.create(podId, 'once', ['sh', '-c', 'sleep 1; exit 3']);
    await client.runtime.StartContainer({ container_id: id });
    const exited = await eventually(
      () => fixture.status(id),
      (s) => s.state === 'CONTAINER_EXITED',
    );
    expect(exited.exit_code).toBe(3);
    await client.runtime.RemoveContainer({ container_id: id });
    await eventually(
      async () => second.events.length,
      (n) => n >= 4,
    );

    // The second subscriber leaves: its place on the daemon's bus is freed, nothing more is sent.
    second.cancel();
    await fixture.daemon.waitForLog(/container events subscriber left.*subscribers=1\b/);

    await client.runtime.StopPodSandbox({ pod_sandbox_id: podId });
    await client.runtime.RemovePodSandbox({ pod_sandbox_id: podId });
    await eventually(
      async () => first.events.length,
      (n) => n >= 8,
    );

    expect(first.summary()).toEqual([
      `CREATED ${podId}`,
      `STARTED ${podId}`,
      `CREATED ${id}`,
      `STARTED ${id}`,
      `STOPPED ${id}`,
      `DELETED ${id}`,
      `STOPPED ${podId}`,
      `DELETED ${podId}`,
    ]);
    // From the moment it subscribed on, and nothing after it cancelled.
    expect(second.summary()).toEqual([`CREATED ${id}`, `STARTED ${id}`, `STOPPED ${id}`, `DELETED ${id}`]);

    const times = first.events.map((e) => BigInt(e.created_at));
    expect(times[0]).toBeGreaterThanOrEqual(since);
    times.slice(1).forEach((t, i) => expect(t).toBeGreaterThanOrEqual(times[i]!));

    // Every event of the pod carries the pod's status; container events those of its containers.
    const podStatus = { id: podId, metadata: { name: 'ev', namespace: 'e2e', uid: 'uid-ev' } };
    for (const event of first.events) expect(event.pod_sandbox_status).toMatchObject(podStatus);
    expect(first.of(podId, 'CONTAINER_STARTED_EVENT')).toMatchObject({
      pod_sandbox_status: { state: 'SANDBOX_READY' },
      containers_statuses: [],
    });
    expect(first.of(id, 'CONTAINER_CREATED_EVENT').containers_statuses).toMatchObject([
      { id, state: 'CONTAINER_CREATED', metadata: { name: 'once' } },
    ]);
    expect(first.of(id, 'CONTAINER_STARTED_EVENT').containers_statuses).toMatchObject([
      { id, state: 'CONTAINER_RUNNING', exit_code: 0 },
    ]);
    const stopped = first.of(id, 'CONTAINER_STOPPED_EVENT');
    expect(stopped.containers_statuses).toMatchObject([
      { id, state: 'CONTAINER_EXITED', exit_code: 3, reason: 'Error', finished_at: exited.finished_at },
    ]);
    expect(stopped.pod_sandbox_status?.state).toBe('SANDBOX_READY');
    // A deleted container is no longer among the pod's; a deleted pod still names itself.
    expect(first.of(id, 'CONTAINER_DELETED_EVENT').containers_statuses).toEqual([]);
    expect(first.of(podId, 'CONTAINER_STOPPED_EVENT').pod_sandbox_status?.state).toBe('SANDBOX_NOTREADY');
    expect(first.of(podId, 'CONTAINER_DELETED_EVENT').pod_sandbox_status?.state).toBe('SANDBOX_NOTREADY');
    // Both streams got the very same events, built once.
    expect(second.events).toEqual(first.events.slice(2, 6));

    first.cancel();
    await fixture.daemon.waitForLog(/container events subscriber left.*subscribers=0\b/);
  }, 60_000);

  test("PodSandboxStatus carries its containers' statuses and when they were taken", async () => {
    // The evented PLEG takes a pod's containers from here whenever the timestamp is set.
    const podId = await fixture.runPod('with-statuses');
    const before = BigInt(Date.now()) * 1_000_000n;
    const running = await fixture.run(podId, 'runs', ['sleep', '3600']);
    const created = await fixture.create(podId, 'waits', ['true']);
    const response = await fixture.client.runtime.PodSandboxStatus({ pod_sandbox_id: podId });
    expect(BigInt(response.timestamp)).toBeGreaterThan(before);
    const states = Object.fromEntries(response.containers_statuses.map((c) => [c.id, c.state]));
    expect(states).toEqual({ [running]: 'CONTAINER_RUNNING', [created]: 'CONTAINER_CREATED' });
    await fixture.client.runtime.StopPodSandbox({ pod_sandbox_id: podId });
    await fixture.client.runtime.RemovePodSandbox({ pod_sandbox_id: podId });
  });

  test('a daemon that stops ends the open streams at once, with OK', async () => {
    const daemon = await TestDaemon.start();
    const stream = new EventStream(daemon.socket);
    try {
      await daemon.waitForLog(/container events subscriber joined/);
      const started = Date.now();
      await daemon.stop();
      // Well within the shutdown grace period (10 s) an unended call would hold the daemon for.
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await stream.ended).toBe(grpc.status.OK);
    } finally {
      stream.cancel();
      await daemon.stop();
    }
  }, 30_000);
});
