import type { Readable } from 'node:stream';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '../common/errors';
import { Authenticator, type AuthConfig } from './auth';
import { sha256Digest } from './digest';
import { DigestMismatchError, PermissionDeniedError, UnauthenticatedError } from './errors';
import { MANIFEST_ACCEPT } from './manifest';
import type { Endpoint } from './mirrors';
import { isSha256Digest } from './reference';

/**
 * A client for the OCI distribution API (distribution-spec spec.md, "Pulling manifests" and
 * "Pulling blobs") over undici: GET manifests with the Accept header of every type we read, GET
 * blobs following redirects (registries send blob downloads to object storage), authentication
 * answered through the Authenticator. It returns content; callers verify blob digests while
 * streaming (digest.ts) and this client verifies manifests, which it reads whole.
 */

export interface FetchedManifest {
  digest: string;
  contentType: string | undefined;
  body: Buffer;
}

export interface RegistryClientOptions {
  /** Seconds to wait for response headers. */
  headersTimeoutS?: number;
  /** Seconds a body may stay silent before the download fails. */
  bodyTimeoutS?: number;
  userAgent?: string;
}

// distribution-spec: registries SHOULD accept manifests of at least 4 MiB; refuse larger ones
// rather than buffer whatever a server sends.
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTIONS = 5;

export class RegistryClient {
  private readonly dispatcher: Dispatcher;
  private readonly authenticator: Authenticator;
  private readonly userAgent: string;
  private closed?: Promise<void>;

  constructor(options: RegistryClientOptions = {}) {
    const agent = new Agent({
      headersTimeout: (options.headersTimeoutS ?? 30) * 1000,
      bodyTimeout: (options.bodyTimeoutS ?? 60) * 1000,
      connections: 16,
    });
    // undici's redirect handler drops Authorization when a redirect leaves the origin, so
    // registry credentials never reach the object store a blob redirect points at.
    this.dispatcher = agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTIONS }));
    this.authenticator = new Authenticator(agent);
    this.userAgent = options.userAgent ?? 'berth';
  }

  /** Waits for requests in flight, then closes connections. Safe to call twice. */
  close(): Promise<void> {
    this.closed ??= this.dispatcher.close();
    return this.closed;
  }

  /** Aborts requests in flight (their streams fail) and closes connections. Safe to call twice. */
  destroy(): Promise<void> {
    this.closed ??= this.dispatcher.destroy();
    return this.closed;
  }

  /** Fetches a manifest or index by tag or digest, verifying it against the digest it claims. */
  async getManifest(
    ep: Endpoint,
    reference: string,
    auth?: AuthConfig,
    signal?: AbortSignal,
  ): Promise<FetchedManifest> {
    const res = await this.get(ep, `manifests/${reference}`, { accept: MANIFEST_ACCEPT }, auth, signal);
    const declared = Number(res.headers['content-length']);
    if (declared > MAX_MANIFEST_BYTES) {
      res.body.destroy();
      throw new InvalidArgumentError(
        `manifest ${reference} is ${declared} bytes, more than ${MAX_MANIFEST_BYTES}`,
      );
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_MANIFEST_BYTES) {
        res.body.destroy();
        throw new InvalidArgumentError(`manifest ${reference} is more than ${MAX_MANIFEST_BYTES} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks);
    const digest = sha256Digest(body);
    // By digest, the content must hash to it; by tag, the registry's Docker-Content-Digest (when
    // sent) must agree with what we got (distribution-spec, "Pulling manifests").
    const expected = isSha256Digest(reference) ? reference : header(res, 'docker-content-digest');
    if (expected !== undefined && isSha256Digest(expected) && expected !== digest) {
      throw new DigestMismatchError(
        `manifest ${reference} from ${ep.host}: digest ${digest}, expected ${expected}`,
      );
    }
    return { digest, contentType: header(res, 'content-type'), body };
  }

  /** Opens a blob for download; the caller verifies digest and size while reading. */
  async openBlob(ep: Endpoint, digest: string, auth?: AuthConfig, signal?: AbortSignal): Promise<Readable> {
    const res = await this.get(ep, `blobs/${digest}`, {}, auth, signal);
    // The caller pipes the body a few ticks later; an abort (destroy) in between must not turn
    // into an unhandled 'error' event. pipeline still sees the error: the stream is `errored`.
    res.body.on('error', () => undefined);
    return res.body;
  }

  private async get(
    ep: Endpoint,
    resource: string,
    headers: Record<string, string>,
    auth: AuthConfig | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Dispatcher.ResponseData> {
    const url = `${ep.insecure ? 'http' : 'https'}://${ep.host}/v2/${ep.repository}/${resource}`;
    const scope = `repository:${ep.repository}:pull`;
    let authorization = await this.authenticator.authorize(ep.host, scope, auth);
    for (let attempt = 0; ; attempt += 1) {
      const res = await this.send(url, { ...headers, ...(authorization ? { authorization } : {}) }, signal);
      if (res.statusCode === 401 && attempt === 0) {
        await res.body.dump();
        authorization = await this.authenticator.challenge(
          ep.host,
          header(res, 'www-authenticate'),
          scope,
          auth,
        );
        continue;
      }
      if (res.statusCode === 200) return res;
      const detail = await errorDetail(res);
      const where = `${ep.host}/${ep.repository} ${resource}`;
      switch (res.statusCode) {
        case 401:
          throw new UnauthenticatedError(`${where}: registry refused the credentials${detail}`);
        case 403:
          throw new PermissionDeniedError(`${where}: access denied${detail}`);
        case 404:
          throw new NotFoundError(`${where}: not found${detail}`);
        default:
          throw new UnavailableError(`${where}: HTTP ${res.statusCode}${detail}`);
      }
    }
  }

  /** One request; `signal` aborts it, and the body of its response while it is read. */
  private async send(
    url: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await request(url, {
        dispatcher: this.dispatcher,
        headers: { 'user-agent': this.userAgent, ...headers },
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new UnavailableError(`${url}: ${(err as Error).message}`, { cause: err });
    }
  }
}

function header(res: Dispatcher.ResponseData, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The registry's error message (distribution-spec "Error Codes"), for the error we raise. */
async function errorDetail(res: Dispatcher.ResponseData): Promise<string> {
  try {
    const text = (await res.body.text()).slice(0, 4096);
    const parsed = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    const first = parsed.errors?.[0];
    if (first) return `: ${[first.code, first.message].filter(Boolean).join(' ')}`;
  } catch {
    // Not JSON, or the body failed: the status alone must do.
  }
  return '';
}
