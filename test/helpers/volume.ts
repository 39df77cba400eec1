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

/** A volume and how many bytes have been read from it so far. */
export interface TestVolume {
  volume: ByteReader;
  bytesRead(): number;
}

function testVolume(source: RandomAccessSource, maxBufferBytes: number): TestVolume {
  // File systems are walked, not streamed: the library's reader in any order, as guest inspection uses.
  const reader = new Reader(new RangeBackend(source, source.size, undefined), { budget: new Budget(maxBufferBytes), probeLimit: 0, detect: false, ordered: false });
  return { volume: reader, bytesRead: () => reader.bytesRead };
}

/** A volume over bytes in memory (reads are views: the test may change the bytes between reads). */
export function volumeOfBytes(bytes: Uint8Array, maxBufferBytes = TEST_MAX_BUFFER_BYTES): TestVolume {
  return testVolume(bytesSource(bytes), maxBufferBytes);
}

/**
 * A volume over a file, read with synchronous positioned reads (test images are sparse
 * files of hundreds of megabytes: only what the driver asks for is read). Call `close`.
 */
export function volumeOfFile(path: string, maxBufferBytes = TEST_MAX_BUFFER_BYTES): TestVolume & { close(): void } {
  const source = fileSource(path);
  return { ...testVolume(source, maxBufferBytes), close: () => source.close() };
}
