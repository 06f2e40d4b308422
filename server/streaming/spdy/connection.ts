/**
 * A SPDY/3 session over an upgraded connection: streams opened by either side, SYN_REPLY, data
 * with FIN half-close, RST_STREAM, PING and GOAWAY (SPDY Protocol Draft 3, section 2).
 *
 * Flow control: we send WINDOW_UPDATE for what we receive (section 2.6.8), so a peer that
 * honours windows never stalls, but we do not hold back our own sends for the peer's window:
 * the Go client of the Kubernetes tools (spdystream) never sends WINDOW_UPDATE, so a sender
 * that waited for one would stop after the first 64 KiB. Our sends are bounded by the socket's
 * own backpressure instead (SpdyStream is a Duplex whose writes complete when the socket took
 * them), and so is what we receive: while a stream's reader is behind (its buffer is past the
 * high-water mark), or frames read wait to be handled (behind a header block being inflated),
 * the connection stops reading the socket, so TCP holds the peer's sender back (spdystream
 * honours no window either) instead of our memory.
 */
import { EventEmitter } from 'node:events';
import type { Duplex as DuplexSocket } from 'node:stream';
import { Duplex } from 'node:stream';
import {
  FLAG_FIN,
  FrameReader,
  FrameType,
  RstStatus,
  controlFrame,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  goAway,
  ping,
  rstStream,
  synStreamPrefix,
  type Frame,
  type Headers,
} from './frames';
import { HeaderCompressor, HeaderDecompressor } from './header-compression';

/** Data frames are cut to this size, so one stream cannot hold the connection for long. */
const MAX_DATA_FRAME = 32 * 1024;
/** Bytes of frames read but not yet handled beyond which the socket is no longer read. */
const MAX_UNHANDLED_BYTES = 256 * 1024;

export class SpdyStream extends Duplex {
  /** Set once the peer answered our SYN_STREAM (client side). */
  replied = false;
  private finSent = false;
  private finReceived = false;
  private wasReset = false;

  constructor(
    private readonly conn: SpdyConnection,
    readonly id: number,
    readonly headers: Headers,
  ) {
    super({ allowHalfOpen: true });
  }

  /** Accepts a stream the peer opened (SYN_REPLY with no headers, as the Kubernetes server sends). */
  reply(headers: Headers = {}): void {
    this.conn.send(async (c) =>
      controlFrame(
        FrameType.SYN_REPLY,
        0,
        Buffer.concat([u32(this.id), await c.compress(encodeHeaderBlock(headers))]),
      ),
    );
  }

  /** Abandons the stream in both directions (RST_STREAM). */
  reset(status: number = RstStatus.CANCEL): void {
    if (!this.wasReset && !(this.finSent && this.finReceived))
      this.conn.send(() => rstStream(this.id, status));
    this.onReset();
  }

  override _read(): void {
    // Data is pushed as frames arrive; a reader asking for more lets the socket flow again.
    this.conn.release(this);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.wasReset) return callback(new Error(`SPDY stream ${this.id} was reset`));
    const frames: Buffer[] = [];
    for (let off = 0; off < chunk.length; off += MAX_DATA_FRAME)
      frames.push(dataFrame(this.id, chunk.subarray(off, off + MAX_DATA_FRAME)));
    this.conn.send(() => Buffer.concat(frames)).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.wasReset || this.finSent) return callback();
    this.finSent = true;
    this.conn
      .send(() => dataFrame(this.id, Buffer.alloc(0), FLAG_FIN))
      .then(() => {
        this.maybeDone();
        callback();
      }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.finSent || !this.finReceived) this.reset();
    callback(error);
  }

  /** @internal */
  onData(data: Buffer, fin: boolean): void {
    if (this.finReceived || this.wasReset) return;
    if (data.length > 0 && !this.push(data)) this.conn.hold(this);
    if (fin) this.onFin();
  }

  /** @internal */
  onFin(): void {
    if (this.finReceived) return;
    this.finReceived = true;
    this.push(null);
    this.maybeDone();
  }

  /** @internal */
  onReset(): void {
    if (this.wasReset) return;
    this.wasReset = true;
    this.conn.forget(this.id);
    if (!this.finReceived) {
      this.finReceived = true;
      this.push(null);
    }
    this.emit('reset');
    if (!this.destroyed) this.destroy();
  }

  private maybeDone(): void {
    if (this.finSent && this.finReceived) this.conn.forget(this.id);
  }
}

interface Codec {
  compress(block: Buffer): Promise<Buffer>;
}

/**
 * Events: 'stream' (SpdyStream) for each stream the peer opens; 'close' once the socket is gone.
 */
export class SpdyConnection extends EventEmitter {
  readonly closed: Promise<void>;
  private readonly reader = new FrameReader();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private nextStreamId: number;
  private lastPeerStreamId = 0;
  private readChain: Promise<void> = Promise.resolve();
  private writeChain: Promise<void> = Promise.resolve();
  private goneAway = false;
  private isClosed = false;
  /** Streams whose readers are behind; the socket is not read while there is one. */
  private readonly held = new Set<SpdyStream>();
  /** Bytes of the frames read and queued on readChain, not yet handled. */
  private unhandledBytes = 0;
  /** Whether this connection paused the socket: its owner may pause it too, so isPaused() cannot tell. */
  private readingPaused = false;

  constructor(
    private readonly socket: DuplexSocket,
    readonly role: 'server' | 'client',
  ) {
    super();
    // Section 2.3.2: streams a client opens have odd ids, a server's even ids.
    this.nextStreamId = role === 'client' ? 1 : 2;
    this.closed = new Promise((resolve) => this.once('close', resolve));
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('error', () => this.teardown());
    // Frames already read are handled first (their processing is asynchronous).
    const drainThenTeardown = (): void => void this.readChain.then(() => this.teardown());
    socket.on('close', drainThenTeardown);
    socket.on('end', drainThenTeardown);
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** Opens a stream (client side of the Kubernetes protocols); 'reply' fires on SYN_REPLY. */
  openStream(headers: Headers, fin = false): SpdyStream {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new SpdyStream(this, id, headers);
    this.streams.set(id, stream);
    this.send(async (c) =>
      controlFrame(
        FrameType.SYN_STREAM,
        fin ? FLAG_FIN : 0,
        Buffer.concat([synStreamPrefix(id), await c.compress(encodeHeaderBlock(headers))]),
      ),
    );
    return stream;
  }

  /** Sends GOAWAY, resets what is still open, and closes the socket. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.isClosed && !this.goneAway) {
      this.goneAway = true;
      await this.send(() => goAway(this.lastPeerStreamId)).catch(() => undefined);
    }
    for (const stream of [...this.streams.values()]) stream.reset();
    await this.writeChain.catch(() => undefined);
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 5000);
    await this.closed;
    clearTimeout(timer);
  }

  /** @internal Queues a frame; frames go out in the order queued, and header blocks are
   * compressed in that order too. Resolves when the socket took the bytes. */
  send(build: (codec: Codec) => Buffer | Promise<Buffer>): Promise<void> {
    const result = this.writeChain.then(async () => {
      if (this.isClosed) throw new Error('SPDY connection is closed');
      const bytes = await build(this.compressor);
      await new Promise<void>((resolve, reject) =>
        this.socket.write(bytes, (err) => (err ? reject(err) : resolve())),
      );
    });
    this.writeChain = result.catch(() => undefined);
    return result;
  }

  /** @internal */
  forget(id: number): void {
    const stream = this.streams.get(id);
    this.streams.delete(id);
    if (stream) this.release(stream);
    if (this.streams.size === 0) this.emit('idle');
  }

  /** @internal A stream's reader is behind: stop reading the socket until it catches up. */
  hold(stream: SpdyStream): void {
    this.held.add(stream);
    this.updateReading();
  }

  /** @internal The stream's reader caught up (or the stream is gone). */
  release(stream: SpdyStream): void {
    if (this.held.delete(stream)) this.updateReading();
  }

  /** Reads the socket only while every reader keeps up and the frames read are handled. */
  private updateReading(): void {
    const pause = this.held.size > 0 || this.unhandledBytes > MAX_UNHANDLED_BYTES;
    if (pause === this.readingPaused || this.isClosed) return;
    this.readingPaused = pause;
    if (pause) this.socket.pause();
    else this.socket.resume();
  }

  private onBytes(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch {
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      const size = frame.kind === 'data' ? frame.data.length : frame.payload.length;
      this.unhandledBytes += size;
      this.readChain = this.readChain
        .then(() => this.handle(frame))
        .catch(() => {
          this.socket.destroy();
        })
        .finally(() => {
          this.unhandledBytes -= size;
          this.updateReading();
        });
    }
    this.updateReading();
  }

  private async handle(frame: Frame): Promise<void> {
    if (this.isClosed) return;
    if (frame.kind === 'data') {
      const stream = this.streams.get(frame.streamId);
      if (!stream) return;
      if (frame.data.length > 0) {
        const update = Buffer.alloc(8);
        update.writeUInt32BE(frame.streamId, 0);
        update.writeUInt32BE(frame.data.length, 4);
        void this.send(() => controlFrame(FrameType.WINDOW_UPDATE, 0, update)).catch(() => undefined);
      }
      stream.onData(frame.data, (frame.flags & FLAG_FIN) !== 0);
      return;
    }
    const p = frame.payload;
    switch (frame.type) {
      case FrameType.SYN_STREAM: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.decompressor.decompress(p.subarray(10)));
        if (this.goneAway || id <= this.lastPeerStreamId || id % 2 === this.nextStreamId % 2) {
          void this.send(() => rstStream(id, RstStatus.PROTOCOL_ERROR)).catch(() => undefined);
          return;
        }
        this.lastPeerStreamId = id;
        const stream = new SpdyStream(this, id, headers);
        this.streams.set(id, stream);
        if (frame.flags & FLAG_FIN) stream.onFin();
        this.emit('stream', stream);
        return;
      }
      case FrameType.SYN_REPLY:
      case FrameType.HEADERS: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        // Always inflate: the zlib stream's state must follow every block.
        await this.decompressor.decompress(p.subarray(4));
        const stream = this.streams.get(id);
        if (!stream) return;
        if (frame.type === FrameType.SYN_REPLY && !stream.replied) {
          stream.replied = true;
          stream.emit('reply');
        }
        if (frame.flags & FLAG_FIN) stream.onFin();
        return;
      }
      case FrameType.RST_STREAM:
        this.streams.get(p.readUInt32BE(0) & 0x7fffffff)?.onReset();
        return;
      case FrameType.PING: {
        const id = p.readUInt32BE(0);
        // Section 2.6.5: answer the peer's pings (the other parity); ours come back to us.
        if (id % 2 !== this.nextStreamId % 2) void this.send(() => ping(id)).catch(() => undefined);
        return;
      }
      case FrameType.GOAWAY:
        this.goneAway = true;
        if (this.streams.size === 0) this.socket.end();
        else this.once('idle', () => this.socket.end());
        return;
      default:
        // SETTINGS, WINDOW_UPDATE and unknown types need no action (see the note above).
        return;
    }
  }

  private teardown(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const stream of [...this.streams.values()]) stream.onReset();
    this.streams.clear();
    this.compressor.close();
    this.decompressor.close();
    this.socket.destroy();
    this.emit('close');
  }
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value & 0x7fffffff, 0);
  return b;
}
