/**
 * A container's life around its process: a terminal's output in the CRI log, what removal
 * leaves behind (nothing: mounts, cgroups, monitor, runtime state), a pod's removal taking its
 * containers along, and a request with nothing to run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { cgroupDirs, mountsUnder } from '../common/testing/kernel';
import { PodFixture } from './pod-fixture';

/** Whether a process runs (a zombie does not: it only waits for its parent to reap it). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

interface Traces {
  bundle: string;
  cgroupsPath: string;
  pid: number;
  monitorPid: number;
  runtimeState: string;
  record: string;
}

describe('container lifecycle over CRI', () => {
  let fixture: PodFixture;
  let podId: string;

  /** Where a container leaves marks on the host, from its verbose status. */
  const tracesOf = async (id: string): Promise<Traces> => {
    const info = (await fixture.info(id)) as Record<string, string | number>;
    return {
      bundle: info.bundle as string,
      cgroupsPath: info.cgroupsPath as string,
      pid: info.pid as number,
      monitorPid: info.monitorPid as number,
      runtimeState: path.join(info.runtimeRoot as string, id),
      record: path.join(fixture.daemon.dir, 'root', 'containers', id),
    };
  };

  const expectNothingLeft = (t: Traces) => {
    expect(mountsUnder(t.bundle)).toEqual([]);
    expect(fs.existsSync(t.bundle)).toBe(false);
    expect(cgroupDirs(t.cgroupsPath)).toEqual([]);
    expect(running(t.pid)).toBe(false);
    expect(running(t.monitorPid)).toBe(false);
    expect(fs.existsSync(t.runtimeState)).toBe(false);
    expect(fs.existsSync(t.record)).toBe(false);
  };

  beforeAll(async () => {
    fixture = await PodFixture.start('life', { nothing: { config: { Entrypoint: null, Cmd: null } } });
    podId = await fixture.runPod('life');
  }, 120_000);

  afterAll(() => fixture?.close());

  test('a tty container: its terminal output, stdout and stderr alike, goes to the log', async () => {
    const id = await fixture.run(
      podId,
      'tty',
      ['sh', '-c', 'tty; test -t 1 && echo is-a-terminal; echo to-stderr >&2'],
      {
        tty: true,
      },
    );
    await fixture.exited(id);
    // A read of the terminal may end inside a line: the monitor then writes a P piece first.
    const stdout = (await fixture.logLines(id, 'stdout')).join('\n');
    expect(stdout).toMatch(/^\/dev\/pts\/\d+\r?$/m);
    expect(stdout).toMatch(/^is-a-terminal\r?$/m);
    expect(stdout).toMatch(/^to-stderr\r?$/m);
    expect(await fixture.logLines(id, 'stderr')).toEqual([]);
    await fixture.client.runtime.RemoveContainer({ container_id: id });
  });

  test('removing a stopped container leaves no mount, cgroup, monitor, runtime state or record', async () => {
    const id = await fixture.run(podId, 'removed', ['sleep', '3600']);
    const traces = await tracesOf(id);
    expect(cgroupDirs(traces.cgroupsPath).length).toBeGreaterThan(0);
    expect(running(traces.monitorPid)).toBe(true);
    expect(fs.existsSync(traces.runtimeState)).toBe(true);
    await fixture.client.runtime.StopContainer({ container_id: id, timeout: 0 });
    await fixture.client.runtime.RemoveContainer({ container_id: id });
    expectNothingLeft(traces);
  });

  test('removing a pod removes its containers, running and created, and everything they held', async () => {
    const pod = await fixture.runPod('doomed');
    const runningId = await fixture.run(pod, 'running', ['sleep', '3600']);
    const createdId = await fixture.create(pod, 'created', ['sleep', '3600']);
    const traces = [await tracesOf(runningId), await tracesOf(createdId)];
    await fixture.client.runtime.StopPodSandbox({ pod_sandbox_id: pod });
    await fixture.client.runtime.RemovePodSandbox({ pod_sandbox_id: pod });
    expect(
      (await fixture.client.runtime.ListContainers({ filter: { pod_sandbox_id: pod } })).containers,
    ).toEqual([]);
    for (const id of [runningId, createdId]) {
      await expect(fixture.client.runtime.ContainerStatus({ container_id: id })).rejects.toMatchObject({
        code: grpcStatus.NOT_FOUND,
      });
    }
    for (const t of traces) expectNothingLeft(t);
  });

  test('no command and an image with neither entrypoint nor cmd is InvalidArgument, leaving nothing', async () => {
    const containersDir = path.join(fixture.daemon.dir, 'run', 'containers');
    const before = fs.existsSync(containersDir) ? fs.readdirSync(containersDir) : [];
    await expect(
      fixture.create(podId, 'nothing', [], { image: { image: fixture.images.nothing } }),
    ).rejects.toMatchObject({
      code: grpcStatus.INVALID_ARGUMENT,
      details: expect.stringMatching(/no command/),
    });
    expect(fs.existsSync(containersDir) ? fs.readdirSync(containersDir) : []).toEqual(before);
    // The name is free again: the same request with a command succeeds.
    const id = await fixture.create(podId, 'nothing', ['true'], { image: { image: fixture.images.nothing } });
    await fixture.client.runtime.RemoveContainer({ container_id: id });
  });
});
