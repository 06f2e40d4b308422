import { status as grpcStatus } from '@grpc/grpc-js';
import { loadCriV1alpha2 } from '../api/v1alpha2';
import { connectCri, type CriClient } from './cri-client';
import { TestDaemon } from './harness';

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
