/**
 * The ext2/3/4 superblock: geometry, identity, features, and the type `blkid` would name.
 *
 * The superblock is 1024 bytes at byte 1024 of the volume, little-endian (Linux
 * `fs/ext4/ext4.h` `struct ext4_super_block`, e2fsprogs `lib/ext2fs/ext2_fs.h`). The fields
 * read here:
 *
 * | offset | field | use |
 * | --- | --- | --- |
 * | 0x00 | `s_inodes_count` | highest valid inode number |
 * | 0x04 | `s_blocks_count_lo` (+ `_hi` at 0x150 with `64bit`) | blocks in the file system |
 * | 0x14 | `s_first_data_block` | 1 with 1 KiB blocks, else 0 |
 * | 0x18 | `s_log_block_size` | block size = 1024 << this |
 * | 0x1C | `s_log_cluster_size` | cluster size with `bigalloc` |
 * | 0x20 | `s_blocks_per_group` | for group positions (`meta_bg`) |
 * | 0x28 | `s_inodes_per_group` | inode number → group |
 * | 0x38 | `s_magic` | 0xEF53 |
 * | 0x4C | `s_rev_level` | 0: 128-byte inodes; 1: dynamic |
 * | 0x58 | `s_inode_size` | bytes per inode (revision 1) |
 * | 0x5C, 0x60, 0x64 | `s_feature_compat`, `_incompat`, `_ro_compat` | features |
 * | 0x68 | `s_uuid` | file system UUID |
 * | 0x78 | `s_volume_name` | label (16 bytes) |
 * | 0xFE | `s_desc_size` | group descriptor size with `64bit` |
 * | 0x104 | `s_first_meta_bg` | first group whose descriptors follow `meta_bg` |
 * | 0x175 | `s_checksum_type` | 1 = crc32c (`metadata_csum`) |
 * | 0x24C | `s_backup_bgs[2]` | the two backup groups with `sparse_super2` |
 * | 0x3FC | `s_checksum` | crc32c of the first 1020 bytes (`metadata_csum`) |
 *
 * @module
 */
import { bigEndianUuid, crc32c, cutAtNul, u16le, u32le, u8, utf8Text } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';

/** Where the superblock is in the volume. */
export const EXT_SUPERBLOCK_OFFSET = 1024;
/** The superblock's size. */
export const EXT_SUPERBLOCK_SIZE = 1024;
/** `s_magic`. */
export const EXT_MAGIC = 0xef53;

/** `s_feature_compat` bits this driver looks at. */
export const EXT_COMPAT = { hasJournal: 0x4, sparseSuper2: 0x200 } as const;

/** `s_feature_ro_compat` bits this driver looks at (every other read-only-compatible feature is safe to read). */
export const EXT_RO_COMPAT = {
  sparseSuper: 0x1,
  largeFile: 0x2,
  btreeDir: 0x4,
  hugeFile: 0x8,
  gdtCsum: 0x10,
  bigalloc: 0x200,
  metadataCsum: 0x400,
} as const;

/** `s_feature_incompat` bits (Linux `EXT4_FEATURE_INCOMPAT_*`). */
export const EXT_INCOMPAT = {
  compression: 0x1,
  filetype: 0x2,
  recover: 0x4,
  journalDev: 0x8,
  metaBg: 0x10,
  extents: 0x40,
  bit64: 0x80,
  mmp: 0x100,
  flexBg: 0x200,
  eaInode: 0x400,
  dirData: 0x1000,
  csumSeed: 0x2000,
  largeDir: 0x4000,
  inlineData: 0x8000,
  encrypt: 0x10000,
  casefold: 0x20000,
} as const;

/**
 * The incompatible features this driver reads: the set Linux 6.x ext4 mounts
 * (`EXT4_FEATURE_INCOMPAT_SUPP`). `compression` (never merged), `dirdata` (Lustre only)
 * and unknown bits change the on-disk format in ways this driver cannot follow, so the
 * volume is refused, as the kernel refuses to mount it. `journal_dev` marks an external
 * journal, not a file system.
 */
export const EXT_INCOMPAT_SUPPORTED =
  EXT_INCOMPAT.filetype |
  EXT_INCOMPAT.recover |
  EXT_INCOMPAT.metaBg |
  EXT_INCOMPAT.extents |
  EXT_INCOMPAT.bit64 |
  EXT_INCOMPAT.mmp |
  EXT_INCOMPAT.flexBg |
  EXT_INCOMPAT.eaInode |
  EXT_INCOMPAT.csumSeed |
  EXT_INCOMPAT.largeDir |
  EXT_INCOMPAT.inlineData |
  EXT_INCOMPAT.encrypt |
  EXT_INCOMPAT.casefold;

/**
 * The features an ext2 or ext3 driver understood (libblkid `EXT2/EXT3_FEATURE_*_SUPP`):
 * a volume with any other is named `ext4`, as `blkid` names it.
 */
const EXT3_RO_COMPAT_KNOWN = EXT_RO_COMPAT.sparseSuper | EXT_RO_COMPAT.largeFile | EXT_RO_COMPAT.btreeDir;
const EXT3_INCOMPAT_KNOWN = EXT_INCOMPAT.filetype | EXT_INCOMPAT.recover | EXT_INCOMPAT.metaBg;

/** The largest `s_log_block_size`: 64 KiB blocks (Linux `EXT4_MAX_BLOCK_LOG_SIZE`). */
const MAX_LOG_BLOCK_SIZE = 6;
/** The largest `s_log_cluster_size` (Linux `EXT4_MAX_CLUSTER_LOG_SIZE` 30, counted from 1 KiB). */
const MAX_LOG_CLUSTER_SIZE = 20;
/** The largest group descriptor (Linux `EXT4_MAX_DESC_SIZE`: one 1 KiB block's worth). */
const MAX_DESCRIPTOR_SIZE = 1024;
/** The descriptor size without `64bit`. */
const SMALL_DESCRIPTOR_SIZE = 32;
/** The smallest descriptor size with `64bit` (Linux `EXT4_MIN_DESC_SIZE_64BIT`). */
const MIN_DESCRIPTOR_SIZE_64BIT = 64;
/** Revision 0 inodes are 128 bytes. */
export const EXT_GOOD_OLD_INODE_SIZE = 128;

/** What the driver needs from an ext superblock. */
export interface ExtSuperblock {
  /** `ext2`, `ext3` or `ext4`, by libblkid's rules. */
  type: 'ext2' | 'ext3' | 'ext4';
  /** The volume label, when not empty. */
  label: string | undefined;
  uuid: string;
  blockSize: number;
  blocksCount: number;
  firstDataBlock: number;
  blocksPerGroup: number;
  /** Blocks per allocation cluster (1 unless `bigalloc`). */
  blocksPerCluster: number;
  inodesPerGroup: number;
  inodesCount: number;
  inodeSize: number;
  groupCount: number;
  /** Bytes per group descriptor (32, or `s_desc_size` with `64bit`). */
  descriptorSize: number;
  compat: number;
  incompat: number;
  roCompat: number;
  /** `s_first_meta_bg`: groups from `firstMetaBg * descriptors per block` on keep their descriptors in their meta group. */
  firstMetaBg: number;
  /** `s_backup_bgs` (only meaningful with `sparse_super2`). */
  backupGroups: [number, number];
}

/** The superblock's magic, at its offset in the 1024 superblock bytes. */
export function hasExtMagic(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 0x3a && u16le(bytes, 0x38) === EXT_MAGIC;
}

/**
 * Decodes and checks the superblock (the 1024 bytes at {@link EXT_SUPERBLOCK_OFFSET}).
 * Throws `CORRUPT` for impossible geometry or a bad checksum, `UNSUPPORTED` for features
 * this driver cannot read (see {@link EXT_INCOMPAT_SUPPORTED}).
 *
 * @param checkFeatures - false for a probe: geometry only, so that a volume with an
 *   unsupported feature is still recognised (and then refused by name when opened)
 */
export function decodeExtSuperblock(bytes: Uint8Array, checkFeatures = true): ExtSuperblock {
  if (!hasExtMagic(bytes)) throw fieldError('CORRUPT', 'superblock.s_magic', 'not an ext2/3/4 superblock (no 0xEF53)');
  const compat = u32le(bytes, 0x5c);
  const incompat = u32le(bytes, 0x60);
  const roCompat = u32le(bytes, 0x64);
  if (incompat & EXT_INCOMPAT.journalDev) {
    throw fieldError('UNSUPPORTED', 'superblock.s_feature_incompat', 'an external ext3/4 journal device, not a file system');
  }
  const revision = u32le(bytes, 0x4c);
  if (revision > 1) throw fieldError('UNSUPPORTED', 'superblock.s_rev_level', `revision ${revision} (Linux reads 0 and 1)`);
  const logBlockSize = u32le(bytes, 0x18);
  if (logBlockSize > MAX_LOG_BLOCK_SIZE) {
    throw fieldError('CORRUPT', 'superblock.s_log_block_size', `${logBlockSize} is above ${MAX_LOG_BLOCK_SIZE} (64 KiB blocks)`);
  }
  const blockSize = 1024 << logBlockSize;
  const bit64 = (incompat & EXT_INCOMPAT.bit64) !== 0;
  const blocksCount = u32le(bytes, 0x04) + (bit64 ? u32le(bytes, 0x150) * 2 ** 32 : 0);
  const firstDataBlock = u32le(bytes, 0x14);
  if (blocksCount === 0 || firstDataBlock >= blocksCount || !Number.isSafeInteger(blocksCount * blockSize)) {
    throw fieldError('CORRUPT', 'superblock.s_blocks_count', `${blocksCount} blocks with the first data block at ${firstDataBlock}`);
  }
  // With bigalloc the bitmaps count clusters: a group holds up to 8 * blockSize clusters.
  let blocksPerCluster = 1;
  if (roCompat & EXT_RO_COMPAT.bigalloc) {
    const logClusterSize = u32le(bytes, 0x1c);
    if (logClusterSize < logBlockSize || logClusterSize > MAX_LOG_CLUSTER_SIZE) {
      throw fieldError('CORRUPT', 'superblock.s_log_cluster_size', `${logClusterSize} is outside ${logBlockSize}..${MAX_LOG_CLUSTER_SIZE}`);
    }
    blocksPerCluster = 2 ** (logClusterSize - logBlockSize);
  }
  const blocksPerGroup = u32le(bytes, 0x20);
  if (blocksPerGroup === 0 || blocksPerGroup > blockSize * 8 * blocksPerCluster) {
    throw fieldError('CORRUPT', 'superblock.s_blocks_per_group', `${blocksPerGroup} is outside 1..${blockSize * 8 * blocksPerCluster} (one bitmap block)`);
  }
  const inodeSize = revision === 0 ? EXT_GOOD_OLD_INODE_SIZE : u16le(bytes, 0x58);
  if (inodeSize < EXT_GOOD_OLD_INODE_SIZE || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) !== 0) {
    throw fieldError('CORRUPT', 'superblock.s_inode_size', `${inodeSize} is not a power of two between 128 and the block size`);
  }
  const inodesPerGroup = u32le(bytes, 0x28);
  if (inodesPerGroup === 0 || inodesPerGroup > blockSize * 8) {
    throw fieldError('CORRUPT', 'superblock.s_inodes_per_group', `${inodesPerGroup} is outside 1..${blockSize * 8} (one bitmap block)`);
  }
  const groupCount = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
  const inodesCount = u32le(bytes, 0x00);
  if (inodesCount !== groupCount * inodesPerGroup) {
    // Linux refuses the mount on this mismatch too ("inodes count not valid").
    throw fieldError('CORRUPT', 'superblock.s_inodes_count', `${inodesCount} is not ${groupCount} groups of ${inodesPerGroup} inodes`);
  }
  let descriptorSize = SMALL_DESCRIPTOR_SIZE;
  if (bit64) {
    descriptorSize = u16le(bytes, 0xfe);
    if (
      descriptorSize < MIN_DESCRIPTOR_SIZE_64BIT ||
      descriptorSize > Math.min(MAX_DESCRIPTOR_SIZE, blockSize) ||
      (descriptorSize & (descriptorSize - 1)) !== 0
    ) {
      throw fieldError('CORRUPT', 'superblock.s_desc_size', `${descriptorSize} is not a power of two between 64 and ${MAX_DESCRIPTOR_SIZE}`);
    }
  }
  if (checkFeatures) checkExtFeatures(bytes, incompat, roCompat);
  const label = cutAtNul(utf8Text(bytes.subarray(0x78, 0x88)));
  return {
    type: extType(compat, incompat, roCompat),
    label: label === '' ? undefined : label,
    uuid: bigEndianUuid(bytes, 0x68),
    blockSize,
    blocksCount,
    firstDataBlock,
    blocksPerGroup,
    blocksPerCluster,
    inodesPerGroup,
    inodesCount,
    inodeSize,
    groupCount,
    descriptorSize,
    compat,
    incompat,
    roCompat,
    firstMetaBg: u32le(bytes, 0x104),
    backupGroups: [u32le(bytes, 0x24c), u32le(bytes, 0x250)],
  };
}

/** libblkid's naming: a journal makes ext3, any feature ext2/ext3 did not know makes ext4. */
function extType(compat: number, incompat: number, roCompat: number): ExtSuperblock['type'] {
  if ((roCompat & ~EXT3_RO_COMPAT_KNOWN) !== 0 || (incompat & ~EXT3_INCOMPAT_KNOWN) !== 0) return 'ext4';
  return compat & EXT_COMPAT.hasJournal ? 'ext3' : 'ext2';
}

function checkExtFeatures(bytes: Uint8Array, incompat: number, roCompat: number): void {
  const unsupported = incompat & ~EXT_INCOMPAT_SUPPORTED;
  if (unsupported !== 0) {
    const names: string[] = [];
    if (unsupported & EXT_INCOMPAT.compression) names.push('compression');
    if (unsupported & EXT_INCOMPAT.dirData) names.push('dirdata');
    const unknown = unsupported & ~(EXT_INCOMPAT.compression | EXT_INCOMPAT.dirData);
    if (unknown !== 0) names.push(`unknown 0x${unknown.toString(16)}`);
    throw fieldError('UNSUPPORTED', 'superblock.s_feature_incompat', `incompatible features this driver cannot read: ${names.join(', ')}`);
  }
  if (roCompat & EXT_RO_COMPAT.metadataCsum) {
    const checksumType = u8(bytes, 0x175);
    if (checksumType !== 1) {
      throw fieldError('UNSUPPORTED', 'superblock.s_checksum_type', `checksum algorithm ${checksumType} (only 1, crc32c, exists)`);
    }
    // ext4 stores the raw crc32c (seed ~0, no final inversion) of the bytes before s_checksum; Linux refuses a mismatch.
    const expected = u32le(bytes, 0x3fc);
    const actual = ~crc32c(bytes.subarray(0, 0x3fc)) >>> 0;
    if (actual !== expected) {
      throw fieldError('CORRUPT', 'superblock.s_checksum', `crc32c 0x${actual.toString(16)} does not match the stored 0x${expected.toString(16)}`);
    }
  }
}
