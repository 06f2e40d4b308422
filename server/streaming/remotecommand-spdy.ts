/**
 * Exec and attach over SPDY (kubelet cri/streaming/remotecommand, httpstream.go): the client
 * opens one stream per stdio channel, typed by the `streamType` header, plus `error` and, for a
 * terminal from v3 on, `resize`; the server replies to each, runs the command once every stream
 * it expects is there, and at the end writes the outcome on `error` and closes.
 */
import { drainOrClose } from '../../common/drain';
import type { SpdyConnection, SpdyStream } from './spdy/connection';
import { header, RstStatus } from './spdy/frames';
import {
  errorStreamPayload,
  OUTPUT_HIGH_WATER_MARK,
  protocolVersion,
  ResizeDecoder,
  ResizeEvents,
  StreamType,
  type Outcome,
  type RemoteCommandRunner,
  type StreamIO,
  type StreamOptions,
} from './protocol';

/** The kubelet's default: how long the client gets to open its streams. */
export const STREAM_CREATION_TIMEOUT_MS = 30_000;

type Streams = Partial<Record<keyof typeof StreamType, SpdyStream>>;

export async function serveRemoteCommandOverSpdy(
  conn: SpdyConnection,
  protocol: string,
  options: StreamOptions,
  run: RemoteCommandRunner,
  timeoutMs = STREAM_CREATION_TIMEOUT_MS,
): Promise<void> {
  const version = protocolVersion(protocol);
  const expected: string[] = [StreamType.error];
  if (options.stdin) expected.push(StreamType.stdin);
  if (options.stdout) expected.push(StreamType.stdout);
  // A terminal merges stderr into stdout; v3 brought the resize stream.
  if (options.stderr && !options.tty) expected.push(StreamType.stderr);
  if (options.tty && version >= 3) expected.push(StreamType.resize);

  const streams = await receiveStreams(conn, expected, timeoutMs);
  if (!streams) {
    await conn.close();
    return;
  }
  let outcome: Outcome;
  try {
    outcome = await run(streamIO(conn, streams, options.tty));
  } catch (err) {
    outcome = { error: (err as Error).message };
  }
  const ends = [streams.stdout, streams.stderr].filter((s): s is SpdyStream => !!s).map(endStream);
  await Promise.all(ends);
  if (streams.error) {
    const payload = errorStreamPayload(version, outcome);
    if (payload) streams.error.write(payload);
    await endStream(streams.error);
  }
  await conn.close();
}

/** Replies to the streams the client opens; resolves once all expected are there, or undefined
 * when the client did not open them in time or went away. */
function receiveStreams(
  conn: SpdyConnection,
  expected: string[],
  timeoutMs: number,
): Promise<Streams | undefined> {
  return new Promise((resolve) => {
    const streams: Streams = {};
    const known = new Set<string>(Object.values(StreamType));
    const done = (result: Streams | undefined): void => {
      clearTimeout(timer);
      conn.off('stream', onStream);
      // Streams opened later are refused.
      conn.on('stream', (s: SpdyStream) => s.reset(RstStatus.REFUSED_STREAM));
      resolve(result);
    };
    const onStream = (stream: SpdyStream): void => {
      const type = header(stream.headers, 'streamType') ?? '';
      if (!known.has(type) || type === StreamType.data || streams[type as keyof Streams]) {
        stream.reset(RstStatus.PROTOCOL_ERROR);
        return;
      }
      stream.reply();
      // Unwanted input (stdin of a command without stdin) is read and dropped.
      stream.on('error', () => undefined);
      streams[type as keyof Streams] = stream;
      if (expected.every((t) => streams[t as keyof Streams])) done(streams);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    conn.on('stream', onStream);
    void conn.closed.then(() => done(undefined));
  });
}

function streamIO(conn: SpdyConnection, streams: Streams, tty: boolean): StreamIO {
  const resize = new ResizeEvents();
  if (streams.resize) {
    const decoder = new ResizeDecoder();
    streams.resize.on('data', (chunk: Buffer) => decoder.push(chunk).forEach((size) => resize.emit(size)));
  }
  return {
    tty,
    stdin: streams.stdin,
    write: (name, data) => {
      const target = streams[name] ?? (tty ? streams.stdout : undefined);
      if (!target || target.writableEnded || target.destroyed) return true;
      target.write(data);
      return target.writableLength < OUTPUT_HIGH_WATER_MARK;
    },
    drained: async () => {
      await Promise.all([streams.stdout, streams.stderr].map((s) => s && whenBelowHighWater(s)));
    },
    onResize: (listener) => resize.listen(listener),
    clientGone: conn.closed,
  };
}

/** Resolves once what waits to go out on the stream is under the high-water mark (a stream
 * at or above it has pending writes, so 'drain' comes), or the stream is gone. */
function whenBelowHighWater(stream: SpdyStream): Promise<void> {
  if (stream.writableLength < OUTPUT_HIGH_WATER_MARK || stream.destroyed) return Promise.resolve();
  return drainOrClose(stream);
}

/** Ends our side of a stream (FIN after what was written); resolves once sent or gone. */
function endStream(stream: SpdyStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableFinished) return resolve();
    stream.once('finish', () => resolve());
    stream.once('close', () => resolve());
    stream.end();
  });
}
