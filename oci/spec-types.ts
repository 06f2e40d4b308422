/**
 * The parts of the OCI runtime spec (config.json, runtime-spec v1.x) that berth writes. Field
 * names are the spec's; optional fields are left out rather than written empty.
 */
export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts: OciMount[];
  annotations?: Record<string, string>;
  linux: OciLinux;
}

export interface OciProcess {
  terminal?: boolean;
  user: { uid: number; gid: number; umask?: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: {
    bounding?: string[];
    effective?: string[];
    inheritable?: string[];
    permitted?: string[];
    ambient?: string[];
  };
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
}

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface OciNamespace {
  type: 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';
  path?: string;
}

export interface OciLinux {
  namespaces: OciNamespace[];
  cgroupsPath?: string;
  resources?: {
    devices?: Array<{ allow: boolean; type?: string; major?: number; minor?: number; access?: string }>;
  };
  sysctl?: Record<string, string>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  rootfsPropagation?: string;
}

/** The runtime-spec version berth writes. */
export const OCI_VERSION = '1.0.2';
