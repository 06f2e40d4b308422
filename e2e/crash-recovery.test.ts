/**
 * kill -9 of the daemon in the middle of RunPodSandbox, CreateContainer and StartContainer, and
 * of StopPodSandbox + RemovePodSandbox, at many points of each: the next daemon either has the
 * object, whole, or nothing of it is left on the host (mounts, namespaces, processes, cgroups,
 * addresses, veths, state directories); a removal cut short is finished by the kubelet's retry.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ContainerConfig } from '../api/generated/runtime/v1/ContainerConfig';
import type { PodSandboxConfig } from '../api/generated/runtime/v1/PodSandboxConfig';
import { cgroupDirs, mountsUnder, removeCgroups } from '../common/testing/kernel';
import { TestBridgeNetwork } from '../network/test-support/test-network';
import { startRegistry, type TestRegistry } from '../image/test-registry';
import { TestDaemon } from './harness';
import { pushBusybox } from './test-images';

const CGROUP_PARENT = `/berth-e2e-crash-${process.pid}`;

function podConfig(name: string): PodSandboxConfig {
  return {
    metadata: { name, namespace: 'e2e', uid: `uid-${name}`, attempt: 0 },
    hostname: name,
    linux: {
      cgroup_parent: CGROUP_PARENT,
      security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } },
    },
  };
}

/** Entries of a directory, none when it does not exist. */
const entries = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

/** The processes and groups left under the test's cgroup parent, in any hierarchy. */
function cgroupLeftovers(): string[] {
  const left: string[] = [];
  for (const dir of cgroupDirs(CGROUP_PARENT)) {
    const walk = (d: string): void => {
      const procs = fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').trim();
      if (procs) left.push(`${d}: ${procs.split('\n').join(' ')}`);
      for (const child of fs.readdirSync(d, { withFileTypes: true })) {
        if (child.isDirectory()) {
          left.push(path.join(d, child.name));
          walk(path.join(d, child.name));
        }
      }
    };
    walk(dir);
  }
  return left;
}

describe('kill -9 in the middle of a creation leaves the whole object or nothing', () => {
  let daemon: TestDaemon;
  let network: TestBridgeNetwork;
  let image: string;
  let registry: TestRegistry | undefined;

  beforeAll(async () => {
    network = await TestBridgeNetwork.create(fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-ipam-')));
    daemon = await TestDaemon.start({
      config: { cni: { bin_dirs: ['/usr/lib/cni'] }, log: { level: 'info' } },
    });
    await network.writeConflist(path.join(daemon.dir, 'cni', 'net.d'));
    registry = await startRegistry();
    image = await pushBusybox(registry, 'e2e/busybox', 'latest');
    await daemon.client.image.PullImage({ image: { image } });
  }, 120_000);

  afterAll(async () => {
    if (daemon) {
      const left = await daemon.client.runtime.ListPodSandbox({}).catch(() => ({ items: [] }));
      for (const item of left.items) {
        await daemon.client.runtime.RemovePodSandbox({ pod_sandbox_id: item.id }).catch(() => undefined);
      }
      await daemon.stop();
    }
    await registry?.stop();
    await network?.destroy();
    removeCgroups(CGROUP_PARENT);
  });

  /** What the host holds for berth's pods once every pod the daemon lists is removed. */
  async function leftovers(): Promise<Record<string, unknown>> {
    const { items } = await daemon.client.runtime.ListPodSandbox({});
    for (const item of items) await daemon.client.runtime.RemovePodSandbox({ pod_sandbox_id: item.id });
    const root = path.join(daemon.dir, 'root');
    const run = path.join(daemon.dir, 'run');
    return {
      mounts: mountsUnder(daemon.dir),
      cgroups: cgroupLeftovers(),
      leases: await network.leases(),
      veths: await network.ports(),
      sandboxRecords: entries(path.join(root, 'sandboxes')),
      containerRecords: entries(path.join(root, 'containers')),
      sandboxBundles: entries(path.join(run, 'sandboxes')),
      containerBundles: entries(path.join(run, 'containers')),
      runtimeState: entries(path.join(run, 'runtimes', 'berth')),
      cniResults: entries(path.join(root, 'network', 'cni-results')),
    };
  }

  const nothing = {
    mounts: [],
    cgroups: [],
    leases: [],
    veths: '',
    sandboxRecords: [],
    containerRecords: [],
    sandboxBundles: [],
    containerBundles: [],
    runtimeState: [],
    cniResults: [],
  };

  /** A container that sleeps, in a pid namespace of its own. */
  const sleeper = (): ContainerConfig => ({
    metadata: { name: 'c', attempt: 0 },
    image: { image },
    command: ['sleep', '3600'],
    linux: { resources: {}, security_context: { namespace_options: { pid: 'CONTAINER' } } },
  });

  /** How many creations the restarted daemons found cut short and undid, by kind. */
  const undone = { pod: 0, container: 0 };

  /** Sends `call`, kills the daemon `afterMs` later, restarts it. */
  async function crashDuring(call: () => Promise<unknown>, afterMs: number): Promise<void> {
    const sent = call().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, afterMs));
    daemon = await daemon.crashAndRestart();
    await sent;
    undone.pod += daemon.logs().split('undid a pod sandbox creation cut short').length - 1;
    undone.container += daemon.logs().split('undid a container creation cut short').length - 1;
  }

  test.each([0, 3, 6, 9, 12, 15, 20, 25, 35])(
    'RunPodSandbox cut %d ms in',
    async (afterMs) => {
      const client = daemon.client;
      await crashDuring(() => client.runtime.RunPodSandbox({ config: podConfig(`pod-${afterMs}`) }), afterMs);
      expect(await leftovers()).toEqual(nothing);
    },
    60_000,
  );

  test.each([0, 3, 6, 9, 12, 20])(
    'CreateContainer and StartContainer cut %d ms in',
    async (afterMs) => {
      const config = podConfig(`ctr-${afterMs}`);
      const { pod_sandbox_id } = await daemon.client.runtime.RunPodSandbox({ config });
      const client = daemon.client;
      await crashDuring(async () => {
        const { container_id } = await client.runtime.CreateContainer({
          pod_sandbox_id,
          sandbox_config: config,
          config: sleeper(),
        });
        await client.runtime.StartContainer({ container_id });
      }, afterMs);
      // The pod survived; its container is whole (listed, and removed with the pod) or gone.
      const { items } = await daemon.client.runtime.ListPodSandbox({});
      expect(items.map((p) => [p.id, p.state])).toEqual([[pod_sandbox_id, 'SANDBOX_READY']]);
      expect(await leftovers()).toEqual(nothing);
    },
    60_000,
  );

  test.each([0, 5, 10, 20, 30, 45])(
    'StopPodSandbox and RemovePodSandbox of a pod with a container cut %d ms in',
    async (afterMs) => {
      const config = podConfig(`rm-${afterMs}`);
      const { pod_sandbox_id } = await daemon.client.runtime.RunPodSandbox({ config });
      const { container_id } = await daemon.client.runtime.CreateContainer({
        pod_sandbox_id,
        sandbox_config: config,
        config: sleeper(),
      });
      await daemon.client.runtime.StartContainer({ container_id });
      const client = daemon.client;
      await crashDuring(async () => {
        await client.runtime.StopPodSandbox({ pod_sandbox_id });
        await client.runtime.RemovePodSandbox({ pod_sandbox_id });
      }, afterMs);
      // Whatever state the pod was left in, the kubelet's retry (in leftovers) removes all of it.
      expect(await leftovers()).toEqual(nothing);
    },
    60_000,
  );

  test('the crashes above did cut creations short, and the next daemon undid them', () => {
    expect(undone.pod).toBeGreaterThan(0);
    expect(undone.container).toBeGreaterThan(0);
  });
});
