/**
 * The daemon's side of berth-monitor (native/monitor/README.md has the protocol): start a
 * monitor for a container and learn the outcome of `runtime create`, talk to its attach and
 * control sockets, read and watch exit records, and run ExecSync through the monitor's
 * exec-sync mode.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { drainOrClose } from '../common/drain';
import { DeadlineExceededError, FailedPreconditionError, InternalError } from '../common/errors';
import { packageRoot } from '../common/package-root';
import { spawnProcess, type SpawnedProcess } from '../common/spawn';

export function monitorBinary(): string {
  return path.join(packageRoot(), 'native', 'bin', 'berth-monitor');
}

/** The files a monitor keeps in its container's runroot directory. */
export function monitorPaths(runroot: string): {
  attach: string;
  control: string;
  containerPid: string;
  monitorPid: string;
} {
  return {
    attach: path.join(runroot, 'attach.sock'),
    control: path.join(runroot, 'ctl.sock'),
    containerPid: path.join(runroot, 'container.pid'),
    monitorPid: path.join(runroot, 'monitor.pid'),
  };
}

export interface RuntimeCommand {
  /** The runtime binary (berth-runtime, runc, crun): runc's command line. */
  path: string;
  /** Global options placed before the subcommand, such as ['--root', dir]. */
  args?: string[];
}

export interface MonitorOptions {
  runtime: RuntimeCommand;
  /** The container: created from bundle, or, with execProcess, the running one an exec
   * session runs in. */
  id: string;
  bundle?: string;
  /** An OCI process JSON: the monitor runs `runtime exec --detach --process` instead of create
   * (an exec session with attach, a terminal or a log). */
  execProcess?: string;
  /** Names the exit record (default: id); exec sessions need their own. */
  exitName?: string;
  /** Holds the sockets and pid files; created by the monitor if missing (its parent must exist). */
  runroot: string;
  logPath: string;
  /** Where the exit record `<exitDir>/<id>` is written. */
  exitDir: string;
  logMaxLine?: number;
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  /** A descriptor for the monitor's own diagnostics; they are discarded without one. */
  stderrFd?: number;
  /** Hands the monitor one end of a socket pair as its first attach client (`--attach-fd`),
   * before the runtime runs, so no output escapes it; MonitorStarted.attach is the other end. */
  attachSocket?: boolean;
  /** How long to wait for the outcome of `runtime create`. */
  timeoutMs?: number;
  binary?: string;
}

/**
 * The pid of the monitor serving runroot if it still runs (for the daemon's reconciliation at
 * start): monitor.pid names a live process whose command is berth-monitor.
 */
export function liveMonitorPid(runroot: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(monitorPaths(runroot).monitorPid, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return comm === 'berth-monitor' && state !== 'Z' ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface MonitorStarted {
  containerPid: number;
  monitorPid: number;
  /** With attachSocket: the session on the monitor's first attach client. */
  attach?: AttachSession;
}

/** A failed `runtime create`: the message carries the runtime's own error text. */
export class ContainerCreateError extends InternalError {
  constructor(
    message: string,
    readonly runtimeStatus: number,
  ) {
    super(message);
  }
}

export function monitorArgs(o: MonitorOptions): string[] {
  const args = ['--runtime', o.runtime.path];
  for (const a of o.runtime.args ?? []) args.push('--runtime-arg', a);
  args.push('--id', o.id, '--runroot', o.runroot);
  if (o.execProcess) args.push('--exec-process', o.execProcess);
  else if (o.bundle) args.push('--bundle', o.bundle);
  if (o.exitName) args.push('--exit-name', o.exitName);
  args.push('--log-path', o.logPath, '--exit-dir', o.exitDir, '--sync-fd', '3');
  if (o.logMaxLine !== undefined) args.push('--log-max-line', String(o.logMaxLine));
  if (o.stdin) args.push('--stdin');
  if (o.stdinOnce) args.push('--stdin-once');
  if (o.tty) args.push('--tty');
  if (o.attachSocket) args.push('--attach-fd', '4');
  return args;
}

/**
 * Starts a monitor, which detaches and runs `runtime create`; resolves once the container is
 * created (its init waits for `runtime start`), rejects with the runtime's error otherwise.
 * With execProcess, resolves once the exec session's process runs.
 */
export function startMonitor(o: MonitorOptions): Promise<MonitorStarted> {
  let child: SpawnedProcess;
  try {
    // Descriptor 3 is the sync socket, 4 the attach client's; the monitor detaches at once.
    child = spawnProcess(o.binary ?? monitorBinary(), monitorArgs(o), {
      stdio: [
        'ignore',
        'ignore',
        o.stderrFd ?? 'ignore',
        'pipe',
        ...(o.attachSocket ? ['pipe' as const] : []),
      ],
      detached: true,
    });
  } catch (e) {
    return Promise.reject(new InternalError(`start berth-monitor: ${(e as Error).message}`, { cause: e }));
  }
  const sync = child.stdio[3]!;
  const attachSock = o.attachSocket ? child.stdio[4] : undefined;
  const attach = attachSock && AttachSession.fromSocket(attachSock);
  return new Promise<MonitorStarted>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sync.destroy();
      attachSock?.destroy();
      reject(
        new DeadlineExceededError(
          `berth-monitor for ${o.id} did not report within ${o.timeoutMs ?? 60000} ms`,
        ),
      );
    }, o.timeoutMs ?? 60000);
    sync.on('data', (c: Buffer) => chunks.push(c));
    sync.on('error', () => {});
    sync.on('close', () => {
      clearTimeout(timer);
      try {
        resolve({ ...parseSyncMessage(Buffer.concat(chunks).toString('utf8'), o.id), attach });
      } catch (e) {
        attachSock?.destroy();
        reject(e);
      }
    });
  });
}

export function parseSyncMessage(text: string, id: string): MonitorStarted {
  const line = text.split('\n')[0];
  if (!line) throw new InternalError(`berth-monitor for ${id} exited without reporting`);
  const msg = JSON.parse(line) as {
    pid?: number;
    monitor_pid?: number;
    error?: string;
    runtime_status?: number;
  };
  if (msg.error !== undefined) throw new ContainerCreateError(msg.error, msg.runtime_status ?? -1);
  if (!msg.pid || !msg.monitor_pid) throw new InternalError(`berth-monitor for ${id} sent ${line}`);
  return { containerPid: msg.pid, monitorPid: msg.monitor_pid };
}

/** Sends one control request and resolves on the monitor's "ok". */
function controlRequest(runroot: string, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(monitorPaths(runroot).control);
    let reply = '';
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(line + '\n'));
    sock.on('data', (d: string) => (reply += d));
    sock.on('error', (e) =>
      reject(new FailedPreconditionError(`container monitor in ${runroot} is not reachable: ${e.message}`)),
    );
    sock.on('close', () => {
      const answer = reply.trim();
      if (answer === 'ok') resolve();
      else reject(new InternalError(`monitor: ${answer.replace(/^error /, '') || 'no reply'}`));
    });
  });
}

/** Makes the monitor open the log path anew (after the kubelet renamed it). Resolves once
 * every later byte goes to the new file. */
export function reopenLog(runroot: string): Promise<void> {
  return controlRequest(runroot, 'reopen');
}

export function resizeTerminal(runroot: string, rows: number, cols: number): Promise<void> {
  return controlRequest(runroot, `resize ${rows} ${cols}`);
}

export type StreamName = 'stdout' | 'stderr';

const FRAME = { stdin: 0, stdout: 1, stderr: 2, resize: 3, closeStdin: 4 } as const;
const HEADER = 5;

export function encodeFrame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(HEADER);
  header[0] = type;
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** Splits the attach socket's byte stream into (stream, data) frames, across reads. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { stream: StreamName; data: Buffer }[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: { stream: StreamName; data: Buffer }[] = [];
    while (this.pending.length >= HEADER) {
      const len = this.pending.readUInt32BE(1);
      if (this.pending.length < HEADER + len) break;
      const type = this.pending[0];
      const data = this.pending.subarray(HEADER, HEADER + len);
      if (type === FRAME.stdout || type === FRAME.stderr)
        out.push({ stream: type === FRAME.stdout ? 'stdout' : 'stderr', data });
      this.pending = this.pending.subarray(HEADER + len);
    }
    return out;
  }
}

type OutputSink = (stream: StreamName, data: Buffer) => void;

/** One attach session: output arrives through onOutput, stdin and resizes go the other way. */
export class AttachSession {
  /** Resolves when the monitor closed the session (the container exited) or close() was called. */
  readonly closed: Promise<void>;
  /** Output that came before anyone listened (a session made by startMonitor). */
  private early: { stream: StreamName; data: Buffer }[] = [];

  private constructor(
    private readonly sock: net.Socket,
    private sink?: OutputSink,
  ) {
    this.closed = new Promise((resolve) => sock.on('close', () => resolve()));
    // Read from the start: node resumes an unread child stdio stream when the child exits,
    // which the monitor's starter does at once, and bytes read with no listener are lost.
    const decoder = new FrameDecoder();
    sock.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        if (this.sink) this.sink(f.stream, f.data);
        else this.early.push(f);
      }
    });
  }

  static connect(runroot: string, onOutput: OutputSink): Promise<AttachSession> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(monitorPaths(runroot).attach);
      const session = new AttachSession(sock, onOutput);
      sock.once('error', (e) =>
        reject(new FailedPreconditionError(`cannot attach to the container in ${runroot}: ${e.message}`)),
      );
      sock.once('connect', () => {
        sock.on('error', () => {});
        resolve(session);
      });
    });
  }

  /** A session over the monitor's inherited client socket; output waits for onOutput. */
  static fromSocket(sock: net.Socket): AttachSession {
    sock.on('error', () => {});
    return new AttachSession(sock);
  }

  /** Sets where output goes; what arrived before is delivered first. */
  onOutput(sink: OutputSink): void {
    this.sink = sink;
    for (const f of this.early.splice(0)) sink(f.stream, f.data);
  }

  /**
   * Sends input to the container's stdin. False when the monitor is behind (it stops reading
   * while the container does not read its stdin): the caller should wait for stdinDrained().
   */
  writeStdin(data: Buffer | string): boolean {
    return this.sock.write(encodeFrame(FRAME.stdin, Buffer.from(data)));
  }

  /** Resolves once the monitor took what writeStdin queued, or the session is gone. */
  stdinDrained(): Promise<void> {
    if (!this.sock.writableNeedDrain || this.sock.destroyed) return Promise.resolve();
    return drainOrClose(this.sock);
  }

  closeStdin(): void {
    this.sock.write(encodeFrame(FRAME.closeStdin));
  }

  resize(rows: number, cols: number): void {
    const payload = Buffer.alloc(4);
    payload.writeUInt16BE(rows, 0);
    payload.writeUInt16BE(cols, 2);
    this.sock.write(encodeFrame(FRAME.resize, payload));
  }

  /** Stops reading output: once the socket is full, the monitor holds the output back (the
   * process of an exec session then blocks; an ordinary attach client is dropped instead). */
  pauseOutput(): void {
    this.sock.pause();
  }

  resumeOutput(): void {
    this.sock.resume();
  }

  /** Drops the connection at once, unread output and all. Safe to call twice. */
  async destroy(): Promise<void> {
    this.sock.destroy();
    await this.closed;
  }

  /** Ends the session after what was written is sent. Safe to call twice. */
  async close(): Promise<void> {
    this.sock.end();
    await this.closed;
  }
}

export interface ExitRecord {
  id: string;
  pid: number;
  /** 128 + the signal for a process a signal killed. */
  exitCode: number;
  signal: number;
  oomKilled: boolean;
  exitedAt: string;
  logBytesDropped: number;
}

export function parseExitRecord(text: string): ExitRecord {
  const r = JSON.parse(text) as Record<string, unknown>;
  return {
    id: String(r.id),
    pid: Number(r.pid),
    exitCode: Number(r.exit_code),
    signal: Number(r.signal),
    oomKilled: r.oom_killed === true,
    exitedAt: String(r.exited_at),
    logBytesDropped: Number(r.log_bytes_dropped ?? 0),
  };
}

/** The exit record of a container, or undefined while it has none. */
export function readExitRecord(exitDir: string, id: string): ExitRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(exitDir, id), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return parseExitRecord(text);
}

/**
 * Calls onExit for each exit record in exitDir: those already there, then each new one as the
 * monitors rename them into place (inotify through fs.watch; no polling of containers).
 */
export function watchExits(exitDir: string, onExit: (record: ExitRecord) => void): { close(): void } {
  const seen = new Set<string>();
  const consider = (name: string): void => {
    if (name.startsWith('.')) return; // a monitor's temporary file
    let record: ExitRecord | undefined;
    try {
      record = readExitRecord(exitDir, name);
    } catch {
      return; // not a record (yet): the rename that completes it raises another event
    }
    if (!record) return;
    const key = `${record.id} ${record.exitedAt}`;
    if (seen.has(key)) return;
    seen.add(key);
    onExit(record);
  };
  const watcher = fs.watch(exitDir, (_event, name) => {
    if (name) consider(name.toString());
  });
  for (const name of fs.readdirSync(exitDir)) consider(name);
  return { close: () => watcher.close() };
}

export interface ExecSyncOptions {
  runtime: RuntimeCommand;
  id: string;
  /** A directory for the transient pid file (the container's runroot). */
  runroot: string;
  /** Argv run with the container's process settings; or processFile, an OCI process JSON. */
  command?: string[];
  processFile?: string;
  timeoutSeconds?: number;
  maxOutputBytes?: number;
  binary?: string;
}

export interface ExecSyncResult {
  exitCode: number;
  signal: number;
  timedOut: boolean;
  stdout: Buffer;
  stderr: Buffer;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

/** Runs a command in a running container through `berth-monitor exec-sync`. */
export function execSync(o: ExecSyncOptions): Promise<ExecSyncResult> {
  const args = ['exec-sync', '--runtime', o.runtime.path];
  for (const a of o.runtime.args ?? []) args.push('--runtime-arg', a);
  args.push('--id', o.id, '--runroot', o.runroot);
  if (o.timeoutSeconds) args.push('--timeout', String(o.timeoutSeconds));
  if (o.maxOutputBytes !== undefined) args.push('--max-output', String(o.maxOutputBytes));
  if (o.processFile) args.push('--process', o.processFile);
  else args.push('--', ...(o.command ?? []));
  let child: SpawnedProcess;
  try {
    child = spawnProcess(o.binary ?? monitorBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    return Promise.reject(
      new InternalError(`start berth-monitor exec-sync: ${(e as Error).message}`, { cause: e }),
    );
  }
  const [, stdout, stderr] = child.stdio;
  const out: Buffer[] = [];
  const diag: Buffer[] = [];
  stdout!.on('data', (c: Buffer) => out.push(c));
  stderr!.on('data', (c: Buffer) => diag.push(c));
  const closed = Promise.all([
    child.exit,
    new Promise((resolve) => stdout!.on('close', resolve)),
    new Promise((resolve) => stderr!.on('close', resolve)),
  ]);
  return new Promise((resolve, reject) => {
    void closed.then(() => {
      const text = Buffer.concat(out).toString('utf8').trim();
      let r: Record<string, unknown>;
      try {
        r = JSON.parse(text) as Record<string, unknown>;
      } catch {
        reject(
          new InternalError(
            `exec-sync in ${o.id}: ${Buffer.concat(diag).toString('utf8').trim() || 'no result'}`,
          ),
        );
        return;
      }
      if (typeof r.error === 'string') {
        reject(new InternalError(`exec in ${o.id}: ${r.error}`));
        return;
      }
      resolve({
        exitCode: Number(r.exit_code),
        signal: Number(r.signal),
        timedOut: r.timed_out === true,
        stdout: Buffer.from(String(r.stdout), 'base64'),
        stderr: Buffer.from(String(r.stderr), 'base64'),
        stdoutTruncated: r.stdout_truncated === true,
        stderrTruncated: r.stderr_truncated === true,
      });
    });
  });
}
