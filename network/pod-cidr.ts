import * as net from 'node:net';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { readJsonIfExists, writeJsonAtomic } from '../common/atomic-file';
import { InvalidArgumentError } from '../common/errors';

/**
 * The node's pod CIDRs, as the kubelet hands them over in UpdateRuntimeConfig. Kept on disk so a
 * restarted daemon still knows them before the kubelet calls again.
 */
export class PodCidrStore {
  private cidrs: string[] = [];

  constructor(private readonly file: string) {}

  static at(root: string): PodCidrStore {
    return new PodCidrStore(path.join(root, 'network', 'pod-cidr.json'));
  }

  async load(): Promise<void> {
    const record = await readJsonIfExists<{ cidrs: string[] }>(this.file);
    this.cidrs = record?.cidrs ?? [];
  }

  get(): string[] {
    return [...this.cidrs];
  }

  /** Records `podCidr` (one CIDR, or an IPv4 and an IPv6 one joined by a comma for dual stack). */
  async set(podCidr: string): Promise<void> {
    const cidrs = parsePodCidrs(podCidr);
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    await writeJsonAtomic(this.file, { cidrs });
    this.cidrs = cidrs;
  }
}

/** Parses the kubelet's pod_cidr field; empty means "none" and is allowed. */
export function parsePodCidrs(podCidr: string): string[] {
  if (podCidr.trim() === '') return [];
  return podCidr.split(',').map((part) => {
    const cidr = part.trim();
    const match = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
    const family = match ? net.isIP(match[1]) : 0;
    const maxPrefix = family === 4 ? 32 : 128;
    if (!match || family === 0 || Number(match[2]) > maxPrefix) {
      throw new InvalidArgumentError(`pod CIDR "${cidr}" is not an IPv4 or IPv6 CIDR`);
    }
    return cidr;
  });
}
