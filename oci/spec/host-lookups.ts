/**
 * The real, kernel- and filesystem-touching side of the spec's lookups (input.ts SpecLookups)
 * and host features. The container manager builds these once per host (features) or per
 * container (the rootfs reader) and hands them to buildContainerSpec.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../../common/errors';
import type { OciLinuxDevice } from '../spec-types';
import { capabilitiesOfMask } from './capabilities';
import type { HostDevice, HostFeatures, SpecLookups } from './input';

/** Largest /etc file of an image berth reads (passwd and group of real images are a few KiB). */
const MAX_ROOTFS_FILE = 4 << 20;

/** Symlinks followed in one lookup before giving up, as the kernel's MAXSYMLINKS. */
const MAX_SYMLINKS = 40;

/**
 * The host path of `file` inside `root`, following symlinks as if `root` were `/`: an absolute
 * link target and any `..` stay inside root. A malicious image cannot point /etc/passwd at the
 * host's.
 */
export function resolveInRoot(root: string, file: string): string {
  let pending = file.split('/').filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const host = path.join(root, ...resolved, part);
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(host);
    } catch {
      resolved.push(part, ...pending); // missing: the rest cannot be links
      break;
    }
    if (!stat.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS)
      throw new InvalidArgumentError(`too many symlinks resolving ${file} in the image`);
    const target = fs.readlinkSync(host);
    if (target.startsWith('/')) resolved.length = 0;
    pending = [...target.split('/').filter(Boolean), ...pending];
  }
  return path.join(root, ...resolved);
}

/** Reads a regular file of the rootfs; anything else (missing, a FIFO, a directory) is undefined. */
export function rootfsFileReader(rootfs: string): (file: string) => string | undefined {
  return (file) => {
    const host = resolveInRoot(rootfs, file);
    let fd: number;
    try {
      fd = fs.openSync(host, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch {
      return undefined;
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) return undefined;
      if (stat.size > MAX_ROOTFS_FILE) {
        throw new InvalidArgumentError(`the image's ${file} is larger than ${MAX_ROOTFS_FILE} bytes`);
      }
      return fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  };
}

/** Major and minor of a dev_t, as glibc's gnu_dev_major/minor split it. */
export function splitDev(dev: bigint): { major: number; minor: number } {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}

function deviceOf(stat: fs.BigIntStats): HostDevice | undefined {
  const type = stat.isCharacterDevice() ? 'c' : stat.isBlockDevice() ? 'b' : stat.isFIFO() ? 'p' : undefined;
  if (!type) return undefined;
  return {
    type,
    ...splitDev(stat.rdev),
    fileMode: Number(stat.mode & 0o777n),
    uid: Number(stat.uid),
    gid: Number(stat.gid),
  };
}

/** stat(2) of a host device, following symlinks (/dev/disk/by-id/...). */
export function statHostDevice(hostPath: string): HostDevice | undefined {
  let stat: fs.BigIntStats;
  try {
    stat = fs.statSync(hostPath, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const device = deviceOf(stat);
  if (!device) throw new InvalidArgumentError(`${hostPath} is not a device`);
  return device;
}

/**
 * Directories of /dev a privileged container must not get copies of: its own devpts, shm and
 * mqueue are mounted there, and fd is the daemon's. /dev/console is the runtime's to set up.
 */
const SKIPPED_DEV_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/** Every character and block device under a /dev tree (symlinks skipped: they name the same nodes). */
export function listDevices(devDir = '/dev'): OciLinuxDevice[] {
  const out: OciLinuxDevice[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DEV_DIRS.has(entry.name)) walk(full);
        continue;
      }
      if (!entry.isCharacterDevice() && !entry.isBlockDevice()) continue;
      if (full === path.join(devDir, 'console')) continue;
      const device = deviceOf(fs.lstatSync(full, { bigint: true }));
      if (device) out.push({ path: path.posix.join('/dev', path.relative(devDir, full)), ...device });
    }
  };
  walk(devDir);
  return out;
}

/**
 * A host path with symlinks resolved. A missing one is NotFound, or with `createMissing` is made
 * as a directory (mode 0755, parents too): the kubelet leaves a hostPath volume of type "" to the
 * runtime, and Docker, containerd and CRI-O all create a missing bind source as a directory.
 */
export function resolveHostPath(hostPath: string, options: { createMissing?: boolean } = {}): string {
  if (!path.isAbsolute(hostPath)) throw new InvalidArgumentError(`host path "${hostPath}" is not absolute`);
  try {
    return fs.realpathSync(hostPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (!options.createMissing) throw new NotFoundError(`host path ${hostPath} does not exist`);
  }
  fs.mkdirSync(hostPath, { recursive: true, mode: 0o755 });
  return fs.realpathSync(hostPath);
}

/** mountinfo's "\040"-style escapes of spaces, tabs, newlines and backslashes. */
function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

/**
 * The propagation of the mount `file` lies on, from mountinfo text (proc(5)): the last mount
 * whose mount point is the longest prefix of the path; its optional fields say shared:N (shared),
 * master:N (slave, possibly also shared: then it is shared), or nothing (private).
 */
export function propagationFromMountinfo(mountinfo: string, file: string): 'shared' | 'slave' | 'private' {
  let best: { point: string; optional: string[] } | undefined;
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (fields.length < 7 || dash < 6) continue;
    const point = unescapeMountinfo(fields[4]);
    const inside =
      point === '/' || file === point || file.startsWith(point.endsWith('/') ? point : `${point}/`);
    if (inside && (!best || point.length >= best.point.length))
      best = { point, optional: fields.slice(6, dash) };
  }
  if (!best) return 'private';
  if (best.optional.some((o) => o.startsWith('shared:'))) return 'shared';
  if (best.optional.some((o) => o.startsWith('master:'))) return 'slave';
  return 'private';
}

export function mountPropagationOf(hostPath: string): 'shared' | 'slave' | 'private' {
  return propagationFromMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'), hostPath);
}

/**
 * The lookups of one container. targetPidNamespace and imageVolumePath belong to the container
 * and image stores, so the caller gives them.
 */
export function hostLookups(
  rootfs: string,
  extra: Pick<SpecLookups, 'targetPidNamespace'> & Partial<Pick<SpecLookups, 'imageVolumePath'>>,
): SpecLookups {
  return {
    readRootfsFile: rootfsFileReader(rootfs),
    statDevice: statHostDevice,
    listHostDevices: () => listDevices('/dev'),
    resolveHostPath: (hostPath) => resolveHostPath(hostPath, { createMissing: true }),
    mountPropagationOf,
    readSeccompProfile: (file) => fs.readFileSync(file, 'utf8'),
    ...extra,
  };
}

function readTrimmed(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The capabilities in this process's bounding set (proc(5) CapBnd); undefined when unreadable. */
export function ownBoundingCapabilities(): string[] | undefined {
  const status = readTrimmed('/proc/self/status') ?? '';
  const mask = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return mask === undefined ? undefined : capabilitiesOfMask(BigInt(`0x${mask}`));
}

/**
 * The host's features. AppArmor counts only with a default profile to use (loading berth's own
 * is the daemon's job); recursive read-only mounts as the runtime and kernel allow them
 * (oci/runtime-features.ts).
 */
export function probeHostFeatures(options: {
  apparmorDefaultProfile?: string;
  recursiveReadOnlyMounts: boolean;
}): HostFeatures {
  const kernelRelease = os.release();
  const apparmorOn = readTrimmed('/sys/module/apparmor/parameters/enabled') === 'Y';
  return {
    ...(apparmorOn && options.apparmorDefaultProfile
      ? { apparmor: { defaultProfile: options.apparmorDefaultProfile } }
      : {}),
    recursiveReadOnlyMounts: options.recursiveReadOnlyMounts,
    arch: process.arch,
    kernelRelease,
    lastCap: Number.parseInt(readTrimmed('/proc/sys/kernel/cap_last_cap') ?? '40', 10),
    boundingCapabilities: ownBoundingCapabilities(),
    ownOomScoreAdj: Number.parseInt(readTrimmed('/proc/self/oom_score_adj') ?? '0', 10) || 0,
  };
}
