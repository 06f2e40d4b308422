import * as path from 'node:path';
import type { Mount__Output } from '../../api/generated/runtime/v1/Mount';
import { FailedPreconditionError, InvalidArgumentError, UnimplementedError } from '../../common/errors';
import type { OciMount } from '../spec-types';
import type { ContainerSpecInput, SpecLookups, SpecOpt } from './input';

/**
 * The filesystems every container gets (the set runc's `spec` and containerd write). /sys and
 * the cgroup filesystem are read-only unless the container is privileged; /dev/mqueue only
 * belongs to a container with an IPC namespace of its own (a host-IPC pod sees the host's).
 */
export function defaultMounts(privileged: boolean, ownIpc: boolean): OciMount[] {
  const ro = privileged ? 'rw' : 'ro';
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    ...(ownIpc
      ? [
          {
            destination: '/dev/mqueue',
            type: 'mqueue',
            source: 'mqueue',
            options: ['nosuid', 'noexec', 'nodev'],
          },
        ]
      : []),
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ro] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', ro],
    },
  ];
}

/**
 * What the pod shares with each of its containers: its /dev/shm, and the /etc/hostname,
 * /etc/hosts and /etc/resolv.conf the sandbox wrote. These follow the rootfs's read-only flag,
 * as in containerd, so a read-only container cannot rewrite its pod's DNS.
 */
export function podMounts(input: ContainerSpecInput): OciMount[] {
  const readonly = input.config.linux?.security_context?.readonly_rootfs ?? false;
  const etc = (name: string): OciMount => ({
    destination: `/etc/${name}`,
    type: 'bind',
    source: path.join(input.sandbox.stateDir, name),
    options: ['rbind', 'rprivate', readonly ? 'ro' : 'rw'],
  });
  return [
    {
      destination: '/dev/shm',
      type: 'bind',
      source: input.sandbox.shmDir,
      options: ['rbind', 'rprivate', 'nosuid', 'noexec', 'nodev'],
    },
    etc('hostname'),
    etc('hosts'),
    etc('resolv.conf'),
  ];
}

const PROPAGATION = {
  PROPAGATION_PRIVATE: 'rprivate',
  PROPAGATION_HOST_TO_CONTAINER: 'rslave',
  PROPAGATION_BIDIRECTIONAL: 'rshared',
} as const;

/** Mount options that undo each other: a later one replaces its opposite. */
const OPPOSITES: Record<string, string> = {
  ro: 'rw',
  rw: 'ro',
  exec: 'noexec',
  noexec: 'exec',
  suid: 'nosuid',
  nosuid: 'suid',
  dev: 'nodev',
  nodev: 'dev',
  atime: 'noatime',
  noatime: 'atime',
};

function addOptions(options: string[], extra: string[]): string[] {
  let out = [...options];
  for (const option of extra) {
    const opposite = OPPOSITES[option];
    out = out.filter((o) => o !== option && o !== opposite);
    out.push(option);
  }
  return out;
}

function checkedContainerPath(containerPath: string): string {
  if (!path.posix.isAbsolute(containerPath)) {
    throw new InvalidArgumentError(`mount destination "${containerPath}" is not an absolute path`);
  }
  return path.posix.normalize(containerPath);
}

/**
 * One CRI Mount as an OCI bind mount (CRI Mount, runtime-spec config.md#mounts). Propagation
 * other than private needs the host side to propagate too: a bidirectional mount of a path whose
 * mount is private would silently propagate nothing, so it is refused, as containerd does.
 */
export function criMount(
  mount: Mount__Output,
  lookups: SpecLookups,
  recursiveReadOnlySupported: boolean,
): OciMount {
  const destination = checkedContainerPath(mount.container_path);
  if (mount.uidMappings.length > 0 || mount.gidMappings.length > 0) {
    throw new UnimplementedError(
      `mount ${destination}: ID-mapped mounts need user namespaces, which berth does not support`,
    );
  }
  const imageRef = mount.image?.image ?? '';
  let source: string;
  let readonly = mount.readonly;
  if (imageRef !== '') {
    if (mount.host_path !== '') {
      throw new InvalidArgumentError(`mount ${destination}: host_path and image are mutually exclusive`);
    }
    if (!lookups.imageVolumePath) {
      throw new UnimplementedError(`mount ${destination}: image volumes are not supported`);
    }
    source = lookups.imageVolumePath(imageRef, mount.image_sub_path);
    readonly = true; // image volumes are always read-only (CRI Mount.image)
  } else {
    if (mount.host_path === '') throw new InvalidArgumentError(`mount ${destination}: host_path is empty`);
    source = lookups.resolveHostPath(mount.host_path);
  }

  const propagation = PROPAGATION[mount.propagation] ?? 'rprivate';
  if (propagation !== 'rprivate') {
    const host = lookups.mountPropagationOf(source);
    if (propagation === 'rshared' && host !== 'shared') {
      throw new FailedPreconditionError(
        `mount ${destination}: bidirectional propagation needs ${source} on a shared mount, it is ${host}`,
      );
    }
    if (propagation === 'rslave' && host === 'private') {
      throw new FailedPreconditionError(
        `mount ${destination}: host-to-container propagation needs ${source} on a shared or slave mount, it is private`,
      );
    }
  }

  const options = ['rbind', propagation, readonly ? 'ro' : 'rw'];
  if (mount.recursive_read_only) {
    if (!mount.readonly) {
      throw new InvalidArgumentError(`mount ${destination}: recursive_read_only needs readonly`);
    }
    if (propagation !== 'rprivate') {
      throw new InvalidArgumentError(`mount ${destination}: recursive_read_only needs private propagation`);
    }
    if (!recursiveReadOnlySupported) {
      throw new FailedPreconditionError(
        `mount ${destination}: recursive read-only mounts are not supported by the runtime or kernel`,
      );
    }
    options.push('rro');
  }
  // selinux_relabel is accepted and ignored: berth does not label with SELinux.
  return { destination, type: 'bind', source, options: addOptions(options, mount.mount_options) };
}

/** Parents before children, so that a mount under another mount's path lands on top of it. */
function depth(destination: string): number {
  return destination.split('/').filter(Boolean).length;
}

/**
 * All the container's mounts. A CRI mount replaces a default or pod mount at the same place (the
 * kubelet mounts its own /etc/hosts for most pods, and may give /dev/shm or /etc/resolv.conf), and
 * a CRI mount of /dev itself takes every default mount under /dev with it.
 */
export function containerMounts(input: ContainerSpecInput): OciMount[] {
  const sc = input.config.linux?.security_context;
  const cri = input.config.mounts
    .map((m) => criMount(m, input.lookups, input.features.recursiveReadOnlyMounts))
    .map((m, index) => ({ m, index }))
    .sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.index - b.index)
    .map(({ m }) => m);
  const taken = new Set(cri.map((m) => m.destination));
  const overridden = (m: OciMount): boolean =>
    taken.has(m.destination) || (taken.has('/dev') && m.destination.startsWith('/dev/'));
  const base = [
    ...defaultMounts(sc?.privileged ?? false, input.sandbox.namespaces.ipc !== undefined),
    ...podMounts(input),
  ].filter((m) => !overridden(m));
  return [...base, ...cri];
}

/**
 * Mount propagation of the container's root: a bidirectional mount needs the root rshared and a
 * host-to-container one rslave, or the runtime's default rprivate root would stop propagation.
 */
export function rootfsPropagation(mounts: OciMount[]): string | undefined {
  const options = mounts.flatMap((m) => m.options ?? []);
  if (options.includes('rshared')) return 'rshared';
  if (options.includes('rslave')) return 'rslave';
  return undefined;
}

export const withMounts: SpecOpt = (spec, input) => {
  spec.mounts = containerMounts(input);
  const propagation = rootfsPropagation(spec.mounts);
  if (propagation) spec.linux.rootfsPropagation = propagation;
  else delete spec.linux.rootfsPropagation;
};

export const withRootfs: SpecOpt = (spec, { image, config }) => {
  spec.root = { path: image.rootfs, readonly: config.linux?.security_context?.readonly_rootfs ?? false };
};
