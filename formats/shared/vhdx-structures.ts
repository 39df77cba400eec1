/**
 * VHDX structures ([MS-VHDX]; qemu 7.2 block/vhdx.c and block/vhdx-log.c): the constants,
 * caps and GUIDs of the format, and the decoders of its fixed structures (the file type
 * identifier, a header, a region table, the metadata table and its items, the log's entry
 * headers). Pure functions over bytes: `formats/vhdx.ts` decides what to read and checks
 * the values as qemu does.
 *
 * @module
 */
import { bytesEqual, crc32c, cutAtNul, mixedEndianGuid, safeNumber, u32le, utf16leText } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import {
  VHDX_FILE_IDENTIFIER_SIGNATURE,
  VHDX_HEADER_FIELD_OFFSETS,
  VHDX_HEADER_SIZE,
  VHDX_LOG_DESCRIPTOR_SIZE,
  VHDX_LOG_ENTRY_HEADER_SIZE,
  VHDX_METADATA_TABLE_ENTRY_SIZE,
  VHDX_METADATA_TABLE_HEADER_SIZE,
  VHDX_PARENT_LOCATOR_ENTRY_SIZE,
  VHDX_PARENT_LOCATOR_HEADER_SIZE,
  VHDX_REGION_TABLE_ENTRY_SIZE,
  VHDX_REGION_TABLE_HEADER_SIGNATURE,
  VHDX_REGION_TABLE_HEADER_SIZE,
  decodeVhdxFileIdentifier,
  decodeVhdxHeader,
  decodeVhdxLogDescriptor,
  decodeVhdxMetadataTableEntry,
  decodeVhdxMetadataTableHeader,
  decodeVhdxParentLocatorEntry,
  decodeVhdxParentLocatorHeader,
  decodeVhdxRegionTableEntry,
  decodeVhdxRegionTableHeader,
  matchVhdxLogEntryHeader,
} from '../generated/vhdx.js';


/** The file type identifier's signature, at offset 0. */
export const VHDX_SIGNATURE = VHDX_FILE_IDENTIFIER_SIGNATURE;
/** Where headers 1 and 2 are ([MS-VHDX] 2.2). */
export const VHDX_HEADER_OFFSETS = [64 * 1024, 128 * 1024] as const;
/** Where region tables 1 and 2 are ([MS-VHDX] 2.2). */
export const VHDX_REGION_TABLE_OFFSETS = [192 * 1024, 256 * 1024] as const;
/** A region table is 64 KiB, and its checksum covers all of it. */
export const VHDX_REGION_TABLE_SIZE = 64 * 1024;
/** The metadata table is the first 64 KiB of the metadata region. */
export const VHDX_METADATA_TABLE_SIZE = 64 * 1024;
/** The most region table entries: what fits in 64 KiB ([MS-VHDX] 2.2.3.1; qemu refuses more). */
export const VHDX_MAX_REGION_TABLE_ENTRIES = 2047;
/** The most metadata table entries: what fits in 64 KiB ([MS-VHDX] 2.6.1.1). */
export const VHDX_MAX_METADATA_ENTRIES = 2047;
/** The largest metadata item ([MS-VHDX] 2.6.1.2: at most 1 MiB). */
export const VHDX_MAX_METADATA_ITEM_LENGTH = 1024 * 1024;
/** The most key/value entries we read from a parent locator (Windows writes five). */
export const VHDX_MAX_PARENT_LOCATOR_ENTRIES = 1024;
/** The longest parent locator key or value in bytes: a Windows path of 32767 UTF-16 characters. */
export const VHDX_MAX_PARENT_LOCATOR_TEXT_BYTES = 65534;
/**
 * The largest log we scan for valid entries when the LogGuid is not zero. Windows and
 * qemu write 1 MiB logs; a larger log with a LogGuid is reported dirty without a scan.
 */
export const VHDX_MAX_LOG_SCAN_LENGTH = 1024 * 1024;

/** Log entries start at 4 KiB boundaries ([MS-VHDX] 2.3). */
const LOG_SECTOR = 4096;

/** Region GUIDs ([MS-VHDX] 2.2.3.2). */
export const VHDX_REGION_GUIDS = {
  bat: '2dc27766-f623-4200-9d64-115e9bfd4a08',
  metadata: '8b7ca206-4790-4b9a-b8fe-575f050f886e',
} as const;

/** System metadata item GUIDs ([MS-VHDX] 2.6.2). */
export const VHDX_METADATA_GUIDS = {
  fileParameters: 'caa16737-fa36-4d43-b3b6-33f0aa44e76b',
  virtualDiskSize: '2fa54224-cd1b-4876-b211-5dbed83bf4b8',
  page83Data: 'beca12ab-b2e6-4523-93ef-c309e000c746',
  logicalSectorSize: '8141bf1d-a96f-4709-ba47-f233a8faab5f',
  physicalSectorSize: 'cda348c7-445d-4471-9cc9-e9885251c556',
  parentLocator: 'a8d35f2d-b30b-454d-abf7-d3d84834ab0c',
} as const;

/** The locator type of a VHDX parent ([MS-VHDX] 2.6.2.6.1). */
export const VHDX_PARENT_LOCATOR_TYPE = 'b04aefb7-d19e-4a81-b789-25b8e9445913';

/** A known metadata item's name. */
export type VhdxMetadataItemName = keyof typeof VHDX_METADATA_GUIDS;

/** One region table entry. */
export interface VhdxRegion {
  /** The region's GUID. */
  guid: string;
  /** `bat` or `metadata` for the regions this library knows. */
  name: 'bat' | 'metadata' | undefined;
  /** Byte offset in the file. */
  fileOffset: number;
  /** Bytes in the region. */
  length: number;
  /** The Required flag: a reader that does not know the region must refuse the file. */
  required: boolean;
}

/** One metadata table entry. */
export interface VhdxMetadataItem {
  /** The item's GUID. */
  itemId: string;
  /** The name of a system item this library knows, e.g. `fileParameters`. */
  name: VhdxMetadataItemName | undefined;
  /** Byte offset from the start of the metadata region. */
  offset: number;
  /** Bytes in the item. */
  length: number;
  isUser: boolean;
  isVirtualDisk: boolean;
  isRequired: boolean;
}

/** One key/value entry of a parent locator. */
export interface VhdxParentLocatorEntry {
  /** e.g. `parent_linkage`, `parent_linkage2`, `relative_path`, `volume_path`, `absolute_win32_path`. */
  key: string;
  value: string;
}

/** A differencing disk's parent locator ([MS-VHDX] 2.6.2.6). */
export interface VhdxParentLocator {
  /** The locator type; {@link VHDX_PARENT_LOCATOR_TYPE} for a VHDX parent. */
  locatorType: string;
  /** The key/value entries, in stored order. */
  entries: VhdxParentLocatorEntry[];
}


// ---------------------------------------------------------------------------------------
// Decoders (exported for unit tests on header fragments)

/**
 * Where the CRC-32C is in every structure that has one: the header, a region table and a
 * log entry all start with a 4-byte signature and the checksum.
 */
const CHECKSUM_OFFSET = VHDX_HEADER_FIELD_OFFSETS.checksum;

/** The four zero bytes the checksum field counts as while the checksum is computed. */
const ZEROED_CHECKSUM = new Uint8Array(4);

/**
 * True when the CRC-32C stored at offset 4 matches `bytes` with that field zeroed ([MS-VHDX]
 * 2.2.2). The CRC runs over the bytes before the field, four zeros, then the rest, without
 * copying a 64 KiB region table to zero four of its bytes.
 */
export function vhdxChecksumValid(bytes: Uint8Array): boolean {
  const stored = u32le(bytes, CHECKSUM_OFFSET, 'checksum');
  const before = crc32c(bytes.subarray(0, CHECKSUM_OFFSET));
  return crc32c(bytes.subarray(CHECKSUM_OFFSET + 4), crc32c(ZEROED_CHECKSUM, before)) === stored;
}

/** The file type identifier's creator string; throws `CORRUPT` without the signature. */
export function readVhdxFileIdentifier(bytes: Uint8Array): { creator: string } {
  const identifier = decodeVhdxFileIdentifier(bytes);
  return { creator: cutAtNul(utf16leText(identifier.creator)) };
}

/** One header, decoded, with its validity as qemu judges it (checksum, "head", version 1). */
export interface VhdxHeaderFields {
  valid: boolean;
  checksumValid: boolean;
  signatureValid: boolean;
  sequenceNumber: bigint;
  fileWriteGuid: string;
  dataWriteGuid: string;
  logGuid: string;
  logVersion: number;
  version: number;
  logLength: number;
  logOffset: bigint;
}

/** Decodes a 4 KiB header (the checksum covers all 4 KiB). */
export function readVhdxHeader(bytes: Uint8Array): VhdxHeaderFields {
  const header = decodeVhdxHeader(bytes);
  const checksumValid = vhdxChecksumValid(bytes.subarray(0, VHDX_HEADER_SIZE));
  // Not a contents check in the layout: a header without "head" is invalid (the other copy may
  // serve), not an error.
  const signatureValid = bytesEqual(header.signature, 0, 'head');
  return {
    valid: checksumValid && signatureValid && header.version === 1,
    checksumValid,
    signatureValid,
    sequenceNumber: header.sequenceNumber,
    fileWriteGuid: mixedEndianGuid(header.fileWriteGuid),
    dataWriteGuid: mixedEndianGuid(header.dataWriteGuid),
    logGuid: mixedEndianGuid(header.logGuid),
    logVersion: header.logVersion,
    version: header.version,
    logLength: header.logLength,
    logOffset: header.logOffset,
  };
}

/** True when `bytes` is a whole 64 KiB region table with signature "regi" and a right CRC-32C. */
export function vhdxRegionTableValid(bytes: Uint8Array): boolean {
  return bytes.byteLength === VHDX_REGION_TABLE_SIZE && bytesEqual(bytes, 0, VHDX_REGION_TABLE_HEADER_SIGNATURE) && vhdxChecksumValid(bytes);
}

/** Where a table's fixed-size entries are, how many it may hold, and the name its count field is reported under. */
interface TableLayout {
  countField: string;
  maxEntries: number;
  headerSize: number;
  entrySize: number;
}

const REGION_TABLE: TableLayout = {
  countField: 'region table.entryCount',
  maxEntries: VHDX_MAX_REGION_TABLE_ENTRIES,
  headerSize: VHDX_REGION_TABLE_HEADER_SIZE,
  entrySize: VHDX_REGION_TABLE_ENTRY_SIZE,
};
const METADATA_TABLE: TableLayout = {
  countField: 'metadata table.entryCount',
  maxEntries: VHDX_MAX_METADATA_ENTRIES,
  headerSize: VHDX_METADATA_TABLE_HEADER_SIZE,
  entrySize: VHDX_METADATA_TABLE_ENTRY_SIZE,
};
const PARENT_LOCATOR: TableLayout = {
  countField: 'parent locator.keyValueCount',
  maxEntries: VHDX_MAX_PARENT_LOCATOR_ENTRIES,
  headerSize: VHDX_PARENT_LOCATOR_HEADER_SIZE,
  entrySize: VHDX_PARENT_LOCATOR_ENTRY_SIZE,
};

/**
 * Decodes the `count` entries that follow a table's header, in order, each with its number
 * from 1. Throws `LIMIT_EXCEEDED` above the layout's cap; an entry running past `bytes` goes
 * to `pastEnd` (which throws the caller's error), or without it to `decode` as it is.
 */
function readTableEntries<T>(
  bytes: Uint8Array,
  count: number,
  layout: TableLayout,
  decode: (entry: Uint8Array, number: number) => T,
  pastEnd?: (number: number) => never,
): T[] {
  if (count > layout.maxEntries) throw fieldError('LIMIT_EXCEEDED', layout.countField, `${count} entries (at most ${layout.maxEntries})`);
  const entries: T[] = [];
  for (let index = 0; index < count; index += 1) {
    const start = layout.headerSize + index * layout.entrySize;
    if (pastEnd !== undefined && start + layout.entrySize > bytes.byteLength) pastEnd(index + 1);
    entries.push(decode(bytes.subarray(start, start + layout.entrySize), index + 1));
  }
  return entries;
}

/**
 * Decodes a region table's entries (`bytes` may be a prefix of the 64 KiB table that holds
 * them). Throws `LIMIT_EXCEEDED` above {@link VHDX_MAX_REGION_TABLE_ENTRIES} entries and
 * `TRUNCATED` when the entries run past `bytes`.
 */
export function readVhdxRegionTable(bytes: Uint8Array): VhdxRegion[] {
  const { entryCount } = decodeVhdxRegionTableHeader(bytes);
  // An entry past `bytes` is refused by its decoder (`TRUNCATED`, "region table entry").
  return readTableEntries(bytes, entryCount, REGION_TABLE, (entryBytes, number) => {
    const entry = decodeVhdxRegionTableEntry(entryBytes);
    const guid = mixedEndianGuid(entry.guid);
    return {
      guid,
      name: guid === VHDX_REGION_GUIDS.bat ? 'bat' : guid === VHDX_REGION_GUIDS.metadata ? 'metadata' : undefined,
      fileOffset: safeNumber(entry.fileOffset, `region table entry ${number}.fileOffset`, 'vhdx'),
      length: entry.length,
      required: (entry.flags & 1) !== 0,
    };
  });
}

/** Decodes one 32-byte metadata table entry. */
export function readVhdxMetadataEntry(bytes: Uint8Array): VhdxMetadataItem {
  const entry = decodeVhdxMetadataTableEntry(bytes);
  const itemId = mixedEndianGuid(entry.itemId);
  const name = (Object.keys(VHDX_METADATA_GUIDS) as VhdxMetadataItemName[]).find((key) => VHDX_METADATA_GUIDS[key] === itemId);
  return {
    itemId,
    name,
    offset: entry.offset,
    length: entry.length,
    isUser: (entry.flags & 1) !== 0,
    isVirtualDisk: (entry.flags & 2) !== 0,
    isRequired: (entry.flags & 4) !== 0,
  };
}

/**
 * Decodes the metadata table (its first 32 bytes are the header, then the entries).
 * Throws `CORRUPT` without the "metadata" signature, `LIMIT_EXCEEDED` above
 * {@link VHDX_MAX_METADATA_ENTRIES} entries and `TRUNCATED` when the entries run past `bytes`.
 */
export function readVhdxMetadataTable(bytes: Uint8Array): VhdxMetadataItem[] {
  const { entryCount } = decodeVhdxMetadataTableHeader(bytes);
  return readTableEntries(bytes, entryCount, METADATA_TABLE, (entryBytes) => readVhdxMetadataEntry(entryBytes), (number) => {
    throw fieldError('TRUNCATED', 'metadata table', `entry ${number} of ${entryCount} is past the ${bytes.byteLength} bytes given`);
  });
}

/**
 * Decodes a Parent Locator item: its type and key/value entries (UTF-16LE, offsets from the
 * item's start). Throws `LIMIT_EXCEEDED` above the entry and text caps, `CORRUPT` when an
 * entry points outside the item.
 */
export function readVhdxParentLocator(bytes: Uint8Array): VhdxParentLocator {
  const header = decodeVhdxParentLocatorHeader(bytes);
  const entryField = (number: number): string => `parent locator entry ${number}`;
  const entries = readTableEntries(
    bytes,
    header.keyValueCount,
    PARENT_LOCATOR,
    (entryBytes, number): VhdxParentLocatorEntry => {
      const entry = decodeVhdxParentLocatorEntry(entryBytes);
      return {
        key: locatorText(bytes, entry.keyOffset, entry.keyLength, `${entryField(number)}.key`),
        value: locatorText(bytes, entry.valueOffset, entry.valueLength, `${entryField(number)}.value`),
      };
    },
    (number) => {
      throw fieldError('CORRUPT', entryField(number), `entry ${number} of ${header.keyValueCount} is outside the ${bytes.byteLength}-byte item`);
    },
  );
  return { locatorType: mixedEndianGuid(header.locatorType), entries };
}

function locatorText(item: Uint8Array, offset: number, length: number, field: string): string {
  if (length > VHDX_MAX_PARENT_LOCATOR_TEXT_BYTES) {
    throw fieldError('LIMIT_EXCEEDED', field, `${length} bytes (at most ${VHDX_MAX_PARENT_LOCATOR_TEXT_BYTES})`);
  }
  if (offset + length > item.byteLength) {
    throw fieldError('CORRUPT', field, `bytes ${offset}..${offset + length} are outside the ${item.byteLength}-byte item`);
  }
  return utf16leText(item.subarray(offset, offset + length));
}

/**
 * True when the log holds at least one valid entry for `logGuid`, as qemu's log search
 * judges it (block/vhdx-log.c vhdx_log_search, vhdx_validate_log_entry): at a 4 KiB
 * boundary, signature "loge", a length that is a non-zero multiple of 4 KiB within the log,
 * a non-zero sequence number, the header's LogGuid, descriptors that fit, each descriptor
 * "desc" or "zero" with the entry's sequence number, and a right CRC-32C over the entry.
 * The log is circular: an entry may wrap from its end to its start.
 */
export function vhdxLogHasValidEntry(log: Uint8Array, logGuid: Uint8Array): boolean {
  for (let start = 0; start + LOG_SECTOR <= log.byteLength; start += LOG_SECTOR) {
    if (isValidLogEntry(log, start, logGuid)) return true;
  }
  return false;
}

function isValidLogEntry(log: Uint8Array, start: number, logGuid: Uint8Array): boolean {
  const header = matchVhdxLogEntryHeader(log.subarray(start, start + VHDX_LOG_ENTRY_HEADER_SIZE));
  if (header === undefined) return false;
  if (header.entryLength === 0 || header.entryLength % LOG_SECTOR !== 0 || header.entryLength > log.byteLength) return false;
  if (header.sequenceNumber === 0n || !bytesEqual(header.logGuid, 0, logGuid)) return false;
  // The header takes the room of two descriptors in the first sector (qemu vhdx_compute_desc_sectors).
  const descriptorBytes = VHDX_LOG_ENTRY_HEADER_SIZE + header.descriptorCount * VHDX_LOG_DESCRIPTOR_SIZE;
  if (descriptorBytes > header.entryLength) return false;
  const entry = circularSlice(log, start, header.entryLength);
  for (let index = 0; index < header.descriptorCount; index += 1) {
    const offset = VHDX_LOG_ENTRY_HEADER_SIZE + index * VHDX_LOG_DESCRIPTOR_SIZE;
    const descriptor = decodeVhdxLogDescriptor(entry.subarray(offset, offset + VHDX_LOG_DESCRIPTOR_SIZE));
    const known = bytesEqual(descriptor.signature, 0, 'desc') || bytesEqual(descriptor.signature, 0, 'zero');
    if (!known || descriptor.sequenceNumber !== header.sequenceNumber) return false;
  }
  return vhdxChecksumValid(entry);
}

/** `length` bytes of the circular `buffer` from `start`, wrapping at its end. */
function circularSlice(buffer: Uint8Array, start: number, length: number): Uint8Array {
  if (start + length <= buffer.byteLength) return buffer.subarray(start, start + length);
  const result = new Uint8Array(length);
  const first = buffer.byteLength - start;
  result.set(buffer.subarray(start), 0);
  result.set(buffer.subarray(0, length - first), first);
  return result;
}

