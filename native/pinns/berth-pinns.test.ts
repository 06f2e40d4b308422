import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mountsUnder, removeTempDir } from '../../common/testing/kernel';
import { NATIVE_BIN, buildNative, childrenOf, killPid, waitFor } from '../testing/proc';

const PINNS = path.join(NATIVE_BIN, 'berth-pinns');

let dir: string;
const started: ChildProcess[] = [];

beforeAll(() => buildNative());

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-pinns-'));
});

afterEach(() => {
  for (const child of started.splice(0)) killPid(child.pid);
  removeTempDir(dir);
});

function pinns(...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(PINNS, args, { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

function inNetns(file: string, ...argv: string[]): string {
  return execFileSync('nsenter', [`--net=${file}`, '--', ...argv], { encoding: 'utf8' });
}

/** Everything under the temp dir: pinned files and the directories holding them. */
function filesUnder(root: string): string[] {
  return fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).sort();
}

/** Starts `sleep` as PID 1 of a new pid namespace and returns its host pid. */
async function processInNewPidNamespace(): Promise<number> {
  const unshare = spawn('unshare', ['--pid', '--fork', '--kill-child', '--', 'sleep', '60'], {
    stdio: 'ignore',
  });
  if (unshare.pid === undefined) throw new Error('unshare did not start');
  started.push(unshare);
  const unsharePid = unshare.pid;
  return waitFor('the namespace init', () => childrenOf(unsharePid)[0]);
}

describe('berth-pinns pin', () => {
  test('a new network namespace comes with lo up and 127.0.0.1; unpin releases it', () => {
    expect(pinns('pin', '-d', dir, '-i', 'pod-a', '-n', '-u', '-H', 'pod-a')).toEqual({ status: 0, stderr: '' });
    const net = path.join(dir, 'net', 'pod-a');
    const uts = path.join(dir, 'uts', 'pod-a');
    expect(mountsUnder(dir).sort()).toEqual([net, uts]);
    expect(fs.statSync(net).ino).not.toBe(fs.statSync('/proc/self/ns/net').ino);

    expect(inNetns(net, 'ip', '-o', 'link', 'show', 'lo')).toMatch(/<LOOPBACK,UP,LOWER_UP>/);
    expect(inNetns(net, 'ip', '-o', '-4', 'addr', 'show', 'lo')).toContain('inet 127.0.0.1/8');
    // Loopback carries traffic: a datagram to 127.0.0.1 is delivered back inside the namespace.
    const echo = inNetns(
      net,
      process.execPath,
      '-e',
      `const s = require('dgram').createSocket('udp4');
       s.on('message', (m) => { process.stdout.write(String(m)); s.close(); });
       s.bind(0, '127.0.0.1', () => s.send('over lo', s.address().port, '127.0.0.1'));`,
    );
    expect(echo).toBe('over lo');

    expect(pinns('unpin', net, uts)).toEqual({ status: 0, stderr: '' });
    expect(mountsUnder(dir)).toEqual([]);
    expect(filesUnder(dir)).toEqual(['net', 'uts']);
  });

  test('a failing step leaves nothing pinned', () => {
    const r = pinns('pin', '-d', dir, '-i', 'pod-b', '-n', '-c', '-s', 'net.no.such.key=1');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('sysctl `net.no.such.key=1`');
    expect(mountsUnder(dir)).toEqual([]);
    expect(filesUnder(dir)).toEqual(['ipc', 'net']);
  });
});

describe('berth-pinns pin-pid', () => {
  test("pins a process's pid namespace beyond its life; unpin removes it", async () => {
    const pid = await processInNewPidNamespace();
    const nsIno = fs.statSync(`/proc/${pid}/ns/pid`).ino;
    expect(nsIno).not.toBe(fs.statSync('/proc/self/ns/pid').ino);

    expect(pinns('pin-pid', '-d', dir, '-i', 'pod-c', '-p', String(pid))).toEqual({ status: 0, stderr: '' });
    const file = path.join(dir, 'pid', 'pod-c');
    expect(mountsUnder(dir)).toEqual([file]);
    expect(fs.statSync(file).ino).toBe(nsIno);

    // The namespace outlives the process that made it.
    for (const child of started.splice(0)) killPid(child.pid);
    await waitFor('the namespace init to exit', () => !fs.existsSync(`/proc/${pid}`));
    expect(fs.statSync(file).ino).toBe(nsIno);

    expect(pinns('unpin', file)).toEqual({ status: 0, stderr: '' });
    expect(mountsUnder(dir)).toEqual([]);
    expect(fs.existsSync(file)).toBe(false);
    // Unpinning what is already gone is fine.
    expect(pinns('unpin', file).status).toBe(0);
  });

  test('a gone process or a taken ID fails and leaves the pins as they were', async () => {
    const gone = spawnSync('true').pid;
    const r = pinns('pin-pid', '-d', dir, '-i', 'pod-d', '-p', String(gone));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`/proc/${gone}/ns/pid`);
    expect(filesUnder(dir)).toEqual(['pid']);

    const pid = await processInNewPidNamespace();
    expect(pinns('pin-pid', '-d', dir, '-i', 'pod-d', '-p', String(pid)).status).toBe(0);
    const file = path.join(dir, 'pid', 'pod-d');
    const taken = pinns('pin-pid', '-d', dir, '-i', 'pod-d', '-p', String(process.pid));
    expect(taken.status).toBe(1);
    expect(taken.stderr).toContain('File exists');
    expect(mountsUnder(dir)).toEqual([file]);
    expect(fs.statSync(file).ino).toBe(fs.statSync(`/proc/${pid}/ns/pid`).ino);
    expect(pinns('unpin', file).status).toBe(0);
  });

  test.each([
    [['-d', 'DIR', '-i', 'pod-e']],
    [['-d', 'DIR', '-i', '..', '-p', '1']],
    [['-d', 'DIR', '-i', 'a/b', '-p', '1']],
    [['-d', 'DIR', '-i', 'pod-e', '-p', '0']],
    [['-d', 'DIR', '-i', 'pod-e', '-p', '12x']],
  ])('refuses a malformed command line %j', (args) => {
    const r = pinns('pin-pid', ...args.map((a) => (a === 'DIR' ? dir : a)));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('usage:');
    expect(filesUnder(dir)).toEqual([]);
  });
});
