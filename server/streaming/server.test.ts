/**
 * The streaming server's protocols from the outside, with a backend that runs a few built-in
 * commands in process (the real runtime side is covered end to end in e2e/streaming.test.ts):
 * tokens, paths, negotiation, SPDY v1-v4 and WebSocket v1/v4/v5 exec, resize, stdin close, exit
 * codes, port forwarding over both transports.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../logger';
import type { Outcome, StreamIO } from './protocol';
import { StreamingServer, type StreamingBackend } from './server';
import { channelText, spdyConnect, spdyRemoteCommand, UpgradeRefused, wsConnect } from './testing/clients';

/** echo ARGS | cat | size (first resize, as "rows cols") | exit N | wait (until the client goes). */
function builtin(cmd: string[]): (io: StreamIO) => Promise<Outcome> {
  return async (io) => {
    switch (cmd[0]) {
      case 'echo':
        io.write('stdout', Buffer.from(cmd.slice(1).join(' ') + '\n'));
        io.write('stderr', Buffer.from('to-stderr\n'));
        return { exitCode: 0 };
      case 'cat':
        await new Promise<void>((resolve) => {
          io.stdin!.on('data', (d: Buffer) => io.write('stdout', d));
          io.stdin!.on('end', resolve);
        });
        return { exitCode: 0 };
      case 'size':
        return new Promise((resolve) =>
          io.onResize(({ width, height }) => {
            io.write('stdout', Buffer.from(`${height} ${width}\r\n`));
            resolve({ exitCode: 0 });
          }),
        );
      case 'exit':
        return { exitCode: Number(cmd[1]) };
      case 'wait':
        await io.clientGone;
        return { exitCode: 0 };
      default:
        return { error: `no command ${cmd[0]}` };
    }
  };
}

const backend: StreamingBackend = {
  runner: (request) => builtin(request.kind === 'exec' ? request.cmd : ['cat']),
  dialer: async () => (port: number) => net.connect(port, '127.0.0.1'),
};

const execRequest = (cmd: string[], extra: { stdin?: boolean; tty?: boolean } = {}) => ({
  kind: 'exec' as const,
  containerId: 'c1',
  cmd,
  stdin: extra.stdin ?? false,
  stdout: true,
  stderr: !extra.tty,
  tty: extra.tty ?? false,
});

describe('streaming server', () => {
  let server: StreamingServer;
  let echoServer: net.Server;
  let echoPort: number;

  beforeAll(async () => {
    server = new StreamingServer(
      { address: '127.0.0.1', port: 0, tls_cert: '', tls_key: '', idle_timeout: '0' },
      backend,
      silentLogger(),
      {
        tokenTtlMs: 500,
      },
    );
    await server.start();
    // Upper-cases what it gets, then closes after the client's end.
    echoServer = net.createServer((s) => {
      s.on('data', (d: Buffer) => s.write(d.toString().toUpperCase()));
      s.on('end', () => s.end());
    });
    await new Promise<void>((resolve) => echoServer.listen(0, '127.0.0.1', resolve));
    echoPort = (echoServer.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await server.stop();
    await new Promise((resolve) => echoServer.close(resolve));
  });

  test('exec over SPDY v4: output on stdout and stderr, Success on the error stream', async () => {
    const s = await spdyRemoteCommand(server.url(execRequest(['echo', 'hello'])), {
      protocols: ['v4.channel.k8s.io', 'v3.channel.k8s.io'],
      stderr: true,
    });
    expect(s.protocol).toBe('v4.channel.k8s.io');
    expect(await s.output).toEqual({
      stdout: 'hello\n',
      stderr: 'to-stderr\n',
      error: '{"metadata":{},"status":"Success"}',
    });
    await s.conn.closed;
  });

  test('a non-zero exit code: v4 NonZeroExitCode status, v2 a text message', async () => {
    const v4 = await spdyRemoteCommand(server.url(execRequest(['exit', '3'])), { stderr: true });
    expect(JSON.parse((await v4.output).error)).toEqual({
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: exit status 3',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
    const v2 = await spdyRemoteCommand(server.url(execRequest(['exit', '3'])), {
      protocols: ['v2.channel.k8s.io'],
      stderr: true,
    });
    expect(v2.protocol).toBe('v2.channel.k8s.io');
    expect((await v2.output).error).toMatch(/exit status 3/);
    const failed = await spdyRemoteCommand(server.url(execRequest(['nope'])), { stderr: true });
    expect(JSON.parse((await failed.output).error)).toMatchObject({
      status: 'Failure',
      reason: 'InternalError',
    });
  });

  test('stdin reaches the command and its close ends it', async () => {
    const s = await spdyRemoteCommand(server.url(execRequest(['cat'], { stdin: true })), {
      stdin: true,
      stderr: true,
    });
    s.stdin!.write('line one\n');
    s.stdin!.end('line two\n');
    expect(await s.output).toMatchObject({ stdout: 'line one\nline two\n' });
  });

  test('a terminal gets its size from the resize stream (v3 and later)', async () => {
    const s = await spdyRemoteCommand(server.url(execRequest(['size'], { tty: true })), { tty: true });
    s.resize!.write(JSON.stringify({ Width: 101, Height: 33 }));
    expect((await s.output).stdout).toBe('33 101\r\n');
  });

  test('tokens: reused, expired, unknown and malformed paths are 404', async () => {
    const url = server.url(execRequest(['echo', 'once']));
    await (
      await spdyRemoteCommand(url, { stderr: true })
    ).output;
    await expect(spdyConnect(url, ['v4.channel.k8s.io'])).rejects.toMatchObject({ status: 404 });
    const expiring = server.url(execRequest(['echo', 'late']));
    await new Promise((resolve) => setTimeout(resolve, 600));
    await expect(spdyConnect(expiring, ['v4.channel.k8s.io'])).rejects.toMatchObject({ status: 404 });
    const base = url.slice(0, url.lastIndexOf('/'));
    await expect(spdyConnect(`${base}/not-a-token`, ['v4.channel.k8s.io'])).rejects.toMatchObject({
      status: 404,
    });
    const other = server.url(execRequest(['echo']));
    const token = other.slice(other.lastIndexOf('/') + 1);
    await expect(
      spdyConnect(`${server.baseUrl}/attach/${token}`, ['v4.channel.k8s.io']),
    ).rejects.toMatchObject({
      status: 404,
    });
    await expect(spdyConnect(`${server.baseUrl}/bogus/path`, ['v4.channel.k8s.io'])).rejects.toMatchObject({
      status: 404,
    });
    const plain = await fetch(server.url(execRequest(['echo'])));
    expect(plain.status).toBe(400);
    expect((await fetch(`${server.baseUrl}/exec/nothing-here`)).status).toBe(404);
  });

  test('protocol negotiation: none in common is 403 with the accepted versions', async () => {
    const err = (await spdyConnect(server.url(execRequest(['echo'])), ['v9.channel.k8s.io']).catch(
      (e: unknown) => e,
    )) as UpgradeRefused;
    expect(err.status).toBe(403);
    expect(err.headers['x-accepted-stream-protocol-versions']).toContain('v4.channel.k8s.io');
  });

  test('exec over WebSocket v5: channels, stdin close signal, status', async () => {
    const c = await wsConnect(server.url(execRequest(['cat'], { stdin: true })), [
      'v5.channel.k8s.io',
      'v4.channel.k8s.io',
    ]);
    expect(c.protocol).toBe('v5.channel.k8s.io');
    c.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('over ws\n')]));
    c.ws.send(Buffer.from([255, 0]));
    await c.closed;
    expect(channelText(c.channels, 1)).toBe('over ws\n');
    expect(channelText(c.channels, 3)).toBe('{"metadata":{},"status":"Success"}');
  });

  test('exec over WebSocket v4 and base64: exit code status', async () => {
    const v4 = await wsConnect(server.url(execRequest(['exit', '7'])), ['v4.channel.k8s.io']);
    await v4.closed;
    expect(JSON.parse(channelText(v4.channels, 3)).details.causes[0]).toEqual({
      reason: 'ExitCode',
      message: '7',
    });

    const b64 = await wsConnect(server.url(execRequest(['echo', 'b64'])), ['v4.base64.channel.k8s.io']);
    await b64.closed;
    expect(b64.messages).toContain('1' + Buffer.from('b64\n').toString('base64'));
  });

  test('port forward over SPDY: data and error streams per request id, half-close passed on', async () => {
    const { conn, protocol } = await spdyConnect(
      server.url({ kind: 'portforward', podId: 'p1', ports: [echoPort] }),
      ['portforward.k8s.io'],
    );
    expect(protocol).toBe('portforward.k8s.io');
    const results = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const headers = { port: [String(echoPort)], requestid: [String(n)] };
        const error = conn.openStream({ ...headers, streamtype: ['error'] });
        error.end();
        const data = conn.openStream({ ...headers, streamtype: ['data'] });
        let text = '';
        data.on('data', (d: Buffer) => (text += d.toString()));
        data.end(`request ${n}`);
        await new Promise((resolve) => data.on('end', resolve));
        return text;
      }),
    );
    expect(results).toEqual(['REQUEST 1', 'REQUEST 2', 'REQUEST 3']);

    // Nothing listens: the error stream says so.
    const closedPort = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const headers = { port: [String(closedPort)], requestid: ['9'] };
    const error = conn.openStream({ ...headers, streamtype: ['error'] });
    error.end();
    conn.openStream({ ...headers, streamtype: ['data'] }).resume();
    let message = '';
    error.on('data', (d: Buffer) => (message += d.toString()));
    await new Promise((resolve) => error.on('end', resolve));
    expect(message).toMatch(new RegExp(`error forwarding port ${closedPort}: connect ECONNREFUSED`));
    await conn.close();
  });

  test('port forward over WebSocket: the port prefix on both channels, then data', async () => {
    const c = await wsConnect(
      `${server.url({ kind: 'portforward', podId: 'p1', ports: [] })}?port=${echoPort}`,
      ['v4.channel.k8s.io'],
    );
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(echoPort);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(c.channels.get(0)?.[0]).toEqual(prefix);
    expect(c.channels.get(1)?.[0]).toEqual(prefix);
    c.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('ws data')]));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(Buffer.concat(c.channels.get(0)!.slice(1)).toString()).toBe('WS DATA');
    c.ws.close();
    await c.closed;
  });

  test('a client that goes away ends the session', async () => {
    const s = await spdyRemoteCommand(server.url(execRequest(['wait'])), { stderr: true });
    await new Promise((resolve) => setTimeout(resolve, 50));
    (s.conn as unknown as { socket: net.Socket }).socket.destroy();
    await s.conn.closed;
  });
});

describe('streaming server idle timeout', () => {
  let server: StreamingServer;

  beforeAll(async () => {
    server = new StreamingServer(
      { address: '127.0.0.1', port: 0, tls_cert: '', tls_key: '', idle_timeout: '400ms' },
      backend,
      silentLogger(),
    );
    await server.start();
  });

  afterAll(async () => {
    await server.stop();
  });

  test('a session with no traffic either way is closed once the timeout passes', async () => {
    const s = await spdyRemoteCommand(server.url(execRequest(['wait'])), { stderr: true });
    const started = Date.now();
    await s.conn.closed;
    const idled = Date.now() - started;
    expect(idled).toBeGreaterThanOrEqual(300);
    expect(idled).toBeLessThan(3000);
  });

  test('traffic keeps a session open past the timeout', async () => {
    const s = await spdyRemoteCommand(server.url(execRequest(['cat'], { stdin: true })), {
      stdin: true,
      stderr: true,
    });
    let closed = false;
    void s.conn.closed.then(() => (closed = true));
    for (let i = 0; i < 10; i++) {
      s.stdin!.write(`${i}\n`);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    expect(closed).toBe(false);
    s.stdin!.end();
    expect((await s.output).stdout).toBe('0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n');
  });
});

describe('streaming server over TLS', () => {
  let dir: string;
  let server: StreamingServer;
  let ca: Buffer;

  beforeAll(async () => {
    // A self-signed certificate for 127.0.0.1, which the clients trust as their only CA.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-streaming-tls-'));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=berth-streaming',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    ca = fs.readFileSync(cert);
    server = new StreamingServer(
      { address: '127.0.0.1', port: 0, tls_cert: cert, tls_key: key, idle_timeout: '0' },
      backend,
      silentLogger(),
    );
    await server.start();
  });

  afterAll(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('URLs are https; SPDY and WebSocket sessions run over TLS with the certificate verified', async () => {
    const url = server.url(execRequest(['echo', 'secure']));
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/exec\//);
    const spdy = await spdyRemoteCommand(url, { stderr: true, ca });
    expect(await spdy.output).toMatchObject({
      stdout: 'secure\n',
      error: '{"metadata":{},"status":"Success"}',
    });
    const ws = await wsConnect(server.url(execRequest(['echo', 'secure'])), ['v4.channel.k8s.io'], { ca });
    await ws.closed;
    expect(channelText(ws.channels, 1)).toBe('secure\n');
    expect(channelText(ws.channels, 3)).toBe('{"metadata":{},"status":"Success"}');
  });

  test('a client that does not trust the certificate is refused, and plain HTTP gets nothing', async () => {
    await expect(spdyConnect(server.url(execRequest(['echo', 'x'])), ['v4.channel.k8s.io'])).rejects.toThrow(
      /self.signed/i,
    );
    const plain = server.url(execRequest(['echo', 'x'])).replace(/^https:/, 'http:');
    await expect(spdyConnect(plain, ['v4.channel.k8s.io'], {})).rejects.toThrow();
  });
});
