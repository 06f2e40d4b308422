import { promises as fs, constants as fsConstants } from 'node:fs';
import type { RuntimeCondition } from '../api/generated/runtime/v1/RuntimeCondition';
import type { StatusRequest__Output } from '../api/generated/runtime/v1/StatusRequest';
import type { StatusResponse } from '../api/generated/runtime/v1/StatusResponse';
import { supportsRecursiveReadOnly } from '../oci/runtime-features';
import type { DaemonContext } from './context';

/**
 * Status: the two conditions the kubelet gates on. RuntimeReady holds when the default runtime
 * handler's binary can be run; NetworkReady when a valid CNI network and its plugins are installed.
 * With `verbose`, `info` carries JSON documents about the daemon for humans and debugging tools.
 */
export async function status(ctx: DaemonContext, request: StatusRequest__Output): Promise<StatusResponse> {
  const { config } = ctx;
  const runtime = await runtimeCondition(ctx);
  const network = await ctx.network.status();
  const conditions: RuntimeCondition[] = [
    runtime,
    { type: 'NetworkReady', status: network.ready, reason: network.reason, message: network.message },
  ];
  const response: StatusResponse = {
    status: { conditions },
    runtime_handlers: await Promise.all(
      Object.entries(config.runtimes).map(async ([name, handler]) => ({
        name,
        features: {
          recursive_read_only_mounts: await supportsRecursiveReadOnly(handler.path),
          user_namespaces: false,
        },
      })),
    ),
    features: {
      // SupplementalGroupsPolicy Merge and Strict, and the user in ContainerStatus (oci/spec/user.ts).
      supplemental_groups_policy: true,
      user_namespaces_host_network: false,
      // Mount.mount_options reach the bind's options (oci/spec/mounts.ts).
      mount_options: true,
    },
    info: {},
  };
  if (request.verbose) {
    response.info = {
      config: JSON.stringify(config),
      network: JSON.stringify(network.network ?? null),
      podCIDRs: JSON.stringify(ctx.podCidrs.get()),
      apiVersions: JSON.stringify(config.enable_v1alpha2 ? ['v1', 'v1alpha2'] : ['v1']),
      daemon: JSON.stringify({
        pid: process.pid,
        node: process.version,
        uptimeSeconds: Math.round(process.uptime()),
      }),
    };
  }
  return response;
}

async function runtimeCondition(ctx: DaemonContext): Promise<RuntimeCondition> {
  const name = ctx.config.default_runtime;
  const handler = ctx.config.runtimes[name];
  try {
    await fs.access(handler.path, fsConstants.X_OK);
  } catch {
    return {
      type: 'RuntimeReady',
      status: false,
      reason: 'RuntimeBinaryMissing',
      message: `runtime handler "${name}": ${handler.path} is missing or not executable`,
    };
  }
  return { type: 'RuntimeReady', status: true, reason: '', message: '' };
}
