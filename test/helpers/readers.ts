/**
 * The library's own Reader over bytes, for tests of modules that take a `ByteReader` (the
 * container parsers, file systems): by random access, or as a stream in chunks, under the
 * same rules the engine applies (forward reads, kept start and tail, budget).
 */
import { chunksFromIterable } from '../../src/reading/chunks.js';
import { RangeBackend, bytesSource } from '../../src/reading/range-backend.js';
import { Budget, Reader } from '../../src/reading/reader.js';
import { StreamBackend } from '../../src/reading/stream-backend.js';
import { chunksOfSizes } from './sources.js';

/** What the readers may hold: plenty for a test (256 MiB). */
const TEST_BUDGET = 256 * 1024 * 1024;

/** A reader over `bytes` by random access, past detection (reads go forward from the start; with `ordered: false`, anywhere). */
export function randomAccessReader(bytes: Uint8Array, budget = TEST_BUDGET, ordered = true): Reader {
  return new Reader(new RangeBackend(bytesSource(bytes), bytes.byteLength, undefined), { budget: new Budget(budget), probeLimit: 0, detect: false, ordered });
}

/** A reader over `bytes` as a stream of chunks of the given sizes, past detection. */
export function streamReader(bytes: Uint8Array, sizes: readonly number[] = [65536], budget = TEST_BUDGET): Reader {
  const chunks = chunksFromIterable((async function* () {
    yield* chunksOfSizes(bytes, sizes);
  })());
  const reader = new Reader(new StreamBackend(chunks), { budget: new Budget(budget), probeLimit: 0, detect: false });
  return reader;
}
