/**
 * Pull and unpack of a multi-layer image, berth's ImageStore against containerd's
 * `ctr images pull`, side by side on this host, from one docker-registry on loopback.
 *
 *   npm run bench -- image-pull [--runs 5] [--layers 5] [--layer-mib 20] [--only berth|containerd]
 *                               [--dir /dev/shm]
 *
 * The image is built here: each layer holds large random files (incompressible, 80% of its
 * bytes) and a thousand small text files in directories, gzip-compressed, about 100 MiB in all
 * by default. Every run starts from an empty store: berth gets a fresh root, containerd a fresh
 * root and state (a new daemon per run, started before the clock starts). berth is timed around
 * `ImageStore.pull` in this process; containerd around the `ctr` command, which includes the
 * start of the ctr process (some 20 ms). Runs alternate between the two. Both stores live under
 * `--dir` (default: the temp dir); on a tmpfs the disk is out of the picture.
 *
 * Run as root, with Debian's containerd installed (`apt-get install containerd`). Everything it
 * makes (registry, daemons, snapshots, temp dirs) is removed at the end.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { removeTempDir } from '../common/testing/kernel';
import { ImageStore } from '../image/image-store';
import {
  buildImage,
  buildLayer,
  pushImage,
  startRegistry,
  type BuiltLayer,
  type TarEntry,
} from '../image/test-registry';
import { BenchContainerd } from './lib/containerd';
import { formatMs, summarize, timed } from './lib/stats';

const execFileAsync = promisify(execFile);

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    layers: { type: 'string', default: '5' },
    'layer-mib': { type: 'string', default: '20' },
    only: { type: 'string', default: 'berth,containerd' },
    dir: { type: 'string', default: os.tmpdir() },
  },
});
const RUNS = Number(values.runs);
const LAYERS = Number(values.layers);
const LAYER_BYTES = Number(values['layer-mib']) * 1024 * 1024;
const ONLY = (values.only as string).split(',');
const DIR = values.dir as string;
const SMALL_FILES = 1000;

/**
 * One layer of `bytes` uncompressed content: 80% in four random files, the rest in small files
 * of base64 text (which gzip shrinks to about three quarters), 100 to a directory.
 */
async function makeLayer(index: number, bytes: number): Promise<BuiltLayer> {
  const top = `layer${index}`;
  const entries: TarEntry[] = [{ name: `${top}/`, type: 'directory' }];
  const large = Math.floor((bytes * 0.8) / 4);
  for (let i = 0; i < 4; i++) entries.push({ name: `${top}/blob-${i}.bin`, content: randomBytes(large) });
  const small = Math.floor((bytes * 0.2) / SMALL_FILES);
  for (let i = 0; i < SMALL_FILES; i++) {
    const dir = `${top}/d${Math.floor(i / 100)}`;
    if (i % 100 === 0) entries.push({ name: `${dir}/`, type: 'directory' });
    entries.push({
      name: `${dir}/f${i}.txt`,
      content: randomBytes((small * 3) / 4).toString('base64'),
    });
  }
  return buildLayer(entries, 'gzip');
}

async function pullWithBerth(ref: string): Promise<number> {
  const root = fs.mkdtempSync(path.join(DIR, 'berth-bench-pull-berth-'));
  const store = new ImageStore({ root });
  try {
    await store.init();
    const [ms] = await timed(() => store.pull(ref));
    return ms;
  } finally {
    await store.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function pullWithContainerd(ref: string): Promise<number> {
  const dir = fs.mkdtempSync(path.join(DIR, 'berth-bench-pull-containerd-'));
  const confDir = path.join(dir, 'cni');
  fs.mkdirSync(confDir);
  let containerd: BenchContainerd | undefined;
  try {
    containerd = await BenchContainerd.start(dir, { confDir, sandboxImage: 'berth.local/unused:bench' });
    const ctr = ['--address', containerd.socket, '--namespace', 'bench'];
    const [ms] = await timed(() =>
      execFileAsync('ctr', [...ctr, 'images', 'pull', '--plain-http', ref], { maxBuffer: 64 << 20 }),
    );
    // The pull unpacked into the overlayfs snapshotter: the image's top snapshot is there.
    const { stdout } = await execFileAsync('ctr', [...ctr, 'snapshots', 'ls']);
    const snapshots = stdout.trim().split('\n').length - 1;
    if (snapshots !== LAYERS) throw new Error(`containerd has ${snapshots} snapshots, expected ${LAYERS}`);
    return ms;
  } finally {
    await containerd?.stop();
    removeTempDir(dir);
  }
}

async function main(): Promise<void> {
  const registry = await startRegistry();
  try {
    const t0 = Date.now();
    const layers: BuiltLayer[] = [];
    for (let i = 0; i < LAYERS; i++) layers.push(await makeLayer(i, LAYER_BYTES));
    const image = buildImage(layers);
    await pushImage(registry.url, 'bench/big', 'latest', image);
    const compressed = layers.reduce((n, l) => n + l.size, 0);
    console.log(
      `image: ${LAYERS} gzip layers, ${(compressed / 2 ** 20).toFixed(1)} MiB compressed, ` +
        `${((LAYERS * LAYER_BYTES) / 2 ** 20).toFixed(0)} MiB unpacked, ` +
        `${LAYERS * (SMALL_FILES + 4)} files; built and pushed in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const ref = `${registry.host}/bench/big:latest`;
    const samples: Record<string, number[]> = { berth: [], containerd: [] };
    for (let i = 0; i < RUNS; i++) {
      if (ONLY.includes('berth')) samples.berth.push(await pullWithBerth(ref));
      if (ONLY.includes('containerd')) samples.containerd.push(await pullWithContainerd(ref));
      console.log(
        `run ${i + 1}: ${Object.entries(samples)
          .filter(([, s]) => s.length)
          .map(([name, s]) => `${name} ${s[i].toFixed(0)} ms`)
          .join(', ')}`,
      );
    }
    console.log(`\n${RUNS} pulls each into an empty store; times in ms`);
    console.log(
      `  ${'puller'.padEnd(12)} ${'median'.padStart(8)} ${'p95'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)}   MiB/s (median)`,
    );
    for (const [name, s] of Object.entries(samples)) {
      if (!s.length) continue;
      const x = summarize(s);
      const rate = compressed / 2 ** 20 / (x.median / 1000);
      console.log(
        `  ${name.padEnd(12)} ${formatMs(x.median)} ${formatMs(x.p95)} ${formatMs(x.min)} ${formatMs(x.max)}   ${rate.toFixed(1)}`,
      );
    }
    if (samples.berth.length && samples.containerd.length) {
      const ratio = summarize(samples.berth).median / summarize(samples.containerd).median;
      console.log(`  berth / containerd (median): ${ratio.toFixed(2)}`);
    }
  } finally {
    await registry.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
