import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export class SocketInUseError extends Error {}

/**
 * Makes `socketPath` free to bind: removes a stale socket left by a daemon that died, and refuses
 * when a live daemon still answers on it (two daemons on one socket would split the node's state).
 * Anything at the path that is not a socket is left alone and refused.
 */
export async function claimSocketPath(socketPath: string): Promise<void> {
  let stat;
  try {
    stat = await fs.lstat(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      await fs.mkdir(path.dirname(socketPath), { recursive: true, mode: 0o711 });
      return;
    }
    throw err;
  }
  if (!stat.isSocket()) {
    throw new SocketInUseError(`${socketPath} exists and is not a socket; refusing to replace it`);
  }
  if (await isListening(socketPath)) {
    throw new SocketInUseError(`another daemon is already serving ${socketPath}; refusing to start`);
  }
  await fs.rm(socketPath, { force: true });
}

/** Whether something accepts connections on the unix socket. */
export function isListening(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.connect(socketPath);
    conn.once('connect', () => {
      conn.destroy();
      resolve(true);
    });
    conn.once('error', () => resolve(false));
  });
}
