import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestMismatchError } from './errors';

/** `sha256:<hex>` of a buffer. */
export function sha256Digest(data: Uint8Array | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** The hex part of a `sha256:` digest (callers validate the digest first). */
export function digestHex(digest: string): string {
  return digest.slice('sha256:'.length);
}

/**
 * A pass-through stream that hashes and counts what flows through it and fails the stream when
 * the content does not match: as soon as it grows past `expectedSize` (so a hostile server
 * cannot make us write without bound), and at the end when size or digest differ. Content is
 * only trusted once the stream finished without error (image-spec descriptor.md, "Digests").
 */
export class DigestVerifier extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;

  constructor(
    private readonly expectedDigest: string,
    private readonly expectedSize: number | undefined,
    private readonly what: string,
  ) {
    super();
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.bytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expectedSize !== undefined && this.bytes > this.expectedSize) {
      callback(new DigestMismatchError(`${this.what}: more than the expected ${this.expectedSize} bytes`));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expectedSize !== undefined && this.bytes !== this.expectedSize) {
      callback(
        new DigestMismatchError(`${this.what}: got ${this.bytes} bytes, expected ${this.expectedSize}`),
      );
      return;
    }
    const actual = 'sha256:' + this.hash.digest('hex');
    if (actual !== this.expectedDigest) {
      callback(
        new DigestMismatchError(`${this.what}: digest ${actual} does not match ${this.expectedDigest}`),
      );
      return;
    }
    callback();
  }
}
