import type { ContainerMetrics } from '../api/generated/runtime/v1/ContainerMetrics';
import type { Metric } from '../api/generated/runtime/v1/Metric';
import type { MetricDescriptor } from '../api/generated/runtime/v1/MetricDescriptor';
import type { PodSandboxMetrics } from '../api/generated/runtime/v1/PodSandboxMetrics';
import { workingSetBytes } from '../oci/cgroup-stats';
import type { ContainerRecord } from '../oci/container-record';
import type { ContainerReadings } from '../oci/container-stats';
import type { InterfaceCounters } from './pod-stats';

/**
 * The CRI metrics (ListMetricDescriptors, ListPodSandboxMetrics): cAdvisor's metric names, so the
 * kubelet's /metrics/cadvisor reads the same series from the runtime as it read from cAdvisor.
 *
 * The kubelet turns each Metric into a Prometheus sample as `float64(value)` under the descriptor
 * of the same name, with the label values in the descriptor's label key order, and no unit
 * conversion (pkg/kubelet/metrics/collectors/cri_metrics.go). A value is thus in the unit its
 * name says; the `_seconds_total` CPU counters are whole seconds, truncated, as CRI-O sends them,
 * since the message carries an integer.
 *
 * Only what berth measures is reported; a metric it does not read (memory failcnt, CFS
 * throttling, per-CPU usage, process and file descriptor counts, fs limits, ...) has no
 * descriptor rather than a zero.
 */

/** Every metric's first labels: the container ID, its CRI name ("POD" for the pod) and its image. */
const BASE_LABEL_KEYS = ['id', 'name', 'image'] as const;

/** The metrics berth reports, by name: help text and the label keys after the base ones. */
const METRICS = {
  container_cpu_usage_seconds_total: {
    help: 'Cumulative cpu time consumed in seconds.',
    labels: ['cpu'],
  },
  container_cpu_user_seconds_total: { help: 'Cumulative user cpu time consumed in seconds.', labels: [] },
  container_cpu_system_seconds_total: { help: 'Cumulative system cpu time consumed in seconds.', labels: [] },
  container_memory_usage_bytes: {
    help: 'Current memory usage in bytes, including all memory regardless of when it was accessed',
    labels: [],
  },
  container_memory_working_set_bytes: { help: 'Current working set in bytes.', labels: [] },
  container_memory_rss: { help: 'Size of RSS in bytes.', labels: [] },
  container_memory_cache: { help: 'Number of bytes of page cache memory.', labels: [] },
  container_memory_swap: { help: 'Container swap usage in bytes.', labels: [] },
  container_memory_failures_total: {
    help: 'Cumulative count of memory allocation failures.',
    labels: ['failure_type', 'scope'],
  },
  container_spec_memory_limit_bytes: { help: 'Memory limit for the container.', labels: [] },
  container_threads: { help: 'Number of threads running inside the container', labels: [] },
  container_fs_usage_bytes: {
    help: 'Number of bytes that are consumed by the container on this filesystem.',
    labels: [],
  },
  container_start_time_seconds: {
    help: 'Start time of the container since unix epoch in seconds.',
    labels: [],
  },
  container_last_seen: { help: 'Last time a container was seen by the exporter', labels: [] },
  container_network_receive_bytes_total: {
    help: 'Cumulative count of bytes received',
    labels: ['interface'],
  },
  container_network_receive_packets_total: {
    help: 'Cumulative count of packets received',
    labels: ['interface'],
  },
  container_network_receive_packets_dropped_total: {
    help: 'Cumulative count of packets dropped while receiving',
    labels: ['interface'],
  },
  container_network_receive_errors_total: {
    help: 'Cumulative count of errors encountered while receiving',
    labels: ['interface'],
  },
  container_network_transmit_bytes_total: {
    help: 'Cumulative count of bytes transmitted',
    labels: ['interface'],
  },
  container_network_transmit_packets_total: {
    help: 'Cumulative count of packets transmitted',
    labels: ['interface'],
  },
  container_network_transmit_packets_dropped_total: {
    help: 'Cumulative count of packets dropped while transmitting',
    labels: ['interface'],
  },
  container_network_transmit_errors_total: {
    help: 'Cumulative count of errors encountered while transmitting',
    labels: ['interface'],
  },
} satisfies Record<string, { help: string; labels: readonly string[] }>;

export type MetricName = keyof typeof METRICS;

/** The descriptors ListMetricDescriptors answers: one per metric name berth may report. */
export function metricDescriptors(): MetricDescriptor[] {
  return Object.entries(METRICS).map(([name, { help, labels }]) => ({
    name,
    help,
    label_keys: [...BASE_LABEL_KEYS, ...labels],
  }));
}

const NANOS_PER_SECOND = 1_000_000_000n;

/** Who a metric is about: the base label values. */
interface Subject {
  id: string;
  name: string;
  image: string;
}

/** What is common to a batch of samples: their subject and when they were read (0 = live). */
function sampler(subject: Subject) {
  return (
    name: MetricName,
    type: 'COUNTER' | 'GAUGE',
    value: bigint,
    extraLabels: string[] = [],
    timestamp = 0n,
  ): Metric => ({
    name,
    timestamp: timestamp.toString(),
    metric_type: type,
    label_values: [subject.id, subject.name, subject.image, ...extraLabels],
    value: { value: value.toString() },
  });
}

/**
 * A running container's metrics from its cgroup usage and writable layer. CPU, memory and tasks
 * are read on request (timestamp 0, as the CRI asks of live samples); the writable layer may come
 * from the last walk, so it carries the walk's time. `now` is nanoseconds since the epoch.
 */
export function containerMetrics(
  record: ContainerRecord,
  readings: ContainerReadings,
  now: bigint,
): ContainerMetrics {
  const sample = sampler({
    id: record.id,
    name: record.config.metadata?.name ?? '',
    image: record.imageName,
  });
  const metrics: Metric[] = [];
  const { usage, layer } = readings;
  if (usage?.cpuNanos !== undefined) {
    metrics.push(
      sample('container_cpu_usage_seconds_total', 'COUNTER', usage.cpuNanos / NANOS_PER_SECOND, ['total']),
    );
  }
  if (usage?.cpuUserNanos !== undefined) {
    metrics.push(
      sample('container_cpu_user_seconds_total', 'COUNTER', usage.cpuUserNanos / NANOS_PER_SECOND),
    );
  }
  if (usage?.cpuSystemNanos !== undefined) {
    metrics.push(
      sample('container_cpu_system_seconds_total', 'COUNTER', usage.cpuSystemNanos / NANOS_PER_SECOND),
    );
  }
  const memory = usage?.memory;
  if (memory) {
    metrics.push(
      sample('container_memory_usage_bytes', 'GAUGE', memory.usageBytes),
      sample('container_memory_working_set_bytes', 'GAUGE', workingSetBytes(memory)),
      sample('container_memory_rss', 'GAUGE', memory.rssBytes),
      sample('container_memory_cache', 'GAUGE', memory.cacheBytes),
      // memory.stat's total_* (v1) and v2's counters include child cgroups: cAdvisor's "hierarchy".
      sample('container_memory_failures_total', 'COUNTER', memory.pageFaults, ['pgfault', 'hierarchy']),
      sample('container_memory_failures_total', 'COUNTER', memory.majorPageFaults, [
        'pgmajfault',
        'hierarchy',
      ]),
    );
    if (memory.limitBytes !== undefined) {
      metrics.push(sample('container_spec_memory_limit_bytes', 'GAUGE', memory.limitBytes));
    }
  }
  if (usage?.swap) metrics.push(sample('container_memory_swap', 'GAUGE', usage.swap.usageBytes));
  // pids.current counts tasks, threads included: cAdvisor's container_threads, not its processes.
  if (usage?.pids !== undefined) metrics.push(sample('container_threads', 'GAUGE', usage.pids));
  metrics.push(
    sample('container_fs_usage_bytes', 'GAUGE', layer.bytes, [], BigInt(layer.measuredAt) * 1_000_000n),
  );
  if (record.startedAt) {
    metrics.push(
      sample('container_start_time_seconds', 'GAUGE', BigInt(record.startedAt) / NANOS_PER_SECOND),
    );
  }
  metrics.push(sample('container_last_seen', 'GAUGE', now / NANOS_PER_SECOND));
  return { container_id: record.id, metrics };
}

/**
 * A pod's own metrics: the counters of each interface of its network namespace, under the pod's
 * sandbox ID and the name "POD", where cAdvisor reports a pod's network (its pause container).
 */
export function podNetworkMetrics(podId: string, interfaces: InterfaceCounters[]): Metric[] {
  const sample = sampler({ id: podId, name: 'POD', image: '' });
  return interfaces.flatMap((i) => [
    sample('container_network_receive_bytes_total', 'COUNTER', i.rxBytes, [i.name]),
    sample('container_network_receive_packets_total', 'COUNTER', i.rxPackets, [i.name]),
    sample('container_network_receive_packets_dropped_total', 'COUNTER', i.rxDropped, [i.name]),
    sample('container_network_receive_errors_total', 'COUNTER', i.rxErrors, [i.name]),
    sample('container_network_transmit_bytes_total', 'COUNTER', i.txBytes, [i.name]),
    sample('container_network_transmit_packets_total', 'COUNTER', i.txPackets, [i.name]),
    sample('container_network_transmit_packets_dropped_total', 'COUNTER', i.txDropped, [i.name]),
    sample('container_network_transmit_errors_total', 'COUNTER', i.txErrors, [i.name]),
  ]);
}

/** A pod's metrics message: its network and each of its running containers' metrics. */
export function podSandboxMetrics(
  podId: string,
  interfaces: InterfaceCounters[],
  containers: ContainerMetrics[],
): PodSandboxMetrics {
  return {
    pod_sandbox_id: podId,
    metrics: podNetworkMetrics(podId, interfaces),
    container_metrics: containers,
  };
}
