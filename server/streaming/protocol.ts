/**
 * The Kubernetes streaming protocol facts shared by the SPDY and WebSocket adapters
 * (k8s.io/apimachinery httpstream and wsstream, kubelet cri/streaming): protocol names and
 * negotiation, stream types, the exit status document, terminal resize messages.
 */

/** Remote command (exec, attach) over SPDY, best first (X-Stream-Protocol-Version). */
export const REMOTE_COMMAND_SPDY_PROTOCOLS = [
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
  'channel.k8s.io',
] as const;
export const PORT_FORWARD_SPDY_PROTOCOL = 'portforward.k8s.io';

export const HEADER_PROTOCOL_VERSION = 'x-stream-protocol-version';
export const HEADER_ACCEPTED_PROTOCOL_VERSIONS = 'X-Accepted-Stream-Protocol-Versions';

/** Stream type header values (SPDY `streamType`). */
export const StreamType = {
  error: 'error',
  stdin: 'stdin',
  stdout: 'stdout',
  stderr: 'stderr',
  resize: 'resize',
  data: 'data',
} as const;

/** The version number of a remote command protocol: channel.k8s.io is 1. */
export function protocolVersion(protocol: string): number {
  const m = /^v(\d+)\./.exec(protocol);
  return m ? Number(m[1]) : 1;
}

/**
 * httpstream.Handshake: the first protocol the client offers (in its order) that the server
 * supports; undefined when there is none. Header values may be repeated or comma-joined.
 */
export function negotiate(
  offered: string | string[] | undefined,
  supported: readonly string[],
): string | undefined {
  const list = (Array.isArray(offered) ? offered : [offered ?? ''])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  return list.find((p) => supported.includes(p));
}

export interface TerminalSize {
  width: number;
  height: number;
}

/** What a command ended with: an exit code, or an error that kept it from running or ending. */
export type Outcome = { exitCode: number } | { error: string };

/**
 * What goes on the error stream when the session ends. v4 and later: a metav1.Status JSON
 * document, Success or Failure, a non-zero exit code as reason NonZeroExitCode with the code in
 * the ExitCode cause (which kubectl turns back into its own exit code). Before v4: nothing on
 * success, the message as text otherwise.
 */
export function errorStreamPayload(version: number, outcome: Outcome): Buffer | undefined {
  if (version >= 4) {
    if ('exitCode' in outcome && outcome.exitCode === 0) {
      return Buffer.from(JSON.stringify({ metadata: {}, status: 'Success' }));
    }
    if ('exitCode' in outcome) {
      return Buffer.from(
        JSON.stringify({
          metadata: {},
          status: 'Failure',
          message: `command terminated with non-zero exit code: exit status ${outcome.exitCode}`,
          reason: 'NonZeroExitCode',
          details: { causes: [{ reason: 'ExitCode', message: String(outcome.exitCode) }] },
        }),
      );
    }
    return Buffer.from(
      JSON.stringify({
        metadata: {},
        status: 'Failure',
        message: `Internal error occurred: ${outcome.error}`,
        reason: 'InternalError',
        details: { causes: [{ message: outcome.error }] },
        code: 500,
      }),
    );
  }
  if ('exitCode' in outcome) {
    return outcome.exitCode === 0
      ? undefined
      : Buffer.from(`command terminated with non-zero exit code: exit status ${outcome.exitCode}`);
  }
  return Buffer.from(outcome.error);
}

/**
 * Splits the resize stream into its JSON documents ({"Width":80,"Height":24}), which the Go
 * client writes back to back with a json.Encoder; a malformed document is skipped.
 */
export class ResizeDecoder {
  private text = '';

  push(chunk: Buffer | string): TerminalSize[] {
    this.text += chunk.toString();
    const sizes: TerminalSize[] = [];
    for (;;) {
      const start = this.text.indexOf('{');
      if (start < 0) {
        this.text = '';
        break;
      }
      const end = this.text.indexOf('}', start);
      if (end < 0) {
        this.text = this.text.slice(start);
        break;
      }
      const doc = this.text.slice(start, end + 1);
      this.text = this.text.slice(end + 1);
      try {
        const v = JSON.parse(doc) as { Width?: unknown; Height?: unknown };
        const width = Number(v.Width);
        const height = Number(v.Height);
        if (
          Number.isInteger(width) &&
          Number.isInteger(height) &&
          width > 0 &&
          height > 0 &&
          width < 65536 &&
          height < 65536
        )
          sizes.push({ width, height });
      } catch {
        // Not a size document.
      }
    }
    return sizes;
  }
}

/**
 * Resize events for a session. The client sends the first size as soon as it connected, before
 * the command runs: a listener that comes later gets the latest size at once.
 */
export class ResizeEvents {
  private latest?: TerminalSize;
  private readonly listeners: ((size: TerminalSize) => void)[] = [];

  emit(size: TerminalSize): void {
    this.latest = size;
    for (const l of this.listeners) l(size);
  }

  listen(listener: (size: TerminalSize) => void): void {
    this.listeners.push(listener);
    if (this.latest) listener(this.latest);
  }
}

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** How much output may wait for a slow client before the source is asked to pause. */
export const OUTPUT_HIGH_WATER_MARK = 256 * 1024;

/**
 * One remote command session as the runtime side sees it, whatever the transport: the
 * client's stdin (ending when the client closes it), where output goes, resize events, and
 * the client's departure.
 */
export interface StreamIO {
  readonly tty: boolean;
  readonly stdin?: NodeJS.ReadableStream;
  /** Queues output for the client; false when the client's side is full: the source should
   * pause until drained() resolves (the data was still taken). */
  write(stream: 'stdout' | 'stderr', data: Buffer): boolean;
  /** Resolves once the client's side can take more output, or the client is gone. */
  drained(): Promise<void>;
  onResize(listener: (size: TerminalSize) => void): void;
  /** Resolves when the client is gone (the connection closed). */
  readonly clientGone: Promise<void>;
}

/** Runs the command of a session; resolves with its outcome once it ended. */
export type RemoteCommandRunner = (io: StreamIO) => Promise<Outcome>;

/** The kubelet's checks of a request's streams: at least one, and no stderr beside a terminal
 * (a terminal has only one output). Returns the problem, if any. */
export function streamOptionsProblem(o: StreamOptions): string | undefined {
  if (!o.stdin && !o.stdout && !o.stderr) return 'one of stdin, stdout, or stderr must be set';
  if (o.tty && o.stderr) return 'tty and stderr cannot both be true';
  return undefined;
}
