import type { ListPodSandboxStatsRequest__Output } from '../api/generated/runtime/v1/ListPodSandboxStatsRequest';
import type { ListPodSandboxStatsResponse } from '../api/generated/runtime/v1/ListPodSandboxStatsResponse';
import type { PodSandboxStats } from '../api/generated/runtime/v1/PodSandboxStats';
import type { DaemonContext } from './context';
import { selectSandboxes } from './sandbox-filter';
import { statsOfPod } from './sandbox-stats';

/**
 * ListPodSandboxStats: the stats of every ready pod the filter selects (ID, labels). Pods that are
 * not ready have nothing to measure and are left out, as containerd does; so is a pod whose pause
 * process exits while it is measured (its /proc entry or cgroup vanishes under the read).
 */
export async function listPodSandboxStats(
  ctx: DaemonContext,
  request: ListPodSandboxStatsRequest__Output,
): Promise<ListPodSandboxStatsResponse> {
  const records = selectSandboxes(await ctx.sandboxes.list(), request.filter).filter(
    (r) => r.state === 'ready',
  );
  const stats = await Promise.all(
    records.map((record) =>
      statsOfPod(ctx, record).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT' && err.code !== 'ESRCH') throw err;
        ctx.logger.debug('pod sandbox gone while measured', { id: record.id, error: err.message });
        return undefined;
      }),
    ),
  );
  return { stats: stats.filter((s): s is PodSandboxStats => s !== undefined) };
}
