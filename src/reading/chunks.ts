/**
 * Sequential sources: pulling chunks from what a caller passed (an async iterable, a Node
 * readable, a web `ReadableStream`), racing every pull against the abort signal, and
 * releasing the source on every exit path without ever waiting on a stalled one.
 *
 * | source | how it is released |
 * | --- | --- |
 * | a Node stream (has `destroy()`) | `destroy()`: closes its file descriptor even when a read is pending, and even when iteration never started |
 * | a web `ReadableStream` | its reader's `cancel()`, which also settles a pending `read()` |
 * | any other async iterable | its iterator's `return()`, awaited only when no `next()` is pending (a generator stuck in an `await` would queue it forever) |
 *
 * @module
 */
import { withArticle } from '../bytes.js';
import { IntrospectionError, fieldError } from '../errors.js';

/** A sequence of chunks that can be pulled one at a time and released early. */
export interface ChunkSource {
  /** The next chunk, or `null` at the end. */
  next(): Promise<Uint8Array | null>;
  /** Stops the source. Idempotent; never waits on a stalled source. */
  release(): Promise<void>;
  /**
   * The underlying source's own step (`iterator.next()`, `reader.read()`), unvalidated and
   * unwrapped: the pass-through uses it once the metadata is known, so that passing a chunk
   * on costs nothing more than the source itself.
   */
  step?(): Promise<IteratorResult<unknown>>;
}

/** The parts of a web `ReadableStream` this library uses (no BYOB reader). */
export interface WebStreamLike {
  getReader(): {
    read(): Promise<{ done: boolean; value?: unknown }>;
    cancel(reason?: unknown): Promise<void>;
    releaseLock(): void;
  };
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
    `the source yielded ${withArticle(value === null ? 'null' : typeof value)} chunk; only Uint8Array chunks are accepted (was an encoding set on the stream?)`,
  );
}

/** Any failure of the caller's source, as `SOURCE_ERROR` (library errors pass through). */
export function sourceError(error: unknown, doing = 'reading the source'): IntrospectionError {
  if (error instanceof IntrospectionError) return error;
  const what = error instanceof Error ? error.message : String(error);
  return new IntrospectionError('SOURCE_ERROR', `${doing} failed: ${what}`, { cause: error });
}

/** Something with a Node-stream `destroy()`: releasing it must close it, started or not. */
function destroyable(value: unknown): { destroy(error?: Error): unknown } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const candidate = value as { destroy?: unknown; destroyed?: unknown };
  return typeof candidate.destroy === 'function' ? (value as { destroy(error?: Error): unknown }) : undefined;
}

/**
 * Releases a source that was never opened (a pre-aborted signal, an invalid option): a
 * Node stream is destroyed (its file descriptor closed), a web stream cancelled. Other
 * iterables hold nothing until iterated.
 */
export function releaseUnopened(source: unknown): void {
  const node = destroyable(source);
  if (node !== undefined) {
    try {
      // A Node stream destroyed before it opened still reports its open error (a missing
      // file): with no listener that would crash the process.
      const emitter = node as { on?: (event: string, listener: () => void) => unknown };
      if (typeof emitter.on === 'function') emitter.on('error', () => undefined);
      node.destroy();
    } catch {
      // A stream that fails while being destroyed has nothing more to give back.
    }
    return;
  }
  if (typeof source === 'object' && source !== null && typeof (source as { cancel?: unknown }).cancel === 'function') {
    const stream = source as { cancel(): Promise<void>; locked?: boolean };
    if (stream.locked !== true) stream.cancel().catch(() => undefined);
  }
}

/** Chunks from an `AsyncIterable<Uint8Array>` (a Node readable stream is one). */
export function chunksFromIterable(iterable: AsyncIterable<unknown>): ChunkSource {
  let iterator: AsyncIterator<unknown>;
  try {
    iterator = iterable[Symbol.asyncIterator]();
    if (typeof iterator !== 'object' || iterator === null || typeof iterator.next !== 'function') {
      throw new TypeError('[Symbol.asyncIterator]() did not return an iterator');
    }
  } catch (error) {
    releaseUnopened(iterable);
    throw sourceError(error, 'starting to iterate the source');
  }
  const owner = destroyable(iterable);
  let finished = false;
  let pending = false;
  return {
    async next() {
      if (finished) return null;
      let step: IteratorResult<unknown>;
      pending = true;
      try {
        step = await iterator.next();
      } catch (error) {
        finished = true;
        throw sourceError(error);
      } finally {
        pending = false;
      }
      if (step.done === true) {
        finished = true;
        return null;
      }
      return asChunk(step.value);
    },
    step: () => iterator.next(),
    async release() {
      if (finished) return;
      finished = true;
      if (owner !== undefined) {
        releaseUnopened(owner);
        return;
      }
      let stopping: unknown;
      try {
        stopping = iterator.return?.();
      } catch {
        return;
      }
      // A generator stuck in an await would queue return() behind it forever: only wait when idle.
      if (pending) Promise.resolve(stopping).catch(() => undefined);
      else await Promise.resolve(stopping).catch(() => undefined);
    },
  };
}

/** Chunks from a web `ReadableStream`, read through its default reader. */
export function chunksFromWebStream(stream: WebStreamLike): ChunkSource {
  let reader: ReturnType<WebStreamLike['getReader']>;
  try {
    reader = stream.getReader();
  } catch (error) {
    throw new IntrospectionError('INVALID_ARGUMENT', `cannot read the stream: ${error instanceof Error ? error.message : String(error)} (is it locked by another reader?)`, { cause: error });
  }
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
      // cancel() settles a pending read; it is not awaited past that (a source's cancel may stall).
      const cancelled = reader.cancel().then(
        () => reader.releaseLock(),
        () => undefined,
      );
      await Promise.race([cancelled, Promise.resolve()]);
    },
  };
}

/** The error for an aborted introspection, carrying the signal's reason as its cause. */
export function abortError(signal: AbortSignal): IntrospectionError {
  return new IntrospectionError('ABORTED', 'introspection was aborted', { cause: signal.reason });
}

/** Throws `ABORTED` when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortError(signal);
}

/**
 * The races waiting on each signal, behind one listener per signal: a batch shares one
 * signal between all its sources, and a listener per read would cost more than a small
 * image's parse (and Node warns past ten listeners on one signal).
 */
const racesBySignal = new WeakMap<AbortSignal, Set<() => void>>();

function waitForAbort(signal: AbortSignal, onAbort: () => void): () => void {
  let races = racesBySignal.get(signal);
  if (races === undefined) {
    const waiting = new Set<() => void>();
    races = waiting;
    racesBySignal.set(signal, waiting);
    signal.addEventListener(
      'abort',
      () => {
        racesBySignal.delete(signal);
        for (const race of waiting) race();
      },
      { once: true },
    );
  }
  races.add(onAbort);
  const held = races;
  return () => held.delete(onAbort);
}

/**
 * A signal of its own that fires with the first of `parents` to fire, for one source whose
 * calls add listeners of their own (`fetch` adds one per request), or that answers to two
 * signals (a batch's and its own): its listeners land on this signal, and the parents,
 * which a whole batch may share, keep one each (`waitForAbort`). `stop` unhooks it once the
 * source is done.
 */
export function followSignal(...parents: AbortSignal[]): { signal: AbortSignal; stop: () => void } {
  const controller = new AbortController();
  const fired = parents.find((parent) => parent.aborted);
  if (fired !== undefined) {
    controller.abort(fired.reason);
    return { signal: controller.signal, stop: () => undefined };
  }
  const stops = parents.map((parent) => waitForAbort(parent, () => controller.abort(parent.reason)));
  return {
    signal: controller.signal,
    stop: () => {
      for (const stop of stops) stop();
    },
  };
}

/**
 * `work`, or `ABORTED` as soon as the signal fires, whichever comes first: a source that
 * never answers cannot hold an introspection past an abort.
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const stopWaiting = waitForAbort(signal, () => reject(abortError(signal)));
    work.then(
      (value) => {
        stopWaiting();
        resolve(value);
      },
      (error: unknown) => {
        stopWaiting();
        reject(error);
      },
    );
  });
}

/**
 * Wraps a chunk source so that every pull races the abort signal: an abort is noticed at
 * once, whatever the source is doing, and the source is released.
 */
export function abortable(source: ChunkSource, signal: AbortSignal | undefined): ChunkSource {
  if (signal === undefined) return source;
  const released = () => {
    void source.release();
  };
  return {
    async next() {
      try {
        return await raceAbort(source.next(), signal);
      } catch (error) {
        if (signal.aborted) released();
        throw error;
      }
    },
    release: () => source.release(),
  };
}

/** A chunk source over bytes in memory, in one chunk. */
export function chunksOfBytes(bytes: Uint8Array): ChunkSource {
  let done = bytes.byteLength === 0;
  return {
    next: async () => {
      if (done) return null;
      done = true;
      return bytes;
    },
    release: async () => {
      done = true;
    },
  };
}

/** `SOURCE_ERROR` for a range source that gave back fewer bytes than it promised. */
export function shortSourceError(offset: number, got: number, size: number): IntrospectionError {
  return fieldError(
    'SOURCE_ERROR',
    'source',
    `the source returned ${got === 0 ? 'no bytes' : `only ${got} bytes`} at offset ${offset}, though its size is ${size}`,
    offset,
  );
}
