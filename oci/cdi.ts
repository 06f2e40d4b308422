/**
 * The Container Device Interface (cncf-tags/container-device-interface SPEC.md): vendors describe
 * their devices in spec files (JSON or YAML) under /etc/cdi and /var/run/cdi, and a container
 * that asks for a device by its qualified name (`vendor.com/class=name`, the CRI's CDI_devices or
 * the `cdi.k8s.io/` annotations of device plugins) gets the spec's edits: environment, device
 * nodes, mounts, hooks and groups. Dynamic Resource Allocation hands devices out this way.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '../common/errors';

export interface CdiDeviceNode {
  path: string;
  hostPath?: string;
  type?: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  permissions?: string;
  uid?: number;
  gid?: number;
}

export interface CdiMount {
  hostPath: string;
  containerPath: string;
  type?: string;
  options?: string[];
}

export interface CdiHook {
  hookName: string;
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface CdiContainerEdits {
  env?: string[];
  deviceNodes?: CdiDeviceNode[];
  mounts?: CdiMount[];
  hooks?: CdiHook[];
  additionalGids?: number[];
  intelRdt?: unknown;
}

/** A device a container may ask for: the spec's edits for any of its devices, then its own. */
export interface CdiDevice {
  /** `vendor.com/class=name`. */
  name: string;
  edits: CdiContainerEdits[];
  /** The spec file it comes from, for error messages. */
  file: string;
}

/** The devices the spec files describe by qualified name, and the files that could not be read. */
export interface CdiRegistry {
  devices: Map<string, CdiDevice>;
  errors: string[];
}

/** Where device plugins put device requests before the CRI had CDI_devices. */
export const CDI_ANNOTATION_PREFIX = 'cdi.k8s.io/';

const KIND =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[a-zA-Z0-9]([-_.a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$/;
const DEVICE_NAME = /^[a-zA-Z0-9]([-_.:a-zA-Z0-9]*[a-zA-Z0-9])?$/;

/** Splits `vendor.com/class=name`; undefined when it is not a qualified CDI device name. */
export function parseQualifiedName(name: string): { kind: string; device: string } | undefined {
  const at = name.indexOf('=');
  if (at < 0) return undefined;
  const kind = name.slice(0, at);
  const device = name.slice(at + 1);
  return KIND.test(kind) && kind.length <= 253 + 64 && DEVICE_NAME.test(device)
    ? { kind, device }
    : undefined;
}

/**
 * Reads every spec file of `dirs` (*.json, *.yaml, *.yml; missing dirs are empty). A device of a
 * later directory replaces one of the same name from an earlier one (/var/run/cdi, written at
 * run time, over /etc/cdi); two files of one directory naming the same device make it unusable.
 * A file that cannot be read or is not a valid spec is reported in `errors` and skipped.
 */
export async function loadCdiRegistry(dirs: string[]): Promise<CdiRegistry> {
  const devices = new Map<string, CdiDevice>();
  const errors: string[] = [];
  for (const dir of dirs) {
    const inDir = new Map<string, CdiDevice | 'conflict'>();
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => /\.(json|ya?ml)$/.test(n)).sort()) {
      const file = path.join(dir, name);
      let found: CdiDevice[];
      try {
        found = specDevices(await parseSpecFile(file), file);
      } catch (err) {
        errors.push(`${file}: ${(err as Error).message}`);
        continue;
      }
      for (const device of found) {
        inDir.set(device.name, inDir.has(device.name) ? 'conflict' : device);
      }
    }
    for (const [name, device] of inDir) {
      if (device === 'conflict') {
        devices.delete(name);
        errors.push(`${dir}: more than one spec file describes ${name}`);
      } else {
        devices.set(name, device);
      }
    }
  }
  return { devices, errors };
}

async function parseSpecFile(file: string): Promise<unknown> {
  const text = await fs.readFile(file, 'utf8');
  if (file.endsWith('.json')) return JSON.parse(text);
  // Loaded only when a YAML spec is there: most nodes have none.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  const yaml = require('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

function specDevices(doc: unknown, file: string): CdiDevice[] {
  if (!isObject(doc)) throw new Error('not a CDI spec (an object with cdiVersion, kind and devices)');
  if (typeof doc.cdiVersion !== 'string' || !/^\d+\.\d+\.\d+$/.test(doc.cdiVersion)) {
    throw new Error(`cdiVersion ${JSON.stringify(doc.cdiVersion)} is not a version`);
  }
  if (typeof doc.kind !== 'string' || !KIND.test(doc.kind)) {
    throw new Error(`kind ${JSON.stringify(doc.kind)} is not vendor.com/class`);
  }
  if (!Array.isArray(doc.devices) || doc.devices.length === 0) throw new Error('it lists no devices');
  const common =
    doc.containerEdits === undefined ? [] : [containerEdits(doc.containerEdits, 'containerEdits')];
  return doc.devices.map((device: unknown, i: number) => {
    if (!isObject(device) || typeof device.name !== 'string' || !DEVICE_NAME.test(device.name)) {
      throw new Error(`devices[${i}] has no valid name`);
    }
    const own =
      device.containerEdits === undefined ? [] : [containerEdits(device.containerEdits, device.name)];
    return { name: `${doc.kind as string}=${device.name}`, edits: [...common, ...own], file };
  });
}

/** Checks the shape of a containerEdits object; the values are checked where they are applied. */
function containerEdits(value: unknown, where: string): CdiContainerEdits {
  if (!isObject(value)) throw new Error(`${where}: containerEdits is not an object`);
  for (const key of ['env', 'deviceNodes', 'mounts', 'hooks', 'additionalGids', 'additionalGIDs']) {
    if (value[key] !== undefined && !Array.isArray(value[key]))
      throw new Error(`${where}: ${key} is not a list`);
  }
  const edits = value as CdiContainerEdits & { additionalGIDs?: number[] };
  return { ...edits, additionalGids: edits.additionalGids ?? edits.additionalGIDs };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The device names a container asks for: the CRI's CDI_devices, then the values of its
 * `cdi.k8s.io/*` annotations (comma-separated), each once.
 */
export function requestedCdiDevices(
  cdiDevices: Array<{ name: string }>,
  annotations: Record<string, string>,
): string[] {
  const names = cdiDevices.map((d) => d.name);
  for (const [key, value] of Object.entries(annotations)) {
    if (key.startsWith(CDI_ANNOTATION_PREFIX)) names.push(...value.split(',').map((v) => v.trim()));
  }
  return [...new Set(names.filter((n) => n !== ''))];
}

/**
 * The devices for `names`, in order. A malformed name is the request's fault (InvalidArgument);
 * a device no spec file describes is the node's (FailedPrecondition), with the spec errors that
 * may explain it.
 */
export function resolveCdiDevices(names: string[], registry: CdiRegistry): CdiDevice[] {
  const malformed = names.filter((n) => parseQualifiedName(n) === undefined);
  if (malformed.length > 0) {
    throw new InvalidArgumentError(`not CDI device names (vendor.com/class=name): ${malformed.join(', ')}`);
  }
  const missing = names.filter((n) => !registry.devices.has(n));
  if (missing.length > 0) {
    const why = registry.errors.length > 0 ? ` (spec errors: ${registry.errors.join('; ')})` : '';
    throw new FailedPreconditionError(`unresolvable CDI devices: ${missing.join(', ')}${why}`);
  }
  return names.map((n) => registry.devices.get(n)!);
}
