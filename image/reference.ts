import { InvalidArgumentError } from '../common/errors';

/**
 * Image references, parsed and normalized the way Docker and the distribution project do
 * (github.com/distribution/reference, normalize.go): `busybox` means
 * `docker.io/library/busybox:latest`; the first path component is a registry host only when it
 * contains a `.` or a `:` or is `localhost`.
 */

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
/** The host that serves docker.io's registry API. */
const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

// Grammar from distribution/reference regexp.go.
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainRe = new RegExp(
  `^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?$`,
);
const pathComponentRe = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const sha256DigestRe = /^sha256:[0-9a-f]{64}$/;
const hex64Re = /^[0-9a-f]{64}$/;
const MAX_NAME_LENGTH = 255;

export interface ImageReference {
  /** Registry host, with port when one was given: `docker.io`, `localhost:5000`. */
  readonly domain: string;
  /** Repository path inside the registry: `library/busybox`, `team/sub/app`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** `domain/path`, the repository name used in repo tags and repo digests. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The canonical string: `domain/path:tag`, `domain/path@digest` or `domain/path:tag@digest`. */
export function formatReference(ref: ImageReference): string {
  let s = repositoryName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** What to ask the registry's manifest endpoint for: the digest when pinned, else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** The host[:port] that serves the registry API for a reference's domain. */
export function apiHost(domain: string): string {
  return domain === DEFAULT_DOMAIN ? DOCKER_HUB_API_HOST : domain;
}

export function isSha256Digest(s: string): boolean {
  return sha256DigestRe.test(s);
}

/**
 * Parses a user-supplied image name and normalizes it. A reference without tag and digest gets
 * `:latest`. Throws InvalidArgumentError with the reason when the name is malformed.
 */
export function parseReference(input: string): ImageReference {
  const fail = (why: string): never => {
    throw new InvalidArgumentError(`invalid image reference "${input}": ${why}`);
  };
  if (input.length === 0) fail('empty');
  if (input !== input.trim()) fail('surrounding whitespace');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) fail(`malformed digest "${digest}"`);
    if (!digest.startsWith('sha256:')) fail(`unsupported digest algorithm in "${digest}" (only sha256)`);
    if (!sha256DigestRe.test(digest)) fail(`malformed sha256 digest "${digest}"`);
  }

  // A tag is the part after the last ':' that comes after the last '/', so `host:5000/app`
  // keeps its port and `host:5000/app:v1` has tag v1.
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) fail(`malformed tag "${tag}"`);
  }

  if (hex64Re.test(rest) && tag === undefined && digest === undefined) {
    fail('a 64-character hex string is an image ID, not a repository name');
  }

  let domain: string;
  let path: string;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (
    slash < 0 ||
    (!first.includes('.') && !first.includes(':') && first !== 'localhost' && first.toLowerCase() === first)
  ) {
    domain = DEFAULT_DOMAIN;
    path = rest;
  } else {
    domain = first;
    path = rest.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;

  if (!domainRe.test(domain)) fail(`malformed registry host "${domain}"`);
  if (path.length === 0) fail('empty repository path');
  for (const component of path.split('/')) {
    if (pathComponentRe.test(component)) continue;
    if (pathComponentRe.test(component.toLowerCase())) fail('repository name must be lowercase');
    fail(`malformed repository path component "${component}"`);
  }
  if (`${domain}/${path}`.length > MAX_NAME_LENGTH) fail(`name longer than ${MAX_NAME_LENGTH} characters`);

  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}
