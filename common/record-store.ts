import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from './atomic-file';
import { AlreadyExistsError } from './errors';
import { resolveIdPrefix } from './ids';

/** A create that a crash cut short: its directory, and the intent it wrote before it made anything. */
export interface InterruptedCreate<I> {
  id: string;
  dir: string;
  /** Absent when the crash came before the intent was written, so before anything was made. */
  intent?: I;
}

/** Written before a create makes anything, removed once its record is saved. */
const INTENT_FILE = 'creating.json';

/**
 * Records of one kind of object (sandboxes, containers): in memory for lookups, on disk as
 * `<dir>/<id>/<file>` written atomically, so a restarted daemon knows every object it made. Also
 * the name reservations that keep two objects of one name apart, held from the start of a
 * create, before any record exists, and the intents of creates in progress (`I`: what undoing
 * one needs), so that a daemon killed half-way through a create can undo it at its next start.
 */
export class RecordStore<T extends { id: string }, I = never> {
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

  /**
   * Loads every record; unreadable ones are reported through onError, not silently dropped.
   * Returns the creates a crash cut short (a directory without a record), for the caller to undo.
   */
  async load(onError: (dir: string, err: Error) => void): Promise<InterruptedCreate<I>[]> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o711 });
    const interrupted: InterruptedCreate<I>[] = [];
    for (const id of await fs.readdir(this.dir)) {
      const dir = path.join(this.dir, id);
      try {
        const record = await readJsonIfExists<T>(path.join(dir, this.file));
        if (record) {
          this.records.set(record.id, record);
          this.names.set(this.nameOf(record), record.id);
          // The crash came between the record's save and the intent's removal.
          await fs.rm(path.join(dir, INTENT_FILE), { force: true });
        } else {
          interrupted.push({ id, dir, intent: await readJsonIfExists<I>(path.join(dir, INTENT_FILE)) });
        }
      } catch (err) {
        onError(dir, err as Error);
      }
    }
    return interrupted;
  }

  /**
   * Records, durably, what a create is about to make, before it makes anything: the object's
   * directory and the intent in it. A failed create's undo removes the directory, intent and all.
   */
  async beginCreate(id: string, intent: I): Promise<void> {
    await fs.mkdir(this.dirOf(id), { recursive: true, mode: 0o711 });
    await writeJsonAtomic(path.join(this.dirOf(id), INTENT_FILE), intent, { mode: 0o600 });
  }

  /** The create finished and its record is saved: its intent is no longer needed. */
  async endCreate(id: string): Promise<void> {
    await fs.rm(path.join(this.dirOf(id), INTENT_FILE), { force: true });
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
