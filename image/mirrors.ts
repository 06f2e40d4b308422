import { InvalidArgumentError } from '../common/errors';
import { apiHost, type ImageReference } from './reference';

/**
 * Where to fetch a repository from: the mirrors configured for its registry, in order, then the
 * registry itself. This is the `[[registry]]` / `[[registry.mirror]]` idea of containers'
 * registries.conf (CRI-O): a mirror location may carry a namespace, which replaces the matched
 * prefix, so `docker.io` mirrored at `mirror.local/hub` serves `docker.io/library/busybox` as
 * `mirror.local/hub/library/busybox`.
 */

export interface MirrorConfig {
  /** host[:port][/namespace] */
  location: string;
  /** Talk plain http to this mirror. */
  insecure?: boolean;
}

export interface RegistryConfig {
  /** The registry host, or host/namespace, this entry applies to: `docker.io`, `quay.io/team`. */
  prefix: string;
  /** Talk plain http to the registry itself. */
  insecure?: boolean;
  mirrors?: MirrorConfig[];
}

export interface Endpoint {
  /** host[:port] the API requests go to. */
  host: string;
  /** Repository path on that host. */
  repository: string;
  /** Plain http instead of https. */
  insecure: boolean;
  /** True for a mirror, false for the reference's own registry. */
  mirror: boolean;
}

/** Loopback registries speak plain http without configuration, as in Docker and containerd. */
export function isLoopbackHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(name);
}

function splitLocation(location: string): { host: string; repository: string } {
  const slash = location.indexOf('/');
  return slash < 0
    ? { host: location, repository: '' }
    : { host: location.slice(0, slash), repository: location.slice(slash + 1) };
}

export class MirrorResolver {
  private readonly registries: RegistryConfig[];

  constructor(registries: RegistryConfig[] = []) {
    for (const r of registries) {
      if (!r.prefix || r.prefix.startsWith('/') || r.prefix.endsWith('/')) {
        throw new InvalidArgumentError(`registry prefix "${r.prefix}" must be host[/namespace]`);
      }
      for (const m of r.mirrors ?? []) {
        if (!m.location || m.location.startsWith('/') || m.location.endsWith('/')) {
          throw new InvalidArgumentError(`mirror location "${m.location}" must be host[/namespace]`);
        }
      }
    }
    // Longest prefix wins, as in registries.conf.
    this.registries = [...registries].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The endpoints to try for a reference, mirrors first, the registry itself last. */
  endpoints(ref: ImageReference): Endpoint[] {
    const name = `${ref.domain}/${ref.path}`;
    const entry = this.registries.find((r) => name === r.prefix || name.startsWith(r.prefix + '/'));
    const result: Endpoint[] = [];
    if (entry) {
      const remainder = name.slice(entry.prefix.length);
      for (const m of entry.mirrors ?? []) {
        const { host, repository } = splitLocation(m.location + remainder);
        result.push({ host, repository, insecure: !!m.insecure || isLoopbackHost(host), mirror: true });
      }
    }
    const host = apiHost(ref.domain);
    result.push({
      host,
      repository: ref.path,
      insecure: !!entry?.insecure || isLoopbackHost(host),
      mirror: false,
    });
    return result;
  }
}

/**
 * Registry settings from the daemon's `[registries]` table: `insecure` hosts speak plain http;
 * `mirrors` maps a registry host to mirror locations, each `host[:port][/namespace]` or an
 * http(s) URL (an `http://` URL marks that mirror insecure).
 */
export function registriesFromConfig(config: {
  insecure: string[];
  mirrors: Record<string, string[]>;
}): RegistryConfig[] {
  const hostOf = (location: string) => location.split('/')[0];
  const byPrefix = new Map<string, RegistryConfig>();
  for (const host of config.insecure) byPrefix.set(host, { prefix: host, insecure: true });
  for (const [prefix, locations] of Object.entries(config.mirrors)) {
    const mirrors = locations.map((raw): MirrorConfig => {
      const scheme = /^(https?):\/\//.exec(raw);
      const location = (scheme ? raw.slice(scheme[0].length) : raw).replace(/\/+$/, '');
      const insecure = scheme ? scheme[1] === 'http' : config.insecure.includes(hostOf(location));
      return { location, insecure };
    });
    byPrefix.set(prefix, { prefix, insecure: config.insecure.includes(prefix), mirrors });
  }
  return [...byPrefix.values()];
}
