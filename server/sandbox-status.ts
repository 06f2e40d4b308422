import type { PodSandboxStatus } from '../api/generated/runtime/v1/PodSandboxStatus';
import type { PodSandboxStatusRequest__Output } from '../api/generated/runtime/v1/PodSandboxStatusRequest';
import type { PodSandboxStatusResponse } from '../api/generated/runtime/v1/PodSandboxStatusResponse';
import { InvalidArgumentError } from '../common/errors';
import { nowNanos } from '../common/time';
import type { SandboxRecord } from '../sandbox/sandbox-record';
import { containerStatusOf } from './container-status';
import type { DaemonContext } from './context';

/**
 * PodSandboxStatus: the pod's state, addresses and namespace options, its containers' statuses
 * and when they were taken; with verbose, the details.
 */
export async function podSandboxStatus(
  ctx: DaemonContext,
  request: PodSandboxStatusRequest__Output,
): Promise<PodSandboxStatusResponse> {
  if (!request.pod_sandbox_id) throw new InvalidArgumentError('PodSandboxStatus needs a pod_sandbox_id');
  const record = await ctx.sandboxes.get(request.pod_sandbox_id);
  return {
    status: podSandboxStatusOf(record),
    info: request.verbose
      ? {
          info: JSON.stringify({
            ...verboseInfo(record),
            cni: (await ctx.network.podNetwork(record.id)) ?? null,
          }),
        }
      : {},
    // With the evented PLEG, the kubelet takes the pod's containers from here whenever the
    // timestamp is set, instead of asking for each container.
    containers_statuses: ctx.containers.ofPod(record.id).map(containerStatusOf),
    timestamp: nowNanos(),
  };
}

/** The CRI status of a sandbox record (also what container events carry). */
export function podSandboxStatusOf(record: SandboxRecord): PodSandboxStatus {
  const [ip, ...additional] = record.ips;
  return {
    id: record.id,
    metadata: record.config.metadata,
    state: sandboxState(record),
    created_at: record.createdAt,
    network: { ip: ip ?? '', additional_ips: additional.map((a) => ({ ip: a })) },
    linux: { namespaces: { options: record.config.linux?.security_context?.namespace_options ?? {} } },
    labels: record.config.labels,
    annotations: record.config.annotations,
    runtime_handler: record.requestedHandler,
  };
}

export function sandboxState(record: SandboxRecord): 'SANDBOX_READY' | 'SANDBOX_NOTREADY' {
  return record.state === 'ready' ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY';
}

function verboseInfo(record: SandboxRecord): Record<string, unknown> {
  return {
    pid: record.pausePid,
    runtimeHandler: record.runtimeHandler,
    namespaces: record.namespaces,
    netns: record.namespaces.net ?? null,
    cgroupsPath: record.cgroupsPath,
    ips: record.ips,
    config: record.config,
    // The pod-level resources of the latest in-place resize (UpdatePodSandboxResources).
    updatedResources: record.updatedResources ?? null,
  };
}
