import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { SpdyConnection, type SpdyStream } from './connection';
import { SPDY3_DICTIONARY } from './dictionary';
import {
  FLAG_FIN,
  FrameReader,
  FrameType,
  controlFrame,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  header,
} from './frames';
import { HeaderCompressor, HeaderDecompressor } from './header-compression';

describe('SPDY/3 framing', () => {
  test('the dictionary is the 1423 bytes of the SPDY/3 draft', () => {
    expect(SPDY3_DICTIONARY.length).toBe(1423);
    expect(createHash('sha256').update(SPDY3_DICTIONARY).digest('hex')).toBe(
      '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02',
    );
  });

  test('header blocks: names lower-cased, multiple values joined by NUL', () => {
    const block = encodeHeaderBlock({ StreamType: ['data'], port: ['80', '81'] });
    const decoded = decodeHeaderBlock(block);
    expect(decoded).toEqual({ streamtype: ['data'], port: ['80', '81'] });
    expect(header(decoded, 'streamType')).toBe('data');
    expect(() => decodeHeaderBlock(block.subarray(0, block.length - 1))).toThrow(/truncated/);
  });

  test('decompresses blocks another zlib compressed with the dictionary, keeping state across blocks', async () => {
    // Made with Python's zlib (level 9, zdict = the dictionary), one stream, two sync-flushed blocks.
    const first = Buffer.from('78f9e3c6a7c202a62346703a2b294a4dcc851625aca9a08006000000ffff', 'hex');
    const second = Buffer.from('02651c0c2960624ec90797d1c022bb084c5b18581800000000ffff', 'hex');
    const d = new HeaderDecompressor();
    expect(decodeHeaderBlock(await d.decompress(first))).toEqual({ streamtype: ['error'] });
    expect(decodeHeaderBlock(await d.decompress(second))).toEqual({ streamtype: ['stdout'], port: ['8080'] });
    d.close();
  });

  test('compressor and decompressor agree over many blocks', async () => {
    const c = new HeaderCompressor();
    const d = new HeaderDecompressor();
    for (let i = 0; i < 50; i++) {
      const headers = { streamtype: ['data'], port: [String(8000 + i)], requestid: [String(i)] };
      expect(decodeHeaderBlock(await d.decompress(await c.compress(encodeHeaderBlock(headers))))).toEqual(
        headers,
      );
    }
    c.close();
    d.close();
  });

  test('FrameReader splits frames across reads and tells data from control frames', () => {
    const bytes = Buffer.concat([
      dataFrame(3, Buffer.from('hello'), FLAG_FIN),
      controlFrame(FrameType.PING, 0, Buffer.from([0, 0, 0, 7])),
    ]);
    const reader = new FrameReader();
    const frames = [
      ...reader.push(bytes.subarray(0, 5)),
      ...reader.push(bytes.subarray(5, 20)),
      ...reader.push(bytes.subarray(20)),
    ];
    expect(frames).toEqual([
      { kind: 'data', streamId: 3, flags: FLAG_FIN, data: Buffer.from('hello') },
      { kind: 'control', type: FrameType.PING, flags: 0, payload: Buffer.from([0, 0, 0, 7]) },
    ]);
    const wrongVersion = Buffer.from(controlFrame(FrameType.PING, 0, Buffer.alloc(4)));
    wrongVersion.writeUInt16BE(0x8002, 0);
    expect(() => new FrameReader().push(wrongVersion)).toThrow(/version 2/);
  });
});

describe('SPDY/3 sessions over a socket', () => {
  let server: net.Server;
  let client: SpdyConnection;
  let serverConn: SpdyConnection;
  let serverSocket: net.Socket;

  beforeEach(async () => {
    const accepted = new Promise<net.Socket>((resolve) => {
      server = net.createServer(resolve);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const socket = net.connect(port, '127.0.0.1');
    client = new SpdyConnection(socket, 'client');
    serverSocket = await accepted;
    serverConn = new SpdyConnection(serverSocket, 'server');
  });

  afterEach(async () => {
    await client.close();
    await serverConn.close();
    await new Promise((resolve) => server.close(resolve));
  });

  const nextStream = (conn: SpdyConnection): Promise<SpdyStream> =>
    new Promise((resolve) => conn.once('stream', resolve));

  const readAll = (s: SpdyStream): Promise<string> =>
    new Promise((resolve) => {
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('end', () => resolve(text));
    });

  test('streams carry headers, data both ways, large writes and half-close', async () => {
    const incoming = nextStream(serverConn);
    const c = client.openStream({ streamtype: ['stdin'] });
    const replied = new Promise((resolve) => c.once('reply', resolve));
    const s = await incoming;
    expect(header(s.headers, 'streamType')).toBe('stdin');
    s.reply();
    await replied;

    const big = Buffer.alloc(300 * 1024, 'x');
    const fromClient = readAll(s);
    c.write(big);
    c.end();
    expect(await fromClient).toBe(big.toString());

    const fromServer = readAll(c);
    s.end('bye');
    expect(await fromServer).toBe('bye');
    await new Promise((resolve) => setImmediate(resolve));
    expect(serverConn.streamCount).toBe(0);
    expect(client.streamCount).toBe(0);
  });

  test('a stream whose reader is behind stops the socket being read until it catches up', async () => {
    const incoming = nextStream(serverConn);
    const c = client.openStream({ streamtype: ['stdin'] });
    const s = await incoming;
    s.reply();
    const total = 32 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let written = 0;
    const writing = (async () => {
      while (written < total) {
        await new Promise<void>((resolve, reject) =>
          c.write(chunk, (err) => (err ? reject(err) : resolve())),
        );
        written += chunk.length;
      }
      c.end();
    })();
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Nobody reads the stream: the server stops reading its socket and TCP holds the client back.
    expect(serverSocket.bytesRead).toBeLessThan(total / 2);
    expect(written).toBeLessThan(total / 2);
    let received = 0;
    s.on('data', (d: Buffer) => (received += d.length));
    await Promise.all([writing, new Promise((resolve) => s.on('end', resolve))]);
    expect(received).toBe(total);
  });

  test('a reset ends the stream on both sides; GOAWAY then closes the session', async () => {
    const incoming = nextStream(serverConn);
    const c = client.openStream({ streamtype: ['data'] });
    const s = await incoming;
    s.reply();
    const clientSawReset = new Promise((resolve) => c.once('reset', resolve));
    s.reset();
    await clientSawReset;
    expect(client.streamCount).toBe(0);
    await serverConn.close();
    await client.closed;
  });

  test('a malformed frame closes the session', async () => {
    const bad = Buffer.from(controlFrame(FrameType.PING, 0, Buffer.alloc(4)));
    bad.writeUInt16BE(0x8002, 0);
    (client as unknown as { socket: net.Socket }).socket.write(bad);
    await serverConn.closed;
  });
});
