/**
 * Master boot records (UEFI 2.10 section 5.2.1): sector 0, and the chains of extended boot
 * records behind extended partitions (the layout Linux and fdisk use), with the BSD
 * disklabels nested in BSD slices. Recognised by 0x55 0xAA at 510, when sector 0 is not a
 * FAT, NTFS or exFAT boot sector. A GPT disk's protective (or hybrid) MBR is read by
 * `gpt.ts` through {@link readMbrSector}.
 *
 * @module
 */
import { hex } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import { type MbrChsAddress, type MbrPartitionEntry, decodeMbrSector, matchMbrSector } from '../generated/partition-table.js';
import { type BsdPartitionTable, readNestedBsd } from './bsd.js';
import { type PartitionDisk, type PartitionScheme, SECTOR, startOf } from './scheme.js';

/** Most logical partitions followed through an MBR extended partition's chain of boot records. */
export const MAX_LOGICAL_PARTITIONS = 256;

// Type bytes, as catalogued by Andries Brouwer's partition type list and used by fdisk.

/** Names of MBR partition type bytes. */
const MBR_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, 'Empty'],
  [0x01, 'FAT12'],
  [0x04, 'FAT16 <32M'],
  [0x05, 'Extended'],
  [0x06, 'FAT16'],
  [0x07, 'HPFS/NTFS/exFAT'],
  [0x0b, 'W95 FAT32'],
  [0x0c, 'W95 FAT32 (LBA)'],
  [0x0e, 'W95 FAT16 (LBA)'],
  [0x0f, "W95 Ext'd (LBA)"],
  [0x11, 'Hidden FAT12'],
  [0x12, 'Compaq diagnostics'],
  [0x14, 'Hidden FAT16 <32M'],
  [0x16, 'Hidden FAT16'],
  [0x17, 'Hidden HPFS/NTFS'],
  [0x1b, 'Hidden W95 FAT32'],
  [0x1c, 'Hidden W95 FAT32 (LBA)'],
  [0x1e, 'Hidden W95 FAT16 (LBA)'],
  [0x27, 'Hidden NTFS WinRE'],
  [0x39, 'Plan 9'],
  [0x41, 'PPC PReP Boot'],
  [0x42, 'SFS'],
  [0x63, 'GNU HURD or SysV'],
  [0x81, 'Minix / old Linux'],
  [0x82, 'Linux swap / Solaris'],
  [0x83, 'Linux'],
  [0x84, 'OS/2 hidden or Intel hibernation'],
  [0x85, 'Linux extended'],
  [0x86, 'NTFS volume set'],
  [0x87, 'NTFS volume set'],
  [0x8e, 'Linux LVM'],
  [0xa0, 'IBM Thinkpad hibernation'],
  [0xa5, 'FreeBSD'],
  [0xa6, 'OpenBSD'],
  [0xa8, 'Darwin UFS'],
  [0xa9, 'NetBSD'],
  [0xab, 'Darwin boot'],
  [0xaf, 'HFS / HFS+'],
  [0xb7, 'BSDI fs'],
  [0xbe, 'Solaris boot'],
  [0xbf, 'Solaris'],
  [0xda, 'Non-FS data'],
  [0xde, 'Dell Utility'],
  [0xea, 'Linux extended boot'],
  [0xeb, 'BeOS fs'],
  [0xee, 'GPT'],
  [0xef, 'EFI (FAT-12/16/32)'],
  [0xfb, 'VMware VMFS'],
  [0xfc, 'VMware VMKCORE'],
  [0xfd, 'Linux raid autodetect'],
]);

/** MBR type bytes of extended partitions, whose space holds a chain of extended boot records. */
export const MBR_EXTENDED_TYPES: ReadonlySet<number> = new Set([0x05, 0x0f, 0x85]);

/** MBR type byte of the GPT protective partition (UEFI 2.10 section 5.2.3). */
export const MBR_TYPE_GPT_PROTECTIVE = 0xee;

/** MBR type bytes of BSD slices, which carry a nested BSD disklabel in their second sector. */
export const MBR_BSD_TYPES: ReadonlySet<number> = new Set([0xa5, 0xa6, 0xa9]);

/** The readable name of an MBR partition type byte, if it is a well-known one. */
export function mbrTypeName(type: number): string | undefined {
  return MBR_TYPE_NAMES.get(type);
}


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
export async function readMbrSector(disk: PartitionDisk, sector: Uint8Array, sectorSize: number, followChains: boolean): Promise<MbrPartitionTable> {
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
  disk: PartitionDisk,
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
    const sector = await disk.read(offset, SECTOR, 'mbr.extendedBootRecord');
    if (sector === undefined) {
      disk.unreadable('an extended boot record', offset);
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

/** UEFI 2.10 table 5-2: a boot indicator is 0x00 or 0x80; anything else marks a damaged or foreign sector. */
export function warnAboutStatusBytes(mbr: MbrPartitionTable, warn: (message: string) => void): void {
  for (const [index, status] of mbr.statusBytes.entries()) {
    if (status !== 0x00 && status !== 0x80) {
      warn(`MBR entry ${index + 1} has boot indicator 0x${status.toString(16)}, which is neither 0x00 nor 0x80`);
    }
  }
}


/** The MBR scheme. */
export const mbr: PartitionScheme<MbrPartitionTable> = {
  scheme: 'mbr',
  title: 'master boot record',
  markers: [{ offset: 0, length: SECTOR, matches: (bytes) => matchMbrSector(bytes) !== undefined }],
  alone: true,
  read: async (disk, sector0) =>
    startOf(sector0.mbrSignature && sector0.bootSector === undefined ? await readMbrSector(disk, sector0.bytes, SECTOR, true) : undefined),
};

/** True when `sector` ends with the boot signature 0x55 0xAA (an MBR, an EBR, or a boot sector). */
export function hasMbrSignature(sector: Uint8Array): boolean {
  return matchMbrSector(sector) !== undefined;
}
