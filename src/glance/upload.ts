/**
 * Uploading an image to Glance in one read of its source: the metadata is read from the
 * bytes as they pass (`inspect()`), the image is created with the properties they prove,
 * and the same bytes are streamed on to Glance. An unsafe image, or one whose content
 * contradicts the `disk_format` asked for, is refused; no record is left behind when
 * anything fails.
 *
 * Browser-safe: the SHA-512 is computed by a hash the caller passes (Node's `crypto`; Web
 * Crypto has no incremental digest).
 *
 * @module
 */
import { IntrospectionError, toIntrospectionError } from '../errors.js';
import { type ImageInfo, inspect, introspect, toReadableStream, verifyDiskFormat } from '../index.js';
import type { ImageSource } from '../reading/open.js';
import { type DiskFormatDecision, failedChecks } from '../verify-disk-format.js';
import type { GlanceClient, GlanceImage, JsonPatchOperation } from './client.js';
import type { GlanceProperties, OsDistroVocabulary } from './declaration.js';
import { glanceProperties } from './properties.js';

/** Bytes held back by default while the metadata is not yet known (a raw disk's size is known only at its end). */
export const DEFAULT_HOLD_BYTES = 64 * 1024 * 1024;

/** Fields that are Glance's own: never sent as properties. */
const GLANCE_OWNED = new Set(['id', 'status', 'size', 'virtual_size', 'checksum', 'os_hash_algo', 'os_hash_value', 'created_at', 'updated_at', 'file', 'self', 'schema', 'locations', 'direct_url']);

/** Properties whose value Glance's schema wants as a whole number rather than a string. */
const INTEGER_FIELDS: ReadonlySet<string> = new Set(['min_disk', 'min_ram']);

/** An incremental hash, hex digest. */
export interface IncrementalHash {
  update(chunk: Uint8Array): void;
  digest(): string;
}

/** Options for {@link uploadImage}. */
export interface UploadOptions {
  /** The image's name. */
  name: string;
  /** Properties the caller adds (`--property k=v`); they win over the computed ones, with a warning where they differ. */
  properties?: Record<string, string>;
  /** The `disk_format` the caller declares; refused if the content contradicts it. Default: the detected one. */
  diskFormat?: string;
  /** Safety checks whose failure only warns. */
  allowChecks?: readonly string[];
  /** The vocabulary of `os_distro` (see `glanceProperties`). */
  osDistro?: OsDistroVocabulary;
  /** A SHA-512 to compare with Glance's `os_hash_value`; without it only the size is compared. */
  createHash?: () => IncrementalHash;
  /** Called as bytes go to Glance. */
  onProgress?: (bytesSent: number) => void;
  /** Most bytes held back before the image is created when the metadata needs more of the image; default {@link DEFAULT_HOLD_BYTES}. */
  holdBytes?: number;
  signal?: AbortSignal;
}

/** What {@link uploadImage} did. */
export type UploadOutcome =
  | {
      status: 'uploaded';
      image: GlanceImage;
      info: ImageInfo;
      /** The properties the image was given (computed and the caller's). */
      properties: GlanceProperties;
      size: number;
      /** The SHA-512 computed as the bytes went through (hex), when a hash was given. */
      sha512: string | undefined;
      warnings: string[];
    }
  | {
      status: 'refused';
      reason: string;
      info: ImageInfo;
      /** True when an image record had been created (and was deleted). */
      deleted: boolean;
      warnings: string[];
    };

class Refusal {
  constructor(readonly reason: string) {}
}

/**
 * Uploads `source` to Glance as a new image, reading it once.
 *
 * 1. The bytes are read through `inspect()`; until the metadata is known (usually after
 *    the first chunks) at most `holdBytes` are held back. Where the metadata needs the end
 *    of the image (a raw disk's size, a streamOptimized VMDK's footer), the format and its
 *    properties are read from the bytes held, and `min_disk` is set once the end is reached.
 * 2. The image is refused (nothing created) if Glance has no `disk_format` for the format,
 *    if the content contradicts `diskFormat`, or if it fails a safety check not allowed.
 * 3. The image is created with the properties, the bytes are streamed to Glance, and the
 *    size and SHA-512 Glance reports are compared with what went through.
 *
 * A refusal or failure after creation deletes the image record. Throws
 * `IntrospectionError` for failures (unreadable content, Glance errors, a mismatch).
 */
export async function uploadImage(client: GlanceClient, source: ImageSource, options: UploadOptions): Promise<UploadOutcome> {
  const warnings: string[] = [];
  const inspection = inspect(source, { ...(options.allowChecks && { allowChecks: options.allowChecks }), ...(options.signal && { signal: options.signal }) });
  const iterator = inspection.stream[Symbol.asyncIterator]();
  let finalInfo: ImageInfo | undefined;
  let readFailure: unknown;
  const settled = inspection.result.then(
    (info) => {
      finalInfo = info;
    },
    (error: unknown) => {
      readFailure = error;
    },
  );
  const isSettled = () => finalInfo !== undefined || readFailure !== undefined;

  // 1. Hold the first chunks back until the metadata is known, or holdBytes are held.
  const held: Uint8Array[] = [];
  let heldBytes = 0;
  const holdBytes = options.holdBytes ?? DEFAULT_HOLD_BYTES;
  let ended = false;
  try {
    while (!isSettled() && heldBytes < holdBytes) {
      const step = await iterator.next();
      if (step.done) {
        ended = true;
        break;
      }
      held.push(step.value);
      heldBytes += step.value.byteLength;
    }
    if (ended) await settled;
  } catch (error) {
    await iterator.return?.();
    throw toIntrospectionError(error);
  }
  if (readFailure !== undefined) {
    await iterator.return?.();
    throw toIntrospectionError(readFailure);
  }
  // The metadata from the bytes held, when the full answer needs more of the image.
  const provisional = finalInfo === undefined;
  const info = finalInfo ?? (await introspect(held, { ...(options.allowChecks && { allowChecks: options.allowChecks }) }));

  // 2. Decide, before anything is created.
  let properties: GlanceProperties;
  try {
    properties = decide(info, options, warnings, provisional);
  } catch (error) {
    await iterator.return?.();
    if (error instanceof Refusal) return { status: 'refused', reason: error.reason, info, deleted: false, warnings };
    throw error;
  }

  // 3. Create, stream, verify; delete the record on any refusal or failure from here on.
  const image = await client.createImage({ name: options.name, ...properties }, options.signal);
  // Cleared once the record is kept, or already deleted.
  let deleteOnExit = true;
  try {
    const hash = options.createHash?.();
    let sent = 0;
    const body = async function* (): AsyncGenerator<Uint8Array> {
      try {
        const pass = (chunk: Uint8Array) => {
          hash?.update(chunk);
          sent += chunk.byteLength;
          options.onProgress?.(sent);
          return chunk;
        };
        for (const chunk of held.splice(0)) yield pass(chunk);
        for (let step = await iterator.next(); !step.done; step = await iterator.next()) yield pass(step.value);
      } finally {
        await iterator.return?.();
      }
    };
    await client.uploadImageData(image.id, toReadableStream(body()), options.signal);
    await settled;
    if (readFailure !== undefined) throw toIntrospectionError(readFailure);
    const info = finalInfo as ImageInfo;

    let finalProperties: GlanceProperties;
    try {
      finalProperties = decide(info, options, provisional ? warnings : [], false);
    } catch (error) {
      if (error instanceof Refusal) {
        deleteOnExit = false;
        await client.deleteImage(image.id);
        return { status: 'refused', reason: error.reason, info, deleted: true, warnings };
      }
      throw error;
    }
    if (finalProperties.disk_format !== properties.disk_format) {
      throw new IntrospectionError(
        'FORMAT_MISMATCH',
        `the image was created as ${String(properties.disk_format)} from its first ${heldBytes} bytes, but its end shows a ${info.format} image`,
      );
    }

    let stored = await client.getImage(image.id);
    if (stored.size !== sent) throw new IntrospectionError('SOURCE_ERROR', `Glance stored ${stored.size} bytes of image ${image.id}, but ${sent} were sent`);
    const sha512 = hash?.digest();
    if (sha512 !== undefined) {
      if (stored.os_hash_algo === 'sha512' && stored.os_hash_value !== sha512) {
        throw new IntrospectionError('SOURCE_ERROR', `Glance's SHA-512 of image ${image.id} is ${stored.os_hash_value}, but the bytes sent hash to ${sha512}`);
      }
      if (stored.os_hash_algo !== 'sha512') warnings.push(`Glance hashes with ${stored.os_hash_algo ?? 'nothing'}, not sha512: the checksum was not compared`);
    }
    const patch = propertyPatch(stored, finalProperties);
    if (patch.length > 0) stored = await client.updateImage(image.id, patch);
    if (stored.status !== 'active') throw new IntrospectionError('SOURCE_ERROR', `image ${image.id} is ${stored.status} after its upload, not active`);
    deleteOnExit = false;
    return { status: 'uploaded', image: stored, info, properties: { ...properties, ...finalProperties }, size: sent, sha512, warnings };
  } finally {
    if (deleteOnExit) await client.deleteImage(image.id).catch(() => undefined);
  }
}

/**
 * The properties to create the image with, or a {@link Refusal}. From metadata read on a
 * prefix of the image (`provisional`), `min_disk` is left for later and safety is not
 * judged (the verdict on the whole image decides).
 */
function decide(info: ImageInfo, options: UploadOptions, warnings: string[], provisional: boolean): GlanceProperties {
  const computed = glanceProperties(info, options.osDistro ? { osDistro: options.osDistro } : {});
  if (provisional) delete computed.min_disk;
  let diskFormat = computed.disk_format;
  if (options.diskFormat !== undefined) {
    const decision = formatDecision(info, options.diskFormat);
    if (decision.decision === 'reject') throw new Refusal(decision.reason);
    if (decision.decision === 'accept-with-warning') warnings.push(decision.reason);
    diskFormat = options.diskFormat;
  }
  if (diskFormat === undefined) throw new Refusal(`Glance has no disk_format for ${info.format} images (give --disk-format to choose one)`);
  if (!provisional && !info.safety.safe) {
    throw new Refusal(`the image is unsafe: ${failedChecks(info).join('; ')}`);
  }
  const properties: GlanceProperties = { ...computed, disk_format: diskFormat };
  for (const [key, value] of Object.entries(options.properties ?? {})) {
    if (key === 'disk_format' || key === 'name') throw new IntrospectionError('INVALID_ARGUMENT', `set ${key} with its own option, not --property`);
    if (GLANCE_OWNED.has(key)) throw new IntrospectionError('INVALID_ARGUMENT', `${key} is Glance's own field and cannot be set`);
    const typed = typedValue(key, value);
    if (key in computed && computed[key] !== typed && !provisional) warnings.push(`${key}=${value} overrides ${String(computed[key])}, which the content shows`);
    properties[key] = typed;
  }
  return properties;
}

/**
 * `verifyDiskFormat`'s decision on the format alone: the upload and the audit judge the
 * safety verdict separately, with its own message.
 */
export function formatDecision(info: ImageInfo, declared: string): DiskFormatDecision {
  // The disk format alone: the container the content shows is taken as the declared one
  // (container_format is judged on its own), and safety is judged apart.
  return verifyDiskFormat({ ...info, safety: { safe: true, checks: [] } }, declared, glanceProperties(info).container_format as string | undefined);
}

function typedValue(key: string, value: string): string | number {
  if (!INTEGER_FIELDS.has(key)) return value;
  if (!/^\d+$/.test(value)) throw new IntrospectionError('INVALID_ARGUMENT', `${key} must be a whole number, not "${value}"`);
  return Number(value);
}

/** JSON Patch adding the properties the image lacks and replacing those that differ (`disk_format` and `container_format` excepted). */
export function propertyPatch(image: GlanceImage, properties: GlanceProperties): JsonPatchOperation[] {
  const operations: JsonPatchOperation[] = [];
  for (const [key, value] of Object.entries(properties)) {
    if (key === 'disk_format' || key === 'container_format') continue;
    const current = image[key];
    if (current === value) continue;
    operations.push({ op: current === undefined ? 'add' : 'replace', path: `/${key}`, value });
  }
  return operations;
}
