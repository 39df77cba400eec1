/**
 * VHDX: Hyper-V virtual hard disks, version 2.
 *
 * Sources: Microsoft [MS-VHDX] "Virtual Hard Disk v2 (VHDX) File Format"; qemu 7.2
 * block/vhdx.c and block/vhdx-log.c.
 *
 * | offset | structure | read |
 * | --- | --- | --- |
 * | 0 | file type identifier: "vhdxfile", creator (UTF-16LE) | always |
 * | 64 KiB, 128 KiB | headers 1 and 2 (4 KiB each, CRC-32C) | both; the current one is the valid one with the higher sequence number |
 * | 192 KiB, 256 KiB | region tables 1 and 2 (64 KiB each, CRC-32C) | table 1; table 2 only when table 1 is damaged |
 * | header's LogOffset | the log | only when the header's LogGuid is not zero, to tell whether it must be replayed (`dirty`) |
 * | metadata region (from the region table) | metadata table, then the known items | always, items in offset order |
 * | BAT region (from the region table) | block allocation table | never |
 *
 * Regions are found through the region table, never at assumed offsets. On a stream every
 * read is in ascending order: the log and the metadata region are read in the order of
 * their offsets (they may not overlap), and the metadata items sorted by offset.
 *
 * Differences from qemu 7.2, by design (docs/formats/vhdx.md): differencing disks are
 * read (qemu: "Operation not supported"), with their parent locator; a damaged region
 * table 1 falls back to table 2 with a warning (qemu reads only table 1); a log that needs
 * replaying is reported as `dirty: true` (qemu-img info refuses the image).
 *
 * @module
 */
import { bytesEqual, crc32c, cutAtNul, isAllZero, mixedEndianGuid, safeNumber, u32le, utf16leText } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader, FormatModule, ParseContext, ParsedImage } from '../src/format-module.js';
import { type SafetyCheck, fail, pass } from '../src/safety.js';
import {
  VHDX_FILE_IDENTIFIER_SIGNATURE,
  VHDX_FILE_IDENTIFIER_SIZE,
  VHDX_FILE_PARAMETERS_SIZE,
  VHDX_HEADER_FIELD_OFFSETS,
  VHDX_HEADER_SIZE,
  VHDX_LOG_DESCRIPTOR_SIZE,
  VHDX_LOG_ENTRY_HEADER_SIZE,
  VHDX_METADATA_TABLE_ENTRY_SIZE,
  VHDX_METADATA_TABLE_HEADER_SIZE,
  VHDX_PAGE83_DATA_SIZE,
  VHDX_PARENT_LOCATOR_ENTRY_SIZE,
  VHDX_PARENT_LOCATOR_HEADER_SIZE,
  VHDX_REGION_TABLE_ENTRY_SIZE,
  VHDX_REGION_TABLE_HEADER_SIGNATURE,
  VHDX_REGION_TABLE_HEADER_SIZE,
  VHDX_SECTOR_SIZE_SIZE,
  VHDX_VIRTUAL_DISK_SIZE_SIZE,
  decodeVhdxFileIdentifier,
  decodeVhdxFileParameters,
  decodeVhdxHeader,
  decodeVhdxLogDescriptor,
  decodeVhdxMetadataTableEntry,
  decodeVhdxMetadataTableHeader,
  decodeVhdxPage83Data,
  decodeVhdxParentLocatorEntry,
  decodeVhdxParentLocatorHeader,
  decodeVhdxRegionTableEntry,
  decodeVhdxRegionTableHeader,
  decodeVhdxSectorSize,
  decodeVhdxVirtualDiskSize,
  matchVhdxLogEntryHeader,
} from './generated/vhdx.js';
import { readRangesInOrder, type WantedRange } from './shared/vhd-ranges.js';

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

const ONE_MIB = 1024 * 1024;
/** The header section (identifier, headers, region tables) is the first 1 MiB. */
const HEADER_SECTION_END = ONE_MIB;
/** Block sizes qemu and [MS-VHDX] 2.6.2.1 allow. */
const MIN_BLOCK_SIZE = ONE_MIB;
const MAX_BLOCK_SIZE = 256 * ONE_MIB;
/** Log entries start at 4 KiB boundaries ([MS-VHDX] 2.3). */
const LOG_SECTOR = 4096;
/** [MS-VHDX] 2.6.2.2: at most 64 TiB. */
const MAX_VIRTUAL_DISK_SIZE = 64 * 1024 * 1024 * ONE_MIB;
const SECTOR = 512;

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

/** The metadata items every VHDX must have (qemu refuses a file without any of them). */
const REQUIRED_ITEMS: readonly VhdxMetadataItemName[] = [
  'fileParameters',
  'virtualDiskSize',
  'page83Data',
  'logicalSectorSize',
  'physicalSectorSize',
];

/** How many bytes of each known item are read (the parent locator: all of it). */
const FIXED_ITEM_LENGTHS: Record<Exclude<VhdxMetadataItemName, 'parentLocator'>, number> = {
  fileParameters: VHDX_FILE_PARAMETERS_SIZE,
  virtualDiskSize: VHDX_VIRTUAL_DISK_SIZE_SIZE,
  page83Data: VHDX_PAGE83_DATA_SIZE,
  logicalSectorSize: VHDX_SECTOR_SIZE_SIZE,
  physicalSectorSize: VHDX_SECTOR_SIZE_SIZE,
};

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

/** The state of one of the two headers. */
export interface VhdxHeaderState {
  /** 1 (at 64 KiB) or 2 (at 128 KiB). */
  copy: 1 | 2;
  /** Checksum, signature "head" and version 1 all right. */
  valid: boolean;
  /** The sequence number, for a valid header. */
  sequenceNumber: number | undefined;
}

/** VHDX metadata. */
export interface VhdxDetails {
  /** `fixed` (LeaveBlocksAllocated), `differencing` (HasParent) or `dynamic`. */
  diskType: 'fixed' | 'dynamic' | 'differencing';
  /** The creator in the file type identifier (qemu: `QEMU v7.2.22`; Windows: `Microsoft Windows 10.0.18363.0`). */
  creator: string;
  /** Logical Sector Size item: 512 or 4096. */
  logicalSectorSize: number;
  /** Physical Sector Size item: 512 or 4096. */
  physicalSectorSize: number;
  /** File Parameters: bytes per payload block (qemu's `cluster-size`). */
  blockSize: number;
  /** File Parameters: LeaveBlocksAllocated, i.e. a fixed disk. */
  leaveBlocksAllocated: boolean;
  /** File Parameters: HasParent, i.e. a differencing disk. */
  hasParent: boolean;
  /** Virtual Disk Size item, in bytes (qemu's `virtual-size` is this rounded down to 512). */
  virtualDiskSize: number;
  /** Page 83 Data item: the virtual disk id (SCSI page 83 identifier). */
  virtualDiskId: string;
  /** The Parent Locator item, when the disk has one. */
  parentLocator: VhdxParentLocator | undefined;
  /** Which header is current: the valid one with the higher sequence number. */
  currentHeader: 1 | 2;
  /** Both headers' state. */
  headers: VhdxHeaderState[];
  /** The current header's sequence number. */
  sequenceNumber: number;
  /** The current header's FileWriteGuid. */
  fileWriteGuid: string;
  /** The current header's DataWriteGuid (what vhdiinfo shows as the identifier). */
  dataWriteGuid: string;
  /** The current header's LogGuid; all zeros when the log is empty. */
  logGuid: string;
  /** The current header's LogVersion (0). */
  logVersion: number;
  /** The current header's Version (1). */
  version: number;
  /** Byte offset of the log. */
  logOffset: number;
  /** Bytes in the log. */
  logLength: number;
  /**
   * True when the log holds entries that must be replayed before the disk is read (the
   * LogGuid is set and a valid entry carries it); qemu-img info refuses such a file.
   */
  dirty: boolean;
  /** Bytes of block allocation table the disk needs (payload entries plus sector bitmap entries, 8 bytes each). */
  batBytesNeeded: number;
  /** The region table that was used (1, or 2 when table 1 is damaged) and its entries. */
  regionTable: { copy: 1 | 2; entries: VhdxRegion[] };
  /** Every metadata table entry, in table order. */
  metadataItems: VhdxMetadataItem[];
}

// ---------------------------------------------------------------------------------------
// Decoders (exported for unit tests on header fragments)

/**
 * Where the CRC-32C is in every structure that has one: the header, a region table and a
 * log entry all start with a 4-byte signature and the checksum.
 */
const CHECKSUM_OFFSET = VHDX_HEADER_FIELD_OFFSETS.checksum;

/**
 * A copy of `bytes` with the 4-byte checksum at `offset` zeroed, as every VHDX checksum is
 * computed. `new Uint8Array(bytes)` copies even a Node `Buffer`, whose `slice()` is a view:
 * zeroing through a view would damage the caller's chunk.
 */
function withChecksumZeroed(bytes: Uint8Array, offset: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy.fill(0, offset, offset + 4);
  return copy;
}

/** True when the CRC-32C stored at offset 4 matches `bytes` with that field zeroed ([MS-VHDX] 2.2.2). */
export function vhdxChecksumValid(bytes: Uint8Array): boolean {
  return crc32c(withChecksumZeroed(bytes, CHECKSUM_OFFSET)) === u32le(bytes, CHECKSUM_OFFSET, 'checksum');
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

/**
 * Decodes a region table's entries (`bytes` may be a prefix of the 64 KiB table that holds
 * them). Throws `LIMIT_EXCEEDED` above {@link VHDX_MAX_REGION_TABLE_ENTRIES} entries and
 * `TRUNCATED` when the entries run past `bytes`.
 */
export function readVhdxRegionTable(bytes: Uint8Array): VhdxRegion[] {
  const header = decodeVhdxRegionTableHeader(bytes);
  if (header.entryCount > VHDX_MAX_REGION_TABLE_ENTRIES) {
    throw fieldError('LIMIT_EXCEEDED', 'region table.entryCount', `${header.entryCount} entries (at most ${VHDX_MAX_REGION_TABLE_ENTRIES})`);
  }
  const entries: VhdxRegion[] = [];
  for (let index = 0; index < header.entryCount; index += 1) {
    const start = VHDX_REGION_TABLE_HEADER_SIZE + index * VHDX_REGION_TABLE_ENTRY_SIZE;
    const entry = decodeVhdxRegionTableEntry(bytes.subarray(start, start + VHDX_REGION_TABLE_ENTRY_SIZE));
    const guid = mixedEndianGuid(entry.guid);
    entries.push({
      guid,
      name: guid === VHDX_REGION_GUIDS.bat ? 'bat' : guid === VHDX_REGION_GUIDS.metadata ? 'metadata' : undefined,
      fileOffset: safeNumber(entry.fileOffset, `region table entry ${index + 1}.fileOffset`, 'vhdx'),
      length: entry.length,
      required: (entry.flags & 1) !== 0,
    });
  }
  return entries;
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
  const header = decodeVhdxMetadataTableHeader(bytes);
  if (header.entryCount > VHDX_MAX_METADATA_ENTRIES) {
    throw fieldError('LIMIT_EXCEEDED', 'metadata table.entryCount', `${header.entryCount} entries (at most ${VHDX_MAX_METADATA_ENTRIES})`);
  }
  const items: VhdxMetadataItem[] = [];
  for (let index = 0; index < header.entryCount; index += 1) {
    const start = VHDX_METADATA_TABLE_HEADER_SIZE + index * VHDX_METADATA_TABLE_ENTRY_SIZE;
    if (start + VHDX_METADATA_TABLE_ENTRY_SIZE > bytes.byteLength) {
      throw fieldError('TRUNCATED', 'metadata table', `entry ${index + 1} of ${header.entryCount} is past the ${bytes.byteLength} bytes given`);
    }
    items.push(readVhdxMetadataEntry(bytes.subarray(start, start + VHDX_METADATA_TABLE_ENTRY_SIZE)));
  }
  return items;
}

/**
 * Decodes a Parent Locator item: its type and key/value entries (UTF-16LE, offsets from the
 * item's start). Throws `LIMIT_EXCEEDED` above the entry and text caps, `CORRUPT` when an
 * entry points outside the item.
 */
export function readVhdxParentLocator(bytes: Uint8Array): VhdxParentLocator {
  const header = decodeVhdxParentLocatorHeader(bytes);
  if (header.keyValueCount > VHDX_MAX_PARENT_LOCATOR_ENTRIES) {
    throw fieldError('LIMIT_EXCEEDED', 'parent locator.keyValueCount', `${header.keyValueCount} entries (at most ${VHDX_MAX_PARENT_LOCATOR_ENTRIES})`);
  }
  const entries: VhdxParentLocatorEntry[] = [];
  for (let index = 0; index < header.keyValueCount; index += 1) {
    const start = VHDX_PARENT_LOCATOR_HEADER_SIZE + index * VHDX_PARENT_LOCATOR_ENTRY_SIZE;
    const field = `parent locator entry ${index + 1}`;
    if (start + VHDX_PARENT_LOCATOR_ENTRY_SIZE > bytes.byteLength) {
      throw fieldError('CORRUPT', field, `entry ${index + 1} of ${header.keyValueCount} is outside the ${bytes.byteLength}-byte item`);
    }
    const entry = decodeVhdxParentLocatorEntry(bytes.subarray(start, start + VHDX_PARENT_LOCATOR_ENTRY_SIZE));
    entries.push({
      key: locatorText(bytes, entry.keyOffset, entry.keyLength, `${field}.key`),
      value: locatorText(bytes, entry.valueOffset, entry.valueLength, `${field}.value`),
    });
  }
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

// ---------------------------------------------------------------------------------------
// Parsing

/** The current header, chosen as qemu does (vhdx_parse_header). */
function chooseHeader(
  first: { fields: VhdxHeaderFields; bytes: Uint8Array },
  second: { fields: VhdxHeaderFields; bytes: Uint8Array },
): 1 | 2 {
  if (first.fields.valid && !second.fields.valid) return 1;
  if (!first.fields.valid && second.fields.valid) return 2;
  if (!first.fields.valid && !second.fields.valid) {
    // qemu: "No valid VHDX header found".
    throw fieldError('CORRUPT', 'header', 'neither header is valid (CRC-32C, signature "head" and version 1)');
  }
  if (first.fields.sequenceNumber > second.fields.sequenceNumber) return 1;
  if (second.fields.sequenceNumber > first.fields.sequenceNumber) return 2;
  // Equal sequence numbers: Disk2vhd writes two identical headers, which qemu accepts.
  if (bytesEqual(first.bytes, 0, second.bytes)) return 1;
  throw fieldError('CORRUPT', 'header.sequenceNumber', 'both headers are valid with the same sequence number but differ');
}

function headerState(copy: 1 | 2, fields: VhdxHeaderFields): VhdxHeaderState {
  return {
    copy,
    valid: fields.valid,
    sequenceNumber: fields.valid ? safeNumber(fields.sequenceNumber, `header ${copy}.sequenceNumber`, 'vhdx') : undefined,
  };
}

/** Checks the current header's log fields as qemu does (vhdx_parse_log). */
function checkLogFields(header: VhdxHeaderFields, logOffset: number): void {
  if (header.logVersion !== 0) {
    throw fieldError('UNSUPPORTED', 'header.logVersion', `log version ${header.logVersion} (only 0 is defined)`);
  }
  if (logOffset < ONE_MIB || logOffset % ONE_MIB !== 0) {
    throw fieldError('CORRUPT', 'header.logOffset', `log offset ${logOffset} is not a non-zero multiple of 1 MiB`);
  }
  if (!isAllZeroGuid(header.logGuid) && header.logLength % ONE_MIB !== 0) {
    throw fieldError('CORRUPT', 'header.logLength', `log length ${header.logLength} is not a multiple of 1 MiB`);
  }
}

function isAllZeroGuid(guid: string): boolean {
  return /^[0-]+$/.test(guid);
}

/** Reads region table 1, or table 2 when table 1 is damaged ([MS-VHDX] 2.2.3: the two are copies). */
async function readRegionTable(reader: ByteReader, context: ParseContext): Promise<VhdxDetails['regionTable']> {
  const first = await reader.read(VHDX_REGION_TABLE_OFFSETS[0], VHDX_REGION_TABLE_SIZE, 'region table 1');
  if (vhdxRegionTableValid(first)) return { copy: 1, entries: readVhdxRegionTable(first) };
  const second = await reader.read(VHDX_REGION_TABLE_OFFSETS[1], VHDX_REGION_TABLE_SIZE, 'region table 2');
  if (!vhdxRegionTableValid(second)) {
    throw fieldError('CORRUPT', 'region table', 'neither region table is valid (CRC-32C and signature "regi")');
  }
  context.warn('region table 1 is damaged; region table 2 was used (qemu reads only table 1 and refuses the file)');
  return { copy: 2, entries: readVhdxRegionTable(second) };
}

/**
 * Checks the regions as qemu does (vhdx_open_region_tables, vhdx_region_check): no overlap
 * with the header section, the log or each other; the BAT and metadata regions each once;
 * no unknown region marked required.
 */
function checkRegions(entries: readonly VhdxRegion[], log: { offset: number; length: number }, context: ParseContext): { bat: VhdxRegion; metadata: VhdxRegion } {
  const taken: Array<{ start: number; end: number; what: string }> = [
    { start: 0, end: HEADER_SECTION_END, what: 'the header section' },
    { start: log.offset, end: log.offset + log.length, what: 'the log' },
  ];
  let bat: VhdxRegion | undefined;
  let metadata: VhdxRegion | undefined;
  for (const [index, region] of entries.entries()) {
    const field = `region table entry ${index + 1}`;
    const end = region.fileOffset + region.length;
    const overlap = taken.find((other) => region.fileOffset < other.end && end > other.start);
    if (overlap !== undefined) {
      throw fieldError('CORRUPT', field, `region ${region.fileOffset}..${end} overlaps ${overlap.what}`);
    }
    taken.push({ start: region.fileOffset, end, what: `region ${index + 1}` });
    if (region.fileOffset % ONE_MIB !== 0 || region.length % ONE_MIB !== 0) {
      context.warn(`region ${index + 1} (${region.fileOffset}, ${region.length} bytes) is not aligned to 1 MiB as [MS-VHDX] requires`);
    }
    if (region.name === 'bat' || region.name === 'metadata') {
      if ((region.name === 'bat' ? bat : metadata) !== undefined) {
        throw fieldError('CORRUPT', field, `a second ${region.name} region`);
      }
      if (region.name === 'bat') bat = region;
      else metadata = region;
    } else if (region.required) {
      throw fieldError('UNSUPPORTED', field, `an unknown region ${region.guid} marked required`);
    }
  }
  if (bat === undefined || metadata === undefined) {
    throw fieldError('CORRUPT', 'region table', `the region table has no ${bat === undefined ? 'BAT' : 'metadata'} region`);
  }
  if (metadata.length < VHDX_METADATA_TABLE_SIZE) {
    throw fieldError('CORRUPT', 'region table.metadata', `the metadata region is ${metadata.length} bytes, less than its 64 KiB table`);
  }
  return { bat, metadata };
}

/** The known items found in the metadata table, each once (qemu: a second one is invalid). */
function knownItems(items: readonly VhdxMetadataItem[]): Map<VhdxMetadataItemName, VhdxMetadataItem> {
  const known = new Map<VhdxMetadataItemName, VhdxMetadataItem>();
  for (const [index, item] of items.entries()) {
    const field = `metadata table entry ${index + 1}`;
    if (item.name === undefined) {
      if (item.isRequired) {
        throw fieldError('UNSUPPORTED', field, `an unknown metadata item ${item.itemId} marked required`);
      }
      continue;
    }
    if (known.has(item.name)) throw fieldError('CORRUPT', field, `a second ${item.name} item`);
    known.set(item.name, item);
  }
  for (const name of REQUIRED_ITEMS) {
    if (!known.has(name)) throw fieldError('CORRUPT', 'metadata table', `the required ${name} item is missing`);
  }
  return known;
}

/** The byte range of one known item, checked against the region and the caps. */
function itemRange(name: VhdxMetadataItemName, item: VhdxMetadataItem, region: VhdxRegion): WantedRange<VhdxMetadataItemName> {
  const field = `metadata item ${name}`;
  const length = name === 'parentLocator' ? item.length : FIXED_ITEM_LENGTHS[name];
  if (item.length > VHDX_MAX_METADATA_ITEM_LENGTH) {
    throw fieldError('LIMIT_EXCEEDED', field, `${item.length} bytes (at most ${VHDX_MAX_METADATA_ITEM_LENGTH})`);
  }
  if (item.length < length || (name === 'parentLocator' && item.length < VHDX_PARENT_LOCATOR_HEADER_SIZE)) {
    throw fieldError('CORRUPT', field, `${item.length} bytes is too short`);
  }
  if (item.offset < VHDX_METADATA_TABLE_SIZE || item.offset + item.length > region.length) {
    throw fieldError('CORRUPT', field, `bytes ${item.offset}..${item.offset + item.length} are not between the metadata table and the end of the region`);
  }
  return { key: name, offset: region.fileOffset + item.offset, length, field };
}

/** What the metadata region gives. */
interface MetadataValues {
  items: VhdxMetadataItem[];
  blockSize: number;
  leaveBlocksAllocated: boolean;
  hasParent: boolean;
  virtualDiskSize: number;
  virtualDiskId: string;
  logicalSectorSize: number;
  physicalSectorSize: number;
  parentLocator: VhdxParentLocator | undefined;
}

async function readMetadata(reader: ByteReader, region: VhdxRegion): Promise<MetadataValues> {
  const items = readVhdxMetadataTable(await reader.read(region.fileOffset, VHDX_METADATA_TABLE_SIZE, 'metadata table'));
  const known = knownItems(items);
  const ranges = [...known.entries()].map(([name, item]) => itemRange(name, item, region));
  const values = await readRangesInOrder(reader, ranges);
  const value = (name: VhdxMetadataItemName): Uint8Array => values.get(name) as Uint8Array;

  const parameters = decodeVhdxFileParameters(value('fileParameters'));
  const locatorBytes = values.get('parentLocator');
  return {
    items,
    blockSize: parameters.blockSize,
    leaveBlocksAllocated: (parameters.flags & 1) !== 0,
    hasParent: (parameters.flags & 2) !== 0,
    virtualDiskSize: safeNumber(decodeVhdxVirtualDiskSize(value('virtualDiskSize')).virtualDiskSize, 'metadata item virtualDiskSize', 'vhdx'),
    virtualDiskId: mixedEndianGuid(decodeVhdxPage83Data(value('page83Data')).pageData),
    logicalSectorSize: decodeVhdxSectorSize(value('logicalSectorSize')).sectorSize,
    physicalSectorSize: decodeVhdxSectorSize(value('physicalSectorSize')).sectorSize,
    parentLocator: locatorBytes === undefined ? undefined : readVhdxParentLocator(locatorBytes),
  };
}

/** Checks the metadata values as qemu (vhdx_parse_metadata) and [MS-VHDX] 2.6.2 require. */
function checkMetadata(values: MetadataValues, context: ParseContext): void {
  const { blockSize, logicalSectorSize, physicalSectorSize, virtualDiskSize } = values;
  if (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE || (blockSize & (blockSize - 1)) !== 0) {
    throw fieldError('CORRUPT', 'metadata item fileParameters.blockSize', `block size ${blockSize} is not a power of two from 1 MiB to 256 MiB`);
  }
  if (logicalSectorSize !== 512 && logicalSectorSize !== 4096) {
    throw fieldError('CORRUPT', 'metadata item logicalSectorSize', `logical sector size ${logicalSectorSize} (512 or 4096)`);
  }
  if (logicalSectorSize !== SECTOR) {
    context.warn(`logical sector size ${logicalSectorSize}: qemu 7.2 opens only 512-byte logical sectors ("Operation not supported")`);
  }
  if (physicalSectorSize !== 512 && physicalSectorSize !== 4096) {
    context.warn(`physical sector size ${physicalSectorSize} is neither 512 nor 4096`);
  }
  if (virtualDiskSize % logicalSectorSize !== 0) {
    context.warn(`the virtual disk size ${virtualDiskSize} is not a multiple of the logical sector size; qemu rounds it down to 512 bytes`);
  }
  if (virtualDiskSize > MAX_VIRTUAL_DISK_SIZE) {
    context.warn(`the virtual disk size ${virtualDiskSize} is above the 64 TiB [MS-VHDX] allows`);
  }
  if (values.hasParent && values.parentLocator === undefined) {
    // qemu: EINVAL.
    throw fieldError('CORRUPT', 'metadata item parentLocator', 'HasParent is set but there is no parent locator');
  }
  if (!values.hasParent && values.parentLocator !== undefined) {
    context.warn('a parent locator on a disk whose HasParent flag is clear');
  }
  if (values.hasParent) context.warn('a differencing disk (qemu 7.2 cannot open it: "Operation not supported")');
  if (values.parentLocator !== undefined && values.parentLocator.locatorType !== VHDX_PARENT_LOCATOR_TYPE) {
    context.warn(`parent locator type ${values.parentLocator.locatorType} is not the VHDX one`);
  }
}

/**
 * BAT entries the disk needs ([MS-VHDX] 2.5; qemu vhdx_calc_bat_entries): one per payload
 * block, and a sector bitmap entry after every chunk of 2^23 sectors' worth of blocks.
 */
function batEntriesNeeded(values: MetadataValues): number {
  const chunkRatio = (2 ** 23 * values.logicalSectorSize) / values.blockSize;
  const dataBlocks = Math.ceil(values.virtualDiskSize / values.blockSize);
  const bitmapBlocks = Math.ceil(dataBlocks / chunkRatio);
  if (values.hasParent) return bitmapBlocks * (chunkRatio + 1);
  return dataBlocks + Math.floor(Math.max(0, dataBlocks - 1) / chunkRatio);
}

/** Whether the log must be replayed; reads the log only when the LogGuid says it may hold entries. */
async function readDirty(reader: ByteReader, header: VhdxHeaderFields, logGuidBytes: Uint8Array, logOffset: number, context: ParseContext): Promise<boolean> {
  if (isAllZero(logGuidBytes) || header.logLength === 0) return false;
  if (header.logLength > VHDX_MAX_LOG_SCAN_LENGTH) {
    context.warn(`the log (${header.logLength} bytes) is larger than the ${VHDX_MAX_LOG_SCAN_LENGTH} bytes scanned; with a LogGuid set it is taken to need replaying`);
    return true;
  }
  const log = await reader.read(logOffset, header.logLength, 'log');
  return vhdxLogHasValidEntry(log, logGuidBytes);
}

async function parseVhdx(reader: ByteReader, context: ParseContext): Promise<ParsedImage<VhdxDetails>> {
  const { creator } = readVhdxFileIdentifier(await reader.read(0, VHDX_FILE_IDENTIFIER_SIZE, 'file identifier'));

  // Copies (a stream's views may not outlive the next read's chunk handling).
  const firstBytes = new Uint8Array(await reader.read(VHDX_HEADER_OFFSETS[0], VHDX_HEADER_SIZE, 'header 1'));
  const secondBytes = new Uint8Array(await reader.read(VHDX_HEADER_OFFSETS[1], VHDX_HEADER_SIZE, 'header 2'));
  const first = { fields: readVhdxHeader(firstBytes), bytes: firstBytes };
  const second = { fields: readVhdxHeader(secondBytes), bytes: secondBytes };
  const currentHeader = chooseHeader(first, second);
  const current = currentHeader === 1 ? first : second;
  const header = current.fields;
  const logGuidBytes = decodeVhdxHeader(current.bytes).logGuid;
  const logOffset = safeNumber(header.logOffset, 'header.logOffset', 'vhdx');
  checkLogFields(header, logOffset);

  const regionTable = await readRegionTable(reader, context);
  const regions = checkRegions(regionTable.entries, { offset: logOffset, length: header.logLength }, context);

  // The log and the metadata region do not overlap (checked above): read them in the order of their offsets.
  const readLog = () => readDirty(reader, header, logGuidBytes, logOffset, context);
  const readMetadataRegion = () => readMetadata(reader, regions.metadata);
  let dirty: boolean;
  let values: MetadataValues;
  if (logOffset < regions.metadata.fileOffset) {
    dirty = await readLog();
    values = await readMetadataRegion();
  } else {
    values = await readMetadataRegion();
    dirty = await readLog();
  }
  checkMetadata(values, context);

  if (dirty) context.warn('the log holds entries that must be replayed (qemu-img info refuses the file opened read-only)');
  const batBytesNeeded = batEntriesNeeded(values) * 8;
  if (batBytesNeeded > regions.bat.length) {
    context.warn(`the BAT region is ${regions.bat.length} bytes, less than the ${batBytesNeeded} the disk needs (qemu refuses the file)`);
  }

  const details: VhdxDetails = {
    diskType: values.hasParent ? 'differencing' : values.leaveBlocksAllocated ? 'fixed' : 'dynamic',
    creator,
    logicalSectorSize: values.logicalSectorSize,
    physicalSectorSize: values.physicalSectorSize,
    blockSize: values.blockSize,
    leaveBlocksAllocated: values.leaveBlocksAllocated,
    hasParent: values.hasParent,
    virtualDiskSize: values.virtualDiskSize,
    virtualDiskId: values.virtualDiskId,
    parentLocator: values.parentLocator,
    currentHeader,
    headers: [headerState(1, first.fields), headerState(2, second.fields)],
    sequenceNumber: safeNumber(header.sequenceNumber, 'header.sequenceNumber', 'vhdx'),
    fileWriteGuid: header.fileWriteGuid,
    dataWriteGuid: header.dataWriteGuid,
    logGuid: header.logGuid,
    logVersion: header.logVersion,
    version: header.version,
    logOffset,
    logLength: header.logLength,
    dirty,
    batBytesNeeded,
    regionTable,
    metadataItems: values.items,
  };
  // qemu 7.2: total_sectors = VirtualDiskSize / 512, so a partial last sector is dropped.
  return { virtualSize: Math.floor(values.virtualDiskSize / SECTOR) * SECTOR, details };
}

/** `parent`: a differencing disk opens its parent from the host (qemu 7.2 cannot, other hypervisors do). */
const parentCheck: SafetyCheck<VhdxDetails, 'parent'> = {
  name: 'parent',
  description: 'a differencing disk whose parent would be opened from the host',
  run(details) {
    if (!details.hasParent) return pass();
    const entries = details.parentLocator?.entries ?? [];
    const path = entries.find((entry) => entry.key === 'relative_path' || entry.key === 'absolute_win32_path' || entry.key === 'volume_path');
    return fail(`a differencing disk${path === undefined ? '' : ` of parent ${JSON.stringify(path.value)}`}`);
  },
};

/** `size`: the BAT region must be able to map the declared disk (qemu refuses the file otherwise). */
const sizeCheck: SafetyCheck<VhdxDetails, 'size'> = {
  name: 'size',
  description: 'a declared disk size the block allocation table cannot address',
  run(details) {
    const bat = details.regionTable.entries.find((region) => region.name === 'bat');
    if (bat === undefined) return fail('there is no BAT region');
    if (bat.length < details.batBytesNeeded) {
      return fail(`the BAT region holds ${bat.length} bytes, but a ${details.virtualDiskSize}-byte disk needs ${details.batBytesNeeded}`);
    }
    return pass();
  },
};

/** The VHDX format module. */
export const vhdx: FormatModule<'vhdx', VhdxDetails, 'parent' | 'size'> = {
  name: 'vhdx',
  title: 'Hyper-V Virtual Hard Disk v2 (VHDX)',
  qemuProbes: true,
  glance: { diskFormat: 'vhdx' }, // Glance's name
  signatures: [{ offset: 0, bytes: VHDX_SIGNATURE }],
  checks: [parentCheck, sizeCheck],
  // [MS-VHDX] 2.6.2.6.1: the relative path first, then the absolute and volume paths.
  references: {
    backing: [
      { name: 'parentLocator.entries[key=relative_path].value', windowsPath: true },
      { name: 'parentLocator.entries[key=absolute_win32_path].value', windowsPath: true },
      { name: 'parentLocator.entries[key=volume_path].value', windowsPath: true },
    ],
  },
  // qemu-img info prints the block size as cluster_size, and no format-specific block.
  summarize: (details) => [
    ['cluster_size', details.blockSize],
    ['disk type', details.diskType],
    ['creator', details.creator],
    ['logical sector size', details.logicalSectorSize],
    ['physical sector size', details.physicalSectorSize],
    ['virtual disk id', details.virtualDiskId],
    ['current header', details.currentHeader],
    ['log guid', details.logGuid],
    ['dirty', details.dirty],
    ...(details.parentLocator?.entries ?? []).map((entry): [string, string] => [`parent ${entry.key}`, entry.value]),
  ],
  parse: parseVhdx,
};
