import { closeSync, existsSync, openSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ContainerConfig__Output } from '../api/generated/runtime/v1/ContainerConfig';
import type { ContainerEventType__Output } from '../api/generated/runtime/v1/ContainerEventType';
import type { LinuxContainerResources__Output } from '../api/generated/runtime/v1/LinuxContainerResources';
import { writeJsonAtomic } from '../common/atomic-file';
import {
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '../common/errors';
import { newId } from '../common/ids';
import { unmountIfMounted } from '../common/mounts';
import type { InterruptedCreate } from '../common/record-store';
import { Rollback, settleAll } from '../common/rollback';
import { StepTimer } from '../common/step-timer';
import { nowNanos } from '../common/time';
import type { ImageStore } from '../image/image-store';
import type { SandboxManager } from '../sandbox/sandbox-manager';
import type { SandboxRecord } from '../sandbox/sandbox-record';
import type { Config } from '../server/config';
import type { Logger } from '../server/logger';
import { loadCdiRegistry, requestedCdiDevices, resolveCdiDevices } from './cdi';
import { applyResources } from './cgroup-update';
import {
  containerName,
  containerState,
  type ContainerIntent,
  type ContainerRecord,
} from './container-record';
import { ContainerStore } from './container-store';
import { startExecSession, type ExecSession } from './exec-session';
import {
  AttachSession,
  execSync,
  liveMonitorPid,
  readExitRecord,
  startMonitor,
  watchExits,
  reopenLog,
  type ExitRecord,
  type StreamName,
} from './monitor';
import { imageVolumesDir, mountImageVolume, mountOverlay, unmountImageVolumes } from './rootfs';
import { OciRuntimeCli, runtimeOfHandler } from './runtime-cli';
import { supportsRecursiveReadOnly } from './runtime-features';
import { buildContainerSpec, DEFAULT_SPEC_DEFAULTS } from './spec/container-spec';
import { hostLookups, probeHostFeatures, resolveInRoot } from './spec/host-lookups';
import type { HostFeatures } from './spec/input';

/** ExecSync output beyond this is cut (the kubelet's own limit for probe output is far lower). */
const EXEC_SYNC_MAX_OUTPUT = 16 * 1024 * 1024;
/** How long a SIGKILLed container gets to be reported dead before StopContainer gives up. */
const KILL_WAIT_MS = 10_000;

/** Where a container's lifecycle is told (the CRI's container event stream), once each step is recorded. */
export interface ContainerEvents {
  containerEvent(type: ContainerEventType__Output, record: ContainerRecord): void;
}

const NO_EVENTS: ContainerEvents = { containerEvent: () => {} };

/**
 * Containers: created from a CRI config, an image and a pod sandbox; run through berth-monitor
 * with the pod's runtime handler; their exits learned from the monitors' exit records (watched,
 * never polled). Also the PodContainers side of the sandbox manager: a pod's stop stops its
 * containers, its removal removes them.
 */
export class ContainerManager {
  readonly store: ContainerStore;
  private readonly exitDir: string;
  private readonly exitWaiters = new Map<string, Array<() => void>>();
  private watcher?: { close(): void };
  /** The host's features as each runtime handler sees them (recursive read-only mounts differ). */
  private readonly features = new Map<string, Promise<HostFeatures>>();

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly sandboxes: SandboxManager,
    private readonly images: ImageStore,
    private readonly events: ContainerEvents = NO_EVENTS,
  ) {
    this.store = new ContainerStore(path.join(config.root, 'containers'));
    this.exitDir = path.join(config.runroot, 'exits');
  }

  /**
   * Loads the records and catches up with exits that happened while the daemon was away, then
   * watches for new ones. A container whose monitor is gone without an exit record (the node
   * rebooted, or the monitor was killed) is reported exited with an unknown status.
   */
  async load(): Promise<void> {
    await fs.mkdir(this.exitDir, { recursive: true, mode: 0o700 });
    const interrupted = await this.store.load((dir, err) =>
      this.logger.error('unreadable container record', { dir, error: err.message }),
    );
    for (const create of interrupted) await this.undoInterruptedCreate(create);
    for (const record of this.store.all()) {
      if (record.finishedAt) continue;
      const exit = readExitRecord(this.exitDir, record.id);
      if (exit) await this.recordExit(record, exit);
      else if (!isAlive(record.monitorPid)) {
        await this.markLost(record);
      }
    }
    this.watcher = watchExits(this.exitDir, (exit) => {
      // A failed save must not become an unhandled rejection: that would end the daemon.
      this.onExit(exit).catch((err: Error) =>
        this.logger.error('recording a container exit failed', { id: exit.id, error: err.message }),
      );
    });
    this.logger.info('containers loaded', { count: this.store.all().length });
  }

  close(): void {
    this.watcher?.close();
  }

  /**
   * Undoes a CreateContainer that a crash cut short: its monitor ended (by pid, from its own
   * directory), the container deleted, the rootfs unmounted, the directories removed; each a
   * no-op when that step was never taken. What cannot be undone now stays for the next start.
   */
  private async undoInterruptedCreate({
    id,
    dir,
    intent,
  }: InterruptedCreate<ContainerIntent>): Promise<void> {
    try {
      if (intent) {
        // The monitor first, so that it cannot go on to create the container after the delete.
        const monitorPid = liveMonitorPid(intent.runDir);
        if (monitorPid !== undefined) process.kill(monitorPid, 'SIGKILL');
        await this.deleteFromHost({ id, ...intent });
      }
      await fs.rm(dir, { recursive: true, force: true });
      this.logger.warn('undid a container creation cut short by a crash', { id });
    } catch (err) {
      this.logger.error('cannot undo a container creation cut short; retrying at the next start', {
        id,
        error: (err as Error).message,
      });
    }
  }

  /** CreateContainer: rootfs, spec and a monitor that has the runtime create the container. */
  async create(podId: string, config: ContainerConfig__Output): Promise<ContainerRecord> {
    const timer = new StepTimer();
    if (!config.metadata?.name) throw new InvalidArgumentError('container metadata needs a name');
    if (!config.image?.image) throw new InvalidArgumentError('container config needs an image');
    const sandbox = await this.sandboxes.get(podId);
    if (sandbox.state !== 'ready') {
      throw new FailedPreconditionError(
        `pod sandbox ${sandbox.id} is not ready; cannot create containers in it`,
      );
    }
    const image = this.images.status(config.image.image);
    if (!image) throw new NotFoundError(`image "${config.image.image}" not found`);
    const imageConfig = await this.images.config(image.id);
    const handler = this.config.runtimes[sandbox.runtimeHandler];
    // Resolved before anything is made: a device the node does not have fails the create at once.
    const cdiNames = requestedCdiDevices(config.CDI_devices, config.annotations);
    const cdiDevices =
      cdiNames.length > 0
        ? resolveCdiDevices(cdiNames, await loadCdiRegistry(this.config.cdi.spec_dirs))
        : [];

    const id = newId();
    const name = containerName(sandbox.id, config);
    this.store.reserve(name, id);
    const rollback = new Rollback();
    rollback.add('release the name', () => this.store.release(name, id));
    timer.mark('lookup');
    try {
      const stateDir = this.store.dirOf(id);
      const bundleDir = path.join(this.config.runroot, 'containers', id);
      // Short: the monitor's unix sockets live here, and a socket path holds at most 107 bytes.
      const runDir = path.join(this.config.runroot, 'm', id);
      const rootfs = path.join(bundleDir, 'rootfs');
      const upperDir = path.join(stateDir, 'upper');
      const workDir = path.join(stateDir, 'work');
      // First, before anything is made: what a daemon killed half-way needs to undo it (load()).
      await this.store.beginCreate(id, { runtimeHandler: sandbox.runtimeHandler, bundleDir, runDir });
      rollback.add('remove the state dir', () => fs.rm(stateDir, { recursive: true, force: true }));
      await fs.mkdir(bundleDir, { recursive: true, mode: 0o711 });
      await fs.mkdir(path.dirname(runDir), { recursive: true, mode: 0o711 });
      rollback.add('remove the bundle', () => fs.rm(bundleDir, { recursive: true, force: true }));
      rollback.add('remove the monitor dir', () => fs.rm(runDir, { recursive: true, force: true }));
      await mountOverlay(this.images.layerDirs(image.id), { target: rootfs, upper: upperDir, work: workDir });
      rollback.add('unmount the rootfs', () => unmountIfMounted(rootfs));
      timer.mark('rootfs');

      // Image volumes (CRI Mount.image): each image's layers, read-only, once per image.
      const imageVolumes = new Map<string, { id: string; dir: string }>();
      for (const m of config.mounts) {
        const ref = m.image?.image ?? '';
        if (ref === '' || imageVolumes.has(ref)) continue;
        const volumeImage = this.images.status(ref);
        if (!volumeImage)
          throw new NotFoundError(`image "${ref}" of the volume at ${m.container_path} not found`);
        const dir = path.join(imageVolumesDir(bundleDir), String(imageVolumes.size));
        rollback.add('unmount an image volume', () => unmountIfMounted(dir));
        await mountImageVolume(this.images.layerDirs(volumeImage.id), dir);
        imageVolumes.set(ref, { id: volumeImage.id, dir });
      }

      const spec = buildContainerSpec({
        id,
        config,
        sandbox: {
          ...sandbox,
          hostname: (await fs.readFile(path.join(sandbox.stateDir, 'hostname'), 'utf8')).trim(),
        },
        image: { config: imageConfig.config ?? {}, rootfs },
        features: await this.hostFeatures(sandbox.runtimeHandler),
        cdiDevices,
        defaults: DEFAULT_SPEC_DEFAULTS,
        lookups: hostLookups(rootfs, {
          targetPidNamespace: (target) => this.pidNamespaceOf(target, sandbox),
          imageVolumePath: (ref, subPath) => imageVolumeSource(imageVolumes.get(ref)!.dir, ref, subPath),
        }),
      });
      await writeJsonAtomic(path.join(bundleDir, 'config.json'), spec, { durable: false });
      timer.mark('spec');

      const logPath = logPathOf(sandbox, config);
      if (logPath) await fs.mkdir(path.dirname(logPath), { recursive: true, mode: 0o755 });
      const runtime = new OciRuntimeCli(sandbox.runtimeHandler, handler);
      rollback.add('delete the container', () => runtime.delete(id, true));
      const started = await withFileDescriptor(path.join(bundleDir, 'monitor.log'), (stderrFd) =>
        startMonitor({
          runtime: { path: handler.path, args: ['--root', handler.root] },
          id,
          bundle: bundleDir,
          runroot: runDir,
          logPath: logPath || '/dev/null',
          exitDir: this.exitDir,
          stdin: config.stdin,
          stdinOnce: config.stdin_once,
          tty: config.tty,
          stderrFd,
        }),
      );
      timer.mark('create');

      const record: ContainerRecord = {
        version: 1,
        id,
        podId: sandbox.id,
        config: {
          ...config,
          envs: config.envs.map((e) => ({ key: e.key, value: Buffer.from(e.value).toString() })),
        },
        imageId: image.id,
        ...(imageVolumes.size > 0 ? { volumeImageIds: [...imageVolumes.values()].map((v) => v.id) } : {}),
        imageRef: image.repoDigests[0] ?? image.id,
        imageName: config.image.image,
        runtimeHandler: sandbox.runtimeHandler,
        createdAt: nowNanos(),
        pid: started.containerPid,
        monitorPid: started.monitorPid,
        stopSignal: stopSignalOf(config, imageConfig.config?.StopSignal),
        user: {
          uid: spec.process.user.uid,
          gid: spec.process.user.gid,
          additionalGids: spec.process.user.additionalGids ?? [],
        },
        cgroupsPath: spec.linux.cgroupsPath ?? '',
        resources: config.linux?.resources ?? null,
        logPath,
        bundleDir,
        runDir,
        upperDir,
        workDir,
      };
      await this.store.save(record);
      await this.store.endCreate(id);
      this.events.containerEvent('CONTAINER_CREATED_EVENT', record);
      timer.mark('record');
      this.logger.info('container created', {
        id,
        pod: sandbox.id,
        name: config.metadata.name,
        steps: timer.steps,
      });
      return record;
    } catch (err) {
      const failures = await rollback.unwind();
      if (failures.length > 0) this.logger.error('container rollback incomplete', { id, failures });
      throw err;
    }
  }

  /** StartContainer: lets the created container's process run. */
  async start(idOrPrefix: string): Promise<void> {
    const record = this.get(idOrPrefix);
    if (containerState(record) !== 'CONTAINER_CREATED') {
      throw new FailedPreconditionError(`container ${record.id} is ${stateWord(record)}, not created`);
    }
    await this.runtimeOf(record).start(record.id);
    // An exit may already have been recorded (a process that ends at once): keep it, and its
    // STOPPED event stands for the start too, so that no event says RUNNING after it.
    const current = this.get(record.id);
    if (!current.startedAt) {
      current.startedAt = nowNanos();
      await this.store.save(current);
      this.events.containerEvent('CONTAINER_STARTED_EVENT', current);
    }
  }

  /**
   * StopContainer: the stop signal, up to `timeoutSeconds` for the process to end, then SIGKILL
   * to everything in the container. A container that is not running is already stopped (CRI).
   */
  async stop(idOrPrefix: string, timeoutSeconds: number): Promise<void> {
    const record = this.store.find(idOrPrefix);
    if (!record || record.finishedAt) return;
    const runtime = this.runtimeOf(record);
    const exited = this.exitOf(record.id);
    if (timeoutSeconds > 0 && record.startedAt) {
      await runtime.kill(record.id, record.stopSignal).catch(() => undefined); // it may be gone already
      if (await withTimeout(exited, timeoutSeconds * 1000)) return;
    }
    await runtime.kill(record.id, 'KILL', true).catch(() => undefined);
    if (!(await withTimeout(exited, KILL_WAIT_MS))) {
      throw new DeadlineExceededError(`container ${record.id} did not exit after SIGKILL`);
    }
  }

  /** RemoveContainer: a running container is killed first; a missing one is success (CRI). */
  async remove(idOrPrefix: string): Promise<void> {
    const record = this.store.find(idOrPrefix);
    if (!record) return;
    if (!record.finishedAt) await this.stop(record.id, 0);
    await this.deleteFromHost(record);
    await this.store.delete(record);
    this.events.containerEvent('CONTAINER_DELETED_EVENT', record);
    this.logger.info('container removed', { id: record.id });
  }

  get(idOrPrefix: string): ContainerRecord {
    const record = this.store.find(idOrPrefix);
    if (!record) throw new NotFoundError(`container "${idOrPrefix}" not found`);
    return record;
  }

  list(): ContainerRecord[] {
    return this.store.all();
  }

  /** UpdateContainerResources: the new limits go into the live cgroup and the record. */
  async updateResources(idOrPrefix: string, resources: LinuxContainerResources__Output): Promise<void> {
    const record = this.get(idOrPrefix);
    if (record.finishedAt) throw new FailedPreconditionError(`container ${record.id} is not running`);
    await applyResources(record.cgroupsPath, resources);
    record.resources = resources;
    await this.store.save(record);
  }

  /** ReopenContainerLog: the monitor reopens the log path (after the kubelet rotated it). */
  async reopenLog(idOrPrefix: string): Promise<void> {
    const record = this.get(idOrPrefix);
    if (containerState(record) !== 'CONTAINER_RUNNING') {
      throw new FailedPreconditionError(`container ${record.id} is not running`);
    }
    await reopenLog(record.runDir);
  }

  /** ExecSync: runs a command in the running container and returns its output and exit code. */
  async execSync(
    idOrPrefix: string,
    command: string[],
    timeoutSeconds: number,
  ): Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }> {
    const record = this.get(idOrPrefix);
    if (containerState(record) !== 'CONTAINER_RUNNING') {
      throw new FailedPreconditionError(`container ${record.id} is not running`);
    }
    if (command.length === 0) throw new InvalidArgumentError('ExecSync needs a command');
    const { handler } = this.runtimeOf(record);
    const result = await execSync({
      runtime: { path: handler.path, args: ['--root', handler.root] },
      id: record.id,
      runroot: record.runDir,
      command,
      timeoutSeconds: timeoutSeconds > 0 ? timeoutSeconds : undefined,
      maxOutputBytes: EXEC_SYNC_MAX_OUTPUT,
    });
    if (result.timedOut) {
      // The kubelet tells a timed-out probe from a failed one by this status code.
      throw new DeadlineExceededError(
        `command ${JSON.stringify(command)} timed out after ${timeoutSeconds}s`,
      );
    }
    return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode };
  }

  /** Exec (streaming): the command runs under a monitor of its own; see exec-session.ts. */
  async execSession(
    idOrPrefix: string,
    command: string[],
    options: { tty: boolean; stdin: boolean },
  ): Promise<ExecSession> {
    const record = this.runningContainer(idOrPrefix);
    if (command.length === 0) throw new InvalidArgumentError('Exec needs a command');
    const handler = this.config.runtimes[record.runtimeHandler];
    if (!handler) {
      throw new FailedPreconditionError(`runtime handler "${record.runtimeHandler}" is no longer configured`);
    }
    return startExecSession({
      runtime: { path: handler.path, args: ['--root', handler.root] },
      containerId: record.id,
      bundleDir: record.bundleDir,
      sessionsDir: path.join(this.config.runroot, 'x'),
      command,
      ...options,
    });
  }

  /** Attach (streaming): a session on the container's monitor, and how the container was made. */
  async attach(
    idOrPrefix: string,
    onOutput: (stream: StreamName, data: Buffer) => void,
  ): Promise<{ session: AttachSession; tty: boolean; stdin: boolean }> {
    const record = this.runningContainer(idOrPrefix);
    const session = await AttachSession.connect(record.runDir, onOutput);
    return { session, tty: record.config.tty, stdin: record.config.stdin };
  }

  private runningContainer(idOrPrefix: string): ContainerRecord {
    const record = this.get(idOrPrefix);
    if (containerState(record) !== 'CONTAINER_RUNNING') {
      throw new FailedPreconditionError(`container ${record.id} is not running`);
    }
    return record;
  }

  /** The containers of a pod. */
  ofPod(podId: string): ContainerRecord[] {
    return this.store.all().filter((record) => record.podId === podId);
  }

  /**
   * Deletes what a container holds on the host, each step a no-op when it is not there: its
   * runtime state (--force: a container still running is killed), its rootfs and image volume
   * mounts, side by side, then its bundle, monitor directory and exit record. Its record and
   * state directory are the caller's.
   */
  private async deleteFromHost(
    c: Pick<ContainerRecord, 'id' | 'runtimeHandler' | 'bundleDir' | 'runDir'>,
  ): Promise<void> {
    await settleAll([
      this.runtimeOf(c).delete(c.id, true),
      unmountIfMounted(path.join(c.bundleDir, 'rootfs')),
      unmountImageVolumes(c.bundleDir),
    ]);
    await settleAll([
      fs.rm(c.bundleDir, { recursive: true, force: true }),
      fs.rm(c.runDir, { recursive: true, force: true }),
      fs.rm(path.join(this.exitDir, c.id), { force: true }),
    ]);
  }

  /** Whether a container uses the image (such an image may not be removed). */
  usesImage(imageId: string): boolean {
    return this.store
      .all()
      .some((record) => record.imageId === imageId || record.volumeImageIds?.includes(imageId));
  }

  /** PodContainers: the pod stops, so do its containers, at once (the kubelet stopped them gracefully before). */
  async stopAll(podId: string): Promise<void> {
    await Promise.all(this.ofPod(podId).map((record) => this.stop(record.id, 0)));
  }

  async removeAll(podId: string): Promise<void> {
    await Promise.all(this.ofPod(podId).map((record) => this.remove(record.id)));
  }

  private async onExit(exit: ExitRecord): Promise<void> {
    const record = this.store.find(exit.id);
    if (!record || record.id !== exit.id) return;
    if (!record.finishedAt) await this.recordExit(record, exit);
    for (const wake of this.exitWaiters.get(record.id)?.splice(0) ?? []) wake();
  }

  private async recordExit(record: ContainerRecord, exit: ExitRecord): Promise<void> {
    record.finishedAt = exitTimeNanos(exit.exitedAt);
    record.startedAt ??= record.finishedAt;
    record.exitCode = exit.exitCode;
    record.reason = exit.oomKilled ? 'OOMKilled' : exit.exitCode === 0 ? 'Completed' : 'Error';
    record.message = exit.signal ? `killed by signal ${exit.signal}` : '';
    await this.store.save(record);
    this.events.containerEvent('CONTAINER_STOPPED_EVENT', record);
    this.logger.info('container exited', { id: record.id, exit_code: exit.exitCode, reason: record.reason });
  }

  private async markLost(record: ContainerRecord): Promise<void> {
    record.finishedAt = nowNanos();
    record.startedAt ??= record.finishedAt;
    record.exitCode = 255;
    record.reason = 'Unknown';
    record.message = 'the container monitor is gone and left no exit status';
    await this.store.save(record);
    this.events.containerEvent('CONTAINER_STOPPED_EVENT', record);
    this.logger.warn('container lost', { id: record.id });
  }

  /** Resolves when the container's exit has been recorded. */
  private exitOf(id: string): Promise<void> {
    return new Promise((resolve) => {
      if (this.store.find(id)?.finishedAt) return resolve();
      const waiters = this.exitWaiters.get(id) ?? [];
      waiters.push(resolve);
      this.exitWaiters.set(id, waiters);
      // The exit may have landed between the check above and now.
      if (this.store.find(id)?.finishedAt) resolve();
    });
  }

  private pidNamespaceOf(targetId: string, sandbox: SandboxRecord): string {
    const target = this.store.find(targetId);
    if (!target || target.podId !== sandbox.id) {
      throw new NotFoundError(`target container "${targetId}" not found in pod ${sandbox.id}`);
    }
    if (containerState(target) !== 'CONTAINER_RUNNING') {
      throw new FailedPreconditionError(`target container ${target.id} is not running`);
    }
    return `/proc/${target.pid}/ns/pid`;
  }

  private hostFeatures(handlerName: string): Promise<HostFeatures> {
    let features = this.features.get(handlerName);
    if (!features) {
      features = supportsRecursiveReadOnly(this.config.runtimes[handlerName].path).then((rro) =>
        probeHostFeatures({ recursiveReadOnlyMounts: rro }),
      );
      this.features.set(handlerName, features);
    }
    return features;
  }

  private runtimeOf(record: Pick<ContainerRecord, 'id' | 'runtimeHandler'>): OciRuntimeCli {
    return runtimeOfHandler(this.config.runtimes, record.runtimeHandler, `container ${record.id}`);
  }
}

/** Runs `body` with a descriptor appending to `file` (the monitor's diagnostics), closed afterwards. */
async function withFileDescriptor<T>(file: string, body: (fd: number) => Promise<T>): Promise<T> {
  const fd = openSync(file, 'a', 0o600);
  try {
    return await body(fd);
  } finally {
    closeSync(fd);
  }
}

/** The host path of a container's CRI log: the pod's log directory plus the container's log_path. */
function logPathOf(sandbox: SandboxRecord, config: ContainerConfig__Output): string {
  if (!sandbox.config.log_directory || !config.log_path) return '';
  const resolved = path.resolve(sandbox.config.log_directory, config.log_path);
  if (!resolved.startsWith(path.resolve(sandbox.config.log_directory) + path.sep)) {
    throw new InvalidArgumentError(`log_path "${config.log_path}" leaves the pod's log directory`);
  }
  return resolved;
}

/** The CRI stop_signal, else the image's StopSignal, else SIGTERM; as a signal name. */
function stopSignalOf(config: ContainerConfig__Output, imageSignal: string | undefined): string {
  if (config.stop_signal && config.stop_signal !== 'SIGNAL_RUNTIME_DEFAULT') {
    return config.stop_signal
      .replace(/^SIGNAL_/, '')
      .replace(/^SIGRTMINPLUS(\d+)$/, 'SIGRTMIN+$1')
      .replace(/^SIGRTMAXMINUS(\d+)$/, 'SIGRTMAX-$1');
  }
  if (imageSignal)
    return /^\d+$/.test(imageSignal) ? imageSignal : imageSignal.toUpperCase().replace(/^(?!SIG)/, 'SIG');
  return 'SIGTERM';
}

function stateWord(record: ContainerRecord): string {
  return containerState(record).replace('CONTAINER_', '').toLowerCase();
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The monitor's RFC 3339 exit time as CRI nanoseconds. */
function exitTimeNanos(exitedAt: string): string {
  const match = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(exitedAt);
  const ms = Date.parse(exitedAt);
  if (!match || Number.isNaN(ms)) return nowNanos();
  const seconds = BigInt(Math.floor(Date.parse(`${match[1]}${match[3]}`) / 1000));
  const fraction = BigInt((match[2] ?? '').padEnd(9, '0').slice(0, 9) || '0');
  return (seconds * 1_000_000_000n + fraction).toString();
}

function withTimeout(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * The bind source of an image volume: the image's mount, or the path under it that
 * image_sub_path names, resolved inside the image (its symlinks cannot lead out of it).
 */
function imageVolumeSource(dir: string, ref: string, subPath: string): string {
  if (subPath === '') return dir;
  const source = resolveInRoot(dir, subPath);
  if (!existsSync(source)) {
    throw new NotFoundError(`image_sub_path "${subPath}" does not exist in image "${ref}"`);
  }
  return source;
}
