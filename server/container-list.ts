import type { ListContainersRequest__Output } from '../api/generated/runtime/v1/ListContainersRequest';
import type { ListContainersResponse } from '../api/generated/runtime/v1/ListContainersResponse';
import { containerState } from '../oci/container-record';
import { selectContainers } from './container-filter';
import type { DaemonContext } from './context';

/** ListContainers: every container, narrowed by ID or pod (or unique prefixes), state and labels. */
export async function listContainers(
  ctx: DaemonContext,
  request: ListContainersRequest__Output,
): Promise<ListContainersResponse> {
  const filter = request.filter;
  let records = selectContainers(ctx.containers.list(), filter);
  if (filter?.state) records = records.filter((r) => containerState(r) === filter.state!.state);
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
