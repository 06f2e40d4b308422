import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mountsUnder, removeTempDir } from './testing/kernel';
import { mount, MS_NODEV, MS_NOEXEC, MS_NOSUID, unmountIfMounted } from './mounts';

describe('mount and unmountIfMounted', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-mounts-'));
  });

  afterEach(() => removeTempDir(dir));

  it('mounts a tmpfs with flags and data, then unmounts it', async () => {
    const target = path.join(dir, 'shm');
    fs.mkdirSync(target);
    await mount('shm', target, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, 'mode=1777,size=1m');
    const line = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === target);
    expect(line).toMatch(/nosuid,nodev,noexec/);
    expect(line).toMatch(/ - tmpfs shm rw,size=1024k/);
    expect(fs.statSync(target).mode & 0o7777).toBe(0o1777);
    await unmountIfMounted(target);
    expect(mountsUnder(dir)).toEqual([]);
  });

  it('unmounts stacked mounts, and is fine with nothing mounted or no directory', async () => {
    const target = path.join(dir, 'stack');
    fs.mkdirSync(target);
    await mount('one', target, 'tmpfs', 0, null);
    await mount('two', target, 'tmpfs', 0, null);
    expect(mountsUnder(dir).length).toBe(2);
    await unmountIfMounted(target);
    expect(mountsUnder(dir)).toEqual([]);
    await unmountIfMounted(target);
    await unmountIfMounted(path.join(dir, 'missing'));
  });

  it('rejects with the errno of a failed mount', async () => {
    const target = path.join(dir, 'bad');
    fs.mkdirSync(target);
    await expect(mount('x', target, 'no-such-filesystem', 0, null)).rejects.toMatchObject({
      code: 'ENODEV',
      syscall: 'mount',
    });
    await expect(mount('x', path.join(dir, 'missing'), 'tmpfs', 0, null)).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(mountsUnder(dir)).toEqual([]);
  });
});
