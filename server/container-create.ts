import type { CreateContainerRequest__Output } from '../api/generated/runtime/v1/CreateContainerRequest';
import type { CreateContainerResponse } from '../api/generated/runtime/v1/CreateContainerResponse';
import { InvalidArgumentError } from '../common/errors';
import type { DaemonContext } from './context';

/** CreateContainer: a container in a ready pod, created but not started. */
export async function createContainer(
  ctx: DaemonContext,
  request: CreateContainerRequest__Output,
): Promise<CreateContainerResponse> {
  if (!request.pod_sandbox_id) throw new InvalidArgumentError('CreateContainer needs a pod_sandbox_id');
  if (!request.config) throw new InvalidArgumentError('CreateContainer needs a config');
  const record = await ctx.containers.create(request.pod_sandbox_id, request.config);
  return { container_id: record.id };
}
