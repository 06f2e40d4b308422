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

  test('a missing record reads as undefined', async () => {
    expect(await readJsonIfExists(path.join(dir, 'none.json'))).toBeUndefined();
  });
});
