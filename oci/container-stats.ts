import type { ContainerStats } from '../api/generated/runtime/v1/ContainerStats';
import type { CpuUsage } from '../api/generated/runtime/v1/CpuUsage';
import type { MemoryUsage } from '../api/generated/runtime/v1/MemoryUsage';
import type { SwapUsage } from '../api/generated/runtime/v1/SwapUsage';
import { readCgroupUsage, workingSetBytes, type CgroupUsage } from './cgroup-stats';
import { containerState, type ContainerRecord } from './container-record';
import { WritableLayerUsage, type DiskUsage } from './writable-layer-usage';

/** Now in nanoseconds since the epoch, finer than Date.now()'s milliseconds (the rate divides by it). */
export function sampleTime(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/**
 * usage_nano_cores from the previous sample of the same object, kept in memory as containerd
 * does: CPU time used between the two samples over the wall time between them. The first sample
 * of an object has no rate (undefined, so the field stays unset as containerd and cAdvisor leave
 * it); neither has a sample whose counter went backwards (a pod whose container cgroups came
 * and went) or that is not later than the previous one. Objects not sampled for five minutes
 * are forgotten.
 */
export class CpuRateTracker {
  private readonly previous = new Map<string, { cpuNanos: bigint; at: bigint }>();

  nanoCores(key: string, cpuNanos: bigint, at: bigint): bigint | undefined {
    this.forgetOlderThan(at - 300_000_000_000n);
    const last = this.previous.get(key);
    this.previous.set(key, { cpuNanos, at });
    if (!last || at <= last.at || cpuNanos < last.cpuNanos) return undefined;
    return ((cpuNanos - last.cpuNanos) * 1_000_000_000n) / (at - last.at);
  }

  private forgetOlderThan(at: bigint): void {
    for (const [key, sample] of this.previous) if (sample.at < at) this.previous.delete(key);
  }
}

/** The CRI CpuUsage of a cgroup sample; undefined when the cgroup reports no CPU time. */
export function criCpu(usage: CgroupUsage, at: bigint, nanoCores: bigint | undefined): CpuUsage | undefined {
  if (usage.cpuNanos === undefined) return undefined;
  return {
    timestamp: at.toString(),
    usage_core_nano_seconds: uint64(usage.cpuNanos),
    usage_nano_cores: nanoCores === undefined ? null : uint64(nanoCores),
  };
}

/**
 * The CRI MemoryUsage of a cgroup sample. available_bytes is the limit minus the working set
 * (never below zero), and unset without a limit: "unknown", as cAdvisor reports it, rather than
 * containerd's 0, which reads as "none left".
 */
export function criMemory(usage: CgroupUsage, at: bigint): MemoryUsage | undefined {
  const memory = usage.memory;
  if (!memory) return undefined;
  const workingSet = workingSetBytes(memory);
  return {
    timestamp: at.toString(),
    working_set_bytes: uint64(workingSet),
    available_bytes:
      memory.limitBytes === undefined
        ? null
        : uint64(memory.limitBytes > workingSet ? memory.limitBytes - workingSet : 0n),
    usage_bytes: uint64(memory.usageBytes),
    rss_bytes: uint64(memory.rssBytes),
    page_faults: uint64(memory.pageFaults),
    major_page_faults: uint64(memory.majorPageFaults),
  };
}

/** The CRI SwapUsage of a cgroup sample, when the cgroup accounts swap. */
export function criSwap(usage: CgroupUsage, at: bigint): SwapUsage | undefined {
  const swap = usage.swap;
  if (!swap) return undefined;
  return {
    timestamp: at.toString(),
    swap_usage_bytes: uint64(swap.usageBytes),
    swap_available_bytes:
      swap.limitBytes === undefined
        ? null
        : uint64(swap.limitBytes > swap.usageBytes ? swap.limitBytes - swap.usageBytes : 0n),
  };
}

export function uint64(value: bigint): { value: string } {
  return { value: value.toString() };
}

/** A container's stats and the tasks in its cgroup (which a pod's process count may add up). */
export interface ContainerSample {
  stats: ContainerStats;
  usage?: CgroupUsage;
}

/**
 * ContainerStats of berth's containers: the cgroup counters of a running container, and the
 * writable layer (the overlay upper dir) of every container. A container that is not running has
 * no cgroup to read (the runtime removed it), so it reports its attributes and writable layer
 * only, as containerd does.
 */
export class ContainerStatsCollector {
  private readonly cpuRates = new CpuRateTracker();
  private readonly layers: WritableLayerUsage;

  constructor(
    /** The filesystem the writable layers live on, reported as their fs_id. */
    private readonly layersMountpoint: string,
    private readonly options: { layerMaxAgeMs?: number; cgroupRoot?: string } = {},
  ) {
    this.layers = new WritableLayerUsage(options.layerMaxAgeMs);
  }

  async sample(record: ContainerRecord): Promise<ContainerSample> {
    const { usage, layer } = await this.read(record);
    const stats: ContainerStats = {
      attributes: {
        id: record.id,
        metadata: record.config.metadata,
        labels: record.config.labels,
        annotations: record.config.annotations,
      },
      writable_layer: {
        timestamp: (BigInt(layer.measuredAt) * 1_000_000n).toString(),
        fs_id: { mountpoint: this.layersMountpoint },
        used_bytes: uint64(layer.bytes),
        inodes_used: uint64(layer.inodes),
      },
    };
    if (usage) {
      const at = sampleTime();
      const nanoCores =
        usage.cpuNanos === undefined ? undefined : this.cpuRates.nanoCores(record.id, usage.cpuNanos, at);
      stats.cpu = criCpu(usage, at, nanoCores);
      stats.memory = criMemory(usage, at);
      stats.swap = criSwap(usage, at);
    }
    return { stats, usage };
  }

  /**
   * The cgroup usage of a running container (undefined otherwise) and its writable layer, as read,
   * without a CPU rate (which would move the window ContainerStats's rate is measured over).
   */
  async read(record: ContainerRecord): Promise<ContainerReadings> {
    const running = containerState(record) === 'CONTAINER_RUNNING' && record.cgroupsPath !== '';
    const [usage, layer] = await Promise.all([
      running ? readCgroupUsage(record.cgroupsPath, this.options.cgroupRoot) : undefined,
      this.layers.of(record.upperDir),
    ]);
    return { usage, layer };
  }
}

/** What a container's stats and metrics are made from. */
export interface ContainerReadings {
  usage?: CgroupUsage;
  layer: DiskUsage;
}
