import * as path from 'node:path';
import type { LinuxContainerResources__Output } from '../../api/generated/runtime/v1/LinuxContainerResources';
import { InvalidArgumentError } from '../../common/errors';
import { restrictOomScoreAdj } from '../oom';
import type { OciLinuxResources } from '../spec-types';
import type { SpecOpt } from './input';

/** A CRI int64 (a decimal string on the wire) as a number, refusing what a double cannot hold. */
function int64(field: string, value: string): number {
  const n = Number(value || '0');
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`${field} ${value} is not an integer`);
  return n;
}

function positive(field: string, value: string): number | undefined {
  const n = int64(field, value);
  if (n < 0) throw new InvalidArgumentError(`${field} ${value} is negative`);
  return n === 0 ? undefined : n;
}

/**
 * CRI LinuxContainerResources as OCI linux.resources (config-linux.md#control-groups). Zero
 * means unset in the CRI, so zeros are left out and the cgroup keeps its default. cpu_quota may
 * be -1 (no limit). The device rules are withDevices's business and stay as they are.
 */
export function linuxResources(
  r: LinuxContainerResources__Output | null | undefined,
  devices: OciLinuxResources['devices'],
): OciLinuxResources {
  const out: OciLinuxResources = {};
  if (devices) out.devices = devices;
  if (!r) return out;
  const cpu: NonNullable<OciLinuxResources['cpu']> = {};
  const shares = positive('cpu_shares', r.cpu_shares);
  if (shares !== undefined) cpu.shares = shares;
  const quota = int64('cpu_quota', r.cpu_quota);
  if (quota !== 0) {
    if (quota < -1) throw new InvalidArgumentError(`cpu_quota ${r.cpu_quota} is below -1`);
    cpu.quota = quota;
  }
  const period = positive('cpu_period', r.cpu_period);
  if (period !== undefined) cpu.period = period;
  if (r.cpuset_cpus) cpu.cpus = r.cpuset_cpus;
  if (r.cpuset_mems) cpu.mems = r.cpuset_mems;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  const memory: NonNullable<OciLinuxResources['memory']> = {};
  const limit = positive('memory_limit_in_bytes', r.memory_limit_in_bytes);
  if (limit !== undefined) memory.limit = limit;
  // memory_swap_limit_in_bytes is memory plus swap, as OCI's swap (and cgroup v1's memsw) is;
  // -1 lets the container swap without limit.
  const swap = int64('memory_swap_limit_in_bytes', r.memory_swap_limit_in_bytes);
  if (swap !== 0) {
    if (swap < -1) throw new InvalidArgumentError(`memory_swap_limit_in_bytes ${swap} is below -1`);
    if (limit !== undefined && swap !== -1 && swap < limit) {
      throw new InvalidArgumentError(
        `memory_swap_limit_in_bytes ${swap} is below memory_limit_in_bytes ${limit} (it counts memory and swap)`,
      );
    }
    memory.swap = swap;
  }
  if (Object.keys(memory).length > 0) out.memory = memory;

  if (r.hugepage_limits.length > 0) {
    out.hugepageLimits = r.hugepage_limits.map((h) => {
      if (!/^\d+(KB|MB|GB|TB|PB)$/.test(h.page_size)) {
        throw new InvalidArgumentError(`hugepage size "${h.page_size}" is not of the form <n>KB|MB|GB`);
      }
      return { pageSize: h.page_size, limit: int64('hugepage limit', h.limit) };
    });
  }
  if (Object.keys(r.unified ?? {}).length > 0) out.unified = { ...r.unified };
  return out;
}

/**
 * Resources, and the process's oom_score_adj: the kubelet's value from its QoS class, raised to
 * the daemon's own when lower, since going below needs CAP_SYS_RESOURCE (oci/oom.ts).
 */
export const withResources: SpecOpt = (spec, { config, features }) => {
  const r = config.linux?.resources;
  spec.linux.resources = linuxResources(r, spec.linux.resources?.devices);
  const wanted = int64('oom_score_adj', r?.oom_score_adj ?? '0');
  if (wanted < -1000 || wanted > 1000) {
    throw new InvalidArgumentError(`oom_score_adj ${wanted} is outside -1000..1000`);
  }
  spec.process.oomScoreAdj = restrictOomScoreAdj(wanted, features.ownOomScoreAdj);
};

/**
 * The container's cgroup: beside the pause process's, under the pod's cgroup parent (the
 * kubelet's pod cgroup), as `<parent>/<container id>`, the form runtimes take for cgroupfs.
 */
export const withCgroupsPath: SpecOpt = (spec, { id, sandbox }) => {
  spec.linux.cgroupsPath = `${path.posix.dirname(sandbox.cgroupsPath)}/${id}`;
};
