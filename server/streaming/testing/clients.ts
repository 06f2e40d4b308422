/**
 * Clients of the streaming protocols, as crictl and kubectl speak them, for the tests: a SPDY
 * client (HTTP upgrade, then streams typed by header) and a WebSocket channel client.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { SpdyConnection, type SpdyStream } from '../spdy/connection';

export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly headers: http.IncomingHttpHeaders,
  ) {
    super(`upgrade refused: ${status} ${body.trim()}`);
  }
}

/** POSTs an upgrade to SPDY/3.1 offering `protocols`; the session and the chosen protocol. */
export function spdyConnect(
  url: string,
  protocols: string[],
  tls: { ca?: Buffer } = {},
): Promise<{ conn: SpdyConnection; protocol: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const options = {
      method: 'POST',
      headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': protocols },
    };
    const req = url.startsWith('https:')
      ? https.request(url, { ...options, ca: tls.ca })
      : http.request(url, options);
    req.on('upgrade', (res: http.IncomingMessage, socket: Socket, head: Buffer) => {
      if (head.length > 0) socket.unshift(head);
      const protocol = String(res.headers['x-stream-protocol-version'] ?? '');
      resolve({ conn: new SpdyConnection(socket, 'client'), protocol, socket });
    });
    req.on('response', (res: http.IncomingMessage) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => reject(new UpgradeRefused(res.statusCode ?? 0, body, res.headers)));
    });
    req.on('error', reject);
    req.end();
  });
}

export interface CommandOutput {
  stdout: string;
  stderr: string;
  error: string;
}

/** Collects a stream's text into live[key] as it comes; resolves with it at the end. */
function collect(
  stream: SpdyStream | undefined,
  live: CommandOutput,
  key: keyof CommandOutput,
): Promise<string> {
  return new Promise((resolve) => {
    if (!stream) return resolve('');
    stream.on('data', (d: Buffer) => (live[key] += d.toString()));
    stream.on('end', () => resolve(live[key]));
    stream.on('close', () => resolve(live[key]));
  });
}

/** A remote command session over SPDY, with the streams a kubectl of that version opens. */
export async function spdyRemoteCommand(
  url: string,
  options: { protocols?: string[]; stdin?: boolean; stderr?: boolean; tty?: boolean; ca?: Buffer },
): Promise<{
  conn: SpdyConnection;
  protocol: string;
  stdin?: SpdyStream;
  resize?: SpdyStream;
  /** The output so far. */
  live: CommandOutput;
  /** All of it, once the session ended. */
  output: Promise<CommandOutput>;
}> {
  const { conn, protocol } = await spdyConnect(url, options.protocols ?? ['v4.channel.k8s.io'], {
    ca: options.ca,
  });
  const open = (type: string): SpdyStream => conn.openStream({ streamtype: [type] });
  const error = open('error');
  error.end(); // the client never writes on it
  const stdin = options.stdin ? open('stdin') : undefined;
  const stdout = open('stdout');
  const stderr = options.stderr && !options.tty ? open('stderr') : undefined;
  const resize = options.tty ? open('resize') : undefined;
  const live: CommandOutput = { stdout: '', stderr: '', error: '' };
  const output = Promise.all([
    collect(stdout, live, 'stdout'),
    collect(stderr, live, 'stderr'),
    collect(error, live, 'error'),
  ]).then(([out, err, e]) => ({
    stdout: out,
    stderr: err,
    error: e,
  }));
  return { conn, protocol, stdin, resize, live, output };
}

/** A WebSocket channel client: messages by channel, until the server closes. */
export function wsConnect(
  url: string,
  protocols: string[],
  tls: { ca?: Buffer } = {},
): Promise<{
  ws: WebSocket;
  protocol: string;
  channels: Map<number, Buffer[]>;
  messages: string[];
  closed: Promise<number>;
}> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), protocols, { ca: tls.ca });
    const channels = new Map<number, Buffer[]>();
    const messages: string[] = [];
    const closed = new Promise<number>((done) => ws.once('close', (code) => done(code)));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) messages.push(data.toString());
      if (data.length === 0) return;
      channels.set(data[0], [...(channels.get(data[0]) ?? []), data.subarray(1)]);
    });
    ws.once('open', () => resolve({ ws, protocol: ws.protocol, channels, messages, closed }));
    ws.once('unexpected-response', (_req, res: http.IncomingMessage) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => reject(new UpgradeRefused(res.statusCode ?? 0, body, res.headers)));
    });
    ws.once('error', reject);
  });
}

export function channelText(channels: Map<number, Buffer[]>, channel: number): string {
  return Buffer.concat(channels.get(channel) ?? []).toString();
}
