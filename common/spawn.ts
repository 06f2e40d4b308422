import * as net from 'node:net';
import { constants } from 'node:os';
import { nativeAddon, type NativeAddon } from './native-addon';

/**
 * How a child's descriptor is set up: 'ignore' is /dev/null, 'pipe' a socket pair whose other
 * end the daemon reads and writes, a number one of the daemon's own descriptors.
 */
export type StdioSpec = 'ignore' | 'pipe' | number;

export interface SpawnOptions {
  /** The child's descriptors 0, 1, 2, 3...; missing ones are 'ignore'. */
  stdio?: readonly StdioSpec[];
  /** The environment; the daemon's own when absent. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** A new session: the child outlives the daemon's process group and terminal. */
  detached?: boolean;
}

export interface ProcessExit {
  /** The exit status, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnedProcess {
  readonly pid: number;
  /** The daemon's end of each 'pipe' descriptor, by child descriptor number. */
  readonly stdio: ReadonlyArray<net.Socket | undefined>;
  /** Settles once the process has ended and been reaped. */
  readonly exit: Promise<ProcessExit>;
  /** Signals the process unless it has already been reaped (so its pid cannot be reused). */
  kill(signal?: NodeJS.Signals): void;
}

const IGNORE = -1;
const PIPE = -2;

const waiting = new Map<number, (exit: ProcessExit) => void>();
let exitHandlerSet = false;

/** The addon, with this module's exit handler registered on first use. */
function loadAddon(): NativeAddon {
  const addon = nativeAddon();
  if (!exitHandlerSet) {
    addon.setExitHandler((pid, code, signal) => {
      const settle = waiting.get(pid);
      waiting.delete(pid);
      settle?.({ code: signal ? null : code, signal: signal ? signalName(signal) : null });
    });
    exitHandlerSet = true;
  }
  return addon;
}

function signalName(signal: number): NodeJS.Signals {
  const entry = Object.entries(constants.signals).find(([, n]) => n === signal);
  return (entry?.[0] ?? `SIG${signal}`) as NodeJS.Signals;
}

/**
 * Starts a program (no shell; a file without a '/' is searched in PATH) with the native spawner:
 * posix_spawn from a thread of the daemon instead of Node's fork of the whole daemon, several
 * times cheaper per process. Throws (code ENOENT, EACCES...) when the program cannot be started.
 */
export function spawnProcess(
  file: string,
  args: readonly string[],
  options: SpawnOptions = {},
): SpawnedProcess {
  const native = loadAddon();
  const env = Object.entries(options.env ?? process.env)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${value}`);
  const specs = [...(options.stdio ?? [])];
  while (specs.length < 3) specs.push('ignore');
  const nativeStdio = specs.map((s) => (s === 'ignore' ? IGNORE : s === 'pipe' ? PIPE : s));
  const [pid, ...ends] = native.spawn(
    file,
    [file, ...args],
    env,
    nativeStdio,
    options.cwd ?? null,
    options.detached ?? false,
  ) as [number, ...Array<number | null>];
  let reaped = false;
  const exit = new Promise<ProcessExit>((resolve) =>
    waiting.set(pid, (result) => {
      reaped = true;
      resolve(result);
    }),
  );
  const stdio = ends.map((fd) =>
    fd === null ? undefined : new net.Socket({ fd, readable: true, writable: true }),
  );
  return {
    pid,
    stdio,
    exit,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (reaped) return;
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone (a zombie awaiting its waiter): nothing to signal.
      }
    },
  };
}
