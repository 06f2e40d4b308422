/**
 * The pid namespace modes of CRI NamespaceOption (CONTAINER, POD, NODE, TARGET) and the pod's
 * shared IPC namespace, seen from inside the containers.
 */
import * as fs from 'node:fs';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { ContainerConfig } from '../api/generated/runtime/v1/ContainerConfig';
import type { NamespaceOption } from '../api/generated/runtime/v1/NamespaceOption';
import { PodFixture } from './pod-fixture';

describe('pid and IPC namespaces over CRI', () => {
  let fixture: PodFixture;

  const pidMode = (namespace_options: NamespaceOption): Partial<ContainerConfig> => ({
    linux: { resources: {}, security_context: { namespace_options } },
  });

  /** The namespace a container's processes are in, as /proc/self/ns/<kind> names it. */
  const nsOf = async (id: string, kind: 'pid' | 'ipc') =>
    (await fixture.exec(id, ['readlink', `/proc/self/ns/${kind}`])).stdout.trim();

  /** The command lines of the processes a container sees, by pid. */
  const processesSeenBy = async (id: string): Promise<Map<number, string>> => {
    const script = 'for p in /proc/[0-9]*; do echo "${p#/proc/} $(tr "\\0" " " < $p/cmdline)"; done';
    const { stdout } = await fixture.exec(id, ['sh', '-c', script]);
    const seen = new Map<number, string>();
    for (const line of stdout.trim().split('\n')) {
      const [pid, ...args] = line.trim().split(' ');
      seen.set(Number(pid), args.join(' '));
    }
    return seen;
  };

  const pausePidOf = async (podId: string): Promise<number> => {
    const { info } = await fixture.client.runtime.PodSandboxStatus({ pod_sandbox_id: podId, verbose: true });
    return (JSON.parse(info.info) as { pid: number }).pid;
  };

  beforeAll(async () => {
    fixture = await PodFixture.start('ns');
  }, 120_000);

  afterAll(() => fixture?.close());

  test('CONTAINER: the container has a pid namespace of its own, its process is PID 1', async () => {
    const pod = await fixture.runPod('pid-container');
    const id = await fixture.run(pod, 'own', ['sleep', '3600'], pidMode({ pid: 'CONTAINER' }));
    const seen = await processesSeenBy(id);
    expect(seen.get(1)).toBe('sleep 3600');
    expect([...seen.values()].filter((args) => args.startsWith('sleep'))).toEqual(['sleep 3600']);
    expect(await nsOf(id, 'pid')).not.toBe(fs.readlinkSync(`/proc/${await pausePidOf(pod)}/ns/pid`));
    expect(await nsOf(id, 'pid')).not.toBe(fs.readlinkSync('/proc/self/ns/pid'));
    await fixture.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod });
  });

  test("POD: the pod's containers see each other's processes, and the pause process is PID 1", async () => {
    const pod = await fixture.runPod('pid-pod', { namespace_options: { pid: 'POD' } });
    const a = await fixture.run(pod, 'a', ['sleep', '3601'], pidMode({ pid: 'POD' }));
    const b = await fixture.run(pod, 'b', ['sleep', '3602'], pidMode({ pid: 'POD' }));
    const pausePid = await pausePidOf(pod);
    const pauseComm = fs.readFileSync(`/proc/${pausePid}/comm`, 'utf8');
    expect((await fixture.exec(a, ['cat', '/proc/1/comm'])).stdout).toBe(pauseComm);
    const seenByA = [...(await processesSeenBy(a)).values()];
    expect(seenByA).toEqual(expect.arrayContaining(['sleep 3601', 'sleep 3602']));
    expect(await nsOf(a, 'pid')).toBe(await nsOf(b, 'pid'));
    expect(await nsOf(a, 'pid')).toBe(fs.readlinkSync(`/proc/${pausePid}/ns/pid`));
    await fixture.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod });
  });

  test("NODE: a host-pid pod's container is in the host's pid namespace and sees its processes", async () => {
    const pod = await fixture.runPod('pid-node', { namespace_options: { pid: 'NODE' } });
    const id = await fixture.run(pod, 'host', ['sleep', '3600'], pidMode({ pid: 'NODE' }));
    expect(await nsOf(id, 'pid')).toBe(fs.readlinkSync('/proc/self/ns/pid'));
    expect((await processesSeenBy(id)).has(process.pid)).toBe(true);
    await fixture.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod });
  });

  test("TARGET: a container joins another container's pid namespace; an unknown target is NotFound", async () => {
    const pod = await fixture.runPod('pid-target');
    const target = await fixture.run(pod, 'target', ['sleep', '3603'], pidMode({ pid: 'CONTAINER' }));
    const debug = await fixture.run(
      pod,
      'debug',
      ['sleep', '3604'],
      pidMode({ pid: 'TARGET', target_id: target }),
    );
    expect(await nsOf(debug, 'pid')).toBe(await nsOf(target, 'pid'));
    const seen = await processesSeenBy(debug);
    expect(seen.get(1)).toBe('sleep 3603');
    expect([...seen.values()]).toContain('sleep 3604');

    const before = (await fixture.client.runtime.ListContainers({})).containers.length;
    await expect(
      fixture.create(pod, 'orphan', ['true'], pidMode({ pid: 'TARGET', target_id: 'f'.repeat(64) })),
    ).rejects.toMatchObject({ code: grpcStatus.NOT_FOUND });
    await expect(
      fixture.create(pod, 'no-target', ['true'], pidMode({ pid: 'TARGET' })),
    ).rejects.toMatchObject({
      code: grpcStatus.INVALID_ARGUMENT,
    });
    expect((await fixture.client.runtime.ListContainers({})).containers.length).toBe(before);
    await fixture.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod });
  });

  test("the pod's containers share its IPC namespace and /dev/shm; another pod's do not", async () => {
    const pod = await fixture.runPod('ipc');
    const other = await fixture.runPod('ipc-other');
    const writer = await fixture.run(pod, 'writer', ['sleep', '3600']);
    const reader = await fixture.run(pod, 'reader', ['sleep', '3600']);
    const stranger = await fixture.run(other, 'stranger', ['sleep', '3600']);
    expect(await nsOf(writer, 'ipc')).toBe(await nsOf(reader, 'ipc'));
    expect(await nsOf(writer, 'ipc')).toBe(fs.readlinkSync(`/proc/${await pausePidOf(pod)}/ns/ipc`));
    expect(await nsOf(writer, 'ipc')).not.toBe(await nsOf(stranger, 'ipc'));
    expect(await nsOf(writer, 'ipc')).not.toBe(fs.readlinkSync('/proc/self/ns/ipc'));
    expect(await fixture.exec(writer, ['sh', '-c', 'echo shared > /dev/shm/note'])).toMatchObject({
      exitCode: 0,
    });
    expect(await fixture.exec(reader, ['cat', '/dev/shm/note'])).toMatchObject({
      exitCode: 0,
      stdout: 'shared\n',
    });
    expect((await fixture.exec(stranger, ['cat', '/dev/shm/note'])).exitCode).not.toBe(0);
    for (const id of [pod, other]) await fixture.client.runtime.RemovePodSandbox({ pod_sandbox_id: id });
  });
});
