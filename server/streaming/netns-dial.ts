/**
 * Connections to a port inside a pod's network namespace, through native/bin/berth-netns-connect
 * (node cannot enter a namespace): the helper connects there and relays over its stdin/stdout.
 * A failure (nothing listening, the namespace gone) is the stream's 'error' with the helper's
 * message.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import * as path from 'node:path';
import { Duplex, type Readable, type Writable } from 'node:stream';
import { packageRoot } from '../../common/package-root';

export function netnsConnectBinary(): string {
  return path.join(packageRoot(), 'native', 'bin', 'berth-netns-connect');
}

class NetnsConnection extends Duplex {
  private stderr = '';

  constructor(private readonly child: ChildProcessByStdio<Writable, Readable, Readable>) {
    // Closed when the helper exited (not when both directions ended), so that its failure,
    // known only then, is reported as 'error' before 'close'.
    super({ allowHalfOpen: true, autoDestroy: false });
    child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.stdout.on('end', () => this.push(null));
    child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    child.stdin.on('error', () => undefined); // the helper is gone: its exit says why
    child.on('error', (err) => this.destroy(err));
    child.on('close', (code, signal) => {
      if (this.destroyed) return;
      if (code === 0) return void this.destroy();
      const why =
        this.stderr.trim().replace(/^berth-netns-connect: /, '') || `helper ended (${code ?? signal})`;
      this.destroy(new Error(why));
    });
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.child.stdin.write(chunk, () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.child.stdin.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    callback(error);
  }
}

/** A connection to 127.0.0.1:port in the network namespace pinned at netnsPath. */
export function dialInNetns(netnsPath: string, port: number, binary = netnsConnectBinary()): Duplex {
  const child = spawn(binary, [netnsPath, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  return new NetnsConnection(child);
}
