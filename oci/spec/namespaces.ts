import type { UserNamespace__Output } from '../../api/generated/runtime/v1/UserNamespace';
import { FailedPreconditionError, InvalidArgumentError, UnimplementedError } from '../../common/errors';
import type { OciNamespace } from '../spec-types';
import type { ContainerSpecInput, SpecOpt } from './input';

/**
 * The namespaces of a container: a new mount namespace of its own; the pod's network, IPC and
 * UTS namespaces joined by their pinned paths (a pod sharing the host's has none pinned, and the
 * container then stays in the host's, as the pause process does); and the pid namespace its
 * NamespaceOption.pid asks for:
 *
 *   POD       the pod's shared pid namespace (the pause process's, pinned by the sandbox)
 *   CONTAINER a new one of its own
 *   NODE      the host's
 *   TARGET    the one of the container named by target_id (ephemeral debug containers)
 *
 * The container's network and IPC modes are the pod's by construction: the kubelet copies the
 * pod's, and a container cannot leave its pod's network.
 */
export function containerNamespaces(input: ContainerSpecInput): OciNamespace[] {
  const { sandbox } = input;
  refuseUserNamespace(input.config.linux?.security_context?.namespace_options?.userns_options, 'container');
  const namespaces: OciNamespace[] = [{ type: 'mount' }];
  if (sandbox.namespaces.net) namespaces.push({ type: 'network', path: sandbox.namespaces.net });
  if (sandbox.namespaces.ipc) namespaces.push({ type: 'ipc', path: sandbox.namespaces.ipc });
  if (sandbox.namespaces.uts) namespaces.push({ type: 'uts', path: sandbox.namespaces.uts });
  const pid = pidNamespace(input);
  if (pid) namespaces.push(pid);
  return namespaces;
}

function pidNamespace({ config, sandbox, lookups }: ContainerSpecInput): OciNamespace | undefined {
  const options = config.linux?.security_context?.namespace_options;
  const mode = options?.pid ?? 'POD';
  switch (mode) {
    case 'NODE':
      return undefined;
    case 'CONTAINER':
      return { type: 'pid' };
    case 'POD':
      if (sandbox.host.pid) return undefined;
      if (sandbox.namespaces.pid) return { type: 'pid', path: sandbox.namespaces.pid };
      // A pod made with pid mode CONTAINER pins no pid namespace; a container that still asks
      // for POD (crictl leaves the field at its default) joins the pause process's, as in
      // containerd.
      if (sandbox.pausePid > 0) return { type: 'pid', path: `/proc/${sandbox.pausePid}/ns/pid` };
      throw new FailedPreconditionError(`pod ${sandbox.id} has no pid namespace for a container to join`);
    case 'TARGET':
      if (!options?.target_id) {
        throw new InvalidArgumentError('pid namespace mode TARGET needs a target_id');
      }
      return { type: 'pid', path: lookups.targetPidNamespace(options.target_id) };
  }
}

export const withNamespaces: SpecOpt = (spec, input) => {
  spec.linux.namespaces = containerNamespaces(input);
};

/**
 * A user namespace of its own (UserNamespace mode POD: the pod's hostUsers: false) is not built
 * yet: refused, rather than running the workload in the host's user namespace it asked to leave.
 * Status reports user_namespaces false for every handler, so a kubelet does not ask.
 */
export function refuseUserNamespace(userns: UserNamespace__Output | null | undefined, what: string): void {
  if (userns && userns.mode !== 'NODE') {
    throw new UnimplementedError(`${what}: user namespaces (mode ${userns.mode}) are not supported by berth`);
  }
}
