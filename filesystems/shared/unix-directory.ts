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
import { nameText } from './names.js';
import { kindOfDirentType } from './posix-types.js';

/** Receives one entry: its inode number, its name as `bytes[nameStart .. nameEnd]`, its file type (0 when not recorded). Returns true to stop. */
export type DirectoryVisitor = (bytes: Uint8Array, inode: number, nameStart: number, nameEnd: number, type: number) => boolean;

/** Walks a directory's entries until the visitor returns true. */
export type DirectoryWalk = (visit: DirectoryVisitor) => Promise<void>;

/** The inode number of the first entry whose name `matches`, or `undefined`. */
export async function findEntry(walk: DirectoryWalk, matches: (bytes: Uint8Array, nameStart: number, nameEnd: number) => boolean): Promise<number | undefined> {
  let found: number | undefined;
  await walk((bytes, inode, start, end) => {
    if (!matches(bytes, start, end)) return false;
    found = inode;
    return true;
  });
  return found;
}

/**
 * Up to `limit` entries, `.` and `..` left out. Where an entry does not record its type
 * (ext2 without `filetype`, XFS without `ftype`), `inodeKind` reads it from the inode: at
 * most `limit` inodes.
 */
export async function listEntries(walk: DirectoryWalk, limit: number, inodeKind: (inode: number) => Promise<NodeKind>): Promise<DirectoryEntry[]> {
  if (limit <= 0) return [];
  const entries: Array<{ name: string; inode: number; kind: NodeKind | undefined }> = [];
  await walk((bytes, inode, start, end, type) => {
    const name = nameText(bytes.subarray(start, end));
    if (name !== '.' && name !== '..') entries.push({ name, inode, kind: kindOfDirentType(type) });
    return entries.length >= limit;
  });
  const listed: DirectoryEntry[] = [];
  for (const entry of entries) listed.push({ name: entry.name, kind: entry.kind ?? (await inodeKind(entry.inode)) });
  return listed;
}
