import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ContainerEventType__Output } from '../api/generated/runtime/v1/ContainerEventType';
import type { PodSandboxConfig__Output } from '../api/generated/runtime/v1/PodSandboxConfig';
import { InternalError, InvalidArgumentError, NotFoundError } from '../common/errors';
import { newId } from '../common/ids';
import { identify, isRunning } from '../common/process-identity';
import { unmountIfMounted } from '../common/mounts';
import type { InterruptedCreate } from '../common/record-store';
import { Rollback, settleAll } from '../common/rollback';
import { StepTimer } from '../common/step-timer';
import { nowNanos } from '../common/time';
import { writeJsonAtomic } from '../common/atomic-file';
import { PAUSE_OOM_SCORE_ADJ, restrictOomScoreAdj } from '../oci/oom';
import { OciRuntimeCli, runtimeOfHandler } from '../oci/runtime-cli';
import { refuseUserNamespace } from '../oci/spec/namespaces';
import type { Config } from '../server/config';
import type { Logger } from '../server/logger';
import { bandwidthFromAnnotations } from '../network/pod-bandwidth';
import { NamespacePinner, PINNED_KINDS } from './namespaces';
import { pauseSeccomp } from './pause-seccomp';
import { pauseSpec } from './pause-spec';
import { mountShm, nodeHostname, writeHostname, writeHosts, writeResolvConf } from './pod-files';
import type { PodNetwork, PodNetworkRequest, PodPortMapping } from './pod-network';
import { sandboxName, type SandboxIntent, type SandboxRecord } from './sandbox-record';
import { SandboxStore } from './sandbox-store';
import { validatePodSysctls } from './sysctls';

/** The cgroup parent of pods the kubelet gave none (crictl runp without one). */
const DEFAULT_CGROUP_PARENT = '/berth';

/** What a pod's containers must do when the pod stops or goes (the container manager implements it). */
export interface PodContainers {
  stopAll(podId: string): Promise<void>;
  removeAll(podId: string): Promise<void>;
}

const NO_CONTAINERS: PodContainers = { stopAll: async () => {}, removeAll: async () => {} };

/**
 * Where a pod sandbox's lifecycle is told, once each step is recorded. The CRI's container event
 * stream reports sandboxes as containers whose ID is the sandbox's, as containerd does.
 */
export interface SandboxEvents {
  sandboxEvent(type: ContainerEventType__Output, record: SandboxRecord): void;
}

const NO_EVENTS: SandboxEvents = { sandboxEvent: () => {} };

/**
 * Pod sandboxes: their namespaces, network, pod files and pause process, and their records.
 * The sandbox controller of the design: container code asks it for a pod's namespaces and files,
 * never starts a pause process itself.
 */
export class SandboxManager {
  readonly store: SandboxStore;
  private readonly pinner: NamespacePinner;
  private containers: PodContainers = NO_CONTAINERS;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly network: PodNetwork,
    private readonly events: SandboxEvents = NO_EVENTS,
  ) {
    this.store = new SandboxStore(path.join(config.root, 'sandboxes'));
    this.pinner = new NamespacePinner(
      path.join(config.native_dir, 'berth-pinns'),
      path.join(config.runroot, 'ns'),
    );
  }

  /** Lets the container manager take part in stopping and removing pods. */
  attachContainers(containers: PodContainers): void {
    this.containers = containers;
  }

  async load(): Promise<void> {
    const interrupted = await this.store.load((dir, err) =>
      this.logger.error('unreadable sandbox record', { dir, error: err.message }),
    );
    for (const run of interrupted) await this.undoInterruptedRun(run);
    this.logger.info('sandboxes loaded', { count: this.store.all().length });
  }

  /**
   * Undoes a RunPodSandbox that a crash cut short: every step it may have taken, each a no-op
   * when it was not (the pause container deleted, CNI DEL while the netns is still pinned, the
   * namespaces, /dev/shm, the directories). What cannot be undone now stays for the next start.
   */
  private async undoInterruptedRun({ id, dir, intent }: InterruptedCreate<SandboxIntent>): Promise<void> {
    try {
      if (intent) {
        const netns = this.pinner.pathOf('net', id);
        await settleAll([
          this.runtimeOf({ id, runtimeHandler: intent.runtimeHandler }).delete(id, true),
          intent.hostNetwork
            ? Promise.resolve()
            : this.network.tearDownPod(
                this.networkRequest(id, intent.config, existsSync(netns) ? netns : undefined),
              ),
        ]);
        await this.pinner.unpin(PINNED_KINDS.map((kind) => this.pinner.pathOf(kind, id)));
        await unmountIfMounted(intent.shmDir);
        await fs.rm(intent.runDir, { recursive: true, force: true });
      }
      await fs.rm(dir, { recursive: true, force: true });
      this.logger.warn('undid a pod sandbox creation cut short by a crash', { id });
    } catch (err) {
      this.logger.error('cannot undo a pod sandbox creation cut short; retrying at the next start', {
        id,
        error: (err as Error).message,
      });
    }
  }

  /** RunPodSandbox: everything a pod needs before its first container, or nothing at all. */
  async run(config: PodSandboxConfig__Output, requestedHandler: string): Promise<SandboxRecord> {
    const metadata = config.metadata;
    if (!metadata || !metadata.name || !metadata.namespace || !metadata.uid) {
      throw new InvalidArgumentError('pod sandbox metadata needs a name, a namespace and a uid');
    }
    const handlerName = requestedHandler || this.config.default_runtime;
    const handler = this.config.runtimes[handlerName];
    if (!handler) {
      throw new InvalidArgumentError(
        `unknown runtime handler "${requestedHandler}"; configured: ${Object.keys(this.config.runtimes).join(', ')}`,
      );
    }
    const linux = config.linux;
    const security = linux?.security_context;
    const nsOptions = security?.namespace_options;
    const host = {
      network: nsOptions?.network === 'NODE',
      ipc: nsOptions?.ipc === 'NODE',
      pid: nsOptions?.pid === 'NODE',
    };
    refuseUserNamespace(nsOptions?.userns_options, 'pod sandbox');
    const sysctls = validatePodSysctls(linux?.sysctls ?? {}, {
      net: !host.network,
      ipc: !host.ipc,
      uts: !host.network,
    });
    const seccomp = pauseSeccomp(security);
    const hostname = host.network ? nodeHostname() : config.hostname || metadata.name;
    if (!/^[A-Za-z0-9]([-A-Za-z0-9.]{0,62})?$/.test(hostname)) {
      throw new InvalidArgumentError(`pod hostname "${hostname}" is not a valid host name`);
    }

    const id = newId();
    const name = sandboxName(config);
    this.store.reserve(name, id);
    const rollback = new Rollback();
    rollback.add('release the name', () => this.store.release(name, id));
    const timer = new StepTimer();
    try {
      const stateDir = this.store.dirOf(id);
      const runDir = path.join(this.config.runroot, 'sandboxes', id);
      const shmDir = path.join(runDir, 'shm');
      // First, before anything is made: what a daemon killed half-way needs to undo it (load()).
      await this.store.beginCreate(id, {
        config,
        runtimeHandler: handlerName,
        hostNetwork: host.network,
        runDir,
        shmDir,
      });
      rollback.add('remove the state dir', () => fs.rm(stateDir, { recursive: true, force: true }));
      await fs.mkdir(path.join(runDir, 'rootfs'), { recursive: true, mode: 0o711 });
      rollback.add('remove the run dir', () => fs.rm(runDir, { recursive: true, force: true }));

      // Independent steps run side by side; each registers its undo as soon as it is done, and
      // all of them settle before a failure unwinds.
      const [, , namespaces] = await settleAll([
        (async () => {
          await writeResolvConf(path.join(stateDir, 'resolv.conf'), config.dns_config);
          await writeHostname(path.join(stateDir, 'hostname'), hostname);
        })(),
        (async () => {
          if (host.ipc) return;
          await mountShm(shmDir);
          rollback.add('unmount /dev/shm', () => unmountIfMounted(shmDir));
        })(),
        (async () => {
          const pinned = await this.pinner.pin(
            id,
            { net: !host.network, ipc: !host.ipc, uts: !host.network },
            hostname,
            sysctls,
          );
          rollback.add('release the namespaces', () => this.pinner.unpin(Object.values(pinned)));
          return pinned;
        })(),
      ] as const);
      timer.mark('namespaces');

      const runtime = new OciRuntimeCli(handlerName, handler);
      const cgroupsPath = `${linux?.cgroup_parent || DEFAULT_CGROUP_PARENT}/${id}`;
      const spec = pauseSpec({
        rootfs: path.join(runDir, 'rootfs'),
        pauseBinary: this.config.pause.binary,
        namespaces,
        newPidNamespace: !host.pid,
        cgroupsPath,
        shmSource: host.ipc ? '/dev/shm' : shmDir,
        user: {
          uid: Number(security?.run_as_user?.value ?? 0),
          gid: Number(security?.run_as_group?.value ?? 0),
          additionalGids: (security?.supplemental_groups ?? []).map(Number),
        },
        oomScoreAdj: restrictOomScoreAdj(PAUSE_OOM_SCORE_ADJ),
        seccomp,
        annotations: { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': id },
      });
      const pidFile = path.join(runDir, 'pause.pid');
      const netRequest = this.networkRequest(id, config, namespaces.net);
      // The pause process joins the pinned network namespace by path, so CNI can configure that
      // namespace while the runtime starts the pause process.
      const [ips] = await settleAll([
        (async () => {
          if (host.network) return [];
          rollback.add('tear down the network', () => this.network.tearDownPod(netRequest));
          const { ips: addresses } = await this.network.setUpPod(netRequest);
          timer.markBranch('network');
          return addresses;
        })(),
        (async () => {
          await writeJsonAtomic(path.join(runDir, 'config.json'), spec, { durable: false });
          rollback.add('delete the pause container', () => runtime.delete(id, true));
          await runtime.run(id, runDir, pidFile);
          timer.markBranch('pause');
        })(),
      ] as const);
      timer.join();
      await writeHosts(path.join(stateDir, 'hosts'), host.network, hostname, ips);
      const pausePid = Number.parseInt(await fs.readFile(pidFile, 'utf8'), 10);
      const pause = await identify(pausePid);
      if (!pause) throw new InternalError(`the pause process ${pausePid} exited right after its start`);

      const sharedPid = !host.pid && (nsOptions?.pid ?? 'POD') === 'POD';
      if (sharedPid) {
        namespaces.pid = await this.pinner.pinPidOf(id, pausePid);
        rollback.add('release the pid namespace', () => this.pinner.unpin([namespaces.pid!]));
      }

      const record: SandboxRecord = {
        version: 1,
        id,
        config,
        requestedHandler,
        runtimeHandler: handlerName,
        createdAt: nowNanos(),
        state: 'ready',
        host,
        sharedPid,
        namespaces,
        ips,
        pausePid,
        pauseStartTime: pause.startTime,
        cgroupsPath,
        stateDir,
        runDir,
        shmDir: host.ipc ? '/dev/shm' : shmDir,
      };
      await this.store.save(record);
      await this.store.endCreate(id);
      // One step made and started the pause process: both events, in their order.
      this.events.sandboxEvent('CONTAINER_CREATED_EVENT', record);
      this.events.sandboxEvent('CONTAINER_STARTED_EVENT', record);
      timer.mark('record');
      this.logger.info('pod sandbox ready', {
        id,
        pod: `${metadata.namespace}/${metadata.name}`,
        ips,
        duration_ms: timer.totalMs(),
        steps: timer.steps,
      });
      return record;
    } catch (err) {
      const failures = await rollback.unwind();
      if (failures.length > 0) this.logger.error('pod sandbox rollback incomplete', { id, failures });
      throw err;
    }
  }

  /**
   * StopPodSandbox: stops the pod's containers and pause process and releases its network (so the
   * IP goes back to the pool). Idempotent: the CRI asks that a second stop, or a stop of a pod whose
   * resources are already gone, succeed.
   */
  async stop(idOrPrefix: string): Promise<void> {
    const record = this.store.find(idOrPrefix);
    // Already stopped: nothing can have started in a stopped pod since.
    if (!record || record.released) return;
    const timer = new StepTimer();
    await this.containers.stopAll(record.id);
    timer.mark('containers');
    // The pause process holds nothing worth a graceful exit: `delete --force` kills it (SIGKILL)
    // and removes it in one runtime call, while CNI releases the pod's address alongside.
    await settleAll([
      (async () => {
        await this.runtimeOf(record).delete(record.id, true);
        timer.markBranch('pause');
      })(),
      (async () => {
        if (record.host.network) return;
        await this.network.tearDownPod(this.networkRequest(record.id, record.config, record.namespaces.net));
        timer.markBranch('network');
      })(),
    ]);
    timer.join();
    if (record.state !== 'notready' || !record.released) {
      const wasReady = record.state === 'ready';
      record.state = 'notready';
      record.released = true;
      await this.store.save(record);
      if (wasReady) this.events.sandboxEvent('CONTAINER_STOPPED_EVENT', record);
    }
    timer.mark('record');
    this.logger.info('pod sandbox stopped', {
      id: record.id,
      duration_ms: timer.totalMs(),
      steps: timer.steps,
    });
  }

  /** RemovePodSandbox: stops the pod if needed and deletes all of it. A missing pod is success (CRI). */
  async remove(idOrPrefix: string): Promise<void> {
    const record = this.store.find(idOrPrefix);
    if (!record) return;
    await this.stop(record.id);
    const timer = new StepTimer();
    await this.containers.removeAll(record.id);
    timer.mark('containers');
    await settleAll([
      this.pinner.unpin(Object.values(record.namespaces)),
      record.host.ipc ? Promise.resolve() : unmountIfMounted(record.shmDir),
    ]);
    timer.mark('unmount');
    await fs.rm(record.runDir, { recursive: true, force: true });
    await this.store.delete(record);
    this.events.sandboxEvent('CONTAINER_DELETED_EVENT', record);
    timer.mark('record');
    this.logger.info('pod sandbox removed', {
      id: record.id,
      duration_ms: timer.totalMs(),
      steps: timer.steps,
    });
  }

  /** The sandbox, with its state checked against the runtime (a dead pause process means not ready). */
  async get(idOrPrefix: string): Promise<SandboxRecord> {
    const record = this.store.find(idOrPrefix);
    if (!record) throw new NotFoundError(`pod sandbox "${idOrPrefix}" not found`);
    await this.refreshState(record);
    return record;
  }

  async list(): Promise<SandboxRecord[]> {
    const records = this.store.all();
    await Promise.all(records.map((record) => this.refreshState(record)));
    return records;
  }

  private async refreshState(record: SandboxRecord): Promise<void> {
    if (record.state !== 'ready') return;
    // The pause process itself answers, without a runtime call per pod on every ListPodSandbox.
    const running = record.pauseStartTime
      ? await isRunning({ pid: record.pausePid, startTime: record.pauseStartTime })
      : ((await this.runtimeOf(record).state(record.id))?.status ?? 'stopped') !== 'stopped';
    // Checked again after the wait: a stop, or another refresh, may have got there first.
    if (!running && record.state === 'ready') {
      this.logger.warn('pause process gone; pod sandbox not ready', { id: record.id });
      record.state = 'notready';
      await this.store.save(record);
      this.events.sandboxEvent('CONTAINER_STOPPED_EVENT', record);
    }
  }

  private runtimeOf(record: Pick<SandboxRecord, 'id' | 'runtimeHandler'>): OciRuntimeCli {
    return runtimeOfHandler(this.config.runtimes, record.runtimeHandler, `pod sandbox ${record.id}`);
  }

  /** The CNI request of a pod: its identity, netns, host ports, DNS and bandwidth annotations. */
  private networkRequest(
    id: string,
    config: PodSandboxConfig__Output,
    netns: string | undefined,
  ): PodNetworkRequest {
    const m = config.metadata!;
    return {
      podId: id,
      netnsPath: netns ?? '',
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      // A mapping without a host port only documents the container port; CNI has nothing to do.
      portMappings: config.port_mappings
        .filter((p) => p.host_port > 0)
        .map((p): PodPortMapping => ({
          protocol: p.protocol.toLowerCase(),
          containerPort: p.container_port,
          hostPort: p.host_port,
          ...(p.host_ip ? { hostIP: p.host_ip } : {}),
        })),
      ...(config.dns_config ? { dns: config.dns_config } : {}),
      bandwidth: bandwidthFromAnnotations(config.annotations),
    };
  }
}
