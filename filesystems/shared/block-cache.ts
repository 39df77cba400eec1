/**
 * A small cache of metadata blocks read from a volume.
 *
 * A path walk reads the same few blocks again and again: the block holding the group
 * descriptors or the inode table block shared by `/etc` and `/etc/os-release`, an extent
 * tree node, the first directory block. Keeping the last few hundred kilobytes of such
 * blocks turns those repeats into memory reads. File contents are not cached: they are read
 * once, straight from the volume.
 *
 * Blocks are identified by their byte offset in the volume (XFS block numbers are not
 * linear in the volume, ext ones are: both drivers convert to bytes first). Eviction is
 * least-recently-used.
 *
 * @module
 */
import type { ByteReader } from '../../src/format-module.js';

/**
 * Bytes of metadata kept per opened file system: enough for the descriptors, inode table
 * blocks and directory blocks of a dozen path walks, small enough to hold for every volume
 * of a guest at once.
 */
export const BLOCK_CACHE_BYTES = 1024 * 1024;
/** At least this many blocks are kept whatever the block size (64 KiB blocks would leave 16). */
const MIN_CACHED_BLOCKS = 16;

/** Reads fixed-size blocks from a volume, keeping the most recently used ones. */
export class BlockCache {
  private readonly entries = new Map<number, Promise<Uint8Array>>();
  private readonly capacity: number;

  /**
   * @param volume - the volume the blocks are read from
   * @param blockSize - the size of every block this cache reads
   * @param cacheBytes - how many bytes of blocks to keep
   */
  constructor(
    private readonly volume: ByteReader,
    readonly blockSize: number,
    cacheBytes = BLOCK_CACHE_BYTES,
  ) {
    this.capacity = Math.max(MIN_CACHED_BLOCKS, Math.floor(cacheBytes / blockSize));
  }

  /** The `blockSize` bytes at `offset` (TRUNCATED where the volume ends first). */
  read(offset: number, field: string): Promise<Uint8Array> {
    const cached = this.entries.get(offset);
    if (cached !== undefined) {
      // Re-inserting moves the block to the most recently used end of the map.
      this.entries.delete(offset);
      this.entries.set(offset, cached);
      return cached;
    }
    const pending = this.volume.read(offset, this.blockSize, field);
    this.entries.set(offset, pending);
    // A failed read is not kept: the error is the caller's, the next attempt reads again.
    pending.catch(() => {
      if (this.entries.get(offset) === pending) this.entries.delete(offset);
    });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as number;
      this.entries.delete(oldest);
    }
    return pending;
  }
}

/**
 * Decoded nodes (inodes) already read, so that a directory looked up again is the same
 * object (and keeps what was derived from it, such as its mapped blocks). When full it is
 * emptied: forgetting costs a few re-reads, never correctness.
 */
export class NodeCache<Node> {
  private readonly nodes = new Map<number, Node>();

  /** @param capacity - most nodes kept */
  constructor(private readonly capacity: number) {}

  /** The node numbered `key`, from the cache or from `load`. */
  async get(key: number, load: () => Promise<Node>): Promise<Node> {
    const known = this.nodes.get(key);
    if (known !== undefined) return known;
    const node = await load();
    if (this.nodes.size >= this.capacity) this.nodes.clear();
    this.nodes.set(key, node);
    return node;
  }
}
