/**
 * SPDY/3 framing (SPDY Protocol Draft 3, section 2.2 and 2.6), as the Kubernetes streaming
 * protocols use it after an `Upgrade: SPDY/3.1` handshake: the frames carry version 3. Pure
 * functions, no I/O; header blocks are handled here uncompressed (header-compression.ts does
 * the zlib part).
 */

export const SPDY_VERSION = 3;

/** Control frame types (section 2.6). */
export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
/** SYN_STREAM only: the sender will not receive on this stream. */
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes (section 2.4.2). */
export const RstStatus = { PROTOCOL_ERROR: 1, INVALID_STREAM: 2, REFUSED_STREAM: 3, CANCEL: 5 } as const;

/** Frames above this are refused: the header blocks and data of these protocols are small. */
export const MAX_FRAME_LENGTH = 16 * 1024 * 1024;
const HEADER = 8;

export type Frame =
  | { kind: 'data'; streamId: number; flags: number; data: Buffer }
  | { kind: 'control'; type: number; flags: number; payload: Buffer };

/** Splits a byte stream into frames, across reads. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /** The complete frames in what has arrived so far; throws on a malformed frame. */
  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Frame[] = [];
    while (this.pending.length >= HEADER) {
      const length = this.pending.readUIntBE(5, 3);
      if (length > MAX_FRAME_LENGTH) throw new Error(`SPDY frame of ${length} bytes is too large`);
      if (this.pending.length < HEADER + length) break;
      const flags = this.pending[4];
      const body = this.pending.subarray(HEADER, HEADER + length);
      if (this.pending[0] & 0x80) {
        const version = this.pending.readUInt16BE(0) & 0x7fff;
        if (version !== SPDY_VERSION) throw new Error(`SPDY version ${version} is not supported`);
        frames.push({ kind: 'control', type: this.pending.readUInt16BE(2), flags, payload: body });
      } else {
        frames.push({ kind: 'data', streamId: this.pending.readUInt32BE(0) & 0x7fffffff, flags, data: body });
      }
      this.pending = this.pending.subarray(HEADER + length);
    }
    return frames;
  }
}

export function dataFrame(streamId: number, data: Buffer, flags = 0): Buffer {
  const head = Buffer.alloc(HEADER);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head[4] = flags;
  head.writeUIntBE(data.length, 5, 3);
  return Buffer.concat([head, data]);
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(HEADER);
  head.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  head.writeUInt16BE(type, 2);
  head[4] = flags;
  head.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([head, payload]);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}

/** SYN_STREAM payload before its header block: stream id, associated stream id, priority. */
export function synStreamPrefix(streamId: number, priority = 0): Buffer {
  const b = Buffer.alloc(10);
  b.writeUInt32BE(streamId & 0x7fffffff, 0);
  b.writeUInt32BE(0, 4);
  b[8] = (priority & 0x7) << 5;
  return b;
}

export const rstStream = (streamId: number, status: number): Buffer =>
  controlFrame(FrameType.RST_STREAM, 0, u32(streamId & 0x7fffffff, status));
export const ping = (id: number): Buffer => controlFrame(FrameType.PING, 0, u32(id));
export const goAway = (lastGoodStreamId: number, status = 0): Buffer =>
  controlFrame(FrameType.GOAWAY, 0, u32(lastGoodStreamId & 0x7fffffff, status));

/** Header names are lower case on the wire (section 2.6.10); a name may carry several values
 * joined by NUL. */
export type Headers = Record<string, string[]>;

/** The uncompressed name/value header block (section 2.6.10). */
export function encodeHeaderBlock(headers: Headers): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, values] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(values.join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): Headers {
  let offset = 0;
  const take = (n: number): Buffer => {
    if (offset + n > block.length) throw new Error('truncated SPDY header block');
    const out = block.subarray(offset, offset + n);
    offset += n;
    return out;
  };
  const count = take(4).readUInt32BE(0);
  const headers: Headers = {};
  for (let i = 0; i < count; i++) {
    const name = take(take(4).readUInt32BE(0)).toString('utf8').toLowerCase();
    const value = take(take(4).readUInt32BE(0)).toString('utf8');
    headers[name] = [...(headers[name] ?? []), ...value.split('\0')];
  }
  return headers;
}

/** The first value of a header, by case-insensitive name. */
export function header(headers: Headers, name: string): string | undefined {
  return headers[name.toLowerCase()]?.[0];
}
