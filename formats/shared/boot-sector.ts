/**
 * Volume boot records: a FAT, NTFS or exFAT file system that starts at sector 0 of a disk
 * (a "superfloppy", a USB stick formatted without partitions, a config drive).
 *
 * Such a sector ends in 0x55 0xAA like a master boot record, and its BIOS parameter block
 * overlaps the MBR's partition entries, so reading it as an MBR invents partitions out of
 * boot code. OpenStack's bug 2079850 was exactly that: vfat config drives failed its MBR
 * check. The tests here are stricter than OpenStack's (two FATs and media byte 0xF8): the
 * whole BPB must be plausible (FAT specification section 3.1).
 *
 * @module
 */
import { fixedText, hex, latin1Text } from '../../src/bytes.js';
import {
  type ExfatBootSector,
  type NtfsBootSector,
  decodeFat16BootSector,
  decodeFat32BootSector,
  decodeFatBiosParameterBlock,
  matchExfatBootSector,
  matchNtfsBootSector,
} from '../generated/raw.js';

/** A file system whose boot sector is at the start of the disk. */
export interface BootSectorFilesystem {
  /** `fat` (FAT12/16/32), `ntfs` or `exfat`. */
  filesystem: 'fat' | 'ntfs' | 'exfat';
  /** For FAT: the variant, from the cluster count as the FAT specification (section 3.5) defines it. */
  fatType: 'fat12' | 'fat16' | 'fat32' | undefined;
  /** The OEM name at byte 3 (e.g. `mkfs.fat`, `MSWIN4.1`, `NTFS`, `EXFAT`). */
  oemName: string;
  /** The volume label in the boot sector (FAT only; NTFS and exFAT keep theirs elsewhere). */
  label: string | undefined;
  /** The volume serial number, as hexadecimal. */
  serialNumber: string | undefined;
  /** Bytes per sector, from the boot sector. */
  bytesPerSector: number;
}

const FAT_SECTOR_SIZES = new Set([512, 1024, 2048, 4096]);

/** True for media descriptor bytes a FAT BPB may hold: 0xF0 and 0xF8..0xFF (FAT specification 3.1, BPB_Media). */
function isFatMedia(media: number): boolean {
  return media === 0xf0 || media >= 0xf8;
}

function isPowerOfTwo(value: number): boolean {
  return value > 0 && (value & (value - 1)) === 0;
}

/**
 * Recognises the boot sector of a FAT, NTFS or exFAT file system in `sector` (the first
 * 512 bytes of a disk or partition); `undefined` when it is none of these.
 */
export function recogniseBootSector(sector: Uint8Array): BootSectorFilesystem | undefined {
  if (sector.byteLength < 512) return undefined;
  const ntfs = matchNtfsBootSector(sector);
  if (ntfs !== undefined) return ntfsBootSector(ntfs);
  const exfat = matchExfatBootSector(sector);
  if (exfat !== undefined) return exfatBootSector(exfat);
  return fatBootSector(sector);
}

function ntfsBootSector(boot: NtfsBootSector): BootSectorFilesystem {
  return {
    filesystem: 'ntfs',
    fatType: undefined,
    oemName: 'NTFS',
    label: undefined,
    serialNumber: hex(boot.volumeSerialNumber, 16),
    bytesPerSector: boot.bytesPerSector,
  };
}

function exfatBootSector(boot: ExfatBootSector): BootSectorFilesystem {
  const shift = boot.bytesPerSectorShift;
  return {
    filesystem: 'exfat',
    fatType: undefined,
    oemName: 'EXFAT',
    label: undefined,
    serialNumber: hex(boot.volumeSerialNumber, 8),
    bytesPerSector: shift >= 9 && shift <= 12 ? 2 ** shift : 0,
  };
}

function fatBootSector(sector: Uint8Array): BootSectorFilesystem | undefined {
  const bpb = decodeFatBiosParameterBlock(sector);
  // FAT specification 3.1, BS_jmpBoot: EB xx 90 or E9 xx xx.
  if (!((bpb.jumpInstruction === 0xeb && bpb.jumpNop === 0x90) || bpb.jumpInstruction === 0xe9)) return undefined;
  const plausible =
    FAT_SECTOR_SIZES.has(bpb.bytesPerSector) &&
    isPowerOfTwo(bpb.sectorsPerCluster) &&
    bpb.sectorsPerCluster <= 128 &&
    bpb.reservedSectors >= 1 &&
    (bpb.numberOfFats === 1 || bpb.numberOfFats === 2) &&
    isFatMedia(bpb.media) &&
    (bpb.totalSectors16 !== 0 || bpb.totalSectors32 !== 0);
  if (!plausible) return undefined;
  // FAT32 keeps its FAT size and the extended boot signature after FAT32-only fields.
  const isFat32Layout = bpb.rootEntries === 0 && bpb.sectorsPerFat16 === 0;
  const fat32 = isFat32Layout ? decodeFat32BootSector(sector) : undefined;
  const sectorsPerFat = fat32 === undefined ? bpb.sectorsPerFat16 : fat32.sectorsPerFat32;
  if (sectorsPerFat === 0) return undefined;
  const fatType = fatTypeOf(bpb.bytesPerSector, bpb.sectorsPerCluster, bpb.reservedSectors, bpb.numberOfFats, bpb.rootEntries, sectorsPerFat, bpb.totalSectors16 || bpb.totalSectors32);
  // Signature 0x29 means the serial number and the label follow.
  const extended = (fat32 ?? decodeFat16BootSector(sector)).extended;
  const hasExtendedBpb = extended.bootSignature === 0x29;
  return {
    filesystem: 'fat',
    fatType,
    oemName: fixedText(bpb.oemName),
    label: hasExtendedBpb ? fixedText(extended.volumeLabel, latin1Text) : undefined,
    serialNumber: hasExtendedBpb ? hex(extended.volumeId, 8) : undefined,
    bytesPerSector: bpb.bytesPerSector,
  };
}

/** FAT specification section 3.5: the FAT type is determined by the count of data clusters alone. */
function fatTypeOf(
  bytesPerSector: number,
  sectorsPerCluster: number,
  reservedSectors: number,
  numberOfFats: number,
  rootEntries: number,
  sectorsPerFat: number,
  totalSectors: number,
): 'fat12' | 'fat16' | 'fat32' {
  const rootDirectorySectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const dataSectors = totalSectors - (reservedSectors + numberOfFats * sectorsPerFat + rootDirectorySectors);
  const clusters = Math.floor(Math.max(0, dataSectors) / sectorsPerCluster);
  if (clusters < 4085) return 'fat12';
  if (clusters < 65525) return 'fat16';
  return 'fat32';
}
