/**
 * The engine's side of guest inspection (the `inspectGuest` option): given an introspected
 * image and the reader of its source, the guest's disk is found and inspected
 * (`guest/inspect.ts`), and whatever stands in the way becomes `{ unavailable: reason }`
 * rather than a failure of the whole introspection.
 *
 * | image | guest disk |
 * | --- | --- |
 * | a format whose module maps one (`guestDisk`: raw, qcow2, VDI, VHD, VHDX, ...) | the disk its tables map (`src/reading/guest-disk.ts`) |
 * | `iso` | none: an optical disc is identified by its volume id (`os_*` Glance properties), not inspected as an installed guest |
 * | any other format (LUKS: encrypted) | none: `{ unavailable }` with the reason |
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
import type { GuestInfo } from '../guest/inspect.js';
import { DEFAULT_GUEST_READ_BYTES } from '../guest/guest-reader.js';
import { isIntrospectionError } from './errors.js';
import type { AnyFormatModule, ByteReader, GuestDiskUnavailable } from './format-module.js';
import { type GuestDisk, isGuestDiskUnavailable, openGuestDisk } from './reading/guest-disk.js';

export type { GuestInfo, GuestOs, GuestFileSystem, GuestVolumeGroup } from '../guest/inspect.js';
export type { GuestPartition } from '../guest/partitions.js';

/** Why the guest could not be inspected (the introspection itself succeeded): `{ unavailable: reason }`. */
export type GuestUnavailable = GuestDiskUnavailable;

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
  module: AnyFormatModule;
  details: unknown;
  virtualSize: number;
}

/** True for a guest result that holds an inspection (not a reason why there is none). */
export function isGuestInfo(guest: GuestResult | undefined): guest is GuestInfo {
  return guest !== undefined && !('unavailable' in guest);
}

/**
 * Inspects the guest inside an introspected image: `info.guest`. The guest's disk is the
 * one the format's tables map (`openGuestDisk`, from the module's `guestDisk`). Never
 * throws for the image's sake (a stream, an unmapped or encrypted format, a damaged guest,
 * a spent read budget all give `{ unavailable }`); an abort still rejects with `ABORTED`,
 * and a bug of this library's with `INTERNAL` (as anywhere else, and so the fuzzer sees it).
 */
export async function inspectImageGuest(image: IntrospectedImage, source: ByteReader, settings: ResolvedGuestInspection, signal?: AbortSignal): Promise<GuestResult> {
  const diskWarnings: string[] = [];
  let disk: GuestDisk | undefined;
  try {
    const opened = await openGuestDisk(source, image.module, { details: image.details, virtualSize: image.virtualSize }, { warn: (message) => diskWarnings.push(message) });
    if (isGuestDiskUnavailable(opened)) return opened;
    disk = opened;
    // Loaded only when asked for: the file systems, LVM and the registry are most of the
    // library's code, and a bundle that never inspects a guest should not carry them.
    const { inspectGuest } = await import('../guest/inspect.js');
    const guest = await inspectGuest(disk.reader, { maxReadBytes: settings.maxReadBytes, signal });
    // The guest disk's own warnings (a backing image not given) come first: they explain what follows.
    return diskWarnings.length === 0 ? guest : { ...guest, warnings: [...diskWarnings.map((message) => `guest disk: ${message}`), ...guest.warnings] };
  } catch (error) {
    // A damaged guest is a reason; an abort and our own bug (INTERNAL) are not the image's doing.
    if (isIntrospectionError(error) && error.code !== 'ABORTED' && error.code !== 'INTERNAL') return { unavailable: error.message };
    throw error;
  } finally {
    await disk?.release();
  }
}
