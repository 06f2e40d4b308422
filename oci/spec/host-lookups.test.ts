import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../../common/errors';
import { capabilitiesOfMask } from './capabilities';
import {
  listDevices,
  probeHostFeatures,
  propagationFromMountinfo,
  resolveHostPath,
  resolveInRoot,
  rootfsFileReader,
  splitDev,
  statHostDevice,
} from './host-lookups';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-spec-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('reading files of the rootfs', () => {
  test('symlinks resolve inside the rootfs, never to the host', () => {
    const root = path.join(dir, 'rootfs');
    fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
    fs.mkdirSync(path.join(root, 'data'));
    fs.writeFileSync(path.join(root, 'data/passwd'), 'app:x:1:1::/:/bin/sh\n');
    fs.symlinkSync('/data/passwd', path.join(root, 'etc/passwd')); // absolute: inside the root
    fs.symlinkSync('../../../../../../etc/hostname', path.join(root, 'etc/group')); // climbs: clamped
    fs.symlinkSync('loop', path.join(root, 'etc/loop'));

    const read = rootfsFileReader(root);
    expect(read('/etc/passwd')).toBe('app:x:1:1::/:/bin/sh\n');
    expect(resolveInRoot(root, '/etc/group')).toBe(path.join(root, 'etc/hostname'));
    expect(read('/etc/group')).toBeUndefined();
    expect(read('/etc/missing')).toBeUndefined();
    expect(() => read('/etc/loop')).toThrow(InvalidArgumentError);
  });

  test('a FIFO or directory is not read (and does not block)', () => {
    fs.mkdirSync(path.join(dir, 'etc'));
    execFileSync('mkfifo', [path.join(dir, 'etc/passwd')]);
    const read = rootfsFileReader(dir);
    expect(read('/etc/passwd')).toBeUndefined();
    expect(read('/etc')).toBeUndefined();
  });
});

describe('devices', () => {
  test('/dev/null is c 1:3', () => {
    const st = fs.statSync('/dev/null');
    expect(statHostDevice('/dev/null')).toEqual({
      type: 'c',
      major: 1,
      minor: 3,
      fileMode: st.mode & 0o777,
      uid: st.uid,
      gid: st.gid,
    });
    expect(statHostDevice(path.join(dir, 'none'))).toBeUndefined();
    expect(() => statHostDevice(dir)).toThrow(InvalidArgumentError);
  });

  test('dev_t split for large numbers, as glibc makedev builds them', () => {
    const makedev = (major: bigint, minor: bigint) =>
      ((major & 0xfffn) << 8n) |
      ((major & 0xfffff000n) << 32n) |
      (minor & 0xffn) |
      ((minor & 0xffffff00n) << 12n);
    expect(splitDev(makedev(259n, 1n))).toEqual({ major: 259, minor: 1 });
    expect(splitDev(makedev(4101n, 300000n))).toEqual({ major: 4101, minor: 300000 });
  });

  test('listDevices walks a /dev tree, skipping pts, shm, symlinks and the console', () => {
    fs.mkdirSync(path.join(dir, 'pts'));
    fs.mkdirSync(path.join(dir, 'net'));
    execFileSync('mknod', [path.join(dir, 'null'), 'c', '1', '3']);
    execFileSync('mknod', [path.join(dir, 'net/tun'), 'c', '10', '200']);
    execFileSync('mknod', [path.join(dir, 'loop9'), 'b', '7', '9']);
    execFileSync('mknod', [path.join(dir, 'pts/0'), 'c', '136', '0']);
    execFileSync('mknod', [path.join(dir, 'console'), 'c', '5', '1']);
    fs.symlinkSync('null', path.join(dir, 'alias'));
    const devices = listDevices(dir).sort((a, b) => a.path.localeCompare(b.path));
    expect(devices.map((d) => [d.path, d.type, d.major, d.minor])).toEqual([
      ['/dev/loop9', 'b', 7, 9],
      ['/dev/net/tun', 'c', 10, 200],
      ['/dev/null', 'c', 1, 3],
    ]);
  });
});

describe('host paths and propagation', () => {
  test('resolveHostPath follows symlinks; missing is NotFound', () => {
    fs.mkdirSync(path.join(dir, 'real'));
    fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
    expect(resolveHostPath(path.join(dir, 'link'))).toBe(fs.realpathSync(path.join(dir, 'real')));
    expect(() => resolveHostPath(path.join(dir, 'gone'))).toThrow(NotFoundError);
    expect(() => resolveHostPath('relative')).toThrow(InvalidArgumentError);
  });

  test('resolveHostPath with createMissing makes a missing path a directory, parents too', () => {
    const missing = path.join(dir, 'link', 'a', 'b');
    fs.mkdirSync(path.join(dir, 'real'));
    fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
    expect(resolveHostPath(missing, { createMissing: true })).toBe(
      fs.realpathSync(path.join(dir, 'real', 'a', 'b')),
    );
    expect(fs.statSync(path.join(dir, 'real', 'a', 'b')).isDirectory()).toBe(true);
    fs.writeFileSync(path.join(dir, 'file'), '');
    expect(resolveHostPath(path.join(dir, 'file'), { createMissing: true })).toBe(
      fs.realpathSync(path.join(dir, 'file')),
    );
  });

  const mountinfo = [
    '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
    '30 22 0:25 / /run rw,nosuid shared:5 - tmpfs tmpfs rw',
    '40 30 0:26 / /run/private rw - tmpfs tmpfs rw',
    '41 22 0:27 / /mnt/slave rw master:7 - tmpfs tmpfs rw',
    '42 22 0:28 / /mnt/both rw shared:9 master:7 - tmpfs tmpfs rw',
    '43 22 0:29 / /mnt/with\\040space rw - tmpfs tmpfs rw',
  ].join('\n');

  test.each([
    ['/', 'shared'],
    ['/srv/data', 'shared'],
    ['/run/x', 'shared'],
    ['/run/private/x', 'private'],
    ['/run/privateer', 'shared'],
    ['/mnt/slave/a', 'slave'],
    ['/mnt/both', 'shared'],
    ['/mnt/with space/a', 'private'],
  ])('%s is on a %s mount', (file, expected) => {
    expect(propagationFromMountinfo(mountinfo, file)).toBe(expected);
  });

  test('a mount made private here reads as private from the real mountinfo', () => {
    const target = path.join(dir, 'm');
    fs.mkdirSync(target);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', target]);
    try {
      execFileSync('mount', ['--make-private', target]);
      const info = fs.readFileSync('/proc/self/mountinfo', 'utf8');
      expect(propagationFromMountinfo(info, path.join(target, 'x'))).toBe('private');
      execFileSync('mount', ['--make-shared', target]);
      expect(propagationFromMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'), target)).toBe(
        'shared',
      );
    } finally {
      spawnSync('umount', [target]);
    }
  });
});

test('probeHostFeatures reads this host', () => {
  const features = probeHostFeatures({
    recursiveReadOnlyMounts: true,
    apparmorDefaultProfile: 'berth-default',
  });
  expect(features.arch).toBe(process.arch);
  expect(features.kernelRelease).toBe(os.release());
  expect(features.lastCap).toBeGreaterThanOrEqual(36);
  const capBnd = /^CapBnd:\s*(\w+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1];
  expect(features.boundingCapabilities).toEqual(capabilitiesOfMask(BigInt(`0x${capBnd}`)));
  expect(Number.isInteger(features.ownOomScoreAdj)).toBe(true);
  expect(features.recursiveReadOnlyMounts).toBe(true);
  expect(probeHostFeatures({ recursiveReadOnlyMounts: false }).recursiveReadOnlyMounts).toBe(false);
});
