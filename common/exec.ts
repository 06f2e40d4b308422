import { execFile } from 'node:child_process';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Thrown when a command exits non-zero, is killed, or cannot be started. */
export class ExecError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/**
 * Runs a program to completion (no shell) and returns its output; fails with the program's own
 * stderr in the message so that callers can surface it as is.
 */
export function run(
  file: string,
  args: readonly string[],
  options: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        timeout: options.timeoutMs ?? 60_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        env: options.env,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const code = typeof err.code === 'number' ? err.code : null;
        const detail = stderr.trim() || err.message;
        const why = err.killed ? `timed out after ${options.timeoutMs ?? 60_000} ms` : detail;
        reject(new ExecError(`${file} ${args[0] ?? ''}: ${why}`, code, stdout, stderr));
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
