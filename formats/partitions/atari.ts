/**
 * Atari AHDI root sectors (sector 0): four partition entries with three-character ids.
 * AHDI has no magic number, so it is looked for last, only when sector 0 is neither an MBR
 * nor a boot sector, and accepted by plausibility as Linux (block/partitions/atari.c)
 * decides; having no marker, it never counts as a second reading of another format's bytes.
 *
 * @module
 */
import { latin1Text } from '../../src/bytes.js';
import { ATARI_ROOT_SECTOR_SIZE, decodeAtariRootSector } from '../generated/partition-table.js';
import { type PartitionScheme, SECTOR, startOf } from './scheme.js';

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


/** The Atari AHDI scheme. */
export const atari: PartitionScheme<AtariPartitionTable> = {
  scheme: 'atari',
  title: 'Atari AHDI root sector',
  markers: [],
  alone: true,
  read: async (_disk, sector0) => startOf(sector0.mbrSignature || sector0.bootSector !== undefined ? undefined : readAtari(sector0.bytes)),
};
