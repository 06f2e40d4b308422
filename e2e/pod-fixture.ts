/**
 * The setting most container e2e tests share: a registry on loopback holding busybox images, the
 * test bridge network, a daemon with that network's conflist, the images pulled, and pods under a
 * cgroup parent of the test's own. close() removes all of it, whatever a failed test left.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ContainerConfig } from '../api/generated/runtime/v1/ContainerConfig';
import type { ContainerStatus__Output } from '../api/generated/runtime/v1/ContainerStatus';
import type { LinuxSandboxSecurityContext } from '../api/generated/runtime/v1/LinuxSandboxSecurityContext';
import type { PodSandboxConfig } from '../api/generated/runtime/v1/PodSandboxConfig';
import { removeCgroups, removeTempDir } from '../common/testing/kernel';
import { startRegistry, type TarEntry, type TestRegistry } from '../image/test-registry';
import { TestBridgeNetwork } from '../network/test-support/test-network';
import { logLines, parseLog } from '../oci/testing/cri-log';
import type { CriClient } from './cri-client';
import { TestDaemon } from './harness';
import { pushBusybox } from './test-images';

/** A busybox image to push and pull: run config fields over the defaults, files in a layer on top. */
export interface FixtureImage {
  config?: Record<string, unknown>;
  files?: TarEntry[];
}

/** Polls `read` until `accept` holds or `ms` pass; returns the last value either way. */
export async function eventually<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!accept(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

export class PodFixture {
  /** The cgroup parent of every pod, removed (with anything left in it) by close(). */
  readonly cgroupParent: string;
  /** Image references by the names given to start(); `busybox` is always there. */
  readonly images: Record<string, string> = {};
  private readonly podConfigs = new Map<string, PodSandboxConfig>();
  private registry?: TestRegistry;
  private network?: TestBridgeNetwork;
  private daemonInstance?: TestDaemon;

  private constructor(
    /** A temp dir for the test's own files (pod logs live in logs/). */
    readonly workDir: string,
    name: string,
  ) {
    this.cgroupParent = `/berth-e2e-${name}-${process.pid}`;
  }

  /**
   * Starts everything; on failure tears down what it started and throws. `daemonConfig` is merged
   * into the daemon's test config.
   */
  static async start(
    name: string,
    images: Record<string, FixtureImage> = {},
    daemonConfig: Record<string, unknown> = {},
  ): Promise<PodFixture> {
    const fixture = new PodFixture(fs.mkdtempSync(path.join(os.tmpdir(), `berth-e2e-${name}-`)), name);
    try {
      fs.mkdirSync(fixture.logDir);
      fixture.registry = await startRegistry();
      const all: Record<string, FixtureImage> = { busybox: {}, ...images };
      for (const [key, image] of Object.entries(all)) {
        fixture.images[key] = await pushBusybox(
          fixture.registry,
          `e2e/${key.toLowerCase()}`,
          'latest',
          image.config,
          image.files,
        );
      }
      fixture.network = await TestBridgeNetwork.create(path.join(fixture.workDir, 'ipam'));
      fixture.daemonInstance = await TestDaemon.start({
        config: { cni: { bin_dirs: ['/usr/lib/cni'] }, ...daemonConfig },
      });
      await fixture.network.writeConflist(path.join(fixture.daemon.dir, 'cni', 'net.d'));
      for (const ref of Object.values(fixture.images)) {
        await fixture.client.image.PullImage({ image: { image: ref } });
      }
      return fixture;
    } catch (err) {
      await fixture.close();
      throw err;
    }
  }

  get daemon(): TestDaemon {
    if (!this.daemonInstance) throw new Error('the fixture has no daemon');
    return this.daemonInstance;
  }

  get client(): CriClient {
    return this.daemon.client;
  }

  get logDir(): string {
    return path.join(this.workDir, 'logs');
  }

  /**
   * A pod's config: its own log directory, the fixture's cgroup parent, and the namespace options
   * of a plain pod (pod network and IPC, a pid namespace per container) under `security`'s.
   */
  podConfig(name: string, security: LinuxSandboxSecurityContext = {}): PodSandboxConfig {
    return {
      metadata: { name, namespace: 'e2e', uid: `uid-${name}`, attempt: 0 },
      hostname: name,
      log_directory: path.join(this.logDir, name),
      linux: {
        cgroup_parent: this.cgroupParent,
        security_context: {
          ...security,
          namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD', ...security.namespace_options },
        },
      },
    };
  }

  /** RunPodSandbox with podConfig(name, security); returns the pod's ID. */
  async runPod(name: string, security: LinuxSandboxSecurityContext = {}): Promise<string> {
    const config = this.podConfig(name, security);
    const { pod_sandbox_id } = await this.client.runtime.RunPodSandbox({ config });
    this.podConfigs.set(pod_sandbox_id, config);
    return pod_sandbox_id;
  }

  /**
   * A container's config as the kubelet sends it for a plain container: the busybox image, a log
   * file named after it, a pid namespace of its own; `extra` replaces whole fields.
   */
  containerConfig(name: string, command: string[], extra: Partial<ContainerConfig> = {}): ContainerConfig {
    return {
      metadata: { name, attempt: 0 },
      image: { image: this.images.busybox },
      command,
      log_path: `${name}.log`,
      labels: { container: name },
      linux: { resources: {}, security_context: { namespace_options: { pid: 'CONTAINER' } } },
      ...extra,
    };
  }

  /** CreateContainer in a pod runPod made; returns the container's ID. */
  async create(
    podId: string,
    name: string,
    command: string[],
    extra: Partial<ContainerConfig> = {},
  ): Promise<string> {
    const { container_id } = await this.client.runtime.CreateContainer({
      pod_sandbox_id: podId,
      config: this.containerConfig(name, command, extra),
      sandbox_config: this.podConfigs.get(podId),
    });
    return container_id;
  }

  /** CreateContainer and StartContainer; returns the container's ID. */
  async run(
    podId: string,
    name: string,
    command: string[],
    extra: Partial<ContainerConfig> = {},
  ): Promise<string> {
    const id = await this.create(podId, name, command, extra);
    await this.client.runtime.StartContainer({ container_id: id });
    return id;
  }

  async status(id: string): Promise<ContainerStatus__Output> {
    return (await this.client.runtime.ContainerStatus({ container_id: id })).status!;
  }

  /** The container's verbose status info (bundle, pid, cgroupsPath...). */
  async info(id: string): Promise<Record<string, unknown>> {
    const { info } = await this.client.runtime.ContainerStatus({ container_id: id, verbose: true });
    return JSON.parse(info.info) as Record<string, unknown>;
  }

  /** Waits until the container has exited; returns its status. */
  exited(id: string, ms = 10_000): Promise<ContainerStatus__Output> {
    return eventually(
      () => this.status(id),
      (s) => s.state === 'CONTAINER_EXITED',
      ms,
    );
  }

  /** ExecSync with the output as text. */
  async exec(id: string, cmd: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const result = await this.client.runtime.ExecSync({ container_id: id, cmd, timeout: 10 });
    return {
      stdout: Buffer.from(result.stdout).toString(),
      stderr: Buffer.from(result.stderr).toString(),
      exitCode: result.exit_code,
    };
  }

  /** The lines of one stream of the container's log, P pieces joined up to their F. */
  async logLines(id: string, stream: 'stdout' | 'stderr'): Promise<string[]> {
    const { log_path } = await this.status(id);
    return logLines(parseLog(log_path), stream);
  }

  /** Removes every pod through the daemon, stops it, then the network, registry, cgroups and files. */
  async close(): Promise<void> {
    if (this.daemonInstance) {
      const client = this.daemonInstance.client;
      const pods = await client.runtime.ListPodSandbox({}).catch(() => ({ items: [] }));
      for (const pod of pods.items) {
        await client.runtime.RemovePodSandbox({ pod_sandbox_id: pod.id }).catch(() => undefined);
      }
      await this.daemonInstance.stop();
    }
    await this.network?.destroy();
    await this.registry?.stop();
    removeCgroups(this.cgroupParent);
    removeTempDir(this.workDir);
  }
}
