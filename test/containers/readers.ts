/**
 * Minimal ByteReaders for testing the container parsers on their own: one with random
 * access, one strictly forward-only (it fails the test on any read that goes back, which
 * is what a stream cannot serve).
 */
import { fieldError } from '../../src/errors.js';
import type { ByteReader } from '../../src/format-module.js';

type ReadAvailable = (offset: number, length: number, field: string) => Promise<Uint8Array>;

/** `read` from `readAvailable`: exactly `length` bytes, or `TRUNCATED` as the library's readers say it. */
function exactly(readAvailable: ReadAvailable, size: number): ByteReader['read'] {
  return async (offset, length, field) => {
    const got = await readAvailable(offset, length, field);
    if (got.byteLength < length) throw fieldError('TRUNCATED', field, `needs ${offset}..${offset + length}, the data ends at ${size}`, offset);
    return got;
  };
}

/** Random access over `bytes`. */
export function randomAccessReader(bytes: Uint8Array): ByteReader {
  const readAvailable = async (offset: number, length: number): Promise<Uint8Array> => {
    const end = Math.min(bytes.byteLength, offset + length);
    return offset >= bytes.byteLength ? new Uint8Array(0) : bytes.slice(offset, end);
  };
  return {
    size: bytes.byteLength,
    randomAccess: true,
    maxReadLength: 256 * 1024 * 1024,
    readAvailable,
    read: exactly(readAvailable, bytes.byteLength),
    async totalSize() {
      return bytes.byteLength;
    },
  };
}

/**
 * A stream's view of `bytes`: no size until the end was reached, and every read must
 * start at or after the end of the previous one (except inside a tail kept by
 * `totalSize`). A backward read throws `UNSUPPORTED`, as a stream reader does.
 */
export function forwardOnlyReader(bytes: Uint8Array): ByteReader {
  let position = 0;
  let size: number | undefined;
  let tailStart = Number.POSITIVE_INFINITY;
  const readAvailable = async (offset: number, length: number, field: string): Promise<Uint8Array> => {
    if (offset < position && offset < tailStart) {
      throw fieldError('UNSUPPORTED', field, `a backward read at ${offset}, after ${position}`, offset);
    }
    const end = Math.min(bytes.byteLength, offset + length);
    if (end < offset + length || offset >= bytes.byteLength) size = bytes.byteLength;
    position = Math.max(position, end);
    return offset >= bytes.byteLength ? new Uint8Array(0) : bytes.slice(offset, end);
  };
  return {
    get size() {
      return size;
    },
    randomAccess: false,
    maxReadLength: 256 * 1024 * 1024,
    readAvailable,
    read: exactly(readAvailable, bytes.byteLength),
    async totalSize(keepTail = 0) {
      size = bytes.byteLength;
      tailStart = Math.max(0, size - keepTail);
      position = size;
      return size;
    },
  };
}

/** Collects an async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
