/**
 * The format-neutral API: `introspect` and `inspect` over an explicit list of format
 * modules. The root entry point wraps these with every built-in format as the default;
 * import from `image-introspect/core` and pass `formats` yourself to bundle only some.
 *
 * @module
 */
import { toIntrospectionError } from './errors.js';
import type { AnyFormatModule } from './format-module.js';
import type { InfoFor } from './image-info.js';
import { Feed, PassThrough } from './inspect.js';
import { introspectBackend, introspectSource } from './introspect.js';
import { type IntrospectOptions, resolveOptions } from './options.js';
import { type ChunkSource, abortable, chunksFromIterable, releaseUnopened } from './reading/chunks.js';
import { type ImageSource, chunksOf } from './reading/open.js';
import { StreamBackend } from './reading/stream-backend.js';

/** Options where the list of formats is required. */
export type CoreOptions<Modules extends AnyFormatModule> = IntrospectOptions<Modules> & { formats: readonly Modules[] };

/**
 * Reads the metadata of the disk image in `source`, considering the formats in
 * `options.formats`. Stops reading as soon as the answer is known, and releases the source
 * on every way out (an answer, an error, an abort, invalid options).
 *
 * @throws `IntrospectionError` for every failure.
 */
export async function introspect<Modules extends AnyFormatModule>(source: ImageSource, options: CoreOptions<Modules>): Promise<InfoFor<Modules>> {
  try {
    const resolved = (() => {
      try {
        return resolveOptions(options, undefined);
      } catch (error) {
        releaseUnopened(source);
        throw error;
      }
    })();
    return (await introspectSource(source, resolved)) as InfoFor<Modules>;
  } catch (error) {
    throw toIntrospectionError(error);
  }
}

/** What {@link inspect} returns. */
export interface Inspection<Info> {
  /**
   * Exactly the source's bytes, as the same chunks (no copies). Consume it (e.g. write it
   * to storage); the metadata is read from the chunks as they pass.
   */
  stream: AsyncIterableIterator<Uint8Array>;
  /**
   * Resolves to the metadata once known, usually after the first chunks. It rejects with
   * `ABORTED` if the stream is closed before that, and it only progresses while `stream`
   * is being consumed. Invalid options and unreadable sources are reported here too.
   */
  result: Promise<Info>;
}

/** An inspection that failed before it started: the stream fails with the same error, the result rejects. */
function failedInspection<Info>(error: unknown): Inspection<Info> {
  const failure = toIntrospectionError(error);
  const result = Promise.reject(failure);
  result.catch(() => undefined);
  const stream: AsyncIterableIterator<Uint8Array> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => Promise.reject(failure),
    return: async () => ({ done: true, value: undefined }),
  };
  return { stream, result };
}

/**
 * Pass-through inspection, for an upload that must reach storage unchanged while its
 * metadata is read. The image is never buffered: at most `maxBufferBytes` wait between
 * the stream and the introspection.
 */
export function inspect<Modules extends AnyFormatModule>(source: ImageSource, options: CoreOptions<Modules>): Inspection<InfoFor<Modules>> {
  let resolved: ReturnType<typeof resolveOptions>;
  let upstream: ChunkSource;
  try {
    resolved = resolveOptions(options, undefined);
  } catch (error) {
    releaseUnopened(source);
    return failedInspection(error);
  }
  try {
    upstream = abortable(chunksOf(source), resolved.signal);
  } catch (error) {
    return failedInspection(error);
  }
  const feed = new Feed();
  const stream = new PassThrough(upstream, feed, resolved.maxBufferBytes, resolved.signal);
  const result = introspectBackend(new StreamBackend(feed), resolved).then(
    (info) => info as InfoFor<Modules>,
    (error: unknown) => {
      throw toIntrospectionError(error);
    },
  );
  // The caller may only want the stream; a failure then must not surface as an unhandled rejection.
  result.catch(() => undefined);
  return { stream, result };
}

/**
 * Wraps an async iterable of chunks (such as {@link Inspection.stream}) as a web
 * `ReadableStream`, e.g. for a `fetch` upload body in a browser.
 */
export function toReadableStream(chunks: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const source = chunksFromIterable(chunks);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await source.next();
      if (chunk === null) controller.close();
      else controller.enqueue(chunk);
    },
    cancel: () => source.release(),
  });
}
