/**
 * The streaming server (kubelet cri/streaming/server.go): Exec, Attach and PortForward store
 * their request under a single-use token and answer with a URL here; the client (crictl, or the
 * kubelet proxying kubectl) connects to it and upgrades to SPDY/3.1 or WebSocket. An unknown,
 * reused or expired token, or any other path, is 404.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { parseDuration } from '../../common/duration';
import type { Logger } from '../logger';
import {
  parsePort,
  PORT_FORWARD_WS_PROTOCOLS,
  servePortForwardOverSpdy,
  servePortForwardOverWebSocket,
  type PortDialer,
} from './portforward';
import {
  HEADER_ACCEPTED_PROTOCOL_VERSIONS,
  HEADER_PROTOCOL_VERSION,
  negotiate,
  PORT_FORWARD_SPDY_PROTOCOL,
  REMOTE_COMMAND_SPDY_PROTOCOLS,
  type RemoteCommandRunner,
  type StreamOptions,
} from './protocol';
import { serveRemoteCommandOverSpdy } from './remotecommand-spdy';
import { REMOTE_COMMAND_WS_PROTOCOLS, serveRemoteCommandOverWebSocket } from './remotecommand-ws';
import { SpdyConnection } from './spdy/connection';
import { DEFAULT_TOKEN_TTL_MS, RequestCache } from './tokens';

export type StreamRequest =
  | ({ kind: 'exec'; containerId: string; cmd: string[] } & StreamOptions)
  | ({ kind: 'attach'; containerId: string } & StreamOptions)
  | { kind: 'portforward'; podId: string; ports: number[] };

/** What the sessions run on: the container manager side (container-streams.ts). */
export interface StreamingBackend {
  runner(request: Extract<StreamRequest, { kind: 'exec' | 'attach' }>): RemoteCommandRunner;
  dialer(podId: string): Promise<PortDialer>;
}

export interface StreamingConfig {
  address: string;
  /** 0: a free port, chosen at start. */
  port: number;
  tls_cert: string;
  tls_key: string;
  /** A connection with no traffic either way for this long is closed (a Go duration; "0": never). */
  idle_timeout: string;
}

const PATH = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)$/;

export class StreamingServer {
  private readonly cache: RequestCache<StreamRequest>;
  private readonly server: http.Server;
  /** The subprotocol chosen for each WebSocket upgrade (ws would take the client's first). */
  private readonly chosen = new WeakMap<http.IncomingMessage, string>();
  /** Made on the first WebSocket upgrade (see webSockets). */
  private wss?: WebSocketServer;
  private readonly sockets = new Set<Duplex>();
  private readonly tls: boolean;
  private readonly idleTimeoutMs: number;
  private port = 0;

  constructor(
    private readonly config: StreamingConfig,
    private readonly backend: StreamingBackend,
    private readonly logger: Logger,
    options: { tokenTtlMs?: number } = {},
  ) {
    this.cache = new RequestCache(options.tokenTtlMs ?? DEFAULT_TOKEN_TTL_MS);
    this.tls = config.tls_cert !== '';
    this.idleTimeoutMs = parseDuration(config.idle_timeout) ?? 0;
    this.server = this.tls
      ? https.createServer({ cert: fs.readFileSync(config.tls_cert), key: fs.readFileSync(config.tls_key) })
      : http.createServer();
    this.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) =>
      this.onRequest(req, res),
    );
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
    this.server.on('connection', (socket: net.Socket) => {
      this.track(socket);
      this.closeWhenIdle(socket);
    });
    // Over TLS, the TCP socket above carries this one: its idle timer covers both.
    this.server.on('secureConnection', (socket: net.Socket) => this.track(socket));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.address, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    this.logger.info('streaming server listening', { url: this.baseUrl });
  }

  get baseUrl(): string {
    const host = net.isIPv6(this.config.address) ? `[${this.config.address}]` : this.config.address;
    return `${this.tls ? 'https' : 'http'}://${host}:${this.port}`;
  }

  /** Stores the request under a new token; the URL the client is to connect to. */
  url(request: StreamRequest): string {
    return `${this.baseUrl}/${request.kind}/${this.cache.insert(request)}`;
  }

  /**
   * The WebSocket server, loaded with the ws module on the first WebSocket session: most nodes
   * never stream, and the module is half a MiB of the daemon's RSS.
   */
  private webSockets(): WebSocketServer {
    if (!this.wss) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
      const { WebSocketServer } = require('ws') as typeof import('ws');
      this.wss = new WebSocketServer({
        noServer: true,
        perMessageDeflate: false,
        handleProtocols: (_offered, req) => this.chosen.get(req) || false,
      });
    }
    return this.wss;
  }

  /** Stops listening and ends every open session. Safe to call twice. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.wss?.close();
    if (this.server.listening) await closed;
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /** Idle means nothing read or written on the connection, whatever the session is doing. */
  private closeWhenIdle(socket: net.Socket): void {
    if (this.idleTimeoutMs > 0) {
      socket.setTimeout(this.idleTimeoutMs, () => {
        this.logger.info('streaming connection closed after idling', {
          idle_timeout: this.config.idle_timeout,
        });
        socket.destroy();
      });
    }
  }

  private take(req: http.IncomingMessage): StreamRequest | undefined {
    const url = new URL(req.url ?? '/', 'http://streaming');
    const m = PATH.exec(url.pathname);
    if (!m) return undefined;
    const request = this.cache.consume(m[2]);
    return request && request.kind === m[1] ? request : undefined;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const request = this.take(req);
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    if (!request) {
      res.writeHead(404).end('404 page not found\n');
      return;
    }
    res.writeHead(400).end('this URL needs an Upgrade to SPDY/3.1 or websocket\n');
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const request = this.take(req);
    if (!request) return refuse(socket, 404, '404 page not found\n');
    const upgrade = (req.headers.upgrade ?? '').toLowerCase();
    if (upgrade === 'websocket') return this.upgradeWebSocket(req, socket, head, request);
    if (upgrade === 'spdy/3.1') return this.upgradeSpdy(req, socket, head, request);
    refuse(socket, 400, `unsupported upgrade "${req.headers.upgrade ?? ''}"\n`);
  }

  private upgradeSpdy(req: http.IncomingMessage, socket: Duplex, head: Buffer, request: StreamRequest): void {
    const supported: readonly string[] =
      request.kind === 'portforward' ? [PORT_FORWARD_SPDY_PROTOCOL] : REMOTE_COMMAND_SPDY_PROTOCOLS;
    const offered = req.headers[HEADER_PROTOCOL_VERSION];
    if (!offered) return refuse(socket, 400, `${HEADER_PROTOCOL_VERSION} is required\n`);
    const protocol = negotiate(offered, supported);
    if (!protocol) {
      return refuse(
        socket,
        403,
        `unable to negotiate protocol: client supports ${String(offered)}, server accepts ${supported.join(', ')}\n`,
        supported.map((p) => `${HEADER_ACCEPTED_PROTOCOL_VERSIONS}: ${p}\r\n`).join(''),
      );
    }
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
        `X-Stream-Protocol-Version: ${protocol}\r\n\r\n`,
    );
    if (head.length > 0) socket.unshift(head);
    if (socket instanceof net.Socket) socket.setNoDelay(true);
    const conn = new SpdyConnection(socket, 'server');
    void this.serve(request, protocol, 'spdy', async () => {
      if (request.kind === 'portforward') {
        // Streams may come at once: the handler is in place before the pod is looked up.
        const dialer = this.backend.dialer(request.podId);
        servePortForwardOverSpdy(conn, dialer);
        await Promise.all([dialer, conn.closed]);
      } else {
        await serveRemoteCommandOverSpdy(conn, protocol, request, this.backend.runner(request));
      }
    }).finally(() => void conn.close());
  }

  private upgradeWebSocket(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    request: StreamRequest,
  ): void {
    const supported: readonly string[] =
      request.kind === 'portforward' ? PORT_FORWARD_WS_PROTOCOLS : REMOTE_COMMAND_WS_PROTOCOLS;
    const offered = req.headers['sec-websocket-protocol'];
    const protocol = offered ? negotiate(offered, supported) : '';
    if (protocol === undefined) {
      return refuse(
        socket,
        400,
        `requested protocol(s) are not supported: ${offered}; supports ${supported.join(', ')}\n`,
      );
    }
    let ports: number[] = [];
    if (request.kind === 'portforward') {
      const query = new URL(req.url ?? '/', 'http://streaming').searchParams.getAll('port');
      ports = query.length > 0 ? query.map((p) => parsePort(p) ?? 0) : request.ports;
      if (ports.length === 0 || ports.includes(0))
        return refuse(socket, 400, 'query parameter "port" is required\n');
    }
    this.chosen.set(req, protocol);
    this.webSockets().handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      void this.serve(request, protocol || '(none)', 'websocket', async () => {
        if (request.kind === 'portforward') {
          const dialer = this.backend.dialer(request.podId);
          servePortForwardOverWebSocket(ws, protocol, ports, dialer);
          await Promise.all([dialer, closed]);
        } else {
          await serveRemoteCommandOverWebSocket(ws, protocol, request, this.backend.runner(request));
        }
      }).finally(() => ws.terminate());
    });
  }

  private async serve(
    request: StreamRequest,
    protocol: string,
    transport: string,
    body: () => Promise<void>,
  ): Promise<void> {
    const started = Date.now();
    const target =
      request.kind === 'portforward' ? { pod: request.podId } : { container: request.containerId };
    this.logger.debug('streaming session started', { kind: request.kind, ...target, transport, protocol });
    try {
      await body();
      this.logger.debug('streaming session ended', {
        kind: request.kind,
        ...target,
        ms: Date.now() - started,
      });
    } catch (err) {
      this.logger.warn('streaming session failed', {
        kind: request.kind,
        ...target,
        error: (err as Error).message,
      });
    }
  }
}

/** An HTTP error on a socket that asked for an upgrade (no ServerResponse exists for it). */
function refuse(socket: Duplex, status: number, body: string, extraHeaders = ''): void {
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${extraHeaders}\r\n${body}`,
  );
}
