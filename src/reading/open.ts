/**
 * One way in: whatever the caller passed becomes a {@link Backend} here, in one pass.
 *
 * | form | read how |
 * | --- | --- |
 * | `Uint8Array`, `ArrayBuffer`, other typed arrays | by random access, as views |
 * | `Blob` / `File` | by random access (`slice`) |
 * | {@link RandomAccessSource} `{ size, read(offset, length) }` | by random access |
 * | web `ReadableStream<Uint8Array>` | as a stream, through its default reader |
 * | `AsyncIterable<Uint8Array>` (a Node `Readable`, an async generator) | as a stream |
 * | `Iterable<Uint8Array>` (an array of chunks) | as a stream |
 *
 * A caller's mistake is `INVALID_ARGUMENT`; a source that fails while being looked at (a
 * throwing `size` getter, a throwing `[Symbol.asyncIterator]`) is `SOURCE_ERROR`. Either
 * way the source is released first (a Node stream destroyed, a web stream cancelled).
 *
 * @module
 */
import { IntrospectionError } from '../errors.js';
import type { Backend } from './backend.js';
import {
  type ChunkSource,
  type WebStreamLike,
  abortable,
  asChunk,
  chunksFromIterable,
  chunksFromWebStream,
  chunksOfBytes,
  isArrayBuffer,
  releaseUnopened,
  sourceError,
} from './chunks.js';
import { RangeBackend, type RandomAccessSource, bytesSource } from './range-backend.js';
import { StreamBackend } from './stream-backend.js';

/** The parts of a `Blob` (or browser `File`) this library uses. */
export interface BlobLike {
  readonly size: number;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
  stream?(): WebStreamLike;
}

/**
 * Anything `introspect` can read (see the module comment for how each form is read).
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

/** A caller's source sorted into one of the two shapes the backends read. */
export type SortedSource =
  | { kind: 'random'; source: RandomAccessSource; size: number }
  | { kind: 'stream'; chunks: () => ChunkSource; blob?: BlobLike };

function isObject(value: unknown): value is Record<PropertyKey, unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

/** Reads a property the caller's object may compute (a getter that throws is the source failing). */
function property(value: Record<PropertyKey, unknown>, key: PropertyKey): unknown {
  try {
    return value[key];
  } catch (error) {
    throw sourceError(error, `reading the source's ${String(key)}`);
  }
}

function validSize(size: unknown): number {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new IntrospectionError('INVALID_ARGUMENT', `the source's size ${String(size)} is not a byte count`);
  }
  return size;
}

/** A random-access source over a `Blob` or `File`: each read is one `slice`. */
export function blobSource(blob: BlobLike): RandomAccessSource {
  return {
    size: blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
  };
}

/**
 * Sorts a source into a random-access source or a stream of chunks, without starting to
 * read it. Throws `INVALID_ARGUMENT`/`SOURCE_ERROR` (after releasing it) for anything else.
 */
export function sortSource(source: unknown): SortedSource {
  try {
    if (isArrayBuffer(source) || ArrayBuffer.isView(source)) {
      const bytes = asChunk(source);
      return { kind: 'random', source: bytesSource(bytes), size: bytes.byteLength };
    }
    if (isObject(source)) {
      const size = property(source, 'size');
      const read = property(source, 'read');
      const slice = property(source, 'slice');
      if (typeof slice === 'function' && typeof property(source, 'arrayBuffer') === 'function' && size !== undefined) {
        const blob = source as unknown as BlobLike;
        return { kind: 'random', source: blobSource(blob), size: validSize(size) };
      }
      if (typeof read === 'function' && size !== undefined && property(source, Symbol.asyncIterator) === undefined) {
        return { kind: 'random', source: source as unknown as RandomAccessSource, size: validSize(size) };
      }
      if (typeof property(source, 'getReader') === 'function') {
        return { kind: 'stream', chunks: () => chunksFromWebStream(source as unknown as WebStreamLike) };
      }
      if (typeof property(source, Symbol.asyncIterator) === 'function') {
        return { kind: 'stream', chunks: () => chunksFromIterable(source as unknown as AsyncIterable<unknown>) };
      }
      if (typeof property(source, Symbol.iterator) === 'function') {
        return { kind: 'stream', chunks: () => chunksFromIterable(syncToAsync(source as unknown as Iterable<unknown>)) };
      }
    }
  } catch (error) {
    releaseUnopened(source);
    throw error;
  }
  releaseUnopened(source);
  throw new IntrospectionError(
    'INVALID_ARGUMENT',
    `cannot read from ${source === null ? 'null' : typeof source}: pass an AsyncIterable<Uint8Array>, a ReadableStream, a Blob, a Uint8Array or ArrayBuffer, or { size, read(offset, length) }`,
  );
}

async function* syncToAsync(iterable: Iterable<unknown>): AsyncGenerator<unknown> {
  for (const value of iterable) yield value;
}

/** How to open a source. */
export interface OpenOptions {
  /** Aborts pending reads at once. */
  signal?: AbortSignal | undefined;
  /** How much of a stream's start will probably be kept (allocated at once). */
  headHint?: number;
  /** Called when the backend is released (e.g. closing a file this library opened). */
  onRelease?: () => Promise<void> | void;
}

/** The backend over a caller's source, ready to read. */
export function openBackend(source: unknown, options: OpenOptions = {}): Backend {
  const sorted = sortSource(source);
  if (sorted.kind === 'random') return new RangeBackend(sorted.source, sorted.size, options.signal, options.onRelease);
  return new StreamBackend(abortable(sorted.chunks(), options.signal), options.headHint);
}

/**
 * The source as a sequence of chunks, whatever its kind (for the pass-through): streams as
 * they come, a `Blob` through its own stream, other random-access sources in reads of
 * `chunkBytes`.
 */
export function chunksOf(source: unknown, chunkBytes = 1 << 20): ChunkSource {
  if (isArrayBuffer(source) || ArrayBuffer.isView(source)) {
    return chunksOfBytes(asChunk(source));
  }
  const sorted = sortSource(source);
  if (sorted.kind === 'stream') return sorted.chunks();
  const blob = source as Partial<BlobLike>;
  if (typeof blob.stream === 'function' && typeof blob.slice === 'function') return chunksFromWebStream(blob.stream());
  const random = sorted.source;
  let position = 0;
  let released = false;
  return {
    async next() {
      if (released || position >= sorted.size) return null;
      let answer: unknown;
      try {
        answer = await random.read(position, Math.min(chunkBytes, sorted.size - position));
      } catch (error) {
        throw sourceError(error);
      }
      const chunk = asChunk(answer);
      if (chunk.byteLength === 0) return null;
      position += chunk.byteLength;
      return chunk;
    },
    async release() {
      released = true;
    },
  };
}
