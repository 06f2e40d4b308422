/**
 * Container Device Interface devices over CRI: a spec file in the daemon's CDI directory, a
 * container asking for its device by CDI_devices (as the kubelet does for DRA) or by a device
 * plugin's cdi.k8s.io annotation, and what the container then has: the device node usable
 * through the device cgroup, the environment, the mount, and the hook run by the runtime.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { PodFixture } from './pod-fixture';

describe('CDI devices over CRI', () => {
  let fixture: PodFixture;
  let podId: string;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-cdi-'));
    const specs = path.join(dir, 'cdi');
    const data = path.join(dir, 'data');
    fs.mkdirSync(specs);
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(data, 'info'), 'from the vendor\n');
    fs.writeFileSync(
      path.join(specs, 'berth-test.yaml'),
      [
        'cdiVersion: "0.6.0"',
        'kind: berth.test/fake',
        'containerEdits:',
        '  mounts:',
        `    - hostPath: ${data}`,
        '      containerPath: /vendor',
        '      options: [ro, rbind]',
        '  hooks:',
        '    - hookName: createRuntime',
        '      path: /bin/sh',
        `      args: [sh, -c, "cat > ${path.join(dir, 'hook-state.json')}"]`,
        'devices:',
        '  - name: zero',
        '    containerEdits:',
        '      env: [FAKE_DEVICE=zero]',
        '      deviceNodes:',
        '        - path: /dev/fake-zero',
        '          hostPath: /dev/zero',
        '          permissions: rw',
        '  - name: fuse',
        '    containerEdits:',
        '      deviceNodes:',
        '        - path: /dev/fake-fuse',
        '          hostPath: /dev/fuse',
      ].join('\n'),
    );
    fixture = await PodFixture.start('cdi', {}, { cdi: { spec_dirs: ['/nonexistent/cdi', specs] } });
    podId = await fixture.runPod('cdi');
  }, 120_000);

  afterAll(async () => {
    await fixture?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const check = ['sh', '-c', 'head -c 3 /dev/fake-zero | od -An -tx1; echo $FAKE_DEVICE; cat /vendor/info'];

  test('CDI_devices: the node works, the env, the mount and the hook are there', async () => {
    const id = await fixture.run(podId, 'dra', ['sleep', '3600'], {
      CDI_devices: [{ name: 'berth.test/fake=zero' }],
    });
    expect(await fixture.exec(id, check)).toMatchObject({
      exitCode: 0,
      stdout: ' 00 00 00\nzero\nfrom the vendor\n',
    });
    // Another device of the spec, not asked for: not there, and the device cgroup refuses its
    // numbers (10:229 is in no default rule) even to a node made by hand.
    expect((await fixture.exec(id, ['test', '-e', '/dev/fake-fuse'])).exitCode).not.toBe(0);
    const refused = await fixture.exec(id, ['sh', '-c', 'mknod /tmp/fuse c 10 229 && exec 3<>/tmp/fuse']);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/Operation not permitted/);
    // createRuntime hooks get the container's state on stdin.
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'hook-state.json'), 'utf8'))).toMatchObject({ id });
    await fixture.client.runtime.RemoveContainer({ container_id: id });
  });

  test("a device plugin's cdi.k8s.io annotation asks for devices too; the cgroup lets their nodes be used", async () => {
    const id = await fixture.run(podId, 'plugin', ['sleep', '3600'], {
      annotations: { 'cdi.k8s.io/berth-test_fake': 'berth.test/fake=zero,berth.test/fake=fuse' },
    });
    expect(await fixture.exec(id, check)).toMatchObject({
      exitCode: 0,
      stdout: ' 00 00 00\nzero\nfrom the vendor\n',
    });
    expect(await fixture.exec(id, ['sh', '-c', 'exec 3<>/dev/fake-fuse && echo opened'])).toMatchObject({
      exitCode: 0,
      stdout: 'opened\n',
    });
    await fixture.client.runtime.RemoveContainer({ container_id: id });
  });

  test('a device no spec describes fails the create, naming it, and leaves nothing', async () => {
    await expect(
      fixture.create(podId, 'missing', ['true'], { CDI_devices: [{ name: 'berth.test/fake=one' }] }),
    ).rejects.toMatchObject({
      code: grpcStatus.FAILED_PRECONDITION,
      details: expect.stringContaining('unresolvable CDI devices: berth.test/fake=one'),
    });
    await expect(
      fixture.create(podId, 'malformed', ['true'], { CDI_devices: [{ name: 'fake-zero' }] }),
    ).rejects.toMatchObject({ code: grpcStatus.INVALID_ARGUMENT });
    const { containers } = await fixture.client.runtime.ListContainers({ filter: { pod_sandbox_id: podId } });
    expect(containers.map((c) => c.metadata?.name)).not.toContain('missing');
  });
});
