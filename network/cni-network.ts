import type { CniNetworkList, CniPluginConf } from './cni-config';
import { findPluginBinary } from './cni-config';
import { CniPluginError } from './cni-errors';
import { type CniCommand, execPlugin } from './cni-exec';
import { type CniResult, parseCniResult } from './cni-result';
import { cniVersionAtLeast } from './cni-version';

/**
 * The per-attachment parameters of spec section 3 ("Attachment Parameters"). An attachment is one
 * network on one interface of one pod; the same parameters must be used for its ADD, CHECK and DEL.
 */
export interface CniAttachment {
  containerId: string;
  /** The pod's network namespace path; undefined on DEL when it no longer exists. */
  netns?: string;
  ifName: string;
  /** Generic arguments (CNI_ARGS). */
  args: Array<[string, string]>;
  /** Capability arguments, given to plugins that declare the capability (spec section 3). */
  capabilityArgs: Record<string, unknown>;
}

export interface CniRunOptions {
  binDirs: string[];
  /** Limit for each plugin execution. */
  timeoutMs: number;
  /** Called with each plugin's stderr, which plugins use for logs. */
  onPluginLog?: (plugin: string, command: CniCommand, stderr: string) => void;
}

/** A GC argument: an attachment that is still in use (spec 1.1.0, GC). */
export interface CniGcAttachment {
  containerID: string;
  ifname: string;
}

/**
 * Derives the configuration one plugin is executed with (spec section 3, "Deriving execution
 * configuration from plugin configuration"): the plugin's own object with the list's `name` and
 * `cniVersion` inserted, `prevResult` when there is one, a `runtimeConfig` holding only the
 * capabilities the plugin declares and the runtime provides, and `capabilities` removed. Every other
 * key is passed through untouched.
 */
export function buildExecConfig(
  list: CniNetworkList,
  plugin: CniPluginConf,
  prevResult: unknown,
  capabilityArgs: Record<string, unknown>,
): Record<string, unknown> {
  const { capabilities, ...rest } = plugin;
  const config: Record<string, unknown> = { ...rest, name: list.name, cniVersion: list.cniVersion };
  delete config.cniVersions;
  delete config.runtimeConfig;
  delete config.prevResult;
  const runtimeConfig: Record<string, unknown> = {};
  if (typeof capabilities === 'object' && capabilities !== null) {
    for (const [capability, enabled] of Object.entries(capabilities)) {
      if (enabled === true && capabilityArgs[capability] !== undefined) {
        runtimeConfig[capability] = capabilityArgs[capability];
      }
    }
  }
  if (Object.keys(runtimeConfig).length > 0) config.runtimeConfig = runtimeConfig;
  if (prevResult !== undefined) config.prevResult = prevResult;
  return config;
}

/**
 * Adds an attachment (spec section 3, "Adding an attachment"): every plugin in order, each given
 * the previous plugin's result. Returns the final result, both as the plugin printed it (for the
 * cache, DEL and CHECK) and read into the 1.x shape. Stops at the first failure; the caller must
 * still run DEL, as the spec asks after a failed add.
 */
export async function addNetworkList(
  list: CniNetworkList,
  attachment: CniAttachment,
  options: CniRunOptions,
): Promise<{ raw: unknown; result: CniResult }> {
  let raw: unknown = undefined;
  let result: CniResult | undefined;
  for (const plugin of list.plugins) {
    const output = await runPlugin('ADD', list, plugin, attachment, raw, options);
    if (output === undefined) {
      throw new CniPluginError(plugin.type, 'ADD', undefined, 'printed no result');
    }
    try {
      result = parseCniResult(output);
    } catch (err) {
      throw new CniPluginError(
        plugin.type,
        'ADD',
        undefined,
        `printed an invalid result: ${(err as Error).message}`,
      );
    }
    raw = output;
  }
  return { raw, result: result! };
}

/**
 * Deletes an attachment (spec section 3, "Deleting an attachment"): plugins in reverse order, each
 * given the final ADD result when there is one and the version carries it (0.4.0 and later).
 */
export async function delNetworkList(
  list: CniNetworkList,
  attachment: CniAttachment,
  prevResult: unknown,
  options: CniRunOptions,
): Promise<void> {
  const prev = cniVersionAtLeast(list.cniVersion, '0.4.0') ? prevResult : undefined;
  for (const plugin of [...list.plugins].reverse()) {
    await runPlugin('DEL', list, plugin, attachment, prev, options);
  }
}

/**
 * Checks an attachment (spec section 3, "Checking an attachment"): plugins in order, each given the
 * final ADD result. Nothing to do when the network sets `disableCheck` or predates CHECK (0.4.0).
 */
export async function checkNetworkList(
  list: CniNetworkList,
  attachment: CniAttachment,
  prevResult: unknown,
  options: CniRunOptions,
): Promise<void> {
  if (list.disableCheck || !cniVersionAtLeast(list.cniVersion, '0.4.0')) return;
  for (const plugin of list.plugins) {
    await runPlugin('CHECK', list, plugin, attachment, prevResult, options);
  }
}

/**
 * Asks every plugin whether it is ready for ADDs (spec 1.1.0, STATUS). Older versions have no STATUS
 * and count as ready. Fails with the first plugin's error (codes 50/51 mean "not available").
 */
export async function statusNetworkList(list: CniNetworkList, options: CniRunOptions): Promise<void> {
  if (!cniVersionAtLeast(list.cniVersion, '1.1.0')) return;
  for (const plugin of list.plugins) {
    const binary = await requireBinary(plugin, 'STATUS', options);
    await exec(
      'STATUS',
      binary,
      plugin,
      { binDirs: options.binDirs, config: buildExecConfig(list, plugin, undefined, {}) },
      options,
    );
  }
}

/**
 * Tells every plugin which attachments are still valid so it can drop resources of any other (spec
 * 1.1.0, GC). Skipped for older versions and networks with `disableGC`. Runs every plugin even if one
 * fails and reports all failures.
 */
export async function gcNetworkList(
  list: CniNetworkList,
  validAttachments: CniGcAttachment[],
  options: CniRunOptions,
): Promise<void> {
  if (list.disableGC || !cniVersionAtLeast(list.cniVersion, '1.1.0')) return;
  const failures: Error[] = [];
  for (const plugin of list.plugins) {
    try {
      const binary = await requireBinary(plugin, 'GC', options);
      const config = {
        ...buildExecConfig(list, plugin, undefined, {}),
        'cni.dev/valid-attachments': validAttachments,
        // An earlier draft of the 1.1.0 spec named the key "cni.dev/attachments"; plugins written
        // against it read that one, so both are sent (as the reference library does).
        'cni.dev/attachments': validAttachments,
      };
      await exec('GC', binary, plugin, { binDirs: options.binDirs, config }, options);
    } catch (err) {
      failures.push(err as Error);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, failures.map((f) => f.message).join('; '));
}

async function runPlugin(
  command: 'ADD' | 'DEL' | 'CHECK',
  list: CniNetworkList,
  plugin: CniPluginConf,
  attachment: CniAttachment,
  prevResult: unknown,
  options: CniRunOptions,
): Promise<unknown> {
  const binary = await requireBinary(plugin, command, options);
  return exec(
    command,
    binary,
    plugin,
    {
      containerId: attachment.containerId,
      netns: attachment.netns,
      ifName: attachment.ifName,
      args: attachment.args,
      binDirs: options.binDirs,
      config: buildExecConfig(list, plugin, prevResult, attachment.capabilityArgs),
    },
    options,
  );
}

async function exec(
  command: CniCommand,
  binary: string,
  plugin: CniPluginConf,
  params: {
    containerId?: string;
    netns?: string;
    ifName?: string;
    args?: Array<[string, string]>;
    binDirs: string[];
    config: unknown;
  },
  options: CniRunOptions,
): Promise<unknown> {
  const { output, stderr } = await execPlugin({ binary, command, timeoutMs: options.timeoutMs, ...params });
  if (stderr !== '') options.onPluginLog?.(plugin.type, command, stderr);
  return output;
}

async function requireBinary(
  plugin: CniPluginConf,
  command: CniCommand,
  options: CniRunOptions,
): Promise<string> {
  const binary = await findPluginBinary(plugin.type, options.binDirs);
  if (!binary) {
    throw new CniPluginError(plugin.type, command, undefined, `not found in ${options.binDirs.join(', ')}`);
  }
  return binary;
}
