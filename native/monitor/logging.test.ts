/** The monitor's pure C functions (CRI log formatter, exit record, encoders), through a small C
 * test program built here with the same flags as native/Makefile. */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { NATIVE_DIR } from '../testing/proc';

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-monitor-unit-'));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('pure functions of berth-monitor', () => {
  const bin = path.join(dir, 'logging_test');
  const sources = ['monitor/logging_test.c', 'monitor/logging.c', 'monitor/exit.c', 'monitor/io.c', 'lib/error.c', 'lib/utils.c'];
  execFileSync(
    'gcc',
    ['-std=gnu11', '-Wall', '-Wextra', '-Werror', '-D_GNU_SOURCE', '-Ilib', '-o', bin, ...sources],
    { cwd: NATIVE_DIR, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const r = spawnSync(bin, { encoding: 'utf8' });
  expect(r.stdout).toBe('ok\n');
  expect(r.status).toBe(0);
});
