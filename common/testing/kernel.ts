/**
 * Clean-up helpers for tests that touch the kernel: every test removes the cgroups and mounts it
 * made, even when it failed half-way.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Every cgroup directory named rel under the mounted hierarchies (v1 controllers, unified). */
export function cgroupDirs(rel: string): string[] {
  return fs
    .readdirSync(CGROUP_ROOT)
    .map((hierarchy) => path.join(CGROUP_ROOT, hierarchy, rel))
    .filter((dir) => fs.existsSync(dir));
}

/** The pids in a cgroup tree (the test's own processes: it made the tree). */
function pidsIn(dir: string): number[] {
  const pids: number[] = [];
  const walk = (d: string) => {
    const procs = path.join(d, 'cgroup.procs');
    if (fs.existsSync(procs))
      pids.push(...fs.readFileSync(procs, 'utf8').split('\n').filter(Boolean).map(Number));
    for (const child of fs.readdirSync(d, { withFileTypes: true })) {
      if (child.isDirectory()) walk(path.join(d, child.name));
    }
  };
  walk(dir);
  return pids;
}

/**
 * Removes a test's cgroup tree bottom-up in every hierarchy (cgroupfs removes only empty
 * groups). Processes still in it, which a failed test left, are killed by pid first. Tries every
 * directory, then throws if any is left.
 */
export function removeCgroups(parent: string): void {
  const dirs = cgroupDirs(parent);
  const stragglers = new Set(dirs.flatMap(pidsIn));
  for (const pid of stragglers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 5000;
  while (dirs.some((d) => pidsIn(d).length > 0) && Date.now() < deadline) execFileSync('sleep', ['0.05']);
  const failed: string[] = [];
  const remove = (dir: string): void => {
    for (const child of fs.readdirSync(dir, { withFileTypes: true })) {
      if (child.isDirectory()) remove(path.join(dir, child.name));
    }
    try {
      fs.rmdirSync(dir);
    } catch (e) {
      failed.push(`${dir}: ${(e as Error).message}`);
    }
  };
  for (const dir of dirs) remove(dir);
  if (failed.length) throw new Error(`cgroups left behind: ${failed.join('; ')}`);
}

/** Mount points at or under dir, deepest last (in mount order). */
export function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mountPoint): mountPoint is string => mountPoint !== undefined && mountPoint.startsWith(dir));
}

/** Unmounts everything under dir, newest first (lazily, so a busy mount cannot block clean-up). */
export function unmountAllUnder(dir: string): void {
  for (const mountPoint of mountsUnder(dir).reverse()) {
    try {
      execFileSync('umount', ['--lazy', mountPoint], { stdio: 'ignore' });
    } catch {
      // gone meanwhile
    }
  }
}

/** Removes a test's temp dir after unmounting anything left mounted in it. */
export function removeTempDir(dir: string): void {
  unmountAllUnder(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}
