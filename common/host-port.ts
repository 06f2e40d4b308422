/** "127.0.0.1:9559" or "[::1]:9559" as host and port; throws on anything else. */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  if (!m || Number(m[3]) > 65535) throw new Error(`"${address}" is not host:port`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}
