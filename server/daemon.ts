import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ImageStore } from '../image/image-store';
import { registriesFromConfig } from '../image/mirrors';
import { CniResultCache } from '../network/cni-cache';
import { CniManager } from '../network/cni-manager';
import { PodCidrStore } from '../network/pod-cidr';
import { ContainerManager } from '../oci/container-manager';
import { ContainerStatsCollector } from '../oci/container-stats';
import { PodStatsCollector } from '../sandbox/pod-stats';
import { SandboxManager } from '../sandbox/sandbox-manager';
import type { Config } from './config';
import type { DaemonContext } from './context';
import { applyReloadedConfig } from './config-reload';
import { CriServer } from './grpc-server';
import { LifecycleEvents } from './lifecycle-events';
import { createLogger } from './logger';
import { MetricsServer } from './metrics-server';
import { version } from './runtime-version';
import { containerStreams } from './streaming/container-streams';
import { StreamingServer } from './streaming/server';

/**
 * Runs the daemon until SIGTERM or SIGINT: prepares the state directories, loads what must survive
 * restarts, serves CRI, and on a signal lets in-flight calls finish before exiting.
 */
export async function runDaemon(config: Config, reload?: () => Config): Promise<void> {
  const logger = createLogger(config.log);
  // State directories are root's: images and container records are not for other users to read.
  await fs.mkdir(config.root, { recursive: true, mode: 0o711 });
  await fs.mkdir(config.runroot, { recursive: true, mode: 0o711 });
  const podCidrs = PodCidrStore.at(config.root);
  await podCidrs.load();

  const network = new CniManager({
    confDir: config.cni.conf_dir,
    binDirs: config.cni.bin_dirs,
    cache: CniResultCache.at(config.root),
    podCidrs: () => podCidrs.get(),
    logger,
  });
  const events = new LifecycleEvents(logger);
  const sandboxes = new SandboxManager(config, logger, network, events);
  await sandboxes.load();
  // Attachments cached for pods that no longer exist (a remove cut short by a crash) are released.
  const gc = await network.garbageCollect(sandboxes.store.all().map((record) => record.id));
  if (gc.removed.length > 0 || gc.errors.length > 0) {
    logger.info('CNI garbage collected', { removed: gc.removed, errors: gc.errors.map((e) => e.message) });
  }

  const images: ImageStore = new ImageStore({
    root: path.join(config.root, 'images'),
    logger,
    registries: registriesFromConfig(config.registries),
    // An image a container uses may not be removed.
    inUse: (imageId: string): boolean => containers.usesImage(imageId),
  });
  await images.init();

  const containers: ContainerManager = new ContainerManager(config, logger, sandboxes, images, events);
  events.readStatesFrom({
    sandbox: (podId) => sandboxes.store.find(podId),
    containers: (podId) => containers.ofPod(podId),
  });
  sandboxes.attachContainers(containers);
  await containers.load();

  const streaming = new StreamingServer(
    config.streaming,
    containerStreams({ containers, sandboxes }),
    logger,
  );
  await streaming.start();

  const stats = new PodStatsCollector(new ContainerStatsCollector(path.join(config.root, 'containers')));
  const ctx: DaemonContext = {
    config,
    logger,
    podCidrs,
    network,
    sandboxes,
    images,
    containers,
    streaming,
    stats,
    events,
  };
  const metrics = config.metrics.address
    ? await MetricsServer.start(config.metrics.address, ctx, logger)
    : undefined;
  const server = new CriServer(ctx, metrics?.observeCall);
  await server.start();
  logger.info('berth started', { version: version().runtime_version, pid: process.pid, root: config.root });

  // SIGHUP: read the config file again and take what a running daemon can (config-reload.ts).
  const onReload = (): void => {
    if (!reload) return;
    try {
      applyReloadedConfig(ctx, reload(), ({ applied, needRestart }) => {
        logger.info('configuration reloaded', { applied, ...(needRestart.length ? { needRestart } : {}) });
        if (needRestart.length > 0) {
          logger.warn('changed settings take effect at the next start', { keys: needRestart });
        }
      });
    } catch (err) {
      logger.error('configuration not reloaded; the running one stays', { error: (err as Error).message });
    }
  };
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info('shutting down', { signal });
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      // Event streams never end by themselves: they end here, so in-flight calls can finish.
      events.close();
      server
        .stop()
        .then(() => streaming.stop())
        .then(() => metrics?.stop())
        .then(() => containers.close())
        .then(() => network.close())
        .then(() => images.close())
        .then(resolve, (err) => {
          logger.error('shutdown failed', { error: String(err) });
          resolve();
        });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', onReload);
  });
  process.off('SIGHUP', onReload);
  logger.info('berth stopped');
}
