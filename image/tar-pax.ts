import { createRequire } from 'node:module';
import * as path from 'node:path';

/**
 * Raw PAX xattr values. tar-stream decodes every PAX record as UTF-8, which is right for paths
 * but loses the bytes of xattr values that are not UTF-8 (security.capability masks with bit 7
 * set, for one). This wraps tar-stream's PAX decoder so that each decoded header also carries
 * the raw bytes of its `SCHILY.xattr.*` records (POSIX pax format, "extended header records":
 * `<length> <key>=<value>\n`, value bytes as they are), under a symbol key tar-stream ignores.
 * If a tar-stream release moves the decoder, install() says so and xattr values fall back to
 * the decoded strings (a test pins the behaviour).
 */

const XATTR_PREFIX = 'SCHILY.xattr.';
const RAW_XATTRS = Symbol('berth raw pax xattrs');

type PaxDecoder = (buf: Buffer) => Record<string | symbol, unknown>;
let installed: boolean | undefined;

export function installRawPaxXattrs(): boolean {
  if (installed !== undefined) return installed;
  const load = createRequire(__filename);
  const headers = load(path.join(path.dirname(load.resolve('tar-stream')), 'headers.js')) as {
    decodePax?: PaxDecoder;
  };
  const original = headers.decodePax;
  if (typeof original !== 'function') return (installed = false);
  headers.decodePax = (buf: Buffer) => {
    const result = original(buf);
    const raw = parseRawXattrs(buf);
    // Enumerable, so tar-stream's Object.assign of global and local headers keeps it.
    if (raw.size > 0) result[RAW_XATTRS] = raw;
    return result;
  };
  return (installed = true);
}

/** The raw `SCHILY.xattr.*` values of a PAX extended header block, by full key. */
export function parseRawXattrs(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let rest = buf;
  while (rest.length > 0) {
    const space = rest.indexOf(0x20);
    if (space <= 0) break;
    const length = Number(rest.subarray(0, space).toString('latin1'));
    if (!Number.isSafeInteger(length) || length <= space + 1 || length > rest.length) break;
    // The record is "<length> <key>=<value>\n"; length counts every byte of it.
    const record = rest.subarray(space + 1, length - 1);
    const eq = record.indexOf(0x3d);
    if (eq > 0) {
      const key = record.subarray(0, eq).toString('utf8');
      if (key.startsWith(XATTR_PREFIX)) out.set(key, Buffer.from(record.subarray(eq + 1)));
    }
    rest = rest.subarray(length);
  }
  return out;
}

/** The raw xattr value bytes tar-stream's decoded PAX header carries, if the wrapper is in. */
export function rawXattrValue(pax: object | null | undefined, key: string): Buffer | undefined {
  const raw = (pax as Record<symbol, unknown> | null | undefined)?.[RAW_XATTRS];
  return raw instanceof Map ? (raw.get(key) as Buffer | undefined) : undefined;
}
