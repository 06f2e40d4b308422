import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/**
 * ip_forward as it was before the first live network of this process, restored when the last
 * one goes: networks whose lives overlap would otherwise restore each other's value (the first
 * saw 0, the second 1 set by the first's bridge plugin, and the last to go wins).
 */
const forwarding = { users: 0, before: '' };

export async function sh(file: string, ...args: string[]): Promise<string> {
  return (await execFileAsync(file, args)).stdout;
}

/**
 * Chains portmap and firewall share between pods and never remove, with the jumps into them and
 * the chain whose rules show that a pod still uses them.
 */
const SHARED_CHAINS = [
  {
    table: 'nat',
    inUse: 'CNI-HOSTPORT-DNAT',
    chains: ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ'],
    jumps: ['PREROUTING', 'OUTPUT', 'POSTROUTING'],
  },
  { table: 'filter', inUse: 'CNI-FORWARD', chains: ['CNI-FORWARD', 'CNI-ADMIN'], jumps: ['FORWARD'] },
];

/**
 * A CNI bridge network of a test's own, for tests that run real plugins on the real kernel: a
 * unique bridge, network name and private /24 no address or route on the host touches,
 * host-local IPAM in the test's data dir, no masquerade. While it exists, DROP rules in mangle
 * FORWARD (ahead of any ACCEPT the firewall plugin adds in the filter table) keep the subnet
 * from being forwarded anywhere off the host; pod-to-pod traffic stays allowed. `destroy` removes
 * the bridge, the rules, the shared iptables chains the test made, and restores ip_forward, which
 * the bridge plugin (isGateway) turns on host-wide.
 */
export class TestBridgeNetwork {
  readonly bridge: string;
  readonly name: string;
  private readonly comment: string;
  private released = false;

  private constructor(
    suffix: string,
    readonly subnet: string,
    /** The subnet's first three octets with the trailing dot: "10.x.y.". */
    readonly prefix: string,
    readonly dataDir: string,
    private readonly chainsBefore: Record<string, string[]>,
  ) {
    this.bridge = `bt${suffix}`;
    this.name = `berth-test-${suffix}`;
    this.comment = `berth-test-${suffix}`;
  }

  static async create(dataDir: string): Promise<TestBridgeNetwork> {
    const prefix = await freePrefix();
    if (forwarding.users++ === 0) forwarding.before = (await fs.readFile(IP_FORWARD, 'utf8')).trim();
    const network = new TestBridgeNetwork(randomBytes(3).toString('hex'), `${prefix}0/24`, prefix, dataDir, {
      nat: await chains('nat'),
      filter: await chains('filter'),
    });
    for (const rule of network.guardRules())
      await sh('iptables', '-w', '-t', 'mangle', '-I', 'FORWARD', ...rule);
    return network;
  }

  /** The network's conflist: bridge + host-local, portmap, and any extra plugins. */
  conflist(extra: { plugins?: object[]; name?: string; dataDir?: string } = {}): string {
    return JSON.stringify({
      cniVersion: '1.0.0',
      name: extra.name ?? this.name,
      plugins: [
        {
          type: 'bridge',
          bridge: this.bridge,
          isGateway: true,
          ipMasq: false,
          ipam: {
            type: 'host-local',
            dataDir: extra.dataDir ?? this.dataDir,
            ranges: [[{ subnet: this.subnet }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
        ...(extra.plugins ?? []),
      ],
    });
  }

  /** Writes the conflist into `confDir` (as 10-test.conflist) and returns its path. */
  async writeConflist(confDir: string): Promise<string> {
    await fs.mkdir(confDir, { recursive: true });
    const file = path.join(confDir, '10-test.conflist');
    await fs.writeFile(file, this.conflist());
    return file;
  }

  /** Addresses host-local holds leased: one file per address in <dataDir>/<network>/. */
  async leases(dir = this.dataDir, network = this.name): Promise<string[]> {
    const files = await fs.readdir(path.join(dir, network)).catch(() => [] as string[]);
    return files.filter((f) => net.isIP(f) !== 0);
  }

  /** The links attached to the bridge (a veth per attached pod), one per line. */
  async ports(): Promise<string> {
    return (await sh('ip', '-o', 'link', 'show', 'master', this.bridge).catch(() => '')).trim();
  }

  async destroy(): Promise<void> {
    await sh('ip', 'link', 'del', this.bridge).catch(() => undefined);
    for (const rule of this.guardRules()) {
      await sh('iptables', '-w', '-t', 'mangle', '-D', 'FORWARD', ...rule).catch(() => undefined);
    }
    await this.removeSharedChains();
    if (!this.released) {
      this.released = true;
      if (--forwarding.users === 0 && forwarding.before !== '')
        await fs.writeFile(IP_FORWARD, forwarding.before);
    }
    await fs.rm(this.dataDir, { recursive: true, force: true });
  }

  private guardRules(): string[][] {
    const tail = ['-m', 'comment', '--comment', this.comment, '-j', 'DROP'];
    return [
      ['-s', this.subnet, '!', '-d', this.subnet, ...tail],
      ['-d', this.subnet, '!', '-s', this.subnet, ...tail],
    ];
  }

  /** Removes the shared chains this test made, once no pod is left in them. */
  private async removeSharedChains(): Promise<void> {
    for (const shared of SHARED_CHAINS) {
      const now = await chains(shared.table);
      const created = shared.chains.filter(
        (c) => now.includes(c) && !this.chainsBefore[shared.table].includes(c),
      );
      if (created.length === 0) continue;
      const rules = (await sh('iptables', '-w', '-t', shared.table, '-S')).split('\n');
      const podRules = rules.filter((l) => l.startsWith(`-A ${shared.inUse} `) && !/-j CNI-[A-Z-]+$/.test(l));
      if (podRules.length > 0) continue;
      for (const line of rules) {
        const [, chain] = line.split(' ');
        if (!line.startsWith('-A ') || !shared.jumps.includes(chain)) continue;
        if (!created.some((target) => line.endsWith(`-j ${target}`))) continue;
        const spec = line
          .slice(3)
          .match(/(?:[^\s"]+|"[^"]*")+/g)!
          .map((word) => word.replace(/^"|"$/g, ''));
        await sh('iptables', '-w', '-t', shared.table, '-D', ...spec).catch(() => undefined);
      }
      for (const chain of created)
        await sh('iptables', '-w', '-t', shared.table, '-F', chain).catch(() => undefined);
      for (const chain of created)
        await sh('iptables', '-w', '-t', shared.table, '-X', chain).catch(() => undefined);
    }
  }
}

export async function chains(table: string): Promise<string[]> {
  return (await sh('iptables', '-w', '-t', table, '-S'))
    .split('\n')
    .filter((line) => line.startsWith('-N '))
    .map((line) => line.slice(3));
}

/** "10.x.y." of a /24 that no address or route on this host touches. */
async function freePrefix(): Promise<string> {
  const inUse =
    (await sh('ip', '-4', '-o', 'addr')) + (await sh('ip', '-4', 'route', 'show', 'table', 'all'));
  for (let i = 0; i < 1000; i++) {
    const second = randomInt(100, 250);
    if (!inUse.includes(`10.${second}.`)) return `10.${second}.${randomInt(0, 255)}.`;
  }
  throw new Error('no free test subnet');
}
