import { promises as fs, constants as fsConstants } from 'node:fs';
import * as path from 'node:path';

/** One plugin entry of a CNI network configuration list (CNI spec, "Network configuration"). */
export interface CniPluginConf {
  type: string;
  [key: string]: unknown;
}

/** A parsed network configuration list, with the file it came from. */
export interface CniNetworkList {
  file: string;
  cniVersion: string;
  name: string;
  disableCheck: boolean;
  plugins: CniPluginConf[];
}

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
  if (typeof conf.cniVersion !== 'string' || conf.cniVersion === '') {
    throw new Error(`${file}: missing "cniVersion"`);
  }
  if (!Array.isArray(plugins) || plugins.length === 0)
    throw new Error(`${file}: "plugins" must be a non-empty list`);
  plugins.forEach((plugin, i) => {
    if (typeof plugin !== 'object' || plugin === null || typeof (plugin as CniPluginConf).type !== 'string') {
      throw new Error(`${file}: plugin ${i} has no "type"`);
    }
  });
  return {
    file,
    cniVersion: conf.cniVersion,
    name: conf.name,
    disableCheck: conf.disableCheck === true,
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
