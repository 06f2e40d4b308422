import * as fs from 'node:fs';
import * as path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { ContainerConfig } from '../api/generated/runtime/v1/ContainerConfig';
import { mountsUnder } from '../common/testing/kernel';
import { connectCri } from './cri-client';
import { spawnDaemon, type TestDaemon } from './harness';
import { eventually, PodFixture } from './pod-fixture';

describe('containers over CRI', () => {
  let fixture: PodFixture;
  let daemon: TestDaemon;
  let image: string;
  let entrypointImage: string;
  let logDir: string;
  let podId: string;
  let podCount = 0;

  const containerConfig = (name: string, command: string[], extra: Partial<ContainerConfig> = {}) =>
    fixture.containerConfig(name, command, extra);

  /** Creates and starts a container in the shared pod; returns its ID. */
  const run = (name: string, command: string[], extra: Partial<ContainerConfig> = {}): Promise<string> =>
    fixture.run(podId, name, command, extra);

  const statusOf = (id: string) => fixture.status(id);

  beforeAll(async () => {
    fixture = await PodFixture.start('ctr', {
      entry: {
        config: {
          Entrypoint: ['/bin/echo', 'from-entrypoint'],
          Cmd: ['default-arg'],
          Env: ['PATH=/bin', 'FROM_IMAGE=yes'],
          WorkingDir: '/tmp',
        },
      },
    });
    daemon = fixture.daemon;
    image = fixture.images.busybox;
    entrypointImage = fixture.images.entry;
    logDir = fixture.logDir;
    podId = await fixture.runPod('main');
  }, 120_000);

  afterAll(() => fixture?.close());

  test('a container runs, logs in the CRI format, answers ExecSync, stops and is removed', async () => {
    const id = await run('web', ['sh', '-c', 'echo hello; echo oops >&2; exec sleep 3600']);
    const running = await statusOf(id);
    expect(running).toMatchObject({
      id,
      state: 'CONTAINER_RUNNING',
      image: { image },
      labels: { container: 'web' },
    });
    expect(running.image_ref).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(running.image_id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(running.log_path).toBe(path.join(logDir, 'main', 'web.log'));

    const log = await eventually(
      async () => fs.readFileSync(running.log_path, 'utf8'),
      (text) => text.includes('oops'),
    );
    expect(log).toMatch(/^\S+Z stdout F hello$/m);
    expect(log).toMatch(/^\S+Z stderr F oops$/m);

    const echo = await daemon.client.runtime.ExecSync({ container_id: id, cmd: ['echo', 'hi'], timeout: 10 });
    expect(echo).toMatchObject({ exit_code: 0 });
    expect(Buffer.from(echo.stdout).toString()).toBe('hi\n');
    const failing = await daemon.client.runtime.ExecSync({
      container_id: id,
      cmd: ['sh', '-c', 'echo e >&2; exit 3'],
    });
    expect(failing.exit_code).toBe(3);
    expect(Buffer.from(failing.stderr).toString()).toBe('e\n');
    await expect(
      daemon.client.runtime.ExecSync({ container_id: id, cmd: ['sleep', '30'], timeout: 1 }),
    ).rejects.toMatchObject({ code: grpcStatus.DEADLINE_EXCEEDED });

    // sleep as PID 1 of its pid namespace ignores SIGTERM: SIGKILL after the timeout.
    const started = Date.now();
    await daemon.client.runtime.StopContainer({ container_id: id, timeout: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await statusOf(id)).toMatchObject({ state: 'CONTAINER_EXITED', exit_code: 137, reason: 'Error' });
    await daemon.client.runtime.StopContainer({ container_id: id, timeout: 1 }); // idempotent
    await expect(daemon.client.runtime.ExecSync({ container_id: id, cmd: ['true'] })).rejects.toMatchObject({
      code: grpcStatus.FAILED_PRECONDITION,
    });

    const { info } = await daemon.client.runtime.ContainerStatus({ container_id: id, verbose: true });
    const bundle = JSON.parse(info.info).bundle;
    await daemon.client.runtime.RemoveContainer({ container_id: id });
    await daemon.client.runtime.RemoveContainer({ container_id: id }); // idempotent
    expect(mountsUnder(bundle)).toEqual([]);
    expect(fs.existsSync(bundle)).toBe(false);
    expect(fs.existsSync(running.log_path)).toBe(true); // logs stay until the pod goes
    await expect(daemon.client.runtime.ContainerStatus({ container_id: id })).rejects.toMatchObject({
      code: grpcStatus.NOT_FOUND,
    });
  });

  test('a trapped SIGTERM ends the container gracefully, before the timeout', async () => {
    const id = await run('graceful', ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done']);
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the shell install its trap
    const started = Date.now();
    await daemon.client.runtime.StopContainer({ container_id: id, timeout: 20 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await statusOf(id)).toMatchObject({
      state: 'CONTAINER_EXITED',
      exit_code: 0,
      reason: 'Completed',
    });
    await daemon.client.runtime.RemoveContainer({ container_id: id });
  });

  test('exit codes and reasons: Completed, Error, OOMKilled', async () => {
    const ok = await run('ok', ['true']);
    const bad = await run('bad', ['sh', '-c', 'exit 3']);
    const oom = await run('oom', ['sh', '-c', 'tail /dev/zero'], {
      linux: {
        resources: { memory_limit_in_bytes: 32 * 1024 * 1024 },
        security_context: { namespace_options: { pid: 'CONTAINER' } },
      },
    });
    const exited = (id: string) =>
      eventually(
        () => statusOf(id),
        (s) => s.state === 'CONTAINER_EXITED',
        20_000,
      );
    expect(await exited(ok)).toMatchObject({ exit_code: 0, reason: 'Completed' });
    expect(await exited(bad)).toMatchObject({ exit_code: 3, reason: 'Error' });
    expect(await exited(oom)).toMatchObject({ exit_code: 137, reason: 'OOMKilled' });
    const finished = await statusOf(ok);
    expect(BigInt(finished.finished_at)).toBeGreaterThanOrEqual(BigInt(finished.started_at));
    for (const id of [ok, bad, oom]) await daemon.client.runtime.RemoveContainer({ container_id: id });
  });

  test('the image entrypoint, cmd, env and working dir apply, and CRI args replace cmd', async () => {
    const id = (
      await daemon.client.runtime.CreateContainer({
        pod_sandbox_id: podId,
        config: {
          metadata: { name: 'entry', attempt: 0 },
          image: { image: entrypointImage },
          args: ['given-arg'],
          envs: [{ key: 'FROM_CRI', value: Buffer.from('yes') }],
          log_path: 'entry.log',
        },
      })
    ).container_id;
    await daemon.client.runtime.StartContainer({ container_id: id });
    const status = await eventually(
      () => statusOf(id),
      (s) => s.state === 'CONTAINER_EXITED',
    );
    expect(fs.readFileSync(status.log_path, 'utf8')).toMatch(/stdout F from-entrypoint given-arg$/m);
    await daemon.client.runtime.RemoveContainer({ container_id: id });

    const envId = await run('env', ['sh', '-c', 'echo "$FROM_IMAGE $FROM_CRI $(pwd) $(hostname)"'], {
      image: { image: entrypointImage },
      envs: [{ key: 'FROM_CRI', value: Buffer.from('cri') }],
    });
    const envStatus = await eventually(
      () => statusOf(envId),
      (s) => s.state === 'CONTAINER_EXITED',
    );
    expect(fs.readFileSync(envStatus.log_path, 'utf8')).toMatch(/stdout F yes cri \/tmp main$/m);
    await daemon.client.runtime.RemoveContainer({ container_id: envId });
  });

  test('containers of a pod share its network namespace; users and groups apply', async () => {
    const a = await run('net-a', ['sleep', '3600'], {
      linux: {
        security_context: {
          namespace_options: { pid: 'CONTAINER' },
          run_as_user: { value: 1000 },
          supplemental_groups: [5],
        },
      },
    });
    const b = await run('net-b', ['sleep', '3600']);
    const netns = async (id: string) =>
      Buffer.from(
        (await daemon.client.runtime.ExecSync({ container_id: id, cmd: ['readlink', '/proc/self/ns/net'] }))
          .stdout,
      ).toString();
    expect(await netns(a)).toBe(await netns(b));
    const pod = await daemon.client.runtime.PodSandboxStatus({ pod_sandbox_id: podId, verbose: true });
    const pausePid = JSON.parse(pod.info.info).pid;
    expect((await netns(a)).trim()).toBe(fs.readlinkSync(`/proc/${pausePid}/ns/net`));
    const id = await daemon.client.runtime.ExecSync({ container_id: a, cmd: ['id'] });
    const ids = Buffer.from(id.stdout).toString().trim();
    expect(ids).toMatch(/^uid=1000\(user\) gid=1000\(user\) groups=/);
    expect(
      ids
        .replace(/.*groups=/, '')
        .split(',')
        .sort(),
    ).toEqual(['1000(user)', '5(tty)']);
    for (const c of [a, b]) await daemon.client.runtime.RemoveContainer({ container_id: c });
  });

  test('ListContainers filters, and UpdateContainerResources reaches the cgroup', async () => {
    const one = await run('list-one', ['sleep', '3600']);
    const two = await daemon.client.runtime.CreateContainer({
      pod_sandbox_id: podId,
      config: containerConfig('list-two', ['sleep', '3600']),
    });
    const ids = async (filter: object) =>
      (await daemon.client.runtime.ListContainers({ filter })).containers.map((c) => c.id).sort();
    expect(await ids({ id: one.slice(0, 8) })).toEqual([one]);
    expect(await ids({ state: { state: 'CONTAINER_CREATED' } })).toEqual([two.container_id]);
    expect(await ids({ label_selector: { container: 'list-one' } })).toEqual([one]);
    expect(await ids({ pod_sandbox_id: podId.slice(0, 10), state: { state: 'CONTAINER_RUNNING' } })).toEqual([
      one,
    ]);

    await daemon.client.runtime.UpdateContainerResources({
      container_id: one,
      linux: { cpu_shares: 512, memory_limit_in_bytes: 64 * 1024 * 1024 },
    });
    const { info } = await daemon.client.runtime.ContainerStatus({ container_id: one, verbose: true });
    const cgroup = JSON.parse(info.info).cgroupsPath;
    expect(fs.readFileSync(`/sys/fs/cgroup/cpu${cgroup}/cpu.shares`, 'utf8').trim()).toBe('512');
    expect(fs.readFileSync(`/sys/fs/cgroup/memory${cgroup}/memory.limit_in_bytes`, 'utf8').trim()).toBe(
      String(64 * 1024 * 1024),
    );
    expect((await statusOf(one)).resources?.linux?.cpu_shares).toBe('512');
    for (const c of [one, two.container_id]) await daemon.client.runtime.RemoveContainer({ container_id: c });
  });

  test('bad requests get the right codes and leave nothing behind', async () => {
    const before = (await daemon.client.runtime.ListContainers({})).containers.length;
    await expect(
      daemon.client.runtime.CreateContainer({
        pod_sandbox_id: 'f'.repeat(64),
        config: containerConfig('x', ['true']),
      }),
    ).rejects.toMatchObject({ code: grpcStatus.NOT_FOUND });
    await expect(
      daemon.client.runtime.CreateContainer({
        pod_sandbox_id: podId,
        config: { ...containerConfig('y', ['true']), image: { image: 'nowhere.invalid/none:1' } },
      }),
    ).rejects.toMatchObject({ code: grpcStatus.NOT_FOUND });
    const dup = await daemon.client.runtime.CreateContainer({
      pod_sandbox_id: podId,
      config: containerConfig('dup', ['true']),
    });
    await expect(
      daemon.client.runtime.CreateContainer({
        pod_sandbox_id: podId,
        config: containerConfig('dup', ['true']),
      }),
    ).rejects.toMatchObject({
      code: grpcStatus.ALREADY_EXISTS,
      details: expect.stringContaining(dup.container_id),
    });
    // An image without entrypoint or cmd, and no command: nothing to run.
    await expect(
      daemon.client.runtime.CreateContainer({
        pod_sandbox_id: podId,
        config: { ...containerConfig('nothing', []), image: { image }, command: [], args: [] },
      }),
    ).resolves.toBeDefined(); // busybox's image has Cmd /bin/sh, so this is valid
    expect((await daemon.client.runtime.ListContainers({})).containers.length).toBe(before + 2);
    for (const c of (await daemon.client.runtime.ListContainers({})).containers) {
      if (c.metadata?.name === 'dup' || c.metadata?.name === 'nothing') {
        await daemon.client.runtime.RemoveContainer({ container_id: c.id });
      }
    }
  });

  test('a daemon kill -9 loses nothing: running containers run on, exits meanwhile are recorded', async () => {
    const survivor = await run('survivor', ['sleep', '3600']);
    const quitter = await run('quitter', ['sh', '-c', 'read line; exit 7'], {
      stdin: true,
      stdin_once: true,
    });
    daemon.child.kill('SIGKILL');
    await daemon.waitExit();
    // While the daemon is away, the quitter's process ends.
    const quitterStatus = JSON.parse(
      fs.readFileSync(path.join(daemon.dir, 'root', 'containers', quitter, 'container.json'), 'utf8'),
    );
    process.kill(quitterStatus.pid, 'SIGKILL');

    const second = spawnDaemon(['--config', daemon.configFile]);
    const exited = new Promise((resolve) => second.once('exit', resolve));
    const client = connectCri(daemon.socket);
    try {
      await eventually(
        () =>
          client.runtime.Version({}, { timeoutMs: 500 }).then(
            () => true,
            () => false,
          ),
        (up) => up,
      );
      const s = (id: string) => client.runtime.ContainerStatus({ container_id: id }).then((r) => r.status!);
      expect(await s(survivor)).toMatchObject({ state: 'CONTAINER_RUNNING' });
      expect(
        await eventually(
          () => s(quitter),
          (st) => st.state === 'CONTAINER_EXITED',
        ),
      ).toMatchObject({
        exit_code: 137,
      });
      await client.runtime.StopContainer({ container_id: survivor, timeout: 0 });
      expect(await s(survivor)).toMatchObject({ state: 'CONTAINER_EXITED' });
      for (const id of [survivor, quitter]) await client.runtime.RemoveContainer({ container_id: id });
      await client.runtime.RemovePodSandbox({ pod_sandbox_id: podId });
    } finally {
      client.close();
      second.kill('SIGTERM');
      await exited;
    }
    podCount++;
    expect(podCount).toBe(1);
  });
});
