import type { ListPodSandboxRequest__Output } from '../api/generated/runtime/v1/ListPodSandboxRequest';
import type { ListPodSandboxResponse } from '../api/generated/runtime/v1/ListPodSandboxResponse';
import type { DaemonContext } from './context';
import { selectSandboxes } from './sandbox-filter';
import { sandboxState } from './sandbox-status';

/** ListPodSandbox: every sandbox, narrowed by ID (or unique prefix), state and labels. */
export async function listPodSandbox(
  ctx: DaemonContext,
  request: ListPodSandboxRequest__Output,
): Promise<ListPodSandboxResponse> {
  const filter = request.filter;
  let records = selectSandboxes(await ctx.sandboxes.list(), filter);
  if (filter?.state) records = records.filter((r) => sandboxState(r) === filter.state!.state);
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
