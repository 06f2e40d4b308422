import * as net from 'node:net';

/** An interface an attachment made (spec section 5, "Success"). */
export interface CniInterface {
  name: string;
  mac?: string;
  /** The netns path for interfaces inside the pod; absent for host-side interfaces. */
  sandbox?: string;
  mtu?: number;
}

/** An address an attachment assigned, in CIDR notation. */
export interface CniIpConfig {
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/**
 * A plugin's ADD result, read into the 1.x shape whatever version the plugin spoke: 0.3.x/0.4.0
 * results differ only by a `version` field on each IP ("4" or "6"), which is dropped here. The raw
 * result is kept separately (it is what later plugins and DEL must be given, in its own version).
 */
export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIpConfig[];
  routes: CniRoute[];
  dns: CniDns;
}

/**
 * Reads a plugin's ADD output. Throws a message saying what is wrong; the caller adds which plugin
 * said it.
 */
export function parseCniResult(raw: unknown): CniResult {
  const doc = asObject(raw, 'result');
  const cniVersion = typeof doc.cniVersion === 'string' ? doc.cniVersion : '';
  const interfaces = asList(doc.interfaces, 'interfaces').map((item, i): CniInterface => {
    const o = asObject(item, `interfaces[${i}]`);
    if (typeof o.name !== 'string') throw new Error(`interfaces[${i}] has no "name"`);
    return {
      name: o.name,
      ...(typeof o.mac === 'string' && o.mac !== '' ? { mac: o.mac } : {}),
      ...(typeof o.sandbox === 'string' && o.sandbox !== '' ? { sandbox: o.sandbox } : {}),
      ...(typeof o.mtu === 'number' ? { mtu: o.mtu } : {}),
    };
  });
  const ips = asList(doc.ips, 'ips').map((item, i): CniIpConfig => {
    const o = asObject(item, `ips[${i}]`);
    if (typeof o.address !== 'string' || !isCidr(o.address)) {
      throw new Error(`ips[${i}] has no valid "address" in CIDR notation`);
    }
    const index = o.interface;
    if (index !== undefined && (typeof index !== 'number' || !Number.isInteger(index) || index < 0)) {
      throw new Error(`ips[${i}] "interface" is not an index`);
    }
    if (index !== undefined && index >= interfaces.length) {
      throw new Error(`ips[${i}] names interface ${index} of ${interfaces.length}`);
    }
    return {
      address: o.address,
      ...(typeof o.gateway === 'string' && o.gateway !== '' ? { gateway: o.gateway } : {}),
      ...(index !== undefined ? { interface: index } : {}),
    };
  });
  const routes = asList(doc.routes, 'routes').map((item, i): CniRoute => {
    const o = asObject(item, `routes[${i}]`);
    if (typeof o.dst !== 'string') throw new Error(`routes[${i}] has no "dst"`);
    return { dst: o.dst, ...(typeof o.gw === 'string' && o.gw !== '' ? { gw: o.gw } : {}) };
  });
  const dnsDoc = doc.dns === undefined || doc.dns === null ? {} : asObject(doc.dns, 'dns');
  const strings = (v: unknown): string[] | undefined =>
    Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined;
  const dns: CniDns = {};
  if (strings(dnsDoc.nameservers)?.length) dns.nameservers = strings(dnsDoc.nameservers);
  if (typeof dnsDoc.domain === 'string' && dnsDoc.domain !== '') dns.domain = dnsDoc.domain;
  if (strings(dnsDoc.search)?.length) dns.search = strings(dnsDoc.search);
  if (strings(dnsDoc.options)?.length) dns.options = strings(dnsDoc.options);
  return { cniVersion, interfaces, ips, routes, dns };
}

/**
 * The pod's addresses (without prefix length): the IPs on interfaces inside the sandbox, or, if the
 * plugin did not say which interface an IP belongs to, all of them. IPv4 first, as the kubelet takes
 * the first as the pod's primary IP and dual-stack clusters default to IPv4-primary.
 */
export function podAddresses(result: CniResult): string[] {
  const inSandbox = result.ips.filter(
    (ip) => ip.interface === undefined || result.interfaces[ip.interface]?.sandbox !== undefined,
  );
  const addresses = inSandbox.map((ip) => ip.address.slice(0, ip.address.lastIndexOf('/')));
  return [...addresses.filter((a) => net.isIPv4(a)), ...addresses.filter((a) => net.isIPv6(a))];
}

function isCidr(value: string): boolean {
  const slash = value.lastIndexOf('/');
  if (slash < 0) return false;
  const family = net.isIP(value.slice(0, slash));
  const prefix = value.slice(slash + 1);
  return family !== 0 && /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function asList(value: unknown, what: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`"${what}" is not a list`);
  return value;
}
