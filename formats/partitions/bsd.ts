/**
 * BSD disklabels (4.4BSD sys/disklabel.h): a whole disk given over to BSD, with the label in
 * sector 1 (i386) or at byte 64 of sector 0 (other ports), read when sector 0 holds no MBR;
 * or the label nested in an MBR slice of type 0xA5, 0xA6 or 0xA9 (`mbr.ts` reads those).
 * Recognised by 0x82564557 twice, in either byte order, and a good XOR checksum.
 *
 * @module
 */
import { fixedText, u16be, u16le, u32le } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import {
  BSD_DISKLABEL_MAGIC,
  BSD_DISKLABEL_SIZE,
  BSD_PARTITION_ENTRY_SIZE,
  decodeBsdPartitionEntryBe,
  decodeBsdPartitionEntryLe,
  matchBsdDisklabelBe,
  matchBsdDisklabelLe,
} from '../generated/partition-table.js';
import type { MbrPartition } from './mbr.js';
import { type PartitionDisk, type PartitionScheme, SECTOR, type SectorRun, startOf } from './scheme.js';

/** Most partitions a BSD disklabel may declare (22 fill a 512-byte sector after the 148-byte header). */
export const MAX_BSD_PARTITIONS = 22;

/** Names of BSD disklabel file system types (`p_fstype`), as 4.4BSD numbered them. */
const BSD_TYPE_NAMES: readonly string[] = [
  'unused',
  'swap',
  'Version 6',
  'Version 7',
  'System V',
  '4.1BSD',
  'Eighth Edition',
  '4.2BSD',
  'MS-DOS',
  '4.4LFS',
  'unknown',
  'HPFS',
  'ISO-9660',
  'boot',
  'ADOS',
  'HFS',
  'AdvFS',
];

/** The readable name of a BSD disklabel file system type. */
function bsdTypeName(type: number): string | undefined {
  return BSD_TYPE_NAMES[type];
}

/** One partition of a BSD disklabel. */
export interface BsdPartition extends SectorRun {
  /** `a`, `b`, `c`, ... */
  letter: string;
  /** File system type (`p_fstype`). */
  type: number;
  /** Its readable name, for well-known types. */
  typeName: string | undefined;
  /** `p_offset`, in the label's sectors (absolute on most BSDs). */
  startSector: number;
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
async function readDedicatedBsd(disk: PartitionDisk): Promise<BsdPartitionTable | undefined> {
  const start = await disk.read(0, 2 * SECTOR, 'bsd disklabel');
  if (start === undefined) return undefined;
  return decodeBsdDisklabel(start, SECTOR, SECTOR) ?? decodeBsdDisklabel(start, 64, 64);
}

/** The disklabel nested in the second sector of an MBR slice of a BSD type. */
export async function readNestedBsd(disk: PartitionDisk, slice: MbrPartition, sectorSize: number): Promise<BsdPartitionTable | undefined> {
  const offset = (slice.startLba + 1) * sectorSize;
  const bytes = await disk.read(offset, SECTOR, 'bsd disklabel');
  if (bytes === undefined) {
    disk.unreadable(`the BSD disklabel of MBR partition ${slice.number}`, offset);
    return undefined;
  }
  return decodeBsdDisklabel(bytes, 0, offset);
}


/** A little-endian magic is enough for the cheap look: the scan then reads the label in either byte order. */
const bsdMagicAt = (bytes: Uint8Array) => bytes.byteLength >= 4 && u32le(bytes, 0) === BSD_DISKLABEL_MAGIC;

/** The BSD disklabel scheme (a dedicated disk; nested labels are read with their MBR slice). */
export const bsd: PartitionScheme<BsdPartitionTable> = {
  scheme: 'bsd',
  title: 'BSD disklabel',
  markers: [
    { offset: SECTOR, length: 4, matches: bsdMagicAt },
    { offset: 64, length: 4, matches: bsdMagicAt },
  ],
  alone: true,
  // A disk with an MBR signature keeps its BSD labels inside MBR slices.
  read: async (disk, sector0) => startOf(sector0.mbrSignature ? undefined : await readDedicatedBsd(disk)),
};
