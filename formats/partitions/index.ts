/**
 * Partition tables: one module per scheme, the list of them, and the scan that reads a
 * disk's tables through any {@link ByteReader} (a raw image, the system area of a hybrid
 * ISO, and the guest disk behind a format's tables).
 *
 * | scheme | module | where | recognised by |
 * | --- | --- | --- | --- |
 * | `gpt` | `gpt.ts` | header at LBA 1 (byte 512, or 4096 on 4Kn disks), backup at the last LBA | `EFI PART` (UEFI 2.10 section 5.3.2) |
 * | `sgi` | `sgi.ts` | sector 0 | 0x0BE5A941 at 0 and a good sum checksum |
 * | `sun` | `sun.ts` | sector 0 | 0xDABE at 508 and a good XOR checksum |
 * | `mbr` | `mbr.ts` | sector 0, extended boot records chained through extended partitions | 0x55 0xAA at 510, and not a FAT/NTFS/exFAT boot sector |
 * | `apm` | `apm.ts` | driver descriptor map at block 0, entries from block 1 | `ER` at 0 and `PM` at the first entry |
 * | `bsd` | `bsd.ts` | sector 1 (or byte 64) of the disk, or of an MBR slice of type 0xA5/0xA6/0xA9 | 0x82564557 twice and a good XOR checksum |
 * | `atari` | `atari.ts` | sector 0 | AHDI entries with alphanumeric ids inside the declared disk size (as Linux decides) |
 *
 * The list's order is the precedence: the first table found is the `partitionTable`; any
 * others found alongside (an Apple map beside an MBR in a Mac hybrid CD) are listed in
 * `otherPartitionTables`. What a scheme module declares is `scheme.ts`; how the scan reads
 * (forward, the head, then the end) is `scan.ts`. Importing this module has no side effect.
 *
 * @module
 */
import type { ByteReader } from '../../src/format-module.js';
import type { BootSectorFilesystem } from '../shared/boot-sector.js';
import { type ApmPartitionTable, apm } from './apm.js';
import { type AtariPartitionTable, atari } from './atari.js';
import { type BsdPartitionTable, bsd } from './bsd.js';
import { type GptPartitionTable, gpt } from './gpt.js';
import { type MbrPartitionTable, mbr } from './mbr.js';
import {
  PARTITION_TABLE_HEAD_BYTES,
  type PartitionScanOptions,
  type StartedPartitionScan,
  continuePartitionScan,
  finishPartitionScan,
  startPartitionScan,
} from './scan.js';
import type { PartitionMarker, PartitionScheme } from './scheme.js';
import { type SgiPartitionTable, sgi } from './sgi.js';
import { type SunPartitionTable, sun } from './sun.js';

export type { ApmPartition, ApmPartitionTable } from './apm.js';
export type { AtariPartition, AtariPartitionTable } from './atari.js';
export type { BsdPartition, BsdPartitionTable } from './bsd.js';
export type { GptBackupHeader, GptPartition, GptPartitionTable } from './gpt.js';
export type { ChsAddress, MbrPartition, MbrPartitionTable } from './mbr.js';
export type { SgiPartition, SgiPartitionTable } from './sgi.js';
export type { SunPartition, SunPartitionTable } from './sun.js';
export type { PartitionScanOptions, StartedPartitionScan } from './scan.js';
export type { PartitionDisk, PartitionMarker, PartitionScheme, SchemeStart, SectorRun, SectorZero } from './scheme.js';
export { PARTITION_TABLE_HEAD_BYTES, PARTITION_TABLE_TAIL_BYTES } from './scan.js';

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

/** Every scheme, in order of precedence. */
export const partitionSchemes: readonly PartitionScheme[] = [gpt, sgi, sun, mbr, apm, bsd, atari];

/**
 * Reads every partition table of the disk behind `reader`: the start (links followed
 * forward), then, unless told otherwise, the end (the backup GPT; on a stream, reading it to
 * its end). Works on any reader: in order (a raw image, a stream) or in any order (a guest disk).
 *
 * @throws IntrospectionError `CORRUPT` for a GPT header whose CRC checks out but whose
 *   values are impossible; `LIMIT_EXCEEDED` when a count is above its cap.
 */
export async function scanPartitionTables(reader: ByteReader, options: PartitionScanOptions = {}): Promise<PartitionTableScan> {
  return finishPartitionScan(reader, await startPartitionScan(reader, partitionSchemes, options), options);
}

/** The partition table of the disk behind `reader` (the first found by precedence), if it has one. */
export async function readPartitionTable(reader: ByteReader): Promise<PartitionTable | undefined> {
  return (await scanPartitionTables(reader)).partitionTable;
}

/** Bytes of the cheap look: the first two sectors; a marker beyond them is read where it is. */
const MARKED_BYTES = 1024;

/** True when a scheme's marker is near the start of the disk: two sectors (and GPT's 4Kn header) read, no table decoded. */
export async function partitionTableMarked(reader: ByteReader): Promise<boolean> {
  const first = await reader.readAvailable(0, MARKED_BYTES, 'head');
  const farther: PartitionMarker[] = [];
  for (const scheme of partitionSchemes) {
    for (const marker of scheme.markers) {
      if (marker.offset + marker.length > MARKED_BYTES) farther.push(marker);
      else if (marker.matches(first.subarray(marker.offset, marker.offset + marker.length))) return true;
    }
  }
  for (const marker of farther) {
    if (marker.matches(await reader.readAvailable(marker.offset, marker.length, 'head'))) return true;
  }
  return false;
}

/**
 * The start of a scan that reads the first {@link PARTITION_TABLE_HEAD_BYTES} only (a probe
 * during detection, which may not read further), when a scheme's marker is there. Give it to
 * {@link finishPartitionScan} for what the head shows, and to {@link continuePartitionScan}
 * to follow the links later without scanning the head again.
 */
export async function startHeadScan(reader: ByteReader): Promise<StartedPartitionScan | undefined> {
  if (!(await partitionTableMarked(reader))) return undefined;
  return startPartitionScan(reader, partitionSchemes, { headOnly: true });
}

/** True when the table's scheme has a magic number (Atari's has none: it never counts as a second reading of another format's bytes). */
export function hasMarkers(table: PartitionTable): boolean {
  return partitionSchemes.some((scheme) => scheme.scheme === table.scheme && scheme.markers.length > 0);
}

export { continuePartitionScan, finishPartitionScan, startPartitionScan };
