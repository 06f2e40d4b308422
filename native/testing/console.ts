/** The receiving end of --console-socket for tests: a small C program (node cannot receive
 * file descriptors over a unix socket), built with the system compiler on first use. */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const SOURCE = path.join(__dirname, 'console-receiver.c');

/** Compiles the receiver into dir and returns its path. */
export function buildConsoleReceiver(dir: string): string {
  const bin = path.join(dir, 'console-receiver');
  execFileSync('gcc', ['-O2', '-Wall', '-Werror', '-o', bin, SOURCE], { stdio: ['ignore', 'ignore', 'inherit'] });
  return bin;
}

export interface ConsoleReceiver {
  socket: string;
  child: ChildProcess;
  /** The name sent with the master, and everything written to the terminal, once it closed. */
  done: Promise<{ name: string; output: string }>;
}

/** Starts a receiver listening on socket; resolves once it listens. */
export async function listenConsole(bin: string, socket: string, out: string): Promise<ConsoleReceiver> {
  const child = spawn(bin, [socket, out], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  const done = new Promise<{ name: string; output: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`console-receiver exited with ${code}`));
      const name = stdout.split('\n')[1] ?? '';
      resolve({ name, output: fs.readFileSync(out, 'utf8') });
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.startsWith('ready\n')) resolve();
    });
    child.on('exit', () => reject(new Error('console-receiver exited before it listened')));
  });
  return { socket, child, done };
}
