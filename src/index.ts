/**
 * image-introspect: read the metadata inside virtual-machine disk images from a stream
 * of bytes, in Node and in browsers.
 *
 * ```ts
 * import { introspect } from 'image-introspect';
 * const info = await introspect(source);
 * if (info.format === 'vmdk') console.log(info.details.createType, info.details.adapterType);
 * ```
 *
 * This entry point is platform-neutral: it uses only `Uint8Array`, `DataView`,
 * `TextDecoder` and web streams. Node-only helpers are in `image-introspect/node`.
 *
 * @module
 */
import { type Inspection, inspect as inspectCore, introspect as introspectCore } from './core.js';
import type { AnyFormatModule } from './format-module.js';
import type { InfoFor } from './image-info.js';
import type { IntrospectOptions } from './options.js';
import type { ImageSource } from './source.js';
import { allFormats, type BuiltinFormat } from '../formats/index.js';

export { toReadableStream, type Inspection, type CoreOptions } from './core.js';
export {
  IntrospectionError,
  isIntrospectionError,
  introspectionErrorCodes,
  type IntrospectionErrorCode,
  type IntrospectionErrorDetails,
} from './errors.js';
export type { AnyFormatModule, ByteReader, FormatModule, ParseContext, ParsedImage, Signature } from './format-module.js';
export type { ImageInfoOf, InfoFor } from './image-info.js';
export { DEFAULT_MAX_BUFFER_BYTES, DEFAULT_PROBE_BYTES, type IntrospectOptions } from './options.js';
export {
  DEFAULT_BANNED_FORMATS,
  DEFAULT_VMDK_ALLOWED_TYPES,
  fail,
  pass,
  type SafetyCheck,
  type SafetyCheckContext,
  type SafetyCheckOutcome,
  type SafetyCheckResult,
  type SafetyOptions,
  type SafetyVerdict,
} from './safety.js';
export { verifyDiskFormat, type DiskFormatDecision } from './verify-disk-format.js';
export { DEFAULT_CONCURRENCY, introspectMany, type IntrospectManyOptions, type ManyInput, type ManyResult, type PoolOptions, type SourceWithOptions } from './many.js';
export type { BlobLike, ImageSource } from './source.js';
export type { RandomAccessSource } from './random-access-reader.js';
export type { WebStreamLike } from './chunk-source.js';
export * from '../formats/index.js';

/** What {@link introspect} returns for the built-in formats: a union discriminated by `format`. */
export type ImageInfo = InfoFor<BuiltinFormat>;

/**
 * Reads the metadata of the disk image in `source`.
 *
 * Reading stops as soon as the answer is known: a stream is released (its iterator's
 * `return()` is called, a web stream is cancelled), and `bytesRead` tells how much was
 * taken.
 *
 * @param source - the image: an `AsyncIterable<Uint8Array>` (e.g. a Node readable), a web
 *   `ReadableStream`, a `Blob`/`File`, a `Uint8Array`/`ArrayBuffer`, or a random-access
 *   source `{ size, read(offset, length) }`.
 * @param options - see {@link IntrospectOptions}; `formats` defaults to every built-in format.
 * @throws {@link IntrospectionError} for every failure, with a stable `code`.
 */
export function introspect<Modules extends AnyFormatModule = BuiltinFormat>(
  source: ImageSource,
  options?: IntrospectOptions<Modules>,
): Promise<InfoFor<Modules>> {
  return introspectCore(source, { ...options, formats: options?.formats ?? (allFormats as unknown as readonly Modules[]) });
}

/**
 * Pass-through inspection: `stream` yields exactly the source's chunks while `result`
 * resolves to the metadata read from them. Use it to store an upload and read its
 * metadata in one pass, without buffering the image.
 *
 * ```ts
 * const { stream, result } = inspect(request);
 * await pipeline(Readable.from(stream), createWriteStream(path));
 * const info = await result;
 * ```
 */
export function inspect<Modules extends AnyFormatModule = BuiltinFormat>(
  source: ImageSource,
  options?: IntrospectOptions<Modules>,
): Inspection<InfoFor<Modules>> {
  return inspectCore(source, { ...options, formats: options?.formats ?? (allFormats as unknown as readonly Modules[]) });
}
