/**
 * Sun disk labels (the SunOS/Solaris VTOC label in sector 0, as util-linux and Linux
 * block/partitions/sun.c read it): eight partitions by starting cylinder, with VTOC tags
 * and flags when the label carries the VTOC sanity value. Recognised by 0xDABE at 508 and
 * a good XOR checksum.
 *
 * @module
 */
import { fixedText, u16be } from '../../src/bytes.js';
import { SUN_DISK_LABEL_SIZE, matchSunDiskLabel } from '../generated/partition-table.js';
import { type PartitionScheme, SECTOR, type SectorRun, startOf } from './scheme.js';

/** The VTOC's sanity value: tags and flags are meaningful only when the label has it. */
const SUN_VTOC_SANITY = 0x600ddeee;

/** Names of Sun VTOC partition tags. */
const SUN_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, 'Unassigned'],
  [0x01, 'Boot'],
  [0x02, 'SunOS root'],
  [0x03, 'SunOS swap'],
  [0x04, 'SunOS usr'],
  [0x05, 'Whole disk'],
  [0x06, 'SunOS stand'],
  [0x07, 'SunOS var'],
  [0x08, 'SunOS home'],
  [0x09, 'SunOS alt sectors'],
  [0x0a, 'SunOS cachefs'],
  [0x0b, 'SunOS reserved'],
  [0x82, 'Linux swap'],
  [0x83, 'Linux native'],
  [0x8e, 'Linux LVM'],
  [0xfd, 'Linux raid autodetect'],
]);

/** One partition of a Sun VTOC label. */
export interface SunPartition extends SectorRun {
  number: number;
  /** VTOC tag (`undefined` when the label has no valid VTOC). */
  type: number | undefined;
  typeName: string | undefined;
  /** VTOC flags: 0x01 unmountable, 0x10 read-only. */
  flags: number | undefined;
  startCylinder: number;
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
      typeName: info === undefined ? undefined : SUN_TYPE_NAMES.get(info.tag),
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

/** The Sun disk label scheme. */
export const sun: PartitionScheme<SunPartitionTable> = {
  scheme: 'sun',
  title: 'Sun disk label',
  markers: [{ offset: 0, length: SECTOR, matches: (bytes) => matchSunDiskLabel(bytes) !== undefined }],
  read: async (_disk, sector0) => startOf(readSun(sector0.bytes)),
};
