/**
 * Single-use, short-lived, unguessable tokens for streaming requests: an RPC stores its request
 * and hands out the token in the URL; the first connection with it takes the request, later
 * ones and those after the deadline find nothing (as the kubelet's streaming request cache).
 */
import { randomBytes } from 'node:crypto';
import { ResourceExhaustedError } from '../../common/errors';

/** The kubelet's streaming server keeps requests for one minute. */
export const DEFAULT_TOKEN_TTL_MS = 60_000;
/** Requests waiting for their client at once; more are refused rather than piled up. */
export const MAX_PENDING_REQUESTS = 1000;

export class RequestCache<T> {
  private readonly entries = new Map<string, { value: T; expires: number }>();

  constructor(
    private readonly ttlMs = DEFAULT_TOKEN_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Stores value under a new random token (128 bits, URL-safe). */
  insert(value: T): string {
    this.evictExpired();
    if (this.entries.size >= MAX_PENDING_REQUESTS) {
      throw new ResourceExhaustedError(`too many streaming requests waiting (${MAX_PENDING_REQUESTS})`);
    }
    const token = randomBytes(16).toString('base64url');
    this.entries.set(token, { value, expires: this.now() + this.ttlMs });
    return token;
  }

  /** The value stored under token, which is then gone; undefined if unknown or expired. */
  consume(token: string): T | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    return entry.expires > this.now() ? entry.value : undefined;
  }

  get size(): number {
    this.evictExpired();
    return this.entries.size;
  }

  private evictExpired(): void {
    const now = this.now();
    for (const [token, entry] of this.entries) if (entry.expires <= now) this.entries.delete(token);
  }
}
