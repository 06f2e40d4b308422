import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExecError, run } from './exec';
import { spawnProcess } from './spawn';

const openDescriptors = () => fs.readdirSync('/proc/self/fd').length;

describe('spawnProcess', () => {
  it('reports the exit status and the signal that ended a process', async () => {
    expect(await spawnProcess('/bin/sh', ['-c', 'exit 7']).exit).toEqual({ code: 7, signal: null });
    const sleeper = spawnProcess('/bin/sleep', ['60']);
    sleeper.kill('SIGKILL');
    expect(await sleeper.exit).toEqual({ code: null, signal: 'SIGKILL' });
    sleeper.kill('SIGKILL'); // reaped: a no-op, never a signal to a reused pid
  });

  it('connects pipes both ways and passes argv, env and cwd', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-spawn-'));
    try {
      const child = spawnProcess('/bin/sh', ['-c', 'read line; echo "$line $FOO $(pwd) $0"; echo oops >&2'], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { FOO: 'bar' },
        cwd: dir,
      });
      child.stdio[0]!.end('hello\n');
      const read = (i: number) =>
        new Promise<string>((resolve) => {
          let text = '';
          child.stdio[i]!.on('data', (d: Buffer) => (text += d.toString())).on('close', () => resolve(text));
        });
      const [out, err, exit] = await Promise.all([read(1), read(2), child.exit]);
      expect(out).toBe(`hello bar ${dir} /bin/sh\n`);
      expect(err).toBe('oops\n');
      expect(exit.code).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives the child default signal dispositions and an empty mask, not the daemon ones', async () => {
    // Node ignores SIGPIPE; a child that inherited that would not die writing to a closed pipe.
    const { stdout } = await run('/bin/sh', ['-c', 'grep -E "^Sig(Ign|Blk)" /proc/self/status']);
    const mask = (name: string) => BigInt('0x' + new RegExp(`${name}:\\s+(\\w+)`).exec(stdout)![1]);
    expect(mask('SigBlk')).toBe(0n);
    // Signals 1 to 31 (SIGPIPE is 13); glibc keeps 32 and 33 for itself.
    expect(mask('SigIgn') & 0x7fffffffn).toBe(0n);
  });

  it('maps a descriptor of the daemon onto a child descriptor above stderr', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-spawn-'));
    const file = path.join(dir, 'out');
    const fd = fs.openSync(file, 'w');
    try {
      const child = spawnProcess('/bin/sh', ['-c', 'echo to-three >&3'], {
        stdio: ['ignore', 'ignore', 'ignore', fd],
      });
      expect((await child.exit).code).toBe(0);
      expect(fs.readFileSync(file, 'utf8')).toBe('to-three\n');
    } finally {
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts a detached child in a session of its own', async () => {
    const { stdout } = await run('/bin/sh', ['-c', 'cut -d" " -f6 /proc/$$/stat; echo $$']);
    // Without detached the shell is in the test's session; a detached one leads its own.
    const [sessionOf, pid] = stdout.trim().split('\n');
    expect(sessionOf).not.toBe(pid);
    const child = spawnProcess('/bin/sh', ['-c', 'cut -d" " -f6 /proc/$$/stat; echo $$'], {
      stdio: ['ignore', 'pipe'],
      detached: true,
    });
    let text = '';
    const closed = new Promise((resolve) =>
      child.stdio[1]!.on('data', (d: Buffer) => (text += d.toString())).on('close', resolve),
    );
    await Promise.all([child.exit, closed]);
    const [session, own] = text.trim().split('\n');
    expect(session).toBe(own);
  });

  it('throws the errno of a program that cannot be started, leaking nothing', () => {
    const before = openDescriptors();
    expect(() => spawnProcess('/nonexistent/program', [], { stdio: ['pipe', 'pipe', 'pipe'] })).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
    expect(() => spawnProcess('berth-no-such-program-in-path', [])).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
    expect(openDescriptors()).toBe(before);
  });

  it('runs many processes at once and closes every descriptor after them', async () => {
    const before = openDescriptors();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => run('/bin/sh', ['-c', `echo ${i}; exit 0`])),
    );
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 40 }, (_, i) => `${i}\n`));
    // Sockets close on the next turns of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(openDescriptors()).toBe(before);
  });
});

describe('run', () => {
  it('returns stdout and stderr and feeds the input', async () => {
    expect(await run('/bin/sh', ['-c', 'cat; echo e >&2'], { input: 'in' })).toEqual({
      stdout: 'in',
      stderr: 'e\n',
    });
  });

  it('fails with the program stderr, its status and output', async () => {
    const err = await run('/bin/sh', ['-c', 'echo partial; echo "bad thing" >&2; exit 3']).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ExecError);
    expect(err).toMatchObject({ exitCode: 3, stdout: 'partial\n', message: '/bin/sh -c: bad thing' });
    const silent = await run('/bin/sh', ['-c', 'kill -9 $$']).catch((e: unknown) => e);
    expect((silent as ExecError).message).toBe('/bin/sh -c: killed by SIGKILL');
  });

  it('kills a program that outlives its timeout', async () => {
    const started = Date.now();
    const err = await run('/bin/sleep', ['30'], { timeoutMs: 100 }).catch((e: unknown) => e);
    expect((err as ExecError).message).toBe('/bin/sleep 30: timed out after 100 ms');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('fails clearly when the program does not exist', async () => {
    await expect(run('/nonexistent/program', ['x'])).rejects.toThrow(/\/nonexistent\/program x: .*ENOENT/);
  });
});
