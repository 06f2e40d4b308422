import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCdiRegistry, parseQualifiedName, requestedCdiDevices, resolveCdiDevices } from './cdi';
import { buildContainerSpec } from './spec/container-spec';
import { containerConfig, lookups, specInput } from './spec/test-input';

describe('CDI spec files', () => {
  let etc: string;
  let run: string;
  const write = (dir: string, name: string, doc: unknown) =>
    fs.writeFileSync(path.join(dir, name), typeof doc === 'string' ? doc : JSON.stringify(doc));

  beforeEach(() => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cdi-'));
    etc = path.join(root, 'etc');
    run = path.join(root, 'run');
    fs.mkdirSync(etc);
    fs.mkdirSync(run);
  });
  afterEach(() => fs.rmSync(path.dirname(etc), { recursive: true, force: true }));

  test('qualified names: vendor.com/class=name', () => {
    expect(parseQualifiedName('nvidia.com/gpu=0')).toEqual({ kind: 'nvidia.com/gpu', device: '0' });
    expect(parseQualifiedName('vendor.example/fpga_v2=card-1:a')).toEqual({
      kind: 'vendor.example/fpga_v2',
      device: 'card-1:a',
    });
    for (const bad of [
      'gpu0',
      'vendor.com/gpu',
      'vendor.com/gpu/x=0',
      'Vendor.com/gpu=0',
      'vendor.com/gpu=',
      'vendor.com/gpu=-a',
    ]) {
      expect(parseQualifiedName(bad)).toBeUndefined();
    }
  });

  test('JSON and YAML files; a later directory wins; broken and conflicting files are reported', async () => {
    write(etc, 'vendor.json', {
      cdiVersion: '0.6.0',
      kind: 'vendor.com/gpu',
      devices: [
        { name: 'a', containerEdits: { env: ['FROM=etc'] } },
        { name: 'b', containerEdits: { env: ['B=1'] } },
      ],
    });
    write(
      run,
      'vendor.yaml',
      [
        'cdiVersion: "0.7.0"',
        'kind: vendor.com/gpu',
        'devices:',
        '  - name: a',
        '    containerEdits:',
        '      env: ["FROM=run"]',
      ].join('\n'),
    );
    write(run, 'broken.json', '{"cdiVersion": ');
    write(run, 'nameless.json', { cdiVersion: '0.6.0', kind: 'vendor.com/x', devices: [{}] });
    write(run, 'twice-1.json', { cdiVersion: '0.6.0', kind: 'vendor.com/dup', devices: [{ name: 'd' }] });
    write(run, 'twice-2.json', { cdiVersion: '0.6.0', kind: 'vendor.com/dup', devices: [{ name: 'd' }] });
    write(run, 'notes.txt', 'not a spec');

    const registry = await loadCdiRegistry([etc, run, path.join(etc, 'missing')]);
    expect([...registry.devices.keys()].sort()).toEqual(['vendor.com/gpu=a', 'vendor.com/gpu=b']);
    expect(registry.devices.get('vendor.com/gpu=a')!.edits).toEqual([{ env: ['FROM=run'] }]);
    expect(registry.errors).toEqual([
      expect.stringMatching(/broken\.json: /),
      expect.stringMatching(/nameless\.json: devices\[0\] has no valid name/),
      expect.stringMatching(/more than one spec file describes vendor\.com\/dup=d/),
    ]);

    expect(() => resolveCdiDevices(['vendor.com/gpu=a', 'vendor.com/dup=d'], registry)).toThrow(
      expect.objectContaining({
        code: 'FAILED_PRECONDITION',
        message: expect.stringMatching(/unresolvable CDI devices: vendor\.com\/dup=d \(spec errors: /),
      }),
    );
    expect(() => resolveCdiDevices(['gpu0'], registry)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  test('devices asked for by CDI_devices and by cdi.k8s.io annotations, each once', () => {
    expect(
      requestedCdiDevices([{ name: 'vendor.com/gpu=a' }], {
        'cdi.k8s.io/plugin_gpu': 'vendor.com/gpu=b, vendor.com/gpu=a',
        'other/key': 'vendor.com/gpu=c',
      }),
    ).toEqual(['vendor.com/gpu=a', 'vendor.com/gpu=b']);
  });

  test('the edits land in the spec: env, nodes with their cgroup rule, mounts, hooks, groups', async () => {
    write(etc, 'vendor.json', {
      cdiVersion: '0.6.0',
      kind: 'vendor.com/gpu',
      containerEdits: {
        env: ['VENDOR_DRIVER=1'],
        mounts: [{ hostPath: '/opt/vendor/lib', containerPath: '/usr/lib/vendor', options: ['ro', 'rbind'] }],
        hooks: [{ hookName: 'createContainer', path: '/opt/vendor/bin/hook', args: ['hook', 'setup'] }],
      },
      devices: [
        {
          name: 'a',
          containerEdits: {
            env: ['PATH=/vendor/bin', 'GPU=a'],
            deviceNodes: [{ path: '/dev/vendor0', hostPath: '/dev/zero', permissions: 'rw' }],
            additionalGids: [0, 44],
          },
        },
        {
          name: 'b',
          containerEdits: { deviceNodes: [{ path: '/dev/vendor1', type: 'c', major: 240, minor: 1 }] },
        },
      ],
    });
    const registry = await loadCdiRegistry([etc]);
    const spec = buildContainerSpec(
      specInput({
        config: containerConfig({ envs: [{ key: 'PATH', value: Buffer.from('/bin') }] }),
        lookups: lookups({
          statDevice: (p) =>
            p === '/dev/zero' ? { type: 'c', major: 1, minor: 5, fileMode: 0o666 } : undefined,
        }),
        cdiDevices: resolveCdiDevices(['vendor.com/gpu=a', 'vendor.com/gpu=b'], registry),
      }),
    );
    expect(spec.process.env.filter((e) => /^(PATH|GPU|VENDOR_DRIVER)=/.test(e))).toEqual([
      'PATH=/vendor/bin',
      'VENDOR_DRIVER=1',
      'GPU=a',
    ]);
    expect(spec.linux.devices).toEqual(
      expect.arrayContaining([
        { path: '/dev/vendor0', type: 'c', major: 1, minor: 5 },
        { path: '/dev/vendor1', type: 'c', major: 240, minor: 1 },
      ]),
    );
    expect(spec.linux.resources!.devices!.slice(-2)).toEqual([
      { allow: true, type: 'c', major: 1, minor: 5, access: 'rw' },
      { allow: true, type: 'c', major: 240, minor: 1, access: 'rwm' },
    ]);
    // The spec's common edits come once, though two of its devices were asked for.
    expect(spec.mounts.filter((m) => m.destination === '/usr/lib/vendor')).toEqual([
      { destination: '/usr/lib/vendor', source: '/opt/vendor/lib', options: ['ro', 'rbind'] },
    ]);
    expect(spec.hooks).toEqual({
      createContainer: [{ path: '/opt/vendor/bin/hook', args: ['hook', 'setup'] }],
    });
    // 44 is added to the user's own groups; CDI's 0 is ignored, as the spec says.
    const own = buildContainerSpec(specInput()).process.user.additionalGids ?? [];
    expect(spec.process.user.additionalGids).toEqual([...own, 44]);
  });

  test('a device node missing on the host, or a hook at an unknown point, fails the spec', async () => {
    write(etc, 'vendor.json', {
      cdiVersion: '0.6.0',
      kind: 'vendor.com/gpu',
      devices: [
        { name: 'gone', containerEdits: { deviceNodes: [{ path: '/dev/vendor9' }] } },
        { name: 'hook', containerEdits: { hooks: [{ hookName: 'whenever', path: '/bin/true' }] } },
      ],
    });
    const registry = await loadCdiRegistry([etc]);
    const build = (name: string) => () =>
      buildContainerSpec(specInput({ cdiDevices: resolveCdiDevices([name], registry) }));
    expect(build('vendor.com/gpu=gone')).toThrow(/device node \/dev\/vendor9 does not exist on the host/);
    expect(build('vendor.com/gpu=hook')).toThrow(/unknown hook "whenever"/);
  });
});
