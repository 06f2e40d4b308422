import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../common/package-root';
import { connectCri, type CriClient } from '../../e2e/cri-client';
import { writePauseImageTar } from './pause-image';

/** The sandbox image the benchmarks give containerd: our berth-pause, as berth runs it. */
const PAUSE_IMAGE = 'berth.local/pause:bench';

/**
 * containerd (Debian's, with its CRI plugin and runc) started for a side-by-side benchmark: its
 * own root, state, socket and CNI conf dir under `dir`, the given sandbox image.
 */
export class BenchContainerd {
  private constructor(
    readonly dir: string,
    readonly socket: string,
    readonly client: CriClient,
    private readonly child: ChildProcess,
  ) {}

  static async start(
    dir: string,
    options: { confDir: string; sandboxImage: string },
  ): Promise<BenchContainerd> {
    const socket = path.join(dir, 'containerd.sock');
    const config = path.join(dir, 'containerd.toml');
    fs.writeFileSync(
      config,
      `version = 2
root = "${dir}/root"
state = "${dir}/state"
[grpc]
  address = "${socket}"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${options.sandboxImage}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${options.confDir}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
`,
    );
    const log = fs.openSync(path.join(dir, 'containerd.log'), 'a');
    const child = spawn('containerd', ['--config', config], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const client = connectCri(socket);
    const instance = new BenchContainerd(dir, socket, client, child);
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) throw new Error(`containerd exited; see ${dir}/containerd.log`);
      const ready = await client.runtime.Status({}, { timeoutMs: 500 }).then(
        (s) => s.status?.conditions.find((c) => c.type === 'RuntimeReady')?.status === true,
        () => false,
      );
      if (ready) return instance;
      await new Promise((r) => setTimeout(r, 100));
    }
    await instance.stop();
    throw new Error(`containerd did not become ready; see ${dir}/containerd.log`);
  }

  /** containerd's own process (its shims are separate processes, found by their -address). */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Starts containerd with berth-pause as its sandbox image, imported from a tarball in `dir`. */
  static async startWithBerthPause(dir: string, confDir: string): Promise<BenchContainerd> {
    const containerd = await BenchContainerd.start(dir, { confDir, sandboxImage: PAUSE_IMAGE });
    try {
      const tarball = path.join(dir, 'pause.tar');
      await writePauseImageTar(
        path.join(packageRoot(), 'native', 'bin', 'berth-pause'),
        PAUSE_IMAGE,
        tarball,
      );
      containerd.importImage(tarball);
      return containerd;
    } catch (err) {
      await containerd.stop();
      throw err;
    }
  }

  importImage(tarball: string): void {
    execFileSync('ctr', ['--address', this.socket, '--namespace', 'k8s.io', 'images', 'import', tarball], {
      stdio: 'ignore',
    });
  }

  /** Stops containerd (its shims go with the pods the benchmark removed) and unmounts its snapshots. */
  async stop(): Promise<void> {
    this.client.close();
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    const mounts = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4])
      .filter((mountPoint) => mountPoint?.startsWith(this.dir))
      .reverse();
    for (const mountPoint of mounts) execFileSync('umount', ['--lazy', mountPoint]);
  }
}
