import type { RuntimeConfigResponse } from '../api/generated/runtime/v1/RuntimeConfigResponse';
import type { DaemonContext } from './context';

/** RuntimeConfig: tells the kubelet which cgroup driver to use, so both agree on cgroup paths. */
export function runtimeConfig(ctx: DaemonContext): RuntimeConfigResponse {
  // The config loader admits only cgroupfs for now.
  return { linux: { cgroup_driver: ctx.config.cgroup_driver === 'cgroupfs' ? 'CGROUPFS' : 'SYSTEMD' } };
}
