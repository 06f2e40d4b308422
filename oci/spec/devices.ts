import * as path from 'node:path';
import type { Device__Output } from '../../api/generated/runtime/v1/Device';
import { InvalidArgumentError, NotFoundError } from '../../common/errors';
import type { OciDeviceRule, OciLinuxDevice } from '../spec-types';
import type { SpecLookups, SpecOpt } from './input';

/**
 * The device cgroup of a non-privileged container: deny everything, then allow mknod of any
 * node (useless without the cgroup allowing its use) and the devices every runtime creates in
 * /dev (runtime-spec config-linux.md#default-devices) plus the pseudo-terminals. runc and crun
 * add the same list on their own; stating it keeps the spec the whole truth for any runtime.
 */
export const DEFAULT_DEVICE_RULES: OciDeviceRule[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // null
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // zero
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // full
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // random
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // urandom
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // tty
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // ptmx
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // the pts
];

/** Device cgroup permissions: a subset of "rwm", each letter once; empty means all three. */
export function checkedPermissions(permissions: string, device: string): string {
  const access = permissions === '' ? 'rwm' : permissions;
  if (!/^[rwm]{1,3}$/.test(access) || new Set(access).size !== access.length) {
    throw new InvalidArgumentError(
      `device ${device}: permissions "${permissions}" are not a subset of "rwm"`,
    );
  }
  return access;
}

/** A CRI Device: the node to create in the container, and the cgroup rule that lets it be used. */
export function criDevice(
  device: Device__Output,
  lookups: SpecLookups,
): { node: OciLinuxDevice; rule: OciDeviceRule } {
  if (!path.posix.isAbsolute(device.container_path)) {
    throw new InvalidArgumentError(`device path "${device.container_path}" is not absolute`);
  }
  const access = checkedPermissions(device.permissions, device.host_path);
  const host = lookups.statDevice(device.host_path);
  if (!host) throw new NotFoundError(`device ${device.host_path} does not exist on the host`);
  if (host.type !== 'c' && host.type !== 'b') {
    throw new InvalidArgumentError(`${device.host_path} is not a character or block device`);
  }
  return {
    node: { path: path.posix.normalize(device.container_path), ...host },
    rule: { allow: true, type: host.type, major: host.major, minor: host.minor, access },
  };
}

/**
 * linux.devices and the device cgroup. A privileged container gets every device node of the
 * host and may use any device (CRI: privileged means all host devices); the CRI's devices come
 * on top, and win where both name the same path.
 */
export const withDevices: SpecOpt = (spec, { config, lookups }) => {
  const privileged = config.linux?.security_context?.privileged ?? false;
  const requested = config.devices.map((d) => criDevice(d, lookups));
  const nodes = new Map<string, OciLinuxDevice>();
  if (privileged) for (const node of lookups.listHostDevices()) nodes.set(node.path, node);
  for (const { node } of requested) nodes.set(node.path, node);
  const rules = privileged
    ? [{ allow: true, access: 'rwm' }]
    : [...DEFAULT_DEVICE_RULES, ...requested.map(({ rule }) => rule)];
  spec.linux.devices = [...nodes.values()];
  spec.linux.resources = { ...spec.linux.resources, devices: rules };
};
