import { Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { InvalidArgumentError } from '../common/errors';
import type { Compression } from './manifest';

/**
 * zstd decoding in the process, with fzstd (pure JavaScript, no native build, no binary fetched
 * at install time). Node 20's zlib has no zstd (it arrives in Node 22.15); when the project moves
 * past Node 20, zlib.createZstdDecompress replaces this class. A `zstd -d` subprocess would be
 * faster on big layers but adds a process per layer and an exit status to reconcile with the
 * stream; layers are dominated by the filesystem work of unpacking anyway.
 */
class ZstdTransform extends Transform {
  private readonly decoder = new ZstdDecompress((data) => {
    if (data.length > 0) this.push(Buffer.from(data.buffer, data.byteOffset, data.length));
  });

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decoder.push(chunk);
      callback();
    } catch (err) {
      callback(new InvalidArgumentError(`zstd layer is corrupt: ${(err as Error).message}`));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true);
      callback();
    } catch (err) {
      callback(new InvalidArgumentError(`zstd layer is corrupt or truncated: ${(err as Error).message}`));
    }
  }
}

const GUNZIP_CHUNK_BYTES = 64 * 1024;

/** A stream that turns a layer blob into its tar archive. */
export function decompressor(compression: Compression): Transform {
  switch (compression) {
    case 'gzip':
      // zlib's default 16 KiB output chunks mean a callback and a file write per 16 KiB; larger
      // chunks cut both for the big files of a layer.
      return createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
    case 'zstd':
      return new ZstdTransform();
    case 'none':
      return new Transform({ transform: (chunk, _enc, cb) => cb(null, chunk) });
  }
}
