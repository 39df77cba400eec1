/**
 * Pulling chunks from a sequential source (an async iterable or a web stream), with
 * abort handling and release.
 *
 * @module
 */
import { IntrospectionError } from './errors.js';

/** A sequence of chunks that can be pulled one at a time and released early. */
export interface ChunkSource {
  /** The next chunk, or `null` at the end. */
  next(): Promise<Uint8Array | null>;
  /** Stops the source (calls `return()` on an iterator, cancels a stream). Idempotent. */
  release(): Promise<void>;
  /**
   * The underlying source's own step (`iterator.next()`, `reader.read()`), unvalidated and
   * unwrapped: the pass-through uses it once the metadata is known, so that passing a chunk
   * on costs nothing more than the source itself.
   */
  step?(): Promise<IteratorResult<unknown>>;
}

/**
 * The same bytes as a plain `Uint8Array` view. A Node `Buffer` is a `Uint8Array` whose
 * `slice()` returns a view instead of a copy; format modules must be able to rely on
 * standard semantics, so every chunk they see is a plain view (never a copy).
 */
export function plainView(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** True for an `ArrayBuffer` from any realm (an iframe's or a `vm` context's fail `instanceof`). */
export function isArrayBuffer(value: unknown): value is ArrayBuffer {
  return value instanceof ArrayBuffer || Object.prototype.toString.call(value) === '[object ArrayBuffer]';
}

/** Checks one chunk from a source: only byte arrays are accepted. */
export function asChunk(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (isArrayBuffer(value)) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new IntrospectionError(
    'INVALID_ARGUMENT',
    `the source yielded a ${value === null ? 'null' : typeof value} chunk; only Uint8Array chunks are accepted (was an encoding set on the stream?)`,
  );
}

function sourceError(error: unknown): IntrospectionError {
  if (error instanceof IntrospectionError) return error;
  const what = error instanceof Error ? error.message : String(error);
  return new IntrospectionError('SOURCE_ERROR', `reading the source failed: ${what}`, { cause: error });
}

/** Chunks from an `AsyncIterable<Uint8Array>` (a Node readable stream is one). */
export function chunksFromIterable(iterable: AsyncIterable<unknown>): ChunkSource {
  const iterator = iterable[Symbol.asyncIterator]();
  let finished = false;
  return {
    async next() {
      if (finished) return null;
      let step: IteratorResult<unknown>;
      try {
        step = await iterator.next();
      } catch (error) {
        finished = true;
        throw sourceError(error);
      }
      if (step.done) {
        finished = true;
        return null;
      }
      return asChunk(step.value);
    },
    step: () => iterator.next(),
    async release() {
      if (finished) return;
      finished = true;
      try {
        await iterator.return?.();
      } catch {
        // A source that fails while being stopped has nothing more to tell us.
      }
    },
  };
}

/** The parts of a web `ReadableStream` this library uses (no BYOB reader). */
export interface WebStreamLike {
  getReader(): {
    read(): Promise<{ done: boolean; value?: unknown }>;
    cancel(reason?: unknown): Promise<void>;
    releaseLock(): void;
  };
}

/** Chunks from a web `ReadableStream`, read through its default reader. */
export function chunksFromWebStream(stream: WebStreamLike): ChunkSource {
  const reader = stream.getReader();
  let finished = false;
  return {
    async next() {
      if (finished) return null;
      let step: { done: boolean; value?: unknown };
      try {
        step = await reader.read();
      } catch (error) {
        finished = true;
        throw sourceError(error);
      }
      if (step.done) {
        finished = true;
        reader.releaseLock();
        return null;
      }
      return asChunk(step.value);
    },
    step: () => reader.read() as Promise<IteratorResult<unknown>>,
    async release() {
      if (finished) return;
      finished = true;
      try {
        await reader.cancel();
        reader.releaseLock();
      } catch {
        // Cancelling an errored stream rejects; there is nothing left to release.
      }
    },
  };
}

/**
 * Wraps a chunk source so that every pull races the abort signal: an abort is noticed
 * within one read, and the source is released.
 */
export function abortable(source: ChunkSource, signal: AbortSignal | undefined): ChunkSource {
  if (signal === undefined) return source;
  return {
    async next() {
      throwIfAborted(signal);
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(abortError(signal));
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        return await Promise.race([source.next(), aborted]);
      } finally {
        if (onAbort) signal.removeEventListener('abort', onAbort);
      }
    },
    release: () => source.release(),
  };
}

/** The error for an aborted introspection, carrying the signal's reason as its cause. */
export function abortError(signal: AbortSignal): IntrospectionError {
  return new IntrospectionError('ABORTED', 'introspection was aborted', { cause: signal.reason });
}

/** Throws `ABORTED` when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}
