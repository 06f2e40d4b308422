/** Helpers for native-layer tests that look at real processes through /proc. */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const NATIVE_DIR = path.resolve(__dirname, '..');
export const NATIVE_BIN = path.join(NATIVE_DIR, 'bin');

/** Builds the native programs; make is idempotent, so this is cheap when nothing changed. */
export function buildNative(): void {
  execFileSync('make', ['-s', '-C', NATIVE_DIR], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Direct children of a process (all its threads' children), or [] once it is gone. */
export function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tasks) {
    try {
      const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      for (const word of text.trim().split(/\s+/)) if (word) out.push(Number(word));
    } catch {
      // The thread ended while we looked.
    }
  }
  return out;
}

/** The one-letter state of a process (R, S, Z, ...) and its command name, or undefined if gone. */
export function procStat(pid: number): { state: string; comm: string } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may contain spaces and parentheses: it runs from the first '(' to the last ')'.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  return { comm: text.slice(open + 1, close), state: text.slice(close + 2, close + 3) };
}

/** Whether the process has a handler installed for the signal (SigCgt in /proc/<pid>/status). */
export function catchesSignal(pid: number, signo: number): boolean {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return false;
  }
  const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(text);
  if (!m) return false;
  return ((BigInt('0x' + m[1]) >> BigInt(signo - 1)) & 1n) === 1n;
}

/** Polls until fn returns something other than undefined/false, or throws after timeoutMs. */
export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sends SIGKILL to a pid we started; a process that is already gone is fine. */
export function killPid(pid: number | undefined): void {
  if (pid === undefined || pid <= 0) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // ESRCH: already gone.
  }
}
