/**
 * Volumes for file-system driver tests: a `ByteReader` over bytes in memory or over a
 * file, counting the bytes it reads. The one place tests build readers, so that the
 * reader classes can change under them.
 */
import type { ByteReader } from '../../src/format-module.js';
import { RangeBackend, type RandomAccessSource, bytesSource } from '../../src/reading/range-backend.js';
import { Budget, Reader } from '../../src/reading/reader.js';
import { fileSource } from './file-source.js';

/** The buffer budget of test volumes: big enough for the largest file a test reads whole. */
export const TEST_MAX_BUFFER_BYTES = 256 * 1024 * 1024;

/** A volume, how many bytes have been read from it so far, and how to let go of its file. */
export interface TestVolume {
  volume: ByteReader;
  bytesRead(): number;
  close(): void;
}

function testVolume(source: RandomAccessSource, maxBufferBytes: number, close: () => void): TestVolume {
  // File systems are walked, not streamed: the library's reader in any order, as guest inspection uses.
  const reader = new Reader(new RangeBackend(source, source.size, undefined), { budget: new Budget(maxBufferBytes), probeLimit: 0, detect: false, ordered: false });
  return { volume: reader, bytesRead: () => reader.bytesRead, close };
}

/** A volume over bytes in memory (reads are views: the test may change the bytes between reads). */
export function volumeOfBytes(bytes: Uint8Array, maxBufferBytes = TEST_MAX_BUFFER_BYTES): TestVolume {
  return testVolume(bytesSource(bytes), maxBufferBytes, () => {});
}

/**
 * A volume over a file, or over `length` bytes at `offset` in it (a partition), read with
 * synchronous positioned reads (test images are sparse files of hundreds of megabytes:
 * only what the driver asks for is read). Call `close`.
 */
export function volumeOfFile(path: string, region?: { offset: number; length: number }, maxBufferBytes = TEST_MAX_BUFFER_BYTES): TestVolume {
  const source = fileSource(path, region);
  return testVolume(source, maxBufferBytes, () => source.close());
}

/**
 * The xorshift32 sequence from `seed` (Marsaglia, "Xorshift RNGs", 2003, shifts 13/17/5):
 * deterministic, so that test images are reproducible and a failure can be replayed.
 */
export function xorshift32(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

/** Deterministic pseudo-random bytes: the low byte of each xorshift32 step from `seed`. */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const next = xorshift32(seed);
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index += 1) bytes[index] = next() & 0xff;
  return bytes;
}
