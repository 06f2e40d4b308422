import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from './atomic-file';

describe('writeJsonAtomic', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-atomic-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('writes of one file at once all succeed; one of them wins whole; no temp file is left', async () => {
    const file = path.join(dir, 'record.json');
    await Promise.all(Array.from({ length: 20 }, (_, n) => writeJsonAtomic(file, { n })));
    const { n } = (await readJsonIfExists<{ n: number }>(file))!;
    expect(n).toBeGreaterThanOrEqual(0);
    expect(n).toBeLessThan(20);
    expect(fs.readdirSync(dir)).toEqual(['record.json']);
  });

  test('the mode applies, and a volatile write (no fsync) replaces the file whole just the same', async () => {
    const file = path.join(dir, 'secret.json');
    await writeJsonAtomic(file, { a: 1 }, { mode: 0o600 });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    await Promise.all(Array.from({ length: 10 }, (_, n) => writeJsonAtomic(file, { n }, { durable: false })));
    expect((await readJsonIfExists<{ n: number }>(file))!.n).toBeLessThan(10);
    expect(fs.readdirSync(dir)).toEqual(['secret.json']);
  });

  test('a missing record reads as undefined', async () => {
    expect(await readJsonIfExists(path.join(dir, 'none.json'))).toBeUndefined();
  });
});
