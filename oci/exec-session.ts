/**
 * Streaming exec sessions (CRI Exec): the command runs in the container under a berth-monitor
 * of its own (`--exec-process`), which holds its stdio or terminal, and whose first attach
 * client is handed over at start (`--attach-fd`), so no output passes before the daemon
 * listens. The monitor never drops that client for reading slowly: the process waits for it
 * instead (its output blocks), so the caller may pause the session's output without losing any.
 * The session's files live in a directory of their own, removed once it ends.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InternalError } from '../common/errors';
import { startMonitor, watchExits, type AttachSession, type RuntimeCommand } from './monitor';

export interface ExecSessionOptions {
  runtime: RuntimeCommand;
  containerId: string;
  /** The container's bundle: the session starts from its config's process (user, env, cwd,
   * capabilities, ...), as runc exec --process expects a whole process object. */
  bundleDir: string;
  /** Parent of the per-session directories; short, as unix socket paths are. */
  sessionsDir: string;
  command: string[];
  tty: boolean;
  stdin: boolean;
}

export interface ExecSession {
  attach: AttachSession;
  /** The process, as the host sees it. */
  pid: number;
  /** The exit code (128 + signal if killed) once the process ended, the monitor recorded it,
   * and all its output went through attach (the session closed). */
  exited: Promise<number>;
  /** Ends the process with SIGKILL if it still runs (its client went away). */
  kill(): void;
}

export async function startExecSession(o: ExecSessionOptions): Promise<ExecSession> {
  await fs.mkdir(o.sessionsDir, { recursive: true, mode: 0o700 });
  const dir = path.join(o.sessionsDir, randomBytes(8).toString('hex'));
  const exitDir = path.join(dir, 'exit');
  await fs.mkdir(exitDir, { recursive: true, mode: 0o700 });
  try {
    const processFile = path.join(dir, 'process.json');
    await fs.writeFile(processFile, JSON.stringify(await execProcess(o)), { mode: 0o600 });
    const started = await startMonitor({
      runtime: o.runtime,
      id: o.containerId,
      execProcess: processFile,
      exitName: 'exec',
      runroot: dir,
      logPath: '/dev/null',
      exitDir,
      stdin: o.stdin,
      // Our client is the only writer: its end is the end of stdin.
      stdinOnce: o.stdin,
      tty: o.tty,
      attachSocket: true,
    });
    const attach = started.attach!;
    let ended = false;
    // The monitor writes the exit record after it drained the output into the attach socket
    // and closed it, but the daemon sees the record (often already there when it looks) before
    // it has read that socket: an exit code taken from the record alone let the session end
    // (the client's stdout closed, its status sent) with the output still unread, and lost it.
    // The socket's close comes after its last byte was read and handed on.
    const exited = Promise.all([exitCodeOf(exitDir, attach.closed), attach.closed])
      .then(([code]) => code)
      .finally(() => {
        ended = true;
        void fs.rm(dir, { recursive: true, force: true });
      });
    return {
      attach,
      pid: started.containerPid,
      exited,
      kill: () => {
        if (ended) return;
        try {
          process.kill(started.containerPid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      },
    };
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The container's process with the command, the terminal flag, and TERM for a terminal. */
async function execProcess(o: ExecSessionOptions): Promise<Record<string, unknown>> {
  let spec: { process?: Record<string, unknown> };
  try {
    spec = JSON.parse(await fs.readFile(path.join(o.bundleDir, 'config.json'), 'utf8')) as typeof spec;
  } catch (err) {
    throw new InternalError(`read the spec of container ${o.containerId}: ${(err as Error).message}`);
  }
  const base = spec.process ?? {};
  const env = [...((base.env as string[] | undefined) ?? [])];
  // As CRI-O and containerd do: programs need TERM to drive a terminal.
  if (o.tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
  const proc: Record<string, unknown> = { ...base, args: o.command, terminal: o.tty, env };
  delete proc.consoleSize;
  return proc;
}

/** How long after its output closed the monitor gets to write the exit record. */
const EXIT_RECORD_WAIT_MS = 10_000;

/**
 * Resolves with the exit code of the record the monitor writes into exitDir; with 255 (status
 * unknown) if none comes within a while after the output closed (the monitor was killed).
 */
function exitCodeOf(exitDir: string, outputClosed: Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      held.watcher?.close();
      resolve(code);
    };
    // watchExits may report a record before it returns: the watcher is closed then, below.
    const held: { watcher?: { close(): void } } = {};
    held.watcher = watchExits(exitDir, (record) => finish(record.exitCode));
    if (done) held.watcher.close();
    void outputClosed.then(() => {
      if (!done) timer = setTimeout(() => finish(255), EXIT_RECORD_WAIT_MS);
    });
  });
}
