import { promises as fs, constants as fsConstants } from 'node:fs';
import * as path from 'node:path';
import { selectCniVersion } from './cni-version';

/** One plugin entry of a CNI network configuration list (CNI spec, "Network configuration"). */
export interface CniPluginConf {
  type: string;
  [key: string]: unknown;
}

/**
 * A parsed network configuration list, with the file it came from. Plain JSON, so it can be kept
 * in the result cache and replayed for DEL exactly as it was at ADD time.
 */
export interface CniNetworkList {
  file: string;
  /** The version plugins are run at: `cniVersion`, or the highest supported of `cniVersions`. */
  cniVersion: string;
  name: string;
  disableCheck: boolean;
  /** Spec 1.1.0: the runtime must not send GC for this network. */
  disableGC: boolean;
  plugins: CniPluginConf[];
}

/** Network names and container IDs: alphanumeric first, then alphanumerics, `_`, `.` or `-` (spec section 1). */
export const CNI_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export interface NetworkReadiness {
  ready: boolean;
  /** Machine-readable reason when not ready (CRI RuntimeCondition.reason). */
  reason: string;
  message: string;
  network?: CniNetworkList;
}

/** Extensions the CNI spec's reference loader (libcni) reads from a configuration directory. */
const CONF_EXTENSIONS = ['.conflist', '.conf', '.json'];

/**
 * Finds the pod network: the first valid configuration in `confDir` in lexical file-name order,
 * as libcni and the other CRI runtimes do. Invalid files are skipped with their error recorded, so
 * one broken file does not hide a good one; if none is valid, the errors say why.
 */
export async function findDefaultNetwork(
  confDir: string,
): Promise<{ network?: CniNetworkList; problems: string[] }> {
  let names: string[];
  try {
    names = await fs.readdir(confDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { problems: [`${confDir} does not exist`] };
    throw err;
  }
  const problems: string[] = [];
  for (const name of names.filter((n) => CONF_EXTENSIONS.includes(path.extname(n))).sort()) {
    const file = path.join(confDir, name);
    try {
      return { network: parseNetworkConfig(file, await fs.readFile(file, 'utf8')), problems };
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return { problems };
}

/**
 * Parses a `.conflist` (a list with `plugins`) or a single-plugin `.conf` (turned into a list of
 * one, as libcni does), checking the fields every CNI runtime relies on.
 */
export function parseNetworkConfig(file: string, text: string): CniNetworkList {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new Error(`${file}: not a JSON object`);
  const conf = doc as Record<string, unknown>;
  const isList = 'plugins' in conf;
  const plugins = isList ? conf.plugins : [conf];
  if (typeof conf.name !== 'string' || conf.name === '') throw new Error(`${file}: missing network "name"`);
  if (!CNI_NAME_PATTERN.test(conf.name)) {
    throw new Error(`${file}: network name "${conf.name}" has characters the CNI spec does not allow`);
  }
  let cniVersion: string;
  try {
    cniVersion = selectCniVersion(conf.cniVersion, conf.cniVersions);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(plugins) || plugins.length === 0)
    throw new Error(`${file}: "plugins" must be a non-empty list`);
  plugins.forEach((plugin, i) => {
    if (
      typeof plugin !== 'object' ||
      plugin === null ||
      Array.isArray(plugin) ||
      typeof (plugin as CniPluginConf).type !== 'string' ||
      (plugin as CniPluginConf).type === ''
    ) {
      throw new Error(`${file}: plugin ${i} has no "type"`);
    }
    if ((plugin as CniPluginConf).type.includes('/')) {
      throw new Error(`${file}: plugin ${i} type "${(plugin as CniPluginConf).type}" must be a file name`);
    }
  });
  return {
    file,
    cniVersion,
    name: conf.name,
    disableCheck: conf.disableCheck === true,
    disableGC: conf.disableGC === true,
    plugins: plugins as CniPluginConf[],
  };
}

/** Finds an executable plugin binary in the bin dirs, in order. */
export async function findPluginBinary(type: string, binDirs: string[]): Promise<string | undefined> {
  if (type.includes('/')) return undefined; // a type is a bare binary name, never a path
  for (const dir of binDirs) {
    const candidate = path.join(dir, type);
    try {
      await fs.access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not in this dir
    }
  }
  return undefined;
}

/**
 * Whether pods can get a network: a valid configuration exists and every plugin it names is
 * installed. This is the CRI NetworkReady condition; the kubelet keeps pods off a node until it
 * holds.
 */
export async function checkNetworkReady(confDir: string, binDirs: string[]): Promise<NetworkReadiness> {
  const { network, problems } = await findDefaultNetwork(confDir);
  if (!network) {
    const detail = problems.length > 0 ? `: ${problems.join('; ')}` : '';
    return {
      ready: false,
      reason: 'NetworkPluginNotReady',
      message: `no valid CNI network configuration found in ${confDir}${detail}`,
    };
  }
  for (const plugin of network.plugins) {
    if (!(await findPluginBinary(plugin.type, binDirs))) {
      return {
        ready: false,
        reason: 'NetworkPluginNotReady',
        message: `CNI plugin "${plugin.type}" of network "${network.name}" (${network.file}) not found in ${binDirs.join(', ')}`,
        network,
      };
    }
  }
  return { ready: true, reason: '', message: '', network };
}
