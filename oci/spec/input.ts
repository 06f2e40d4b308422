import type { ContainerConfig__Output } from '../../api/generated/runtime/v1/ContainerConfig';
import type { ImageConfig } from '../../image/manifest';
import type { CdiDevice } from '../cdi';
import type { OciLinuxDevice, OciSpec } from '../spec-types';
import type { SandboxRecord } from '../../sandbox/sandbox-record';

/** The `config` object of an OCI image config (image-spec config.md#properties). */
export type ImageRunConfig = NonNullable<ImageConfig['config']>;

/** What a container's spec needs to know about its pod: a slice of the sandbox record. */
export type SandboxInfo = Pick<
  SandboxRecord,
  'id' | 'config' | 'host' | 'sharedPid' | 'namespaces' | 'pausePid' | 'cgroupsPath' | 'stateDir' | 'shmDir'
> & {
  /** The pod's hostname (the node's for a host-network pod), given to containers as $HOSTNAME. */
  hostname?: string;
};

/** A device node on the host, as stat(2) sees it. */
export type HostDevice = Omit<OciLinuxDevice, 'path'>;

/** Host facts the spec depends on, probed once by the caller. */
export interface HostFeatures {
  /** AppArmor is enabled on the host; defaultProfile is the (loaded) profile runtime/default means. */
  apparmor?: { defaultProfile: string };
  /** The runtime can make a mount read-only recursively ("rro", mount_setattr(2), Linux 5.12). */
  recursiveReadOnlyMounts: boolean;
  /** Node's process.arch of the host; chooses the seccomp architectures. */
  arch: string;
  /** Kernel release (uname -r), for the seccomp rules that depend on the kernel version. */
  kernelRelease: string;
  /** Highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap). */
  lastCap: number;
  /**
   * The daemon's own bounding set (CapBnd), when known: what its runtimes can grant at most, and
   * what a privileged container or an added "ALL" gets.
   */
  boundingCapabilities?: string[];
  /** The daemon's own oom_score_adj, the lowest a container can be given without CAP_SYS_RESOURCE. */
  ownOomScoreAdj: number;
}

/** Defaults an operator may change; DEFAULT_SPEC_DEFAULTS holds berth's. */
export interface SpecDefaults {
  /** Capabilities of a non-privileged container before the CRI's add/drop, with the CAP_ prefix. */
  capabilities: string[];
  maskedPaths: string[];
  readonlyPaths: string[];
}

/**
 * The kernel- and store-touching lookups the spec needs, behind functions, so that building a
 * spec stays a pure computation that tests run without a kernel.
 */
export interface SpecLookups {
  /** A file of the image's rootfs (e.g. "/etc/passwd"), or undefined when it does not exist. */
  readRootfsFile(path: string): string | undefined;
  /** The device node at a host path; undefined when nothing is there. Throws for a non-device. */
  statDevice(hostPath: string): HostDevice | undefined;
  /** Every device node of the host's /dev, for privileged containers. */
  listHostDevices(): Array<OciLinuxDevice>;
  /** A bind source on the host with its symlinks resolved; a missing one is made a directory. */
  resolveHostPath(hostPath: string): string;
  /** The propagation of the mount a host path lies on (from /proc/self/mountinfo). */
  mountPropagationOf(hostPath: string): 'shared' | 'slave' | 'private';
  /** The pid namespace (a path) of another container of the pod, for NamespaceMode TARGET. */
  targetPidNamespace(containerId: string): string;
  /** The text of a Localhost seccomp profile. */
  readSeccompProfile(path: string): string;
  /** The host directory holding an image volume's content (Mount.image), when supported. */
  imageVolumePath?(imageRef: string, subPath: string): string;
}

export interface ContainerSpecInput {
  id: string;
  config: ContainerConfig__Output;
  sandbox: SandboxInfo;
  image: {
    /** The image's run config; absent fields mean the image sets nothing. */
    config: ImageRunConfig;
    /** The container's root filesystem directory (the overlay mount point). */
    rootfs: string;
  };
  features: HostFeatures;
  defaults: SpecDefaults;
  lookups: SpecLookups;
  /** The CDI devices the container asked for, resolved in the spec files (oci/cdi.ts). */
  cdiDevices?: CdiDevice[];
}

/** One step of building a container's spec (containerd's SpecOpts): reads the input, edits the spec. */
export type SpecOpt = (spec: OciSpec, input: ContainerSpecInput) => void;
