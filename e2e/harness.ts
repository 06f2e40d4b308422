import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify as stringifyToml } from 'smol-toml';
import { packageRoot } from '../common/package-root';
import { removeTempDir } from '../common/testing/kernel';
import { connectCri, type CriClient } from './cri-client';

/** The built daemon's entry point; the test command builds it before running the tests. */
export const BERTH_CLI = path.join(packageRoot(), 'dist', 'server', 'cli.js');

export interface DaemonOptions {
  /** Config keys merged over the test defaults (temp paths, debug logging). */
  config?: Record<string, unknown>;
  /** Extra command-line flags after `daemon`. */
  args?: string[];
  /** How long to wait for the daemon to answer Version. */
  readyTimeoutMs?: number;
}

/** A daemon started as a child process on a temporary root, runroot and socket. */
export class TestDaemon {
  readonly client: CriClient;
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private output = '';

  private constructor(
    readonly dir: string,
    readonly socket: string,
    readonly configFile: string,
    readonly child: ChildProcess,
  ) {
    this.client = connectCri(socket);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  /** Starts a daemon in a fresh temp dir and waits until it answers Version. */
  static async start(options: DaemonOptions = {}): Promise<TestDaemon> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-'));
    const { configFile, socket } = writeTestConfig(dir, options.config);
    const child = spawnDaemon(['--config', configFile, ...(options.args ?? [])]);
    const daemon = new TestDaemon(dir, socket, configFile, child);
    try {
      await daemon.waitReady(options.readyTimeoutMs ?? 20_000);
    } catch (err) {
      await daemon.stop();
      throw err;
    }
    return daemon;
  }

  /** Everything the daemon printed so far. */
  logs(): string {
    return this.output;
  }

  /**
   * Waits until the daemon's output matches `pattern` and returns the output. Log lines travel on
   * a pipe of their own, so a line written before an RPC's response may arrive after it.
   */
  async waitForLog(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (Date.now() > deadline) throw new Error(`no log line matching ${pattern} in:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.output;
  }

  /** Resolves with the exit status once the daemon exits. */
  waitExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }

  /**
   * Kills the daemon with SIGKILL, whatever it is doing, and starts another on the same config
   * and state, ready to serve. The old object must not be used afterwards.
   */
  async crashAndRestart(readyTimeoutMs = 20_000): Promise<TestDaemon> {
    this.client.close();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
    const next = new TestDaemon(
      this.dir,
      this.socket,
      this.configFile,
      spawnDaemon(['--config', this.configFile]),
    );
    try {
      await next.waitReady(readyTimeoutMs);
    } catch (err) {
      await next.stop();
      throw err;
    }
    return next;
  }

  /**
   * Sends SIGTERM, waits for exit (SIGKILL after 15 s), and removes the temp dir with anything a
   * failed test left mounted in it. Safe to call twice.
   */
  async stop(): Promise<void> {
    this.client.close();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await this.exited;
      clearTimeout(timer);
    }
    removeTempDir(this.dir);
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`daemon exited before it was ready:\n${this.output}`);
      }
      if (fs.existsSync(this.socket)) {
        try {
          await this.client.runtime.Version({}, { timeoutMs: 2000 });
          return;
        } catch (err) {
          lastError = err;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`daemon not ready after ${timeoutMs} ms (${String(lastError)}):\n${this.output}`);
  }
}

/** Writes a config with every state path inside `dir`; returns its path and the socket's. */
export function writeTestConfig(
  dir: string,
  overrides: Record<string, unknown> = {},
): { configFile: string; socket: string } {
  const socket = path.join(dir, 'berth.sock');
  const configFile = path.join(dir, 'berth.toml');
  const confDir = path.join(dir, 'cni', 'net.d');
  fs.mkdirSync(confDir, { recursive: true });
  const defaults = {
    root: path.join(dir, 'root'),
    runroot: path.join(dir, 'run'),
    listen: socket,
    log: { level: 'debug' },
    cni: { conf_dir: confDir },
  };
  fs.writeFileSync(configFile, stringifyToml(deepMerge(defaults, overrides)));
  return { configFile, socket };
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Starts `berth daemon ARGS` with its output piped. The CLI runs as an executable, as installed,
 * so its shebang's node flags apply.
 */
export function spawnDaemon(args: string[]): ChildProcess {
  if (!fs.existsSync(BERTH_CLI)) throw new Error(`${BERTH_CLI} is missing: run \`npm run build\` first`);
  return spawn(BERTH_CLI, ['daemon', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `berth ARGS` to completion and returns its exit code and output. */
export function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(BERTH_CLI, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
