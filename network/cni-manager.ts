import { type FSWatcher, promises as fs, watch } from 'node:fs';
import * as net from 'node:net';
import { FailedPreconditionError, InvalidArgumentError } from '../common/errors';
import { CniResultCache, type CniAttachmentRecord } from './cni-cache';
import {
  CNI_NAME_PATTERN,
  type CniNetworkList,
  type NetworkReadiness,
  checkNetworkReady,
  findDefaultNetwork,
} from './cni-config';
import {
  type CniAttachment,
  type CniRunOptions,
  addNetworkList,
  checkNetworkList,
  delNetworkList,
  gcNetworkList,
  statusNetworkList,
} from './cni-network';
import { type CniInterface, type CniResult, parseCniResult, podAddresses } from './cni-result';
import type { CniBandwidth } from './pod-bandwidth';

/** The pod's interface on the default network, as every CRI runtime names it. */
export const POD_IFNAME = 'eth0';
/** statfs(2) f_type of a namespace file (linux/magic.h NSFS_MAGIC). */
const NSFS_MAGIC = 0x6e736673;

/** A host port the pod asks for (CRI PortMapping with host_port > 0), in CNI's portMappings form. */
export interface PodPortMapping {
  protocol: string;
  containerPort: number;
  hostPort: number;
  hostIP?: string;
}

/** What a pod needs attached: its identity, its netns and its capability arguments. */
export interface PodNetworkRequest {
  /** The sandbox ID: CNI_CONTAINERID and K8S_POD_INFRA_CONTAINER_ID. */
  podId: string;
  netnsPath: string;
  name: string;
  namespace: string;
  uid: string;
  portMappings?: PodPortMapping[];
  /** The pod's resolver settings (CRI DNSConfig), for plugins with the `dns` capability. */
  dns?: { servers?: string[]; searches?: string[]; options?: string[] };
  /** Traffic shaping, see bandwidthFromAnnotations. */
  bandwidth?: CniBandwidth;
}

export interface PodNetworkStatus {
  /** The network the pod is attached to. */
  network: string;
  /** The pod's addresses, IPv4 first: the first is the pod IP, the rest CRI additional_ips. */
  ips: string[];
  interfaces: CniInterface[];
  result: CniResult;
}

/** Where the manager logs; the daemon's winston logger fits. */
export interface NetworkLogger {
  debug(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
}

export interface CniManagerOptions {
  confDir: string;
  binDirs: string[];
  cache: CniResultCache;
  /** The node's pod CIDRs (UpdateRuntimeConfig), offered to IPAM as the `ipRanges` capability. */
  podCidrs?: () => string[];
  /** Limit for each plugin execution (default 60 s). */
  pluginTimeoutMs?: number;
  /** Quiet time after a change in the conf dir before the network is re-read (default 100 ms). */
  reloadDebounceMs?: number;
  logger?: NetworkLogger;
}

/**
 * Pod networking through CNI: the API the sandbox code calls. Each pod gets the default network (the
 * first valid configuration in the conf dir) on `eth0`. The pod's netns comes with `lo` already up
 * (berth-pinns sets it up when it creates the namespace, as CRI-O does instead of executing the
 * loopback plugin), and `lo` needs no teardown: it goes with the namespace. Every ADD result is
 * cached on disk with the configuration it was made with, so DEL replays exactly that configuration
 * and prevResult, also after a daemon restart and after the conf dir has changed.
 *
 * Operations on one pod are serialized (the spec forbids parallel operations on one container);
 * different pods proceed in parallel.
 */
export class CniManager {
  private readonly timeoutMs: number;
  private readonly debounceMs: number;
  private readonly locks = new Map<string, Promise<unknown>>();
  private loaded?: { network?: CniNetworkList; problems: string[] };
  private stale = true;
  private watcher?: FSWatcher;
  private reloadTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: CniManagerOptions) {
    this.timeoutMs = options.pluginTimeoutMs ?? 60_000;
    this.debounceMs = options.reloadDebounceMs ?? 100;
  }

  /**
   * Attaches a pod to the default network. Returns its addresses. On failure whatever
   * was added is deleted again (spec section 3: a delete must follow even a failed add) and the
   * plugin's error is thrown.
   */
  setUpPod(request: PodNetworkRequest): Promise<PodNetworkStatus> {
    return this.serialized(request.podId, () => this.setUp(request));
  }

  /**
   * Detaches a pod. Idempotent: a pod that was never attached, or already detached, is fine. Works
   * from the cache alone after a restart, and when the netns is already gone (plugins then release
   * what they hold outside it, such as IPAM leases and iptables rules).
   */
  tearDownPod(pod: { podId: string; netnsPath?: string }): Promise<void> {
    return this.serialized(pod.podId, () => this.tearDown(pod.podId, pod.netnsPath || undefined));
  }

  /** Runs CHECK for an attached pod; throws the plugin's error if its networking is broken. */
  checkPod(podId: string): Promise<void> {
    return this.serialized(podId, async () => {
      const record = await this.options.cache.get(podId, POD_IFNAME);
      if (!record) throw new FailedPreconditionError(`pod ${podId} is not attached to a network`);
      await checkNetworkList(record.network, attachmentOf(record), record.result, this.runOptions(podId));
    });
  }

  /** The pod's network as recorded at ADD time, or undefined when it is not attached. */
  async podNetwork(podId: string): Promise<PodNetworkStatus | undefined> {
    const record = await this.options.cache.get(podId, POD_IFNAME);
    return record && statusOf(record);
  }

  /**
   * The CRI NetworkReady condition: a valid configuration with all its plugins installed and, for
   * 1.1.0 networks, every plugin answering STATUS.
   */
  async status(): Promise<NetworkReadiness> {
    const readiness = await checkNetworkReady(this.options.confDir, this.options.binDirs);
    if (!readiness.ready || !readiness.network) return readiness;
    try {
      await statusNetworkList(readiness.network, this.runOptions());
    } catch (err) {
      return { ...readiness, ready: false, reason: 'NetworkPluginNotReady', message: (err as Error).message };
    }
    return readiness;
  }

  /**
   * Releases the networking of pods that no longer exist: every cached attachment whose pod is not
   * in `validPodIds` is torn down (a crash between sandbox removal and DEL leaves such leftovers),
   * then plugins of a 1.1.0 network get GC with the attachments still valid (spec 1.1.0). Meant for
   * daemon start, after sandboxes were reconciled. Failures are collected, not fatal to the rest.
   */
  async garbageCollect(validPodIds: Iterable<string>): Promise<{ removed: string[]; errors: Error[] }> {
    const valid = new Set(validPodIds);
    const removed: string[] = [];
    const errors: Error[] = [];
    const attachments = await this.options.cache.list();
    for (const { containerId } of attachments.filter((a) => a.ifName === POD_IFNAME)) {
      if (valid.has(containerId)) continue;
      try {
        await this.tearDownPod({ podId: containerId });
        removed.push(containerId);
      } catch (err) {
        errors.push(err as Error);
      }
    }
    const { network } = await this.defaultNetwork();
    if (network) {
      const stillValid = attachments
        .filter((a) => valid.has(a.containerId))
        .map((a) => ({ containerID: a.containerId, ifname: a.ifName }));
      await gcNetworkList(network, stillValid, this.runOptions()).catch((err: Error) => errors.push(err));
    }
    if (removed.length > 0 || errors.length > 0) {
      this.options.logger?.info('CNI garbage collection', { removed, errors: errors.map((e) => e.message) });
    }
    return { removed, errors };
  }

  /** The default network as last loaded (re-read when the conf dir changed), with why others were skipped. */
  async defaultNetwork(): Promise<{ network?: CniNetworkList; problems: string[] }> {
    this.watchConfDir();
    if (this.stale || !this.watcher || !this.loaded) {
      // Cleared before reading, so a change during the read marks it stale again.
      this.stale = false;
      const loaded = await findDefaultNetwork(this.options.confDir);
      if (
        loaded.network?.file !== this.loaded?.network?.file ||
        loaded.network?.name !== this.loaded?.network?.name
      ) {
        this.options.logger?.info('CNI default network', {
          network: loaded.network?.name ?? null,
          file: loaded.network?.file ?? null,
          problems: loaded.problems,
        });
      }
      this.loaded = loaded;
    }
    return this.loaded;
  }

  /** Stops watching the conf dir and waits for operations in progress. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.reloadTimer);
    await Promise.allSettled([...this.locks.values()]);
  }

  private async setUp(request: PodNetworkRequest): Promise<PodNetworkStatus> {
    if (!CNI_NAME_PATTERN.test(request.podId)) {
      throw new InvalidArgumentError(`pod ID "${request.podId}" is not a valid CNI container ID`);
    }
    if (request.netnsPath === '')
      throw new InvalidArgumentError(`pod ${request.podId} has no network namespace`);
    if (!(await existingNetns(request.netnsPath))) {
      throw new FailedPreconditionError(`${request.netnsPath} is not a network namespace`);
    }
    const existing = await this.options.cache.get(request.podId, POD_IFNAME);
    if (existing) {
      // A retried setup of the same sandbox: the spec forbids a second ADD without DEL.
      if (existing.netns === request.netnsPath) return statusOf(existing);
      await this.tearDown(request.podId, existing.netns);
    }
    const { network, problems } = await this.defaultNetwork();
    if (!network) {
      throw new FailedPreconditionError(
        `no CNI network configuration in ${this.options.confDir}${problems.length ? `: ${problems.join('; ')}` : ''}`,
      );
    }
    const attachment: CniAttachment = {
      containerId: request.podId,
      netns: request.netnsPath,
      ifName: POD_IFNAME,
      args: podCniArgs(request),
      capabilityArgs: this.capabilityArgs(request),
    };
    const options = this.runOptions(request.podId);
    try {
      const { raw, result } = await addNetworkList(network, attachment, options);
      const record = await this.options.cache.put({
        containerId: attachment.containerId,
        ifName: attachment.ifName,
        network,
        netns: attachment.netns,
        args: attachment.args,
        capabilityArgs: attachment.capabilityArgs,
        result: raw,
      });
      this.options.logger?.info('pod network attached', {
        podId: request.podId,
        network: network.name,
        ips: podAddresses(result),
      });
      return statusOf(record);
    } catch (err) {
      await this.undoFailedAdd(network, attachment, options, err as Error);
      throw err;
    }
  }

  private async undoFailedAdd(
    network: CniNetworkList,
    attachment: CniAttachment,
    options: CniRunOptions,
    cause: Error,
  ): Promise<void> {
    this.options.logger?.warn('pod network setup failed, deleting what was added', {
      podId: attachment.containerId,
      error: cause.message,
    });
    try {
      await delNetworkList(network, attachment, undefined, options);
    } catch (err) {
      this.options.logger?.warn('delete after failed setup failed', {
        podId: attachment.containerId,
        network: network.name,
        error: (err as Error).message,
      });
    }
  }

  private async tearDown(podId: string, netnsPath: string | undefined): Promise<void> {
    let record: CniAttachmentRecord | undefined;
    try {
      record = await this.options.cache.get(podId, POD_IFNAME);
    } catch (err) {
      // A damaged record must not make the pod impossible to stop: fall back to the current network.
      this.options.logger?.warn('ignoring damaged CNI cache record', {
        podId,
        error: (err as Error).message,
      });
    }
    const netns = await existingNetns(record?.netns ?? netnsPath);
    const options = this.runOptions(podId);
    if (record) {
      await delNetworkList(record.network, { ...attachmentOf(record), netns }, record.result, options);
    } else {
      // No record: the ADD never finished, or this DEL already ran. A DEL without prevResult lets the
      // plugins release anything a half-done ADD left (spec: plugins clean up what they can).
      const { network } = await this.defaultNetwork();
      if (network) {
        const args: Array<[string, string]> = [
          ['IgnoreUnknown', '1'],
          ['K8S_POD_INFRA_CONTAINER_ID', podId],
        ];
        await delNetworkList(
          network,
          { containerId: podId, netns, ifName: POD_IFNAME, args, capabilityArgs: {} },
          undefined,
          options,
        );
      }
    }
    // Removed only after every DEL succeeded, so a retried stop still has the prevResult.
    await this.options.cache.remove(podId, POD_IFNAME);
    if (record) this.options.logger?.info('pod network detached', { podId, network: record.network.name });
  }

  private capabilityArgs(request: PodNetworkRequest): Record<string, unknown> {
    const args: Record<string, unknown> = {};
    // Only mappings with a host port concern CNI; the others are informational in CRI.
    const portMappings = (request.portMappings ?? [])
      .filter((p) => p.hostPort > 0)
      .map((p) => {
        const protocol = p.protocol.toLowerCase();
        if (!isPort(p.hostPort) || !isPort(p.containerPort) || !['tcp', 'udp', 'sctp'].includes(protocol)) {
          throw new InvalidArgumentError(
            `port mapping ${p.protocol} ${p.hostPort}:${p.containerPort}: ports must be 1-65535 and the protocol TCP, UDP or SCTP`,
          );
        }
        if (p.hostIP && net.isIP(p.hostIP) === 0) {
          throw new InvalidArgumentError(`port mapping host IP "${p.hostIP}" is not an IP address`);
        }
        return {
          hostPort: p.hostPort,
          containerPort: p.containerPort,
          protocol,
          ...(p.hostIP ? { hostIP: p.hostIP } : {}),
        };
      });
    if (portMappings.length > 0) args.portMappings = portMappings;
    if (request.dns) {
      args.dns = {
        servers: request.dns.servers ?? [],
        searches: request.dns.searches ?? [],
        options: request.dns.options ?? [],
      };
    }
    if (request.bandwidth) args.bandwidth = request.bandwidth;
    // One range set per pod CIDR, so a dual-stack node gets an address of each family.
    const cidrs = this.options.podCidrs?.() ?? [];
    if (cidrs.length > 0) args.ipRanges = cidrs.map((subnet) => [{ subnet }]);
    return args;
  }

  private runOptions(podId?: string): CniRunOptions {
    return {
      binDirs: this.options.binDirs,
      timeoutMs: this.timeoutMs,
      onPluginLog: (plugin, command, stderr) =>
        this.options.logger?.debug('CNI plugin output', { podId, plugin, command, stderr }),
    };
  }

  /** Watches the conf dir so edits are picked up; without a watcher every call re-reads it. */
  private watchConfDir(): void {
    if (this.watcher || this.closed) return;
    try {
      const watcher = watch(this.options.confDir, { persistent: false }, () => {
        this.stale = true;
        clearTimeout(this.reloadTimer);
        this.reloadTimer = setTimeout(
          () => void this.defaultNetwork().catch(() => undefined),
          this.debounceMs,
        );
        this.reloadTimer.unref();
      });
      watcher.on('error', () => {
        watcher.close();
        if (this.watcher === watcher) this.watcher = undefined;
        this.stale = true;
      });
      this.watcher = watcher;
      this.stale = true;
    } catch {
      // The conf dir may not exist yet; it is re-read on every call until it can be watched.
    }
  }

  private serialized<T>(podId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(podId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    const settled = next.catch(() => undefined);
    this.locks.set(podId, settled);
    void settled.then(() => {
      if (this.locks.get(podId) === settled) this.locks.delete(podId);
    });
    return next;
  }
}

/**
 * CNI_ARGS for a pod: the Kubernetes conventions plugins rely on (CNI CONVENTIONS.md), and
 * IgnoreUnknown so plugins with strict argument parsing (host-local, static) accept the rest.
 */
export function podCniArgs(
  request: Pick<PodNetworkRequest, 'podId' | 'name' | 'namespace' | 'uid'>,
): Array<[string, string]> {
  return [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_NAMESPACE', request.namespace],
    ['K8S_POD_NAME', request.name],
    ['K8S_POD_INFRA_CONTAINER_ID', request.podId],
    ['K8S_POD_UID', request.uid],
  ];
}

function attachmentOf(record: CniAttachmentRecord): CniAttachment {
  return {
    containerId: record.containerId,
    netns: record.netns,
    ifName: record.ifName,
    args: record.args,
    capabilityArgs: record.capabilityArgs,
  };
}

function statusOf(record: CniAttachmentRecord): PodNetworkStatus {
  const result = parseCniResult(record.result);
  return { network: record.network.name, ips: podAddresses(result), interfaces: result.interfaces, result };
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

/**
 * The netns path if it still is a namespace. A pinned netns whose bind mount is gone leaves an empty
 * file that plugins would fail to enter; DEL then runs without CNI_NETNS, as the spec allows.
 */
async function existingNetns(netnsPath: string | undefined): Promise<string | undefined> {
  if (!netnsPath) return undefined;
  try {
    const stat = await fs.statfs(netnsPath);
    return stat.type === NSFS_MAGIC ? netnsPath : undefined;
  } catch {
    return undefined;
  }
}
