/**
 * Looking a name up and listing a directory, for drivers whose directory entries carry an
 * inode number, a byte-string name and (optionally) a file type: ext2/3/4 and XFS.
 *
 * A driver supplies a {@link DirectoryWalk} over its own on-disk format; entries reach
 * the visitor as a range of the block they are in, so that a lookup compares names in
 * place without copying thousands of them.
 *
 * @module
 */
import type { DirectoryEntry, NodeKind } from '../file-system.js';
import { NodeCache } from './block-cache.js';
import type { BlockRun } from './block-runs.js';
import { nameText } from './names.js';
import { kindOfDirentType, kindOfMode, sizeOfInode } from './posix-types.js';
import { firstPicked, takeUpTo } from './walks.js';

/** Receives one entry: its inode number, its name as `bytes[nameStart .. nameEnd]`, its file type (0 when not recorded). Returns true to stop. */
export type DirectoryVisitor = (bytes: Uint8Array, inode: number, nameStart: number, nameEnd: number, type: number) => boolean;

/** Walks a directory's entries until the visitor returns true. */
export type DirectoryWalk = (visit: DirectoryVisitor) => Promise<void>;

/** The inode number of the first entry whose name `matches`, or `undefined`. */
export async function findEntry(walk: DirectoryWalk, matches: (bytes: Uint8Array, nameStart: number, nameEnd: number) => boolean): Promise<number | undefined> {
  return firstPicked(walk, (bytes, inode, start, end) => (matches(bytes, start, end) ? inode : undefined));
}

/**
 * Up to `limit` entries, `.` and `..` left out. Where an entry does not record its type
 * (ext2 without `filetype`, XFS without `ftype`), `inodeKind` reads it from the inode: at
 * most `limit` inodes.
 */
export async function listEntries(walk: DirectoryWalk, limit: number, inodeKind: (inode: number) => Promise<NodeKind>): Promise<DirectoryEntry[]> {
  const entries = await takeUpTo(walk, limit, (bytes, inode, start, end, type) => {
    const name = nameText(bytes.subarray(start, end));
    return name === '.' || name === '..' ? undefined : { name, inode, kind: kindOfDirentType(type) };
  });
  const listed: DirectoryEntry[] = [];
  for (const entry of entries) listed.push({ name: entry.name, kind: entry.kind ?? (await inodeKind(entry.inode)) });
  return listed;
}

/** Matches a directory entry's name, given as a range of the block it is in. */
export type NameMatcher = (bytes: Uint8Array, nameStart: number, nameEnd: number) => boolean;

/** Decoded inodes kept per opened volume (a few hundred bytes each). */
const MAX_CACHED_INODES = 4096;

/**
 * What the ext and XFS drivers share over inodes that carry a POSIX mode: a node's kind and
 * size from its mode, a cache of decoded inodes, the block runs of directories already
 * searched, and lookup and listing over the driver's {@link DirectoryWalk}. A driver
 * supplies how it reads an inode, its walk and how it compares names (byte for byte, or
 * folded where the volume or the directory says so).
 */
export abstract class InodeFileSystem<Inode extends { mode: number; size: number }> {
  private readonly inodes = new NodeCache<Inode>(MAX_CACHED_INODES);
  /** The block runs of directories already searched (a directory grown entry by entry can have one extent per block). */
  private readonly directoryRuns = new WeakMap<Inode, BlockRun[]>();

  /** Reads and decodes the inode numbered `number` (called once while it stays cached). */
  protected abstract readInode(number: number): Promise<Inode>;

  /** The inode numbered `number`, from the cache of decoded inodes or read. */
  protected inode(number: number): Promise<Inode> {
    return this.inodes.get(number, () => this.readInode(number));
  }

  /** The block runs of `directory`: mapped by `map` the first time, then remembered for as long as the inode is. */
  protected async directoryRunsOf(directory: Inode, map: () => Promise<BlockRun[]>): Promise<BlockRun[]> {
    let runs = this.directoryRuns.get(directory);
    if (runs === undefined) {
      runs = await map();
      this.directoryRuns.set(directory, runs);
    }
    return runs;
  }

  /** Visits the entries of `directory`, in on-disk order. */
  protected abstract walk(directory: Inode): DirectoryWalk;
  /** How the entries of `directory` are compared with `name`. */
  protected abstract nameMatcher(directory: Inode, name: string): NameMatcher;

  /** What the node is, from its mode. */
  kind(node: Inode): NodeKind {
    return kindOfMode(node.mode);
  }

  /** Its byte count for a file or a link, else 0. */
  size(node: Inode): number {
    return sizeOfInode(node);
  }

  /** The entry `name` of `directory` (`.` and `..` are not looked up: paths are resolved by the caller). */
  async lookup(directory: Inode, name: string): Promise<Inode | undefined> {
    if (this.kind(directory) !== 'directory' || name === '' || name === '.' || name === '..') return undefined;
    const found = await findEntry(this.walk(directory), this.nameMatcher(directory, name));
    return found === undefined ? undefined : this.inode(found);
  }

  /** Up to `limit` entries of `directory`, in on-disk order. */
  async list(directory: Inode, limit: number): Promise<DirectoryEntry[]> {
    if (this.kind(directory) !== 'directory') return [];
    return listEntries(this.walk(directory), limit, async (inode) => this.kind(await this.inode(inode)));
  }
}
