import { request, type Dispatcher } from 'undici';
import { UnavailableError } from '../common/errors';
import { UnauthenticatedError } from './errors';
import { isLoopbackHost } from './mirrors';

/**
 * Registry authentication: anonymous, HTTP basic from the CRI AuthConfig, and the bearer token
 * flow (distribution "Token Authentication Specification"): a 401 carries
 * `WWW-Authenticate: Bearer realm=...,service=...,scope=...`; we get a token from the realm,
 * with the user's credentials when we have some, and retry. Tokens are kept per host, service,
 * scope and identity until they expire, and a host's challenge is remembered so that later
 * requests send a token straight away instead of collecting a 401 first.
 */

/** CRI AuthConfig (api.proto): username/password, or `auth` = base64("user:password"), or tokens. */
export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  server_address?: string;
  identity_token?: string;
  registry_token?: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header (RFC 7235 section 4.1): one or more challenges. */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const token = (): string => {
    const m = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(header.slice(i));
    if (!m) return '';
    i += m[0].length;
    return m[0];
  };
  for (;;) {
    while (i < header.length && ' \t,'.includes(header[i])) i += 1;
    const name = token();
    if (!name) break;
    let j = i;
    while (header[j] === ' ') j += 1;
    if (header[j] !== '=' || out.length === 0) {
      out.push({ scheme: name.toLowerCase(), params: {} });
      continue;
    }
    i = j + 1;
    while (header[i] === ' ') i += 1;
    let value = '';
    if (header[i] === '"') {
      for (i += 1; i < header.length && header[i] !== '"'; i += 1) {
        if (header[i] === '\\' && i + 1 < header.length) i += 1;
        value += header[i];
      }
      i += 1;
    } else {
      // Lenient: servers send unquoted URLs, which are not RFC 7230 tokens.
      value = /^[^\s,]*/.exec(header.slice(i))![0];
      i += value.length;
    }
    out[out.length - 1].params[name.toLowerCase()] = value;
  }
  return out;
}

interface Credentials {
  username: string;
  password: string;
}

/** The username and password an AuthConfig carries, if any. */
export function credentialsOf(auth: AuthConfig | undefined): Credentials | undefined {
  if (!auth) return undefined;
  if (auth.username) return { username: auth.username, password: auth.password ?? '' };
  if (auth.auth) {
    const decoded = Buffer.from(auth.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    throw new UnauthenticatedError('AuthConfig.auth is not base64 of "username:password"');
  }
  return undefined;
}

function basicHeader(c: Credentials): string {
  return 'Basic ' + Buffer.from(`${c.username}:${c.password}`).toString('base64');
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

// Token spec: a token without expires_in is valid for 60 seconds. Renew a little early.
const DEFAULT_TOKEN_LIFETIME_S = 60;
const TOKEN_EXPIRY_SLACK_MS = 5000;

export class Authenticator {
  /** The last challenge each host sent, so the next request can authenticate up front. */
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pendingTokens = new Map<string, Promise<CachedToken>>();

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The Authorization header to send before any challenge: a registry token as given, a cached
   * or freshly fetched bearer token for a host known to want one, basic credentials for a host
   * known to want them, or nothing.
   */
  async authorize(host: string, scope: string, auth: AuthConfig | undefined): Promise<string | undefined> {
    if (auth?.registry_token) return `Bearer ${auth.registry_token}`;
    const challenge = this.challenges.get(host);
    if (!challenge) return undefined;
    return this.answer(host, challenge, scope, auth);
  }

  /**
   * Answers a 401: remembers the challenge and returns the header to retry with. Throws
   * UnauthenticatedError when the challenge cannot be met (basic auth without credentials, an
   * unknown scheme).
   */
  async challenge(
    host: string,
    wwwAuthenticate: string | undefined,
    scope: string,
    auth: AuthConfig | undefined,
  ): Promise<string> {
    const challenges = parseChallenges(wwwAuthenticate ?? '');
    const chosen =
      challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (!chosen) {
      throw new UnauthenticatedError(
        `registry ${host} requires authentication with an unsupported challenge: ${wwwAuthenticate ?? '(none)'}`,
      );
    }
    this.challenges.set(host, chosen);
    // A token the registry just refused is of no more use.
    for (const key of this.tokens.keys()) if (key.startsWith(host + '|')) this.tokens.delete(key);
    const header = await this.answer(host, chosen, scope, auth);
    if (!header) throw new UnauthenticatedError(`registry ${host} requires credentials and none were given`);
    return header;
  }

  private async answer(
    host: string,
    challenge: Challenge,
    scope: string,
    auth: AuthConfig | undefined,
  ): Promise<string | undefined> {
    const creds = credentialsOf(auth);
    if (challenge.scheme === 'basic') return creds ? basicHeader(creds) : undefined;
    const realm = challenge.params.realm;
    if (!realm) throw new UnauthenticatedError(`registry ${host} sent a bearer challenge without realm`);
    const service = challenge.params.service ?? '';
    const identity = auth?.identity_token
      ? `id:${auth.identity_token}`
      : creds
        ? `user:${creds.username}`
        : 'anonymous';
    const key = `${host}|${service}|${scope}|${identity}`;
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.header;
    let pending = this.pendingTokens.get(key);
    if (!pending) {
      pending = this.fetchToken(realm, service, scope, creds, auth?.identity_token);
      this.pendingTokens.set(key, pending);
    }
    try {
      const token = await pending;
      this.tokens.set(key, token);
      return token.header;
    } finally {
      this.pendingTokens.delete(key);
    }
  }

  private async fetchToken(
    realm: string,
    service: string,
    scope: string,
    creds: Credentials | undefined,
    identityToken: string | undefined,
  ): Promise<CachedToken> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new UnauthenticatedError(`token realm "${realm}" is not a URL`);
    }
    // Credentials go over https only, or to a loopback token server.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.host))) {
      throw new UnauthenticatedError(`token realm ${realm} is not https`);
    }
    let res: Dispatcher.ResponseData;
    try {
      if (identityToken) {
        // OAuth2 refresh-token grant (token spec, "OAuth2 Token Authentication").
        const form = new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: identityToken,
          service,
          scope,
          client_id: 'berth',
        });
        res = await request(url, {
          method: 'POST',
          dispatcher: this.dispatcher,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
        });
      } else {
        if (service) url.searchParams.set('service', service);
        url.searchParams.set('scope', scope);
        res = await request(url, {
          dispatcher: this.dispatcher,
          headers: creds ? { authorization: basicHeader(creds) } : {},
        });
      }
    } catch (err) {
      throw new UnavailableError(`token server ${url.origin}: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.body.text();
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new UnauthenticatedError(
        `token server ${url.origin} refused the credentials (HTTP ${res.statusCode})`,
      );
    }
    if (res.statusCode !== 200) {
      throw new UnavailableError(`token server ${url.origin} answered HTTP ${res.statusCode}`);
    }
    let body: { token?: string; access_token?: string; expires_in?: number };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new UnauthenticatedError(`token server ${url.origin} sent a response that is not JSON`);
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new UnauthenticatedError(`token server ${url.origin} sent no token`);
    const lifetime =
      typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    return { header: `Bearer ${token}`, expiresAt: this.now() + lifetime * 1000 - TOKEN_EXPIRY_SLACK_MS };
  }
}
