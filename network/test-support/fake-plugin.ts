import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** What a fake plugin does: add an interface and an IP to the result it is given, or fail. */
export interface FakePluginBehavior {
  /** On ADD, append this interface (inside the sandbox) and an address on it. */
  addInterface?: { name: string; address: string };
  /** Per command, an error object to print before exiting 1. */
  fail?: Partial<Record<string, { code: number; msg: string; details?: string }>>;
  /** Printed instead of a result on ADD. */
  rawOutput?: string;
}

/** One logged execution: the command, the environment the plugin saw and its stdin config. */
export interface FakePluginCall {
  plugin: string;
  command: string;
  env: Record<string, string>;
  config: Record<string, unknown>;
}

/**
 * Writes an executable fake CNI plugin (a Node script) into `binDir`. It logs every execution to
 * `<binDir>/calls.log` and behaves as told, so tests can see exactly what a plugin was given. It is
 * a real process run the real way, only the networking is left out.
 */
export async function writeFakePlugin(
  binDir: string,
  name: string,
  behavior: FakePluginBehavior,
): Promise<void> {
  const log = path.join(binDir, 'calls.log');
  const script = `#!${process.execPath}
const fs = require('fs');
const behavior = ${JSON.stringify(behavior)};
const input = fs.readFileSync(0, 'utf8');
const config = input ? JSON.parse(input) : {};
const command = process.env.CNI_COMMAND;
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ plugin: ${JSON.stringify(name)}, command, env: process.env, config }) + '\\n');
const failure = behavior.fail && behavior.fail[command];
if (failure) {
  process.stdout.write(JSON.stringify({ cniVersion: config.cniVersion, ...failure }));
  process.exit(1);
}
if (command === 'VERSION') {
  process.stdout.write(JSON.stringify({ cniVersion: config.cniVersion, supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] }));
} else if (command === 'ADD') {
  if (behavior.rawOutput !== undefined) {
    process.stdout.write(behavior.rawOutput);
    process.exit(0);
  }
  const result = config.prevResult || { cniVersion: config.cniVersion, interfaces: [], ips: [] };
  result.interfaces = result.interfaces || [];
  result.ips = result.ips || [];
  if (behavior.addInterface) {
    result.interfaces.push({ name: behavior.addInterface.name, sandbox: process.env.CNI_NETNS });
    result.ips.push({ address: behavior.addInterface.address, interface: result.interfaces.length - 1 });
  }
  process.stdout.write(JSON.stringify(result));
}
`;
  await fs.writeFile(path.join(binDir, name), script, { mode: 0o755 });
}

/** The executions logged by the fake plugins in `binDir`, in order. */
export async function readFakePluginCalls(binDir: string): Promise<FakePluginCall[]> {
  let text: string;
  try {
    text = await fs.readFile(path.join(binDir, 'calls.log'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as FakePluginCall);
}
