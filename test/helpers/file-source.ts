/**
 * A random-access source over a file, read with synchronous positioned reads (test images
 * are sparse files of up to gigabytes: only what is asked for is read).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { RandomAccessSource } from '../../src/reading/range-backend.js';

/** A random-access source over a file, or over `length` bytes at `offset` in it (a partition), counting the bytes read. */
export function fileSource(path: string, region?: { offset: number; length: number }): RandomAccessSource & { close(): void; bytesRead: number } {
  const fd = openSync(path, 'r');
  const base = region?.offset ?? 0;
  const size = region?.length ?? fstatSync(fd).size;
  const source = {
    size,
    bytesRead: 0,
    read: async (offset: number, length: number) => {
      const bytes = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      let filled = 0;
      while (filled < bytes.byteLength) {
        const got = readSync(fd, bytes, filled, bytes.byteLength - filled, base + offset + filled);
        if (got === 0) break;
        filled += got;
      }
      source.bytesRead += filled;
      return bytes.subarray(0, filled);
    },
    close: () => closeSync(fd),
  };
  return source;
}
