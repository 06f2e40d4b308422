import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { parse as parseToml, stringify as stringifyToml, TomlError } from 'smol-toml';
import { parseDuration } from '../common/duration';
import { splitHostPort } from '../common/host-port';
import { packageRoot } from '../common/package-root';

/** Where `berth daemon` and `berth config` read their configuration when no --config is given. */
export const DEFAULT_CONFIG_FILE = '/etc/berth/berth.toml';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'text' | 'json';

/** An OCI runtime berth can run containers with; the CRI runtime handler names one of these. */
export interface RuntimeHandler {
  /** Path of a runtime binary with runc's command line (berth-runtime, runc, crun). */
  path: string;
  /** The runtime's own state directory (its --root). */
  root: string;
}

/** The effective configuration: every key has a value after `loadConfig`. */
export interface Config {
  /** Persistent state: images, sandbox and container records. */
  root: string;
  /** Volatile state: sockets, pinned namespaces, runtime state; gone at reboot. */
  runroot: string;
  /** Path of the CRI unix socket. */
  listen: string;
  /** Directory of berth's native binaries (berth-runtime, berth-monitor, berth-pause). */
  native_dir: string;
  cgroup_driver: 'cgroupfs';
  /** Handler used when a pod names none (the CRI's empty runtime_handler). */
  default_runtime: string;
  /** Also serve the older CRI API runtime.v1alpha2 (kubelets 1.20 to 1.25) on the same socket. */
  enable_v1alpha2: boolean;
  log: { level: LogLevel; format: LogFormat };
  runtimes: Record<string, RuntimeHandler>;
  cni: { conf_dir: string; bin_dirs: string[] };
  pause: { binary: string; image: string };
  streaming: { address: string; port: number; tls_cert: string; tls_key: string; idle_timeout: string };
  /**
   * Limits of one message of the Stream* list RPCs (StreamContainers, StreamImages...): at most
   * `max_items` items and `max_bytes` encoded bytes, an item larger than that alone.
   */
  stream_batch: { max_items: number; max_bytes: number };
  /** Where the Container Device Interface's spec files are, later directories first (oci/cdi.ts). */
  cdi: { spec_dirs: string[] };
  /** Where Prometheus scrapes the daemon's metrics (host:port); empty: not served. */
  metrics: { address: string };
  registries: { insecure: string[]; mirrors: Record<string, string[]> };
}

/** Values given on the command line; they override the file. */
export interface ConfigOverrides {
  root?: string;
  runroot?: string;
  listen?: string;
  logLevel?: string;
}

export class ConfigError extends Error {}

/**
 * One Stream* message stays at 1 MiB, a quarter of the 4 MiB a gRPC client accepts by default
 * (grpc-go's and grpc-js's receive limit), so a client that never raised its limit still reads
 * every batch; 1000 items keeps the batches of small objects few without holding many in one
 * encoded buffer.
 */
export const DEFAULT_STREAM_BATCH = { max_items: 1000, max_bytes: 1024 * 1024 } as const;

const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];
const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

type Toml = Record<string, unknown>;

/**
 * Reads the configuration: embedded defaults, then the TOML file, then command-line overrides.
 * A missing default file is fine (defaults apply); a missing file named with --config is not.
 * Unknown keys and wrong types are errors naming the key and the file, so a typo never silently
 * falls back to a default.
 */
export function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}): Config {
  const source = file ?? DEFAULT_CONFIG_FILE;
  let text: string | undefined;
  try {
    text = fs.readFileSync(source, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || file !== undefined) {
      throw new ConfigError(`cannot read config file ${source}: ${(err as Error).message}`);
    }
  }
  let doc: Toml = {};
  if (text !== undefined) {
    try {
      doc = parseToml(text) as Toml;
    } catch (err) {
      const detail = err instanceof TomlError ? err.message.split('\n')[0] : String(err);
      throw new ConfigError(`${source}: invalid TOML: ${detail}`);
    }
  }
  return resolveConfig(doc, source, overrides);
}

/** Applies `doc` (parsed TOML from `source`) and `overrides` over the defaults, validating as it goes. */
export function resolveConfig(doc: Toml, source: string, overrides: ConfigOverrides = {}): Config {
  const r = new Reader(doc, source);
  // File keys are read even when a flag overrides them, so that they are still validated.
  const root = pick(overrides.root, r.str('root', '/var/lib/berth'));
  const runroot = pick(overrides.runroot, r.str('runroot', '/run/berth'));
  const listen = pick(overrides.listen, r.str('listen', '/run/berth/berth.sock'));
  const nativeDir = r.str('native_dir', path.join(packageRoot(), 'native', 'bin'));

  const cgroupDriver = r.str('cgroup_driver', 'cgroupfs');
  if (cgroupDriver === 'systemd') {
    r.fail('cgroup_driver', 'the systemd cgroup driver is not supported yet; use "cgroupfs"');
  } else if (cgroupDriver !== 'cgroupfs') {
    r.fail('cgroup_driver', `must be "cgroupfs", got "${cgroupDriver}"`);
  }

  const log = r.table('log');
  const level = pick(overrides.logLevel, log.str('level', 'info'));
  if (!LOG_LEVELS.includes(level as LogLevel)) {
    const where = overrides.logLevel !== undefined ? '--log-level' : `key "log.level" in ${source}`;
    throw new ConfigError(`${where} must be one of ${LOG_LEVELS.join(', ')}; got "${level}"`);
  }
  const format = log.oneOf('format', LOG_FORMATS, 'text');
  log.done();

  const runtimes: Record<string, RuntimeHandler> = {
    berth: { path: path.join(nativeDir, 'berth-runtime'), root: path.join(runroot, 'runtimes', 'berth') },
    runc: { path: '/usr/sbin/runc', root: path.join(runroot, 'runtimes', 'runc') },
    crun: { path: '/usr/bin/crun', root: path.join(runroot, 'runtimes', 'crun') },
  };
  const runtimeTables = r.table('runtimes');
  for (const name of runtimeTables.keys()) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
      runtimeTables.fail(name, 'a runtime handler name must be a DNS label (lowercase letters, digits, -)');
    }
    const t = runtimeTables.table(name);
    const defaults = runtimes[name] ?? { path: '', root: path.join(runroot, 'runtimes', name) };
    const handler = { path: t.str('path', defaults.path), root: t.str('root', defaults.root) };
    if (!path.isAbsolute(handler.path)) t.fail('path', 'must be an absolute path to a runtime binary');
    t.done();
    runtimes[name] = handler;
  }
  runtimeTables.done();
  const defaultRuntime = r.str('default_runtime', 'berth');
  if (!runtimes[defaultRuntime]) {
    r.fail('default_runtime', `names no runtime handler; known: ${Object.keys(runtimes).join(', ')}`);
  }

  const enableV1alpha2 = r.bool('enable_v1alpha2', true);

  const cniTable = r.table('cni');
  const cni = {
    conf_dir: cniTable.str('conf_dir', '/etc/cni/net.d'),
    bin_dirs: cniTable.strList('bin_dirs', ['/usr/lib/cni', '/opt/cni/bin']),
  };
  cniTable.done();

  const pauseTable = r.table('pause');
  const pause = {
    binary: pauseTable.str('binary', path.join(nativeDir, 'berth-pause')),
    image: pauseTable.str('image', ''),
  };
  pauseTable.done();

  const s = r.table('streaming');
  const address = s.str('address', '127.0.0.1');
  if (net.isIP(address) === 0) s.fail('address', `must be an IP address, got "${address}"`);
  const port = s.int('port', 0);
  if (port < 0 || port > 65535) s.fail('port', `must be between 0 and 65535, got ${port}`);
  const streaming = {
    address,
    port,
    tls_cert: s.str('tls_cert', ''),
    tls_key: s.str('tls_key', ''),
    // The kubelet's --streaming-connection-idle-timeout and containerd's default.
    idle_timeout: s.str('idle_timeout', '4h'),
  };
  if ((streaming.tls_cert === '') !== (streaming.tls_key === '')) {
    s.fail('tls_cert', 'tls_cert and tls_key must be given together');
  }
  if (parseDuration(streaming.idle_timeout) === undefined) {
    s.fail('idle_timeout', `must be a duration such as "4h", "30m" or "0", got "${streaming.idle_timeout}"`);
  }
  s.done();

  const cdiTable = r.table('cdi');
  const cdi = { spec_dirs: cdiTable.strList('spec_dirs', ['/etc/cdi', '/var/run/cdi']) };
  for (const dir of cdi.spec_dirs) {
    if (!path.isAbsolute(dir)) cdiTable.fail('spec_dirs', `"${dir}" is not an absolute path`);
  }
  cdiTable.done();

  const metricsTable = r.table('metrics');
  const metrics = { address: metricsTable.str('address', '') };
  if (metrics.address !== '') {
    try {
      splitHostPort(metrics.address);
    } catch {
      metricsTable.fail('address', `must be host:port (an IP address), got "${metrics.address}"`);
    }
  }
  metricsTable.done();

  const batch = r.table('stream_batch');
  const stream_batch = {
    max_items: batch.int('max_items', DEFAULT_STREAM_BATCH.max_items),
    max_bytes: batch.int('max_bytes', DEFAULT_STREAM_BATCH.max_bytes),
  };
  if (stream_batch.max_items < 1)
    batch.fail('max_items', `must be at least 1, got ${stream_batch.max_items}`);
  // The server's send limit (grpc-server.ts) is 16 MiB; clients commonly accept 4 MiB.
  if (stream_batch.max_bytes < 1 || stream_batch.max_bytes > 16 * 1024 * 1024) {
    batch.fail('max_bytes', `must be between 1 and 16777216, got ${stream_batch.max_bytes}`);
  }
  batch.done();

  const reg = r.table('registries');
  const insecure = reg.strList('insecure', []);
  insecure.forEach((host) =>
    checkRegistryHost(host, () => reg.fail('insecure', `"${host}" is not a host[:port]`)),
  );
  const mirrorTable = reg.table('mirrors');
  const mirrors: Record<string, string[]> = {};
  for (const host of mirrorTable.keys()) {
    checkRegistryHost(host, () => mirrorTable.fail(host, 'a mirrored registry must be a host[:port]'));
    const list = mirrorTable.strList(host, []);
    for (const mirror of list) {
      if (!isMirrorLocation(mirror)) {
        mirrorTable.fail(host, `mirror "${mirror}" is neither host[:port] nor an http(s) URL`);
      }
    }
    mirrors[host] = list;
  }
  mirrorTable.done();
  reg.done();
  r.done();

  return {
    root,
    runroot,
    listen,
    native_dir: nativeDir,
    cgroup_driver: 'cgroupfs',
    default_runtime: defaultRuntime,
    enable_v1alpha2: enableV1alpha2,
    log: { level: level as LogLevel, format },
    runtimes,
    cni,
    pause,
    streaming,
    stream_batch,
    cdi,
    metrics,
    registries: { insecure, mirrors },
  };
}

/** The effective configuration as TOML, as `berth config` prints it. */
export function configToToml(config: Config): string {
  return stringifyToml(config as unknown as Record<string, unknown>) + '\n';
}

function pick(flag: string | undefined, fromFile: string): string {
  return flag ?? fromFile;
}

function checkRegistryHost(host: string, fail: () => never): void {
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(host)) fail();
}

function isMirrorLocation(location: string): boolean {
  if (/^https?:\/\//.test(location)) {
    try {
      new URL(location);
      return true;
    } catch {
      return false;
    }
  }
  return /^[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._/-]*)?$/.test(location);
}

/**
 * Reads typed keys out of one TOML table and remembers which it consumed, so that `done()` can
 * report the first key nobody asked for as unknown.
 */
class Reader {
  private readonly seen = new Set<string>();

  constructor(
    private readonly doc: Toml,
    private readonly source: string,
    private readonly prefix = '',
  ) {}

  keys(): string[] {
    return Object.keys(this.doc);
  }

  fail(key: string, why: string): never {
    throw new ConfigError(`key "${this.prefix}${key}" in ${this.source}: ${why}`);
  }

  str(key: string, fallback: string): string {
    const v = this.take(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'string') this.fail(key, `must be a string, got ${describe(v)}`);
    return v;
  }

  int(key: string, fallback: number): number {
    const v = this.take(key);
    if (v === undefined) return fallback;
    if (typeof v === 'bigint') return Number(v);
    if (typeof v !== 'number' || !Number.isInteger(v))
      this.fail(key, `must be an integer, got ${describe(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.take(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${describe(v)}`);
    return v;
  }

  strList(key: string, fallback: string[]): string[] {
    const v = this.take(key);
    if (v === undefined) return fallback;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      this.fail(key, `must be an array of strings, got ${describe(v)}`);
    }
    return v as string[];
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.str(key, fallback);
    if (!allowed.includes(v as T)) this.fail(key, `must be one of ${allowed.join(', ')}; got "${v}"`);
    return v as T;
  }

  table(key: string): Reader {
    const v = this.take(key);
    if (v !== undefined && !isTable(v)) this.fail(key, `must be a table, got ${describe(v)}`);
    return new Reader((v as Toml | undefined) ?? {}, this.source, `${this.prefix}${key}.`);
  }

  done(): void {
    const unknown = Object.keys(this.doc).find((k) => !this.seen.has(k));
    if (unknown !== undefined) this.fail(unknown, 'unknown key');
  }

  private take(key: string): unknown {
    this.seen.add(key);
    return this.doc[key];
  }
}

function isTable(v: unknown): v is Toml {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (isTable(v)) return 'a table';
  if (typeof v === 'number' || typeof v === 'bigint')
    return Number.isInteger(Number(v)) ? 'an integer' : 'a float';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  return typeof v;
}
