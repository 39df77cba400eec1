/**
 * VHD: Microsoft Virtual PC / Hyper-V virtual hard disks (qemu's `vpc` driver).
 *
 * Sources: Microsoft "Virtual Hard Disk Image Format Specification" 1.0 (2006); qemu 7.2
 * block/vpc.c (vpc_open, vpc_get_info).
 *
 * | disk type | layout | what is read |
 * | --- | --- | --- |
 * | fixed (2) | the disk's bytes, then the 512-byte footer | the footer, in the last 512 bytes |
 * | dynamic (3) | footer copy, dynamic header ("cxsparse"), BAT, blocks, footer | the footer copy at 0, the dynamic header at the footer's `dataOffset` |
 * | differencing (4) | as dynamic, with the parent's name, UUID and locators | the same, then each parent locator's data, in offset order |
 *
 * The block allocation table is never read: nothing in the metadata depends on it.
 *
 * Differences from qemu 7.2, by design (docs/formats/vhd.md):
 *
 * - qemu probes only the first 512 bytes, so it opens a fixed VHD as raw unless told
 *   `-f vpc`; we recognise the footer at the end and report `vhd`.
 * - qemu refuses a footer whose checksum is wrong ("Incorrect header checksum"); we
 *   report the disk with `checksumValid: false` and a warning.
 *
 * @module
 */
import {
  bigEndianUuid,
  bytesEqual,
  cutAtNul,
  isAllZero,
  latin1Text,
  safeNumber,
  utf16beText,
  utf16leText,
  utf8Text,
} from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader, FormatModule, ParseContext, ParsedImage, WantedRange } from '../src/format-module.js';
import { type SafetyCheck, fail, pass } from '../src/safety.js';
import {
  VHD_DISK_TYPES,
  VHD_DYNAMIC_HEADER_FIELD_OFFSETS,
  VHD_DYNAMIC_HEADER_SIZE,
  VHD_FOOTER_COOKIE,
  VHD_FOOTER_FIELD_OFFSETS,
  VHD_FOOTER_SIZE,
  type VhdDiskType,
  type VhdDynamicHeader,
  type VhdFooter,
  decodeVhdDynamicHeader,
  decodeVhdFooter,
} from './generated/vhd.js';
import { vhdGuestDisk } from './shared/vhd-guest.js';

export { VHD_DYNAMIC_HEADER_COOKIE, VHD_FOOTER_COOKIE, type VhdDiskType } from './generated/vhd.js';

/**
 * The most BAT entries we accept: qemu 7.2 refuses more than `INT_MAX / 4` ("Max Table
 * Entries too large"). The table itself is never read; the count is only reported.
 */
export const VHD_MAX_TABLE_ENTRIES = 0x1fffffff;
/**
 * The most bytes of one parent locator's data we read. A Windows path is at most 32767
 * UTF-16 characters (65534 bytes); a larger locator is not a path.
 */
export const VHD_MAX_LOCATOR_DATA_LENGTH = 65536;
/** qemu 7.2 refuses disks above this many sectors (2040 GiB, VHD_MAX_SECTORS in block/vpc.c). */
export const VHD_QEMU_MAX_SECTORS = 0xff000000;
/** The largest CHS geometry, 65535/16/255: qemu then uses the current size whatever the creator. */
export const VHD_MAX_GEOMETRY_SECTORS = 65535 * 16 * 255;

const SECTOR = 512;
/** VHD timestamps count seconds from 2000-01-01 00:00:00 UTC. */
const VHD_EPOCH_MILLISECONDS = Date.UTC(2000, 0, 1);
/** qemu 7.2 vpc_open: creators whose disks are sized by `currentSize`, not by the CHS geometry. */
const CURRENT_SIZE_CREATORS = ['win ', 'qem2', 'd2v ', 'CTXS', 'tap\0'];

/** CHS geometry from the footer. */
export interface VhdGeometry {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

/** One parent locator entry of a differencing disk, with its data decoded where it is a path. */
export interface VhdParentLocator {
  /** The platform code as its four characters: `W2ku`, `W2ru`, `Wi2k`, `Wi2r`, `Mac `, `MacX`. */
  platformCode: string;
  /** Room reserved for the data, as stored (the spec says sectors; Windows writes bytes). */
  platformDataSpace: number;
  /** Length of the data in bytes. */
  platformDataLength: number;
  /** Byte offset of the data in the file. */
  platformDataOffset: number;
  /**
   * The path the data holds: UTF-16LE for `W2ku` (absolute) and `W2ru` (relative), Latin-1
   * for the deprecated `Wi2k`/`Wi2r`, a UTF-8 file URL for `MacX`; `undefined` for a `Mac `
   * alias (a binary record) or an unknown code.
   */
  path: string | undefined;
}

/** VHD metadata: the footer's fields, then what the dynamic header and qemu's sizing rule add. */
export interface VhdDetails extends Omit<VhdFooterFields, 'dataOffset' | 'creatorApplicationBytes'> {
  /**
   * What qemu sizes the disk by (`virtualSize`): `geometry` (C x H x S x 512) for creators
   * that use it, `currentSize` for Hyper-V, Disk2vhd, XenServer, XenConverter and qemu's
   * `force_size`, and for the maximum geometry.
   */
  sizeSource: 'geometry' | 'currentSize';
  /** Where the footer that was read is: 0 for the copy at the start of a dynamic disk, else the file length - 512. */
  footerOffset: number;
  /** Dynamic and differencing disks: bytes per block (qemu's `cluster-size`). */
  blockSize: number | undefined;
  /** Dynamic and differencing disks: entries in the block allocation table. */
  maxTableEntries: number | undefined;
  /** Dynamic and differencing disks: byte offset of the block allocation table. */
  tableOffset: number | undefined;
  /** Dynamic and differencing disks: whether the dynamic header's checksum is right (qemu does not check it). */
  headerChecksumValid: boolean | undefined;
  /** Differencing disks: the parent's file name (UTF-16BE in the header). */
  parentName: string | undefined;
  /** Differencing disks: the parent's UUID. */
  parentUuid: string | undefined;
  /** Differencing disks: the parent's modification time, ISO 8601. */
  parentTimestamp: string | undefined;
  /** Differencing disks: the parent locator entries in use, in header order. */
  parentLocators: VhdParentLocator[] | undefined;
}

// ---------------------------------------------------------------------------------------
// Decoding helpers (exported for unit tests on header fragments)

/**
 * The VHD checksum: the one's complement of the sum of every byte, with the 4-byte
 * checksum field at `checksumOffset` counted as zero (VHD spec, "Checksum").
 */
export function vhdChecksum(bytes: Uint8Array, checksumOffset: number): number {
  let sum = 0;
  for (let index = 0, end = bytes.byteLength; index < end; index += 1) {
    if (index >= checksumOffset && index < checksumOffset + 4) continue;
    sum = (sum + (bytes[index] as number)) >>> 0;
  }
  return ~sum >>> 0;
}

/** A VHD timestamp (seconds since 2000-01-01 UTC) as ISO 8601. */
export function vhdTimestamp(seconds: number): string {
  return new Date(VHD_EPOCH_MILLISECONDS + seconds * 1000).toISOString();
}

/** A `major.minor` version from a 32-bit field whose high half is the major number. */
function versionText(value: number): string {
  return `${value >>> 16}.${value & 0xffff}`;
}

/** A four-character code with NULs removed (`tap\0` gives `tap`). */
function fourCharacterCode(bytes: Uint8Array): string {
  return latin1Text(bytes).replace(/\0/g, '');
}

/** The footer's fields that need no other structure, decoded and checked. */
export interface VhdFooterFields {
  /** From the footer's disk type: 2 fixed, 3 dynamic, 4 differencing. */
  diskType: VhdDiskType;
  /** Creator application, four characters with NULs removed (`win `, `qemu`, `qem2`, `vpc `, `tap`, ...). */
  creatorApp: string;
  /** Creator version as `major.minor` (Windows 10 writes `10.0`, qemu `5.3`). */
  creatorVersion: string;
  /** Creator host OS, four characters: `Wi2k` or `Mac `. */
  creatorHostOs: string;
  /** Creation time, ISO 8601. */
  timestamp: string;
  /** The footer's current size in bytes. */
  currentSize: number;
  /** The footer's original size in bytes. */
  originalSize: number;
  /** The footer's CHS geometry. */
  geometry: VhdGeometry;
  /** The disk's UUID. */
  uuid: string;
  /** True when the disk was left in a saved state. */
  savedState: boolean;
  /** Whether the footer's checksum is right (qemu refuses the disk when it is not). */
  checksumValid: boolean;
  /** The footer's features field (bit 0 temporary, bit 1 reserved and always set). */
  features: number;
  /** The footer's format version as `major.minor` (`1.0`). */
  formatVersion: string;
  /** The dynamic header's offset; `undefined` for the fixed-disk value 0xFFFFFFFFFFFFFFFF. */
  dataOffset: number | undefined;
  /** The raw creator application bytes, for qemu's sizing rule. */
  creatorApplicationBytes: Uint8Array;
}

/**
 * Decodes a 512-byte footer. Throws `CORRUPT` without the cookie and `UNSUPPORTED` for a
 * disk type other than 2, 3 or 4; a wrong checksum is reported, not thrown.
 */
export function readVhdFooter(bytes: Uint8Array): VhdFooterFields {
  const footer: VhdFooter = decodeVhdFooter(bytes);
  const diskType = VHD_DISK_TYPES.get(footer.diskType);
  if (diskType === undefined) {
    throw fieldError('UNSUPPORTED', 'footer.diskType', `disk type ${footer.diskType} (known: 2 fixed, 3 dynamic, 4 differencing)`);
  }
  return {
    diskType,
    creatorApp: fourCharacterCode(footer.creatorApplication),
    creatorVersion: versionText(footer.creatorVersion),
    creatorHostOs: fourCharacterCode(footer.creatorHostOs),
    timestamp: vhdTimestamp(footer.timestamp),
    currentSize: safeNumber(footer.currentSize, 'footer.currentSize', 'vhd'),
    originalSize: safeNumber(footer.originalSize, 'footer.originalSize', 'vhd'),
    geometry: { cylinders: footer.cylinders, heads: footer.heads, sectorsPerTrack: footer.sectorsPerTrack },
    uuid: bigEndianUuid(footer.uniqueId),
    savedState: footer.savedState !== 0,
    checksumValid: vhdChecksum(bytes.subarray(0, VHD_FOOTER_SIZE), VHD_FOOTER_FIELD_OFFSETS.checksum) === footer.checksum,
    features: footer.features,
    formatVersion: versionText(footer.formatVersion),
    dataOffset: footer.dataOffset === 0xffffffffffffffffn ? undefined : safeNumber(footer.dataOffset, 'footer.dataOffset', 'vhd'),
    creatorApplicationBytes: new Uint8Array(footer.creatorApplication),
  };
}

/**
 * qemu 7.2's virtual size (vpc_open): C x H x S sectors, except that the footer's current
 * size (rounded down to sectors) is used when the creator is Hyper-V (`win `), qemu with
 * `force_size` (`qem2`), Disk2vhd (`d2v `), XenConverter (`CTXS`) or XenServer (`tap\0`), or
 * when the geometry is the maximum 65535/16/255.
 */
export function vhdVirtualSize(footer: Pick<VhdFooterFields, 'geometry' | 'currentSize' | 'creatorApplicationBytes'>): {
  virtualSize: number;
  sizeSource: 'geometry' | 'currentSize';
} {
  const { cylinders, heads, sectorsPerTrack } = footer.geometry;
  const geometrySectors = cylinders * heads * sectorsPerTrack;
  const byCurrentSize =
    CURRENT_SIZE_CREATORS.some((creator) => bytesEqual(footer.creatorApplicationBytes, 0, creator)) ||
    geometrySectors === VHD_MAX_GEOMETRY_SECTORS;
  if (byCurrentSize) {
    return { virtualSize: Math.floor(footer.currentSize / SECTOR) * SECTOR, sizeSource: 'currentSize' };
  }
  return { virtualSize: geometrySectors * SECTOR, sizeSource: 'geometry' };
}

/** The dynamic header's fields, decoded and checked. */
export interface VhdDynamicHeaderFields {
  tableOffset: number;
  maxTableEntries: number;
  blockSize: number;
  checksumValid: boolean;
  parentUuid: string;
  parentTimestamp: string;
  parentName: string;
  /** The entries whose platform code is not zero, in header order. */
  parentLocatorEntries: Array<Omit<VhdParentLocator, 'path'>>;
}

/**
 * Decodes a 1024-byte dynamic disk header. Throws `CORRUPT` without the cookie or for a
 * block size that is not a power of two of at least 512 (qemu: "Invalid block size"), and
 * `LIMIT_EXCEEDED` above {@link VHD_MAX_TABLE_ENTRIES} BAT entries.
 */
export function readVhdDynamicHeader(bytes: Uint8Array): VhdDynamicHeaderFields {
  // qemu: "Invalid header magic" when the cookie is not there (the decoder's CORRUPT).
  const header: VhdDynamicHeader = decodeVhdDynamicHeader(bytes);
  if (header.blockSize < SECTOR || (header.blockSize & (header.blockSize - 1)) !== 0) {
    throw fieldError('CORRUPT', 'dynamic header.blockSize', `block size ${header.blockSize} is not a power of two of at least 512`);
  }
  if (header.maxTableEntries > VHD_MAX_TABLE_ENTRIES) {
    throw fieldError('LIMIT_EXCEEDED', 'dynamic header.maxTableEntries', `${header.maxTableEntries} BAT entries (at most ${VHD_MAX_TABLE_ENTRIES}, as qemu)`);
  }
  const parentLocatorEntries: Array<Omit<VhdParentLocator, 'path'>> = [];
  for (const [slot, entry] of header.parentLocatorEntries.entries()) {
    if (isAllZero(entry.platformCode)) continue;
    parentLocatorEntries.push({
      platformCode: latin1Text(entry.platformCode),
      platformDataSpace: entry.platformDataSpace,
      platformDataLength: entry.platformDataLength,
      platformDataOffset: safeNumber(entry.platformDataOffset, `parent locator ${slot + 1}.platformDataOffset`, 'vhd'),
    });
  }
  return {
    tableOffset: safeNumber(header.tableOffset, 'dynamic header.tableOffset', 'vhd'),
    maxTableEntries: header.maxTableEntries,
    blockSize: header.blockSize,
    checksumValid: vhdChecksum(bytes.subarray(0, VHD_DYNAMIC_HEADER_SIZE), VHD_DYNAMIC_HEADER_FIELD_OFFSETS.checksum) === header.checksum,
    parentUuid: bigEndianUuid(header.parentUniqueId),
    parentTimestamp: vhdTimestamp(header.parentTimestamp),
    parentName: cutAtNul(utf16beText(header.parentUnicodeName)),
    parentLocatorEntries,
  };
}

/** The path a parent locator's data holds, where its platform code says how to read it. */
export function decodeLocatorPath(platformCode: string, data: Uint8Array): string | undefined {
  switch (platformCode) {
    case 'W2ku':
    case 'W2ru':
      return cutAtNul(utf16leText(data));
    case 'Wi2k':
    case 'Wi2r':
      return cutAtNul(latin1Text(data));
    case 'MacX':
      return cutAtNul(utf8Text(data));
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------
// Parsing

/** The footer that describes the disk, and where it was found. */
interface FoundFooter {
  footer: VhdFooterFields;
  /** 0 for the copy at the start, else the file length - 512. */
  offset: number;
}

/**
 * Finds the footer as qemu does (vpc_open): the copy at the start when there is one (a
 * dynamic or differencing disk), else the last 512 bytes (a fixed disk). A copy at the
 * start that says "fixed" is not where a fixed disk keeps its footer, so the end is read too.
 */
async function findFooter(reader: ByteReader): Promise<FoundFooter> {
  // The first 8 bytes are always readable: detection keeps at least the head signatures' bytes.
  const cookie = await reader.readAvailable(0, VHD_FOOTER_COOKIE.length, 'footer');
  if (bytesEqual(cookie, 0, VHD_FOOTER_COOKIE)) {
    const footer = readVhdFooter(await reader.read(0, VHD_FOOTER_SIZE, 'footer'));
    if (footer.diskType !== 'fixed') return { footer, offset: 0 };
  }
  return findTrailingFooter(reader);
}

async function findTrailingFooter(reader: ByteReader): Promise<FoundFooter> {
  const size = await reader.totalSize(VHD_FOOTER_SIZE);
  if (size < VHD_FOOTER_SIZE) {
    throw fieldError('TRUNCATED', 'footer', `the image is ${size} bytes, less than a footer`);
  }
  const offset = size - VHD_FOOTER_SIZE;
  const bytes = await reader.read(offset, VHD_FOOTER_SIZE, 'footer');
  if (!bytesEqual(bytes, 0, VHD_FOOTER_COOKIE)) {
    // qemu: "invalid VPC image".
    throw fieldError('CORRUPT', 'footer.cookie', `no "${VHD_FOOTER_COOKIE}" footer at the start or in the last 512 bytes`, offset);
  }
  return { footer: readVhdFooter(bytes), offset };
}

/** The details every disk type has, from the footer; the dynamic-only fields left undefined. */
function footerDetails(found: FoundFooter, sizeSource: VhdDetails['sizeSource']): VhdDetails {
  const { footer } = found;
  return {
    diskType: footer.diskType,
    creatorApp: footer.creatorApp,
    creatorVersion: footer.creatorVersion,
    creatorHostOs: footer.creatorHostOs,
    timestamp: footer.timestamp,
    currentSize: footer.currentSize,
    originalSize: footer.originalSize,
    geometry: footer.geometry,
    sizeSource,
    uuid: footer.uuid,
    savedState: footer.savedState,
    checksumValid: footer.checksumValid,
    features: footer.features,
    formatVersion: footer.formatVersion,
    footerOffset: found.offset,
    blockSize: undefined,
    maxTableEntries: undefined,
    tableOffset: undefined,
    headerChecksumValid: undefined,
    parentName: undefined,
    parentUuid: undefined,
    parentTimestamp: undefined,
    parentLocators: undefined,
  };
}

/** Reads each parent locator's data in ascending offset order and decodes its path. */
async function readParentLocators(
  reader: ByteReader,
  entries: VhdDynamicHeaderFields['parentLocatorEntries'],
  headerEnd: number,
): Promise<VhdParentLocator[]> {
  const wanted: WantedRange<number>[] = entries.map((entry, index) => {
    const field = `parent locator ${entry.platformCode}`;
    if (entry.platformDataLength > VHD_MAX_LOCATOR_DATA_LENGTH) {
      throw fieldError('LIMIT_EXCEEDED', `${field}.platformDataLength`, `${entry.platformDataLength} bytes of locator data (at most ${VHD_MAX_LOCATOR_DATA_LENGTH})`);
    }
    if (entry.platformDataLength > 0 && entry.platformDataOffset < headerEnd) {
      // Every writer puts locator data after the header; data inside the footer copy or the
      // header is impossible, and a stream could not go back for it.
      throw fieldError('CORRUPT', `${field}.platformDataOffset`, `locator data at ${entry.platformDataOffset}, inside the footer copy or the dynamic header`);
    }
    return { key: index, offset: entry.platformDataOffset, length: entry.platformDataLength, field };
  });
  const data = await reader.readMany(wanted);
  return entries.map((entry, index) => ({
    ...entry,
    path: entry.platformDataLength === 0 ? undefined : decodeLocatorPath(entry.platformCode, data.get(index) as Uint8Array),
  }));
}

async function parseVhd(reader: ByteReader, context: ParseContext): Promise<ParsedImage<VhdDetails>> {
  const found = await findFooter(reader);
  const { footer } = found;
  if (!footer.checksumValid) {
    context.warn('the footer checksum is wrong (qemu refuses the disk: "Incorrect header checksum")');
  }
  const { virtualSize, sizeSource } = vhdVirtualSize(footer);
  if (virtualSize / SECTOR > VHD_QEMU_MAX_SECTORS) {
    context.warn(`the disk is larger than the 2040 GiB qemu opens`);
  }

  if (footer.diskType === 'fixed') {
    if (found.offset < footer.currentSize) {
      context.incomplete(`the footer says ${footer.currentSize} bytes of disk, the file holds ${found.offset} before the footer (truncated)`);
    }
    return { virtualSize, details: footerDetails(found, sizeSource) };
  }

  if (found.offset !== 0) {
    // Only a footer at the end was found, but a dynamic disk's header is found through the copy at the start.
    throw fieldError('CORRUPT', 'footer', `a ${footer.diskType} disk without the copy of its footer at the start`);
  }
  if (footer.dataOffset === undefined || footer.dataOffset < VHD_FOOTER_SIZE) {
    throw fieldError('CORRUPT', 'footer.dataOffset', `a ${footer.diskType} disk's dynamic header must follow the footer copy`);
  }
  const header = readVhdDynamicHeader(await reader.read(footer.dataOffset, VHD_DYNAMIC_HEADER_SIZE, 'dynamic header'));
  if (!header.checksumValid) context.warn('the dynamic disk header checksum is wrong (qemu does not check it)');
  if (header.maxTableEntries * header.blockSize < virtualSize) {
    context.warn(`the BAT covers ${header.maxTableEntries * header.blockSize} bytes, less than the disk (qemu: "Page table too small")`);
  }

  const details: VhdDetails = {
    ...footerDetails(found, sizeSource),
    blockSize: header.blockSize,
    maxTableEntries: header.maxTableEntries,
    tableOffset: header.tableOffset,
    headerChecksumValid: header.checksumValid,
  };
  if (footer.diskType === 'differencing') {
    details.parentName = header.parentName;
    details.parentUuid = header.parentUuid;
    details.parentTimestamp = header.parentTimestamp;
    details.parentLocators = await readParentLocators(reader, header.parentLocatorEntries, footer.dataOffset + VHD_DYNAMIC_HEADER_SIZE);
  }
  return { virtualSize, details };
}

/** `parent`: a differencing disk opens its parent from the host. */
const parentCheck: SafetyCheck<VhdDetails, 'parent'> = {
  name: 'parent',
  description: 'a differencing disk whose parent would be opened from the host',
  run(details) {
    if (details.diskType !== 'differencing') return pass();
    const path = details.parentLocators?.find((locator) => locator.path !== undefined)?.path;
    return fail(`a differencing disk of parent ${JSON.stringify(details.parentName ?? path ?? details.parentUuid ?? 'unknown')}`);
  },
};

/**
 * `size`: a dynamic disk's block allocation table must be able to address the declared
 * size (qemu: "Page table too small"). A footer can claim any size; the table cannot lie as
 * easily, since its entries are what the disk is made of.
 */
const sizeCheck: SafetyCheck<VhdDetails, 'size'> = {
  name: 'size',
  description: 'a declared disk size the block allocation table cannot address',
  run(details, { virtualSize }) {
    if (details.diskType === 'fixed') return pass('a fixed disk: its size is the data before the footer');
    const covered = (details.maxTableEntries ?? 0) * (details.blockSize ?? 0);
    return covered >= virtualSize
      ? pass()
      : fail(`${details.maxTableEntries} blocks of ${details.blockSize} bytes address ${covered} bytes, but the footer declares ${virtualSize}`);
  },
};

/** `checksum`: the footer's checksum must hold, as qemu (and Hyper-V) require: a footer that fails it was damaged or altered. */
const checksumCheck: SafetyCheck<VhdDetails, 'checksum'> = {
  name: 'checksum',
  description: 'a footer whose checksum is wrong (qemu refuses it)',
  run: (details) => (details.checksumValid ? pass() : fail('the footer checksum is wrong (qemu: "Incorrect header checksum")')),
};

/** The VHD format module (qemu's `vpc`). */
export const vhd: FormatModule<'vhd', VhdDetails, 'parent' | 'size' | 'checksum'> = {
  name: 'vhd',
  title: 'Virtual Hard Disk (VHD)',
  // qemu's probe looks at the first 512 bytes: a fixed VHD's footer is at the end, so qemu takes it for raw.
  qemuProbes: (details) => details.diskType !== 'fixed',
  aliases: ['vpc'],
  glance: { diskFormat: 'vhd' }, // Glance's name for what qemu calls vpc
  signatures: [
    { offset: 0, bytes: VHD_FOOTER_COOKIE },
    { offset: VHD_FOOTER_SIZE, bytes: VHD_FOOTER_COOKIE, fromEnd: true },
  ],
  tailBytes: VHD_FOOTER_SIZE,
  checks: [checksumCheck, parentCheck, sizeCheck],
  // Relative locators first (Windows writes W2ku and W2ru), then absolute ones, then the bare parent name.
  references: {
    backing: [
      { name: 'parentLocators[platformCode=W2ru].path', windowsPath: true },
      { name: 'parentLocators[platformCode=Wi2r].path', windowsPath: true },
      { name: 'parentLocators[platformCode=W2ku].path', windowsPath: true },
      { name: 'parentLocators[platformCode=Wi2k].path', windowsPath: true },
      { name: 'parentLocators[platformCode=MacX].path' },
      { name: 'parentName', windowsPath: true },
    ],
  },
  guestDisk: vhdGuestDisk,
  guestDataAtStart: (details) => details.diskType === 'fixed',
  // qemu-img info prints a dynamic disk's block size as cluster_size, and no format-specific block.
  summarize: (details) => [
    ['cluster_size', details.blockSize],
    ['disk type', details.diskType],
    ['creator', `${details.creatorApp.trimEnd()} ${details.creatorVersion} (${details.creatorHostOs.trimEnd()})`],
    ['created', details.timestamp],
    ['current size', details.currentSize],
    ['geometry', `${details.geometry.cylinders}/${details.geometry.heads}/${details.geometry.sectorsPerTrack}`],
    ['sized by', details.sizeSource],
    ['uuid', details.uuid],
    ['checksum valid', details.checksumValid],
    ['parent name', details.parentName],
    ['parent uuid', details.parentUuid],
    ...(details.parentLocators ?? []).map((locator): [string, string | undefined] => [`parent locator ${locator.platformCode}`, locator.path]),
  ],
  parse: parseVhd,
};
