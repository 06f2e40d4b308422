import { type ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';

/**
 * Starts a TCP server inside a network namespace (a path such as /run/netns/NAME or a pinned
 * pod netns) that answers `greeting` to every connection and closes it. Resolves once it
 * listens; the caller ends the returned process (by pid) when done.
 */
export async function serveInNetns(netnsPath: string, port: number, greeting: string): Promise<ChildProcess> {
  const program = `require('net').createServer((s) => s.end(${JSON.stringify(greeting)})).listen(${port}, () => console.log('ready'))`;
  const child = spawn('nsenter', [`--net=${netnsPath}`, process.execPath, '-e', program], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`server in ${netnsPath} exited with ${code}`)));
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return child;
}

/** Connects, reads until the server closes, and returns what it sent. */
export function fetchTcp(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, timeout: 3000 });
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('timeout', () => socket.destroy(new Error(`timed out connecting to ${host}:${port}`)));
    socket.on('error', reject);
  });
}
