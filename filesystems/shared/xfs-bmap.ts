/**
 * Where an XFS inode's logical blocks are: its data fork's extent list or bmap btree, as
 * {@link BlockRun}s for the first `endBlock` logical blocks only.
 *
 * An extent record (`xfs_bmbt_rec`) is 128 bits, big-endian:
 *
 * | bits | field |
 * | --- | --- |
 * | 127 | unwritten (preallocated, reads as zeros) |
 * | 126-73 | `startoff`: first logical block (54 bits) |
 * | 72-21 | `startblock`: file system block (52 bits): allocation group in the high bits, block in the group in the low `agblklog` |
 * | 20-0 | `blockcount` (21 bits) |
 *
 * A btree-format fork holds the root (`xfs_bmdr_block`: `bb_level`, `bb_numrecs`, then
 * `maxrecs` keys and `maxrecs` 64-bit pointers, `maxrecs` = (fork size − 4) / 16); tree
 * blocks start with a long-form header (`BMAP`, 24 bytes; v5 `BMA3`, 72 bytes with the
 * owner inode at 56), then records (leaves) or keys and pointers (nodes, `maxrecs` =
 * (block size − header) / 16).
 *
 * Hostile input: each level must be its parent's minus one (no cycles), levels and blocks
 * read are capped, keys must increase, every extent must stay inside one allocation group
 * of the data device, and extents must not overlap ({@link RunCollector}).
 *
 * @module
 */
import { u16be, u32be, u64be } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import { type BlockRun, RunCollector } from './block-runs.js';
import { XFS_FORMAT, type XfsInode } from './xfs-inode.js';
import type { XfsSuperblock } from './xfs-superblock.js';

/**
 * The deepest bmap btree accepted, root level included: above what Linux's
 * `xfs_bmbt_maxlevels_ondisk` allows for the largest extent count in the smallest blocks.
 */
export const MAX_XFS_BMAP_LEVELS = 16;
/** Most bmap btree blocks read to map one request (a fragmented file's first megabytes need a handful). */
export const MAX_XFS_BMAP_BLOCKS = 4096;

/**
 * The long-format btree block header (`struct xfs_btree_block`) of each version: v4
 * (`BMAP`, 24 bytes) and v5 (`BMA3`, 72 bytes: CRC, owner, UUID added).
 */
const BLOCK_HEADER = {
  v4: { magic: 0x424d4150, size: 24 },
  v5: { magic: 0x424d4133, size: 72 },
} as const;
/** An extent record (`xfs_bmbt_rec`), or a key and its pointer in a node: 16 bytes. */
const RECORD_SIZE = 16;
/** Root header (`bb_level`, `bb_numrecs`). */
const ROOT_HEADER_SIZE = 4;

/** What the walker needs from the file system. */
export interface XfsBlockSource {
  readonly superblock: XfsSuperblock;
  /** The `blockSize` bytes at `offset`. */
  readBlock(offset: number, field: string): Promise<Uint8Array>;
}

interface Walk {
  source: XfsBlockSource;
  inode: XfsInode;
  collector: RunCollector;
}

/**
 * Byte offset of `count` blocks from file system block `block`, checked to lie in one
 * allocation group of the data device.
 */
export function xfsBlockOffset(superblock: XfsSuperblock, block: number, count: number, field: string): number {
  const group = Math.floor(block / 2 ** superblock.agBlockLog);
  const inGroup = block % 2 ** superblock.agBlockLog;
  const volumeBlock = group * superblock.agBlocks + inGroup;
  if (group >= superblock.agCount || inGroup + count > superblock.agBlocks || volumeBlock + count > superblock.dataBlocks) {
    throw fieldError('CORRUPT', field, `blocks ${block}..${block + count} (group ${group}, block ${inGroup}) are outside the data device`);
  }
  return volumeBlock * superblock.blockSize;
}

/**
 * The runs of logical blocks `0 .. endBlock` of an inode whose data fork is in extents or
 * btree format; blocks no extent maps are left out (they read as zeros).
 */
export async function xfsForkRuns(source: XfsBlockSource, inode: XfsInode, endBlock: number): Promise<BlockRun[]> {
  const walk: Walk = {
    source,
    inode,
    collector: new RunCollector(endBlock, source.superblock.blockSize, `inode ${inode.number} data fork`, MAX_XFS_BMAP_BLOCKS),
  };
  if (inode.format === XFS_FORMAT.extents) {
    if (inode.extentCount * RECORD_SIZE > inode.fork.byteLength) {
      throw fieldError('CORRUPT', walk.collector.field, `${inode.extentCount} extents do not fit the ${inode.fork.byteLength}-byte fork`);
    }
    addRecords(walk, inode.fork, 0, inode.extentCount);
  } else if (inode.format === XFS_FORMAT.btree) {
    await walkRoot(walk);
  } else {
    throw fieldError('CORRUPT', walk.collector.field, `format ${inode.format} has no block map`);
  }
  return walk.collector.runs;
}

/** Adds `count` extent records at `at`, stopping past `endBlock`. Returns false once past it. */
function addRecords(walk: Walk, bytes: Uint8Array, at: number, count: number): boolean {
  const { superblock } = walk.source;
  for (let index = 0; index < count; index += 1) {
    const offset = at + index * RECORD_SIZE;
    const high = u32be(bytes, offset);
    const low = u32be(bytes, offset + 4);
    const third = u32be(bytes, offset + 8);
    const fourth = u32be(bytes, offset + 12);
    const unwritten = high >>> 31 === 1;
    const startOffset = (high & 0x7fffffff) * 2 ** 23 + Math.floor(low / 512);
    if (startOffset >= walk.collector.endBlock) return false;
    const startBlock = (low & 0x1ff) * 2 ** 43 + third * 2 ** 11 + (fourth >>> 21);
    const count = fourth & 0x1fffff;
    const where = `${walk.collector.field} extent ${index}`;
    if (count === 0) throw fieldError('CORRUPT', where, 'an empty extent');
    if (unwritten && !superblock.hasUnwrittenExtents) throw fieldError('CORRUPT', where, 'flagged unwritten without the extent-flag feature');
    const byteOffset = xfsBlockOffset(superblock, startBlock, count, where);
    const used = Math.min(count, walk.collector.endBlock - startOffset);
    walk.collector.add({ logical: startOffset, count: used, byteOffset: unwritten ? undefined : byteOffset }, where);
  }
  return true;
}

async function walkRoot(walk: Walk): Promise<void> {
  const { fork } = walk.inode;
  const level = u16be(fork, 0);
  const records = u16be(fork, 2);
  const capacity = Math.floor((fork.byteLength - ROOT_HEADER_SIZE) / RECORD_SIZE);
  if (level === 0 || level >= MAX_XFS_BMAP_LEVELS || records === 0 || records > capacity) {
    throw fieldError('CORRUPT', `${walk.collector.field} btree root`, `level ${level} with ${records} of ${capacity} entries`);
  }
  await walkPointers(walk, fork, ROOT_HEADER_SIZE, ROOT_HEADER_SIZE + capacity * 8, records, level);
}

/** Follows the children of a node whose keys start at `keysAt` and pointers at `pointersAt`. */
async function walkPointers(walk: Walk, bytes: Uint8Array, keysAt: number, pointersAt: number, records: number, level: number): Promise<boolean> {
  let previousKey = -1;
  for (let index = 0; index < records; index += 1) {
    const keyField = u64be(bytes, keysAt + index * 8);
    const key = keyField > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(keyField);
    if (key >= walk.collector.endBlock) return false;
    if (key <= previousKey) throw fieldError('CORRUPT', `${walk.collector.field} btree level ${level}`, `key ${index} does not increase`);
    previousKey = key;
    const pointer = u64be(bytes, pointersAt + index * 8);
    if (pointer > BigInt(Number.MAX_SAFE_INTEGER)) throw fieldError('CORRUPT', `${walk.collector.field} btree level ${level}`, `pointer ${pointer}`);
    if (!(await walkBlock(walk, Number(pointer), level - 1))) return false;
  }
  return true;
}

/** Reads and walks one tree block expected at `level`. Returns false once past `endBlock`. */
async function walkBlock(walk: Walk, block: number, level: number): Promise<boolean> {
  const { superblock } = walk.source;
  const where = `${walk.collector.field} btree block ${block}`;
  walk.collector.countMappingBlock();
  const bytes = await walk.source.readBlock(xfsBlockOffset(superblock, block, 1, where), where);
  const { magic: expectedMagic, size: header } = superblock.hasCrc ? BLOCK_HEADER.v5 : BLOCK_HEADER.v4;
  const magic = u32be(bytes, 0);
  if (magic !== expectedMagic) throw fieldError('CORRUPT', where, `magic 0x${magic.toString(16)} is not a bmap btree block`);
  if (superblock.hasCrc && u64be(bytes, 56) !== BigInt(walk.inode.number)) {
    throw fieldError('CORRUPT', where, `owned by inode ${u64be(bytes, 56)}, not ${walk.inode.number}`);
  }
  const blockLevel = u16be(bytes, 4);
  const records = u16be(bytes, 6);
  const capacity = Math.floor((superblock.blockSize - header) / RECORD_SIZE);
  if (blockLevel !== level || records > capacity) {
    throw fieldError('CORRUPT', where, `level ${blockLevel} (expected ${level}) with ${records} of ${capacity} records`);
  }
  if (level === 0) return addRecords(walk, bytes, header, records);
  return walkPointers(walk, bytes, header, header + capacity * 8, records, level);
}
