/**
 * The daemon's own metrics for Prometheus, on `[metrics] address` when set (off by default, as in
 * containerd and CRI-O): CRI calls by method and status with their latency, pods and containers
 * by state, images, and node's process metrics. prom-client is loaded only when it is on.
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import type { Registry } from 'prom-client';
import { splitHostPort } from '../common/host-port';
import { containerState } from '../oci/container-record';
import type { DaemonContext } from './context';
import type { Logger } from './logger';

/** Told of every CRI call as it ends: its method (`RunPodSandbox`), gRPC status name and length. */
export type CallObserver = (method: string, status: string, seconds: number) => void;

type Sources = Pick<DaemonContext, 'sandboxes' | 'containers' | 'images'>;

export class MetricsServer {
  private constructor(
    private readonly server: http.Server,
    readonly observeCall: CallObserver,
  ) {}

  /** Listens on `address` (host:port; port 0 picks one). */
  static async start(address: string, sources: Sources, logger: Logger): Promise<MetricsServer> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when metrics are on
    const prom = require('prom-client') as typeof import('prom-client');
    const registry: Registry = new prom.Registry();
    prom.collectDefaultMetrics({ register: registry });
    const calls = new prom.Counter({
      name: 'berth_cri_requests_total',
      help: 'CRI calls served, by method and gRPC status.',
      labelNames: ['method', 'status'],
      registers: [registry],
    });
    const latency = new prom.Histogram({
      name: 'berth_cri_request_duration_seconds',
      help: 'How long CRI calls took, by method.',
      labelNames: ['method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    new prom.Gauge({
      name: 'berth_pod_sandboxes',
      help: 'Pod sandboxes, by state.',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        this.reset();
        for (const state of ['ready', 'notready']) this.set({ state }, 0);
        for (const record of sources.sandboxes.store.all()) this.inc({ state: record.state });
      },
    });
    new prom.Gauge({
      name: 'berth_containers',
      help: 'Containers, by CRI state.',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        this.reset();
        for (const state of ['created', 'running', 'exited']) this.set({ state }, 0);
        for (const record of sources.containers.list()) {
          this.inc({ state: containerState(record).replace('CONTAINER_', '').toLowerCase() });
        }
      },
    });
    new prom.Gauge({
      name: 'berth_images',
      help: 'Images in the store.',
      registers: [registry],
      collect() {
        this.set(sources.images.list().length);
      },
    });

    const server = http.createServer((req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    });
    const { host, port } = splitHostPort(address);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address() as net.AddressInfo;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound.port}/metrics`;
    logger.info('serving metrics', { url });
    const observe: CallObserver = (method, status, seconds) => {
      calls.inc({ method, status });
      latency.observe({ method }, seconds);
    };
    return new MetricsServer(server, observe);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
