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
 * The decoders of the fixed structures (and the format's constants) are in
 * `formats/shared/vhdx-structures.ts`; this module decides what to read and checks it.
 *
 * @module
 */
import { bytesEqual, isAllZero, mixedEndianGuid, safeNumber } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import { concat } from '../src/reading/tail-window.js';
import type { ByteReader, FormatModule, ParseContext, ParsedImage, WantedRange } from '../src/format-module.js';
import { type SafetyCheck, fail, pass } from '../src/safety.js';
import {
  VHDX_FILE_IDENTIFIER_SIZE,
  VHDX_FILE_PARAMETERS_SIZE,
  VHDX_HEADER_SIZE,
  VHDX_METADATA_TABLE_ENTRY_SIZE,
  VHDX_METADATA_TABLE_HEADER_SIZE,
  VHDX_PAGE83_DATA_SIZE,
  VHDX_PARENT_LOCATOR_HEADER_SIZE,
  VHDX_SECTOR_SIZE_SIZE,
  VHDX_VIRTUAL_DISK_SIZE_SIZE,
  decodeVhdxFileParameters,
  decodeVhdxHeader,
  decodeVhdxMetadataTableHeader,
  decodeVhdxPage83Data,
  decodeVhdxSectorSize,
  decodeVhdxVirtualDiskSize,
} from './generated/vhdx.js';
import { vhdxGuestDisk } from './shared/vhdx-guest.js';

// The structures module's constants, decoders and types are all part of this module's API.
export * from './shared/vhdx-structures.js';
import {
  VHDX_HEADER_OFFSETS,
  VHDX_MAX_LOG_SCAN_LENGTH,
  VHDX_MAX_METADATA_ENTRIES,
  VHDX_MAX_METADATA_ITEM_LENGTH,
  VHDX_METADATA_TABLE_SIZE,
  VHDX_PARENT_LOCATOR_TYPE,
  VHDX_REGION_TABLE_OFFSETS,
  VHDX_REGION_TABLE_SIZE,
  VHDX_SIGNATURE,
  type VhdxHeaderFields,
  type VhdxMetadataItem,
  type VhdxMetadataItemName,
  type VhdxParentLocator,
  type VhdxRegion,
  readVhdxFileIdentifier,
  readVhdxHeader,
  readVhdxMetadataTable,
  readVhdxParentLocator,
  readVhdxRegionTable,
  vhdxLogHasValidEntry,
  vhdxRegionTableValid,
} from './shared/vhdx-structures.js';

const ONE_MIB = 1024 * 1024;
/** The header section (identifier, headers, region tables) is the first 1 MiB. */
const HEADER_SECTION_END = ONE_MIB;
/** Block sizes qemu and [MS-VHDX] 2.6.2.1 allow. */
const MIN_BLOCK_SIZE = ONE_MIB;
const MAX_BLOCK_SIZE = 256 * ONE_MIB;
/** [MS-VHDX] 2.6.2.2: at most 64 TiB. */
const MAX_VIRTUAL_DISK_SIZE = 64 * 1024 * 1024 * ONE_MIB;
const SECTOR = 512;

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

/**
 * Metadata table entries read with its header at first: 16 (qemu-img writes 5 or 6). The
 * table has no checksum, so its unused rest of the 64 KiB is not read; a table of more
 * entries is read again, as long as they are.
 */
const METADATA_ENTRIES_READ_FIRST = 16;

async function readMetadata(reader: ByteReader, region: VhdxRegion): Promise<MetadataValues> {
  const tableBytes = (entries: number): number => Math.min(VHDX_METADATA_TABLE_SIZE, VHDX_METADATA_TABLE_HEADER_SIZE + entries * VHDX_METADATA_TABLE_ENTRY_SIZE);
  // The items follow the 64 KiB table (qemu-img and Hyper-V put them there): announced with
  // it, a remote object fetches table and items in one request, as it did when the whole
  // table was read; a file still reads only the header, the entries and the items.
  await reader.expectReads?.([{ offset: region.fileOffset, length: Math.min(region.length, 2 * VHDX_METADATA_TABLE_SIZE) }]);
  const head = await reader.read(region.fileOffset, tableBytes(METADATA_ENTRIES_READ_FIRST), 'metadata table');
  // More entries (within the cap, which readVhdxMetadataTable checks): the rest, read on from the head.
  const entryCount = decodeVhdxMetadataTableHeader(head).entryCount;
  let table = head;
  if (entryCount > METADATA_ENTRIES_READ_FIRST && entryCount <= VHDX_MAX_METADATA_ENTRIES) {
    table = concat([head, await reader.read(region.fileOffset + head.byteLength, tableBytes(entryCount) - head.byteLength, 'metadata table')]);
  }
  const items = readVhdxMetadataTable(table);
  const known = knownItems(items);
  const ranges = [...known.entries()].map(([name, item]) => itemRange(name, item, region));
  const values = await reader.readMany(ranges);
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
  guestDisk: vhdxGuestDisk,
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
