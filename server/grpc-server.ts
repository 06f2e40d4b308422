import { promises as fs } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { loadCri, type CriApi } from '../api';
import { loadCriV1alpha2 } from '../api/v1alpha2';
import type { DaemonContext } from './context';
import { imageService, runtimeService } from './handlers';
import type { CallObserver } from './metrics-server';
import { bindService } from './rpc';
import { claimSocketPath } from './socket';

/** How long in-flight calls get to finish on shutdown before they are cut off. */
const SHUTDOWN_GRACE_MS = 10_000;

/** The CRI gRPC server on the daemon's unix socket. */
export class CriServer {
  private readonly server = new grpc.Server({
    // CRI messages such as ListContainers on a busy node exceed grpc's 4 MiB default; the kubelet
    // allows 16 MiB.
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    'grpc.max_send_message_length': 16 * 1024 * 1024,
    // channelz keeps per-call and per-socket statistics for a debugging service berth does not serve.
    'grpc.enable_channelz': 0,
  });
  private started = false;
  private stopping?: Promise<void>;

  constructor(
    private readonly ctx: DaemonContext,
    private readonly observer?: CallObserver,
  ) {
    this.addApi('runtime.v1', loadCri().runtime.v1, 'v1');
    // The same handlers answer v1alpha2: its messages are v1's (see api/v1alpha2.ts).
    if (ctx.config.enable_v1alpha2) this.addApi('runtime.v1alpha2', loadCriV1alpha2(), 'v1alpha2');
  }

  private addApi(pkg: string, api: CriApi, apiVersion: string): void {
    const { RuntimeService, ImageService } = api;
    const { logger } = this.ctx;
    const runtime = runtimeService(this.ctx, apiVersion);
    const image = imageService(this.ctx);
    this.server.addService(
      RuntimeService.service,
      bindService(`${pkg}.RuntimeService`, RuntimeService.service, runtime, logger, this.observer),
    );
    this.server.addService(
      ImageService.service,
      bindService(`${pkg}.ImageService`, ImageService.service, image, logger, this.observer),
    );
  }

  /** Binds the socket (mode 0660: root and the socket's group may talk to the runtime). */
  async start(): Promise<void> {
    const socketPath = this.ctx.config.listen;
    await claimSocketPath(socketPath);
    // The umask covers the moment between bind and chmod, so the socket is never world-writable.
    const previousUmask = process.umask(0o117);
    try {
      await new Promise<number>((resolve, reject) =>
        this.server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err, port) =>
          err ? reject(err) : resolve(port),
        ),
      );
    } finally {
      process.umask(previousUmask);
    }
    await fs.chmod(socketPath, 0o660);
    this.started = true;
    this.ctx.logger.info('serving CRI', { socket: socketPath });
  }

  /** Lets in-flight calls finish (up to a grace period), then removes the socket. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.started) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.ctx.logger.warn('calls still running after the grace period; cutting them off');
          this.server.forceShutdown();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        this.server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await fs.rm(this.ctx.config.listen, { force: true });
  }
}
