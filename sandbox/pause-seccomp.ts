import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import type { LinuxSandboxSecurityContext__Output } from '../api/generated/runtime/v1/LinuxSandboxSecurityContext';
import { InvalidArgumentError } from '../common/errors';
import { DEFAULT_SECCOMP_TEMPLATE } from '../oci/spec/seccomp-default';
import { parseSeccompProfile, resolveSeccomp, seccompChoice } from '../oci/spec/seccomp';
import type { OciSeccomp } from '../oci/spec-types';

/**
 * The pause process's seccomp filter, from the pod's security context, chosen the way a
 * container's is (RuntimeDefault, Unconfined, a Localhost profile; none for a privileged pod).
 * The pause process has no capabilities, so the default profile's capability-gated rules drop out.
 */
export function pauseSeccomp(
  security: LinuxSandboxSecurityContext__Output | null | undefined,
): OciSeccomp | undefined {
  if (!security || security.privileged) return undefined;
  const choice = seccompChoice(security.seccomp, security.seccomp_profile_path ?? '');
  if (choice.kind === 'unconfined') return undefined;
  let template = DEFAULT_SECCOMP_TEMPLATE;
  if (choice.kind === 'localhost') {
    let text: string;
    try {
      text = readFileSync(choice.path, 'utf8');
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
  return resolveSeccomp(template, { arch: process.arch, kernelRelease: os.release(), capabilities: [] });
}
