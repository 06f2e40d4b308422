import * as path from 'node:path';
import { InvalidArgumentError } from '../../common/errors';
import type { ImageRunConfig, SpecOpt } from './input';

/** The PATH a container gets when its image sets none (the one runc and containerd default to). */
export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The process's argv from the CRI command/args and the image's Entrypoint/Cmd, as Kubernetes
 * defines it (concepts/containers "define a command and arguments"): a command replaces the
 * Entrypoint and drops the image's Cmd; args replace Cmd; neither keeps Entrypoint + Cmd. An
 * Entrypoint of [""] is Docker's way of clearing it and counts as none.
 */
export function mergeCommand(command: string[], args: string[], image: ImageRunConfig): string[] {
  let head = command;
  let tail = args;
  if (command.length === 0) {
    const entrypoint = image.Entrypoint ?? [];
    head = entrypoint.length === 1 && entrypoint[0] === '' ? [] : entrypoint;
    if (args.length === 0) tail = image.Cmd ?? [];
  }
  const argv = [...head, ...tail];
  if (argv.length === 0) {
    throw new InvalidArgumentError('no command specified: neither the container nor its image gives one');
  }
  return argv;
}

/**
 * Sets `entry` (KEY=value, or a bare KEY) in env: in place when its key is there already, so the
 * first definition keeps its position, appended otherwise.
 */
function replaceOrAppend(env: string[], entry: string): void {
  const key = envKey(entry);
  const at = env.findIndex((existing) => envKey(existing) === key);
  if (at >= 0) env[at] = entry;
  else env.push(entry);
}

function envKey(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

/**
 * The environment in increasing precedence: a default PATH, the pod's HOSTNAME, the image's Env,
 * then the CRI's envs. A later value replaces an earlier one with the same key in its place.
 */
export function mergeEnv(
  image: ImageRunConfig,
  criEnvs: Array<{ key: string; value: Buffer | string }>,
  hostname: string | undefined,
): string[] {
  const env: string[] = [DEFAULT_PATH_ENV];
  if (hostname) replaceOrAppend(env, `HOSTNAME=${hostname}`);
  for (const entry of image.Env ?? []) replaceOrAppend(env, entry);
  for (const { key, value } of criEnvs) {
    if (key === '' || key.includes('=')) {
      throw new InvalidArgumentError(`environment variable name "${key}" is empty or contains "="`);
    }
    replaceOrAppend(env, `${key}=${Buffer.isBuffer(value) ? value.toString('utf8') : value}`);
  }
  return env;
}

/** The working directory: the CRI's, else the image's, else "/". The runtime needs it absolute. */
export function workingDir(criDir: string, image: ImageRunConfig): string {
  const dir = criDir || image.WorkingDir || '/';
  if (!path.posix.isAbsolute(dir)) {
    throw new InvalidArgumentError(`working directory "${dir}" is not an absolute path`);
  }
  return dir;
}

export const withProcessArgs: SpecOpt = (spec, { config, image }) => {
  spec.process.args = mergeCommand(config.command, config.args, image.config);
};

export const withEnv: SpecOpt = (spec, { config, image, sandbox }) => {
  spec.process.env = mergeEnv(image.config, config.envs, sandbox.hostname);
};

export const withWorkingDir: SpecOpt = (spec, { config, image }) => {
  spec.process.cwd = workingDir(config.working_dir, image.config);
};

/**
 * A terminal when the CRI asks for a tty. stdin is not the spec's concern: the monitor keeps the
 * container's stdio and decides whether to forward it.
 */
export const withTerminal: SpecOpt = (spec, { config }) => {
  spec.process.terminal = config.tty;
};
