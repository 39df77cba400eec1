/**
 * The NTFS boot sector: the geometry every other structure is found from.
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 3 | 8 | OEM id `NTFS    ` |
 * | 11 | 2 | bytes per sector (256-4096, a power of two) |
 * | 13 | 1 | sectors per cluster; above 0x80, the cluster is 2^(256 - value) sectors (clusters over 64 KiB) |
 * | 14 | 2 | reserved sectors, 0 on NTFS |
 * | 16 | 1 | number of FATs, 0 on NTFS |
 * | 40 | 8 | sectors in the volume |
 * | 48 | 8 | first cluster of `$MFT` |
 * | 56 | 8 | first cluster of `$MFTMirr` |
 * | 64 | 1 | clusters per MFT record; negative: a record is 2^(-value) bytes |
 * | 68 | 1 | clusters per index record; negative as above |
 * | 72 | 8 | volume serial number |
 * | 510 | 2 | `55 AA` |
 *
 * (Linux `fs/ntfs3/super.c` and `ntfs_boot_sector` in ntfs-3g's `layout.h` read the same
 * fields; the checks below are those two drivers' sanity checks.)
 *
 * @module
 */
import { bytesEqual, safeNumber, u16le, u64le, u8 } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';

/** Largest MFT or index record accepted: 64 KiB (Windows writes 1 KiB or 4 KiB records, 4 KiB index blocks). */
export const MAX_NTFS_RECORD_BYTES = 64 * 1024;
/** Largest cluster accepted: 2 MiB, the most Windows 10 formats. */
export const MAX_NTFS_CLUSTER_BYTES = 2 * 1024 * 1024;

/** What the boot sector says about the volume. */
export interface NtfsGeometry {
  bytesPerSector: number;
  clusterSize: number;
  /** Clusters in the volume. */
  clusterCount: number;
  /** Bytes the volume spans. */
  volumeBytes: number;
  /** First cluster of `$MFT`. */
  mftCluster: number;
  /** Bytes per MFT record. */
  recordSize: number;
  /** Bytes per index record (`INDX` block), as the boot sector says (each index root states its own too). */
  indexRecordSize: number;
  /** The 64-bit volume serial number as `blkid` prints it: 16 hexadecimal digits, upper case. */
  serialNumber: string;
}

function isPowerOfTwo(value: number): boolean {
  return value > 0 && (value & (value - 1)) === 0;
}

/** A record size from its boot-sector byte: positive = clusters, negative = log2 of the bytes. */
function recordBytes(value: number, clusterSize: number, field: string): number {
  const signed = value > 0x7f ? value - 0x100 : value;
  let bytes: number;
  if (signed > 0) bytes = signed * clusterSize;
  else if (signed < 0 && signed >= -31) bytes = 2 ** -signed;
  else throw fieldError('CORRUPT', field, `${value} does not give a record size`);
  if (!isPowerOfTwo(bytes) || bytes < 512 || bytes > MAX_NTFS_RECORD_BYTES) {
    throw fieldError('CORRUPT', field, `records of ${bytes} bytes are outside 512..${MAX_NTFS_RECORD_BYTES}`);
  }
  return bytes;
}

/** True when `sector` starts an NTFS volume (OEM id and the checks {@link ntfsGeometry} makes). */
export function isNtfsBootSector(sector: Uint8Array): boolean {
  if (sector.byteLength < 512 || !bytesEqual(sector, 3, 'NTFS    ')) return false;
  try {
    ntfsGeometry(sector);
    return true;
  } catch {
    return false;
  }
}

/** Reads the geometry from the first 512 bytes of the volume; `CORRUPT` where it is impossible. */
export function ntfsGeometry(sector: Uint8Array): NtfsGeometry {
  const field = 'ntfs boot sector';
  if (!bytesEqual(sector, 3, 'NTFS    ')) throw fieldError('CORRUPT', `${field}.oemId`, 'not "NTFS    "');
  if (sector[510] !== 0x55 || sector[511] !== 0xaa) throw fieldError('CORRUPT', `${field}.signature`, 'no 55 AA at byte 510');
  const bytesPerSector = u16le(sector, 11, `${field}.bytesPerSector`);
  if (!isPowerOfTwo(bytesPerSector) || bytesPerSector < 256 || bytesPerSector > 4096) {
    throw fieldError('CORRUPT', `${field}.bytesPerSector`, `${bytesPerSector} is not a power of two in 256..4096`);
  }
  const sectorsPerClusterByte = u8(sector, 13, `${field}.sectorsPerCluster`);
  const sectorsPerCluster = sectorsPerClusterByte <= 0x80 ? sectorsPerClusterByte : 2 ** (256 - sectorsPerClusterByte);
  const clusterSize = bytesPerSector * sectorsPerCluster;
  if (!isPowerOfTwo(sectorsPerCluster) || clusterSize > MAX_NTFS_CLUSTER_BYTES) {
    throw fieldError('CORRUPT', `${field}.sectorsPerCluster`, `${sectorsPerClusterByte} does not give a cluster size up to ${MAX_NTFS_CLUSTER_BYTES}`);
  }
  // NTFS leaves the FAT fields zero (Linux's ntfs3 and ntfs-3g both insist).
  if (u16le(sector, 14, `${field}.reservedSectors`) !== 0 || sector[16] !== 0) {
    throw fieldError('CORRUPT', `${field}.reservedSectors`, 'FAT fields are set in an NTFS boot sector');
  }
  const totalSectors = safeNumber(u64le(sector, 40, `${field}.totalSectors`), `${field}.totalSectors`);
  const clusterCount = Math.floor(totalSectors / sectorsPerCluster);
  if (clusterCount === 0) throw fieldError('CORRUPT', `${field}.totalSectors`, 'the volume has no clusters');
  const mftCluster = safeNumber(u64le(sector, 48, `${field}.mftCluster`), `${field}.mftCluster`);
  if (mftCluster >= clusterCount) throw fieldError('CORRUPT', `${field}.mftCluster`, `cluster ${mftCluster} is past the volume's ${clusterCount}`);
  const recordSize = recordBytes(u8(sector, 64, `${field}.clustersPerMftRecord`), clusterSize, `${field}.clustersPerMftRecord`);
  const indexRecordSize = recordBytes(u8(sector, 68, `${field}.clustersPerIndexRecord`), clusterSize, `${field}.clustersPerIndexRecord`);
  const serial = u64le(sector, 72, `${field}.serialNumber`);
  return {
    bytesPerSector,
    clusterSize,
    clusterCount,
    volumeBytes: totalSectors * bytesPerSector,
    mftCluster,
    recordSize,
    indexRecordSize,
    serialNumber: serial.toString(16).toUpperCase().padStart(16, '0'),
  };
}
