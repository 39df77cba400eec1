/**
 * SGI volume headers (IRIX dvh, as util-linux and Linux block/partitions/sgi.c read them):
 * sixteen partitions and the volume directory of files kept in the header. Recognised by
 * 0x0BE5A941 at 0 and a good sum of its 32-bit words.
 *
 * @module
 */
import { fixedText, latin1Text, u32be } from '../../src/bytes.js';
import { SGI_VOLUME_HEADER_SIZE, matchSgiVolumeHeader } from '../generated/partition-table.js';
import { type PartitionScheme, SECTOR, type SectorRun, startOf } from './scheme.js';

/** Names of SGI volume header partition types. */
const SGI_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, 'SGI volhdr'],
  [0x01, 'SGI trkrepl'],
  [0x02, 'SGI secrepl'],
  [0x03, 'SGI raw'],
  [0x04, 'SGI bsd'],
  [0x05, 'SGI sysv'],
  [0x06, 'SGI volume'],
  [0x07, 'SGI efs'],
  [0x08, 'SGI lvol'],
  [0x09, 'SGI rlvol'],
  [0x0a, 'SGI xfs'],
  [0x0b, 'SGI xfslog'],
  [0x0c, 'SGI xlv'],
  [0x0d, 'SGI xvm'],
  [0x82, 'Linux swap'],
  [0x83, 'Linux native'],
  [0x8e, 'Linux LVM'],
  [0xfd, 'Linux RAID'],
]);

/** One partition of an SGI volume header. */
export interface SgiPartition extends SectorRun {
  /** Its slot in the volume header, from 1. */
  number: number;
  /** The partition type (`pt_type`). */
  type: number;
  /** Its readable name, for well-known types. */
  typeName: string | undefined;
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
      typeName: SGI_TYPE_NAMES.get(type),
      startSector,
      sectorCount,
      offset: startSector * sectorSize,
      size: sectorCount * sectorSize,
    });
  }
  return { scheme: 'sgi', sectorSize, bootFile: fixedText(header.bootFile), volumeDirectory, partitions };
}

/** The SGI volume header scheme. */
export const sgi: PartitionScheme<SgiPartitionTable> = {
  scheme: 'sgi',
  title: 'SGI volume header',
  markers: [{ offset: 0, length: SECTOR, matches: (bytes) => matchSgiVolumeHeader(bytes) !== undefined }],
  read: async (_disk, sector0) => startOf(readSgi(sector0.bytes)),
};
