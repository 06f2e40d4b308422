import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../common/atomic-file';
import { AlreadyExistsError } from '../common/errors';
import { resolveIdPrefix } from '../common/ids';
import { sandboxName, type SandboxRecord } from './sandbox-record';

const RECORD_FILE = 'sandbox.json';

/**
 * The sandbox records: in memory for lookups, on disk (atomically) so a restarted daemon knows
 * every pod it made. Also the name reservations that keep two sandboxes of one pod attempt apart.
 */
export class SandboxStore {
  private readonly records = new Map<string, SandboxRecord>();
  /** sandbox name -> ID, including sandboxes still being created. */
  private readonly names = new Map<string, string>();

  constructor(private readonly dir: string) {}

  /** Loads every record under the store's directory; unreadable ones are reported, not dropped silently. */
  async load(onError: (dir: string, err: Error) => void): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o711 });
    for (const id of await fs.readdir(this.dir)) {
      try {
        const record = await readJsonIfExists<SandboxRecord>(path.join(this.dir, id, RECORD_FILE));
        if (!record) continue; // a create that never finished; its undo removed the rest
        this.records.set(record.id, record);
        this.names.set(sandboxName(record.config), record.id);
      } catch (err) {
        onError(path.join(this.dir, id), err as Error);
      }
    }
  }

  /** Claims `name` for `id`; refuses when another sandbox holds it, naming that sandbox. */
  reserve(name: string, id: string): void {
    const holder = this.names.get(name);
    if (holder !== undefined) {
      throw new AlreadyExistsError(`pod sandbox name "${name}" is already used by sandbox ${holder}`);
    }
    this.names.set(name, id);
  }

  release(name: string, id: string): void {
    if (this.names.get(name) === id) this.names.delete(name);
  }

  dirOf(id: string): string {
    return path.join(this.dir, id);
  }

  async save(record: SandboxRecord): Promise<void> {
    await fs.mkdir(this.dirOf(record.id), { recursive: true, mode: 0o711 });
    await writeJsonAtomic(path.join(this.dirOf(record.id), RECORD_FILE), record, 0o600);
    this.records.set(record.id, record);
  }

  async delete(record: SandboxRecord): Promise<void> {
    await fs.rm(this.dirOf(record.id), { recursive: true, force: true });
    this.records.delete(record.id);
    this.release(sandboxName(record.config), record.id);
  }

  /** The sandbox named by its ID or a unique prefix of it. */
  find(idOrPrefix: string): SandboxRecord | undefined {
    if (idOrPrefix === '') return undefined;
    const id = resolveIdPrefix(idOrPrefix, this.records.keys());
    return id === undefined ? undefined : this.records.get(id);
  }

  all(): SandboxRecord[] {
    return [...this.records.values()];
  }
}
