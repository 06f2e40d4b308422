import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { PodSandboxConfig } from '../api/generated/runtime/v1/PodSandboxConfig';
import { connectCri } from './cri-client';
import { spawnDaemon, TestDaemon } from './harness';
import { cgroupDirs, mountsUnder, removeCgroups } from '../common/testing/kernel';
import { freePort } from '../common/testing/ports';
import { fetchTcp, serveInNetns } from '../network/test-support/tcp';
import { TestBridgeNetwork } from '../network/test-support/test-network';

const CGROUP_PARENT = `/berth-e2e-${process.pid}`;

function pod(
  name: string,
  extra: Partial<PodSandboxConfig> = {},
  network: 'POD' | 'NODE' = 'POD',
): PodSandboxConfig {
  return {
    metadata: { name, namespace: 'e2e', uid: `uid-${name}`, attempt: 0 },
    hostname: name,
    labels: { app: name, tier: 'e2e' },
    annotations: { 'e2e/owner': 'berth' },
    dns_config: { servers: ['10.96.0.10'], searches: ['e2e.svc.cluster.local'], options: ['ndots:5'] },
    linux: {
      cgroup_parent: CGROUP_PARENT,
      security_context: { namespace_options: { network, pid: 'POD', ipc: 'POD' } },
    },
    ...extra,
  };
}

function inNetns(netns: string, ...command: string[]): string {
  return execFileSync('nsenter', [`--net=${netns}`, ...command]).toString();
}

describe('pod sandboxes over CRI with a CNI bridge network', () => {
  let daemon: TestDaemon;
  let network: TestBridgeNetwork;

  beforeAll(async () => {
    network = await TestBridgeNetwork.create(fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-ipam-')));
    daemon = await TestDaemon.start({ config: { cni: { bin_dirs: ['/usr/lib/cni'] } } });
    await network.writeConflist(path.join(daemon.dir, 'cni', 'net.d'));
  });

  afterAll(async () => {
    // Whatever a failed test left: remove its pods through the daemon, then the network.
    if (daemon) {
      const left = await daemon.client.runtime.ListPodSandbox({}).catch(() => ({ items: [] }));
      for (const item of left.items) {
        await daemon.client.runtime.RemovePodSandbox({ pod_sandbox_id: item.id }).catch(() => undefined);
      }
      await daemon.stop();
    }
    await network?.destroy();
    removeCgroups(CGROUP_PARENT);
  });

  test('NetworkReady once the bridge network is configured', async () => {
    const status = await daemon.client.runtime.Status({});
    expect(status.status!.conditions.find((c) => c.type === 'NetworkReady')).toMatchObject({ status: true });
  });

  test('a pod gets an address, loopback, its sysctls and DNS; stop releases the address; remove leaves nothing', async () => {
    const config = pod('alpha', {
      linux: {
        ...pod('alpha').linux,
        sysctls: { 'net.ipv4.ip_unprivileged_port_start': '80' },
      },
    });
    const { pod_sandbox_id: id } = await daemon.client.runtime.RunPodSandbox({ config });
    const { status, info } = await daemon.client.runtime.PodSandboxStatus({
      pod_sandbox_id: id,
      verbose: true,
    });
    expect(status).toMatchObject({
      id,
      state: 'SANDBOX_READY',
      metadata: { name: 'alpha', namespace: 'e2e', uid: 'uid-alpha', attempt: 0 },
      labels: { app: 'alpha', tier: 'e2e' },
      annotations: { 'e2e/owner': 'berth' },
      runtime_handler: '',
    });
    const ip = status!.network!.ip;
    expect(ip.startsWith(network.prefix)).toBe(true);
    expect(await network.leases()).toEqual([ip]);

    const details = JSON.parse(info.info);
    const netns: string = details.netns;
    expect(details.runtimeHandler).toBe('berth');
    expect(details.cni).toMatchObject({ network: network.name, ips: [ip] });
    expect(inNetns(netns, 'ip', '-o', '-4', 'addr', 'show', 'eth0')).toContain(`inet ${ip}/24`);
    expect(inNetns(netns, 'ip', '-o', 'link', 'show', 'lo')).toMatch(/<LOOPBACK,UP,LOWER_UP>/);
    expect(inNetns(netns, 'ip', '-o', '-4', 'addr', 'show', 'lo')).toContain('inet 127.0.0.1/8');
    expect(inNetns(netns, 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start').trim()).toBe('80');
    // The pause process lives in the pod's network namespace.
    expect(fs.readlinkSync(`/proc/${details.pid}/ns/net`)).toBe(
      inNetns(netns, 'readlink', '/proc/self/ns/net').trim(),
    );
    const resolv = fs.readFileSync(path.join(daemon.dir, 'root', 'sandboxes', id, 'resolv.conf'), 'utf8');
    expect(resolv).toBe('search e2e.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');

    await daemon.client.runtime.StopPodSandbox({ pod_sandbox_id: id });
    expect(await network.leases()).toEqual([]);
    expect(await network.ports()).toBe('');
    const stopped = await daemon.client.runtime.PodSandboxStatus({ pod_sandbox_id: id });
    expect(stopped.status!.state).toBe('SANDBOX_NOTREADY');
    // Stop is idempotent.
    await daemon.client.runtime.StopPodSandbox({ pod_sandbox_id: id });

    await daemon.client.runtime.RemovePodSandbox({ pod_sandbox_id: id });
    expect(fs.existsSync(netns)).toBe(false);
    expect(mountsUnder(daemon.dir)).toEqual([]);
    expect(cgroupDirs(CGROUP_PARENT).flatMap((dir) => fs.readdirSync(dir).filter((f) => f === id))).toEqual(
      [],
    );
    await expect(daemon.client.runtime.PodSandboxStatus({ pod_sandbox_id: id })).rejects.toMatchObject({
      code: grpcStatus.NOT_FOUND,
    });
    // Removing a missing pod, and stopping one, succeed as the CRI asks.
    await daemon.client.runtime.RemovePodSandbox({ pod_sandbox_id: id });
    await daemon.client.runtime.StopPodSandbox({ pod_sandbox_id: id });
  });

  test('two pods reach each other by IP', async () => {
    const a = await daemon.client.runtime.RunPodSandbox({ config: pod('ping-a') });
    const b = await daemon.client.runtime.RunPodSandbox({ config: pod('ping-b') });
    try {
      const sa = await daemon.client.runtime.PodSandboxStatus({
        pod_sandbox_id: a.pod_sandbox_id,
        verbose: true,
      });
      const sb = await daemon.client.runtime.PodSandboxStatus({ pod_sandbox_id: b.pod_sandbox_id });
      const netnsA = JSON.parse(sa.info.info).netns;
      expect(inNetns(netnsA, 'busybox', 'ping', '-c', '1', '-W', '2', sb.status!.network!.ip)).toContain(
        '1 packets received',
      );
    } finally {
      await daemon.client.runtime.RemovePodSandbox({ pod_sandbox_id: a.pod_sandbox_id });
      await daemon.client.runtime.RemovePodSandbox({ pod_sandbox_id: b.pod_sandbox_id });
    }
    expect(await network.leases()).toEqual([]);
  });

  test('a hostPort mapping makes a server in the pod reachable on the host loopback', async () => {
    const hostPort = await freePort();
    const config = pod('ported', {
      port_mappings: [{ protocol: 'TCP', container_port: 8080, host_port: hostPort }],
    });
    const { pod_sandbox_id: id } = await daemon.client.runtime.RunPodSandbox({ config });
    const { info } = await daemon.client.runtime.PodSandboxStatus({ pod_sandbox_id: id, verbose: true });
    const server = await serveInNetns(JSON.parse(info.info).netns, 8080, 'hello from the pod');
    try {
      await expect(fetchTcp('127.0.0.1', hostPort)).resolves.toBe('hello from the pod');
    } finally {
      server.kill('SIGKILL');
      await daemon.client.runtime.RemovePodSandbox({ pod_sandbox_id: id });
    }
    await expect(fetchTcp('127.0.0.1', hostPort)).rejects.toThrow();
  });

  test('a host-network pod has no pod IP and sees the host interfaces', async () => {
    const { pod_sandbox_id: id } = await daemon.client.runtime.RunPodSandbox({
      config: pod('hostnet', {}, 'NODE'),
    });
    try {
      const { status, info } = await daemon.client.runtime.PodSandboxStatus({
        pod_sandbox_id: id,
        verbose: true,
      });
      expect(status!.network!.ip).toBe('');
      expect(status!.linux!.namespaces!.options!.network).toBe('NODE');
      const pid = JSON.parse(info.info).pid;
      expect(fs.readlinkSync(`/proc/${pid}/ns/net`)).toBe(fs.readlinkSync('/proc/self/ns/net'));
      expect(await network.leases()).toEqual([]);
    } finally {
      await daemon.client.runtime.RemovePodSandbox({ pod_sandbox_id: id });
    }
  });

  test('ListPodSandbox filters by id prefix, state and labels', async () => {
    const one = (await daemon.client.runtime.RunPodSandbox({ config: pod('list-one') })).pod_sandbox_id;
    const two = (await daemon.client.runtime.RunPodSandbox({ config: pod('list-two') })).pod_sandbox_id;
    try {
      await daemon.client.runtime.StopPodSandbox({ pod_sandbox_id: two });
      const ids = async (filter: object) =>
        (await daemon.client.runtime.ListPodSandbox({ filter })).items.map((i) => i.id).sort();
      expect(await ids({})).toEqual([one, two].sort());
      expect(await ids({ id: one.slice(0, 10) })).toEqual([one]);
      expect(await ids({ state: { state: 'SANDBOX_READY' } })).toEqual([one]);
      expect(await ids({ state: { state: 'SANDBOX_NOTREADY' } })).toEqual([two]);
      expect(await ids({ label_selector: { app: 'list-two' } })).toEqual([two]);
      expect(await ids({ label_selector: { tier: 'e2e' } })).toEqual([one, two].sort());
      expect(await ids({ label_selector: { tier: 'e2e', app: 'nope' } })).toEqual([]);
      expect(await ids({ id: 'ffffffffffff' })).toEqual([]);
    } finally {
      await daemon.client.runtime.RemovePodSandbox({ pod_sandbox_id: one });
      await daemon.client.runtime.RemovePodSandbox({ pod_sandbox_id: two });
    }
  });

  test('bad requests get clear errors and leave nothing behind', async () => {
    const first = (await daemon.client.runtime.RunPodSandbox({ config: pod('twice') })).pod_sandbox_id;
    try {
      await expect(daemon.client.runtime.RunPodSandbox({ config: pod('twice') })).rejects.toMatchObject({
        code: grpcStatus.ALREADY_EXISTS,
        details: expect.stringContaining(first),
      });
      const badSysctl = pod('sysctl', {
        linux: { ...pod('sysctl').linux, sysctls: { 'vm.swappiness': '1' } },
      });
      await expect(daemon.client.runtime.RunPodSandbox({ config: badSysctl })).rejects.toMatchObject({
        code: grpcStatus.INVALID_ARGUMENT,
        details: expect.stringContaining('vm.swappiness'),
      });
      await expect(
        daemon.client.runtime.RunPodSandbox({ config: pod('handler'), runtime_handler: 'nope' }),
      ).rejects.toMatchObject({
        code: grpcStatus.INVALID_ARGUMENT,
        details: expect.stringContaining('"nope"'),
      });
      // hostUsers: false asks for a user namespace of the pod's own, which berth does not make:
      // refused, not run in the host's.
      const userns = pod('userns');
      userns.linux!.security_context!.namespace_options!.userns_options = {
        mode: 'POD',
        uids: [{ host_id: 100000, container_id: 0, length: 65536 }],
        gids: [{ host_id: 100000, container_id: 0, length: 65536 }],
      };
      await expect(daemon.client.runtime.RunPodSandbox({ config: userns })).rejects.toMatchObject({
        code: grpcStatus.UNIMPLEMENTED,
        details: expect.stringContaining('user namespaces'),
      });
      const list = await daemon.client.runtime.ListPodSandbox({});
      expect(list.items.map((i) => i.id)).toEqual([first]);
      expect(await network.leases()).toHaveLength(1);
    } finally {
      await daemon.client.runtime.RemovePodSandbox({ pod_sandbox_id: first });
    }
  });

  test('a restarted daemon (after kill -9) still stops the pod and releases its address', async () => {
    const { pod_sandbox_id: id } = await daemon.client.runtime.RunPodSandbox({ config: pod('survivor') });
    const { info } = await daemon.client.runtime.PodSandboxStatus({ pod_sandbox_id: id, verbose: true });
    const pausePid = JSON.parse(info.info).pid as number;

    daemon.child.kill('SIGKILL');
    await daemon.waitExit();
    expect(() => process.kill(pausePid, 0)).not.toThrow(); // the pod lives on without the daemon

    const second = spawnDaemon(['--config', daemon.configFile]);
    const exited = new Promise((resolve) => second.once('exit', resolve));
    const client = connectCri(daemon.socket);
    try {
      for (let i = 0; i < 200; i++) {
        if (
          await client.runtime.Version({}, { timeoutMs: 500 }).then(
            () => true,
            () => false,
          )
        )
          break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const listed = await client.runtime.ListPodSandbox({});
      expect(listed.items.map((i) => [i.id, i.state])).toEqual([[id, 'SANDBOX_READY']]);
      await client.runtime.StopPodSandbox({ pod_sandbox_id: id });
      expect(await network.leases()).toEqual([]);
      await client.runtime.RemovePodSandbox({ pod_sandbox_id: id });
    } finally {
      client.close();
      second.kill('SIGTERM');
      await exited;
    }
  });
});
