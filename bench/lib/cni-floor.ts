import * as fs from 'node:fs/promises';
import { run } from '../../common/exec';

interface PluginConf {
  type: string;
  [key: string]: unknown;
}

/**
 * What the CNI plugins themselves take, with no runtime around them: a network namespace made
 * with ip(8), the conflist's plugins run for ADD in order and for DEL in reverse (each DEL with
 * the ADD's result as prevResult, as a runtime passes it), each timed. Every runtime that keeps
 * CNI's contract (DEL while the pod's netns still exists) pays at least the DEL figure in
 * StopPodSandbox. Plugins are started with the native spawner the daemon uses, so the figure
 * holds no cost a runtime could avoid.
 */
export async function cniFloor(
  conflistJson: string,
  binDir: string,
  runs: number,
): Promise<{ add: number[]; del: number[] }> {
  const conflist = JSON.parse(conflistJson) as { cniVersion: string; name: string; plugins: PluginConf[] };
  const samples = { add: [] as number[], del: [] as number[] };
  for (let i = 0; i < runs; i++) {
    const netns = `berth-floor-${process.pid}-${i}`;
    const env = {
      CNI_CONTAINERID: `floor-${process.pid}-${i}`,
      CNI_NETNS: `/run/netns/${netns}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: binDir,
      PATH: process.env.PATH,
    };
    const invoke = async (command: 'ADD' | 'DEL', plugin: PluginConf, prevResult?: unknown) => {
      const conf = {
        ...plugin,
        cniVersion: conflist.cniVersion,
        name: conflist.name,
        runtimeConfig: { portMappings: [] },
        ...(prevResult ? { prevResult } : {}),
      };
      const { stdout } = await run(`${binDir}/${plugin.type}`, [], {
        input: JSON.stringify(conf),
        env: { ...env, CNI_COMMAND: command },
      });
      return stdout ? (JSON.parse(stdout) as unknown) : undefined;
    };
    await run('ip', ['netns', 'add', netns]);
    let result: unknown;
    let added = false;
    try {
      let started = performance.now();
      for (const plugin of conflist.plugins) {
        added = true;
        result = await invoke('ADD', plugin, result);
      }
      samples.add.push(performance.now() - started);
      started = performance.now();
      for (const plugin of [...conflist.plugins].reverse()) await invoke('DEL', plugin, result);
      added = false;
      samples.del.push(performance.now() - started);
    } finally {
      if (added) {
        for (const plugin of [...conflist.plugins].reverse())
          await invoke('DEL', plugin, result).catch(() => undefined);
      }
      await run('ip', ['netns', 'del', netns]).catch(() => fs.rm(`/run/netns/${netns}`, { force: true }));
    }
  }
  return samples;
}
