import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RecordStore } from './record-store';

interface Thing {
  id: string;
  name: string;
}

describe('RecordStore creation intents', () => {
  let dir: string;
  const open = () => new RecordStore<Thing, { made: string }>(dir, 'thing.json', 'thing', (t) => t.name);

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-records-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a create cut short before its record is found at load with its intent', async () => {
    const store = open();
    await store.load(() => undefined);
    await store.beginCreate('a', { made: '/run/a' });
    await store.beginCreate('b', { made: '/run/b' });
    await store.save({ id: 'b', name: 'bee' });
    await store.endCreate('b');
    fs.mkdirSync(path.join(dir, 'c')); // cut short before its intent was written

    const next = open();
    const interrupted = await next.load(() => undefined);
    expect(interrupted.sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: 'a', dir: path.join(dir, 'a'), intent: { made: '/run/a' } },
      { id: 'c', dir: path.join(dir, 'c'), intent: undefined },
    ]);
    expect(next.all()).toEqual([{ id: 'b', name: 'bee' }]);
    expect(fs.readdirSync(path.join(dir, 'b'))).toEqual(['thing.json']);
  });

  test('a record saved but whose intent was not yet removed wins, and the intent goes', async () => {
    const store = open();
    await store.load(() => undefined);
    await store.beginCreate('a', { made: '/run/a' });
    await store.save({ id: 'a', name: 'ay' });

    const next = open();
    expect(await next.load(() => undefined)).toEqual([]);
    expect(next.find('a')).toEqual({ id: 'a', name: 'ay' });
    expect(fs.readdirSync(path.join(dir, 'a'))).toEqual(['thing.json']);
  });
});
