/**
 * The kinds of source `introspect` accepts, and how each becomes either a sequence of
 * chunks or a random-access source.
 *
 * @module
 */
import { type ChunkSource, type WebStreamLike, asChunk, chunksFromIterable, chunksFromWebStream, isArrayBuffer } from './chunk-source.js';
import { IntrospectionError } from './errors.js';
import type { RandomAccessSource } from './random-access-reader.js';

/** The parts of a `Blob` (or browser `File`) this library uses. */
export interface BlobLike {
  readonly size: number;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
  stream?(): WebStreamLike;
}

/**
 * Anything `introspect` can read.
 *
 * | form | read how |
 * | --- | --- |
 * | `AsyncIterable<Uint8Array>` (a Node `Readable`, an async generator) | as a stream, forward only |
 * | `Iterable<Uint8Array>` (an array of chunks) | as a stream |
 * | web `ReadableStream<Uint8Array>` | as a stream, through its default reader |
 * | `Blob` / `File` | by random access (`slice`) |
 * | `Uint8Array`, `ArrayBuffer`, other typed arrays | by random access |
 * | {@link RandomAccessSource} `{ size, read(offset, length) }` | by random access |
 */
export type ImageSource =
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>
  | ReadableStream<Uint8Array>
  | WebStreamLike
  | BlobLike
  | Uint8Array
  | ArrayBuffer
  | ArrayBufferView
  | RandomAccessSource;

/** A source in one of the two shapes the readers work on. */
export type NormalizedSource = { kind: 'stream'; chunks: ChunkSource } | { kind: 'random'; source: RandomAccessSource };

function isObject(value: unknown): value is Record<PropertyKey, unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

function isBlobLike(value: unknown): value is BlobLike {
  return (
    isObject(value) &&
    typeof value.size === 'number' &&
    typeof value.slice === 'function' &&
    typeof value.arrayBuffer === 'function'
  );
}

function isRandomAccess(value: unknown): value is RandomAccessSource {
  return isObject(value) && typeof value.size === 'number' && typeof value.read === 'function';
}

function isWebStream(value: unknown): value is WebStreamLike {
  return isObject(value) && typeof value.getReader === 'function';
}

/** A random-access source over bytes in memory (no copies: reads are views). */
export function bytesSource(bytes: Uint8Array): RandomAccessSource {
  return {
    size: bytes.byteLength,
    read: async (offset, length) => bytes.subarray(offset, Math.min(bytes.byteLength, offset + length)),
  };
}

/** A random-access source over a `Blob` or `File`: each read is one `slice`. */
export function blobSource(blob: BlobLike): RandomAccessSource {
  return {
    size: blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
  };
}

/** Sorts a source into a stream of chunks or a random-access source. */
export function normalizeSource(source: unknown): NormalizedSource {
  if (isArrayBuffer(source) || ArrayBuffer.isView(source)) {
    return { kind: 'random', source: bytesSource(asChunk(source)) };
  }
  if (isBlobLike(source)) return { kind: 'random', source: blobSource(source) };
  if (isRandomAccess(source)) return { kind: 'random', source };
  if (isWebStream(source)) return { kind: 'stream', chunks: chunksFromWebStream(source) };
  if (isObject(source) && typeof source[Symbol.asyncIterator] === 'function') {
    return { kind: 'stream', chunks: chunksFromIterable(source as unknown as AsyncIterable<unknown>) };
  }
  if (isObject(source) && typeof source[Symbol.iterator] === 'function') {
    return { kind: 'stream', chunks: chunksFromIterable(syncToAsync(source as unknown as Iterable<unknown>)) };
  }
  throw new IntrospectionError(
    'INVALID_ARGUMENT',
    `cannot read from ${source === null ? 'null' : typeof source}: pass an AsyncIterable<Uint8Array>, a ReadableStream, a Blob, a Uint8Array or ArrayBuffer, or { size, read(offset, length) }`,
  );
}

async function* syncToAsync(iterable: Iterable<unknown>): AsyncGenerator<unknown> {
  for (const value of iterable) yield value;
}

/**
 * The source as a sequence of chunks, whatever its kind: streams as they come, a
 * random-access source in reads of `chunkBytes`.
 */
export function chunksOf(source: unknown, chunkBytes = 1 << 20): ChunkSource {
  if (isArrayBuffer(source) || ArrayBuffer.isView(source)) {
    let done = false;
    const bytes = asChunk(source);
    return {
      next: async () => {
        if (done || bytes.byteLength === 0) return null;
        done = true;
        return bytes;
      },
      release: async () => {
        done = true;
      },
    };
  }
  if (isBlobLike(source) && typeof source.stream === 'function') return chunksFromWebStream(source.stream());
  const normalized = normalizeSource(source);
  if (normalized.kind === 'stream') return normalized.chunks;
  const random = normalized.source;
  let position = 0;
  let released = false;
  return {
    async next() {
      if (released || position >= random.size) return null;
      const chunk = asChunk(await random.read(position, Math.min(chunkBytes, random.size - position)));
      if (chunk.byteLength === 0) return null;
      position += chunk.byteLength;
      return chunk;
    },
    async release() {
      released = true;
    },
  };
}
