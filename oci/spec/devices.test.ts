import { InvalidArgumentError, NotFoundError } from '../../common/errors';
import { emptySpec } from './container-spec';
import { criDevice, DEFAULT_DEVICE_RULES, withDevices } from './devices';
import type { HostDevice } from './input';
import { containerConfig, lookups, sandboxInfo, specInput } from './test-input';

const fuse: HostDevice = { type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 };
const loop0: HostDevice = { type: 'b', major: 7, minor: 0, fileMode: 0o660, uid: 0, gid: 6 };
const hostDevices: Record<string, HostDevice> = { '/dev/fuse': fuse, '/dev/loop0': loop0 };
const lk = lookups({
  statDevice: (p) => hostDevices[p],
  listHostDevices: () => Object.entries(hostDevices).map(([path, d]) => ({ path, ...d })),
});

const device = (host_path: string, container_path = host_path, permissions = 'rwm') => ({
  host_path,
  container_path,
  permissions,
});

describe('criDevice', () => {
  test('the node with its host numbers, mode and owner; a rule with the CRI permissions', () => {
    expect(criDevice(device('/dev/fuse', '/dev/fuse', 'rw'), lk)).toEqual({
      node: { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
      rule: { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
    });
  });

  test('a block device under another name; empty permissions mean rwm', () => {
    const { node, rule } = criDevice(device('/dev/loop0', '/dev/xvda', ''), lk);
    expect(node).toMatchObject({ path: '/dev/xvda', type: 'b', major: 7, minor: 0 });
    expect(rule.access).toBe('rwm');
  });

  test.each([
    ['a missing host device', device('/dev/nope'), NotFoundError],
    ['bad permissions', device('/dev/fuse', '/dev/fuse', 'rwx'), InvalidArgumentError],
    ['repeated permissions', device('/dev/fuse', '/dev/fuse', 'rr'), InvalidArgumentError],
    ['a relative container path', device('/dev/fuse', 'fuse'), InvalidArgumentError],
  ])('%s is refused', (_name, d, errorClass) => {
    expect(() => criDevice(d, lk)).toThrow(errorClass);
  });

  test('a pipe is not a device to pass', () => {
    const pipe = lookups({ statDevice: () => ({ type: 'p', major: 0, minor: 0 }) });
    expect(() => criDevice(device('/run/fifo'), pipe)).toThrow(/not a character or block device/);
  });
});

describe('withDevices', () => {
  test('default: deny all, the standard devices, then the requested ones', () => {
    const spec = emptySpec();
    withDevices(
      spec,
      specInput({ lookups: lk, config: containerConfig({ devices: [device('/dev/fuse')] }) }),
    );
    expect(spec.linux.devices).toEqual([{ path: '/dev/fuse', ...fuse }]);
    expect(spec.linux.resources?.devices).toEqual([
      ...DEFAULT_DEVICE_RULES,
      { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' },
    ]);
    expect(spec.linux.resources?.devices?.[0]).toEqual({ allow: false, access: 'rwm' });
  });

  test('no devices: the default rules and no nodes', () => {
    const spec = emptySpec();
    withDevices(spec, specInput({ lookups: lk }));
    expect(spec.linux.devices).toEqual([]);
    expect(spec.linux.resources?.devices).toEqual(DEFAULT_DEVICE_RULES);
  });

  test('privileged: every host device and one allow-all rule; the CRI device wins its path', () => {
    const spec = emptySpec();
    withDevices(
      spec,
      specInput({
        lookups: lk,
        sandbox: sandboxInfo({}, true),
        config: containerConfig({ devices: [device('/dev/fuse', '/dev/loop0')] }, { privileged: true }),
      }),
    );
    expect(spec.linux.devices).toEqual([
      { path: '/dev/fuse', ...fuse },
      { path: '/dev/loop0', ...fuse },
    ]);
    expect(spec.linux.resources?.devices).toEqual([{ allow: true, access: 'rwm' }]);
  });
});
