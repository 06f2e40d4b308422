import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ExecError, run } from '../common/exec';
import { spawnProcess } from '../common/spawn';
import { FailedPreconditionError, InternalError } from '../common/errors';
import type { RuntimeHandler } from '../server/config';

/** The OCI state of a container as the runtime reports it (runtime-spec "State"). */
export interface OciState {
  ociVersion: string;
  id: string;
  status: 'creating' | 'created' | 'running' | 'stopped' | 'paused';
  pid: number;
  bundle: string;
  annotations?: Record<string, string>;
}

/**
 * Drives an OCI runtime through runc's command line, which berth-runtime, runc and crun share.
 * Every call passes the handler's --root so that each handler keeps its own state.
 */
export class OciRuntimeCli {
  constructor(
    readonly name: string,
    readonly handler: RuntimeHandler,
  ) {}

  /**
   * `create`: sets up the container from `bundle` and leaves its process waiting for `start`.
   * The container's stdio is /dev/null and the runtime's errors go to a log file, never to a pipe
   * of ours: the container process inherits the runtime's descriptors, and a pipe it holds would
   * keep this call from ever seeing EOF.
   */
  async create(id: string, bundle: string, pidFile: string): Promise<void> {
    await this.detached('create', id, bundle, pidFile);
  }

  /**
   * `run --detach`: create and start in one runtime call, for a process that needs nothing done
   * between the two (the pause process). Same stdio and error handling as create.
   */
  async run(id: string, bundle: string, pidFile: string): Promise<void> {
    await this.detached('run', id, bundle, pidFile, ['--detach']);
  }

  private async detached(
    command: 'create' | 'run',
    id: string,
    bundle: string,
    pidFile: string,
    flags: string[] = [],
  ): Promise<void> {
    const logFile = path.join(bundle, 'runtime.log');
    await fs.rm(logFile, { force: true });
    const args = [
      ...this.globalArgs(logFile),
      command,
      ...flags,
      '--bundle',
      bundle,
      '--pid-file',
      pidFile,
      id,
    ];
    let code: number | null;
    try {
      ({ code } = await spawnProcess(this.handler.path, args).exit);
    } catch (err) {
      throw new InternalError(
        `runtime ${this.name}: cannot run ${this.handler.path}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    if (code !== 0) {
      throw new InternalError(`runtime ${this.name}: ${command} ${id}: ${await lastLogError(logFile)}`);
    }
  }

  async start(id: string): Promise<void> {
    await this.call(['start', id]);
  }

  /** The container's state, or undefined when the runtime does not know it. */
  async state(id: string): Promise<OciState | undefined> {
    try {
      const { stdout } = await run(this.handler.path, [...this.globalArgs(), 'state', id]);
      return JSON.parse(stdout) as OciState;
    } catch (err) {
      if (err instanceof ExecError && /does not exist|not exist|no such|not found/i.test(err.stderr))
        return undefined;
      throw new InternalError(`runtime ${this.name}: state ${id}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Sends a signal to the container's init process (or, with `all`, to every process in it). */
  async kill(id: string, signal: string, all = false): Promise<void> {
    await this.call(['kill', ...(all ? ['--all'] : []), id, signal]);
  }

  /** Deletes the container; `force` kills it first if it still runs. Unknown IDs are not an error. */
  async delete(id: string, force = false): Promise<void> {
    try {
      await run(this.handler.path, [...this.globalArgs(), 'delete', ...(force ? ['--force'] : []), id]);
    } catch (err) {
      if (err instanceof ExecError && /does not exist|not exist|no such|not found/i.test(err.stderr)) return;
      throw new InternalError(`runtime ${this.name}: delete ${id}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private async call(args: string[]): Promise<void> {
    try {
      await run(this.handler.path, [...this.globalArgs(), ...args]);
    } catch (err) {
      throw new InternalError(`runtime ${this.name}: ${args.join(' ')}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private globalArgs(logFile?: string): string[] {
    const args = ['--root', this.handler.root];
    if (logFile) args.push('--log', logFile, '--log-format', 'json');
    return args;
  }
}

/**
 * The runtime of a configured handler, for an object (`owner`, e.g. "container <id>") made with
 * it. A handler removed from the config since is an error that says so.
 */
export function runtimeOfHandler(
  runtimes: Record<string, RuntimeHandler>,
  name: string,
  owner: string,
): OciRuntimeCli {
  const handler = runtimes[name];
  if (!handler) {
    throw new FailedPreconditionError(
      `${owner} uses runtime handler "${name}", which is no longer configured`,
    );
  }
  return new OciRuntimeCli(name, handler);
}

/** The last error the runtime logged (runc's JSON log lines: {"level","msg","time"}). */
async function lastLogError(logFile: string): Promise<string> {
  let text: string;
  try {
    text = await fs.readFile(logFile, 'utf8');
  } catch {
    return 'failed without a log';
  }
  const messages = text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string };
        return entry.level === 'error' || entry.level === 'fatal' ? (entry.msg ?? '') : '';
      } catch {
        return line; // a runtime that does not log JSON
      }
    })
    .filter(Boolean);
  return messages.at(-1) ?? (text.trim() || 'failed without a message');
}
