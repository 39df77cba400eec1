/**
 * The engine's side of guest inspection (the `inspectGuest` option): given an introspected
 * image and the reader of its source, the guest's disk is found and inspected
 * (`guest/inspect.ts`), and whatever stands in the way becomes `{ unavailable: reason }`
 * rather than a failure of the whole introspection.
 *
 * | image | guest disk |
 * | --- | --- |
 * | `raw` | the image itself |
 * | `iso` | none: an optical disc is identified by its volume id (`os_*` Glance properties), not inspected as an installed guest |
 * | `luks` | none: encrypted |
 * | any other format | not yet: the readers of the guest disk behind each format's tables plug in at {@link guestDiskOf} |
 *
 * | source | |
 * | --- | --- |
 * | random access (a file, a `Blob`, a URL read by ranges) | inspected |
 * | a stream | `unavailable`: file systems are walked, which a stream that has moved on cannot serve |
 *
 * Browser-safe.
 *
 * @module
 */
import { type GuestInfo, inspectGuest } from '../guest/inspect.js';
import { DEFAULT_GUEST_READ_BYTES } from '../guest/guest-reader.js';
import { isIntrospectionError } from './errors.js';
import type { ByteReader } from './format-module.js';

export type { GuestInfo, GuestOs, GuestFileSystem, GuestVolumeGroup } from '../guest/inspect.js';
export type { GuestPartition } from '../guest/partitions.js';

/** Why the guest could not be inspected (the introspection itself succeeded). */
export interface GuestUnavailable {
  unavailable: string;
}

/** `info.guest`: what is inside the guest, or why that could not be read. */
export type GuestResult = GuestInfo | GuestUnavailable;

/** The `inspectGuest` option in its object form. */
export interface GuestInspectionSettings {
  /** The most distinct bytes of the guest's disk the inspection may read; default 64 MiB. Past it, `info.guest` is `{ unavailable }`. */
  maxReadBytes?: number;
}

/** The option resolved. */
export interface ResolvedGuestInspection {
  maxReadBytes: number;
}

/** Validates the `inspectGuest` option: `true`, `false`, or {@link GuestInspectionSettings}. Returns `undefined` when off; throws a message for a bad value. */
export function resolveGuestInspection(value: unknown): ResolvedGuestInspection | undefined | string {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { maxReadBytes: DEFAULT_GUEST_READ_BYTES };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'options.inspectGuest must be true, false or { maxReadBytes }';
  for (const key of Object.keys(value)) if (key !== 'maxReadBytes') return `options.inspectGuest: unknown setting "${key}"`;
  const maxReadBytes = (value as GuestInspectionSettings).maxReadBytes ?? DEFAULT_GUEST_READ_BYTES;
  if (!Number.isSafeInteger(maxReadBytes) || maxReadBytes < 0) return `options.inspectGuest.maxReadBytes must be a non-negative integer, not ${String(maxReadBytes)}`;
  return { maxReadBytes };
}

/** The introspected image, as the engine has it. */
export interface IntrospectedImage {
  format: string;
  details: unknown;
}

/** True for a guest result that holds an inspection (not a reason why there is none). */
export function isGuestInfo(guest: GuestResult | undefined): guest is GuestInfo {
  return guest !== undefined && !('unavailable' in guest);
}

/** The reader of the guest's disk for an image, or why there is none. */
export function guestDiskOf(image: IntrospectedImage, source: ByteReader): ByteReader | GuestUnavailable {
  switch (image.format) {
    case 'raw':
      return source;
    case 'iso':
      return { unavailable: 'an optical disc image holds installer media, not an installed guest (its volume id is what identifies it)' };
    case 'luks':
      return { unavailable: 'the disk is encrypted (LUKS)' };
    default:
      return { unavailable: `reading the guest's disk through ${image.format}'s tables is not available yet` };
  }
}

/**
 * Inspects the guest inside an introspected image: `info.guest`. Never throws for the
 * image's sake (a stream, an unmapped or encrypted format, a damaged guest, a spent read
 * budget all give `{ unavailable }`); an abort still rejects with `ABORTED`.
 */
export async function inspectImageGuest(image: IntrospectedImage, source: ByteReader, settings: ResolvedGuestInspection, signal?: AbortSignal): Promise<GuestResult> {
  const disk = guestDiskOf(image, source);
  if ('unavailable' in disk) return disk;
  if (!disk.randomAccess) return { unavailable: 'the guest is inspected by walking its file systems, which needs a source read by random access (a file, a Blob, a URL read by ranges), not a stream' };
  try {
    return await inspectGuest(disk, { maxReadBytes: settings.maxReadBytes, signal });
  } catch (error) {
    if (isIntrospectionError(error) && error.code !== 'ABORTED') return { unavailable: error.message };
    throw error;
  }
}
