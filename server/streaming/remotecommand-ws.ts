/**
 * Exec and attach over WebSocket (apimachinery wsstream, the channel.k8s.io family): each
 * message starts with its channel, 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; the
 * base64 variants send text, the channel as a digit and the data in base64. v5 adds channel
 * 255, "close": [255, 0] from the client closes stdin (a WebSocket cannot half-close).
 */
import { PassThrough } from 'node:stream';
import type { WebSocket } from 'ws';
import {
  errorStreamPayload,
  OUTPUT_HIGH_WATER_MARK,
  protocolVersion,
  ResizeDecoder,
  type RemoteCommandRunner,
  type StreamOptions,
  ResizeEvents,
} from './protocol';

export const REMOTE_COMMAND_WS_PROTOCOLS = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'channel.k8s.io',
  'base64.channel.k8s.io',
] as const;

export const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** Sends and parses the messages of a channel protocol, binary or base64. */
export class ChannelCodec {
  readonly base64: boolean;
  constructor(protocol: string) {
    this.base64 = protocol.includes('base64.');
  }

  encode(channel: number, data: Buffer): Buffer | string {
    return this.base64
      ? String.fromCharCode(48 + channel) + data.toString('base64')
      : Buffer.concat([Buffer.from([channel]), data]);
  }

  decode(message: Buffer, isBinary: boolean): { channel: number; data: Buffer } | undefined {
    if (message.length === 0) return undefined;
    if (this.base64 && !isBinary) {
      const text = message.toString('latin1');
      return { channel: text.charCodeAt(0) - 48, data: Buffer.from(text.slice(1), 'base64') };
    }
    return { channel: message[0], data: message.subarray(1) };
  }
}

/**
 * Sends channel messages and tells when the client falls behind: a WebSocket has no 'drain',
 * so bufferedAmount (what the socket and ws still hold) is checked as each send completes.
 */
export class ChannelSender {
  private waiters: (() => void)[] = [];

  constructor(
    private readonly ws: WebSocket,
    private readonly codec: ChannelCodec,
  ) {
    ws.once('close', () => this.wake());
  }

  /** Sends (while the socket is open); false when the client's side is full. */
  send(channel: number, data: Buffer): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return true;
    this.ws.send(this.codec.encode(channel, data), () => {
      if (this.writable) this.wake();
    });
    return this.writable;
  }

  /** Resolves once the client's side can take more, or the socket is closing. */
  drained(): Promise<void> {
    return this.writable ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  private get writable(): boolean {
    return this.ws.readyState !== this.ws.OPEN || this.ws.bufferedAmount < OUTPUT_HIGH_WATER_MARK;
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}

export async function serveRemoteCommandOverWebSocket(
  ws: WebSocket,
  protocol: string,
  options: StreamOptions,
  run: RemoteCommandRunner,
): Promise<void> {
  const version = protocolVersion(protocol);
  const codec = new ChannelCodec(protocol);
  const stdin = options.stdin ? new PassThrough() : undefined;
  const resize = new ResizeEvents();
  const resizeDecoder = new ResizeDecoder();
  const clientGone = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  void clientGone.then(() => stdin?.end());

  ws.on('message', (raw: Buffer, isBinary: boolean) => {
    const msg = codec.decode(raw, isBinary);
    if (!msg) return;
    if (msg.channel === Channel.stdin && stdin && !stdin.writableEnded) {
      // The reader (the container's stdin) is behind: stop reading the client until it catches up.
      if (!stdin.write(msg.data)) {
        ws.pause();
        stdin.once('drain', () => ws.resume());
      }
    } else if (msg.channel === Channel.resize && options.tty) {
      resizeDecoder.push(msg.data).forEach((size) => resize.emit(size));
    } else if (msg.channel === Channel.close && version >= 5 && msg.data[0] === Channel.stdin) stdin?.end();
  });
  const sender = new ChannelSender(ws, codec);
  const send = (channel: number, data: Buffer): boolean => sender.send(channel, data);
  // wsstream: an empty message on the lowest writable channel tells the client all is set up.
  send(
    options.stdout ? Channel.stdout : options.stderr && !options.tty ? Channel.stderr : Channel.error,
    Buffer.alloc(0),
  );

  let outcome;
  try {
    outcome = await run({
      tty: options.tty,
      stdin,
      write: (name, data) => {
        if (name === 'stdout' && options.stdout) return send(Channel.stdout, data);
        if (name === 'stderr' && options.stderr)
          return send(options.tty ? Channel.stdout : Channel.stderr, data);
        return true;
      },
      drained: () => sender.drained(),
      onResize: (listener) => resize.listen(listener),
      clientGone,
    });
  } catch (err) {
    outcome = { error: (err as Error).message };
  }
  const payload = errorStreamPayload(version, outcome);
  if (payload) send(Channel.error, payload);
  if (ws.readyState === ws.OPEN) ws.close(1000);
  await clientGone;
}
