/**
 * Bochs: the "redolog" disk images of the Bochs emulator (growing, undoable and volatile).
 *
 * A 512-byte little-endian header (Bochs iodev/hdimage/hdimage.h), then a catalog of one u32
 * per extent, then the extents, each preceded by an allocation bitmap:
 *
 * | offset | field |
 * | --- | --- |
 * | 0 | magic `Bochs Virtual HD Image`, type `Redolog`, subtype `Growing` / `Undoable` / `Volatile` |
 * | 64 | version 0x00010000 or 0x00020000, header size, catalog entries, bitmap size, extent size |
 * | 84 | version 1: the disk size (u64) |
 * | 84 | version 2: a timestamp (u32; qemu calls it reserved), then the disk size at 88 |
 *
 * qemu 7.2 (block/bochs.c) reads the disk size from the same places, but only for the
 * `Growing` subtype, and counts whole sectors (size / 512). We report the declared size (see
 * docs/formats/bochs.md). Flat Bochs images have no header: they are raw.
 *
 * @module
 */
import { cutAtNul, latin1Text, safeNumber } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader, FormatModule, ParseContext, ParsedImage } from '../src/format-module.js';
import { BOCHS_HEADER_SIZE, decodeBochsHeader } from './generated/bochs.js';

/** The header's magic text, with the NUL that ends it (qemu compares it with strcmp). */
export const BOCHS_MAGIC = 'Bochs Virtual HD Image\0';
/** The only header type with metadata. */
export const BOCHS_REDOLOG_TYPE = 'Redolog';
/** Header version 1.0: the disk size follows the extent size. */
export const BOCHS_VERSION_1 = 0x00010000;
/** Header version 2.0: a timestamp comes first. */
export const BOCHS_VERSION_2 = 0x00020000;
/** qemu refuses catalogs of more than 0x100000 entries, "what bximage needs for ~8 TB" (block/bochs.c). */
export const BOCHS_QEMU_MAX_CATALOG_ENTRIES = 0x100000;
/** qemu refuses extents larger than 8 MiB (block/bochs.c). */
export const BOCHS_QEMU_MAX_EXTENT_SIZE = 0x800000;
const SECTOR_SIZE = 512;

/** Bochs redolog metadata. */
export interface BochsDetails {
  /** The header type: `Redolog`. */
  type: string;
  /** `Growing`, `Undoable` or `Volatile` (qemu opens `Growing` only). */
  subtype: string;
  /** The header version: `'1.0'` or `'2.0'`. */
  version: string;
  /** Header size in bytes: where the catalog starts (512). */
  headerSize: number;
  /** Catalog entries: the number of extents the disk may have. */
  catalogEntries: number;
  /** Bytes of allocation bitmap before each extent's data. */
  bitmapSize: number;
  /** Bytes of data per extent. */
  extentSize: number;
  /** Version 2: the base image's modification time (undoable redologs), as stored; `undefined` for version 1. */
  timestamp: number | undefined;
  /** The disk size in bytes, as declared (the virtual size). */
  diskSize: number;
}

function fieldText(bytes: Uint8Array): string {
  return cutAtNul(latin1Text(bytes));
}

function versionName(version: number): string {
  return `${version >>> 16}.${version & 0xffff}`;
}

function isPowerOfTwo(value: number): boolean {
  return value > 0 && (value & (value - 1)) === 0;
}

/** qemu's open checks, as warnings: the result stands, but qemu would refuse the image. */
function checkConsistency(details: BochsDetails, context: ParseContext): void {
  if (details.catalogEntries > BOCHS_QEMU_MAX_CATALOG_ENTRIES) {
    context.warn(`${details.catalogEntries} catalog entries is more than qemu accepts (${BOCHS_QEMU_MAX_CATALOG_ENTRIES})`);
  }
  if (details.extentSize < SECTOR_SIZE || !isPowerOfTwo(details.extentSize) || details.extentSize > BOCHS_QEMU_MAX_EXTENT_SIZE) {
    context.warn(`an extent size of ${details.extentSize} bytes is not a power of two from 512 to 8 MiB (qemu refuses it)`);
  }
  if (BigInt(details.catalogEntries) * BigInt(details.extentSize) < BigInt(details.diskSize)) {
    context.warn(`${details.catalogEntries} extents of ${details.extentSize} bytes cannot hold the disk's ${details.diskSize} bytes`);
  }
}

async function parseBochs(reader: ByteReader, context: ParseContext): Promise<ParsedImage<BochsDetails>> {
  // One read covers either version (version 2.0's header is the longer, 96 bytes).
  const header = decodeBochsHeader(await reader.read(0, BOCHS_HEADER_SIZE, 'header'));
  const type = fieldText(header.type);
  if (type !== BOCHS_REDOLOG_TYPE) {
    throw fieldError('UNSUPPORTED', 'header.type', `header type "${type}" (only "Redolog" images have a header)`);
  }
  if (header.version !== BOCHS_VERSION_1 && header.version !== BOCHS_VERSION_2) {
    throw fieldError('UNSUPPORTED', 'header.version', `header version ${versionName(header.version)} (1.0 and 2.0 exist)`);
  }
  if (header.extentSize === 0) {
    throw fieldError('CORRUPT', 'header.extentSize', 'an extent size of 0 cannot hold any data');
  }
  const details: BochsDetails = {
    type,
    subtype: fieldText(header.subtype),
    version: versionName(header.version),
    headerSize: header.headerSize,
    catalogEntries: header.catalogEntries,
    bitmapSize: header.bitmapSize,
    extentSize: header.extentSize,
    timestamp: header.timestamp,
    diskSize: safeNumber(header.diskSize, 'header.diskSize', 'bochs'),
  };
  checkConsistency(details, context);
  return { virtualSize: details.diskSize, details };
}

/** The Bochs format module. */
export const bochs: FormatModule<'bochs', BochsDetails, never> = {
  name: 'bochs',
  title: 'Bochs disk image (redolog)',
  qemuProbes: true,
  glance: { diskFormat: null }, // Glance has no disk_format for it
  signatures: [{ offset: 0, bytes: BOCHS_MAGIC }],
  summarize: (details) => [
    ['subtype', details.subtype],
    ['version', details.version],
    ['extent size', details.extentSize],
    ['catalog entries', details.catalogEntries],
  ],
  parse: parseBochs,
};
