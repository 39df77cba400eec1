/**
 * ISO 9660 (ECMA-119) optical disc images, with their extensions: Joliet, Rock Ridge,
 * El Torito boot catalogs, UDF bridge and pure UDF volumes, and hybrid images whose system
 * area holds an MBR, GPT or Apple partition map.
 *
 * What is read, in ascending order (a stream is read forward only):
 *
 * | what | where | for |
 * | --- | --- | --- |
 * | system area | bytes 0-32767 (always in the kept head) | a hybrid image's partition table |
 * | volume descriptor set | 2048-byte descriptors from sector 16 to the terminator (ECMA-119 6.7.1) | ids, dates, sizes; Joliet; the El Torito boot record |
 * | volume recognition sequence | the descriptors after the set: BEA01, NSR02/NSR03, TEA01 (ECMA-167 2/8.3) | UDF |
 * | root directory, first sector | the primary descriptor's root extent | Rock Ridge (SUSP "SP" in the "." record) |
 * | boot catalog | the El Torito boot record's sector, up to 8 KiB | boot entries |
 * | UDF descriptors up to the anchor | from the recognition sequence to sector 256 | the UDF volume's names |
 *
 * `virtualSize` is the primary volume descriptor's `volumeSpaceSize * logicalBlockSize`:
 * the size of the ISO 9660 volume. qemu treats every ISO as raw and reports the file's
 * length rounded up to 512; the two differ when an image carries data after the volume
 * (appended partitions, padding). A pure UDF image (no primary descriptor) has no such
 * size field: its virtual size is its exact byte count, like raw.
 *
 * @module
 */
import { fixedText, isAllZero, latin1Text, u16le, utf16beText } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader, FormatModule, ParseContext, ParsedImage } from '../src/format-module.js';
import {
  DIRECTORY_RECORD_SIZE,
  SUSP_ENTRY_HEADER_SIZE,
  VOLUME_DESCRIPTOR_FIELD_OFFSETS,
  VOLUME_DESCRIPTOR_HEADER_SIZE,
  VOLUME_DESCRIPTOR_SIZE,
  type BootRecord,
  type VolumeDescriptor,
  decodeBootRecord,
  decodeDirectoryRecord,
  decodeIsoDateTime,
  decodeSuspEntryHeader,
  decodeVolumeDescriptor,
  decodeVolumeDescriptorHeader,
  matchSuspSharingProtocolEntry,
} from './generated/iso.js';
import { type BootCatalogEntry, type BootCatalogValidation, MAX_BOOT_CATALOG_BYTES, parseBootCatalog } from './shared/el-torito.js';
import { type PartitionTable, scanPartitionTables } from './partitions/index.js';
import { installerMediaProperties, recogniseInstallerMedia } from '../src/glance/installer-media.js';
import { firmwareFromBootCatalog, firmwareProperties } from '../src/glance/vocabulary.js';
import { partitionTableRows } from './partitions/summary.js';
import {
  MAX_UDF_SEQUENCE_BYTES,
  UDF_ANCHOR_SECTOR,
  type UdfDescriptor,
  type UdfExtent,
  type UdfInfo,
  type UdfScan,
  anchorExtents,
  describeSequence,
  descriptorsIn,
  descriptorsInExtent,
  scanUdfBlocks,
} from './shared/udf.js';
import { ReadQueue } from '../src/reading/read-queue.js';

/** ISO 9660 logical sector size (ECMA-119 6.1.2); volume descriptors are one sector each. */
export const ISO_SECTOR_SIZE = 2048;
/** The system area: sectors 0-15, where hybrid images keep a partition table (ECMA-119 6.2.1). */
export const ISO_SYSTEM_AREA_BYTES = 16 * ISO_SECTOR_SIZE;
/** Bytes from the start the module needs on a stream after detection: the system area and the first descriptor. */
export const ISO_HEAD_BYTES = ISO_SYSTEM_AREA_BYTES + ISO_SECTOR_SIZE;
/** Most volume structure descriptors (ISO 9660 and UDF recognition) read from sector 16. */
export const MAX_VOLUME_DESCRIPTORS = 64;
/** Bytes read at a time while scanning for UDF descriptors up to the anchor. */
export const UDF_SCAN_WINDOW_BYTES = 32 * 1024;
/**
 * The longest walk the module announces to a source that pays a round trip per request
 * (`expectReads`): from sector 16 to the UDF anchor at sector 256 of 4096-byte blocks (just
 * under 1 MiB), or to a root directory that close. A root directory further away (a claim
 * of a damaged or hostile descriptor) is read on its own: the bytes between would cost more
 * than the round trip saved.
 */
export const MAX_EXPECTED_WALK_BYTES = 1024 * 1024;

const STANDARD_IDENTIFIER = 'CD001';
/** Bytes of a primary volume descriptor up to the end of its root directory record (ECMA-119 8.4.18). */
const ROOT_RECORD_END = VOLUME_DESCRIPTOR_FIELD_OFFSETS.rootDirectoryRecord + DIRECTORY_RECORD_SIZE + 1;
/** Volume structure descriptor identifiers of ECMA-167 2/9.1 (besides CD001). */
const RECOGNITION_IDENTIFIERS = new Set(['BEA01', 'NSR02', 'NSR03', 'TEA01', 'BOOT2', 'CDW02']);
const TYPE_BOOT_RECORD = 0;
const TYPE_PRIMARY = 1;
const TYPE_SUPPLEMENTARY = 2;
const TYPE_TERMINATOR = 255;
const EL_TORITO_SYSTEM_ID = 'EL TORITO SPECIFICATION';
/** Joliet's escape sequences for UCS-2 levels 1, 2 and 3 (Joliet specification, 1995). */
const JOLIET_ESCAPES: ReadonlyArray<[string, number]> = [
  ['%/@', 1],
  ['%/C', 2],
  ['%/E', 3],
];
/** System use entries defined by Rock Ridge (RRIP 1.12, IEEE P1282) besides SUSP's own. */
const ROCK_RIDGE_ENTRIES = new Set(['RR', 'PX', 'PN', 'SL', 'NM', 'CL', 'PL', 'RE', 'TF', 'SF']);

// ---------------------------------------------------------------------------------------
// Result

/** One volume descriptor of the set (ECMA-119 8.1). */
export interface IsoVolumeDescriptorSummary {
  sector: number;
  /** 0 boot record, 1 primary, 2 supplementary, 3 partition, 255 terminator. */
  type: number;
  typeName: 'boot record' | 'primary' | 'supplementary' | 'enhanced' | 'partition' | 'terminator' | 'unknown';
  version: number;
}

/** Joliet (a supplementary volume descriptor with UCS-2 escape sequences). */
export interface JolietInfo {
  present: boolean;
  /** UCS-2 level 1, 2 or 3. */
  level: number | undefined;
  /** The volume identifier, decoded from UCS-2. */
  volumeId: string | undefined;
}

/** Rock Ridge, as seen in the system use area of the root directory's "." record. */
export interface RockRidgeInfo {
  /** A SUSP "SP" entry and at least one Rock Ridge entry. */
  present: boolean;
  /** The signatures of the system use entries of the root's "." record, in order (e.g. `SP`, `RR`, `PX`, `TF`, `CE`). */
  systemUseEntries: string[];
}

/** The El Torito boot record and the catalog's validation entry. */
export interface ElToritoInfo {
  /** The sector of the boot catalog. */
  bootCatalogLocation: number;
  /** The catalog's validation entry, when it could be read. */
  validation: BootCatalogValidation | undefined;
}

/** ISO 9660 metadata. */
export interface IsoDetails {
  /** Every descriptor of the volume descriptor set, in order (the UDF recognition sequence is in `udf`). */
  volumeDescriptors: IsoVolumeDescriptorSummary[];
  /** From the primary volume descriptor (ECMA-119 8.4); `undefined` on a pure UDF image. */
  systemId: string | undefined;
  volumeId: string | undefined;
  volumeSetId: string | undefined;
  publisherId: string | undefined;
  dataPreparerId: string | undefined;
  applicationId: string | undefined;
  copyrightFileId: string | undefined;
  abstractFileId: string | undefined;
  bibliographicFileId: string | undefined;
  /** ISO 8601 (UTC); `undefined` when the field says "not specified". */
  creationDate: string | undefined;
  modificationDate: string | undefined;
  expirationDate: string | undefined;
  effectiveDate: string | undefined;
  /** Logical blocks in the volume. */
  volumeSpaceSize: number | undefined;
  /** Bytes per logical block (2048). */
  logicalBlockSize: number | undefined;
  volumeSetSize: number | undefined;
  volumeSequenceNumber: number | undefined;
  joliet: JolietInfo;
  rockRidge: RockRidgeInfo;
  /** Present when a boot record says "EL TORITO SPECIFICATION". */
  elTorito: ElToritoInfo | undefined;
  /** The boot catalog's entries (default entry first), when there is an El Torito boot record. */
  bootCatalog: BootCatalogEntry[] | undefined;
  /** Present when the recognition sequence has NSR02 or NSR03. */
  udf: UdfInfo | undefined;
  /** A partition table in the system area (a hybrid image). */
  partitionTable: PartitionTable | undefined;
  /** Further partition tables in the system area (e.g. an Apple map beside an MBR). */
  otherPartitionTables: PartitionTable[];
}

// ---------------------------------------------------------------------------------------
// Dates and text

/**
 * A volume descriptor date (ECMA-119 8.4.26.1): 16 digits "YYYYMMDDHHMMSScc" and a signed
 * byte, the offset from GMT in 15-minute steps. As ISO 8601 in UTC; `undefined` for "not
 * specified" (all digits zero); a warning and `undefined` for anything unreadable.
 */
export function isoDate(bytes: Uint8Array, field: string, warn: (message: string) => void): string | undefined {
  const date = decodeIsoDateTime(bytes);
  const digits = latin1Text(date.digits);
  if (/^[0\0 ]*$/.test(digits)) return undefined;
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(digits);
  const numbers = match?.slice(1).map(Number);
  const [year, month, day, hour, minute, second, hundredths] = numbers ?? [];
  if (
    numbers === undefined ||
    (month as number) < 1 ||
    (month as number) > 12 ||
    (day as number) < 1 ||
    (day as number) > 31 ||
    (hour as number) > 23 ||
    (minute as number) > 59 ||
    (second as number) > 59
  ) {
    warn(`the ${field} "${digits.replace(/[^\x20-\x7e]/g, '?')}" is not a valid date`);
    return undefined;
  }
  const time = new Date(0);
  time.setUTCFullYear(year as number, (month as number) - 1, day as number);
  time.setUTCHours(hour as number, minute as number, second as number, (hundredths as number) * 10);
  return new Date(time.getTime() - date.gmtOffset * 15 * 60_000).toISOString();
}

function text(bytes: Uint8Array): string {
  return fixedText(bytes, latin1Text);
}

// ---------------------------------------------------------------------------------------
// Detection

/** The start of a volume structure descriptor, its identifier as text. */
interface StructureHeader {
  type: number;
  identifier: string;
  version: number;
}

/** The start of the volume structure descriptor `bytes` holds, if it holds one (ISO 9660's or a UDF recognition descriptor). */
function structureHeader(bytes: Uint8Array): StructureHeader | undefined {
  if (bytes.byteLength < VOLUME_DESCRIPTOR_HEADER_SIZE) return undefined;
  const { type, identifier: identifierBytes, version } = decodeVolumeDescriptorHeader(bytes);
  const identifier = latin1Text(identifierBytes);
  return identifier === STANDARD_IDENTIFIER || RECOGNITION_IDENTIFIERS.has(identifier) ? { type, identifier, version } : undefined;
}

/**
 * A signature at 32769 is enough for ISO 9660 ("CD001"); a "BEA01" there must be followed by
 * an NSR descriptor (ECMA-167 2/8.3.1) for the image to be UDF.
 */
async function checkIso(reader: ByteReader): Promise<boolean> {
  const first = await reader.read(ISO_SYSTEM_AREA_BYTES, VOLUME_DESCRIPTOR_HEADER_SIZE, 'volume descriptor');
  if (structureHeader(first)?.identifier === STANDARD_IDENTIFIER) return true;
  // The recognition sequence read next is, on a pure UDF volume, the start of the walk up to its anchor: announced now, before the first read past what detection saw.
  await expectVolumeWalk(reader);
  for (const stride of [ISO_SECTOR_SIZE, 2 * ISO_SECTOR_SIZE]) {
    for (let index = 1; index < 8; index += 1) {
      const bytes = await reader.readAvailable(ISO_SYSTEM_AREA_BYTES + index * stride, VOLUME_DESCRIPTOR_HEADER_SIZE, 'volume recognition sequence');
      const identifier = structureHeader(bytes)?.identifier;
      if (identifier === 'NSR02' || identifier === 'NSR03') return true;
      if (identifier === undefined || identifier === 'TEA01') break;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// The volume descriptor set and the recognition sequence

interface VolumeStructure {
  descriptors: IsoVolumeDescriptorSummary[];
  primary: VolumeDescriptor | undefined;
  supplementary: VolumeDescriptor[];
  bootRecords: BootRecord[];
  recognitionSequence: string[];
  /** Byte offset just after the last descriptor read. */
  end: number;
  /** Bytes between two descriptors: 2048, or 4096 for UDF on 4096-byte sectors (ECMA-167 2/8.4). */
  stride: number;
}

function typeNameOf(type: number, version: number): IsoVolumeDescriptorSummary['typeName'] {
  switch (type) {
    case TYPE_BOOT_RECORD:
      return 'boot record';
    case TYPE_PRIMARY:
      return 'primary';
    case TYPE_SUPPLEMENTARY:
      return version === 2 ? 'enhanced' : 'supplementary';
    case 3:
      return 'partition';
    case TYPE_TERMINATOR:
      return 'terminator';
    default:
      return 'unknown';
  }
}

async function readVolumeStructure(reader: ByteReader, context: ParseContext): Promise<VolumeStructure> {
  const structure: VolumeStructure = {
    descriptors: [],
    primary: undefined,
    supplementary: [],
    bootRecords: [],
    recognitionSequence: [],
    end: ISO_SYSTEM_AREA_BYTES,
    stride: ISO_SECTOR_SIZE,
  };
  let offset = ISO_SYSTEM_AREA_BYTES;
  let terminated = false;
  for (let count = 0; ; count += 1) {
    if (count >= MAX_VOLUME_DESCRIPTORS) {
      throw fieldError('LIMIT_EXCEEDED', 'volume descriptor set', `more than ${MAX_VOLUME_DESCRIPTORS} volume descriptors from sector 16`, offset);
    }
    // Every sector read here stays readable (keepStart): the root directory, the boot catalog
    // or a UDF descriptor often starts in the sector read to see that the set has ended.
    await reader.keepStart(offset + 2 * VOLUME_DESCRIPTOR_SIZE, 'volume descriptor');
    let bytes = await reader.readAvailable(offset, VOLUME_DESCRIPTOR_SIZE, 'volume descriptor');
    let header = structureHeader(bytes);
    if (header === undefined && count === 1 && structure.recognitionSequence[0] === 'BEA01') {
      // UDF on 4096-byte sectors: each recognition descriptor starts a new sector (ECMA-167 2/8.4).
      const wider = await reader.readAvailable(offset + ISO_SECTOR_SIZE, VOLUME_DESCRIPTOR_SIZE, 'volume descriptor');
      const widerHeader = structureHeader(wider);
      if (widerHeader !== undefined) {
        structure.stride = 2 * ISO_SECTOR_SIZE;
        offset += ISO_SECTOR_SIZE;
        bytes = wider;
        header = widerHeader;
      }
    }
    if (header === undefined) {
      break;
    }
    if (header.identifier === STANDARD_IDENTIFIER && header.type === TYPE_TERMINATOR) terminated = true;
    const more = addDescriptor(structure, bytes, offset, header, context);
    structure.end = offset + VOLUME_DESCRIPTOR_SIZE;
    offset += structure.stride;
    if (!more) break;
  }
  if (structure.descriptors.length > 0 && !terminated) context.warn('the volume descriptor set has no terminator');
  return structure;
}

/** Records one descriptor; returns false when the sequence ends with it. */
function addDescriptor(structure: VolumeStructure, bytes: Uint8Array, offset: number, header: StructureHeader, context: ParseContext): boolean {
  const { identifier, type, version } = header;
  if (identifier !== STANDARD_IDENTIFIER) {
    structure.recognitionSequence.push(identifier);
    return identifier !== 'TEA01';
  }
  structure.descriptors.push({ sector: offset / ISO_SECTOR_SIZE, type, typeName: typeNameOf(type, version), version });
  if (type === TYPE_PRIMARY || type === TYPE_SUPPLEMENTARY) {
    if (bytes.byteLength < VOLUME_DESCRIPTOR_SIZE) {
      throw fieldError('TRUNCATED', 'volume descriptor', 'the image ends inside a volume descriptor', offset);
    }
    const descriptor = decodeVolumeDescriptor(bytes);
    if (type === TYPE_SUPPLEMENTARY) structure.supplementary.push(descriptor);
    else if (structure.primary === undefined) structure.primary = descriptor;
    else context.warn(`a second primary volume descriptor at sector ${offset / ISO_SECTOR_SIZE} is ignored`);
  } else if (type === TYPE_BOOT_RECORD) {
    structure.bootRecords.push(decodeBootRecord(bytes));
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Rock Ridge

/** The signatures of the SUSP entries in a directory record's system use area (IEEE P1281 4). */
function systemUseEntries(record: Uint8Array): { entries: string[]; sharingProtocol: boolean } {
  const none = { entries: [], sharingProtocol: false };
  if (record.byteLength < DIRECTORY_RECORD_SIZE) return none;
  const { length, fileIdentifierLength: nameLength } = decodeDirectoryRecord(record);
  if (length < DIRECTORY_RECORD_SIZE + 1 || length > record.byteLength) return none;
  // ECMA-119 9.1.12: a padding byte follows an identifier of even length.
  let position = DIRECTORY_RECORD_SIZE + nameLength + (nameLength % 2 === 0 ? 1 : 0);
  const entries: string[] = [];
  let sharingProtocol = false;
  while (position + SUSP_ENTRY_HEADER_SIZE <= length) {
    const entry = decodeSuspEntryHeader(record.subarray(position));
    const entryLength = entry.length;
    const signature = latin1Text(entry.signature);
    if (entryLength < SUSP_ENTRY_HEADER_SIZE || position + entryLength > length) break;
    if (entries.length === 0 && signature === 'SP' && matchSuspSharingProtocolEntry(record.subarray(position)) !== undefined) sharingProtocol = true;
    entries.push(signature);
    if (signature === 'ST') break;
    position += entryLength;
  }
  return { entries, sharingProtocol };
}

function rockRidgeOf(rootSector: Uint8Array | undefined): RockRidgeInfo {
  if (rootSector === undefined || rootSector.byteLength === 0) return { present: false, systemUseEntries: [] };
  const { entries, sharingProtocol } = systemUseEntries(rootSector);
  return { present: sharingProtocol && entries.some((entry) => ROCK_RIDGE_ENTRIES.has(entry)), systemUseEntries: entries };
}

// ---------------------------------------------------------------------------------------
// Parsing

function jolietOf(structure: VolumeStructure): JolietInfo {
  for (const descriptor of structure.supplementary) {
    // Joliet: a version 1 supplementary descriptor whose escape sequences name UCS-2 (flags bit 0 clear).
    if (descriptor.version !== 1 || (descriptor.volumeFlags & 1) !== 0) continue;
    const escapes = latin1Text(descriptor.escapeSequences.subarray(0, 3));
    const level = JOLIET_ESCAPES.find(([escape]) => escape === escapes)?.[1];
    if (level !== undefined) return { present: true, level, volumeId: fixedText(descriptor.volumeIdentifier, utf16beText) };
  }
  return { present: false, level: undefined, volumeId: undefined };
}

function bothEndian(little: number, big: number, field: string, context: ParseContext): number {
  if (little !== big) context.warn(`the ${field} is ${little} little-endian but ${big} big-endian; using ${little}`);
  return little;
}

function primaryFields(primary: VolumeDescriptor | undefined, context: ParseContext): Omit<IsoDetails, 'volumeDescriptors' | 'joliet' | 'rockRidge' | 'elTorito' | 'bootCatalog' | 'udf' | 'partitionTable' | 'otherPartitionTables'> {
  if (primary === undefined) {
    return {
      systemId: undefined, volumeId: undefined, volumeSetId: undefined, publisherId: undefined, dataPreparerId: undefined,
      applicationId: undefined, copyrightFileId: undefined, abstractFileId: undefined, bibliographicFileId: undefined,
      creationDate: undefined, modificationDate: undefined, expirationDate: undefined, effectiveDate: undefined,
      volumeSpaceSize: undefined, logicalBlockSize: undefined, volumeSetSize: undefined, volumeSequenceNumber: undefined,
    };
  }
  const warn = (message: string) => context.warn(message);
  const logicalBlockSize = bothEndian(primary.logicalBlockSizeLe, primary.logicalBlockSizeBe, 'logical block size', context);
  // ECMA-119 6.2.2: a logical block is 2^(n+9) bytes and no larger than a logical sector (2048).
  if (logicalBlockSize < 512 || logicalBlockSize > ISO_SECTOR_SIZE || (logicalBlockSize & (logicalBlockSize - 1)) !== 0) {
    throw fieldError('CORRUPT', 'primary volume descriptor.logicalBlockSize', `${logicalBlockSize} is not a valid logical block size (512, 1024 or 2048)`);
  }
  return {
    systemId: text(primary.systemIdentifier),
    volumeId: text(primary.volumeIdentifier),
    volumeSetId: text(primary.volumeSetIdentifier),
    publisherId: text(primary.publisherIdentifier),
    dataPreparerId: text(primary.dataPreparerIdentifier),
    applicationId: text(primary.applicationIdentifier),
    copyrightFileId: text(primary.copyrightFileIdentifier),
    abstractFileId: text(primary.abstractFileIdentifier),
    bibliographicFileId: text(primary.bibliographicFileIdentifier),
    creationDate: isoDate(primary.creationDate, 'volume creation date', warn),
    modificationDate: isoDate(primary.modificationDate, 'volume modification date', warn),
    expirationDate: isoDate(primary.expirationDate, 'volume expiration date', warn),
    effectiveDate: isoDate(primary.effectiveDate, 'volume effective date', warn),
    volumeSpaceSize: bothEndian(primary.volumeSpaceSizeLe, primary.volumeSpaceSizeBe, 'volume space size', context),
    logicalBlockSize,
    volumeSetSize: bothEndian(primary.volumeSetSizeLe, primary.volumeSetSizeBe, 'volume set size', context),
    volumeSequenceNumber: bothEndian(primary.volumeSequenceNumberLe, primary.volumeSequenceNumberBe, 'volume sequence number', context),
  };
}

function elToritoRecord(structure: VolumeStructure): BootRecord | undefined {
  return structure.bootRecords.find((record) => fixedText(record.bootSystemIdentifier) === EL_TORITO_SYSTEM_ID);
}

/**
 * Schedules a read of `length` bytes at `offset` (`field` names it in errors); `use` gets
 * them in file order. A range that lies behind bytes already read is not read: it is
 * reported as a warning naming `what` (default `field`), and `use` is not called.
 */
function readInOrder(
  queue: ReadQueue,
  context: ParseContext,
  range: { offset: number; length: number; field: string; what?: string; verb?: string },
  use: (bytes: Uint8Array) => void,
): void {
  const { offset, length, field, what = field, verb = 'lies' } = range;
  queue.add({
    offset,
    length,
    field,
    deliver: (bytes) => {
      // Structures are read in file order on every kind of source (so that every source gives
      // the same answer): one that points back is reported, whatever the source.
      if (bytes === undefined) return context.warn(`the ${what} at byte ${offset} ${verb} before bytes already read and was not read (structures are read in file order)`);
      use(bytes);
    },
  });
}

/**
 * Schedules the UDF part: the scan in windows from the end of the recognition sequence up
 * to the anchor, then the main (or reserve) sequence.
 */
function scheduleUdf(structure: VolumeStructure, queue: ReadQueue, udf: UdfInfo, context: ParseContext): void {
  const warn = (message: string) => context.warn(message);
  const scan: UdfScan = { descriptors: [], anchor: undefined };
  const end = udfScanEnd(structure.stride);
  const finish = (scannedTo: number) => {
    const anchor = scan.anchor;
    if (anchor === undefined) {
      warn('no UDF anchor volume descriptor pointer at sector 256');
      return;
    }
    udf.blockSize = anchor.blockSize;
    udf.anchor = anchorExtents(anchor);
    useSequence(udf.anchor.mainSequence, udf.anchor.reserveSequence, { scan, scannedTo, queue, udf, context });
  };
  const window = (start: number): void => {
    if (start >= end) return finish(start);
    const length = Math.min(UDF_SCAN_WINDOW_BYTES, end - start);
    readInOrder(queue, context, { offset: start, length, field: 'udf descriptors', what: 'UDF descriptors', verb: 'lie' }, (bytes) => {
      const found = scanUdfBlocks(scan, start, bytes, warn);
      if (found || bytes.byteLength < length || start + length >= end) return finish(start + bytes.byteLength);
      return window(start + length);
    });
  };
  window(structure.end);
}

/** Where the scan for UDF descriptors ends: just past the anchor at sector 256 of the largest block size the recognition sequence's spacing allows. */
function udfScanEnd(stride: number): number {
  return UDF_ANCHOR_SECTOR * stride + 512;
}

/**
 * Announces, before the first read past what detection saw (from the check of a pure UDF
 * volume, from the parse of an ISO 9660 one), how far the module will walk
 * forward from sector 16 (`expectReads`: a source that pays per request fetches the walk in
 * one request; others ignore it, and nothing is read here but the kept start). Read from
 * the first descriptor's start: a pure UDF volume ("BEA01" at sector 16) is scanned up to
 * its anchor, at sector 256 (of 2048-byte blocks, the spacing of most); an ISO 9660 volume is
 * read up to its root directory's first sector, which a UDF bridge (genisoimage, mkisofs)
 * places past the UDF anchor and its descriptors.
 */
async function expectVolumeWalk(reader: ByteReader): Promise<void> {
  if (reader.expectReads === undefined) return;
  const start = await reader.readAvailable(ISO_SYSTEM_AREA_BYTES, ROOT_RECORD_END, 'volume descriptor');
  const header = structureHeader(start);
  let end: number | undefined;
  if (header?.identifier === 'BEA01') end = udfScanEnd(ISO_SECTOR_SIZE);
  else if (header?.identifier === STANDARD_IDENTIFIER && header.type === TYPE_PRIMARY && start.byteLength === ROOT_RECORD_END) {
    const blockSize = u16le(start, VOLUME_DESCRIPTOR_FIELD_OFFSETS.logicalBlockSizeLe, 'primary volume descriptor.logicalBlockSize');
    const root = decodeDirectoryRecord(start.subarray(VOLUME_DESCRIPTOR_FIELD_OFFSETS.rootDirectoryRecord));
    end = root.extentLe * blockSize + ISO_SECTOR_SIZE;
  }
  if (end === undefined || end <= ISO_SYSTEM_AREA_BYTES || end - ISO_SYSTEM_AREA_BYTES > MAX_EXPECTED_WALK_BYTES) return;
  await reader.expectReads([{ offset: ISO_SYSTEM_AREA_BYTES, length: end - ISO_SYSTEM_AREA_BYTES }]);
}

/** What choosing a volume descriptor sequence works with. */
interface SequenceChoice {
  readonly scan: UdfScan;
  /** Where the scan ended: a sequence from here on is read next. */
  readonly scannedTo: number;
  readonly queue: ReadQueue;
  readonly udf: UdfInfo;
  readonly context: ParseContext;
}

function useSequence(main: UdfExtent, reserve: UdfExtent, { scan, scannedTo, queue, udf, context }: SequenceChoice): void {
  const blockSize = udf.blockSize as number;
  const fromScan = (extent: UdfExtent) => descriptorsInExtent(scan.descriptors, extent, blockSize);
  const describe = (descriptors: UdfDescriptor[]) => describeSequence(descriptors, udf);
  const mainFound = fromScan(main);
  if (mainFound.length > 0) return describe(mainFound);
  const reserveFound = fromScan(reserve);
  if (reserveFound.length > 0) {
    context.warn('the UDF main volume descriptor sequence is empty; using the reserve sequence');
    return describe(reserveFound);
  }
  // The sequence lies after the anchor: read it now, still in ascending order.
  const extent = [main, reserve].find((candidate) => candidate.location * blockSize >= scannedTo && candidate.length > 0);
  if (extent === undefined) {
    context.warn('the UDF volume descriptor sequences hold no descriptors');
    return;
  }
  const offset = extent.location * blockSize;
  readInOrder(queue, context, { offset, length: Math.min(extent.length, MAX_UDF_SEQUENCE_BYTES), field: 'udf volume descriptor sequence' }, (bytes) =>
    describe(descriptorsIn(bytes, offset, blockSize)),
  );
}

function emptyUdf(structure: VolumeStructure): UdfInfo {
  const nsr = structure.recognitionSequence.find((identifier) => identifier.startsWith('NSR'));
  return {
    volumeRecognitionSequence: structure.recognitionSequence,
    nsrVersion: nsr === undefined ? undefined : Number(nsr.slice(3)),
    blockSize: undefined,
    anchor: undefined,
    volumeIdentifier: undefined,
    volumeSetIdentifier: undefined,
    logicalVolumeIdentifier: undefined,
    udfRevision: undefined,
    recordingDate: undefined,
    implementationIdentifier: undefined,
  };
}

async function hybridPartitionTables(reader: ByteReader, context: ParseContext): Promise<{ partitionTable: PartitionTable | undefined; otherPartitionTables: PartitionTable[] }> {
  const systemArea = await reader.readAvailable(0, ISO_SYSTEM_AREA_BYTES, 'system area');
  if (isAllZero(systemArea)) return { partitionTable: undefined, otherPartitionTables: [] };
  const scan = await scanPartitionTables(reader, {
    within: { bytes: ISO_SYSTEM_AREA_BYTES, reason: 'it lies outside the system area (the first 32 KiB), the only part of a hybrid ISO read as a disk' },
    warn: (message) => context.warn(message),
  });
  return { partitionTable: scan.partitionTable, otherPartitionTables: scan.otherPartitionTables };
}

async function parseIso(reader: ByteReader, context: ParseContext): Promise<ParsedImage<IsoDetails>> {
  const hybrid = await hybridPartitionTables(reader, context);
  await expectVolumeWalk(reader);
  const structure = await readVolumeStructure(reader, context);
  const fields = primaryFields(structure.primary, context);
  const isUdf = structure.recognitionSequence.some((identifier) => identifier === 'NSR02' || identifier === 'NSR03');
  if (structure.primary === undefined && !isUdf) {
    throw fieldError('CORRUPT', 'volume descriptor set', 'the volume descriptor set has no primary volume descriptor');
  }

  const queue = new ReadQueue(reader);
  let rootSector: Uint8Array | undefined;
  if (structure.primary !== undefined && fields.logicalBlockSize !== undefined) {
    const root = decodeDirectoryRecord(structure.primary.rootDirectoryRecord);
    readInOrder(queue, context, { offset: root.extentLe * fields.logicalBlockSize, length: ISO_SECTOR_SIZE, field: 'root directory' }, (bytes) => {
      rootSector = bytes;
    });
  }
  const bootRecord = elToritoRecord(structure);
  let catalog: ReturnType<typeof parseBootCatalog>;
  if (bootRecord !== undefined) {
    readInOrder(queue, context, { offset: bootRecord.bootCatalogPointer * ISO_SECTOR_SIZE, length: MAX_BOOT_CATALOG_BYTES, field: 'boot catalog' }, (bytes) => {
      catalog = parseBootCatalog(bytes, (message) => context.warn(message));
    });
  }
  const udf = isUdf ? emptyUdf(structure) : undefined;
  if (udf !== undefined) {
    // The scan up to the anchor, announced in one piece (it was not, on a bridge whose root directory comes early, or with 4096-byte spacing).
    await reader.expectReads?.([{ offset: structure.end, length: udfScanEnd(structure.stride) - structure.end }]);
    scheduleUdf(structure, queue, udf, context);
  }
  await queue.run();

  const details: IsoDetails = {
    volumeDescriptors: structure.descriptors,
    ...fields,
    joliet: jolietOf(structure),
    rockRidge: rockRidgeOf(rootSector),
    elTorito: bootRecord === undefined ? undefined : { bootCatalogLocation: bootRecord.bootCatalogPointer, validation: catalog?.validation },
    bootCatalog: bootRecord === undefined ? undefined : (catalog?.entries ?? []),
    udf,
    partitionTable: hybrid.partitionTable,
    otherPartitionTables: hybrid.otherPartitionTables,
  };
  if (fields.volumeSpaceSize !== undefined && fields.logicalBlockSize !== undefined) {
    // The volume space is the whole image: a file shorter than that is truncated (the core checks where the length is known).
    const declaredSize = fields.volumeSpaceSize * fields.logicalBlockSize;
    return { virtualSize: declaredSize, declaredSize, details };
  }
  return { virtualSize: await reader.totalSize(), details };
}

/** The ISO 9660 / UDF format module. */
export const iso: FormatModule<'iso', IsoDetails, never> = {
  name: 'iso',
  title: 'ISO 9660 / UDF optical disc image',
  glance: {
    diskFormat: 'iso',
    properties: (details, context) => ({
      ...firmwareProperties(firmwareFromBootCatalog(details.bootCatalog)),
      ...installerMediaProperties(recogniseInstallerMedia(details), context),
    }),
  },
  signatures: [
    { offset: ISO_SYSTEM_AREA_BYTES + 1, bytes: STANDARD_IDENTIFIER },
    { offset: ISO_SYSTEM_AREA_BYTES + 1, bytes: 'BEA01' },
  ],
  check: checkIso,
  headBytes: ISO_HEAD_BYTES,
  guestDataAtStart: true,
  // Guest inspection looks for an installed system; an ISO holds installer media, which its
  // volume id identifies (docs/glance.md, installer media).
  guestDisk: async () => ({ unavailable: 'an optical disc image holds installer media, not an installed guest (its volume id is what identifies it)' }),
  summarize: (details) => [
    ['volume id', details.volumeId ?? details.udf?.logicalVolumeIdentifier],
    ['joliet', details.joliet.present],
    ['rock ridge', details.rockRidge.present],
    ['boot entries', details.bootCatalog?.length],
    ['udf', details.udf === undefined ? undefined : (details.udf.udfRevision ?? true)],
    ...partitionTableRows(details.partitionTable, details.otherPartitionTables),
  ],
  parse: parseIso,
};
