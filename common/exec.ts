import type * as net from 'node:net';
import { spawnProcess } from './spawn';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr together beyond this end the program (16 MiB by default). */
  maxOutputBytes?: number;
}

/** How a program failed. */
export interface ExecFailure {
  /** The exit status; null when the program never ran or a signal ended it. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** What went wrong in a few words: "exited with status 2", "timed out after 100 ms"... */
  reason: string;
  /** False when the program could not be started at all. */
  started: boolean;
  /** True when run() killed it (timeout, too much output). */
  stopped: boolean;
}

/** Thrown when a command exits non-zero, is killed, or cannot be started. */
export class ExecError extends Error implements ExecFailure {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly reason: string;
  readonly started: boolean;
  readonly stopped: boolean;

  constructor(message: string, failure: ExecFailure) {
    super(message);
    this.exitCode = failure.exitCode;
    this.stdout = failure.stdout;
    this.stderr = failure.stderr;
    this.reason = failure.reason;
    this.started = failure.started;
    this.stopped = failure.stopped;
  }
}

/**
 * Runs a program to completion (no shell) and returns its output; fails with the program's own
 * stderr in the message so that callers can surface it as is. A program that outlives the
 * timeout, or writes more than the output limit, is killed.
 */
export async function run(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxOutput = options.maxOutputBytes ?? 16 * 1024 * 1024;
  const label = `${file} ${args[0] ?? ''}`;
  let child;
  try {
    child = spawnProcess(file, args, {
      stdio: [options.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: options.env,
    });
  } catch (err) {
    const reason = (err as Error).message;
    throw new ExecError(`${label}: ${reason}`, {
      exitCode: null,
      stdout: '',
      stderr: '',
      reason,
      started: false,
      stopped: false,
    });
  }
  const [stdin, stdout, stderr] = child.stdio;
  let killedFor: string | undefined;
  const killFor = (why: string) => {
    killedFor ??= why;
    child.kill('SIGKILL');
  };
  const timer = setTimeout(() => killFor(`timed out after ${timeoutMs} ms`), timeoutMs);
  if (stdin) {
    stdin.on('error', () => {}); // a program may exit without reading its input
    stdin.end(options.input ?? '');
  }
  let size = 0;
  const counted = (chunk: Buffer) => {
    size += chunk.length;
    if (size <= maxOutput) return true;
    killFor(`printed more than ${maxOutput} bytes`);
    return false;
  };
  try {
    const [out, err, exit] = await Promise.all([
      collect(stdout!, counted),
      collect(stderr!, counted),
      child.exit,
    ]);
    if (!killedFor && exit.code === 0) return { stdout: out, stderr: err };
    const reason =
      killedFor ?? (exit.signal ? `killed by ${exit.signal}` : `exited with status ${exit.code}`);
    const detail = killedFor ? reason : err.trim() || reason;
    throw new ExecError(`${label}: ${detail}`, {
      exitCode: exit.code,
      stdout: out,
      stderr: err,
      reason,
      started: true,
      stopped: killedFor !== undefined,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** What a socket delivers until its end, as text, while `accept` takes each chunk. */
function collect(socket: net.Socket, accept: (chunk: Buffer) => boolean): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      if (accept(chunk)) chunks.push(chunk);
      else socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
