import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { LinuxContainerResources__Output } from '../api/generated/runtime/v1/LinuxContainerResources';
import { InternalError, InvalidArgumentError } from '../common/errors';

/** One value to write into a cgroup file: `<root>/<controller>/<cgroupsPath>/<file>` on v1. */
export interface CgroupWrite {
  /** The v1 controller hierarchy (e.g. "memory"); empty on cgroup v2. */
  controller: string;
  file: string;
  value: string;
}

export const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * Where a cgroup file lives under cgroupfs: `<root>/<controller>/<cgroupsPath>/<file>` on v1 (one
 * hierarchy per controller), `<root>/<cgroupsPath>/<file>` on v2 (controller '').
 */
export function cgroupFilePath(
  cgroupsPath: string,
  controller: string,
  file: string,
  root = CGROUP_ROOT,
): string {
  return path.join(root, controller, cgroupsPath, file);
}

/**
 * The cgroup v1 writes that apply CRI resources. Zero means "not set" for every CRI field, so it
 * changes nothing. The period is written before the quota (the kernel checks the pair); the
 * memory+swap limit is ordered around the memory limit by the caller (see applyResources).
 */
export function cgroupV1Writes(r: LinuxContainerResources__Output): CgroupWrite[] {
  if (Object.keys(r.unified ?? {}).length > 0) {
    throw new InvalidArgumentError('unified cgroup resources need cgroup v2; this host runs cgroup v1');
  }
  const writes: CgroupWrite[] = [];
  const add = (controller: string, file: string, value: string | number) =>
    writes.push({ controller, file, value: String(value) });
  if (Number(r.cpu_shares) > 0) add('cpu', 'cpu.shares', r.cpu_shares);
  if (Number(r.cpu_period) > 0) add('cpu', 'cpu.cfs_period_us', r.cpu_period);
  if (Number(r.cpu_quota) !== 0) add('cpu', 'cpu.cfs_quota_us', r.cpu_quota);
  if (r.cpuset_cpus) add('cpuset', 'cpuset.cpus', r.cpuset_cpus);
  if (r.cpuset_mems) add('cpuset', 'cpuset.mems', r.cpuset_mems);
  if (Number(r.memory_limit_in_bytes) > 0) add('memory', 'memory.limit_in_bytes', r.memory_limit_in_bytes);
  if (Number(r.memory_swap_limit_in_bytes) > 0) {
    add('memory', 'memory.memsw.limit_in_bytes', r.memory_swap_limit_in_bytes);
  }
  for (const h of r.hugepage_limits ?? [])
    add('hugetlb', `hugetlb.${pageSize(h.page_size)}.limit_in_bytes`, h.limit);
  return writes;
}

/** The cgroup v2 writes for the same resources, plus the raw `unified` entries. */
export function cgroupV2Writes(r: LinuxContainerResources__Output): CgroupWrite[] {
  const writes: CgroupWrite[] = [];
  const add = (file: string, value: string | number) =>
    writes.push({ controller: '', file, value: String(value) });
  const shares = Number(r.cpu_shares);
  // The conversion runc and the kernel docs use: shares 2..262144 onto weight 1..10000.
  if (shares > 0) add('cpu.weight', 1 + Math.floor(((Math.max(shares, 2) - 2) * 9999) / 262142));
  const quota = Number(r.cpu_quota);
  if (quota !== 0 || Number(r.cpu_period) > 0) {
    add('cpu.max', `${quota > 0 ? quota : 'max'} ${Number(r.cpu_period) > 0 ? r.cpu_period : 100000}`);
  }
  if (r.cpuset_cpus) add('cpuset.cpus', r.cpuset_cpus);
  if (r.cpuset_mems) add('cpuset.mems', r.cpuset_mems);
  const memory = Number(r.memory_limit_in_bytes);
  if (memory > 0) add('memory.max', memory);
  const swap = Number(r.memory_swap_limit_in_bytes);
  // v1's limit counts memory plus swap; v2's swap.max counts swap alone.
  if (swap > 0 && memory > 0) add('memory.swap.max', Math.max(0, swap - memory));
  for (const h of r.hugepage_limits ?? []) add(`hugetlb.${pageSize(h.page_size)}.max`, h.limit);
  for (const [file, value] of Object.entries(r.unified ?? {})) {
    if (!/^[a-z]+\.[a-z0-9_.]+$/.test(file))
      throw new InvalidArgumentError(`unified resource "${file}" is not a cgroup file`);
    add(file, value);
  }
  return writes;
}

function pageSize(size: string): string {
  if (!/^\d+[KMG]B$/.test(size))
    throw new InvalidArgumentError(`hugepage size "${size}" is not like 2MB or 1GB`);
  return size;
}

/** Whether this host runs the unified (v2) hierarchy only. */
export function isCgroupV2(root = CGROUP_ROOT): boolean {
  return existsSync(path.join(root, 'cgroup.controllers'));
}

/**
 * Applies resources to a live container's cgroup (UpdateContainerResources), the cgroupfs way:
 * by writing its cgroup files, as `runc update` does.
 */
export async function applyResources(
  cgroupsPath: string,
  resources: LinuxContainerResources__Output,
  root = CGROUP_ROOT,
): Promise<void> {
  const v2 = isCgroupV2(root);
  const writes = v2 ? cgroupV2Writes(resources) : cgroupV1Writes(resources);
  const fileOf = (w: CgroupWrite) => cgroupFilePath(cgroupsPath, w.controller, w.file, root);
  if (!v2) await orderMemoryWrites(writes, fileOf);
  for (const write of writes) {
    try {
      await fs.writeFile(fileOf(write), write.value);
    } catch (err) {
      throw new InternalError(`cannot set ${write.file} to ${write.value}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}

/**
 * memory.limit_in_bytes may never exceed memory.memsw.limit_in_bytes: when the new memory limit
 * is above the current memory+swap limit, the memsw write must go first.
 */
async function orderMemoryWrites(writes: CgroupWrite[], fileOf: (w: CgroupWrite) => string): Promise<void> {
  const memory = writes.findIndex((w) => w.file === 'memory.limit_in_bytes');
  const memsw = writes.findIndex((w) => w.file === 'memory.memsw.limit_in_bytes');
  if (memory < 0 || memsw < 0) return;
  const current = Number((await fs.readFile(fileOf(writes[memsw]), 'utf8').catch(() => '0')).trim());
  if (Number(writes[memory].value) > current) {
    const [swapWrite] = writes.splice(memsw, 1);
    writes.splice(memory, 0, swapWrite);
  }
}
