import type { PodSandboxStats } from '../api/generated/runtime/v1/PodSandboxStats';
import type { PodSandboxStatsRequest__Output } from '../api/generated/runtime/v1/PodSandboxStatsRequest';
import type { PodSandboxStatsResponse } from '../api/generated/runtime/v1/PodSandboxStatsResponse';
import { InvalidArgumentError, UnavailableError } from '../common/errors';
import type { SandboxRecord } from '../sandbox/sandbox-record';
import type { DaemonContext } from './context';

/**
 * PodSandboxStats: the pod cgroup's CPU, memory and process count, the pod network's counters and
 * its containers' stats. NotFound for an unknown ID; Unavailable for a pod that is not ready (its
 * pause process, namespaces and cgroups are gone), as containerd answers.
 */
export async function podSandboxStats(
  ctx: DaemonContext,
  request: PodSandboxStatsRequest__Output,
): Promise<PodSandboxStatsResponse> {
  if (!request.pod_sandbox_id) throw new InvalidArgumentError('PodSandboxStats needs a pod_sandbox_id');
  const record = await ctx.sandboxes.get(request.pod_sandbox_id);
  if (record.state !== 'ready') throw new UnavailableError(`pod sandbox ${record.id} is not ready`);
  return { stats: await statsOfPod(ctx, record) };
}

/** The stats of a ready pod and of its containers. */
export function statsOfPod(ctx: DaemonContext, record: SandboxRecord): Promise<PodSandboxStats> {
  return ctx.stats.stats(record, ctx.containers.ofPod(record.id));
}
