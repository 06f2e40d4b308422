/**
 * The runtime side of streaming sessions: exec runs the command under its own monitor, attach
 * joins the container's monitor, port forwarding dials into the pod's network namespace.
 */
import * as net from 'node:net';
import { FailedPreconditionError } from '../../common/errors';
import type { AttachSession } from '../../oci/monitor';
import type { DaemonContext } from '../context';
import { dialInNetns } from './netns-dial';
import type { PortDialer } from './portforward';
import type { Outcome, RemoteCommandRunner, StreamIO } from './protocol';
import type { StreamingBackend, StreamRequest } from './server';

export function containerStreams(ctx: Pick<DaemonContext, 'containers' | 'sandboxes'>): StreamingBackend {
  return {
    runner: (request) => (request.kind === 'exec' ? execRunner(ctx, request) : attachRunner(ctx, request)),
    dialer: async (podId) => {
      const sandbox = await ctx.sandboxes.get(podId);
      if (sandbox.state !== 'ready')
        throw new FailedPreconditionError(`pod sandbox ${sandbox.id} is not ready`);
      const netns = sandbox.namespaces.net;
      // A pod on the host's network (no namespace of its own) is reached on the host's loopback.
      const dial: PortDialer = netns
        ? (port) => dialInNetns(netns, port)
        : (port) => net.connect(port, '127.0.0.1');
      return dial;
    },
  };
}

function execRunner(
  ctx: Pick<DaemonContext, 'containers'>,
  request: Extract<StreamRequest, { kind: 'exec' }>,
): RemoteCommandRunner {
  return async (io: StreamIO): Promise<Outcome> => {
    const session = await ctx.containers.execSession(request.containerId, request.cmd, {
      tty: request.tty,
      stdin: !!io.stdin,
    });
    session.attach.onOutput(backpressuredOutput(io, () => session.attach));
    connect(io, session.attach, true);
    // The client went away: the command goes too (as containerd does), not left running alone.
    void io.clientGone.then(() => session.kill());
    return { exitCode: await session.exited };
  };
}

function attachRunner(
  ctx: Pick<DaemonContext, 'containers'>,
  request: Extract<StreamRequest, { kind: 'attach' }>,
): RemoteCommandRunner {
  return async (io: StreamIO): Promise<Outcome> => {
    // Output comes only once connected, after `attached.session` is set.
    const attached: { session?: AttachSession } = {};
    const { session, stdin } = await ctx.containers.attach(
      request.containerId,
      backpressuredOutput(io, () => attached.session),
    );
    attached.session = session;
    connect(io, session, stdin);
    // Ends when the container exits (the monitor closes) or the client leaves.
    await Promise.race([session.closed, io.clientGone.then(() => session.close())]);
    return { exitCode: 0 };
  };
}

/**
 * Output to the client, with backpressure: while the client's side is full the session stops
 * reading, so the monitor holds the output back (an exec's process blocks on its pipe; the
 * monitor drops an ordinary attach client that stays behind) instead of the daemon's memory.
 */
function backpressuredOutput(
  io: StreamIO,
  session: () => AttachSession | undefined,
): (stream: 'stdout' | 'stderr', data: Buffer) => void {
  let paused = false;
  return (stream, data) => {
    if (io.write(stream, data) || paused) return;
    const s = session();
    if (!s) return;
    paused = true;
    s.pauseOutput();
    void io.drained().then(() => {
      paused = false;
      s.resumeOutput();
    });
  };
}

/** Client stdin and resizes to the session; its output reaches the client through onOutput. */
function connect(io: StreamIO, session: AttachSession, acceptsStdin: boolean): void {
  if (io.stdin && acceptsStdin) {
    const stdin = io.stdin;
    // Backpressure: while the container does not read its stdin the monitor stops reading, and
    // the client's input waits in the client (its transport stops being read), not in the daemon.
    stdin.on('data', (chunk: Buffer) => {
      if (session.writeStdin(chunk)) return;
      stdin.pause();
      void session.stdinDrained().then(() => stdin.resume());
    });
    stdin.on('end', () => session.closeStdin());
  } else {
    io.stdin?.resume(); // read and dropped
  }
  if (io.tty) io.onResize(({ width, height }) => session.resize(height, width));
}
