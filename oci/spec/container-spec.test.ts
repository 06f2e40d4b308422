import { InvalidArgumentError } from '../../common/errors';
import { DEFAULT_CAPABILITIES, LINUX_CAPABILITIES } from './capabilities';
import { ANNOTATIONS, buildContainerSpec } from './container-spec';
import { DEFAULT_PATH_ENV } from './process';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from './security';
import { containerConfig, criMountConfig, lookups, resources, sandboxInfo, specInput } from './test-input';

describe('buildContainerSpec', () => {
  test('a plain container: every part in place', () => {
    const spec = buildContainerSpec(
      specInput({
        config: containerConfig({
          command: ['/bin/sh'],
          args: ['-c', 'sleep 1'],
          envs: [{ key: 'A', value: Buffer.from('1') }],
          annotations: { 'example.com/x': 'y', [ANNOTATIONS.sandboxId]: 'spoofed' },
          linux: {
            resources: resources({ memory_limit_in_bytes: '1048576', oom_score_adj: '5' }),
            security_context: null,
          },
        }),
        image: { config: { Env: ['LANG=C'], User: 'app', WorkingDir: '/home/app' }, rootfs: '/rootfs' },
      }),
    );
    expect(spec.ociVersion).toMatch(/^1\./);
    expect(spec.hostname).toBeUndefined();
    expect(spec.root).toEqual({ path: '/rootfs', readonly: false });
    expect(spec.process).toMatchObject({
      terminal: false,
      args: ['/bin/sh', '-c', 'sleep 1'],
      env: [DEFAULT_PATH_ENV, 'HOSTNAME=web', 'LANG=C', 'A=1'],
      cwd: '/home/app',
      user: { uid: 1000, gid: 1000, additionalGids: [1000, 29, 44, 50000] },
      noNewPrivileges: false,
      oomScoreAdj: 5,
      capabilities: { bounding: DEFAULT_CAPABILITIES, inheritable: [] },
    });
    expect(spec.process.apparmorProfile).toBeUndefined();
    expect(spec.linux.namespaces.map((n) => n.type)).toEqual(['mount', 'network', 'ipc', 'uts', 'pid']);
    expect(spec.linux.cgroupsPath).toBe('/kubepods/podpod-uid/c1');
    expect(spec.linux.resources?.memory).toEqual({ limit: 1048576 });
    expect(spec.linux.resources?.devices?.[0]).toEqual({ allow: false, access: 'rwm' });
    expect(spec.linux.maskedPaths).toEqual(DEFAULT_MASKED_PATHS);
    expect(spec.linux.readonlyPaths).toEqual(DEFAULT_READONLY_PATHS);
    expect(spec.linux.seccomp).toBeUndefined();
    expect(spec.mounts.map((m) => m.destination)).toContain('/etc/resolv.conf');
    expect(spec.annotations).toEqual({
      'example.com/x': 'y',
      [ANNOTATIONS.containerType]: 'container',
      [ANNOTATIONS.containerName]: 'app',
      [ANNOTATIONS.sandboxId]: 'sb1',
      [ANNOTATIONS.sandboxName]: 'web',
      [ANNOTATIONS.sandboxNamespace]: 'default',
      [ANNOTATIONS.sandboxUid]: 'pod-uid',
      [ANNOTATIONS.imageName]: 'docker.io/library/busybox:latest',
    });
    // The spec is plain data: what the runtime reads is what the tests see.
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
  });

  test('a restricted container (the Kubernetes "restricted" pod security level)', () => {
    const spec = buildContainerSpec(
      specInput({
        config: containerConfig(
          {},
          {
            run_as_user: { value: '65534' },
            readonly_rootfs: true,
            no_new_privs: true,
            capabilities: {
              add_capabilities: ['NET_BIND_SERVICE'],
              drop_capabilities: ['ALL'],
              add_ambient_capabilities: [],
            },
            seccomp: { profile_type: 'RuntimeDefault', localhost_ref: '' },
          },
        ),
      }),
    );
    expect(spec.process.user).toEqual({ uid: 65534, gid: 65534, additionalGids: [65534] });
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.process.capabilities?.bounding).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(spec.root.readonly).toBe(true);
    expect(spec.linux.seccomp?.defaultAction).toBe('SCMP_ACT_ERRNO');
    // no CAP_SYS_CHROOT left, so no chroot
    expect(spec.linux.seccomp?.syscalls?.some((r) => r.names.includes('chroot'))).toBe(false);
  });

  test('a privileged container: all capabilities and devices, nothing masked, no seccomp', () => {
    const spec = buildContainerSpec(
      specInput({
        sandbox: sandboxInfo({}, true),
        lookups: lookups({
          listHostDevices: () => [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11 }],
        }),
        config: containerConfig(
          {},
          { privileged: true, seccomp: { profile_type: 'RuntimeDefault', localhost_ref: '' } },
        ),
      }),
    );
    expect(spec.process.capabilities?.bounding).toEqual([...LINUX_CAPABILITIES]);
    expect(spec.linux.devices).toEqual([{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11 }]);
    expect(spec.linux.resources?.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(spec.linux.maskedPaths).toBeUndefined();
    expect(spec.linux.readonlyPaths).toBeUndefined();
    expect(spec.linux.seccomp).toBeUndefined();
    expect(spec.mounts.find((m) => m.destination === '/sys')?.options).toContain('rw');
  });

  test('errors come out with their class and nothing else happens', () => {
    expect(() => buildContainerSpec(specInput({ config: containerConfig({ metadata: null }) }))).toThrow(
      /no metadata name/,
    );
    expect(() => buildContainerSpec(specInput({ image: { config: {}, rootfs: '/r' } }))).toThrow(
      InvalidArgumentError,
    );
    expect(() =>
      buildContainerSpec(specInput({ config: containerConfig({}, { privileged: true }) })),
    ).toThrow(/not privileged/);
    expect(() =>
      buildContainerSpec(
        specInput({ config: containerConfig({ mounts: [criMountConfig({ container_path: 'relative' })] }) }),
      ),
    ).toThrow(InvalidArgumentError);
  });
});
