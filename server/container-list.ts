import type { ListContainersRequest__Output } from '../api/generated/runtime/v1/ListContainersRequest';
import type { ListContainersResponse } from '../api/generated/runtime/v1/ListContainersResponse';
import { resolveIdPrefix } from '../common/ids';
import { matchesLabels } from '../common/label-selector';
import { containerState } from '../oci/container-record';
import type { DaemonContext } from './context';

/** ListContainers: every container, narrowed by ID or pod (or unique prefixes), state and labels. */
export async function listContainers(
  ctx: DaemonContext,
  request: ListContainersRequest__Output,
): Promise<ListContainersResponse> {
  const filter = request.filter;
  let records = ctx.containers.list();
  if (filter?.id) {
    const id = resolveIdPrefix(
      filter.id,
      records.map((r) => r.id),
    );
    records = records.filter((r) => r.id === id);
  }
  if (filter?.pod_sandbox_id) {
    const podId = resolveIdPrefix(filter.pod_sandbox_id, new Set(records.map((r) => r.podId)));
    records = records.filter((r) => r.podId === podId);
  }
  if (filter?.state) records = records.filter((r) => containerState(r) === filter.state!.state);
  if (filter?.label_selector)
    records = records.filter((r) => matchesLabels(r.config.labels, filter.label_selector));
  return {
    containers: records.map((r) => ({
      id: r.id,
      pod_sandbox_id: r.podId,
      metadata: r.config.metadata,
      image: { image: r.imageName, annotations: r.config.image?.annotations ?? {} },
      image_ref: r.imageRef,
      image_id: r.imageId,
      state: containerState(r),
      created_at: r.createdAt,
      labels: r.config.labels,
      annotations: r.config.annotations,
    })),
  };
}
