/** Builders of spec inputs for the unit tests: complete CRI messages with the wire's defaults. */
import type { ContainerConfig__Output } from '../../api/generated/runtime/v1/ContainerConfig';
import type { LinuxContainerSecurityContext__Output } from '../../api/generated/runtime/v1/LinuxContainerSecurityContext';
import type { LinuxContainerResources__Output } from '../../api/generated/runtime/v1/LinuxContainerResources';
import type { Mount__Output } from '../../api/generated/runtime/v1/Mount';
import type { PodSandboxConfig__Output } from '../../api/generated/runtime/v1/PodSandboxConfig';
import { DEFAULT_SPEC_DEFAULTS } from './container-spec';
import type { ContainerSpecInput, SandboxInfo, SpecLookups } from './input';

export function securityContext(
  overrides: Partial<LinuxContainerSecurityContext__Output> = {},
): LinuxContainerSecurityContext__Output {
  return {
    capabilities: null,
    privileged: false,
    namespace_options: null,
    selinux_options: null,
    run_as_user: null,
    run_as_username: '',
    readonly_rootfs: false,
    supplemental_groups: [],
    apparmor_profile: '',
    seccomp_profile_path: '',
    no_new_privs: false,
    run_as_group: null,
    masked_paths: [],
    readonly_paths: [],
    seccomp: null,
    apparmor: null,
    supplemental_groups_policy: 'Merge',
    ...overrides,
  };
}

export function resources(
  overrides: Partial<LinuxContainerResources__Output> = {},
): LinuxContainerResources__Output {
  return {
    cpu_period: '0',
    cpu_quota: '0',
    cpu_shares: '0',
    memory_limit_in_bytes: '0',
    oom_score_adj: '0',
    cpuset_cpus: '',
    cpuset_mems: '',
    hugepage_limits: [],
    unified: {},
    memory_swap_limit_in_bytes: '0',
    ...overrides,
  };
}

export function criMountConfig(overrides: Partial<Mount__Output> = {}): Mount__Output {
  return {
    container_path: '/data',
    host_path: '/srv/data',
    readonly: false,
    selinux_relabel: false,
    propagation: 'PROPAGATION_PRIVATE',
    uidMappings: [],
    gidMappings: [],
    recursive_read_only: false,
    image: null,
    image_sub_path: '',
    mount_options: [],
    ...overrides,
  };
}

export function containerConfig(
  overrides: Partial<ContainerConfig__Output> = {},
  sc: Partial<LinuxContainerSecurityContext__Output> = {},
): ContainerConfig__Output {
  return {
    metadata: { name: 'app', attempt: 0 },
    image: {
      image: 'sha256:1111',
      annotations: {},
      user_specified_image: 'docker.io/library/busybox:latest',
      runtime_handler: '',
      image_ref: '',
    },
    command: [],
    args: [],
    working_dir: '',
    envs: [],
    mounts: [],
    devices: [],
    labels: {},
    annotations: {},
    log_path: 'app/0.log',
    stdin: false,
    stdin_once: false,
    tty: false,
    linux: { resources: null, security_context: securityContext(sc) },
    windows: null,
    CDI_devices: [],
    stop_signal: 'SIGNAL_RUNTIME_DEFAULT',
    ...overrides,
  };
}

export function sandboxInfo(overrides: Partial<SandboxInfo> = {}, privileged = false): SandboxInfo {
  const config = {
    metadata: { name: 'web', uid: 'pod-uid', namespace: 'default', attempt: 0 },
    hostname: 'web',
    linux: { cgroup_parent: '/kubepods/podpod-uid', security_context: { privileged } },
  } as unknown as PodSandboxConfig__Output;
  return {
    id: 'sb1',
    config,
    host: { network: false, ipc: false, pid: false },
    sharedPid: false,
    namespaces: {
      net: '/run/berth/ns/net/sb1',
      ipc: '/run/berth/ns/ipc/sb1',
      uts: '/run/berth/ns/uts/sb1',
    },
    pausePid: 4242,
    cgroupsPath: '/kubepods/podpod-uid/sb1',
    stateDir: '/var/lib/berth/sandboxes/sb1',
    shmDir: '/run/berth/sandboxes/sb1/shm',
    hostname: 'web',
    ...overrides,
  };
}

export const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'app:x:1000:1000:app:/home/app:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
].join('\n');

export const GROUP = [
  'root:x:0:',
  'daemon:x:1:',
  'tty:x:5:',
  'audio:x:29:app',
  'video:x:44:app,daemon',
  'app:x:1000:',
  'staff:x:50000:app',
  'nogroup:x:65534:',
].join('\n');

export function lookups(overrides: Partial<SpecLookups> = {}): SpecLookups {
  const files: Record<string, string> = { '/etc/passwd': PASSWD, '/etc/group': GROUP };
  return {
    readRootfsFile: (p) => files[p],
    statDevice: () => undefined,
    listHostDevices: () => [],
    resolveHostPath: (p) => p,
    mountPropagationOf: () => 'private',
    targetPidNamespace: (id) => `/proc/777/ns/pid#${id}`,
    readSeccompProfile: () => {
      throw new Error('no such file');
    },
    ...overrides,
  };
}

export function specInput(overrides: Partial<ContainerSpecInput> = {}): ContainerSpecInput {
  return {
    id: 'c1',
    config: containerConfig(),
    sandbox: sandboxInfo(),
    image: { config: { Cmd: ['sh'] }, rootfs: '/var/lib/berth/containers/c1/rootfs' },
    features: {
      recursiveReadOnlyMounts: true,
      arch: 'x64',
      kernelRelease: '6.1.0-18-amd64',
      lastCap: 40,
      ownOomScoreAdj: 0,
    },
    defaults: DEFAULT_SPEC_DEFAULTS,
    lookups: lookups(),
    ...overrides,
  };
}
