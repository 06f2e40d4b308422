import type { ListPodSandboxRequest__Output } from '../api/generated/runtime/v1/ListPodSandboxRequest';
import type { ListPodSandboxResponse } from '../api/generated/runtime/v1/ListPodSandboxResponse';
import { resolveIdPrefix } from '../common/ids';
import { matchesLabels } from '../common/label-selector';
import type { DaemonContext } from './context';
import { sandboxState } from './sandbox-status';

/** ListPodSandbox: every sandbox, narrowed by ID (or unique prefix), state and labels. */
export async function listPodSandbox(
  ctx: DaemonContext,
  request: ListPodSandboxRequest__Output,
): Promise<ListPodSandboxResponse> {
  const filter = request.filter;
  let records = await ctx.sandboxes.list();
  if (filter?.id) {
    const id = resolveIdPrefix(
      filter.id,
      records.map((r) => r.id),
    );
    records = records.filter((r) => r.id === id);
  }
  if (filter?.state) records = records.filter((r) => sandboxState(r) === filter.state!.state);
  if (filter?.label_selector)
    records = records.filter((r) => matchesLabels(r.config.labels, filter.label_selector));
  return {
    items: records.map((r) => ({
      id: r.id,
      metadata: r.config.metadata,
      state: sandboxState(r),
      created_at: r.createdAt,
      labels: r.config.labels,
      annotations: r.config.annotations,
      runtime_handler: r.requestedHandler,
    })),
  };
}
