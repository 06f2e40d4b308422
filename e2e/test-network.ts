import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/**
 * A CNI bridge network of a test's own: a unique bridge name and private /24, host-local IPAM
 * with its own data dir, no masquerade, and iptables FORWARD DROP rules so that nothing from the
 * subnet is forwarded off the host. `destroy` removes the bridge, the rules and the leases.
 */
export class TestBridgeNetwork {
  private constructor(
    readonly name: string,
    readonly bridge: string,
    readonly subnet: string,
    readonly dataDir: string,
    readonly confFile: string,
    /** The bridge plugin (isGateway) turns on forwarding host-wide; destroy puts this back. */
    private readonly ipForward = fs.readFileSync(IP_FORWARD, 'utf8'),
  ) {}

  static create(confDir: string, dataDir: string): TestBridgeNetwork {
    const tag = randomBytes(3).toString('hex');
    const network = new TestBridgeNetwork(
      `berth-e2e-${tag}`,
      `bt${tag}`,
      freeSubnet(),
      dataDir,
      path.join(confDir, '10-berth-e2e.conflist'),
    );
    for (const rule of network.forwardRules()) execFileSync('iptables', ['-I', 'FORWARD', ...rule]);
    fs.mkdirSync(confDir, { recursive: true });
    fs.writeFileSync(
      network.confFile,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: network.name,
        plugins: [
          {
            type: 'bridge',
            bridge: network.bridge,
            isGateway: true,
            ipMasq: false,
            ipam: { type: 'host-local', ranges: [[{ subnet: network.subnet }]], dataDir },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      }),
    );
    return network;
  }

  /**
   * Drops whatever would be forwarded between the subnet and anywhere else. Pod-to-pod traffic
   * stays allowed: with br_netfilter loaded, bridged frames pass the FORWARD chain too.
   */
  private forwardRules(): string[][] {
    return [
      ['-s', this.subnet, '!', '-d', this.subnet, '-j', 'DROP'],
      ['!', '-s', this.subnet, '-d', this.subnet, '-j', 'DROP'],
    ];
  }

  /** The addresses host-local holds reserved in this network. */
  leases(): string[] {
    const dir = path.join(this.dataDir, this.name);
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).filter((f) => /^[0-9a-f.:]+$/.test(f) && f.includes('.'));
  }

  /** The veths attached to the bridge (one per running pod). */
  ports(): string[] {
    try {
      return execFileSync('ip', ['-o', 'link', 'show', 'master', this.bridge])
        .toString()
        .split('\n')
        .filter(Boolean);
    } catch {
      return []; // no bridge, no ports
    }
  }

  destroy(): void {
    for (const rule of this.forwardRules()) {
      try {
        execFileSync('iptables', ['-D', 'FORWARD', ...rule], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    try {
      execFileSync('ip', ['link', 'del', this.bridge], { stdio: 'ignore' });
    } catch {
      // never created
    }
    fs.rmSync(this.dataDir, { recursive: true, force: true });
    fs.writeFileSync(IP_FORWARD, this.ipForward);
  }
}

/** A 10.x.y.0/24 that no route on the host touches. */
function freeSubnet(): string {
  const routes = execFileSync('ip', ['-4', 'route', 'show', 'table', 'all']).toString();
  for (let i = 0; i < 100; i++) {
    const [a, b] = [200 + (randomBytes(1)[0] % 50), randomBytes(1)[0]];
    if (!routes.includes(`10.${a}.${b}.`)) return `10.${a}.${b}.0/24`;
  }
  throw new Error('no free test subnet');
}
