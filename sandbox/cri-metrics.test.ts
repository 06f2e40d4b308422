import type { Metric } from '../api/generated/runtime/v1/Metric';
import type { ContainerRecord } from '../oci/container-record';
import { containerMetrics, metricDescriptors, podSandboxMetrics } from './cri-metrics';
import type { InterfaceCounters } from './pod-stats';

const record = {
  id: 'c1',
  podId: 'p1',
  config: { metadata: { name: 'web', attempt: 0 } },
  imageName: 'registry.local/web:1',
  startedAt: '1700000000123456789',
} as unknown as ContainerRecord;

const readings = {
  usage: {
    cpuNanos: 2_999_999_999n,
    cpuUserNanos: 2_000_000_000n,
    cpuSystemNanos: 990_000_000n,
    memory: {
      usageBytes: 300n,
      limitBytes: 1000n,
      inactiveFileBytes: 100n,
      rssBytes: 150n,
      cacheBytes: 120n,
      pageFaults: 7n,
      majorPageFaults: 1n,
    },
    pids: 4n,
  },
  layer: { bytes: 8192n, inodes: 3n, measuredAt: 1_700_000_100_000 },
};

const NOW = 1_700_000_200_500_000_000n;

const eth0: InterfaceCounters = {
  name: 'eth0',
  rxBytes: 1n,
  rxPackets: 2n,
  rxErrors: 3n,
  rxDropped: 4n,
  txBytes: 5n,
  txPackets: 6n,
  txErrors: 7n,
  txDropped: 8n,
};

/** name{labels} = value, for reading expectations at a glance. */
const show = (m: Metric): string =>
  `${m.name}{${m.label_values!.join(',')}} ${m.metric_type} = ${(m.value as { value: string }).value}`;

describe('CRI metrics', () => {
  test('a running container: cAdvisor names, seconds truncated, bytes, labels in key order', () => {
    const { container_id, metrics } = containerMetrics(record, readings, NOW);
    expect(container_id).toBe('c1');
    const base = 'c1,web,registry.local/web:1';
    expect(metrics!.map(show)).toEqual([
      `container_cpu_usage_seconds_total{${base},total} COUNTER = 2`,
      `container_cpu_user_seconds_total{${base}} COUNTER = 2`,
      `container_cpu_system_seconds_total{${base}} COUNTER = 0`,
      `container_memory_usage_bytes{${base}} GAUGE = 300`,
      `container_memory_working_set_bytes{${base}} GAUGE = 200`,
      `container_memory_rss{${base}} GAUGE = 150`,
      `container_memory_cache{${base}} GAUGE = 120`,
      `container_memory_failures_total{${base},pgfault,hierarchy} COUNTER = 7`,
      `container_memory_failures_total{${base},pgmajfault,hierarchy} COUNTER = 1`,
      `container_spec_memory_limit_bytes{${base}} GAUGE = 1000`,
      `container_threads{${base}} GAUGE = 4`,
      `container_fs_usage_bytes{${base}} GAUGE = 8192`,
      `container_start_time_seconds{${base}} GAUGE = 1700000000`,
      `container_last_seen{${base}} GAUGE = 1700000200`,
    ]);
    // Live readings carry no timestamp; the writable layer carries its walk's, in nanoseconds.
    const stamped = metrics!.filter((m) => m.timestamp !== '0');
    expect(stamped.map((m) => [m.name, m.timestamp])).toEqual([
      ['container_fs_usage_bytes', '1700000100000000000'],
    ]);
  });

  test('what a cgroup does not report is left out, not sent as zero', () => {
    const { metrics } = containerMetrics(
      { ...record, startedAt: undefined },
      {
        usage: { cpuNanos: 5n, memory: { ...readings.usage.memory, limitBytes: undefined } },
        layer: readings.layer,
      },
      NOW,
    );
    const names = metrics!.map((m) => m.name);
    expect(names).not.toContain('container_spec_memory_limit_bytes');
    expect(names).not.toContain('container_cpu_user_seconds_total');
    expect(names).not.toContain('container_memory_swap');
    expect(names).not.toContain('container_threads');
    expect(names).not.toContain('container_start_time_seconds');
    const withSwap = containerMetrics(record, { ...readings, usage: { swap: { usageBytes: 4096n } } }, NOW);
    expect(withSwap.metrics!.map(show)).toContain(
      'container_memory_swap{c1,web,registry.local/web:1} GAUGE = 4096',
    );
  });

  test('a pod: per-interface network counters under its sandbox ID and the name POD', () => {
    const pod = podSandboxMetrics('p1', [eth0], []);
    expect(pod.pod_sandbox_id).toBe('p1');
    expect(pod.container_metrics).toEqual([]);
    expect(pod.metrics!.map(show)).toEqual([
      'container_network_receive_bytes_total{p1,POD,,eth0} COUNTER = 1',
      'container_network_receive_packets_total{p1,POD,,eth0} COUNTER = 2',
      'container_network_receive_packets_dropped_total{p1,POD,,eth0} COUNTER = 4',
      'container_network_receive_errors_total{p1,POD,,eth0} COUNTER = 3',
      'container_network_transmit_bytes_total{p1,POD,,eth0} COUNTER = 5',
      'container_network_transmit_packets_total{p1,POD,,eth0} COUNTER = 6',
      'container_network_transmit_packets_dropped_total{p1,POD,,eth0} COUNTER = 8',
      'container_network_transmit_errors_total{p1,POD,,eth0} COUNTER = 7',
    ]);
  });

  test('every metric has one descriptor whose label keys match its label values', () => {
    const descriptors = new Map(metricDescriptors().map((d) => [d.name!, d]));
    expect(descriptors.size).toBe(metricDescriptors().length);
    const all = [
      ...containerMetrics(
        record,
        { ...readings, usage: { ...readings.usage, swap: { usageBytes: 1n } } },
        NOW,
      ).metrics!,
      ...podSandboxMetrics('p1', [eth0], []).metrics!,
    ];
    for (const metric of all) {
      const descriptor = descriptors.get(metric.name!);
      expect(descriptor).toBeDefined();
      expect(descriptor!.label_keys!.slice(0, 3)).toEqual(['id', 'name', 'image']);
      expect(metric.label_values).toHaveLength(descriptor!.label_keys!.length);
    }
    // And every descriptor is one of them: none describes a metric berth never sends.
    expect(new Set(all.map((m) => m.name))).toEqual(new Set(descriptors.keys()));
  });
});
