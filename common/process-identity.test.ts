import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnProcess } from './spawn';
import { identify, isRunning } from './process-identity';

describe('process identity', () => {
  it('identifies a live process and sees it end', async () => {
    const child = spawnProcess('/bin/sleep', ['30']);
    try {
      const id = await identify(child.pid);
      expect(id).toEqual({ pid: child.pid, startTime: expect.stringMatching(/^\d+$/) });
      expect(await isRunning(id!)).toBe(true);
      // Another start time at the same pid is another process.
      expect(await isRunning({ pid: child.pid, startTime: '1' })).toBe(false);
      child.kill('SIGKILL');
      await child.exit;
      expect(await isRunning(id!)).toBe(false);
      expect(await identify(child.pid)).toBeUndefined();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reads the start time after a command name with spaces and parentheses', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-identity-'));
    const odd = path.join(dir, 'a) b (c');
    fs.copyFileSync('/bin/sleep', odd);
    fs.chmodSync(odd, 0o755);
    const child = spawnProcess(odd, ['30']);
    try {
      const id = await identify(child.pid);
      const plain = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      expect(plain).toContain('(a) b (c)');
      expect(id?.startTime).toBe(plain.split(' ').slice(-52 + 21)[0]);
    } finally {
      child.kill('SIGKILL');
      await child.exit;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not count a zombie as running', async () => {
    // The backgrounded child exits at once and stays a zombie: its parent never waits.
    const parent = spawnProcess('/bin/sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], {
      stdio: ['ignore', 'pipe'],
    });
    try {
      const zombie = await new Promise<number>((resolve) =>
        parent.stdio[1]!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
      );
      for (let i = 0; i < 100 && !/^\d+ \(.*\) Z/.test(readStat(zombie)); i++) await sleep(10);
      expect(readStat(zombie)).toMatch(/\) Z /);
      expect(await identify(zombie)).toBeUndefined();
    } finally {
      parent.kill('SIGKILL');
      await parent.exit;
    }
  });
});

function readStat(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return '';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
