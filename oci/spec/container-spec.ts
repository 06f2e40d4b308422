import { InvalidArgumentError } from '../../common/errors';
import { OCI_VERSION, type OciSpec } from '../spec-types';
import { DEFAULT_CAPABILITIES, withCapabilities } from './capabilities';
import { withCdiDevices } from './cdi-edits';
import { withDevices } from './devices';
import type { ContainerSpecInput, SpecDefaults, SpecOpt } from './input';
import { withMounts, withRootfs } from './mounts';
import { withNamespaces } from './namespaces';
import { withEnv, withProcessArgs, withTerminal, withWorkingDir } from './process';
import { withCgroupsPath, withResources } from './resources';
import { withSeccomp } from './seccomp';
import {
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  withApparmor,
  withMaskedPaths,
  withNoNewPrivileges,
  withPrivilegeCheck,
} from './security';
import { withUser } from './user';

export const DEFAULT_SPEC_DEFAULTS: SpecDefaults = {
  capabilities: DEFAULT_CAPABILITIES,
  maskedPaths: DEFAULT_MASKED_PATHS,
  readonlyPaths: DEFAULT_READONLY_PATHS,
};

/** Annotation keys containerd set and that tools (cAdvisor, NRI plugins, runtimes) read. */
export const ANNOTATIONS = {
  containerType: 'io.kubernetes.cri.container-type',
  containerName: 'io.kubernetes.cri.container-name',
  sandboxId: 'io.kubernetes.cri.sandbox-id',
  sandboxName: 'io.kubernetes.cri.sandbox-name',
  sandboxNamespace: 'io.kubernetes.cri.sandbox-namespace',
  sandboxUid: 'io.kubernetes.cri.sandbox-uid',
  imageName: 'io.kubernetes.cri.image-name',
} as const;

/** The CRI's annotations, then berth's, which a client cannot override. */
export const withAnnotations: SpecOpt = (spec, { config, sandbox }) => {
  const pod = sandbox.config.metadata;
  spec.annotations = {
    ...config.annotations,
    [ANNOTATIONS.containerType]: 'container',
    [ANNOTATIONS.containerName]: config.metadata?.name ?? '',
    [ANNOTATIONS.sandboxId]: sandbox.id,
    [ANNOTATIONS.sandboxName]: pod?.name ?? '',
    [ANNOTATIONS.sandboxNamespace]: pod?.namespace ?? '',
    [ANNOTATIONS.sandboxUid]: pod?.uid ?? '',
    [ANNOTATIONS.imageName]: config.image?.user_specified_image || config.image?.image || '',
  };
};

/**
 * The steps, in order. Seccomp comes after capabilities (the default profile follows the
 * bounding set), resources after devices (they share linux.resources), and the CDI devices'
 * edits after everything they may add to or replace. No hostname: the container joins the pod's
 * UTS namespace, where the sandbox set it, and a runtime refuses to set one in a namespace it
 * does not create.
 */
export const CONTAINER_SPEC_OPTS: SpecOpt[] = [
  withPrivilegeCheck,
  withRootfs,
  withProcessArgs,
  withEnv,
  withWorkingDir,
  withTerminal,
  withUser,
  withNamespaces,
  withMounts,
  withDevices,
  withCapabilities,
  withNoNewPrivileges,
  withMaskedPaths,
  withApparmor,
  withSeccomp,
  withResources,
  withCgroupsPath,
  withCdiDevices,
  withAnnotations,
];

/** The spec every step starts from: nothing granted. */
export function emptySpec(): OciSpec {
  return {
    ociVersion: OCI_VERSION,
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: [], env: [], cwd: '/' },
    root: { path: '' },
    mounts: [],
    linux: { namespaces: [] },
  };
}

/**
 * The OCI runtime spec (config.json) of a container, from its CRI config, its image and its pod.
 * Pure apart from the lookups the input carries; throws BerthErrors (InvalidArgument for a bad
 * request, NotFound, FailedPrecondition for what the host lacks) before anything is written.
 */
export function buildContainerSpec(input: ContainerSpecInput): OciSpec {
  if (!input.config.metadata?.name) throw new InvalidArgumentError('container config has no metadata name');
  const spec = emptySpec();
  for (const opt of CONTAINER_SPEC_OPTS) opt(spec, input);
  return spec;
}
