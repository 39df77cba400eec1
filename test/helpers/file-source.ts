/**
 * A random-access source over a file, read with synchronous positioned reads (test images
 * are sparse files of up to gigabytes: only what is asked for is read).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { RandomAccessSource } from '../../src/reading/range-backend.js';

/** A random-access source over a file, counting the bytes read. */
export function fileSource(path: string): RandomAccessSource & { close(): void; bytesRead: number } {
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
  const source = {
    size,
    bytesRead: 0,
    read: async (offset: number, length: number) => {
      const bytes = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      let filled = 0;
      while (filled < bytes.byteLength) {
        const got = readSync(fd, bytes, filled, bytes.byteLength - filled, offset + filled);
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
