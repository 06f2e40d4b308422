/**
 * Just enough of a Kubernetes API server for kubectl's exec, attach and port-forward to reach
 * berth's streaming server the way they do on a node: kubectl reads the pod object, then
 * upgrades a POST on the pod's exec/attach/portforward subresource; the API server and the
 * kubelet ask the runtime for a streaming URL (the CRI Exec, Attach and PortForward RPCs) and
 * proxy the upgraded connection to it untouched. Here one process plays both parts.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { CriClient } from './cri-client';

/** A pod as kubectl sees it: its name, the CRI pod id, and its containers by name. */
export interface FrontPod {
  name: string;
  podId: string;
  containers: Record<string, string>;
}

export class KubectlFront {
  private readonly sockets = new Set<Duplex>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(client: CriClient, pods: FrontPod[]): Promise<KubectlFront> {
    const byName = new Map(pods.map((p) => [p.name, p]));
    const server = http.createServer((req, res) => {
      const pathname = req.url?.split('?')[0] ?? '';
      const discovery = DISCOVERY[pathname];
      if (req.method === 'GET' && discovery) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(discovery));
        return;
      }
      const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/?]+)$/.exec(pathname);
      const pod = match && byName.get(match[2]);
      if (req.method !== 'GET' || !match || !pod) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            reason: 'NotFound',
            code: 404,
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(podObject(match[1], pod)));
    });
    const front = new KubectlFront(server, '');
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      front.sockets.add(socket);
      socket.on('close', () => front.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      front.proxy(client, byName, req, socket, head).catch((err: Error) => {
        socket.end(`HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n${err.message}\n`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    return Object.assign(front, { url: `http://127.0.0.1:${port}` });
  }

  /** Asks the runtime for the streaming URL of the request and splices the connection to it. */
  private async proxy(
    client: CriClient,
    pods: Map<string, FrontPod>,
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://front');
    const match = /^\/api\/v1\/namespaces\/[^/]+\/pods\/([^/]+)\/(exec|attach|portforward)$/.exec(
      url.pathname,
    );
    const pod = match && pods.get(match[1]);
    if (!match || !pod) throw new Error(`no such pod subresource: ${url.pathname}`);
    const flag = (name: string): boolean => ['true', '1'].includes(url.searchParams.get(name) ?? '');
    const containerId = pod.containers[url.searchParams.get('container') ?? Object.keys(pod.containers)[0]];
    let target: string;
    if (match[2] === 'exec') {
      target = (
        await client.runtime.Exec({
          container_id: containerId,
          cmd: url.searchParams.getAll('command'),
          stdin: flag('stdin'),
          stdout: flag('stdout'),
          stderr: flag('stderr'),
          tty: flag('tty'),
        })
      ).url;
    } else if (match[2] === 'attach') {
      target = (
        await client.runtime.Attach({
          container_id: containerId,
          stdin: flag('stdin'),
          stdout: flag('stdout'),
          stderr: flag('stderr'),
          tty: flag('tty'),
        })
      ).url;
    } else {
      target = (await client.runtime.PortForward({ pod_sandbox_id: pod.podId, port: [] })).url;
    }
    const to = new URL(target);
    const upstream = net.connect(Number(to.port), to.hostname);
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    await new Promise<void>((resolve) => upstream.once('connect', resolve));
    // The request as kubectl made it, at the streaming server's path: the same upgrade headers.
    const lines = [`${req.method} ${to.pathname}${to.search} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i];
      lines.push(`${name}: ${name.toLowerCase() === 'host' ? to.host : req.rawHeaders[i + 1]}`);
    }
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** What kubectl reads before it names a resource: the core group and its pods, nothing else. */
const DISCOVERY: Record<string, object> = {
  '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] },
  '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [] },
  '/api/v1': {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      {
        name: 'pods',
        singularName: 'pod',
        namespaced: true,
        kind: 'Pod',
        verbs: ['get'],
        shortNames: ['po'],
      },
      {
        name: 'pods/attach',
        singularName: '',
        namespaced: true,
        kind: 'PodAttachOptions',
        verbs: ['create', 'get'],
      },
      {
        name: 'pods/exec',
        singularName: '',
        namespaced: true,
        kind: 'PodExecOptions',
        verbs: ['create', 'get'],
      },
      {
        name: 'pods/portforward',
        singularName: '',
        namespaced: true,
        kind: 'PodPortForwardOptions',
        verbs: ['create', 'get'],
      },
    ],
  },
};

function podObject(namespace: string, pod: FrontPod): object {
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name: pod.name, namespace, uid: pod.podId },
    spec: { containers: Object.keys(pod.containers).map((name) => ({ name, image: 'busybox' })) },
    status: {
      phase: 'Running',
      containerStatuses: Object.keys(pod.containers).map((name) => ({
        name,
        ready: true,
        state: { running: {} },
      })),
    },
  };
}
