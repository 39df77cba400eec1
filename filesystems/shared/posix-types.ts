/**
 * POSIX file types as Unix file systems store them: in an inode's mode (`S_IFMT` bits) and,
 * where the file system records it, in a directory entry's one-byte type (the `DT_*`
 * numbering ext2's `EXT2_FT_*`, XFS's `XFS_DIR3_FT_*` and Btrfs's `BTRFS_FT_*` share for
 * the types below).
 *
 * @module
 */
import type { NodeKind } from '../file-system.js';

/** The file-type bits of a mode (`S_IFMT`). */
export const S_IFMT = 0o170000;
/** A directory (`S_IFDIR`). */
export const S_IFDIR = 0o040000;
/** A regular file (`S_IFREG`). */
export const S_IFREG = 0o100000;
/** A symbolic link (`S_IFLNK`). */
export const S_IFLNK = 0o120000;

/** What a node is, from its mode. */
export function kindOfMode(mode: number): NodeKind {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 'file';
    case S_IFDIR:
      return 'directory';
    case S_IFLNK:
      return 'symlink';
    default:
      return 'other';
  }
}

/**
 * The size a driver reports for an inode: its byte count for a regular file or a symbolic
 * link (the target's length), 0 for anything else (a directory's size counts its blocks).
 */
export function sizeOfInode(inode: { mode: number; size: number }): number {
  const kind = kindOfMode(inode.mode);
  return kind === 'file' || kind === 'symlink' ? inode.size : 0;
}

/**
 * What a node is, from a directory entry's file type (1 regular file, 2 directory,
 * 7 symbolic link; 3-6 devices, FIFOs and sockets), or `undefined` when the entry does not
 * say (0, unknown) and the inode must be read.
 */
export function kindOfDirentType(type: number): NodeKind | undefined {
  switch (type) {
    case 0:
      return undefined;
    case 1:
      return 'file';
    case 2:
      return 'directory';
    case 7:
      return 'symlink';
    default:
      return 'other';
  }
}
