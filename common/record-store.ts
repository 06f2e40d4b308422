import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from './atomic-file';
import { AlreadyExistsError } from './errors';
import { resolveIdPrefix } from './ids';

/**
 * Records of one kind of object (sandboxes, containers): in memory for lookups, on disk as
 * `<dir>/<id>/<file>` written atomically, so a restarted daemon knows every object it made. Also
 * the name reservations that keep two objects of one name apart, held from the start of a
 * create, before any record exists.
 */
export class RecordStore<T extends { id: string }> {
  private readonly records = new Map<string, T>();
  /** name -> ID, including objects still being created. */
  private readonly names = new Map<string, string>();

  constructor(
    private readonly dir: string,
    private readonly file: string,
    /** What the object is called in error messages ("pod sandbox", "container"). */
    private readonly kind: string,
    private readonly nameOf: (record: T) => string,
  ) {}

  /** Loads every record; unreadable ones are reported through onError, not silently dropped. */
  async load(onError: (dir: string, err: Error) => void): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o711 });
    for (const id of await fs.readdir(this.dir)) {
      try {
        const record = await readJsonIfExists<T>(path.join(this.dir, id, this.file));
        if (!record) continue; // a create that never finished; its undo removed the rest
        this.records.set(record.id, record);
        this.names.set(this.nameOf(record), record.id);
      } catch (err) {
        onError(path.join(this.dir, id), err as Error);
      }
    }
  }

  /** Claims `name` for `id`; refuses when another object holds it, naming that object. */
  reserve(name: string, id: string): void {
    const holder = this.names.get(name);
    if (holder !== undefined) {
      throw new AlreadyExistsError(`${this.kind} name "${name}" is already used by ${this.kind} ${holder}`);
    }
    this.names.set(name, id);
  }

  release(name: string, id: string): void {
    if (this.names.get(name) === id) this.names.delete(name);
  }

  dirOf(id: string): string {
    return path.join(this.dir, id);
  }

  async save(record: T): Promise<void> {
    await fs.mkdir(this.dirOf(record.id), { recursive: true, mode: 0o711 });
    await writeJsonAtomic(path.join(this.dirOf(record.id), this.file), record, { mode: 0o600 });
    this.records.set(record.id, record);
  }

  async delete(record: T): Promise<void> {
    await fs.rm(this.dirOf(record.id), { recursive: true, force: true });
    this.records.delete(record.id);
    this.release(this.nameOf(record), record.id);
  }

  /** The object named by its ID or a unique prefix of it. */
  find(idOrPrefix: string): T | undefined {
    if (idOrPrefix === '') return undefined;
    const id = resolveIdPrefix(idOrPrefix, this.records.keys());
    return id === undefined ? undefined : this.records.get(id);
  }

  all(): T[] {
    return [...this.records.values()];
  }
}
