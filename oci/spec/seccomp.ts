import * as path from 'node:path';
import type { SecurityProfile__Output } from '../../api/generated/runtime/v1/SecurityProfile';
import { InvalidArgumentError } from '../../common/errors';
import type { OciSeccomp, OciSyscallRule } from '../spec-types';
import { DEFAULT_SECCOMP_TEMPLATE } from './seccomp-default';
import type { SpecOpt } from './input';

/**
 * A seccomp profile in the format Docker introduced and profile authors still write (the
 * security-profiles-operator, `docker run --security-opt seccomp=`): rules may apply only for some
 * capabilities, architectures or kernels, and architectures come as a map from the host's to the
 * ones its binaries may also use. An OCI-format profile is the special case with none of that.
 */
export interface SeccompTemplate {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: Array<{ architecture: string; subArchitectures: string[] | null }>;
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompTemplateRule[];
}

export interface SeccompTemplateRule extends Partial<OciSyscallRule> {
  /** The Docker format's older single-name form. */
  name?: string;
  comment?: string;
  includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
  excludes?: { caps?: string[]; arches?: string[]; minKernel?: string };
}

/** Node's process.arch as Go's GOARCH, the names profiles use in includes.arches. */
const GOARCH: Record<string, string> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64el: 'mips64le',
};

/** The libseccomp architecture of native binaries, by GOARCH. */
const SECCOMP_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64',
  '386': 'SCMP_ARCH_X86',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  s390x: 'SCMP_ARCH_S390X',
  riscv64: 'SCMP_ARCH_RISCV64',
  mips64le: 'SCMP_ARCH_MIPSEL64',
};

export interface SeccompHost {
  /** Node's process.arch. */
  arch: string;
  /** uname -r, e.g. "6.1.0-18-amd64". */
  kernelRelease: string;
  /** The container's bounding capabilities. */
  capabilities: string[];
}

/** Compares "major.minor" kernel versions; the release's suffix (-18-amd64) is ignored. */
export function kernelAtLeast(release: string, wanted: string): boolean {
  const parse = (v: string): [number, number] => {
    const m = /^(\d+)\.(\d+)/.exec(v);
    if (!m) throw new InvalidArgumentError(`"${v}" is not a kernel version`);
    return [Number(m[1]), Number(m[2])];
  };
  const [major, minor] = parse(release);
  const [wantMajor, wantMinor] = parse(wanted);
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

function applies(rule: SeccompTemplateRule, goarch: string, host: SeccompHost): boolean {
  const { includes, excludes } = rule;
  const has = (cap: string): boolean => host.capabilities.includes(cap);
  if (includes?.caps?.length && !includes.caps.every(has)) return false;
  if (includes?.arches?.length && !includes.arches.includes(goarch)) return false;
  if (includes?.minKernel && !kernelAtLeast(host.kernelRelease, includes.minKernel)) return false;
  if (excludes?.caps?.length && excludes.caps.some(has)) return false;
  if (excludes?.arches?.length && excludes.arches.includes(goarch)) return false;
  if (excludes?.minKernel && kernelAtLeast(host.kernelRelease, excludes.minKernel)) return false;
  return true;
}

/**
 * The OCI seccomp section (config-linux.md#seccomp) a template gives for one container: the
 * rules that apply to its capabilities and the host's architecture and kernel, and the
 * architectures the host's entry of archMap names.
 */
export function resolveSeccomp(template: SeccompTemplate, host: SeccompHost): OciSeccomp {
  const goarch = GOARCH[host.arch] ?? host.arch;
  let architectures = template.architectures;
  if (template.archMap && template.archMap.length > 0) {
    const native = SECCOMP_ARCH[goarch];
    const entry = template.archMap.find((a) => a.architecture === native);
    architectures = entry ? [entry.architecture, ...(entry.subArchitectures ?? [])] : [];
  }
  const syscalls: OciSyscallRule[] = [];
  for (const rule of template.syscalls ?? []) {
    if (!applies(rule, goarch, host)) continue;
    const names = rule.names?.length ? rule.names : rule.name ? [rule.name] : [];
    if (names.length === 0 || !rule.action) {
      throw new InvalidArgumentError('seccomp profile rule without names or action');
    }
    const out: OciSyscallRule = { names, action: rule.action };
    if (rule.errnoRet !== undefined) out.errnoRet = rule.errnoRet;
    if (rule.args?.length) out.args = rule.args;
    syscalls.push(out);
  }
  const seccomp: OciSeccomp = { defaultAction: template.defaultAction, syscalls };
  if (template.defaultErrnoRet !== undefined) seccomp.defaultErrnoRet = template.defaultErrnoRet;
  if (architectures?.length) seccomp.architectures = architectures;
  if (template.flags?.length) seccomp.flags = template.flags;
  if (template.listenerPath) seccomp.listenerPath = template.listenerPath;
  if (template.listenerMetadata) seccomp.listenerMetadata = template.listenerMetadata;
  return seccomp;
}

/** Parses a Localhost profile's text, refusing what is not a profile. */
export function parseSeccompProfile(text: string, source: string): SeccompTemplate {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`seccomp profile ${source} is not JSON: ${(err as Error).message}`);
  }
  const profile = value as SeccompTemplate;
  if (typeof value !== 'object' || value === null || typeof profile.defaultAction !== 'string') {
    throw new InvalidArgumentError(`seccomp profile ${source} has no defaultAction`);
  }
  if (profile.syscalls !== undefined && profile.syscalls !== null && !Array.isArray(profile.syscalls)) {
    throw new InvalidArgumentError(`seccomp profile ${source}: syscalls is not a list`);
  }
  return profile;
}

export type SeccompChoice =
  { kind: 'unconfined' } | { kind: 'runtime-default' } | { kind: 'localhost'; path: string };

/**
 * The profile the container asks for: the `seccomp` field, else the legacy
 * `seccomp_profile_path` ("runtime/default", "docker/default", "unconfined", "localhost/<path>").
 * Neither set means unconfined: that is Kubernetes' default, and the kubelet sends
 * RuntimeDefault explicitly when a pod (or the SeccompDefault kubelet setting) asks for it.
 */
export function seccompChoice(
  profile: SecurityProfile__Output | null | undefined,
  legacyPath: string,
): SeccompChoice {
  if (profile) {
    switch (profile.profile_type) {
      case 'RuntimeDefault':
        return { kind: 'runtime-default' };
      case 'Unconfined':
        return { kind: 'unconfined' };
      case 'Localhost':
        return { kind: 'localhost', path: localhostPath(profile.localhost_ref) };
    }
  }
  if (legacyPath === '' || legacyPath === 'unconfined') return { kind: 'unconfined' };
  if (legacyPath === 'runtime/default' || legacyPath === 'docker/default') return { kind: 'runtime-default' };
  if (legacyPath.startsWith('localhost/'))
    return { kind: 'localhost', path: localhostPath(legacyPath.slice(10)) };
  throw new InvalidArgumentError(`unknown seccomp profile "${legacyPath}"`);
}

function localhostPath(ref: string): string {
  if (!path.posix.isAbsolute(ref)) {
    throw new InvalidArgumentError(`Localhost seccomp profile "${ref}" is not an absolute path`);
  }
  return ref;
}

/**
 * The container's seccomp filter. A privileged container gets none (CRI: privileged means no
 * seccomp confinement). Runs after withCapabilities: the default profile allows what the
 * container's bounding set lets it do.
 */
export const withSeccomp: SpecOpt = (spec, { config, features, lookups }) => {
  delete spec.linux.seccomp;
  const sc = config.linux?.security_context;
  if (sc?.privileged) return;
  const choice = seccompChoice(sc?.seccomp, sc?.seccomp_profile_path ?? '');
  if (choice.kind === 'unconfined') return;
  let template = DEFAULT_SECCOMP_TEMPLATE;
  if (choice.kind === 'localhost') {
    let text: string;
    try {
      text = lookups.readSeccompProfile(choice.path);
    } catch (err) {
      throw new InvalidArgumentError(
        `cannot read seccomp profile ${choice.path}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    template = parseSeccompProfile(text, choice.path);
  }
  spec.linux.seccomp = resolveSeccomp(template, {
    arch: features.arch,
    kernelRelease: features.kernelRelease,
    capabilities: spec.process.capabilities?.bounding ?? [],
  });
};
