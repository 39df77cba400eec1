/**
 * Reading btrfs trees from one device: logical-to-physical mapping through the chunk tree
 * (bootstrapped from the superblock's `sys_chunk_array`), tree blocks checked as the
 * kernel's tree checker does, and searches over key ranges.
 *
 * Why searches cannot loop: a child's level is its parent's minus one (so a walk is at most
 * {@link BTRFS_MAX_TREE_LEVEL} + 1 blocks deep), and every block's keys must lie in the key
 * range its parent gives it (first key equal to the parent's slot key, all keys below the
 * next slot's key). Ranges at one level are disjoint, so a search visits each block at most
 * once; {@link MAX_TREE_BLOCKS_PER_SEARCH} is a second bound on top.
 *
 * @module
 */
import { bytesEqual, crc32c, safeNumber, u32le, u64le } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import type { ByteReader } from '../../src/format-module.js';
import { concat } from '../../src/reading/tail-window.js';
import {
  BlockGroupProfile,
  BTRFS_CSUM_BYTES,
  BTRFS_HEADER_BYTES,
  BTRFS_ITEM_BYTES,
  BTRFS_KEY_BYTES,
  BTRFS_KEY_PTR_BYTES,
  BTRFS_MAX_TREE_LEVEL,
  type BtrfsKey,
  type BtrfsSuperblock,
  type ChunkMapping,
  compareKeys,
  KeyType,
  keyText,
  ObjectId,
  parseChunkItem,
  parseTreeBlockHeader,
  profileName,
  readKey,
  type TreeRootPointer,
  U64_MAX,
} from './btrfs-structures.js';

/** Most tree blocks one search may visit (a directory listing or a file's extents across many leaves); far above any real walk of the few files inspection reads. */
export const MAX_TREE_BLOCKS_PER_SEARCH = 65_536;
/** Tree blocks kept decoded in memory (at most 64 KiB each): the upper levels of every tree stay cached, so a lookup costs about one leaf read. */
export const MAX_CACHED_TREE_BLOCKS = 256;
/** Chunk mappings found in the chunk tree kept in memory (a 1 TiB file system has about a thousand). */
export const MAX_CACHED_CHUNKS = 4096;
/** Largest single read of file data handed to the device reader; longer extents are read in pieces. */
export const MAX_DEVICE_READ_BYTES = 4 * 1024 * 1024;

/** One item of a leaf: its key and its data (a view into the block). */
export interface LeafItem {
  key: BtrfsKey;
  data: Uint8Array;
}

interface TreeBlock {
  logical: number;
  level: number;
  generation: bigint;
  keys: BtrfsKey[];
  /** Leaves: where each item's data lies (from the end of the header) and, once read, the data. */
  items: ItemPlace[];
  children: Array<{ logical: number; generation: bigint }>;
  /** Where the block starts on the device (its items' data are read from there). */
  physical: number;
}

/** Where one leaf item's data lies, and the data once read. */
interface ItemPlace {
  offset: number;
  size: number;
  data?: Uint8Array;
}

/**
 * How tree blocks are read.
 *
 * | mode | reads | checks |
 * | --- | --- | --- |
 * | `whole` | every block whole | its crc32c (when the file system uses crc32c), then its structure |
 * | `needed` | a block's header and its key array, then only the leaf items a search uses | its structure (bytenr, fsid, level and generation against the parent, key order and range, item places); the checksum covers the whole block and is not checked |
 */
export type TreeBlockReading = 'whole' | 'needed';

/** Where a search may map tree blocks from: the bootstrap chunks only (while reading the chunk tree itself) or every chunk. */
type Mapping = 'bootstrap' | 'full';

/**
 * One btrfs device opened for reading: maps logical addresses, reads and checks tree
 * blocks, and searches trees.
 */
export class BtrfsDevice {
  private readonly bootstrapChunks: ChunkMapping[];
  private readonly foundChunks: ChunkMapping[] = [];
  private readonly blocks = new Map<number, TreeBlock>();
  /** True when tree blocks are read whole and their crc32c is checked. */
  readonly verifyChecksums: boolean;
  /** Bytes requested from the volume so far (tree blocks and file data). */
  bytesRead = 0;

  constructor(
    readonly volume: ByteReader,
    readonly superblock: BtrfsSuperblock,
    private readonly reading: TreeBlockReading = 'whole',
  ) {
    this.bootstrapChunks = parseSystemChunkArray(superblock.sysChunkArray);
    this.verifyChecksums = reading === 'whole' && superblock.csumType === 0;
  }

  /** Reads `length` bytes at logical address `logical`, across chunk boundaries. */
  async readLogical(logical: number, length: number, field: string): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { physical, contiguous } = await this.map(logical + done, 'full', field);
      const piece = Math.min(length - done, contiguous, MAX_DEVICE_READ_BYTES, Math.max(1, this.volume.maxReadLength));
      out.set(await this.readPhysical(physical, piece, field), done);
      done += piece;
    }
    return out;
  }

  private async readPhysical(physical: number, length: number, field: string): Promise<Uint8Array> {
    this.bytesRead += length;
    return this.volume.read(physical, length, field);
  }

  /**
   * The physical offset on this device of logical address `logical`, and how many bytes
   * from there stay in the same chunk.
   */
  private async map(logical: number, mapping: Mapping, field: string): Promise<{ physical: number; contiguous: number }> {
    const chunk = findChunk(this.bootstrapChunks, logical) ?? findChunk(this.foundChunks, logical) ?? (mapping === 'full' ? await this.lookUpChunk(logical) : undefined);
    if (chunk === undefined) {
      throw fieldError('CORRUPT', field, `logical address ${logical} is in no ${mapping === 'bootstrap' ? 'system ' : ''}chunk`);
    }
    const stripe = this.stripeOnThisDevice(chunk, field);
    const within = logical - chunk.logical;
    return { physical: stripe.offset + within, contiguous: chunk.length - within };
  }

  /**
   * The stripe of `chunk` to read: the only one (single), the first (DUP: both copies are
   * on this device), or the copy on this device (RAID1, RAID1C3, RAID1C4). Striped and
   * parity profiles need the other devices.
   */
  private stripeOnThisDevice(chunk: ChunkMapping, field: string): { offset: number } {
    const mirrored = BlockGroupProfile.dup | BlockGroupProfile.raid1 | BlockGroupProfile.raid1c3 | BlockGroupProfile.raid1c4;
    const striped = BlockGroupProfile.raid0 | BlockGroupProfile.raid10 | BlockGroupProfile.raid5 | BlockGroupProfile.raid6;
    if ((chunk.type & striped) !== 0n && chunk.stripes.length > 1) {
      throw fieldError('UNSUPPORTED', field, `chunk at ${chunk.logical} uses the ${profileName(chunk.type)} profile across ${chunk.stripes.length} devices; only this one is readable`);
    }
    const candidates = (chunk.type & mirrored) !== 0n ? chunk.stripes : chunk.stripes.slice(0, 1);
    const stripe = candidates.find((candidate) => candidate.devid === this.superblock.devid);
    if (stripe === undefined) {
      throw fieldError('UNSUPPORTED', field, `chunk at ${chunk.logical} (${profileName(chunk.type)}) lies on device ${candidates[0]?.devid}, not on this one (device ${this.superblock.devid})`);
    }
    return stripe;
  }

  /** Finds the chunk holding `logical` in the chunk tree: the last CHUNK_ITEM keyed at or below it. */
  private async lookUpChunk(logical: number): Promise<ChunkMapping | undefined> {
    const item = await this.findLastAtOrBefore(this.superblock.chunkTree, { objectId: ObjectId.firstChunkTree, type: KeyType.chunkItem, offset: BigInt(logical) }, 'bootstrap');
    if (item === undefined || item.key.objectId !== ObjectId.firstChunkTree || item.key.type !== KeyType.chunkItem) return undefined;
    const { chunk } = parseChunkItem(item.data, 0, item.key.offset, `chunk tree item ${keyText(item.key)}`);
    if (logical >= chunk.logical + chunk.length) return undefined;
    if (this.foundChunks.length >= MAX_CACHED_CHUNKS) this.foundChunks.splice(0, this.foundChunks.length >> 1);
    insertSorted(this.foundChunks, chunk);
    return chunk;
  }

  /**
   * Reads, checks and decodes the tree block at `logical`, which its parent (or the
   * superblock or a root item) says has `level` and `generation`, and whose keys must lie
   * in [`low`, `high`) (`low` being exactly its first key when given).
   */
  private async block(logical: number, level: number, generation: bigint, low: BtrfsKey | undefined, high: BtrfsKey | undefined, mapping: Mapping): Promise<TreeBlock> {
    const field = `tree block ${logical}`;
    let block = this.blocks.get(logical);
    if (block === undefined) {
      block = await this.readBlock(logical, mapping, field);
      if (this.blocks.size >= MAX_CACHED_TREE_BLOCKS) {
        const oldest = this.blocks.keys().next();
        if (oldest.done !== true) this.blocks.delete(oldest.value);
      }
      this.blocks.set(logical, block);
    }
    if (block.level !== level) throw fieldError('CORRUPT', `${field}.level`, `the block says level ${block.level}, its parent expects ${level}`);
    if (block.generation !== generation) {
      throw fieldError('CORRUPT', `${field}.generation`, `the block was written in generation ${block.generation}, its parent expects ${generation}`);
    }
    const first = block.keys[0];
    const last = block.keys[block.keys.length - 1];
    if (low !== undefined) {
      if (first === undefined || compareKeys(first, low) !== 0) {
        throw fieldError('CORRUPT', `${field} first key`, `${first === undefined ? 'the block is empty' : keyText(first)}, its parent's slot says ${keyText(low)}`);
      }
    }
    if (high !== undefined && last !== undefined && compareKeys(last, high) >= 0) {
      throw fieldError('CORRUPT', `${field} last key`, `${keyText(last)} is not below the next slot's key ${keyText(high)} in its parent`);
    }
    return block;
  }

  private async readBlock(logical: number, mapping: Mapping, field: string): Promise<TreeBlock> {
    const { nodeSize, sectorSize } = this.superblock;
    if (logical % sectorSize !== 0) throw fieldError('CORRUPT', field, `address ${logical} is not aligned to the ${sectorSize}-byte sector`);
    const { physical, contiguous } = await this.map(logical, mapping, field);
    if (contiguous < nodeSize) throw fieldError('CORRUPT', field, `a ${nodeSize}-byte block at ${logical} crosses the end of its chunk`);
    // Read in part: the header, then the key array it announces (item data on demand, see itemData).
    let bytes = await this.readPhysical(physical, this.reading === 'whole' ? nodeSize : BTRFS_HEADER_BYTES, field);
    if (this.verifyChecksums) {
      const stored = u32le(bytes, 0);
      const computed = crc32c(bytes.subarray(BTRFS_CSUM_BYTES));
      if (stored !== computed) throw fieldError('CORRUPT', `${field}.csum`, `crc32c is 0x${computed.toString(16)}, the block says 0x${stored.toString(16)}`, physical);
    }
    const header = parseTreeBlockHeader(bytes);
    if (header.bytenr !== BigInt(logical)) throw fieldError('CORRUPT', `${field}.bytenr`, `the block says it is at ${header.bytenr}`, physical);
    if (!bytesEqual(bytes, 0x20, this.superblock.metadataUuidBytes)) throw fieldError('CORRUPT', `${field}.fsid`, 'the block belongs to another file system', physical);
    if (header.level > BTRFS_MAX_TREE_LEVEL) throw fieldError('CORRUPT', `${field}.level`, `${header.level} is above ${BTRFS_MAX_TREE_LEVEL}`, physical);
    const room = nodeSize - BTRFS_HEADER_BYTES;
    const entryBytes = header.level === 0 ? BTRFS_ITEM_BYTES : BTRFS_KEY_PTR_BYTES;
    if (header.itemCount * entryBytes > room) {
      throw fieldError('CORRUPT', `${field}.nritems`, `${header.itemCount} ${header.level === 0 ? 'items' : 'pointers'} do not fit a ${nodeSize}-byte block`, physical);
    }
    if (header.level > 0 && header.itemCount === 0) throw fieldError('CORRUPT', `${field}.nritems`, 'an internal node with no children', physical);
    const block: TreeBlock = { logical, level: header.level, generation: header.generation, keys: [], items: [], children: [], physical };
    const itemsEnd = header.itemCount * entryBytes;
    if (this.reading === 'needed' && itemsEnd > 0) bytes = concat([bytes, await this.readPhysical(physical + BTRFS_HEADER_BYTES, itemsEnd, field)]);
    for (let index = 0; index < header.itemCount; index += 1) {
      const at = BTRFS_HEADER_BYTES + index * entryBytes;
      const key = readKey(bytes, at, `${field} key ${index}`);
      const previous = block.keys[index - 1];
      if (previous !== undefined && compareKeys(previous, key) >= 0) {
        throw fieldError('CORRUPT', `${field} key ${index}`, `${keyText(key)} does not follow ${keyText(previous)}`, physical);
      }
      block.keys.push(key);
      if (header.level === 0) {
        const dataOffset = u32le(bytes, at + BTRFS_KEY_BYTES);
        const dataSize = u32le(bytes, at + BTRFS_KEY_BYTES + 4);
        // Item data grows down from the end of the block; it may not overlap the item headers.
        if (dataOffset < itemsEnd || dataOffset + dataSize > room) {
          throw fieldError('CORRUPT', `${field} item ${index}`, `data at ${dataOffset} (${dataSize} bytes) lies outside the block's data area ${itemsEnd}..${room}`, physical);
        }
        const place: ItemPlace = { offset: dataOffset, size: dataSize };
        if (this.reading === 'whole') place.data = bytes.subarray(BTRFS_HEADER_BYTES + dataOffset, BTRFS_HEADER_BYTES + dataOffset + dataSize);
        block.items.push(place);
      } else {
        block.children.push({
          logical: safeNumber(u64le(bytes, at + BTRFS_KEY_BYTES), `${field} pointer ${index}`),
          generation: u64le(bytes, at + BTRFS_KEY_BYTES + 8),
        });
      }
    }
    return block;
  }

  /** Leaf item `index`'s data: read now when the block was read in part. */
  private async itemData(block: TreeBlock, index: number): Promise<Uint8Array> {
    const place = block.items[index] as ItemPlace;
    place.data ??= await this.readPhysical(block.physical + BTRFS_HEADER_BYTES + place.offset, place.size, `tree block ${block.logical} item ${index}`);
    return place.data;
  }

  /**
   * Calls `visit` for each item with a key in [`min`, `max`], in key order, until it
   * returns `false`.
   */
  async forEachItem(root: TreeRootPointer, min: BtrfsKey, max: BtrfsKey, visit: (item: LeafItem) => boolean | void, mapping: Mapping = 'full'): Promise<void> {
    const budget = { blocks: 0 };
    await this.walk(root.logical, root.level, root.generation, undefined, undefined, min, max, visit, mapping, budget);
  }

  private async walk(
    logical: number,
    level: number,
    generation: bigint,
    low: BtrfsKey | undefined,
    high: BtrfsKey | undefined,
    min: BtrfsKey,
    max: BtrfsKey,
    visit: (item: LeafItem) => boolean | void,
    mapping: Mapping,
    budget: { blocks: number },
  ): Promise<boolean> {
    budget.blocks += 1;
    if (budget.blocks > MAX_TREE_BLOCKS_PER_SEARCH) throw fieldError('LIMIT_EXCEEDED', `tree block ${logical}`, `a search visited more than ${MAX_TREE_BLOCKS_PER_SEARCH} tree blocks`);
    const block = await this.block(logical, level, generation, low, high, mapping);
    if (level === 0) {
      for (let index = lastAtOrBefore(block.keys, min, true) + 1; index < block.keys.length; index += 1) {
        const key = block.keys[index] as BtrfsKey;
        if (compareKeys(key, max) > 0) return false;
        if (visit({ key, data: await this.itemData(block, index) }) === false) return false;
      }
      return true;
    }
    // Child i holds keys in [key i, key i+1): start at the last child whose first key is <= min.
    for (let index = Math.max(0, lastAtOrBefore(block.keys, min, false)); index < block.keys.length; index += 1) {
      const key = block.keys[index] as BtrfsKey;
      if (compareKeys(key, max) > 0) return false;
      const child = block.children[index] as { logical: number; generation: bigint };
      const next = block.keys[index + 1] ?? high;
      if (!(await this.walk(child.logical, level - 1, child.generation, key, next, min, max, visit, mapping, budget))) return false;
    }
    return true;
  }

  /** The item with exactly `key`, if any. */
  async findItem(root: TreeRootPointer, key: BtrfsKey): Promise<LeafItem | undefined> {
    let found: LeafItem | undefined;
    await this.forEachItem(root, key, key, (item) => {
      found = item;
      return false;
    });
    return found;
  }

  /** The first item with a key in [`min`, `max`], if any. */
  async findFirst(root: TreeRootPointer, min: BtrfsKey, max: BtrfsKey): Promise<LeafItem | undefined> {
    let found: LeafItem | undefined;
    await this.forEachItem(root, min, max, (item) => {
      found = item;
      return false;
    });
    return found;
  }

  /** The item with the greatest key at or below `key`, if any (one root-to-leaf descent). */
  async findLastAtOrBefore(root: TreeRootPointer, key: BtrfsKey, mapping: Mapping = 'full'): Promise<LeafItem | undefined> {
    let logical = root.logical;
    let generation = root.generation;
    let low: BtrfsKey | undefined;
    let high: BtrfsKey | undefined;
    for (let level = root.level; ; level -= 1) {
      const block = await this.block(logical, level, generation, low, high, mapping);
      const index = lastAtOrBefore(block.keys, key, false);
      if (level === 0) {
        return index < 0 ? undefined : { key: block.keys[index] as BtrfsKey, data: await this.itemData(block, index) };
      }
      if (index < 0) return undefined;
      const child = block.children[index] as { logical: number; generation: bigint };
      low = block.keys[index] as BtrfsKey;
      high = block.keys[index + 1] ?? high;
      logical = child.logical;
      generation = child.generation;
    }
  }
}

/** The whole key range of one object id and type. */
export function keyRange(objectId: bigint, type: number): [BtrfsKey, BtrfsKey] {
  return [
    { objectId, type, offset: 0n },
    { objectId, type, offset: U64_MAX },
  ];
}

/**
 * Decodes the superblock's bootstrap array: (key, chunk item) pairs describing the SYSTEM
 * chunks, where the chunk tree itself lives.
 */
export function parseSystemChunkArray(bytes: Uint8Array): ChunkMapping[] {
  const chunks: ChunkMapping[] = [];
  let at = 0;
  while (at < bytes.byteLength) {
    const field = `superblock.sys_chunk_array[${chunks.length}]`;
    if (at + BTRFS_KEY_BYTES > bytes.byteLength) throw fieldError('CORRUPT', field, `a key at ${at} runs past the array's ${bytes.byteLength} bytes`);
    const key = readKey(bytes, at, field);
    if (key.type !== KeyType.chunkItem) throw fieldError('CORRUPT', field, `key ${keyText(key)} is not a chunk item`);
    const { chunk, bytes: size } = parseChunkItem(bytes, at + BTRFS_KEY_BYTES, key.offset, field);
    insertSorted(chunks, chunk);
    at += BTRFS_KEY_BYTES + size;
  }
  if (chunks.length === 0) throw fieldError('CORRUPT', 'superblock.sys_chunk_array', 'no system chunk: the chunk tree cannot be found');
  return chunks;
}

/**
 * Index of the last key at or below `key` (strictly below with `strict`) in ascending
 * `keys`, or -1 when there is none (binary search: a 64 KiB leaf holds hundreds of keys).
 */
function lastAtOrBefore(keys: readonly BtrfsKey[], key: BtrfsKey, strict: boolean): number {
  let low = 0;
  let high = keys.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const order = compareKeys(keys[middle] as BtrfsKey, key);
    if (order < 0 || (order === 0 && !strict)) {
      found = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found;
}

function insertSorted(chunks: ChunkMapping[], chunk: ChunkMapping): void {
  let index = chunks.length;
  while (index > 0 && (chunks[index - 1] as ChunkMapping).logical > chunk.logical) index -= 1;
  chunks.splice(index, 0, chunk);
}

function findChunk(chunks: readonly ChunkMapping[], logical: number): ChunkMapping | undefined {
  let low = 0;
  let high = chunks.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const chunk = chunks[middle] as ChunkMapping;
    if (logical < chunk.logical) high = middle - 1;
    else if (logical >= chunk.logical + chunk.length) low = middle + 1;
    else return chunk;
  }
  return undefined;
}
