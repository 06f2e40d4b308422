import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { loadCriV1alpha2 } from '../api/v1alpha2';
import { connectCri, type CriClient } from './cri-client';
import { TestDaemon } from './harness';
import { removeCgroups } from '../common/testing/kernel';
import { startRegistry, type TestRegistry } from '../image/test-registry';
import { pushBusybox } from './test-images';

describe('CRI v1alpha2 beside v1 on one socket', () => {
  let daemon: TestDaemon;
  let old: CriClient;
  beforeAll(async () => {
    daemon = await TestDaemon.start({ config: { default_runtime: 'runc' } });
    old = connectCri(daemon.socket, 'v1alpha2');
  });
  afterAll(async () => {
    old?.close();
    await daemon?.stop();
  });

  test('Version over v1alpha2 reports the v1alpha2 API; over v1, v1', async () => {
    const [a, b] = await Promise.all([
      old.runtime.Version({ version: '0.1.0' }),
      daemon.client.runtime.Version({}),
    ]);
    expect(a).toMatchObject({ runtime_name: 'berth', runtime_api_version: 'v1alpha2' });
    expect(b).toMatchObject({ runtime_name: 'berth', runtime_api_version: 'v1' });
    expect(a.runtime_version).toBe(b.runtime_version);
  });

  test('Status answers the same over both APIs and lists both API versions', async () => {
    const [a, b] = await Promise.all([
      old.runtime.Status({ verbose: true }),
      daemon.client.runtime.Status({ verbose: true }),
    ]);
    expect(a.status).toEqual(b.status);
    expect(JSON.parse(a.info.apiVersions)).toEqual(['v1', 'v1alpha2']);
  });

  test('ListPodSandbox and ListImages get the same answer over both APIs', async () => {
    for (const call of [
      (c: CriClient) => c.runtime.ListPodSandbox({}),
      (c: CriClient) => c.image.ListImages({}),
    ]) {
      const [a, b] = await Promise.allSettled([call(old), call(daemon.client)]);
      if (a.status === 'fulfilled' && b.status === 'fulfilled') {
        expect(a.value).toEqual(b.value);
      } else {
        expect(a.status).toBe('rejected');
        expect(b.status).toBe('rejected');
        const [ea, eb] = [(a as PromiseRejectedResult).reason, (b as PromiseRejectedResult).reason];
        expect(ea.code).toBe(eb.code);
        expect(ea.details.replace('v1alpha2', 'v1')).toBe(eb.details);
      }
    }
  });

  test('many calls over both APIs at once all succeed', async () => {
    const calls = Array.from({ length: 40 }, (_, i) =>
      (i % 2 ? old : daemon.client).runtime.Version({}).then((v) => v.runtime_api_version),
    );
    const versions = await Promise.all(calls);
    expect(versions.filter((v) => v === 'v1alpha2')).toHaveLength(20);
    expect(versions.filter((v) => v === 'v1')).toHaveLength(20);
  });

  test('a method v1alpha2 never had is not offered under v1alpha2', async () => {
    const definition = loadCriV1alpha2().RuntimeService.service;
    expect(definition).not.toHaveProperty('RuntimeConfig');
    await expect(daemon.client.runtime.RuntimeConfig({})).resolves.toBeDefined();
  });
});

describe('v1alpha2 switched off', () => {
  test('v1alpha2 calls are refused while v1 keeps working', async () => {
    const daemon = await TestDaemon.start({ config: { enable_v1alpha2: false } });
    const old = connectCri(daemon.socket, 'v1alpha2');
    try {
      await expect(old.runtime.Version({})).rejects.toMatchObject({ code: grpcStatus.UNIMPLEMENTED });
      await expect(daemon.client.runtime.Version({})).resolves.toMatchObject({ runtime_api_version: 'v1' });
      const status = await daemon.client.runtime.Status({ verbose: true });
      expect(JSON.parse(status.info.apiVersions)).toEqual(['v1']);
    } finally {
      old.close();
      await daemon.stop();
    }
  });
});

describe('a pod and a container through their whole lifecycle over v1alpha2', () => {
  const CGROUP_PARENT = `/berth-e2e-v1alpha2-${process.pid}`;
  let registry: TestRegistry;
  let daemon: TestDaemon;
  let old: CriClient;
  let logDir: string;

  beforeAll(async () => {
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-logs-'));
    registry = await startRegistry();
    daemon = await TestDaemon.start();
    old = connectCri(daemon.socket, 'v1alpha2');
  }, 60_000);

  afterAll(async () => {
    old?.close();
    await daemon?.stop();
    await registry?.stop();
    removeCgroups(CGROUP_PARENT);
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  test('pull, run, exec, stop and remove over v1alpha2, seen the same over v1', async () => {
    const image = await pushBusybox(registry, 'v1alpha2/busybox', 'latest');
    const pulled = await old.image.PullImage({ image: { image } });
    expect(pulled.image_ref).toMatch(/^sha256:/);
    expect((await daemon.client.image.ImageStatus({ image: { image } })).image?.id).toBe(pulled.image_ref);

    const podConfig = {
      metadata: { name: 'legacy', namespace: 'e2e', uid: 'uid-legacy', attempt: 0 },
      log_directory: logDir,
      linux: {
        cgroup_parent: CGROUP_PARENT,
        security_context: { namespace_options: { network: 'NODE' as const, pid: 'CONTAINER' as const } },
      },
    };
    const { pod_sandbox_id: podId } = await old.runtime.RunPodSandbox({ config: podConfig });
    expect((await daemon.client.runtime.PodSandboxStatus({ pod_sandbox_id: podId })).status?.state).toBe(
      'SANDBOX_READY',
    );

    // A v1alpha2 client sends env values as strings; they arrive intact (see api/v1alpha2.ts).
    const { container_id: id } = await old.runtime.CreateContainer({
      pod_sandbox_id: podId,
      config: {
        metadata: { name: 'app', attempt: 0 },
        image: { image },
        command: ['sh', '-c', 'echo "greeting=$GREETING"; exec sleep 3600'],
        envs: [{ key: 'GREETING', value: Buffer.from('grüße') }],
        log_path: 'app.log',
        linux: { security_context: { namespace_options: { pid: 'CONTAINER' } } },
      },
      sandbox_config: podConfig,
    });
    await old.runtime.StartContainer({ container_id: id });
    const status = (await old.runtime.ContainerStatus({ container_id: id })).status!;
    expect(status.state).toBe('CONTAINER_RUNNING');
    const listed = await daemon.client.runtime.ListContainers({ filter: { pod_sandbox_id: podId } });
    expect(listed.containers.map((c) => [c.id, c.state])).toEqual([[id, 'CONTAINER_RUNNING']]);

    const exec = await old.runtime.ExecSync({
      container_id: id,
      cmd: ['sh', '-c', 'echo $GREETING'],
      timeout: 10,
    });
    expect(exec.exit_code).toBe(0);
    expect(Buffer.from(exec.stdout).toString()).toBe('grüße\n');
    for (let i = 0; i < 50 && !fs.readFileSync(status.log_path, 'utf8').includes('greeting'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(fs.readFileSync(status.log_path, 'utf8')).toMatch(/stdout F greeting=grüße$/m);

    await old.runtime.StopContainer({ container_id: id, timeout: 0 });
    expect((await old.runtime.ContainerStatus({ container_id: id })).status?.state).toBe('CONTAINER_EXITED');
    await old.runtime.RemoveContainer({ container_id: id });
    await old.runtime.StopPodSandbox({ pod_sandbox_id: podId });
    await old.runtime.RemovePodSandbox({ pod_sandbox_id: podId });
    expect((await daemon.client.runtime.ListPodSandbox({})).items).toEqual([]);
    expect((await old.runtime.ListContainers({})).containers).toEqual([]);
  });
});
