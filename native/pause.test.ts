import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  NATIVE_BIN,
  NATIVE_DIR,
  buildNative,
  catchesSignal,
  childrenOf,
  killPid,
  procStat,
  waitFor,
} from './testing/proc';

const PAUSE = path.join(NATIVE_BIN, 'berth-pause');

interface Init {
  unshare: ChildProcess;
  /** Host pid of the namespace's PID 1. */
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: number[] = [];

/** Runs argv as PID 1 of a new pid namespace; unshare waits for it and passes on its exit status. */
async function startInit(argv: string[]): Promise<Init> {
  const unshare = spawn('unshare', ['--pid', '--fork', '--kill-child', '--', ...argv], {
    stdio: 'ignore',
  });
  if (unshare.pid === undefined) throw new Error('unshare did not start');
  started.push(unshare.pid);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    unshare.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const unsharePid = unshare.pid;
  const pid = await waitFor('the namespace init', () => childrenOf(unsharePid)[0]);
  started.push(pid);
  const name = path.basename(argv[0]).slice(0, 15);
  await waitFor(`${name} to exec`, () => procStat(pid)?.comm === name);
  return { unshare, pid, exited };
}

/** Leaves a process whose parent has exited inside the namespace, so that it is re-parented to
 * the namespace's init, and returns once that has happened. */
async function orphanInside(init: Init, seconds: number): Promise<number> {
  // stdio is ignored so that the background sleep holds no pipe that would make us wait for it.
  execFileSync('nsenter', ['-t', String(init.pid), '-p', '--', 'sh', '-c', `sleep ${seconds} & exit 0`], {
    stdio: 'ignore',
  });
  return waitFor('the orphan to be re-parented', () =>
    childrenOf(init.pid).find((c) => procStat(c)?.comm === 'sleep'),
  );
}

afterEach(() => {
  // The unshare processes were started with --kill-child; killing both is belt and braces.
  for (const pid of started.splice(0).reverse()) killPid(pid);
});

beforeAll(() => buildNative());

describe('berth-pause', () => {
  test('-v prints the version of the project', () => {
    const version = JSON.parse(fs.readFileSync(path.join(NATIVE_DIR, '..', 'package.json'), 'utf8')).version;
    expect(execFileSync(PAUSE, ['-v'], { encoding: 'utf8' })).toBe(`berth-pause ${version}\n`);
  });

  test('rejects unknown arguments', () => {
    expect(() => execFileSync(PAUSE, ['--bogus'], { stdio: 'ignore' })).toThrow();
  });

  test('is a static executable: no PT_INTERP and no PT_DYNAMIC program header', () => {
    const elf = fs.readFileSync(PAUSE);
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf[4]).toBe(2); // ELFCLASS64
    expect(elf[5]).toBe(1); // little endian
    const phoff = Number(elf.readBigUInt64LE(0x20));
    const phentsize = elf.readUInt16LE(0x36);
    const phnum = elf.readUInt16LE(0x38);
    const types: number[] = [];
    for (let i = 0; i < phnum; i++) types.push(elf.readUInt32LE(phoff + i * phentsize));
    expect(types.length).toBeGreaterThan(0);
    expect(types).not.toContain(3); // PT_INTERP
    expect(types).not.toContain(2); // PT_DYNAMIC
    const ldd = spawnSync('ldd', [PAUSE], { encoding: 'utf8' });
    expect(ldd.stdout + ldd.stderr).toMatch(/not a dynamic executable/);
  });

  test('as PID 1 it stays alive and reaps orphans re-parented to it', async () => {
    const init = await startInit([PAUSE]);
    await waitFor('the SIGCHLD handler', () => catchesSignal(init.pid, os.constants.signals.SIGCHLD));
    const orphan = await orphanInside(init, 0.3);
    // Once the orphan exits nothing remains under pause: not even a zombie.
    await waitFor('the orphan to be reaped', () => childrenOf(init.pid).length === 0 && !procStat(orphan));
    expect(procStat(init.pid)?.state).toMatch(/[SR]/);
  });

  test('the zombie check detects an init that does not reap (control)', async () => {
    const init = await startInit(['/bin/sleep', '60']);
    const orphan = await orphanInside(init, 0.1);
    await waitFor('the orphan to become a zombie', () => procStat(orphan)?.state === 'Z');
    expect(childrenOf(init.pid)).toContain(orphan);
  });

  test.each(['SIGTERM', 'SIGINT'] as const)('%s makes it exit with status 0', async (signal) => {
    const init = await startInit([PAUSE]);
    await waitFor(`the ${signal} handler`, () => catchesSignal(init.pid, os.constants.signals[signal]));
    process.kill(init.pid, signal);
    expect(await init.exited).toEqual({ code: 0, signal: null });
  });
});
