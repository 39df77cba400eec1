import { rejectionOf } from '../helpers/errors.js';
import { describe, expect, it } from 'vitest';
import { chunksFromIterable } from '../../src/chunk-source.js';
import { StreamReader } from '../../src/stream-reader.js';
import { chunksOfSizes } from '../helpers/sources.js';

function pattern(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index += 1) bytes[index] = (index * 7 + (index >> 8)) & 0xff;
  return bytes;
}

function readerOver(bytes: Uint8Array, sizes: number[], maxBufferBytes = 1 << 20, probeLimit = 4096) {
  let pulled = 0;
  const chunks = chunksFromIterable(
    (async function* () {
      for (const chunk of chunksOfSizes(bytes, sizes)) {
        pulled += chunk.byteLength;
        yield chunk;
      }
    })(),
  );
  return { reader: new StreamReader(chunks, maxBufferBytes, probeLimit), pulled: () => pulled };
}

const codeOf = async (promise: Promise<unknown>) => (await rejectionOf(promise)).code;

describe('StreamReader', () => {
  const bytes = pattern(100_000);

  it('serves the head to any number of probes in any order while detecting', async () => {
    const { reader } = readerOver(bytes, [3, 1000, 7]);
    expect(await reader.read(100, 50, 'a')).toEqual(bytes.subarray(100, 150));
    expect(await reader.read(0, 10, 'b')).toEqual(bytes.subarray(0, 10));
    expect(await reader.read(4000, 96, 'c')).toEqual(bytes.subarray(4000, 4096));
    expect(await codeOf(reader.read(4000, 97, 'd'))).toBe('LIMIT_EXCEEDED');
  });

  it('reads forward across chunk boundaries, skipping without keeping, after detection', async () => {
    const { reader, pulled } = readerOver(bytes, [333, 1, 4096]);
    await reader.read(0, 512, 'head');
    reader.stopRetaining();
    expect(await reader.read(10_000, 5000, 'a')).toEqual(bytes.subarray(10_000, 15_000));
    expect(pulled()).toBeLessThan(15_000 + 4096);
    expect(await reader.read(60_000, 1, 'b')).toEqual(bytes.subarray(60_000, 60_001));
    // The head read during detection stays readable; skipped bytes do not.
    expect(await reader.read(0, 512, 'head again')).toEqual(bytes.subarray(0, 512));
    expect(await codeOf(reader.read(20_000, 10, 'behind'))).toBe('UNSUPPORTED');
  });

  it('finds the size at the end and keeps the requested tail', async () => {
    const { reader } = readerOver(bytes, [1000, 17]);
    await reader.read(0, 512, 'head');
    reader.stopRetaining();
    expect(reader.size).toBeUndefined();
    expect(await reader.totalSize(1536)).toBe(100_000);
    expect(reader.size).toBe(100_000);
    expect(await reader.read(100_000 - 1536, 1536, 'tail')).toEqual(bytes.subarray(100_000 - 1536));
    expect(await reader.read(100_000 - 512, 512, 'footer')).toEqual(bytes.subarray(100_000 - 512));
    // At least the tail asked for is kept (small chunks are kept in 4 KiB blocks), not much more.
    expect(await codeOf(reader.read(100_000 - 20_000, 10, 'before tail'))).toBe('UNSUPPORTED');
    expect(await codeOf(reader.read(100_000 - 10, 20, 'past end'))).toBe('TRUNCATED');
    expect((await reader.readAvailable(100_000 - 10, 20, 'available')).byteLength).toBe(10);
  });

  it('keeps a tail cheaply from one-byte chunks', async () => {
    const { reader } = readerOver(bytes, [1]);
    await reader.read(0, 512, 'head');
    reader.stopRetaining();
    expect(await reader.totalSize(30_000)).toBe(100_000);
    expect(await reader.read(70_000, 30_000, 'tail')).toEqual(bytes.subarray(70_000));
  });

  it('reads the tail while detection still keeps the head (a stream longer than probeBytes)', async () => {
    const { reader } = readerOver(bytes, [5000]);
    await reader.read(0, 512, 'head');
    expect(await reader.totalSize(2048)).toBe(100_000);
    expect(await reader.read(100_000 - 2048, 2048, 'tail')).toEqual(bytes.subarray(100_000 - 2048));
  });

  it('reports a short image as TRUNCATED naming the field', async () => {
    const { reader } = readerOver(bytes.subarray(0, 300), [64]);
    const error = await rejectionOf(reader.read(0, 512, 'sparse header'));
    expect(error.code).toBe('TRUNCATED');
    expect(error.field).toBe('sparse header');
    expect(error.message).toContain('300');
  });

  it('refuses a read above the buffer budget with LIMIT_EXCEEDED', async () => {
    const { reader } = readerOver(bytes, [4096], 64 * 1024, 4096);
    await reader.read(0, 4096, 'head');
    reader.stopRetaining();
    expect(await codeOf(reader.read(8192, 64 * 1024, 'table'))).toBe('LIMIT_EXCEEDED');
    // A tail larger than the budget keeps what fits; reading the part that did not fit is LIMIT_EXCEEDED.
    expect(await reader.totalSize(64 * 1024)).toBe(100_000);
    expect(await codeOf(reader.read(100_000 - 64 * 1024, 16, 'footer'))).toBe('LIMIT_EXCEEDED');
    expect((await reader.read(100_000 - 1024, 1024, 'footer')).byteLength).toBe(1024);
  });

  it('rejects impossible offsets and lengths as CORRUPT', async () => {
    const { reader } = readerOver(bytes, [4096]);
    expect(await codeOf(reader.read(-1, 4, 'x'))).toBe('CORRUPT');
    expect(await codeOf(reader.read(Number.MAX_SAFE_INTEGER, 4, 'x'))).toBe('CORRUPT');
    expect(await codeOf(reader.read(0, 1.5, 'x'))).toBe('CORRUPT');
  });
});
