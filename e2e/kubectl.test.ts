/**
 * The real Kubernetes client against berth's streaming server: kubectl exec, attach and
 * port-forward through a stand-in for the API server and the kubelet (e2e/kubectl-front.ts),
 * which proxies kubectl's upgraded connections to the URLs berth hands out, as a node does.
 * Two kubectl generations: Debian's 1.20, which speaks SPDY only, and the host's own kubectl
 * when there is one (1.31 on speak WebSocket for exec and fall back to SPDY for port-forward),
 * also pinned to SPDY.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { packageRoot } from '../common/package-root';
import { KubectlFront } from './kubectl-front';
import { PodFixture } from './pod-fixture';

interface Kubectl {
  label: string;
  bin: string;
  env: Record<string, string>;
}

/** Debian's kubernetes-client, unpacked (not installed) by deploy/install.sh into the checkout. */
const DEBIAN_KUBECTL = path.join(packageRoot(), '.cache', 'kubernetes-client', 'usr', 'bin', 'kubectl');

function kubectls(): Kubectl[] {
  const found: Kubectl[] = [];
  if (fs.existsSync(DEBIAN_KUBECTL))
    found.push({ label: "Debian's kubectl 1.20", bin: DEBIAN_KUBECTL, env: {} });
  const onPath = (process.env.PATH ?? '')
    .split(':')
    .map((dir) => path.join(dir, 'kubectl'))
    .find((file) => fs.existsSync(file));
  if (onPath) {
    found.push({ label: "the host's kubectl", bin: onPath, env: {} });
    found.push({
      label: "the host's kubectl, SPDY only",
      bin: onPath,
      env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' },
    });
  }
  return found;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('kubectl exec, attach and port-forward', () => {
  let fixture: PodFixture;
  let front: KubectlFront;
  const clients = kubectls();

  beforeAll(async () => {
    fixture = await PodFixture.start('kubectl');
    const podId = await fixture.runPod('web');
    const shell = await fixture.run(podId, 'shell', ['sleep', '3600']);
    const web = await fixture.run(podId, 'web', [
      'sh',
      '-c',
      'mkdir -p /tmp/www && echo hello-from-pod > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www',
    ]);
    const ticker = await fixture.run(podId, 'ticker', [
      'sh',
      '-c',
      'while true; do echo tick; sleep 0.2; done',
    ]);
    front = await KubectlFront.start(fixture.client, [
      { name: 'web', podId, containers: { shell, web, ticker } },
    ]);
  }, 180_000);

  afterAll(async () => {
    await front?.close();
    await fixture?.close();
  });

  test("a kubectl to test with is there (deploy/install.sh unpacks Debian's)", () => {
    expect(clients.length).toBeGreaterThan(0);
  });

  /** Starts kubectl against the front, with no kubeconfig but the client's own settings. */
  const startKubectl = (
    k: Kubectl,
    args: string[],
    stdin: 'pipe' | 'ignore' = 'ignore',
  ): ChildProcessByStdio<Writable | null, Readable, Readable> =>
    spawn(k.bin, ['--server', front.url, '-n', 'default', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: fixture.daemon.dir, KUBECONFIG: '/dev/null', ...k.env },
      stdio: [stdin, 'pipe', 'pipe'],
    }) as ChildProcessByStdio<Writable | null, Readable, Readable>;

  /** Runs kubectl to its end; `input` goes to its stdin. */
  const kubectl = (k: Kubectl, args: string[], input?: Buffer): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = startKubectl(k, ['--request-timeout=60s', ...args], 'pipe');
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin!.on('error', () => undefined); // kubectl may exit before it read its input
      child.stdin!.end(input);
    });

  describe.each(clients.map((k) => [k.label, k] as const))('%s', (_label, k) => {
    test('exec: output, stderr apart, and the exit code', async () => {
      const ok = await kubectl(k, ['exec', 'web', '-c', 'shell', '--', 'sh', '-c', 'echo out; echo err >&2']);
      expect(ok).toMatchObject({ code: 0, stdout: 'out\n' });
      expect(ok.stderr).toContain('err\n');
      const failed = await kubectl(k, ['exec', 'web', '-c', 'shell', '--', 'sh', '-c', 'exit 3']);
      expect(failed.code).toBe(3);
    }, 60_000);

    test('exec -i: 4 MB of stdin reach the command whole', async () => {
      const input = Buffer.alloc(4_000_000, 'x');
      const run = await kubectl(k, ['exec', '-i', 'web', '-c', 'shell', '--', 'wc', '-c'], input);
      expect(run).toMatchObject({ code: 0 });
      expect(run.stdout.trim()).toBe('4000000');
    }, 60_000);

    test("attach: the container's output as it comes", async () => {
      const child = startKubectl(k, ['attach', 'web', '-c', 'ticker']);
      try {
        let out = '';
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.split('tick').length > 3) resolve();
          });
          child.on('close', (code) =>
            reject(new Error(`kubectl attach ended (${code}) after ${JSON.stringify(out)}`)),
          );
        });
      } finally {
        child.kill();
      }
    }, 60_000);

    test('port-forward: HTTP to a server in the pod', async () => {
      const child = startKubectl(k, ['port-forward', 'pod/web', ':8080']);
      try {
        const port = await new Promise<number>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(out);
            if (m) resolve(Number(m[1]));
          });
          let err = '';
          child.stderr.on('data', (d: Buffer) => (err += d.toString()));
          child.on('close', (code) =>
            reject(new Error(`kubectl port-forward ended (${code}): ${out}${err}`)),
          );
        });
        for (let i = 0; i < 3; i++) {
          const res = await fetch(`http://127.0.0.1:${port}/`);
          expect(await res.text()).toBe('hello-from-pod\n');
        }
      } finally {
        child.kill();
      }
    }, 60_000);
  });
});
