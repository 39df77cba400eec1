/**
 * The XFS superblock: geometry, identity and features.
 *
 * The primary superblock is the first sector of allocation group 0, big-endian (xfsprogs
 * and Linux `libxfs/xfs_format.h` `struct xfs_dsb`). The fields read here:
 *
 * | offset | field | use |
 * | --- | --- | --- |
 * | 0x00 | `sb_magicnum` | `XFSB` |
 * | 0x04 | `sb_blocksize` | bytes per block |
 * | 0x08 | `sb_dblocks` (64) | blocks on the data device |
 * | 0x20 | `sb_uuid` | file system UUID |
 * | 0x38 | `sb_rootino` (64) | the root directory's inode |
 * | 0x54 | `sb_agblocks` | blocks per allocation group |
 * | 0x58 | `sb_agcount` | allocation groups |
 * | 0x64 | `sb_versionnum` (16) | version (low 4 bits) and v4 feature bits |
 * | 0x66 | `sb_sectsize` (16) | sector size |
 * | 0x68 | `sb_inodesize` (16) | bytes per inode |
 * | 0x6A | `sb_inopblock` (16) | inodes per block |
 * | 0x6C | `sb_fname` | label (12 bytes) |
 * | 0x78.. | `sb_blocklog`, `sb_sectlog`, `sb_inodelog`, `sb_inopblog`, `sb_agblklog` | the same as powers of two |
 * | 0x7E | `sb_inprogress` | mkfs did not finish |
 * | 0xC0 | `sb_dirblklog` | directory block = block << this |
 * | 0xC8 | `sb_features2` | more v4 feature bits (`ftype`) |
 * | 0xD0..0xDC | `sb_features_compat`, `_ro_compat`, `_incompat`, `_log_incompat` | v5 features |
 * | 0xE0 | `sb_crc` (little-endian) | crc32c of the sector with this field zeroed (v5) |
 *
 * @module
 */
import { bigEndianUuid, crc32c, cutAtNul, safeNumber, u16be, u32be, u32le, u64be, u8, utf8Text } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';

/** `sb_magicnum`: `XFSB`. */
export const XFS_MAGIC = 0x58465342;
/** The fields up to `sb_crc` and beyond fit in the smallest sector. */
export const XFS_SUPERBLOCK_PROBE_BYTES = 512;

/** `sb_versionnum` bits (v4 features; v5 has all of the useful ones implied). */
const VERSION = {
  numberMask: 0x000f,
  sharedBit: 0x0200,
  extentFlagBit: 0x1000,
  dirV2Bit: 0x2000,
  asciiCaseInsensitiveBit: 0x4000,
  moreBitsBit: 0x8000,
} as const;
/** `sb_features2` bits a v4 file system may carry (`XFS_SB_VERSION2_OKBITS`), and the one read here. */
const FEATURES2_KNOWN = 0x2 | 0x8 | 0x80 | 0x200;
const FEATURES2_FTYPE = 0x200;

/** v5 `sb_features_incompat` bits. */
export const XFS_INCOMPAT = {
  ftype: 1 << 0,
  sparseInodes: 1 << 1,
  metaUuid: 1 << 2,
  bigTime: 1 << 3,
  needsRepair: 1 << 4,
  largeExtentCounts: 1 << 5,
  exchangeRange: 1 << 6,
  parentPointers: 1 << 7,
} as const;

/**
 * The v5 incompatible features this driver reads. Each changes something this driver does
 * not depend on (inode allocation, UUID checks, timestamps, log items, parent-pointer
 * attributes) or that it handles (directory file types, 64-bit extent counters).
 * `needsrepair` is refused as Linux refuses to mount it; later features (`metadir`, zoned
 * devices) and unknown bits are refused as unknown.
 */
export const XFS_INCOMPAT_SUPPORTED =
  XFS_INCOMPAT.ftype |
  XFS_INCOMPAT.sparseInodes |
  XFS_INCOMPAT.metaUuid |
  XFS_INCOMPAT.bigTime |
  XFS_INCOMPAT.largeExtentCounts |
  XFS_INCOMPAT.exchangeRange |
  XFS_INCOMPAT.parentPointers;

/** The smallest allocation group (`XFS_MIN_AG_BLOCKS`). */
const MIN_AG_BLOCKS = 64;
/** The largest allocation group, 1 TiB (`XFS_MAX_AG_BYTES`). */
const MAX_AG_BYTES = 2 ** 40;
/** The largest directory block (`XFS_MAX_BLOCKSIZE`). */
const MAX_DIRECTORY_BLOCK_SIZE = 65536;

/** What the driver needs from an XFS superblock. */
export interface XfsSuperblock {
  version: 4 | 5;
  label: string | undefined;
  uuid: string;
  blockSize: number;
  blockLog: number;
  /** The sector size: the superblock's checksum covers one sector. */
  sectorSize: number;
  inodeSize: number;
  inodesPerBlockLog: number;
  agBlocks: number;
  agBlockLog: number;
  agCount: number;
  dataBlocks: number;
  rootInode: number;
  /** Bytes per directory block. */
  directoryBlockSize: number;
  /** Directory entries record the file type (`ftype`). */
  hasFileType: boolean;
  /** Names compare with ASCII case folded (`ascii-ci`). */
  asciiCaseInsensitive: boolean;
  /** Extents may be flagged unwritten (always on v5; `EXTFLGBIT` on v4). */
  hasUnwrittenExtents: boolean;
  /** v5 metadata: CRCs, self-describing headers, version 3 inodes. */
  hasCrc: boolean;
  /** Inodes may count extents in 64 bits (`nrext64`). */
  largeExtentCounts: boolean;
}

/** True when the bytes start with the XFS magic and a version this driver knows (4 or 5). */
export function hasXfsMagic(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 0x68 || u32be(bytes, 0) !== XFS_MAGIC) return false;
  const version = u16be(bytes, 0x64) & VERSION.numberMask;
  return version === 4 || version === 5;
}

/** The sector size a superblock declares (to read the whole sector for its checksum); 0 when impossible. */
export function xfsSectorSize(bytes: Uint8Array): number {
  const size = u16be(bytes, 0x66);
  return size >= 512 && size <= 32768 && (size & (size - 1)) === 0 ? size : 0;
}

/**
 * Decodes and checks the superblock, as Linux's `xfs_validate_sb_common` does. `bytes` is
 * one whole sector. Throws `CORRUPT` for impossible geometry or a bad CRC, `UNSUPPORTED`
 * for versions and features this driver cannot read.
 *
 * @param checkFeatures - false for a probe: geometry only
 */
export function decodeXfsSuperblock(bytes: Uint8Array, checkFeatures = true): XfsSuperblock {
  if (!hasXfsMagic(bytes)) throw fieldError('CORRUPT', 'superblock.sb_magicnum', 'not an XFS version 4 or 5 superblock');
  const versionField = u16be(bytes, 0x64);
  const version = (versionField & VERSION.numberMask) as 4 | 5;
  const features2 = u32be(bytes, 0xc8);
  const incompat = version === 5 ? u32be(bytes, 0xd8) : 0;
  if (checkFeatures) checkXfsFeatures(bytes, version, versionField, features2, incompat);

  const blockSize = u32be(bytes, 0x04);
  const blockLog = u8(bytes, 0x78);
  const sectorSize = u16be(bytes, 0x66);
  const sectorLog = u8(bytes, 0x79);
  const inodeSize = u16be(bytes, 0x68);
  const inodeLog = u8(bytes, 0x7a);
  const inodesPerBlock = u16be(bytes, 0x6a);
  const inodesPerBlockLog = u8(bytes, 0x7b);
  const agBlocks = u32be(bytes, 0x54);
  const agBlockLog = u8(bytes, 0x7c);
  const agCount = u32be(bytes, 0x58);
  const geometry = (field: string, message: string): never => {
    throw fieldError('CORRUPT', `superblock.${field}`, message);
  };
  if (blockLog < 9 || blockLog > 16 || blockSize !== 2 ** blockLog) geometry('sb_blocksize', `${blockSize} is not 2^${blockLog} in 512..65536`);
  if (sectorLog < 9 || sectorLog > 15 || sectorSize !== 2 ** sectorLog || sectorSize > blockSize) {
    geometry('sb_sectsize', `${sectorSize} is not 2^${sectorLog} in 512..32768 and at most the block size`);
  }
  const minInodeLog = version === 5 ? 9 : 8;
  if (inodeLog < minInodeLog || inodeLog > 11 || inodeSize !== 2 ** inodeLog || inodeLog > blockLog) {
    geometry('sb_inodesize', `${inodeSize} is not 2^${inodeLog} in ${2 ** minInodeLog}..2048 and at most the block size`);
  }
  if (inodesPerBlockLog !== blockLog - inodeLog || inodesPerBlock !== blockSize / inodeSize) {
    geometry('sb_inopblock', `${inodesPerBlock} (2^${inodesPerBlockLog}) inodes per block do not match the sizes`);
  }
  if (agBlocks < MIN_AG_BLOCKS || agBlocks * blockSize > MAX_AG_BYTES || agBlockLog !== Math.ceil(Math.log2(agBlocks))) {
    geometry('sb_agblocks', `${agBlocks} blocks per allocation group (2^${agBlockLog} rounded up) is impossible`);
  }
  const dataBlocksField = u64be(bytes, 0x08);
  const dataBlocks = Number(dataBlocksField);
  if (agCount === 0 || BigInt(dataBlocks) !== dataBlocksField || dataBlocks > agCount * agBlocks || dataBlocks < (agCount - 1) * agBlocks + MIN_AG_BLOCKS) {
    geometry('sb_dblocks', `${dataBlocksField} blocks do not make ${agCount} allocation groups of ${agBlocks}`);
  }
  if (!Number.isSafeInteger(dataBlocks * blockSize)) geometry('sb_dblocks', `${dataBlocks} blocks of ${blockSize} bytes is too large`);
  const directoryBlockLog = u8(bytes, 0xc0);
  const directoryBlockSize = blockSize * 2 ** directoryBlockLog;
  if (directoryBlockSize > MAX_DIRECTORY_BLOCK_SIZE) geometry('sb_dirblklog', `directory blocks of ${directoryBlockSize} bytes (65536 at most)`);
  if (u8(bytes, 0x7e) !== 0) throw fieldError('CORRUPT', 'superblock.sb_inprogress', 'mkfs.xfs did not finish this file system');
  const rootInode = safeNumber(u64be(bytes, 0x38), 'superblock.sb_rootino');
  const label = cutAtNul(utf8Text(bytes.subarray(0x6c, 0x78)));
  const moreBits = version === 5 || (versionField & VERSION.moreBitsBit) !== 0;
  return {
    version,
    label: label === '' ? undefined : label,
    uuid: bigEndianUuid(bytes, 0x20),
    blockSize,
    blockLog,
    sectorSize,
    inodeSize,
    inodesPerBlockLog,
    agBlocks,
    agBlockLog,
    agCount,
    dataBlocks,
    rootInode,
    directoryBlockSize,
    hasFileType: version === 5 ? (incompat & XFS_INCOMPAT.ftype) !== 0 : moreBits && (features2 & FEATURES2_FTYPE) !== 0,
    asciiCaseInsensitive: (versionField & VERSION.asciiCaseInsensitiveBit) !== 0,
    hasUnwrittenExtents: version === 5 || (versionField & VERSION.extentFlagBit) !== 0,
    hasCrc: version === 5,
    largeExtentCounts: (incompat & XFS_INCOMPAT.largeExtentCounts) !== 0,
  };
}

function checkXfsFeatures(bytes: Uint8Array, version: 4 | 5, versionField: number, features2: number, incompat: number): void {
  if (version === 4) {
    // Linux's xfs_sb_good_v4_features: version 2 directories, no "shared" bit, only known features2 bits.
    if (!(versionField & VERSION.dirV2Bit)) {
      throw fieldError('UNSUPPORTED', 'superblock.sb_versionnum', 'version 1 directories (Linux reads only version 2)');
    }
    if (versionField & VERSION.sharedBit || (versionField & VERSION.moreBitsBit && features2 & ~FEATURES2_KNOWN)) {
      throw fieldError('UNSUPPORTED', 'superblock.sb_versionnum', `unknown v4 features (0x${versionField.toString(16)}, features2 0x${features2.toString(16)})`);
    }
    return;
  }
  if (incompat & XFS_INCOMPAT.needsRepair) {
    throw fieldError('UNSUPPORTED', 'superblock.sb_features_incompat', 'marked as needing xfs_repair (Linux refuses to mount it)');
  }
  const unknown = incompat & ~XFS_INCOMPAT_SUPPORTED;
  if (unknown !== 0) {
    throw fieldError('UNSUPPORTED', 'superblock.sb_features_incompat', `incompatible features this driver cannot read: 0x${unknown.toString(16)}`);
  }
  // The CRC covers the whole sector with sb_crc taken as zero (xfs_sb_read_verify); Linux refuses a mismatch.
  const sector = bytes.slice();
  sector.fill(0, 0xe0, 0xe4);
  const actual = crc32c(sector);
  const expected = u32le(bytes, 0xe0);
  if (actual !== expected) {
    throw fieldError('CORRUPT', 'superblock.sb_crc', `crc32c 0x${actual.toString(16)} does not match the stored 0x${expected.toString(16)}`);
  }
}
