import { rejectionOf } from '../helpers/errors.js';
import { describe, expect, it } from 'vitest';
import { chunksFromIterable } from '../../src/reading/chunks.js';
import { RangeBackend, bytesSource } from '../../src/reading/range-backend.js';
import { Budget, Reader } from '../../src/reading/reader.js';
import { StreamBackend } from '../../src/reading/stream-backend.js';
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
  const reader = new Reader(new StreamBackend(chunks), { budget: new Budget(maxBufferBytes), probeLimit });
  return { reader, pulled: () => pulled };
}

/** The same bytes by random access, under the same rules. */
function randomReaderOver(bytes: Uint8Array, maxBufferBytes = 1 << 20, probeLimit = 4096) {
  return new Reader(new RangeBackend(bytesSource(bytes), bytes.byteLength, undefined), { budget: new Budget(maxBufferBytes), probeLimit });
}

const codeOf = async (promise: Promise<unknown>) => (await rejectionOf(promise)).code;

describe('Reader over a stream', () => {
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
    await reader.endDetection(0);
    expect(await reader.read(10_000, 5000, 'a')).toEqual(bytes.subarray(10_000, 15_000));
    expect(pulled()).toBeLessThan(15_000 + 4096);
    expect(await reader.read(60_000, 1, 'b')).toEqual(bytes.subarray(60_000, 60_001));
    // The head read during detection stays readable; skipped bytes do not.
    expect(await reader.read(0, 512, 'head again')).toEqual(bytes.subarray(0, 512));
    const behind = await rejectionOf(reader.read(20_000, 10, 'behind'));
    expect(behind.code).toBe('UNSUPPORTED');
    expect(behind.field).toBe('behind');
    expect(await reader.tryRead(20_000, 10, 'behind')).toBeUndefined();
  });

  it('finds the size at the end and keeps the requested tail', async () => {
    const { reader } = readerOver(bytes, [1000, 17]);
    await reader.read(0, 512, 'head');
    await reader.endDetection(0);
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
    await reader.endDetection(0);
    expect(await reader.totalSize(30_000)).toBe(100_000);
    expect(await reader.read(70_000, 30_000, 'tail')).toEqual(bytes.subarray(70_000));
  });

  it('reads the tail after detection kept the head', async () => {
    const { reader } = readerOver(bytes, [5000]);
    await reader.read(0, 512, 'head');
    await reader.endDetection(0);
    expect(await reader.totalSize(2048)).toBe(100_000);
    expect(await reader.read(0, 512, 'head')).toEqual(bytes.subarray(0, 512));
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
    await reader.endDetection(0);
    // What the budget leaves beside the kept head may be read; more may not.
    expect((await reader.read(8192, 60 * 1024, 'table')).byteLength).toBe(60 * 1024);
    // A tail larger than the budget keeps what fits; reading the part that did not fit is LIMIT_EXCEEDED.
    expect(await reader.totalSize(64 * 1024)).toBe(100_000);
    expect(await codeOf(reader.read(100_000 - 62 * 1024, 16, 'footer'))).toBe('LIMIT_EXCEEDED');
    expect((await reader.read(100_000 - 1024, 1024, 'footer')).byteLength).toBe(1024);
  });

  it('refuses a read of bytes that exist beyond the budget with LIMIT_EXCEEDED', async () => {
    const { reader } = readerOver(pattern(300_000), [4096], 64 * 1024, 4096);
    await reader.read(0, 4096, 'head');
    await reader.endDetection(0);
    expect(await codeOf(reader.read(80_000, 64 * 1024, 'table'))).toBe('LIMIT_EXCEEDED');
    // Past the end, the bytes that exist fit: the answer is TRUNCATED, whatever the budget.
    const { reader: short } = readerOver(bytes, [4096], 64 * 1024, 4096);
    await short.endDetection(0);
    expect(await codeOf(short.read(80_000, 64 * 1024, 'table'))).toBe('TRUNCATED');
  });

  it('rejects impossible offsets and lengths as CORRUPT', async () => {
    const { reader } = readerOver(bytes, [4096]);
    expect(await codeOf(reader.read(-1, 4, 'x'))).toBe('CORRUPT');
    expect(await codeOf(reader.read(Number.MAX_SAFE_INTEGER, 4, 'x'))).toBe('CORRUPT');
    expect(await codeOf(reader.read(0, 1.5, 'x'))).toBe('CORRUPT');
  });

  it('asks for what exists: a large read of a short stream within the budget is no error', async () => {
    const { reader } = readerOver(bytes.subarray(0, 345), [100], 64 * 1024, 4096);
    await reader.read(0, 100, 'head');
    await reader.endDetection(0);
    expect((await reader.readAvailable(0, 1 << 20, 'descriptor')).byteLength).toBe(345);
  });

  it('detection beyond probeLimit is a budget error, not "no match"; within it, any order', async () => {
    const { reader } = readerOver(bytes, [777], 1 << 20, 8192);
    expect(await reader.read(8000, 100, 'late')).toEqual(bytes.subarray(8000, 8100));
    expect(await reader.read(10, 10, 'early')).toEqual(bytes.subarray(10, 20));
    expect(await codeOf(reader.read(8100, 200, 'beyond'))).toBe('LIMIT_EXCEEDED');
  });
});

describe('Reader by random access follows the same rules as over a stream', () => {
  const bytes = pattern(100_000);

  it('refuses to go back outside the kept start and tail, with the same error', async () => {
    const reader = randomReaderOver(bytes);
    await reader.read(0, 512, 'head');
    await reader.endDetection(0);
    await reader.read(10_000, 5000, 'a');
    expect(await codeOf(reader.read(5000, 10, 'behind'))).toBe('UNSUPPORTED');
    expect(await reader.read(100, 10, 'in the head')).toEqual(bytes.subarray(100, 110));
    expect(await reader.totalSize(1024)).toBe(100_000);
    expect(await codeOf(reader.read(50_000, 10, 'before the tail'))).toBe('UNSUPPORTED');
    expect(await reader.read(100_000 - 1024, 16, 'tail')).toEqual(bytes.subarray(100_000 - 1024, 100_000 - 1008));
  });

  it('knows the size only once the end was seen, as a stream does', async () => {
    const reader = randomReaderOver(bytes);
    await reader.read(0, 512, 'head');
    await reader.endDetection(0);
    expect(reader.size).toBeUndefined();
    await reader.readAvailable(99_000, 2000, 'past the end');
    expect(reader.size).toBe(100_000);
  });

  it('keepStart lets later reads point back into the start', async () => {
    const reader = randomReaderOver(bytes);
    await reader.read(0, 72, 'header');
    await reader.endDetection(0);
    await reader.keepStart(65_536, 'header cluster');
    await reader.read(70_000, 100, 'table');
    expect(await reader.read(60_000, 100, 'back into the cluster')).toEqual(bytes.subarray(60_000, 60_100));
  });

  it('readMany reads overlapping ranges once, in ascending order', async () => {
    const reader = randomReaderOver(bytes);
    await reader.endDetection(0);
    const result = await reader.readMany([
      { key: 'b', offset: 9000, length: 100, field: 'b' },
      { key: 'a', offset: 5000, length: 100, field: 'a' },
      { key: 'c', offset: 9050, length: 100, field: 'c' },
    ]);
    expect(result.get('a')).toEqual(bytes.subarray(5000, 5100));
    expect(result.get('c')).toEqual(bytes.subarray(9050, 9150));
    expect(reader.position).toBe(9150);
  });

  it('counts each byte taken once in bytesRead', async () => {
    const reader = randomReaderOver(bytes.subarray(0, 10_000), 1 << 20, 16_384);
    await reader.read(0, 4104, 'head');
    await reader.read(0, 8000, 'head again');
    await reader.readAvailable(0, 20_000, 'all');
    expect(reader.bytesRead).toBe(10_000);
  });
});
