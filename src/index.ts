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
import { type CoreOptions, type Inspection, inspect as inspectCore, introspect as introspectCore } from './core.js';
import type { AnyFormatModule } from './format-module.js';
import type { InfoFor } from './image-info.js';
import type { IntrospectOptions } from './options.js';
import type { ImageInfoOf } from './image-info.js';
import type { ImageSource } from './reading/open.js';
import { type DiskFormatDecision, verifyDiskFormatWith } from './verify-disk-format.js';
import type { AnyContainerModule, LayerOf } from './container-module.js';
import { allContainers, allFormats, withDefaults } from './defaults.js';
import type { BuiltinContainer, OvfInfo } from '../containers/index.js';
import type { BuiltinFormat } from '../formats/index.js';
import { type ReferenceOptions, followReferences, refuseReference, splitReferenceOptions } from './chain.js';
import { resolveOptions } from './options.js';
import { releaseUnopened } from './reading/chunks.js';
import { type UrlIntrospectOptions, introspectUrlWith } from './remote/introspect-url.js';

export { toReadableStream, type Inspection, type CoreOptions } from './core.js';
export {
  IntrospectionError,
  fieldError,
  isIntrospectionError,
  introspectionErrorCodes,
  type IntrospectionErrorCode,
  type IntrospectionErrorDetails,
} from './errors.js';
export type {
  AnyFormatModule,
  ByteReader,
  CheckNameOf,
  CompressedUnit,
  FormatModule,
  GuestDiskCodec,
  GuestDiskContext,
  GuestDiskMap,
  GuestDiskPiece,
  GuestDiskUnavailable,
  ModuleOption,
  ModuleOptionsOf,
  ParseContext,
  ParsedImage,
  Signature,
  WantedRange,
} from './format-module.js';
export type { ImageInfoOf, InfoFor } from './image-info.js';
export { DEFAULT_MAX_BUFFER_BYTES, DEFAULT_MAX_CONTAINER_DEPTH, DEFAULT_MAX_DECOMPRESSED_BYTES, DEFAULT_PROBE_BYTES, MIN_MAX_BUFFER_BYTES, type CoreIntrospectOptions, type IntrospectOptions } from './options.js';
export {
  coreCheckNames,
  type CoreCheckName,
  fail,
  pass,
  type SafetyCheck,
  type SafetyCheckContext,
  type SafetyCheckOutcome,
  type SafetyCheckResult,
  type SafetyOptions,
  type SafetyVerdict,
} from './safety.js';
export { verifyDiskFormatWith, type DiskFormatDecision } from './verify-disk-format.js';
export type { BlobLike, ImageSource } from './reading/open.js';
export {
  MAX_BACKING_CHAIN_DEPTH,
  MAX_REFERENCED_FILES,
  ReferenceRefused,
  refuseReference,
  type ReferencedFile,
  type ReferenceOptions,
  type ReferenceResolver,
  type Referrer,
} from './chain.js';
export type { BackingReference, DetailsPath, ExtentFacts, ExtentReferences, FileReferences } from './format-module.js';
export type { RemoteOptions, UrlIntrospectOptions } from './remote/introspect-url.js';
export type { FetchLike } from './remote/http-client.js';
export { FIRST_REQUEST_BYTES } from './remote/range-fetcher.js';
export { PERMISSIVE_URL_FILTER, SERVICE_URL_FILTER, SPECIAL_PURPOSE_RANGES, type UrlFilter, type UrlFilterOption } from './remote/url-filter.js';
export type { RandomAccessSource } from './reading/range-backend.js';
export type { WebStreamLike } from './reading/chunks.js';
export { glanceProperties, type GlancePropertiesInput, type GlancePropertiesOptions, type OvfFacts } from './glance/properties.js';
export { isGuestInfo, type GuestFileSystem, type GuestInfo, type GuestInspectionSettings, type GuestOs, type GuestPartition, type GuestResult, type GuestUnavailable, type GuestVolumeGroup } from './guest-inspection.js';
export type {
  GlanceContainerFormat,
  GlanceDeclaration,
  GlanceDiskFormat,
  GlanceProperties,
  GlancePropertyContext,
  GlancePropertyValue,
  OsDistroVocabulary,
} from './glance/declaration.js';
export { DEFAULT_CONCURRENCY, introspectMany, type IntrospectManyOptions, type ManyInput, type ManyResult, type PoolOptions, type SourceWithOptions } from './many.js';
export * from '../formats/index.js';
export * from '../containers/index.js';
export type { AnyContainerModule, ContainerContents, ContainerContext, ContainerModule, DecodedStats, InnerImage, LayerOf } from './container-module.js';
export type { ContainerLayer } from './image-info.js';

/** What {@link introspect} returns for the built-in formats: a union discriminated by `format`. */
export type ImageInfo = InfoFor<BuiltinFormat> & LayeredInfo<BuiltinContainer>;

/** What containers add to a result: the layers (typed by container), the OVF facts, every disk of a multi-disk layer. */
export interface LayeredInfo<Containers extends AnyContainerModule> {
  containers?: LayerOf<Containers>[];
  ovf?: OvfInfo;
}

/** The result for the given format and container modules. */
export type InfoWith<Modules extends AnyFormatModule, Containers extends AnyContainerModule> = InfoFor<Modules> & LayeredInfo<Containers>;

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
export async function introspect<Modules extends AnyFormatModule = BuiltinFormat, Containers extends AnyContainerModule = BuiltinContainer>(
  source: ImageSource,
  options?: IntrospectOptions<Modules, Containers> & ReferenceOptions,
): Promise<InfoWith<Modules, Containers>> {
  let split: ReturnType<typeof splitReferenceOptions<typeof options>>;
  try {
    split = splitReferenceOptions(options);
  } catch (error) {
    releaseUnopened(source);
    throw error;
  }
  const { references, rest } = split;
  const info = await introspectCore(source, withDefaults(rest) as unknown as CoreOptions<Modules>);
  if (references.resolve === undefined && references.backingChain !== true) return info as InfoWith<Modules, Containers>;
  // Without a resolver, nothing the image names can be read: the walk says so in warnings.
  const resolve = references.resolve ?? (() => refuseReference('no resolve option was given to supply it'));
  const named = (source as { name?: unknown }).name;
  const resolved = resolveOptions(withDefaults(rest), undefined);
  return (await followReferences(info as ImageInfoOf<string, unknown>, { filename: typeof named === 'string' ? named : '' }, { resolve, backingChain: references.backingChain === true, options: resolved })) as InfoWith<Modules, Containers>;
}

/**
 * Reads the metadata of the disk image at an `http:` or `https:` URL, by range requests:
 * only the bytes the format needs, in a few round trips, with no HEAD request (Glance's
 * image data URL answers HEAD with 405). A server that ignores `Range` is read as a stream
 * and the response is cancelled as soon as the answer is known.
 *
 * In a browser the server's CORS must allow the request headers (`Range`, `If-Range`, and
 * any in `headers`: a preflight) and expose `Content-Range`, `ETag` and `Content-MD5`. In
 * Node, `introspectUrl` from `image-introspect/node` also resolves names and pins each
 * connection to an address the URL filter allows. See `docs/remote.md`.
 *
 * @param url - the image's URL
 * @param options - `introspect`'s options, and `headers`, `fetch`, `urlFilter` (default
 *   `'service'`: no private, loopback or link-local address, ports 80 and 443 only),
 *   `backingChain`, `resolve`, `allowOutsideReferences`
 * @throws {@link IntrospectionError}: `SOURCE_ERROR` naming the status and URL for what
 *   the server did, `INVALID_ARGUMENT` for a bad URL or option, `ABORTED` on the signal.
 */
export function introspectUrl<Modules extends AnyFormatModule = BuiltinFormat, Containers extends AnyContainerModule = BuiltinContainer>(
  url: string | URL,
  options?: UrlIntrospectOptions<Modules, Containers>,
): Promise<InfoWith<Modules, Containers>> {
  return introspectUrlWith(url, withDefaults(options), allFormats) as Promise<unknown> as Promise<InfoWith<Modules, Containers>>;
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
export function inspect<Modules extends AnyFormatModule = BuiltinFormat, Containers extends AnyContainerModule = BuiltinContainer>(
  source: ImageSource,
  options?: IntrospectOptions<Modules, Containers>,
): Inspection<InfoWith<Modules, Containers>> {
  return inspectCore(source, withDefaults(options) as unknown as CoreOptions<Modules>) as Inspection<InfoWith<Modules, Containers>>;
}

/**
 * Decides whether an upload declared as `claimed` (a Glance `disk_format`: `raw`, `qcow2`,
 * `vmdk`, `vhd`, `vhdx`, `vdi`, `iso`, `ploop`, `gpt`, `ami`, ...) may be accepted, given
 * what {@link introspect} found in its content. See `verifyDiskFormatWith` for the rules;
 * this applies them with the built-in formats.
 */
export function verifyDiskFormat(info: ImageInfoOf<string, unknown>, claimed: string, claimedContainer?: string): DiskFormatDecision {
  return verifyDiskFormatWith(allFormats, info, claimed, claimedContainer, allContainers);
}
