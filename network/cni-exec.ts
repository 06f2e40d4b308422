import * as path from 'node:path';
import { ExecError, run, type ExecResult } from '../common/exec';
import { CniPluginError } from './cni-errors';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';

/** One execution of one plugin binary (spec section 2, "Parameters"). */
export interface PluginInvocation {
  /** Absolute path of the plugin binary. */
  binary: string;
  command: CniCommand;
  containerId?: string;
  /** Path of the pod's network namespace; omitted on DEL when the namespace is gone (spec allows it). */
  netns?: string;
  ifName?: string;
  /** Generic arguments, passed as CNI_ARGS `K=V;K=V`. */
  args?: ReadonlyArray<readonly [string, string]>;
  /** Plugin directories, passed as CNI_PATH so plugins find their delegates (IPAM). */
  binDirs: readonly string[];
  /** The execution configuration, sent as JSON on stdin. */
  config: unknown;
  timeoutMs: number;
}

export interface PluginOutput {
  /** The JSON the plugin printed on success, or undefined when it printed nothing (DEL, CHECK). */
  output: unknown;
  /** Its unstructured log output, for debugging. */
  stderr: string;
}

/** A fallback PATH for plugins that shell out (portmap and firewall run iptables). */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Output beyond this is not a CNI result; the plugin is stopped rather than buffered forever. */
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

/**
 * Runs one plugin to completion and reads its answer. The plugin gets the CNI_* parameters and PATH
 * only, never the daemon's own environment, so nothing of berth's leaks into plugins and a plugin
 * behaves the same under systemd and in a shell. Failures become CniPluginError with the plugin's
 * own error object when it printed one (spec section 5, "Error").
 */
export async function execPlugin(inv: PluginInvocation): Promise<PluginOutput> {
  const plugin = path.basename(inv.binary);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH || DEFAULT_PATH,
    CNI_COMMAND: inv.command,
    CNI_PATH: inv.binDirs.join(':'),
  };
  if (inv.containerId !== undefined) env.CNI_CONTAINERID = inv.containerId;
  if (inv.netns !== undefined) env.CNI_NETNS = inv.netns;
  if (inv.ifName !== undefined) env.CNI_IFNAME = inv.ifName;
  if (inv.args !== undefined && inv.args.length > 0) env.CNI_ARGS = formatCniArgs(inv.args);

  let result: ExecResult;
  try {
    result = await run(inv.binary, [], {
      env,
      input: JSON.stringify(inv.config),
      timeoutMs: inv.timeoutMs,
      maxOutputBytes: MAX_OUTPUT_BYTES,
    });
  } catch (err) {
    if (!(err instanceof ExecError)) throw err;
    if (!err.started) {
      throw new CniPluginError(plugin, inv.command, undefined, `cannot run ${inv.binary}: ${err.reason}`);
    }
    if (err.stopped) {
      throw new CniPluginError(plugin, inv.command, undefined, err.reason, lastLines(err.stderr.trim()));
    }
    throw pluginFailure(plugin, inv.command, err.stdout.trim(), err.stderr.trim(), err.reason);
  }
  const out = result.stdout.trim();
  const stderr = result.stderr.trim();
  if (out === '') return { output: undefined, stderr };
  try {
    return { output: JSON.parse(out), stderr };
  } catch {
    throw new CniPluginError(
      plugin,
      inv.command,
      undefined,
      `printed invalid JSON: ${JSON.stringify(out.slice(0, 200))}`,
    );
  }
}

/**
 * CNI_ARGS is `K=V` pairs joined by `;` (spec section 2). Keys and values that would break that
 * framing are refused rather than silently mangled.
 */
export function formatCniArgs(args: ReadonlyArray<readonly [string, string]>): string {
  return args
    .map(([key, value]) => {
      if (key === '' || /[;=]/.test(key) || value.includes(';')) {
        throw new Error(
          `CNI argument ${JSON.stringify(key)}=${JSON.stringify(value)} cannot be passed in CNI_ARGS`,
        );
      }
      return `${key}=${value}`;
    })
    .join(';');
}

/** The error a failed plugin reported: its JSON error object on stdout (or stderr), else its last words. */
function pluginFailure(
  plugin: string,
  command: string,
  stdout: string,
  stderr: string,
  why: string,
): CniPluginError {
  for (const text of [stdout, stderr]) {
    const error = parseErrorObject(text);
    if (error) return new CniPluginError(plugin, command, error.code, error.msg, error.details);
  }
  const words = lastLines(stderr) || lastLines(stdout);
  return new CniPluginError(plugin, command, undefined, words ? `${why}: ${words}` : why);
}

function parseErrorObject(text: string): { code: number; msg: string; details: string } | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const doc = JSON.parse(text) as Record<string, unknown>;
    if (typeof doc.code !== 'number') return undefined;
    return {
      code: doc.code,
      msg: typeof doc.msg === 'string' ? doc.msg : '',
      details: typeof doc.details === 'string' ? doc.details : '',
    };
  } catch {
    return undefined;
  }
}

function lastLines(text: string): string {
  return text.split('\n').slice(-5).join('\n').slice(-2000);
}
