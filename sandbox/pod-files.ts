import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import { writeFileAtomic } from '../common/atomic-file';
import { mount, MS_NODEV, MS_NOEXEC, MS_NOSUID } from '../common/mounts';
import { InternalError, InvalidArgumentError } from '../common/errors';

export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

/** Size of a pod's private /dev/shm, as containerd and docker default to. */
export const POD_SHM_SIZE = '64m';

/**
 * Pod files are written once per pod and only matter while its pause process lives: a power
 * loss ends the pod, and the kubelet makes a new sandbox with new files. So no fsync.
 */
const POD_FILE = { durable: false };

/**
 * The resolv.conf a pod's containers see: the kubelet's DNS config when it gives one (it does
 * for every pod with a DNS policy), otherwise the host's file.
 */
export async function writeResolvConf(file: string, dns: DnsConfig | null | undefined): Promise<void> {
  if (!dns || (dns.servers.length === 0 && dns.searches.length === 0 && dns.options.length === 0)) {
    await fs.copyFile('/etc/resolv.conf', file).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      await writeFileAtomic(file, '', POD_FILE);
    });
    return;
  }
  for (const value of [...dns.servers, ...dns.searches, ...dns.options]) {
    if (/[\s#;]/.test(value) || value === '') {
      throw new InvalidArgumentError(`DNS config entry "${value}" is not a single word`);
    }
  }
  const lines = [
    ...(dns.searches.length > 0 ? [`search ${dns.searches.join(' ')}`] : []),
    ...dns.servers.map((server) => `nameserver ${server}`),
    ...(dns.options.length > 0 ? [`options ${dns.options.join(' ')}`] : []),
  ];
  await writeFileAtomic(file, lines.join('\n') + '\n', POD_FILE);
}

/** /etc/hostname for the pod: its own name, or the node's for a host-network pod. */
export async function writeHostname(file: string, hostname: string): Promise<void> {
  await writeFileAtomic(file, `${hostname}\n`, POD_FILE);
}

/**
 * /etc/hosts for the pod: the host's for a host-network pod; otherwise the loopback names and
 * the pod's own address(es), as a container expects to resolve its hostname.
 */
export async function writeHosts(
  file: string,
  hostNetwork: boolean,
  hostname: string,
  ips: string[],
): Promise<void> {
  if (hostNetwork) {
    await fs.copyFile('/etc/hosts', file);
    return;
  }
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    ...ips.map((ip) => `${ip}\t${hostname}`),
  ];
  await writeFileAtomic(file, lines.join('\n') + '\n', POD_FILE);
}

/** Mounts a pod's private /dev/shm (a tmpfs that all its containers share). */
export async function mountShm(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  try {
    await mount('shm', dir, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, `mode=1777,size=${POD_SHM_SIZE}`);
  } catch (err) {
    throw new InternalError(`cannot mount the pod's /dev/shm at ${dir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export function nodeHostname(): string {
  return os.hostname();
}
