/**
 * Port forwarding (kubelet cri/streaming/portforward), over SPDY and over WebSocket. Each
 * forwarded connection is a byte stream to a port inside the pod's network namespace, copied
 * both ways; the end of one direction is passed on as a half-close, and the session of that
 * connection ends when both directions did.
 */
import type { Duplex } from 'node:stream';
import { drainOrClose } from '../../common/drain';
import type { WebSocket } from 'ws';
import { ChannelCodec, ChannelSender } from './remotecommand-ws';
import type { SpdyConnection, SpdyStream } from './spdy/connection';
import { header, RstStatus } from './spdy/frames';
import { STREAM_CREATION_TIMEOUT_MS } from './remotecommand-spdy';
import { StreamType } from './protocol';

/** Opens a connection to a port of the pod; failures surface as the stream's 'error'. */
export type PortDialer = (port: number) => Duplex;

export const PORT_FORWARD_WS_PROTOCOLS = [
  'v4.channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'portforward.k8s.io',
  'v4.portforward.k8s.io',
  'channel.k8s.io',
  'base64.channel.k8s.io',
] as const;

export function parsePort(text: string | undefined): number | undefined {
  if (!text || !/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * SPDY: the client opens an `error` and a `data` stream per connection, both carrying `port`
 * and `requestID` (older clients send no requestID: the data stream's id is then the error
 * stream's plus two, as the kubelet pairs them).
 */
export function servePortForwardOverSpdy(
  conn: SpdyConnection,
  dialer: Promise<PortDialer>,
  timeoutMs = STREAM_CREATION_TIMEOUT_MS,
): void {
  const pairs = new Map<string, { data?: SpdyStream; error?: SpdyStream; timer: NodeJS.Timeout }>();
  conn.on('stream', (stream: SpdyStream) => {
    const type = header(stream.headers, 'streamType');
    const port = parsePort(header(stream.headers, 'port'));
    if ((type !== StreamType.data && type !== StreamType.error) || port === undefined) {
      stream.reset(RstStatus.PROTOCOL_ERROR);
      return;
    }
    const requestId =
      header(stream.headers, 'requestID') ?? String(type === StreamType.error ? stream.id : stream.id - 2);
    let pair = pairs.get(requestId);
    if (!pair) {
      const timer = setTimeout(() => {
        // One half never came.
        const p = pairs.get(requestId);
        pairs.delete(requestId);
        p?.data?.reset();
        p?.error?.reset();
      }, timeoutMs);
      pair = { timer };
      pairs.set(requestId, pair);
    }
    if (pair[type]) {
      stream.reset(RstStatus.PROTOCOL_ERROR);
      return;
    }
    stream.reply();
    stream.on('error', () => undefined);
    pair[type] = stream;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(requestId);
      const { data, error } = pair;
      error.resume(); // the client sends nothing on it
      const report = (message?: string): void => {
        if (message && !error.destroyed) error.write(`error forwarding port ${port}: ${message}`);
        if (!error.destroyed) error.end();
      };
      dialer.then(
        (dial) => forward(dial(port), data, report),
        (err: Error) => {
          report(err.message);
          data.end();
        },
      );
    }
  });
  void conn.closed.then(() => {
    for (const pair of pairs.values()) clearTimeout(pair.timer);
    pairs.clear();
  });
}

/**
 * WebSocket: the ports come with the request (`?port=`); port i has channel 2i for data and
 * 2i+1 for errors, and the first message on each channel is the port, two bytes little-endian.
 */
export function servePortForwardOverWebSocket(
  ws: WebSocket,
  protocol: string,
  ports: number[],
  dialer: Promise<PortDialer>,
): void {
  const codec = new ChannelCodec(protocol);
  const sender = new ChannelSender(ws, codec);
  const send = (channel: number, data: Buffer): boolean => sender.send(channel, data);
  const pending: { channel: number; data: Buffer }[] = [];
  let connections: { target: Duplex; done: boolean }[] | undefined;
  // The client's messages wait (the socket is not read) while a target cannot take more: one
  // WebSocket carries every port, so a full target holds them all, as a blocked reader would.
  const full = new Set<Duplex>();
  const toTarget = (target: Duplex, data: Buffer): void => {
    if (target.write(data) || full.has(target)) return;
    full.add(target);
    ws.pause();
    void drainOrClose(target).then(() => {
      full.delete(target);
      if (full.size === 0) ws.resume();
    });
  };
  ws.on('message', (raw: Buffer, isBinary: boolean) => {
    const msg = codec.decode(raw, isBinary);
    if (!msg || msg.channel % 2 !== 0) return;
    if (!connections) return void pending.push(msg);
    const c = connections[msg.channel / 2];
    if (c && !c.done && !c.target.writableEnded) toTarget(c.target, msg.data);
  });
  ports.forEach((port, i) => {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(port);
    send(2 * i, prefix);
    send(2 * i + 1, prefix);
  });
  let remaining = ports.length;
  const settle = (i: number, failure?: string): void => {
    if (failure) send(2 * i + 1, Buffer.from(`error forwarding port ${ports[i]}: ${failure}`));
    if (--remaining === 0 && ws.readyState === ws.OPEN) ws.close(1000);
  };
  dialer.then(
    (dial) => {
      if (ws.readyState !== ws.OPEN) return;
      const made = ports.map((port, i) => {
        const target = dial(port);
        let failure: string | undefined;
        // The target is not read while the client's side is full.
        target.on('data', (chunk: Buffer) => {
          if (send(2 * i, chunk)) return;
          target.pause();
          void sender.drained().then(() => target.resume());
        });
        target.on('end', () => target.end());
        target.on('error', (err: Error) => (failure = err.message));
        target.on('close', () => {
          made[i].done = true;
          settle(i, failure);
        });
        return { target, done: false };
      });
      connections = made;
      for (const msg of pending.splice(0)) {
        const c = made[msg.channel / 2];
        if (c) toTarget(c.target, msg.data);
      }
      ws.once('close', () => made.forEach((c) => c.target.destroy()));
    },
    (err: Error) => ports.forEach((_, i) => settle(i, err.message)),
  );
}

/** Copies target <-> stream until both directions ended; reports a failure message, if any. */
function forward(target: Duplex, stream: SpdyStream, onDone: (message?: string) => void): void {
  let finished = false;
  const finish = (message?: string): void => {
    if (finished) return;
    finished = true;
    onDone(message);
  };
  target.on('error', (err: Error) => finish(err.message));
  stream.on('data', (chunk: Buffer) => {
    if (!target.write(chunk)) stream.pause();
  });
  target.on('drain', () => stream.resume());
  stream.on('end', () => target.end());
  target.on('data', (chunk: Buffer) => {
    if (!stream.write(chunk)) target.pause();
  });
  stream.on('drain', () => target.resume());
  // The pod's side closed: the connection is over (the kubelet's copy ends there too). The data
  // stream ends once the target closed, after a failure went to the error stream.
  target.on('end', () => target.end());
  target.on('close', () => {
    finish();
    if (!stream.destroyed && !stream.writableEnded) stream.end();
  });
  // The client gave up on the connection (reset, or the session closed): so do we.
  stream.on('close', () => target.destroy());
  stream.on('reset', () => target.destroy());
}
