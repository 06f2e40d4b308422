import type { ContainerMetrics } from '../api/generated/runtime/v1/ContainerMetrics';
import type { ListPodSandboxMetricsResponse } from '../api/generated/runtime/v1/ListPodSandboxMetricsResponse';
import type { PodSandboxMetrics } from '../api/generated/runtime/v1/PodSandboxMetrics';
import { containerState } from '../oci/container-record';
import { sampleTime } from '../oci/container-stats';
import { containerMetrics, podSandboxMetrics } from '../sandbox/cri-metrics';
import { podInterfaces } from '../sandbox/pod-stats';
import type { SandboxRecord } from '../sandbox/sandbox-record';
import type { DaemonContext } from './context';

/**
 * ListPodSandboxMetrics: the metrics of every ready pod (its network) and of its running
 * containers (their cgroups and writable layers). Pods that are not ready and containers that do
 * not run have nothing live to report and are left out, as CRI-O does, and so is a pod whose
 * pause process exits while it is measured.
 */
export async function listPodSandboxMetrics(ctx: DaemonContext): Promise<ListPodSandboxMetricsResponse> {
  const records = (await ctx.sandboxes.list()).filter((r) => r.state === 'ready');
  const metrics = await Promise.all(
    records.map((record) =>
      metricsOfPod(ctx, record).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT' && err.code !== 'ESRCH') throw err;
        ctx.logger.debug('pod sandbox gone while measured', { id: record.id, error: err.message });
        return undefined;
      }),
    ),
  );
  return { pod_metrics: metrics.filter((m): m is PodSandboxMetrics => m !== undefined) };
}

async function metricsOfPod(ctx: DaemonContext, sandbox: SandboxRecord): Promise<PodSandboxMetrics> {
  const running = ctx.containers.ofPod(sandbox.id).filter((c) => containerState(c) === 'CONTAINER_RUNNING');
  const [interfaces, readings] = await Promise.all([
    // A host-network pod's interfaces are the node's, not the pod's.
    sandbox.host.network ? [] : podInterfaces(sandbox.pausePid),
    Promise.all(running.map((c) => ctx.stats.containers.read(c))),
  ]);
  const now = sampleTime();
  const containers: ContainerMetrics[] = [];
  running.forEach((record, i) => {
    // No cgroup left to read: the container exited since it was listed.
    if (readings[i].usage) containers.push(containerMetrics(record, readings[i], now));
  });
  return podSandboxMetrics(sandbox.id, interfaces, containers);
}
