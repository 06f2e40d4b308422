/**
 * SPDY/3 header block compression (section 2.6.10.1): one zlib stream per direction for the
 * whole connection, primed with the SPDY dictionary, each block ended by a sync flush. The
 * streams carry state from block to block, so blocks must be processed in order: callers
 * chain the calls (SpdyConnection serializes its reads and writes).
 */
import * as zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary';

type ZlibStream = zlib.Deflate | zlib.Inflate;

/** Writes one block and collects what the stream yields up to the sync flush. */
function process(stream: ZlibStream, block: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const onData = (chunk: Buffer): void => {
      out.push(chunk);
    };
    const onError = (err: Error): void => {
      stream.off('data', onData);
      reject(err);
    };
    stream.on('data', onData);
    stream.once('error', onError);
    stream.write(block);
    stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      stream.off('data', onData);
      stream.off('error', onError);
      for (let chunk = stream.read() as Buffer | null; chunk; chunk = stream.read() as Buffer | null)
        out.push(chunk);
      resolve(Buffer.concat(out));
    });
  });
}

export class HeaderCompressor {
  private readonly stream = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
  compress(block: Buffer): Promise<Buffer> {
    return process(this.stream, block);
  }
  close(): void {
    this.stream.close();
  }
}

export class HeaderDecompressor {
  private readonly stream = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
  decompress(block: Buffer): Promise<Buffer> {
    return process(this.stream, block);
  }
  close(): void {
    this.stream.close();
  }
}
