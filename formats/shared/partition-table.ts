/**
 * Partition tables, shared by the raw module (a whole disk) and the iso module (the system
 * area of a hybrid ISO).
 *
 * | scheme | where | recognised by |
 * | --- | --- | --- |
 * | `gpt` | header at LBA 1 (byte 512, or 4096 on 4Kn disks), backup at the last LBA | `EFI PART` (UEFI 2.10 section 5.3.2) |
 * | `mbr` | sector 0, extended boot records chained through extended partitions | 0x55 0xAA at 510, and not a FAT/NTFS/exFAT boot sector |
 * | `apm` | driver descriptor map at block 0, entries from block 1 | `ER` at 0 and `PM` at the first entry |
 * | `bsd` | sector 1 (or byte 64) of the disk, or of an MBR slice of type 0xA5/0xA6/0xA9 | 0x82564557 twice and a good XOR checksum |
 * | `sun` | sector 0 | 0xDABE at 508 and a good XOR checksum |
 * | `sgi` | sector 0 | 0x0BE5A941 at 0 and a good sum checksum |
 * | `atari` | sector 0 | AHDI entries with alphanumeric ids inside the declared disk size (as Linux decides) |
 *
 * The first one found, in the order gpt, sgi, sun, mbr, apm, bsd, atari, is the
 * `partitionTable`; any others found alongside (an Apple map beside an MBR in a Mac hybrid
 * CD) are listed in `otherPartitionTables`.
 *
 * Every structure is read through {@link DiskBytes}, which may not be able to reach every
 * byte (a stream that has moved on): what cannot be read is reported as such, with a
 * warning, never guessed.
 *
 * @module
 */
import {
  bytesEqual,
  fixedText,
  hex,
  isAllZero,
  latin1Text,
  mixedEndianGuid,
  safeNumber,
  u16be,
  u16le,
  u32be,
  utf16leText,
  crc32,
  cutAtNul,
} from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import {
  APM_PARTITION_ENTRY_SIZE,
  ATARI_ROOT_SECTOR_SIZE,
  BSD_DISKLABEL_SIZE,
  BSD_PARTITION_ENTRY_SIZE,
  GPT_HEADER_FIELD_OFFSETS,
  GPT_HEADER_SIZE,
  GPT_PARTITION_ENTRY_SIZE,
  SGI_VOLUME_HEADER_SIZE,
  SUN_DISK_LABEL_SIZE,
  type GptHeader,
  type MbrChsAddress,
  type MbrPartitionEntry,
  decodeAtariRootSector,
  decodeBsdPartitionEntryBe,
  decodeBsdPartitionEntryLe,
  decodeGptPartitionEntry,
  decodeMbrSector,
  matchApmDriverDescriptorMap,
  matchApmPartitionEntry,
  matchBsdDisklabelBe,
  matchBsdDisklabelLe,
  matchGptHeader,
  matchMbrSector,
  matchSgiVolumeHeader,
  matchSunDiskLabel,
} from '../generated/partition-table.js';
import { type BootSectorFilesystem, recogniseBootSector } from './boot-sector.js';
import {
  GPT_TYPE_MICROSOFT_BASIC_DATA,
  MBR_BSD_TYPES,
  MBR_EXTENDED_TYPES,
  MBR_TYPE_GPT_PROTECTIVE,
  bsdTypeName,
  gptTypeName,
  mbrTypeName,
  sgiTypeName,
  sunTypeName,
} from './partition-types.js';

// ---------------------------------------------------------------------------------------
// Limits

/** Most logical partitions followed through an MBR extended partition's chain of boot records. */
export const MAX_LOGICAL_PARTITIONS = 256;
/** Most GPT partition entries read (the UEFI minimum array is 128 entries of 128 bytes). */
export const MAX_GPT_PARTITION_ENTRIES = 4096;
/** Largest GPT partition entry accepted (128 x 2^n bytes, UEFI 2.10 table 5-5). */
export const MAX_GPT_PARTITION_ENTRY_SIZE = 4096;
/** Largest GPT partition entry array read, in bytes. */
export const MAX_GPT_PARTITION_ENTRY_ARRAY_BYTES = 1024 * 1024;
/** Most Apple Partition Map entries read. */
export const MAX_APM_ENTRIES = 256;
/** Most partitions a BSD disklabel may declare (22 fill a 512-byte sector after the 148-byte header). */
export const MAX_BSD_PARTITIONS = 22;

/** Logical sector sizes at which a GPT header is looked for (at LBA 1). */
export const GPT_SECTOR_SIZES = [512, 4096] as const;

const SECTOR = 512;
const SUN_VTOC_SANITY = 0x600ddeee;

// ---------------------------------------------------------------------------------------
// Access to the disk

/**
 * How the partition-table reader reaches the disk's bytes.
 *
 * `head` is what is always available (what a stream kept of its start); `read` is asked for
 * anything else and answers `undefined` when those bytes cannot be had (a stream has passed
 * them, or they lie outside what the caller allows, such as an ISO's system area).
 */
export interface DiskBytes {
  /** Bytes from the start of the disk. */
  readonly head: Uint8Array;
  /** The disk's length in bytes, when known. */
  readonly size: number | undefined;
  /** Bytes at `offset` (fewer at the end of the disk), or `undefined` when they cannot be read. */
  read(offset: number, length: number, field: string): Promise<Uint8Array | undefined>;
  /** Records a soft problem. */
  warn(message: string): void;
  /** Whether to look for the backup GPT header (at the end of the disk). */
  readonly readBackupGpt: boolean;
  /** Why `read` may answer `undefined`, for warnings (e.g. "a stream keeps only the start and the end of a disk"). */
  readonly unreadableReason: string;
}

async function bytesAt(disk: DiskBytes, offset: number, length: number, field: string): Promise<Uint8Array | undefined> {
  if (offset + length <= disk.head.byteLength) return disk.head.subarray(offset, offset + length);
  if (disk.size !== undefined && offset >= disk.size) return new Uint8Array(0);
  return disk.read(offset, length, field);
}

function unreadable(disk: DiskBytes, what: string, offset: number): void {
  disk.warn(`${what} at byte ${offset} could not be read: ${disk.unreadableReason}`);
}

// ---------------------------------------------------------------------------------------
// Result types

/** A cylinder-head-sector address as an MBR entry packs it into three bytes. */
export interface ChsAddress {
  /** The three bytes as stored: head, sector with cylinder bits 8-9, cylinder bits 0-7. */
  bytes: [number, number, number];
  cylinder: number;
  head: number;
  /** 1-based; 0 is invalid. */
  sector: number;
}

/**
 * One MBR partition: a used primary entry, or a logical partition found in an extended
 * boot record.
 *
 * | field | meaning |
 * | --- | --- |
 * | `number` | the number Linux gives it: 1-4 for primary entries (their slot), 5 on for logical partitions in chain order |
 * | `slot` | the entry's index (1-4) in the sector that holds it |
 * | `status` | the raw boot indicator byte; `bootable` is `status === 0x80` |
 * | `startLba`, `sectorCount` | absolute first sector and length, in the table's `sectorSize` units |
 * | `offset`, `size` | the same in bytes |
 */
export interface MbrPartition {
  number: number;
  slot: number;
  status: number;
  bootable: boolean;
  type: number;
  typeName: string | undefined;
  startChs: ChsAddress;
  endChs: ChsAddress;
  startLba: number;
  sectorCount: number;
  offset: number;
  size: number;
  /** True for extended partitions (types 0x05, 0x0F, 0x85). */
  extended: boolean;
  /** Extended partitions: the logical partitions found in their chain of boot records. */
  logicalPartitions?: MbrPartition[];
  /** Extended partitions: false when the chain could not be followed to its end (unreadable, looping, broken). */
  chainComplete?: boolean;
  /** Logical partitions: the sector of the extended boot record that describes them. */
  extendedBootRecordLba?: number;
  /** BSD slices (types 0xA5, 0xA6, 0xA9): the disklabel nested in the slice, when found. */
  bsdDisklabel?: BsdPartitionTable;
}

/** A master boot record (sector 0), with the logical partitions of its extended partitions. */
export interface MbrPartitionTable {
  scheme: 'mbr';
  /** Bytes per sector the LBAs count in: 512, or the GPT's sector size for the MBR of a GPT disk. */
  sectorSize: number;
  /** The 32-bit disk signature at byte 440, as `0x`-prefixed hex (what `sfdisk --json` calls `id`). */
  diskSignature: string;
  /** The boot indicator byte of each of the four entries, used or not (valid values: 0x00 and 0x80). */
  statusBytes: number[];
  /**
   * How the entries relate to GPT: `protective` (one 0xEE entry, UEFI 2.10 section 5.2.3),
   * `hybrid` (an 0xEE entry beside others), or `none`.
   */
  gptProtection: 'protective' | 'hybrid' | 'none';
  /** The used primary entries (type not 0), in slot order; extended ones carry their logical partitions. */
  partitions: MbrPartition[];
}

/** One used GPT partition entry. */
export interface GptPartition {
  /** 1-based index of the entry in the array (what `sgdisk -p` and Linux number it). */
  number: number;
  /** Partition type GUID, lower case. */
  typeGuid: string;
  /** A readable name for well-known type GUIDs. */
  typeName: string | undefined;
  /** Unique partition GUID, lower case. */
  uniqueGuid: string;
  firstLba: number;
  /** Inclusive. */
  lastLba: number;
  /** `firstLba` in bytes. */
  offset: number;
  /** `(lastLba - firstLba + 1)` sectors in bytes. */
  size: number;
  /** The 64-bit attribute mask as 16 hexadecimal digits. */
  attributes: string;
  /** Names of the attribute bits set (`required-partition`, `no-block-io-protocol`, `legacy-bios-bootable`, type-specific bits). */
  attributeNames: string[];
  /** The UTF-16LE name, cut at the first NUL. */
  name: string;
}

/**
 * What was found at the backup GPT header's location.
 *
 * | status | meaning |
 * | --- | --- |
 * | `valid` | signature, header CRC and entry-array CRC check out, and it points back at LBA 1 |
 * | `corrupt` | a header is there but a CRC or a back-pointer is wrong |
 * | `absent` | no `EFI PART` signature at that LBA |
 * | `beyond-end` | the location is past the end of the disk (a truncated image) |
 * | `unreadable` | it could not be read (a stream that did not keep those bytes) |
 * | `not-read` | not looked for (the ISO module does not read to the end of an image) |
 */
export interface GptBackupHeader {
  lba: number;
  status: 'valid' | 'corrupt' | 'absent' | 'beyond-end' | 'unreadable' | 'not-read';
  headerCrcValid: boolean | undefined;
  partitionEntryArrayCrcValid: boolean | undefined;
  /** True when its disk GUID, usable range and entry-array CRC equal the primary's. */
  matchesPrimary: boolean | undefined;
  /** True when it sits on the disk's last sector, where UEFI puts it (false: the disk was grown or cut). */
  atEndOfDisk: boolean | undefined;
}

/** A GUID partition table. */
export interface GptPartitionTable {
  scheme: 'gpt';
  /** Logical block size the LBAs count in: 512, or 4096 when the header was found at byte 4096. */
  sectorSize: number;
  /** Which header the partitions were read through: the primary, or the backup when the primary is damaged. */
  source: 'primary' | 'backup';
  /** The header's revision as `major.minor` (`1.0`). */
  revision: string;
  headerSize: number;
  headerCrc32: number;
  /** The header's CRC-32 over `headerSize` bytes checks out. */
  headerCrcValid: boolean;
  /** The LBA the header says it is at (1 for a primary header). */
  currentLba: number;
  /** The other header's LBA (for the primary: the backup's, the last LBA of the disk). */
  backupLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: string;
  partitionEntryLba: number;
  numberOfPartitionEntries: number;
  sizeOfPartitionEntry: number;
  partitionEntryArrayCrc32: number;
  /** The entry array's CRC-32 checks out; `undefined` when the array could not be read. */
  partitionEntryArrayCrcValid: boolean | undefined;
  /** What is at `backupLba`. */
  backup: GptBackupHeader;
  /** The MBR in sector 0 (protective, hybrid, or `undefined` when there is no 0x55 0xAA). */
  mbr: MbrPartitionTable | undefined;
  /** The used entries, in array order. */
  partitions: GptPartition[];
}

/** One Apple Partition Map entry. */
export interface ApmPartition {
  /** 1-based index in the map (the block it is stored in). */
  number: number;
  name: string;
  /** e.g. `Apple_HFS`, `Apple_partition_map`, `Apple_Free`. */
  type: string;
  /** First block, in `blockSize` units. */
  startBlock: number;
  blockCount: number;
  offset: number;
  size: number;
  /** pmPartStatus. */
  status: number;
}

/** An Apple Partition Map. */
export interface ApmPartitionTable {
  scheme: 'apm';
  /** The driver descriptor map's block size, the unit of every address. */
  blockSize: number;
  /** The device's size in blocks, from the driver descriptor map. */
  blockCount: number;
  /** Bytes between two map entries (usually `blockSize`; 512 in some hybrid CD images). */
  entryStride: number;
  partitions: ApmPartition[];
}

/** One partition of a BSD disklabel. */
export interface BsdPartition {
  /** `a`, `b`, `c`, ... */
  letter: string;
  /** File system type (`p_fstype`). */
  type: number;
  typeName: string | undefined;
  /** `p_offset`, in the label's sectors (absolute on most BSDs). */
  startSector: number;
  sectorCount: number;
  offset: number;
  size: number;
}

/** A BSD disklabel. */
export interface BsdPartitionTable {
  scheme: 'bsd';
  /** Where the label was found, in bytes from the start of the disk. */
  labelOffset: number;
  byteOrder: 'little-endian' | 'big-endian';
  /** `d_secsize`. */
  sectorSize: number;
  /** `d_typename`. */
  typeName: string;
  /** `d_packname`. */
  packName: string;
  checksumValid: boolean;
  partitions: BsdPartition[];
}

/** One partition of a Sun VTOC label. */
export interface SunPartition {
  number: number;
  /** VTOC tag (`undefined` when the label has no valid VTOC). */
  type: number | undefined;
  typeName: string | undefined;
  /** VTOC flags: 0x01 unmountable, 0x10 read-only. */
  flags: number | undefined;
  startCylinder: number;
  startSector: number;
  sectorCount: number;
  offset: number;
  size: number;
}

/** A Sun disk label. */
export interface SunPartitionTable {
  scheme: 'sun';
  sectorSize: 512;
  /** The label's informative text. */
  asciiLabel: string;
  heads: number;
  sectorsPerTrack: number;
  dataCylinders: number;
  /** True when the VTOC part (tags and flags) carries its sanity value. */
  vtocValid: boolean;
  partitions: SunPartition[];
}

/** One partition of an SGI volume header. */
export interface SgiPartition {
  number: number;
  type: number;
  typeName: string | undefined;
  startSector: number;
  sectorCount: number;
  offset: number;
  size: number;
}

/** An SGI volume header. */
export interface SgiPartitionTable {
  scheme: 'sgi';
  sectorSize: number;
  bootFile: string;
  /** Files kept in the volume header (e.g. `sgilabel`, `sash`). */
  volumeDirectory: Array<{ name: string; block: number; bytes: number }>;
  partitions: SgiPartition[];
}

/** One partition of an Atari AHDI root sector. */
export interface AtariPartition {
  number: number;
  /** The three-character id: `GEM`, `BGM`, `XGM` (extended), `LNX`, `SWP`, `RAW`, ... */
  id: string;
  bootable: boolean;
  /** True for `XGM`: its own root sectors describe more partitions (not followed). */
  extended: boolean;
  startSector: number;
  sectorCount: number;
  offset: number;
  size: number;
}

/** An Atari AHDI root sector. */
export interface AtariPartitionTable {
  scheme: 'atari';
  sectorSize: 512;
  /** `hd_siz`: the disk's size in sectors, as the root sector declares it. */
  diskSectors: number;
  partitions: AtariPartition[];
}

/** Any partition table, discriminated by `scheme`. */
export type PartitionTable =
  | MbrPartitionTable
  | GptPartitionTable
  | ApmPartitionTable
  | BsdPartitionTable
  | SunPartitionTable
  | SgiPartitionTable
  | AtariPartitionTable;

/** Everything found at the start of a disk. */
export interface PartitionTableScan {
  /** The partition table, by precedence (see the module documentation). */
  partitionTable: PartitionTable | undefined;
  /** Other partition tables found alongside (not the MBR of a GPT disk, which is inside the GPT). */
  otherPartitionTables: PartitionTable[];
  /** A FAT, NTFS or exFAT boot sector at sector 0: the disk is a file system, not a partitioned disk. */
  bootSector: BootSectorFilesystem | undefined;
}

// ---------------------------------------------------------------------------------------
// The scan

/**
 * Looks for every partition table scheme this module knows at the start of a disk, and
 * reads the ones found.
 *
 * @throws IntrospectionError `CORRUPT` for a GPT header whose CRC checks out but whose
 *   values are impossible; `LIMIT_EXCEEDED` when a count is above its cap.
 */
export async function scanPartitionTables(disk: DiskBytes): Promise<PartitionTableScan> {
  const found: PartitionTable[] = [];
  const sector0 = disk.head.subarray(0, SECTOR);
  if (sector0.byteLength < SECTOR) return { partitionTable: undefined, otherPartitionTables: [], bootSector: undefined };

  const bootSector = recogniseBootSector(sector0);
  const hasMbrSignature = matchMbrSector(sector0) !== undefined;
  const mbrLike = hasMbrSignature && bootSector === undefined;

  const gpt = await readGpt(disk, mbrLike);
  if (gpt !== undefined) found.push(gpt);
  const sgi = readSgi(sector0);
  if (sgi !== undefined) found.push(sgi);
  const sun = readSun(sector0);
  if (sun !== undefined) found.push(sun);
  if (gpt === undefined && mbrLike && sgi === undefined && sun === undefined) {
    found.push(await readMbr(disk, sector0, SECTOR, true));
  }
  const apm = await readApm(disk);
  if (apm !== undefined) found.push(apm);
  if (found.length === 0 && !hasMbrSignature) {
    const bsd = await readDedicatedBsd(disk);
    if (bsd !== undefined) found.push(bsd);
  }
  if (found.length === 0 && !hasMbrSignature && bootSector === undefined) {
    const atari = readAtari(sector0);
    if (atari !== undefined) found.push(atari);
  }
  const partitionTable = found[0];
  const mbr = partitionTable?.scheme === 'mbr' ? partitionTable : partitionTable?.scheme === 'gpt' ? partitionTable.mbr : undefined;
  if (mbr !== undefined) warnAboutStatusBytes(mbr, disk);
  return { partitionTable, otherPartitionTables: found.slice(1), bootSector };
}

/** UEFI 2.10 table 5-2: a boot indicator is 0x00 or 0x80; anything else marks a damaged or foreign sector. */
function warnAboutStatusBytes(mbr: MbrPartitionTable, disk: DiskBytes): void {
  for (const [index, status] of mbr.statusBytes.entries()) {
    if (status !== 0x00 && status !== 0x80) {
      disk.warn(`MBR entry ${index + 1} has boot indicator 0x${status.toString(16)}, which is neither 0x00 nor 0x80`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// MBR (UEFI 2.10 section 5.2.1)

function chs({ head, sectorAndCylinderHigh: sectorByte, cylinderLow }: MbrChsAddress): ChsAddress {
  return {
    bytes: [head, sectorByte, cylinderLow],
    cylinder: ((sectorByte & 0xc0) << 2) | cylinderLow,
    head,
    sector: sectorByte & 0x3f,
  };
}

function mbrPartition(entry: MbrPartitionEntry, number: number, slot: number, startLba: number, sectorSize: number): MbrPartition {
  return {
    number,
    slot,
    status: entry.status,
    bootable: entry.status === 0x80,
    type: entry.type,
    typeName: mbrTypeName(entry.type),
    startChs: chs(entry.startChs),
    endChs: chs(entry.endChs),
    startLba,
    sectorCount: entry.sectorCount,
    offset: startLba * sectorSize,
    size: entry.sectorCount * sectorSize,
    extended: MBR_EXTENDED_TYPES.has(entry.type),
  };
}

/**
 * Reads the MBR in `sector` (sector 0). With `followChains`, extended partitions' chains
 * and BSD slices' nested disklabels are read too.
 */
async function readMbr(disk: DiskBytes, sector: Uint8Array, sectorSize: number, followChains: boolean): Promise<MbrPartitionTable> {
  const mbr = decodeMbrSector(sector);
  const entries = mbr.partitions;
  const statusBytes = entries.map((entry) => entry.status);
  const partitions: MbrPartition[] = [];
  let nextLogicalNumber = 5;
  for (const [index, entry] of entries.entries()) {
    if (entry.type === 0) continue;
    const partition = mbrPartition(entry, index + 1, index + 1, entry.startLba, sectorSize);
    if (followChains && partition.extended) {
      const chain = await readExtendedChain(disk, partition, sectorSize, nextLogicalNumber);
      partition.logicalPartitions = chain.partitions;
      partition.chainComplete = chain.complete;
      nextLogicalNumber += chain.partitions.length;
    }
    if (followChains && MBR_BSD_TYPES.has(entry.type)) {
      const label = await readNestedBsd(disk, partition, sectorSize);
      if (label !== undefined) partition.bsdDisklabel = label;
    }
    partitions.push(partition);
  }
  const protectiveCount = entries.filter((entry) => entry.type === MBR_TYPE_GPT_PROTECTIVE).length;
  const gptProtection = protectiveCount === 0 ? 'none' : partitions.length === 1 ? 'protective' : 'hybrid';
  return {
    scheme: 'mbr',
    sectorSize,
    diskSignature: hex(mbr.diskSignature, 8),
    statusBytes,
    gptProtection,
    partitions,
  };
}

/**
 * Follows the chain of extended boot records of an extended partition (the layout Linux
 * and fdisk use): in each EBR the first entry is a logical partition, relative to that
 * EBR; the second links to the next EBR, relative to the start of the extended partition.
 */
async function readExtendedChain(
  disk: DiskBytes,
  extended: MbrPartition,
  sectorSize: number,
  firstNumber: number,
): Promise<{ partitions: MbrPartition[]; complete: boolean }> {
  const partitions: MbrPartition[] = [];
  const visited = new Set<number>();
  let ebrLba = extended.startLba;
  for (let step = 0; ; step += 1) {
    if (step >= MAX_LOGICAL_PARTITIONS) {
      throw fieldError('LIMIT_EXCEEDED', 'mbr.extendedBootRecord', `more than ${MAX_LOGICAL_PARTITIONS} extended boot records in one chain`);
    }
    if (visited.has(ebrLba)) {
      disk.warn(`the chain of extended boot records loops back to sector ${ebrLba}`);
      return { partitions, complete: false };
    }
    visited.add(ebrLba);
    const offset = ebrLba * sectorSize;
    const sector = await bytesAt(disk, offset, SECTOR, 'mbr.extendedBootRecord');
    if (sector === undefined) {
      unreadable(disk, 'an extended boot record', offset);
      return { partitions, complete: false };
    }
    if (sector.byteLength < SECTOR) {
      disk.warn(`the extended boot record at sector ${ebrLba} lies beyond the end of the disk`);
      return { partitions, complete: false };
    }
    const ebr = matchMbrSector(sector);
    if (ebr === undefined) {
      disk.warn(`the extended boot record at sector ${ebrLba} has no 0x55 0xAA signature`);
      return { partitions, complete: false };
    }
    const [logical, link] = ebr.partitions as [MbrPartitionEntry, MbrPartitionEntry];
    if (logical.type !== 0 && logical.sectorCount !== 0 && !MBR_EXTENDED_TYPES.has(logical.type)) {
      const partition = mbrPartition(logical, firstNumber + partitions.length, 1, ebrLba + logical.startLba, sectorSize);
      partition.extendedBootRecordLba = ebrLba;
      partitions.push(partition);
    }
    if (!MBR_EXTENDED_TYPES.has(link.type) || link.sectorCount === 0) return { partitions, complete: true };
    ebrLba = extended.startLba + link.startLba;
  }
}

// ---------------------------------------------------------------------------------------
// GPT (UEFI 2.10 sections 5.3.1 to 5.3.3)

/** Attribute bits every GPT entry may have (UEFI 2.10 table 5-8). */
const GPT_COMMON_ATTRIBUTES: ReadonlyMap<number, string> = new Map([
  [0, 'required-partition'],
  [1, 'no-block-io-protocol'],
  [2, 'legacy-bios-bootable'],
]);

/** Microsoft basic data partitions give bits 60-63 these meanings. */
const MICROSOFT_BASIC_DATA_ATTRIBUTES: ReadonlyMap<number, string> = new Map([
  [60, 'read-only'],
  [61, 'shadow-copy'],
  [62, 'hidden'],
  [63, 'no-drive-letter'],
]);

function gptAttributeNames(mask: bigint, typeGuid: string): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 64; bit += 1) {
    if (((mask >> BigInt(bit)) & 1n) === 0n) continue;
    const common = GPT_COMMON_ATTRIBUTES.get(bit);
    const specific = typeGuid === GPT_TYPE_MICROSOFT_BASIC_DATA ? MICROSOFT_BASIC_DATA_ATTRIBUTES.get(bit) : undefined;
    names.push(common ?? specific ?? (bit >= 48 ? `type-specific-${bit}` : `reserved-${bit}`));
  }
  return names;
}

/** The header's CRC-32 over its first `headerSize` bytes with the CRC field zeroed (UEFI 2.10 5.3.2). */
function gptHeaderCrc(sector: Uint8Array, headerSize: number): number {
  const copy = sector.slice(0, headerSize);
  const crcAt = GPT_HEADER_FIELD_OFFSETS.headerCrc32;
  copy.fill(0, crcAt, crcAt + 4);
  return crc32(copy);
}

/** A header read from one LBA, with what was checked. */
interface CheckedGptHeader {
  header: GptHeader;
  headerCrcValid: boolean;
}

/** Reads a header at `lba`; `undefined` when there is no `EFI PART` there, `'unreadable'` when it cannot be read. */
async function readGptHeaderAt(disk: DiskBytes, lba: number, sectorSize: number, which: string): Promise<CheckedGptHeader | 'unreadable' | 'absent'> {
  const sector = await bytesAt(disk, lba * sectorSize, sectorSize, `gpt ${which} header`);
  if (sector === undefined) return 'unreadable';
  const header = matchGptHeader(sector);
  if (header === undefined) return 'absent';
  const headerCrcValid =
    header.headerSize >= GPT_HEADER_SIZE && header.headerSize <= sector.byteLength && gptHeaderCrc(sector, header.headerSize) === header.headerCrc32;
  return { header, headerCrcValid };
}

/** Checks a header's geometry fields; throws only for a header whose CRC vouches for impossible values. */
function checkGptHeaderFields(checked: CheckedGptHeader, sectorSize: number, which: string, disk: DiskBytes): boolean {
  const { header } = checked;
  const field = (name: string) => `gpt ${which} header.${name}`;
  const problems: Array<[code: 'CORRUPT' | 'LIMIT_EXCEEDED', name: string, message: string]> = [];
  if (header.headerSize < GPT_HEADER_SIZE || header.headerSize > sectorSize) {
    problems.push(['CORRUPT', 'headerSize', `${header.headerSize} bytes is not a valid header size (92 to ${sectorSize})`]);
  }
  const entrySize = header.sizeOfPartitionEntry;
  if (entrySize < GPT_PARTITION_ENTRY_SIZE || entrySize % GPT_PARTITION_ENTRY_SIZE !== 0 || (entrySize & (entrySize - 1)) !== 0) {
    problems.push(['CORRUPT', 'sizeOfPartitionEntry', `${entrySize} bytes is not 128 x 2^n`]);
  } else if (entrySize > MAX_GPT_PARTITION_ENTRY_SIZE) {
    problems.push(['LIMIT_EXCEEDED', 'sizeOfPartitionEntry', `${entrySize} bytes per entry is above the cap of ${MAX_GPT_PARTITION_ENTRY_SIZE}`]);
  }
  if (header.numberOfPartitionEntries > MAX_GPT_PARTITION_ENTRIES) {
    problems.push(['LIMIT_EXCEEDED', 'numberOfPartitionEntries', `${header.numberOfPartitionEntries} entries is above the cap of ${MAX_GPT_PARTITION_ENTRIES}`]);
  } else if (header.numberOfPartitionEntries * entrySize > MAX_GPT_PARTITION_ENTRY_ARRAY_BYTES) {
    problems.push(['LIMIT_EXCEEDED', 'numberOfPartitionEntries', `an entry array of ${header.numberOfPartitionEntries * entrySize} bytes is above the cap of ${MAX_GPT_PARTITION_ENTRY_ARRAY_BYTES}`]);
  }
  for (const name of ['myLba', 'alternateLba', 'firstUsableLba', 'lastUsableLba', 'partitionEntryLba'] as const) {
    if (header[name] * BigInt(sectorSize) > BigInt(Number.MAX_SAFE_INTEGER)) {
      problems.push(['CORRUPT', name, `LBA ${header[name]} is beyond any disk`]);
    }
  }
  const [first] = problems;
  if (first === undefined) return true;
  if (checked.headerCrcValid) throw fieldError(first[0], field(first[1]), first[2]);
  disk.warn(`the ${which} GPT header has a bad CRC and impossible values (${first[1]}: ${first[2]})`);
  return false;
}

/** Reads a header's entry array; `undefined` when it cannot be read. */
async function readGptEntryArray(disk: DiskBytes, header: GptHeader, sectorSize: number, which: string): Promise<Uint8Array | undefined> {
  const length = header.numberOfPartitionEntries * header.sizeOfPartitionEntry;
  const offset = Number(header.partitionEntryLba) * sectorSize;
  const bytes = await bytesAt(disk, offset, length, `gpt ${which} partition entry array`);
  if (bytes === undefined) {
    unreadable(disk, `the ${which} GPT partition entry array`, offset);
    return undefined;
  }
  if (bytes.byteLength < length) {
    disk.warn(`the ${which} GPT partition entry array at byte ${offset} runs past the end of the disk`);
    return undefined;
  }
  return bytes;
}

function gptPartitions(array: Uint8Array, header: GptHeader, sectorSize: number): GptPartition[] {
  const partitions: GptPartition[] = [];
  for (let index = 0; index < header.numberOfPartitionEntries; index += 1) {
    const start = index * header.sizeOfPartitionEntry;
    const entry = decodeGptPartitionEntry(array.subarray(start, start + GPT_PARTITION_ENTRY_SIZE));
    if (isAllZero(entry.partitionTypeGuid)) continue;
    const field = `gpt partition entry ${index + 1}`;
    const firstLba = safeNumber(entry.startingLba, `${field}.startingLba`);
    const lastLba = safeNumber(entry.endingLba, `${field}.endingLba`);
    const typeGuid = mixedEndianGuid(entry.partitionTypeGuid);
    const sectors = entry.endingLba >= entry.startingLba ? entry.endingLba - entry.startingLba + 1n : 0n;
    partitions.push({
      number: index + 1,
      typeGuid,
      typeName: gptTypeName(typeGuid),
      uniqueGuid: mixedEndianGuid(entry.uniquePartitionGuid),
      firstLba,
      lastLba,
      offset: safeNumber(entry.startingLba * BigInt(sectorSize), `${field}.startingLba`),
      size: safeNumber(sectors * BigInt(sectorSize), `${field}.endingLba`),
      attributes: hex(entry.attributes, 16),
      attributeNames: gptAttributeNames(entry.attributes, typeGuid),
      name: cutAtNul(utf16leText(entry.partitionName)),
    });
  }
  return partitions;
}

/** Finds the primary header at LBA 1 for each sector size; the first found wins. */
async function findPrimaryGpt(disk: DiskBytes): Promise<{ checked: CheckedGptHeader; sectorSize: number } | undefined> {
  for (const sectorSize of GPT_SECTOR_SIZES) {
    const found = await readGptHeaderAt(disk, 1, sectorSize, 'primary');
    if (typeof found === 'object') return { checked: found, sectorSize };
  }
  return undefined;
}

/** When the primary header is missing, the backup may still be at the last LBA (UEFI 2.10 5.3.2). */
async function findBackupOnly(disk: DiskBytes): Promise<{ checked: CheckedGptHeader; sectorSize: number; lba: number } | undefined> {
  if (!disk.readBackupGpt || disk.size === undefined) return undefined;
  for (const sectorSize of GPT_SECTOR_SIZES) {
    const lastLba = Math.floor(disk.size / sectorSize) - 1;
    if (lastLba < 2) continue;
    const found = await readGptHeaderAt(disk, lastLba, sectorSize, 'backup');
    // A backup header says where it is (MyLBA); one that is elsewhere was copied out of another disk.
    if (typeof found === 'object' && found.headerCrcValid && found.header.myLba === BigInt(lastLba)) {
      return { checked: found, sectorSize, lba: lastLba };
    }
  }
  return undefined;
}

async function readGpt(disk: DiskBytes, mbrLike: boolean): Promise<GptPartitionTable | undefined> {
  const primary = await findPrimaryGpt(disk);
  const sectorSize = primary?.sectorSize ?? SECTOR;
  const mbr = mbrLike ? await readMbr(disk, disk.head.subarray(0, SECTOR), sectorSize, false) : undefined;
  if (primary === undefined) {
    // An MBR without a protective entry is a plain MBR disk: no reason to look for a lone backup header.
    if (mbr !== undefined && mbr.gptProtection === 'none') return undefined;
    const backupOnly = await findBackupOnly(disk);
    if (backupOnly === undefined) {
      if (mbr?.gptProtection === 'protective') disk.warn('the MBR has a GPT protective partition but there is no GPT header, neither at LBA 1 nor at the end');
      return undefined;
    }
    disk.warn(`no primary GPT header at LBA 1; the partitions come from the backup header at LBA ${backupOnly.lba}`);
    const verdict = await judgeBackup(disk, backupOnly.checked, unjudgedBackup(disk, backupOnly.lba, backupOnly.sectorSize), undefined, backupOnly.sectorSize);
    return assembleGpt(disk, backupOnly.checked, backupOnly.sectorSize, 'backup', mbr, verdict);
  }
  if (mbr === undefined) disk.warn('a GPT header is present but sector 0 holds no MBR (UEFI requires a protective MBR)');
  else if (mbr.gptProtection === 'none') disk.warn('a GPT header is present but the MBR has no 0xEE protective partition');
  const { checked } = primary;
  if (!checked.headerCrcValid) disk.warn('the primary GPT header CRC does not match');
  const usable = checkGptHeaderFields(checked, sectorSize, 'primary', disk);
  // A damaged primary cannot be trusted to say where the backup is: UEFI puts it on the last LBA.
  const trusted = usable && checked.headerCrcValid;
  const backupLba = trusted ? clampToSafe(checked.header.alternateLba) : lastLba(disk, sectorSize) ?? clampToSafe(checked.header.alternateLba);
  const backup = await readBackupGpt(disk, backupLba, trusted ? checked.header : undefined, sectorSize);
  if (!checked.headerCrcValid && backup.verdict.status === 'valid' && backup.checked !== undefined) {
    disk.warn(`the partitions come from the backup GPT header at LBA ${backup.verdict.lba}`);
    return assembleGpt(disk, backup.checked, sectorSize, 'backup', mbr, backup.verdict);
  }
  if (!usable) {
    return { ...headerFields(checked, sectorSize), source: 'primary', partitionEntryArrayCrcValid: undefined, backup: backup.verdict, mbr, partitions: [] };
  }
  return assembleGpt(disk, checked, sectorSize, 'primary', mbr, backup.verdict);
}

function clampToSafe(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

/** The disk's last LBA for `sectorSize`, when its size is known. */
function lastLba(disk: DiskBytes, sectorSize: number): number | undefined {
  return disk.size === undefined ? undefined : Math.floor(disk.size / sectorSize) - 1;
}

function headerFields(checked: CheckedGptHeader, sectorSize: number) {
  const { header } = checked;
  return {
    scheme: 'gpt' as const,
    sectorSize,
    revision: `${header.revision >>> 16}.${header.revision & 0xffff}`,
    headerSize: header.headerSize,
    headerCrc32: header.headerCrc32,
    headerCrcValid: checked.headerCrcValid,
    currentLba: clampToSafe(header.myLba),
    backupLba: clampToSafe(header.alternateLba),
    firstUsableLba: clampToSafe(header.firstUsableLba),
    lastUsableLba: clampToSafe(header.lastUsableLba),
    diskGuid: mixedEndianGuid(header.diskGuid),
    partitionEntryLba: clampToSafe(header.partitionEntryLba),
    numberOfPartitionEntries: header.numberOfPartitionEntries,
    sizeOfPartitionEntry: header.sizeOfPartitionEntry,
    partitionEntryArrayCrc32: header.partitionEntryArrayCrc32,
  };
}

async function assembleGpt(
  disk: DiskBytes,
  checked: CheckedGptHeader,
  sectorSize: number,
  source: 'primary' | 'backup',
  mbr: MbrPartitionTable | undefined,
  backup: GptBackupHeader,
): Promise<GptPartitionTable> {
  const { header } = checked;
  const array = await readGptEntryArray(disk, header, sectorSize, source);
  const partitionEntryArrayCrcValid = array === undefined ? undefined : crc32(array) === header.partitionEntryArrayCrc32;
  if (partitionEntryArrayCrcValid === false && source === 'primary') disk.warn('the primary GPT partition entry array CRC does not match');
  return {
    ...headerFields(checked, sectorSize),
    source,
    partitionEntryArrayCrcValid,
    backup,
    mbr,
    partitions: array === undefined ? [] : gptPartitions(array, header, sectorSize),
  };
}

function unjudgedBackup(disk: DiskBytes, lba: number, sectorSize: number): GptBackupHeader {
  const last = lastLba(disk, sectorSize);
  return {
    lba,
    status: 'not-read',
    headerCrcValid: undefined,
    partitionEntryArrayCrcValid: undefined,
    matchesPrimary: undefined,
    atEndOfDisk: last === undefined ? undefined : lba === last,
  };
}

/** Checks the backup header at `lba` (UEFI 2.10 5.3.2: valid CRCs, MyLBA and AlternateLBA swapped). */
async function readBackupGpt(
  disk: DiskBytes,
  lba: number,
  primary: GptHeader | undefined,
  sectorSize: number,
): Promise<{ verdict: GptBackupHeader; checked: CheckedGptHeader | undefined }> {
  const verdict = unjudgedBackup(disk, lba, sectorSize);
  if (!disk.readBackupGpt) return { verdict, checked: undefined };
  if (verdict.atEndOfDisk === false) {
    disk.warn(`the backup GPT header is at LBA ${lba}, not at the disk's last sector ${lastLba(disk, sectorSize)}`);
  }
  if (disk.size !== undefined && (lba + 1) * sectorSize > disk.size) {
    disk.warn(`the backup GPT header's LBA ${lba} is beyond the end of the disk`);
    return { verdict: { ...verdict, status: 'beyond-end' }, checked: undefined };
  }
  const found = await readGptHeaderAt(disk, lba, sectorSize, 'backup');
  if (found === 'unreadable') {
    unreadable(disk, 'the backup GPT header', lba * sectorSize);
    return { verdict: { ...verdict, status: 'unreadable' }, checked: undefined };
  }
  if (found === 'absent') {
    disk.warn(`there is no backup GPT header at LBA ${lba}`);
    return { verdict: { ...verdict, status: 'absent' }, checked: undefined };
  }
  return { verdict: await judgeBackup(disk, found, verdict, primary, sectorSize), checked: found };
}

async function judgeBackup(disk: DiskBytes, found: CheckedGptHeader, verdict: GptBackupHeader, primary: GptHeader | undefined, sectorSize: number): Promise<GptBackupHeader> {
  const { header } = found;
  const pointsBack = header.myLba === BigInt(verdict.lba) && header.alternateLba === 1n;
  let partitionEntryArrayCrcValid: boolean | undefined;
  if (found.headerCrcValid && checkGptHeaderFields(found, sectorSize, 'backup', disk)) {
    const array = await readGptEntryArray(disk, header, sectorSize, 'backup');
    partitionEntryArrayCrcValid = array === undefined ? undefined : crc32(array) === header.partitionEntryArrayCrc32;
  }
  const matchesPrimary =
    primary === undefined
      ? undefined
      : bytesEqual(header.diskGuid, 0, primary.diskGuid) &&
        header.firstUsableLba === primary.firstUsableLba &&
        header.lastUsableLba === primary.lastUsableLba &&
        header.partitionEntryArrayCrc32 === primary.partitionEntryArrayCrc32;
  const valid = found.headerCrcValid && pointsBack && partitionEntryArrayCrcValid !== false;
  if (!found.headerCrcValid) disk.warn('the backup GPT header CRC does not match');
  else if (!pointsBack) disk.warn(`the backup GPT header at LBA ${verdict.lba} does not point back at LBA 1`);
  if (partitionEntryArrayCrcValid === false) disk.warn('the backup GPT partition entry array CRC does not match');
  if (matchesPrimary === false) disk.warn('the backup GPT header does not match the primary');
  return {
    ...verdict,
    status: valid ? 'valid' : 'corrupt',
    headerCrcValid: found.headerCrcValid,
    partitionEntryArrayCrcValid,
    matchesPrimary,
  };
}

// ---------------------------------------------------------------------------------------
// Apple Partition Map (Inside Macintosh: Devices, chapter 3)

async function readApm(disk: DiskBytes): Promise<ApmPartitionTable | undefined> {
  const head = disk.head;
  const map = matchApmDriverDescriptorMap(head);
  if (map === undefined) return undefined;
  const blockSize = map.blockSize >= 512 && (map.blockSize & (map.blockSize - 1)) === 0 ? map.blockSize : SECTOR;
  // Entries sit one per block; some hybrid CD images put them every 512 bytes with 2048-byte blocks.
  for (const entryStride of blockSize === SECTOR ? [SECTOR] : [blockSize, SECTOR]) {
    const first = await bytesAt(disk, entryStride, APM_PARTITION_ENTRY_SIZE, 'apm partition entry 1');
    const firstEntry = first === undefined ? undefined : matchApmPartitionEntry(first);
    if (firstEntry === undefined) continue;
    const count = firstEntry.mapBlockCount;
    if (count > MAX_APM_ENTRIES) {
      throw fieldError('LIMIT_EXCEEDED', 'apm partition entry 1.mapBlockCount', `${count} partition map entries is above the cap of ${MAX_APM_ENTRIES}`);
    }
    return { scheme: 'apm', blockSize, blockCount: map.blockCount, entryStride, partitions: await readApmEntries(disk, count, entryStride, blockSize) };
  }
  return undefined;
}

async function readApmEntries(disk: DiskBytes, count: number, entryStride: number, blockSize: number): Promise<ApmPartition[]> {
  const partitions: ApmPartition[] = [];
  for (let number = 1; number <= count; number += 1) {
    const offset = number * entryStride;
    const bytes = await bytesAt(disk, offset, APM_PARTITION_ENTRY_SIZE, `apm partition entry ${number}`);
    if (bytes === undefined) {
      unreadable(disk, `Apple partition map entry ${number}`, offset);
      break;
    }
    const entry = matchApmPartitionEntry(bytes);
    if (entry === undefined) {
      disk.warn(`Apple partition map entry ${number} of ${count} is missing`);
      break;
    }
    partitions.push({
      number,
      name: fixedText(entry.name),
      type: fixedText(entry.type),
      startBlock: entry.physicalStart,
      blockCount: entry.blockCount,
      offset: entry.physicalStart * blockSize,
      size: entry.blockCount * blockSize,
      status: entry.status,
    });
  }
  return partitions;
}

// ---------------------------------------------------------------------------------------
// BSD disklabel (4.4BSD sys/disklabel.h)

/**
 * Decodes a BSD disklabel (layout `BsdDisklabel`, then `partitionCount` `BsdPartitionEntry`s)
 * at `offset` in `bytes`, in whichever byte order its two magics read 0x82564557.
 */
export function decodeBsdDisklabel(bytes: Uint8Array, offset: number, labelOffset: number): BsdPartitionTable | undefined {
  if (offset + BSD_DISKLABEL_SIZE > bytes.byteLength) return undefined;
  const window = bytes.subarray(offset);
  const littleEndianLabel = matchBsdDisklabelLe(window);
  const label = littleEndianLabel ?? matchBsdDisklabelBe(window);
  if (label === undefined) return undefined;
  const littleEndian = littleEndianLabel !== undefined;
  const count = label.partitionCount;
  if (count > MAX_BSD_PARTITIONS) {
    throw fieldError('LIMIT_EXCEEDED', 'bsd disklabel.d_npartitions', `${count} partitions is above the cap of ${MAX_BSD_PARTITIONS}`);
  }
  const labelLength = BSD_DISKLABEL_SIZE + count * BSD_PARTITION_ENTRY_SIZE;
  if (offset + labelLength > bytes.byteLength) return undefined;
  // The checksum makes the XOR of the label's 16-bit words, partitions included, zero.
  const read16 = littleEndian ? u16le : u16be;
  let checksum = 0;
  for (let position = 0; position < labelLength; position += 2) checksum ^= read16(window, position);
  const sectorSize = label.sectorSize >= 512 && label.sectorSize <= 65536 ? label.sectorSize : SECTOR;
  const decodeEntry = littleEndian ? decodeBsdPartitionEntryLe : decodeBsdPartitionEntryBe;
  const partitions: BsdPartition[] = [];
  for (let index = 0; index < count; index += 1) {
    const entry = decodeEntry(window.subarray(BSD_DISKLABEL_SIZE + index * BSD_PARTITION_ENTRY_SIZE));
    if (entry.size === 0) continue;
    partitions.push({
      letter: String.fromCharCode(0x61 + index),
      type: entry.fileSystemType,
      typeName: bsdTypeName(entry.fileSystemType),
      startSector: entry.offset,
      sectorCount: entry.size,
      offset: entry.offset * sectorSize,
      size: entry.size * sectorSize,
    });
  }
  return {
    scheme: 'bsd',
    labelOffset,
    byteOrder: littleEndian ? 'little-endian' : 'big-endian',
    sectorSize,
    typeName: fixedText(label.typeName),
    packName: fixedText(label.packName),
    checksumValid: checksum === 0,
    partitions,
  };
}

/** A disk given over entirely to BSD: the label in sector 1 (i386) or at byte 64 of sector 0 (other ports). */
async function readDedicatedBsd(disk: DiskBytes): Promise<BsdPartitionTable | undefined> {
  const start = await bytesAt(disk, 0, 2 * SECTOR, 'bsd disklabel');
  if (start === undefined) return undefined;
  return decodeBsdDisklabel(start, SECTOR, SECTOR) ?? decodeBsdDisklabel(start, 64, 64);
}

async function readNestedBsd(disk: DiskBytes, slice: MbrPartition, sectorSize: number): Promise<BsdPartitionTable | undefined> {
  const offset = (slice.startLba + 1) * sectorSize;
  const bytes = await bytesAt(disk, offset, SECTOR, 'bsd disklabel');
  if (bytes === undefined) {
    unreadable(disk, `the BSD disklabel of MBR partition ${slice.number}`, offset);
    return undefined;
  }
  return decodeBsdDisklabel(bytes, 0, offset);
}

// ---------------------------------------------------------------------------------------
// Sun VTOC label

function readSun(sector: Uint8Array): SunPartitionTable | undefined {
  const label = matchSunDiskLabel(sector);
  if (label === undefined) return undefined;
  // The checksum makes the XOR of the label's 256 16-bit words zero.
  let checksum = 0;
  for (let position = 0; position < SUN_DISK_LABEL_SIZE; position += 2) checksum ^= u16be(sector, position);
  if (checksum !== 0) return undefined;
  const vtocValid = label.vtocSanity === SUN_VTOC_SANITY;
  const sectorsPerCylinder = label.heads * label.sectorsPerTrack;
  const partitions: SunPartition[] = [];
  for (const [index, { startCylinder, sectorCount }] of label.partitions.entries()) {
    if (sectorCount === 0) continue;
    const info = vtocValid ? label.partitionInfo[index] : undefined;
    const startSector = startCylinder * sectorsPerCylinder;
    partitions.push({
      number: index + 1,
      type: info?.tag,
      typeName: info === undefined ? undefined : sunTypeName(info.tag),
      flags: info?.flags,
      startCylinder,
      startSector,
      sectorCount,
      offset: startSector * SECTOR,
      size: sectorCount * SECTOR,
    });
  }
  return {
    scheme: 'sun',
    sectorSize: SECTOR,
    asciiLabel: fixedText(label.asciiLabel),
    heads: label.heads,
    sectorsPerTrack: label.sectorsPerTrack,
    dataCylinders: label.dataCylinders,
    vtocValid,
    partitions,
  };
}

// ---------------------------------------------------------------------------------------
// SGI volume header

function readSgi(sector: Uint8Array): SgiPartitionTable | undefined {
  const header = matchSgiVolumeHeader(sector);
  if (header === undefined) return undefined;
  // The checksum makes the sum of the header's 128 32-bit words zero.
  let sum = 0;
  for (let position = 0; position < SGI_VOLUME_HEADER_SIZE; position += 4) sum = (sum + u32be(sector, position)) >>> 0;
  if (sum !== 0) return undefined;
  const declaredSectorSize = header.deviceParameters.bytesPerSector;
  const sectorSize = declaredSectorSize >= 512 && (declaredSectorSize & (declaredSectorSize - 1)) === 0 ? declaredSectorSize : SECTOR;
  const volumeDirectory: SgiPartitionTable['volumeDirectory'] = [];
  for (const entry of header.volumeDirectory) {
    const name = fixedText(entry.name, latin1Text);
    if (name === '') continue;
    volumeDirectory.push({ name, block: entry.block, bytes: entry.bytes });
  }
  const partitions: SgiPartition[] = [];
  for (const [index, { blockCount: sectorCount, firstBlock: startSector, type }] of header.partitions.entries()) {
    if (sectorCount === 0) continue;
    partitions.push({
      number: index + 1,
      type,
      typeName: sgiTypeName(type),
      startSector,
      sectorCount,
      offset: startSector * sectorSize,
      size: sectorCount * sectorSize,
    });
  }
  return { scheme: 'sgi', sectorSize, bootFile: fixedText(header.bootFile), volumeDirectory, partitions };
}

// ---------------------------------------------------------------------------------------
// Atari AHDI

function isAlphanumeric(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

/**
 * Atari AHDI has no magic number; like Linux (block/partitions/atari.c) we accept a root
 * sector when every entry marked present has an alphanumeric id and lies within the disk
 * size the sector declares, and at least one entry is present.
 */
function readAtari(sector: Uint8Array): AtariPartitionTable | undefined {
  if (sector.byteLength < ATARI_ROOT_SECTOR_SIZE) return undefined;
  const root = decodeAtariRootSector(sector);
  if (root.diskSize === 0) return undefined;
  const partitions: AtariPartition[] = [];
  for (const [index, { flags, id: idBytes, start: startSector, size: sectorCount }] of root.partitions.entries()) {
    if ((flags & 1) === 0) continue;
    if (!idBytes.every(isAlphanumeric) || sectorCount === 0 || startSector + sectorCount > root.diskSize) return undefined;
    const id = latin1Text(idBytes);
    partitions.push({
      number: index + 1,
      id,
      bootable: (flags & 0x80) !== 0,
      extended: id === 'XGM',
      startSector,
      sectorCount,
      offset: startSector * SECTOR,
      size: sectorCount * SECTOR,
    });
  }
  if (partitions.length === 0) return undefined;
  return { scheme: 'atari', sectorSize: SECTOR, diskSectors: root.diskSize, partitions };
}
