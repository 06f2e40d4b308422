import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '../../common/errors';
import type { CdiContainerEdits, CdiDeviceNode } from '../cdi';
import type { OciDeviceRule, OciHookName, OciLinuxDevice, OciMount } from '../spec-types';
import { checkedPermissions } from './devices';
import type { SpecLookups, SpecOpt } from './input';

const HOOK_NAMES: readonly OciHookName[] = [
  'prestart',
  'createRuntime',
  'createContainer',
  'startContainer',
  'poststart',
  'poststop',
];

const NODE_TYPES: Record<string, OciLinuxDevice['type']> = {
  c: 'c',
  char: 'c',
  b: 'b',
  block: 'b',
  u: 'u',
  p: 'p',
  fifo: 'p',
};

/**
 * The edits of the container's CDI devices, last, over everything else: a spec's edits common to
 * its devices once however many of them are asked for, then each device's own. Environment
 * variables replace those of the same name; device nodes and mounts replace what is at their
 * path; hooks and groups add up.
 */
export const withCdiDevices: SpecOpt = (spec, { cdiDevices, lookups }) => {
  if (!cdiDevices?.length) return;
  const applied = new Set<CdiContainerEdits>();
  for (const device of cdiDevices) {
    for (const edits of device.edits) {
      if (applied.has(edits)) continue;
      applied.add(edits);
      const where = `CDI device ${device.name} (${device.file})`;
      if (edits.intelRdt !== undefined) {
        throw new FailedPreconditionError(`${where}: intelRdt edits are not supported`);
      }
      for (const entry of edits.env ?? []) setEnv(spec.process.env, entry, where);
      for (const node of edits.deviceNodes ?? []) {
        const { device: oci, rule } = deviceNode(node, lookups, where);
        spec.linux.devices = [...(spec.linux.devices ?? []).filter((d) => d.path !== oci.path), oci];
        if (rule) {
          spec.linux.resources = {
            ...spec.linux.resources,
            devices: [...(spec.linux.resources?.devices ?? []), rule],
          };
        }
      }
      for (const m of edits.mounts ?? []) {
        const mount = cdiMount(m, where);
        spec.mounts = [...spec.mounts.filter((x) => x.destination !== mount.destination), mount];
      }
      for (const hook of edits.hooks ?? []) {
        if (!HOOK_NAMES.includes(hook.hookName as OciHookName)) {
          throw new InvalidArgumentError(`${where}: unknown hook "${hook.hookName}"`);
        }
        if (!path.posix.isAbsolute(hook.path ?? '')) {
          throw new InvalidArgumentError(`${where}: hook path "${hook.path}" is not absolute`);
        }
        const hooks = (spec.hooks ??= {});
        (hooks[hook.hookName as OciHookName] ??= []).push({
          path: hook.path,
          ...(hook.args ? { args: hook.args } : {}),
          ...(hook.env ? { env: hook.env } : {}),
          ...(hook.timeout ? { timeout: hook.timeout } : {}),
        });
      }
      const gids = (edits.additionalGids ?? []).filter((g) => g !== 0);
      if (gids.length > 0) {
        const user = spec.process.user;
        user.additionalGids = [...new Set([...(user.additionalGids ?? []), ...gids])];
      }
    }
  }
};

function setEnv(env: string[], entry: string, where: string): void {
  const eq = entry.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`${where}: env entry "${entry}" is not NAME=VALUE`);
  const prefix = entry.slice(0, eq + 1);
  const at = env.findIndex((e) => e.startsWith(prefix));
  if (at >= 0) env[at] = entry;
  else env.push(entry);
}

/** A CDI device node: its numbers from the spec, or from the host's node when the spec has none. */
function deviceNode(
  node: CdiDeviceNode,
  lookups: SpecLookups,
  where: string,
): { device: OciLinuxDevice; rule?: OciDeviceRule } {
  if (!path.posix.isAbsolute(node.path ?? '')) {
    throw new InvalidArgumentError(`${where}: device node path "${node.path}" is not absolute`);
  }
  let type = node.type === undefined ? undefined : NODE_TYPES[node.type];
  if (node.type !== undefined && !type) {
    throw new InvalidArgumentError(`${where}: device node type "${node.type}" is unknown`);
  }
  let { major, minor } = node;
  if (
    type === undefined ||
    ((type === 'c' || type === 'b') && (major === undefined || minor === undefined))
  ) {
    const hostPath = node.hostPath || node.path;
    const host = lookups.statDevice(hostPath);
    if (!host)
      throw new FailedPreconditionError(`${where}: device node ${hostPath} does not exist on the host`);
    type ??= host.type;
    major ??= host.major;
    minor ??= host.minor;
  }
  const access = checkedPermissions(node.permissions ?? '', `${node.path} of ${where}`);
  const device: OciLinuxDevice = {
    path: path.posix.normalize(node.path),
    type,
    major: major ?? 0,
    minor: minor ?? 0,
    ...(node.fileMode !== undefined ? { fileMode: node.fileMode } : {}),
    ...(node.uid !== undefined ? { uid: node.uid } : {}),
    ...(node.gid !== undefined ? { gid: node.gid } : {}),
  };
  const rule =
    type === 'c' || type === 'b'
      ? { allow: true, type, major: device.major, minor: device.minor, access }
      : undefined;
  return { device, rule };
}

function cdiMount(
  m: { hostPath: string; containerPath: string; type?: string; options?: string[] },
  where: string,
): OciMount {
  if (!path.posix.isAbsolute(m.containerPath ?? '')) {
    throw new InvalidArgumentError(`${where}: mount destination "${m.containerPath}" is not absolute`);
  }
  if (typeof m.hostPath !== 'string' || m.hostPath === '') {
    throw new InvalidArgumentError(`${where}: mount of ${m.containerPath} has no hostPath`);
  }
  return {
    destination: path.posix.normalize(m.containerPath),
    ...(m.type ? { type: m.type } : {}),
    source: m.hostPath,
    options: m.options ?? [],
  };
}
