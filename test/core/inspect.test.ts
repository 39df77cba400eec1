import { rejectionOf } from '../helpers/errors.js';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chunksFromIterable } from '../../src/reading/chunks.js';
import { Feed, PassThrough } from '../../src/inspect.js';
import { inspect, introspect, toReadableStream } from '../../src/index.js';
import { fixtureBytes } from '../helpers/fixtures.js';
import { chunksOfSizes, comparable, makeSource, sourceKinds, trackedStream } from '../helpers/sources.js';

const stream = fixtureBytes('vmdk', 'stream.vmdk');

function sha256(chunks: Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}

describe('inspect (pass-through)', () => {
  it('yields exactly the source chunks, the same objects, while the result resolves', async () => {
    const source = [...chunksOfSizes(stream, [1000, 7, 20_000])];
    const { stream: passed, result } = inspect(source);
    const seen: Uint8Array[] = [];
    for await (const chunk of passed) seen.push(chunk);
    expect(seen.length).toBe(source.length);
    seen.forEach((chunk, index) => expect(chunk).toBe(source[index]));
    expect(comparable(await result)).toEqual(comparable(await introspect(stream)));
  });

  it('knows the result before the stream ends, and the stream goes on', async () => {
    const { stream: passed, result } = inspect(chunksOfSizes(stream, [4096]));
    let known = false;
    let chunksAfterKnown = 0;
    void result.then(() => {
      known = true;
    });
    const seen: Uint8Array[] = [];
    for await (const chunk of passed) {
      seen.push(chunk);
      await new Promise((resolve) => setImmediate(resolve));
      if (known) chunksAfterKnown += 1;
    }
    expect(known).toBe(true);
    expect(chunksAfterKnown).toBeGreaterThan(0);
    expect(sha256(seen)).toBe(sha256([stream]));
  });

  it('gives the same result as introspect for every kind of source', async () => {
    const reference = comparable(await introspect(stream));
    for (const kind of sourceKinds) {
      const { stream: passed, result } = inspect(makeSource(kind, stream));
      const seen: Uint8Array[] = [];
      for await (const chunk of passed) seen.push(chunk);
      expect(sha256(seen)).toBe(sha256([stream]));
      expect(comparable(await result)).toEqual(reference);
    }
  });

  it('resolves a raw image at the end of the stream with its byte count', async () => {
    const bytes = new Uint8Array(300_000).fill(1);
    const { stream: passed, result } = inspect(chunksOfSizes(bytes, [65536]));
    for await (const _chunk of passed) {
      // consume
    }
    expect(await result).toMatchObject({ format: 'raw', virtualSize: 300_000 });
  });

  it('rejects the result with ABORTED when the caller stops before it is known, and stops the source', async () => {
    let returned = false;
    const source = (async function* () {
      try {
        yield* chunksOfSizes(new Uint8Array(300_000), [1000]);
      } finally {
        returned = true;
      }
    })();
    const { stream: passed, result } = inspect(source);
    for await (const _chunk of passed) break;
    const error = await rejectionOf(result);
    expect(error.code).toBe('ABORTED');
    expect(returned).toBe(true);
  });

  it('passes a failing source on to the caller and rejects the result', async () => {
    const source = (async function* () {
      yield new Uint8Array(10);
      throw new Error('network reset');
    })();
    const { stream: passed, result } = inspect(source);
    await expect(
      (async () => {
        for await (const _chunk of passed) {
          // consume
        }
      })(),
    ).rejects.toThrow('network reset');
    expect((await rejectionOf(result)).code).toBe('SOURCE_ERROR');
  });

  it('never queues more than maxBufferBytes between the stream and a slow introspection', async () => {
    // The introspection side takes a chunk only every few milliseconds while the caller
    // pulls as fast as it can: the pass-through must wait rather than queue the image.
    const feed = new Feed();
    const limit = 256 * 1024;
    const upstream = chunksFromIterable(trackedStream(new Uint8Array(8 * 1024 * 1024), [65536]));
    const passed = new PassThrough(upstream, feed, limit, undefined);
    let taken = 0;
    const slowIntrospection = (async () => {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        const chunk = await feed.next();
        if (chunk === null) return;
        taken += chunk.byteLength;
      }
    })();
    let peak = 0;
    let total = 0;
    for await (const chunk of passed) {
      total += chunk.byteLength;
      peak = Math.max(peak, feed.pendingBytes);
    }
    await slowIntrospection;
    expect(total).toBe(8 * 1024 * 1024);
    expect(taken).toBe(total);
    expect(peak).toBeLessThanOrEqual(limit + 65536);
  });

  it('wraps the pass-through as a web ReadableStream for browser uploads', async () => {
    const { stream: passed, result } = inspect(new Blob([stream as Uint8Array<ArrayBuffer>]));
    const readable = toReadableStream(passed);
    const reader = readable.getReader();
    const seen: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen.push(value);
    }
    expect(sha256(seen)).toBe(sha256([stream]));
    expect((await result).format).toBe('vmdk');
  });
});
