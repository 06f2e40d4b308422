import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnimplementedError,
} from '../../common/errors';
import { emptySpec } from './container-spec';
import { containerMounts, criMount, defaultMounts, withMounts, withRootfs } from './mounts';
import { containerConfig, criMountConfig, lookups, sandboxInfo, specInput } from './test-input';

const destinations = (mounts: { destination: string }[]) => mounts.map((m) => m.destination);

describe('default and pod mounts', () => {
  test('the standard filesystems, the pod files and /dev/shm from the pod', () => {
    const mounts = containerMounts(specInput());
    expect(destinations(mounts)).toEqual([
      '/proc',
      '/dev',
      '/dev/pts',
      '/dev/mqueue',
      '/sys',
      '/sys/fs/cgroup',
      '/dev/shm',
      '/etc/hostname',
      '/etc/hosts',
      '/etc/resolv.conf',
    ]);
    expect(mounts.find((m) => m.destination === '/dev/shm')).toEqual({
      destination: '/dev/shm',
      type: 'bind',
      source: '/run/berth/sandboxes/sb1/shm',
      options: ['rbind', 'rprivate', 'nosuid', 'noexec', 'nodev'],
    });
    expect(mounts.find((m) => m.destination === '/etc/resolv.conf')).toEqual({
      destination: '/etc/resolv.conf',
      type: 'bind',
      source: '/var/lib/berth/sandboxes/sb1/resolv.conf',
      options: ['rbind', 'rprivate', 'rw'],
    });
  });

  test('/sys and the cgroup fs are read-only unless privileged', () => {
    const ro = defaultMounts(false, true).find((m) => m.destination === '/sys')!;
    const rw = defaultMounts(true, true).find((m) => m.destination === '/sys/fs/cgroup')!;
    expect(ro.options).toContain('ro');
    expect(rw.options).toContain('rw');
  });

  test('no /dev/mqueue for a host-IPC pod', () => {
    const input = specInput({
      sandbox: sandboxInfo({ namespaces: { net: '/n', uts: '/u' }, shmDir: '/dev/shm' }),
    });
    const mounts = containerMounts(input);
    expect(destinations(mounts)).not.toContain('/dev/mqueue');
    expect(mounts.find((m) => m.destination === '/dev/shm')?.source).toBe('/dev/shm');
  });

  test('a read-only rootfs makes the pod files read-only and the root read-only', () => {
    const input = specInput({ config: containerConfig({}, { readonly_rootfs: true }) });
    const mounts = containerMounts(input);
    expect(mounts.find((m) => m.destination === '/etc/hosts')?.options).toEqual(['rbind', 'rprivate', 'ro']);
    const spec = emptySpec();
    withRootfs(spec, input);
    expect(spec.root).toEqual({ path: '/var/lib/berth/containers/c1/rootfs', readonly: true });
  });

  test("the kubelet's own /etc/hosts and a termination log replace or join the pod's", () => {
    const input = specInput({
      config: containerConfig({
        mounts: [
          criMountConfig({ container_path: '/etc/hosts', host_path: '/var/lib/kubelet/pods/u/etc-hosts' }),
          criMountConfig({
            container_path: '/dev/termination-log',
            host_path: '/var/lib/kubelet/pods/u/c/x',
          }),
        ],
      }),
    });
    const mounts = containerMounts(input);
    const hosts = mounts.filter((m) => m.destination === '/etc/hosts');
    expect(hosts).toEqual([
      {
        destination: '/etc/hosts',
        type: 'bind',
        source: '/var/lib/kubelet/pods/u/etc-hosts',
        options: ['rbind', 'rprivate', 'rw'],
      },
    ]);
    expect(destinations(mounts)).toContain('/etc/resolv.conf');
    expect(destinations(mounts).indexOf('/dev/termination-log')).toBeGreaterThan(
      destinations(mounts).indexOf('/dev'),
    );
  });

  test('a CRI mount of /dev takes the default /dev mounts with it', () => {
    const input = specInput({
      config: containerConfig({ mounts: [criMountConfig({ container_path: '/dev', host_path: '/dev' })] }),
    });
    const dests = destinations(containerMounts(input));
    expect(dests.filter((d) => d.startsWith('/dev'))).toEqual(['/dev']);
  });

  test('CRI mounts are ordered parents first, keeping their order otherwise', () => {
    const input = specInput({
      config: containerConfig({
        mounts: [
          criMountConfig({ container_path: '/a/b/c', host_path: '/h1' }),
          criMountConfig({ container_path: '/z', host_path: '/h2' }),
          criMountConfig({ container_path: '/a/b', host_path: '/h3' }),
          criMountConfig({ container_path: '/a', host_path: '/h4' }),
        ],
      }),
    });
    expect(destinations(containerMounts(input)).slice(-4)).toEqual(['/z', '/a', '/a/b', '/a/b/c']);
  });
});

describe('criMount', () => {
  const lk = lookups();

  test('readonly bind with private propagation', () => {
    expect(criMount(criMountConfig({ readonly: true }), lk, true)).toEqual({
      destination: '/data',
      type: 'bind',
      source: '/srv/data',
      options: ['rbind', 'rprivate', 'ro'],
    });
  });

  test('symlinks in the host path are resolved through the lookup', () => {
    const resolving = lookups({ resolveHostPath: (p) => `/real${p}` });
    expect(criMount(criMountConfig(), resolving, true).source).toBe('/real/srv/data');
  });

  test('a missing host path fails with what the lookup throws', () => {
    const missing = lookups({
      resolveHostPath: (p) => {
        throw new NotFoundError(`${p} does not exist`);
      },
    });
    expect(() => criMount(criMountConfig(), missing, true)).toThrow(NotFoundError);
  });

  test('HOST_TO_CONTAINER is rslave; BIDIRECTIONAL is rshared, and the root follows', () => {
    const shared = lookups({ mountPropagationOf: () => 'shared' });
    expect(
      criMount(criMountConfig({ propagation: 'PROPAGATION_HOST_TO_CONTAINER' }), shared, true).options,
    ).toEqual(['rbind', 'rslave', 'rw']);
    const input = specInput({
      lookups: shared,
      config: containerConfig({
        mounts: [
          criMountConfig({ propagation: 'PROPAGATION_HOST_TO_CONTAINER' }),
          criMountConfig({ container_path: '/b', propagation: 'PROPAGATION_BIDIRECTIONAL' }),
        ],
      }),
    });
    const spec = emptySpec();
    withMounts(spec, input);
    expect(spec.mounts.find((m) => m.destination === '/b')?.options).toEqual(['rbind', 'rshared', 'rw']);
    expect(spec.linux.rootfsPropagation).toBe('rshared');
  });

  test('a slave mount only gives the root rslave; private ones leave it alone', () => {
    const slave = lookups({ mountPropagationOf: () => 'slave' });
    const spec = emptySpec();
    withMounts(
      spec,
      specInput({
        lookups: slave,
        config: containerConfig({
          mounts: [criMountConfig({ propagation: 'PROPAGATION_HOST_TO_CONTAINER' })],
        }),
      }),
    );
    expect(spec.linux.rootfsPropagation).toBe('rslave');
    const plain = emptySpec();
    withMounts(plain, specInput());
    expect(plain.linux.rootfsPropagation).toBeUndefined();
  });

  test('propagation the host side cannot give is a FailedPrecondition', () => {
    expect(() => criMount(criMountConfig({ propagation: 'PROPAGATION_BIDIRECTIONAL' }), lk, true)).toThrow(
      FailedPreconditionError,
    );
    expect(() =>
      criMount(
        criMountConfig({ propagation: 'PROPAGATION_BIDIRECTIONAL' }),
        lookups({ mountPropagationOf: () => 'slave' }),
        true,
      ),
    ).toThrow(/shared mount/);
    expect(() =>
      criMount(criMountConfig({ propagation: 'PROPAGATION_HOST_TO_CONTAINER' }), lk, true),
    ).toThrow(FailedPreconditionError);
  });

  test('recursive_read_only: rro where supported, refused otherwise or when inconsistent', () => {
    const rro = criMountConfig({ readonly: true, recursive_read_only: true });
    expect(criMount(rro, lk, true).options).toEqual(['rbind', 'rprivate', 'ro', 'rro']);
    expect(() => criMount(rro, lk, false)).toThrow(FailedPreconditionError);
    expect(() => criMount(criMountConfig({ recursive_read_only: true }), lk, true)).toThrow(
      InvalidArgumentError,
    );
    const shared = lookups({ mountPropagationOf: () => 'shared' });
    expect(() => criMount({ ...rro, propagation: 'PROPAGATION_HOST_TO_CONTAINER' }, shared, true)).toThrow(
      /private propagation/,
    );
  });

  test('selinux_relabel is accepted and changes nothing', () => {
    expect(criMount(criMountConfig({ selinux_relabel: true }), lk, true)).toEqual(
      criMount(criMountConfig(), lk, true),
    );
  });

  test('mount_options add to the defaults, replacing their opposites', () => {
    const mount = criMountConfig({ readonly: true, mount_options: ['noexec', 'rw', 'nosuid'] });
    expect(criMount(mount, lk, true).options).toEqual(['rbind', 'rprivate', 'noexec', 'rw', 'nosuid']);
  });

  test('image volumes: read-only, through the image lookup; unsupported without one', () => {
    const image = {
      image: 'sha256:abc',
      annotations: {},
      user_specified_image: '',
      runtime_handler: '',
      image_ref: '',
    };
    const mount = criMountConfig({ host_path: '', image, image_sub_path: 'sub' });
    const withImages = lookups({ imageVolumePath: (ref, sub) => `/store/${ref}/${sub}` });
    expect(criMount(mount, withImages, true)).toEqual({
      destination: '/data',
      type: 'bind',
      source: '/store/sha256:abc/sub',
      options: ['rbind', 'rprivate', 'ro'],
    });
    expect(() => criMount(mount, lk, true)).toThrow(UnimplementedError);
    expect(() => criMount({ ...mount, host_path: '/x' }, withImages, true)).toThrow(InvalidArgumentError);
  });

  test.each([
    ['a relative destination', criMountConfig({ container_path: 'data' }), InvalidArgumentError],
    ['an empty host path', criMountConfig({ host_path: '' }), InvalidArgumentError],
    [
      'ID mappings',
      criMountConfig({ uidMappings: [{ host_id: 1, container_id: 0, length: 1 }] }),
      UnimplementedError,
    ],
  ])('%s is refused', (_name, mount, errorClass) => {
    expect(() => criMount(mount, lk, true)).toThrow(errorClass);
  });
});
