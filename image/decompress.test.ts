import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decompressor } from './decompress';
import { compress } from './test-registry';

async function roundTrip(data: Buffer, compression: 'gzip' | 'zstd' | 'none', chunk = 1000): Promise<Buffer> {
  const packed = compress(data, compression);
  const pieces: Buffer[] = [];
  for (let i = 0; i < packed.length; i += chunk) pieces.push(packed.subarray(i, i + chunk));
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), decompressor(compression), async (source: AsyncIterable<Buffer>) => {
    for await (const c of source) out.push(c);
  });
  return Buffer.concat(out);
}

describe('decompressor', () => {
  // Half random (incompressible), half repetitive, larger than zstd's block size.
  const data = Buffer.concat([randomBytes(300_000), Buffer.alloc(500_000, 'abc')]);

  it.each(['gzip', 'zstd', 'none'] as const)('restores %s content fed in small chunks', async (c) => {
    expect((await roundTrip(data, c)).equals(data)).toBe(true);
  });

  it('decodes concatenated zstd frames', async () => {
    const a = compress(Buffer.from('first '), 'zstd');
    const b = compress(Buffer.from('second'), 'zstd');
    const out: Buffer[] = [];
    await pipeline(
      Readable.from([Buffer.concat([a, b])]),
      decompressor('zstd'),
      async (s: AsyncIterable<Buffer>) => {
        for await (const c of s) out.push(c);
      },
    );
    expect(Buffer.concat(out).toString()).toBe('first second');
  });

  it('fails on corrupt zstd input', async () => {
    const bad = Buffer.from('this is not zstd at all');
    await expect(
      pipeline(Readable.from([bad]), decompressor('zstd'), async (s: AsyncIterable<Buffer>) => {
        for await (const _ of s) void _;
      }),
    ).rejects.toThrow('zstd layer is corrupt');
  });

  it('fails on truncated zstd input', async () => {
    const packed = compress(data, 'zstd');
    await expect(
      pipeline(
        Readable.from([packed.subarray(0, packed.length - 100)]),
        decompressor('zstd'),
        async (s: AsyncIterable<Buffer>) => {
          for await (const _ of s) void _;
        },
      ),
    ).rejects.toThrow('zstd layer is corrupt');
  });
});
