/**
 * XFS inodes: where inode number `n` is, and the core fields of `struct xfs_dinode`
 * (big-endian) this driver uses.
 *
 * An inode number packs the allocation group, the block in the group and the inode's
 * slot in the block: `n = agno << (agblklog + inopblog) | agbno << inopblog | slot`.
 *
 * | offset | field | use |
 * | --- | --- | --- |
 * | 0x00 | `di_magic` (16) | `IN` |
 * | 0x02 | `di_mode` (16) | type and permissions |
 * | 0x04 | `di_version` (8) | 1 or 2 (v4 file systems), 3 (v5) |
 * | 0x05 | `di_format` (8) | data fork: 0 device, 1 local, 2 extents, 3 btree |
 * | 0x18 | `di_big_nextents` (64) | data fork extents with `XFS_DIFLAG2_NREXT64` |
 * | 0x38 | `di_size` (64) | bytes |
 * | 0x4C | `di_nextents` (32) | data fork extents otherwise |
 * | 0x52 | `di_forkoff` (8) | attribute fork offset in 8-byte units (0: no attribute fork) |
 * | 0x5A | `di_flags` (16) | `XFS_DIFLAG_REALTIME` 0x1: data on the realtime device |
 * | 0x78 | `di_flags2` (64, v3) | `XFS_DIFLAG2_NREXT64` 0x10 |
 * | 0x98 | `di_ino` (64, v3) | the inode's own number |
 *
 * The data fork follows the core: at 100 bytes (versions 1, 2) or 176 (version 3).
 *
 * @module
 */
import { u16be, u32be, u64be, u8 } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from './posix-types.js';
import type { XfsSuperblock } from './xfs-superblock.js';

/** `di_magic`: `IN`. */
const INODE_MAGIC = 0x494e;
/** Core sizes by inode version. */
const CORE_SIZE_V2 = 100;
const CORE_SIZE_V3 = 176;
/** `XFS_DIFLAG2_NREXT64`. */
const FLAG2_LARGE_EXTENT_COUNTS = 0x10;

/** Data fork formats (`XFS_DINODE_FMT_*`). */
export const XFS_FORMAT = { device: 0, local: 1, extents: 2, btree: 3 } as const;
/** `XFS_DIFLAG_REALTIME`. */
export const XFS_FLAG_REALTIME = 0x1;

/** One inode, as read. The driver's node handle. */
export interface XfsInode {
  readonly number: number;
  readonly mode: number;
  readonly format: number;
  readonly size: number;
  readonly extentCount: number;
  readonly flags: number;
  /** The data fork's bytes (its literal area: local data, extent records or a btree root). */
  readonly fork: Uint8Array;
}

/** Where inode `number` is: its byte offset in the volume. Throws `CORRUPT` for a number no allocation group holds. */
export function xfsInodeOffset(superblock: XfsSuperblock, number: number): number {
  const { agBlockLog, inodesPerBlockLog, agCount, agBlocks, blockSize, inodeSize, dataBlocks } = superblock;
  const inGroupBits = agBlockLog + inodesPerBlockLog;
  const group = Math.floor(number / 2 ** inGroupBits);
  const inGroup = number % 2 ** inGroupBits;
  const block = Math.floor(inGroup / 2 ** inodesPerBlockLog);
  const slot = inGroup % 2 ** inodesPerBlockLog;
  const volumeBlock = group * agBlocks + block;
  if (number <= 0 || !Number.isSafeInteger(number) || group >= agCount || block >= agBlocks || volumeBlock >= dataBlocks) {
    throw fieldError('CORRUPT', `inode ${number}`, `not in any of the ${agCount} allocation groups`);
  }
  return volumeBlock * blockSize + slot * inodeSize;
}

/**
 * Decodes an inode's core and data fork, checked as Linux's `xfs_dinode_verify` checks
 * the parts used here: magic, version for the file system, its own number (v3), a fork
 * format that fits the file type, a fork offset inside the literal area.
 */
export function decodeXfsInode(bytes: Uint8Array, number: number, superblock: XfsSuperblock): XfsInode {
  const field = `inode ${number}`;
  if (u16be(bytes, 0) !== INODE_MAGIC) throw fieldError('CORRUPT', field, 'no inode magic "IN"');
  const version = u8(bytes, 4);
  if (superblock.hasCrc ? version !== 3 : version !== 1 && version !== 2) {
    throw fieldError('CORRUPT', `${field}.di_version`, `version ${version} in a v${superblock.version} file system`);
  }
  const mode = u16be(bytes, 2);
  if (mode === 0) throw fieldError('CORRUPT', field, 'a free inode is referenced');
  const format = u8(bytes, 5);
  const type = mode & S_IFMT;
  const dataFormats = type === S_IFDIR || type === S_IFLNK ? [1, 2, 3] : type === S_IFREG ? [2, 3] : [0];
  if (!dataFormats.includes(format)) throw fieldError('CORRUPT', `${field}.di_format`, `format ${format} for mode 0o${mode.toString(8)}`);
  const sizeField = u64be(bytes, 0x38);
  if (sizeField > BigInt(Number.MAX_SAFE_INTEGER)) throw fieldError('CORRUPT', `${field}.di_size`, `${sizeField} is not a file size`);
  const coreSize = version === 3 ? CORE_SIZE_V3 : CORE_SIZE_V2;
  if (version === 3 && u64be(bytes, 0x98) !== BigInt(number)) {
    throw fieldError('CORRUPT', `${field}.di_ino`, `the inode says it is ${u64be(bytes, 0x98)}`);
  }
  const literal = superblock.inodeSize - coreSize;
  const forkOffset = u8(bytes, 0x52) * 8;
  if (forkOffset >= literal) throw fieldError('CORRUPT', `${field}.di_forkoff`, `${forkOffset} is past the ${literal}-byte literal area`);
  const flags2 = version === 3 ? u64be(bytes, 0x78) : 0n;
  let extentCount: number;
  if (flags2 & BigInt(FLAG2_LARGE_EXTENT_COUNTS)) {
    if (!superblock.largeExtentCounts) throw fieldError('CORRUPT', `${field}.di_flags2`, '64-bit extent counter without the nrext64 feature');
    const big = u64be(bytes, 0x18);
    if (big > 2n ** 48n) throw fieldError('CORRUPT', `${field}.di_big_nextents`, `${big} extents`);
    extentCount = Number(big);
  } else {
    extentCount = u32be(bytes, 0x4c);
  }
  return {
    number,
    mode,
    format,
    size: Number(sizeField),
    extentCount,
    flags: u16be(bytes, 0x5a),
    fork: bytes.subarray(coreSize, coreSize + (forkOffset === 0 ? literal : forkOffset)),
  };
}
