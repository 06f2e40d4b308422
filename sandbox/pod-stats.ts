import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ContainerStats } from '../api/generated/runtime/v1/ContainerStats';
import type { NetworkInterfaceUsage } from '../api/generated/runtime/v1/NetworkInterfaceUsage';
import type { NetworkUsage } from '../api/generated/runtime/v1/NetworkUsage';
import type { PodSandboxStats } from '../api/generated/runtime/v1/PodSandboxStats';
import { readCgroupUsage, sumUsage, type CgroupUsage } from '../oci/cgroup-stats';
import type { ContainerRecord } from '../oci/container-record';
import {
  ContainerStatsCollector,
  CpuRateTracker,
  criCpu,
  criMemory,
  sampleTime,
  uint64,
} from '../oci/container-stats';
import type { SandboxRecord } from './sandbox-record';

/** The interface CNI gives every pod, reported as the default one (the kubelet's "eth0"). */
const DEFAULT_INTERFACE = 'eth0';

/** One interface's cumulative counters, as /proc/<pid>/net/dev shows them. */
export interface InterfaceCounters {
  name: string;
  rxBytes: bigint;
  rxPackets: bigint;
  rxErrors: bigint;
  rxDropped: bigint;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  txDropped: bigint;
}

/**
 * Parses /proc/net/dev: two header lines, then `name: ` and 16 counters, the receive eight
 * (bytes packets errs drop fifo frame compressed multicast) before the transmit eight (bytes
 * packets errs drop fifo colls carrier compressed).
 */
export function parseNetDev(text: string): InterfaceCounters[] {
  const interfaces: InterfaceCounters[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (fields.length < 16 || !fields.every((f) => /^\d+$/.test(f))) continue;
    const n = fields.map(BigInt);
    interfaces.push({
      name: line.slice(0, colon).trim(),
      rxBytes: n[0],
      rxPackets: n[1],
      rxErrors: n[2],
      rxDropped: n[3],
      txBytes: n[8],
      txPackets: n[9],
      txErrors: n[10],
      txDropped: n[11],
    });
  }
  return interfaces;
}

/**
 * The network counters of a process's network namespace: /proc/<pid>/net/dev shows the namespace
 * of that process, so no setns is needed. Loopback is left out (traffic inside the pod is not
 * the pod's network use), as containerd does; eth0 is the default interface, else the first.
 */
export async function networkUsageOf(pid: number, at: bigint): Promise<NetworkUsage> {
  const interfaces = (await podInterfaces(pid)).map((i): NetworkInterfaceUsage => ({
    name: i.name,
    rx_bytes: uint64(i.rxBytes),
    rx_errors: uint64(i.rxErrors),
    tx_bytes: uint64(i.txBytes),
    tx_errors: uint64(i.txErrors),
  }));
  return {
    timestamp: at.toString(),
    default_interface: interfaces.find((i) => i.name === DEFAULT_INTERFACE) ?? interfaces[0] ?? null,
    interfaces,
  };
}

/**
 * The counters of every interface but loopback in the network namespace of `pid`. Read
 * synchronously, as procfs makes the file in memory (see readFiles in oci/cgroup-stats.ts).
 */
export async function podInterfaces(pid: number): Promise<InterfaceCounters[]> {
  return parseNetDev(readFileSync(`/proc/${pid}/net/dev`, 'utf8')).filter((i) => i.name !== 'lo');
}

/**
 * PodSandboxStats: the pod cgroup's CPU, memory and tasks, the network of the pod's namespace,
 * and the stats of its containers.
 *
 * The pod cgroup is the pod's cgroup parent (the kubelet's pod<uid> cgroup): the pause process
 * and every container have a child cgroup in it (see oci/spec/resources.ts). A pod created
 * without a cgroup parent shares berth's default parent with other such pods, so its usage is
 * the sum of its own pause and container cgroups instead (and has no limit).
 */
export class PodStatsCollector {
  private readonly cpuRates = new CpuRateTracker();

  constructor(
    readonly containers: ContainerStatsCollector,
    private readonly cgroupRoot?: string,
  ) {}

  /** Stats of a ready pod (the caller checks: a stopped pod has no pause process and no cgroups). */
  async stats(sandbox: SandboxRecord, containers: ContainerRecord[]): Promise<PodSandboxStats> {
    const samples = await Promise.all(containers.map((c) => this.containers.sample(c)));
    const at = sampleTime();
    const [usage, network] = await Promise.all([
      this.podUsage(sandbox, samples),
      sandbox.host.network ? undefined : networkUsageOf(sandbox.pausePid, at),
    ]);
    const nanoCores =
      usage?.cpuNanos === undefined ? undefined : this.cpuRates.nanoCores(sandbox.id, usage.cpuNanos, at);
    return {
      attributes: {
        id: sandbox.id,
        metadata: sandbox.config.metadata,
        labels: sandbox.config.labels,
        annotations: sandbox.config.annotations,
      },
      linux: {
        cpu: usage && criCpu(usage, at, nanoCores),
        memory: usage && criMemory(usage, at),
        network,
        process:
          usage?.pids === undefined
            ? undefined
            : { timestamp: at.toString(), process_count: uint64(usage.pids) },
        containers: samples.map((s): ContainerStats => s.stats),
      },
    };
  }

  private async podUsage(
    sandbox: SandboxRecord,
    samples: Array<{ usage?: CgroupUsage }>,
  ): Promise<CgroupUsage | undefined> {
    if (sandbox.config.linux?.cgroup_parent) {
      return readCgroupUsage(path.posix.dirname(sandbox.cgroupsPath), this.cgroupRoot);
    }
    const pause = await readCgroupUsage(sandbox.cgroupsPath, this.cgroupRoot);
    return sumUsage([pause, ...samples.map((s) => s.usage)].filter((u): u is CgroupUsage => u !== undefined));
  }
}
