/**
 * Where an ext inode's logical blocks are: the ext4 extent tree or the ext2/3 block map,
 * as {@link BlockRun}s, for the first `endBlock` logical blocks only.
 *
 * Extent tree (Linux `fs/ext4/ext4_extents.h`), in `i_block` (60 bytes: a header and 4
 * entries) and in tree blocks (a header, `(blockSize - 12) / 12` entries, a checksum tail):
 *
 * | structure | bytes | fields |
 * | --- | --- | --- |
 * | header | 12 | `eh_magic` 0xF30A, `eh_entries`, `eh_max`, `eh_depth` (0 = leaf), `eh_generation` |
 * | index (depth > 0) | 12 | `ei_block` first logical block covered, `ei_leaf_lo` (32), `ei_leaf_hi` (16), unused |
 * | extent (depth 0) | 12 | `ee_block`, `ee_len` (above 32768: unwritten, length − 32768), `ee_start_hi` (16), `ee_start_lo` (32) |
 *
 * Block map (ext2/3, and ext4 inodes without `EXTENTS_FL`): `i_block[0..11]` are data
 * blocks, `i_block[12]` an indirect block of `blockSize / 4` pointers, `[13]` a double and
 * `[14]` a triple indirect block; a zero pointer is a hole.
 *
 * Hostile input: every header is checked (magic, `eh_entries <= eh_max <=` what fits), a
 * child's depth must be its parent's minus one (so no node can lead back to itself), the
 * root depth is capped, every block number must lie inside the file system, extents must
 * be in order without overlap ({@link RunCollector}), and each walk reads at most
 * {@link MAX_EXT_MAP_BLOCKS} tree or indirect blocks.
 *
 * @module
 */
import { u16le, u32le } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import { type BlockRun, RunCollector } from './block-runs.js';

/** The deepest extent tree Linux builds or accepts (`EXT4_MAX_EXTENT_DEPTH`). */
export const MAX_EXT_EXTENT_DEPTH = 5;
/**
 * Most extent-tree nodes or indirect blocks read to map one request. Mapping the first
 * 64 MiB of a 1 KiB-block ext2 file takes about 260 indirect blocks and an extent tree
 * rarely needs more than a handful; this bounds the work a crafted tree that shares
 * subtrees (a DAG) could cause.
 */
export const MAX_EXT_MAP_BLOCKS = 4096;

/** `eh_magic`. */
const EXTENT_MAGIC = 0xf30a;
/** Size of the header and of each entry. */
const ENTRY_SIZE = 12;
/** `ee_len` above this marks an unwritten (preallocated) extent (`EXT_INIT_MAX_LEN`). */
const MAX_INITIALIZED_LENGTH = 32768;
/** Direct pointers in `i_block`. */
const DIRECT_BLOCKS = 12;

/** What the walkers need from the file system. */
export interface ExtBlockSource {
  readonly blockSize: number;
  readonly blocksCount: number;
  readonly firstDataBlock: number;
  /** The block numbered `block` (checked by the caller to be inside the file system). */
  readBlock(block: number, field: string): Promise<Uint8Array>;
}

interface Walk {
  source: ExtBlockSource;
  collector: RunCollector;
}

/**
 * The runs of logical blocks `0 .. endBlock` of an inode whose `i_block` holds an extent
 * tree root; blocks no extent covers are left out (they read as zeros).
 */
export async function extentRuns(source: ExtBlockSource, iBlock: Uint8Array, endBlock: number, field: string): Promise<BlockRun[]> {
  const walk: Walk = { source, collector: new RunCollector(endBlock, source.blockSize, field, MAX_EXT_MAP_BLOCKS) };
  await walkExtentNode(walk, iBlock, undefined);
  return walk.collector.runs;
}

async function walkExtentNode(walk: Walk, node: Uint8Array, expectedDepth: number | undefined): Promise<void> {
  const where = `${walk.collector.field} extent node`;
  if (node.byteLength < ENTRY_SIZE || u16le(node, 0) !== EXTENT_MAGIC) {
    throw fieldError('CORRUPT', where, 'no extent header magic 0xF30A');
  }
  const entries = u16le(node, 2);
  const capacity = u16le(node, 4);
  const depth = u16le(node, 6);
  // A block node ends with a 4-byte checksum tail: (blockSize - 12) / 12 entries fit either way.
  const fits = Math.floor((node.byteLength - ENTRY_SIZE) / ENTRY_SIZE);
  if (capacity > fits || entries > capacity) {
    throw fieldError('CORRUPT', where, `${entries} entries of ${capacity} do not fit (${fits} at most)`);
  }
  if (expectedDepth === undefined ? depth > MAX_EXT_EXTENT_DEPTH : depth !== expectedDepth) {
    throw fieldError('CORRUPT', where, `depth ${depth} where ${expectedDepth ?? `at most ${MAX_EXT_EXTENT_DEPTH}`} was expected`);
  }
  const { blockSize } = walk.source;
  for (let index = 0; index < entries; index += 1) {
    const at = ENTRY_SIZE * (index + 1);
    const firstLogical = u32le(node, at);
    if (firstLogical >= walk.collector.endBlock) return;
    if (depth === 0) {
      const stored = u16le(node, at + 4);
      const unwritten = stored > MAX_INITIALIZED_LENGTH;
      const count = unwritten ? stored - MAX_INITIALIZED_LENGTH : stored;
      const start = u16le(node, at + 6) * 2 ** 32 + u32le(node, at + 8);
      if (count === 0) throw fieldError('CORRUPT', where, `extent ${index} is empty`);
      checkBlocks(walk, start, count, `extent ${index}`);
      const used = Math.min(count, walk.collector.endBlock - firstLogical);
      walk.collector.add({ logical: firstLogical, count: used, byteOffset: unwritten ? undefined : start * blockSize }, where);
    } else {
      if (index > 0 && firstLogical <= u32le(node, at - ENTRY_SIZE)) {
        throw fieldError('CORRUPT', where, `index ${index} does not start after the previous one`);
      }
      const child = u16le(node, at + 8) * 2 ** 32 + u32le(node, at + 4);
      checkBlocks(walk, child, 1, `index ${index}`);
      const bytes = await readMapBlock(walk, child);
      await walkExtentNode(walk, bytes, depth - 1);
    }
  }
}

/**
 * The runs of logical blocks `0 .. endBlock` of an inode whose `i_block` holds an ext2/3
 * block map (12 direct pointers, then single, double and triple indirect blocks).
 */
export async function indirectRuns(source: ExtBlockSource, iBlock: Uint8Array, endBlock: number, field: string): Promise<BlockRun[]> {
  const walk: Walk = { source, collector: new RunCollector(endBlock, source.blockSize, field, MAX_EXT_MAP_BLOCKS) };
  const perBlock = source.blockSize / 4;
  for (let index = 0; index < DIRECT_BLOCKS && index < endBlock; index += 1) {
    await mapPointer(walk, u32le(iBlock, index * 4), 0, index);
  }
  let first = DIRECT_BLOCKS;
  for (let level = 1; level <= 3 && first < endBlock; level += 1) {
    await mapPointer(walk, u32le(iBlock, (DIRECT_BLOCKS + level - 1) * 4), level, first);
    first += perBlock ** level;
  }
  return walk.collector.runs;
}

/** Maps the subtree under one pointer: a data block (`level` 0) or an indirect block of `level`. */
async function mapPointer(walk: Walk, pointer: number, level: number, firstLogical: number): Promise<void> {
  if (pointer === 0 || firstLogical >= walk.collector.endBlock) return;
  const where = `${walk.collector.field} block map`;
  checkBlocks(walk, pointer, 1, `${level === 0 ? 'data' : 'indirect'} block for logical block ${firstLogical}`);
  if (level === 0) {
    walk.collector.add({ logical: firstLogical, count: 1, byteOffset: pointer * walk.source.blockSize }, where);
    return;
  }
  const bytes = await readMapBlock(walk, pointer);
  const perBlock = walk.source.blockSize / 4;
  const span = perBlock ** (level - 1);
  for (let index = 0; index < perBlock; index += 1) {
    const logical = firstLogical + index * span;
    if (logical >= walk.collector.endBlock) break;
    await mapPointer(walk, u32le(bytes, index * 4), level - 1, logical);
  }
}

async function readMapBlock(walk: Walk, block: number): Promise<Uint8Array> {
  walk.collector.countMappingBlock();
  return walk.source.readBlock(block, `${walk.collector.field} mapping block ${block}`);
}

/** Linux's `ext4_inode_block_valid`: after the first data block (the superblock) and inside the file system. */
function checkBlocks(walk: Walk, start: number, count: number, what: string): void {
  const { firstDataBlock, blocksCount } = walk.source;
  if (start <= firstDataBlock || start + count > blocksCount) {
    throw fieldError('CORRUPT', `${walk.collector.field} ${what}`, `blocks ${start}..${start + count} are outside the file system's ${firstDataBlock + 1}..${blocksCount}`);
  }
}
