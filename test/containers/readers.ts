/**
 * Readers for testing the container parsers on their own: the library's Reader by random
 * access, and over a stream in small chunks (any read that goes back fails there, as a
 * stream cannot serve it, and the same rule holds by random access).
 */
import type { ByteReader } from '../../src/format-module.js';
import { randomAccessReader as random, streamReader } from '../helpers/readers.js';

/** Random access over `bytes`: forward from the start, or (with `ordered: false`) anywhere, as a walk of a file's tables does. */
export function randomAccessReader(bytes: Uint8Array, ordered = true): ByteReader {
  return random(bytes, undefined, ordered);
}

/** A stream's view of `bytes`, in 4 KiB chunks. */
export function forwardOnlyReader(bytes: Uint8Array): ByteReader {
  return streamReader(bytes, [4096, 1, 512]);
}

/** Collects an async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
