import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readJsonIfExists, removeAtomicFile, writeJsonAtomic } from '../common/atomic-file';
import { CNI_NAME_PATTERN, type CniNetworkList } from './cni-config';

const KIND = 'berth.cni-attachment/v1';

/**
 * What DEL and CHECK need of an ADD that succeeded: the network configuration as it was then (the
 * files may have changed since), the attachment parameters and the final result, which the spec
 * requires the runtime to store persistently and pass back as `prevResult` (spec section 3).
 */
export interface CniAttachmentRecord {
  kind: typeof KIND;
  containerId: string;
  ifName: string;
  network: CniNetworkList;
  netns?: string;
  args: Array<[string, string]>;
  capabilityArgs: Record<string, unknown>;
  /** The final plugin's ADD result, exactly as printed (in the network's CNI version). */
  result: unknown;
  addedAt: string;
}

/**
 * The on-disk result cache, one JSON file per attachment at `<dir>/<containerId>/<ifName>.json`,
 * written atomically. It lives under the persistent state root: host-local IPAM keeps its leases on
 * disk across reboots, so the DEL that releases them must still be possible after one.
 */
export class CniResultCache {
  constructor(readonly dir: string) {}

  static at(root: string): CniResultCache {
    return new CniResultCache(path.join(root, 'network', 'cni-results'));
  }

  async put(record: Omit<CniAttachmentRecord, 'kind' | 'addedAt'>): Promise<CniAttachmentRecord> {
    const full: CniAttachmentRecord = { kind: KIND, ...record, addedAt: new Date().toISOString() };
    const file = this.file(record.containerId, record.ifName);
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeJsonAtomic(file, full, { mode: 0o600 });
    return full;
  }

  /** The record of an attachment, or undefined; throws if the file exists but is not a record. */
  async get(containerId: string, ifName: string): Promise<CniAttachmentRecord | undefined> {
    const file = this.file(containerId, ifName);
    let doc: unknown;
    try {
      doc = await readJsonIfExists<unknown>(file);
    } catch (err) {
      throw new Error(`CNI result cache ${file} is unreadable: ${(err as Error).message}`, { cause: err });
    }
    if (doc === undefined) return undefined;
    const record = doc as Partial<CniAttachmentRecord>;
    if (
      record.kind !== KIND ||
      record.containerId !== containerId ||
      record.ifName !== ifName ||
      typeof record.network !== 'object' ||
      !Array.isArray(record.network?.plugins)
    ) {
      throw new Error(`CNI result cache ${file} is not a ${KIND} record for ${containerId}/${ifName}`);
    }
    return record as CniAttachmentRecord;
  }

  /**
   * Removes an attachment's record, with what a daemon killed while writing it left (its temp
   * file); a missing one is fine.
   */
  async remove(containerId: string, ifName: string): Promise<void> {
    const file = this.file(containerId, ifName);
    await removeAtomicFile(file);
    // The container's directory goes when its last attachment does.
    await fs.rmdir(path.dirname(file)).catch(() => undefined);
  }

  /** Every attachment in the cache as (containerId, ifName), e.g. to reconcile or GC. */
  async list(): Promise<Array<{ containerId: string; ifName: string }>> {
    const found: Array<{ containerId: string; ifName: string }> = [];
    let containers: string[];
    try {
      containers = await fs.readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return found;
      throw err;
    }
    for (const containerId of containers.sort()) {
      const files = await fs.readdir(path.join(this.dir, containerId)).catch(() => [] as string[]);
      for (const name of files.sort()) {
        if (name.endsWith('.json') && !name.startsWith('.'))
          found.push({ containerId, ifName: name.slice(0, -5) });
      }
    }
    return found;
  }

  private file(containerId: string, ifName: string): string {
    if (!CNI_NAME_PATTERN.test(containerId)) throw new Error(`invalid CNI container ID "${containerId}"`);
    if (!isInterfaceName(ifName)) throw new Error(`invalid interface name "${ifName}"`);
    return path.join(this.dir, containerId, `${ifName}.json`);
  }
}

/** Linux interface names as the spec restricts them: 1-15 bytes, not "." or "..", no "/", ":" or space. */
export function isInterfaceName(name: string): boolean {
  return name.length > 0 && name.length < 16 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}
