import type { SecurityProfile__Output } from '../../api/generated/runtime/v1/SecurityProfile';
import { FailedPreconditionError, InvalidArgumentError } from '../../common/errors';
import type { SpecOpt } from './input';

/**
 * Paths of /proc and /sys that expose the host (hardware, kernel memory, other tenants' keys
 * and timers) and that a container sees masked: the list Kubernetes, Docker and containerd
 * share.
 */
export const DEFAULT_MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Kernel knobs of /proc a container may read but not turn. */
export const DEFAULT_READONLY_PATHS = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

/**
 * A privileged container is only allowed in a privileged pod: the kubelet checks this too, but a
 * CRI client that skips it must not get host-wide powers in an unprivileged pod.
 */
export const withPrivilegeCheck: SpecOpt = (_spec, { config, sandbox }) => {
  if (!config.linux?.security_context?.privileged) return;
  if (!sandbox.config.linux?.security_context?.privileged) {
    throw new InvalidArgumentError(`privileged container in pod ${sandbox.id}, which is not privileged`);
  }
};

/**
 * masked_paths and readonly_paths (OCI linux.maskedPaths/readonlyPaths). The kubelet sends the
 * defaults explicitly for procMount Default; on the wire an empty list cannot be told from an
 * absent one, so an empty list gets berth's defaults (as CRI-O does) rather than an unmasked
 * /proc for every client that does not know the field (crictl). A privileged container gets
 * neither (CRI: privileged means no masked or read-only paths).
 */
export const withMaskedPaths: SpecOpt = (spec, { config, defaults }) => {
  const sc = config.linux?.security_context;
  if (sc?.privileged) {
    delete spec.linux.maskedPaths;
    delete spec.linux.readonlyPaths;
    return;
  }
  spec.linux.maskedPaths = sc?.masked_paths.length ? [...sc.masked_paths] : [...defaults.maskedPaths];
  spec.linux.readonlyPaths = sc?.readonly_paths.length ? [...sc.readonly_paths] : [...defaults.readonlyPaths];
};

export const withNoNewPrivileges: SpecOpt = (spec, { config }) => {
  spec.process.noNewPrivileges = config.linux?.security_context?.no_new_privs ?? false;
};

export type ApparmorChoice =
  { kind: 'unconfined' } | { kind: 'runtime-default' } | { kind: 'localhost'; name: string };

/**
 * The AppArmor profile the container asks for: the `apparmor` field, else the legacy
 * `apparmor_profile` ("runtime/default", "unconfined", "localhost/<name>"). Neither means the
 * runtime's default: Kubernetes confines containers by default where AppArmor is on.
 */
export function apparmorChoice(
  profile: SecurityProfile__Output | null | undefined,
  legacy: string,
): ApparmorChoice {
  if (profile) {
    switch (profile.profile_type) {
      case 'RuntimeDefault':
        return { kind: 'runtime-default' };
      case 'Unconfined':
        return { kind: 'unconfined' };
      case 'Localhost':
        if (!profile.localhost_ref)
          throw new InvalidArgumentError('Localhost AppArmor profile without a name');
        return { kind: 'localhost', name: profile.localhost_ref };
    }
  }
  if (legacy === '' || legacy === 'runtime/default') return { kind: 'runtime-default' };
  if (legacy === 'unconfined') return { kind: 'unconfined' };
  if (legacy.startsWith('localhost/') && legacy.length > 10)
    return { kind: 'localhost', name: legacy.slice(10) };
  throw new InvalidArgumentError(`unknown AppArmor profile "${legacy}"`);
}

/**
 * process.apparmorProfile. Without AppArmor on the host, the default and unconfined both mean
 * running as is; a named profile cannot be honoured and is an error rather than a silent downgrade.
 * A privileged container runs unconfined.
 */
export const withApparmor: SpecOpt = (spec, { config, features }) => {
  delete spec.process.apparmorProfile;
  const sc = config.linux?.security_context;
  const choice = apparmorChoice(sc?.apparmor, sc?.apparmor_profile ?? '');
  if (sc?.privileged || choice.kind === 'unconfined') return;
  if (!features.apparmor) {
    if (choice.kind === 'localhost') {
      throw new FailedPreconditionError(
        `AppArmor profile "${choice.name}" requested, but AppArmor is not enabled on this host`,
      );
    }
    return;
  }
  spec.process.apparmorProfile = choice.kind === 'localhost' ? choice.name : features.apparmor.defaultProfile;
};
