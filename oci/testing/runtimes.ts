/**
 * The OCI runtimes the monitor's tests run against, found and probed once: a runtime whose
 * binary is absent, or that cannot create a container on this host, is reported and skipped
 * visibly; what a present runtime cannot do yet (exec, memory limits) skips only those tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { NATIVE_BIN, NATIVE_DIR } from '../../native/testing/proc';
import { baseSpec, makeRootfs, makeTempDir, writeBundle } from '../../native/testing/bundle';

import { removeCgroups } from '../../common/testing/kernel';

export { cgroupDirs, removeCgroups } from '../../common/testing/kernel';

export interface TestRuntime {
  name: string;
  path: string;
  /** Why the runtime's tests are skipped, or undefined when they run. */
  skip?: string;
  canExec: boolean;
  appliesMemoryLimit: boolean;
}

const CANDIDATES: { name: string; path: () => string }[] = [
  { name: 'berth-runtime', path: () => path.join(NATIVE_BIN, 'berth-runtime') },
  { name: 'runc', path: () => '/usr/sbin/runc' },
  { name: 'crun', path: () => '/usr/bin/crun' },
];

const HUGETLB = '/sys/fs/cgroup/hugetlb';

/**
 * crun refuses a hybrid cgroup host (v1 controllers, cgroup2 mounted beside them) until the
 * hugetlb controller has a v1 hierarchy of its own. Mounts one when it is missing and returns
 * the undo (a no-op when nothing was mounted or the mount failed; crun's probe then says why).
 * The undo must run after the test cgroups are removed: a v1 hierarchy unmounted with groups
 * in it lives on, hidden, and shows them again at the next mount.
 */
export function mountHugetlbForCrun(): () => void {
  if (fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${HUGETLB} `)) return () => undefined;
  const made = !fs.existsSync(HUGETLB);
  try {
    if (made) fs.mkdirSync(HUGETLB);
    execFileSync('mount', ['-t', 'cgroup', '-o', 'hugetlb', 'cgroup', HUGETLB], { stdio: 'ignore' });
  } catch {
    if (made) fs.rmdirSync(HUGETLB);
    return () => undefined;
  }
  return () => {
    execFileSync('umount', [HUGETLB]);
    if (made) fs.rmdirSync(HUGETLB);
  };
}

/** Creates (never starts) a container with a memory limit, to learn whether the runtime works
 * here and applies the limit; removes all it made. */
function probe(name: string, bin: string): Pick<TestRuntime, 'skip' | 'appliesMemoryLimit'> {
  const work = makeTempDir('berth-monitor-probe-');
  const parent = `berth-monitor-probe-${process.pid}`;
  const id = `probe-${name}-${process.pid}`;
  const root = path.join(work, 'state');
  try {
    const spec = baseSpec(makeRootfs(work), ['true']);
    spec.linux.cgroupsPath = `/${parent}/${id}`;
    spec.linux.resources = { memory: { limit: 64 << 20 } };
    const bundle = writeBundle(work, 'bundle', spec);
    // The runtime hands its stdio to the waiting container, so a pipe would never see EOF.
    const errPath = path.join(work, 'stderr');
    const errFd = fs.openSync(errPath, 'w');
    let r;
    try {
      r = spawnSync(bin, ['--root', root, 'create', '--bundle', bundle, id], {
        stdio: ['ignore', 'ignore', errFd],
        timeout: 30000,
      });
    } finally {
      fs.closeSync(errFd);
    }
    if (r.status !== 0) {
      const text = fs.readFileSync(errPath, 'utf8').trim();
      return { skip: `\`${name} create\` fails on this host: ${text}`, appliesMemoryLimit: false };
    }
    let limit = '';
    try {
      limit = fs.readFileSync(`/sys/fs/cgroup/memory/${parent}/${id}/memory.limit_in_bytes`, 'utf8').trim();
    } catch {
      limit = '';
    }
    return { appliesMemoryLimit: limit === String(64 << 20) };
  } finally {
    spawnSync(bin, ['--root', root, 'delete', '--force', id], { stdio: 'ignore', timeout: 30000 });
    try {
      removeCgroups(parent);
    } catch {
      // Nothing was created.
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Builds berth-monitor alone: the other programs are built by `npm run build`, and a runtime
 * in the middle of its own changes should not keep the monitor's tests from running. */
export function buildMonitor(): void {
  execFileSync('make', ['-s', '-C', NATIVE_DIR, 'bin/berth-monitor'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** The runtimes, probed with the host prepared as the tests prepare it (mountHugetlbForCrun),
 * and left as it was found. */
export function testRuntimes(): TestRuntime[] {
  buildMonitor();
  const unmount = mountHugetlbForCrun();
  try {
    return CANDIDATES.map(({ name, path: where }) => {
      const bin = where();
      if (!fs.existsSync(bin))
        return {
          name,
          path: bin,
          skip: `${bin} is not installed`,
          canExec: false,
          appliesMemoryLimit: false,
        };
      const help = spawnSync(bin, ['--help'], { encoding: 'utf8' });
      const canExec = /^\s+exec\b/m.test(`${help.stdout}${help.stderr}`);
      return { name, path: bin, canExec, ...probe(name, bin) };
    });
  } finally {
    unmount();
  }
}
