/**
 * The contract between a file-system driver and guest inspection.
 *
 * Guest inspection (finding `/etc/os-release`, the Windows registry, an EFI system
 * partition) needs a handful of files from each file system, never a full mount. A driver
 * opens a volume read-only from a {@link ByteReader} over that volume (a partition of the
 * guest's disk, a logical volume) and answers four questions about nodes: what kind is it,
 * what is in this directory, where does this link point, what are the first bytes of this
 * file. Path walking, symbolic links and their caps are shared ({@link resolvePath},
 * {@link readFileAt}) so that every driver follows links the same way.
 *
 * | driver | `info.type` (as libguestfs's `vfs_type` names it) |
 * | --- | --- |
 * | `filesystems/ext.ts` | `ext2`, `ext3`, `ext4` |
 * | `filesystems/xfs.ts` | `xfs` |
 * | `filesystems/btrfs.ts` | `btrfs` |
 * | `filesystems/fat.ts` | `vfat` |
 * | `filesystems/ntfs.ts` | `ntfs` |
 *
 * @module
 */
import { fieldError, isIntrospectionError } from '../src/errors.js';
import type { ByteReader } from '../src/format-module.js';

/** What a node is. `other` covers devices, FIFOs, sockets and anything a driver does not read. */
export type NodeKind = 'file' | 'directory' | 'symlink' | 'other';

/** Identity of a file system, as `blkid` and libguestfs report it. */
export interface FileSystemInfo {
  /** `ext4`, `xfs`, `btrfs`, `vfat`, `ntfs`, ... */
  type: string;
  /** The volume label, when the file system has one. */
  label?: string;
  /**
   * The file system UUID in the usual text form, lower case; or, where the file system has
   * a serial number instead (FAT `XXXX-XXXX`, NTFS 16 hex digits), the serial as `blkid`
   * prints it, upper case, which is also how `/etc/fstab` names such volumes.
   */
  uuid?: string;
}

/** One directory entry. */
export interface DirectoryEntry {
  name: string;
  kind: NodeKind;
}

/**
 * An opened, read-only file system. `Node` is the driver's own handle (an inode number, an
 * MFT record, a directory entry); callers only pass back what the driver gave them.
 */
export interface FileSystem<Node = unknown> {
  readonly info: FileSystemInfo;
  /** True where names compare case-insensitively (FAT, NTFS): the path walker then looks names up as given and the driver folds case. */
  readonly caseInsensitive: boolean;
  /** The root directory. */
  root(): Promise<Node>;
  /** What `node` is. */
  kind(node: Node): NodeKind;
  /** The file's length in bytes (0 for what is not a file or a link). */
  size(node: Node): number;
  /** The entry called `name` in `directory` (one path component, no `/`), or `undefined`. */
  lookup(directory: Node, name: string): Promise<Node | undefined>;
  /** Up to `limit` entries of `directory`, in the order the file system keeps them (`.` and `..` left out). */
  list(directory: Node, limit: number): Promise<DirectoryEntry[]>;
  /** The target a symbolic link names, as stored. */
  readLink(link: Node): Promise<string>;
  /** The first `min(size, maxBytes)` bytes of a file; holes and unwritten extents read as zeros. */
  readFile(file: Node, maxBytes: number): Promise<Uint8Array>;
  /**
   * A reader over the whole file that reads on demand, for files too large to hold (a
   * Windows registry hive is 50-100 MiB). Optional: drivers that omit it are read through
   * {@link FileSystem.readFile}.
   */
  openFile?(file: Node): ByteReader;
}

/** Services a driver gets while it opens a volume. */
export interface FileSystemContext {
  /** Records a soft problem (an inconsistent but readable structure). */
  warn(message: string): void;
  /** The caller's abort signal (readers already honour it on every read). */
  readonly signal?: AbortSignal | undefined;
}

/** A file-system driver, listed explicitly (no registration by import). */
export interface FileSystemModule {
  /** The driver's name, e.g. `ext` (a driver may report several `info.type`s). */
  readonly name: string;
  /** True when the volume holds this file system (its superblock's magic and sanity checks); reads little. */
  probe(volume: ByteReader): Promise<boolean>;
  /** Opens the volume. Throws `IntrospectionError` on a damaged or unsupported file system. */
  open(volume: ByteReader, context: FileSystemContext): Promise<FileSystem>;
}

/** Most symbolic links followed while resolving one path (Linux's `MAXSYMLINKS` is 40). */
export const MAX_SYMLINKS_PER_PATH = 40;
/** Most components in one path, links expanded (bounds the work on a crafted link chain). */
export const MAX_PATH_COMPONENTS = 256;
/** Longest symbolic link target read (Linux `PATH_MAX`). */
export const MAX_LINK_TARGET_BYTES = 4096;

/**
 * Resolves an absolute path as the guest's kernel would, with this file system as `/`:
 * `.` and `..` (never above the root), absolute link targets from this root, relative ones
 * from the link's directory, at most {@link MAX_SYMLINKS_PER_PATH} links. Returns
 * `undefined` when a component does not exist; throws `CORRUPT` for a link loop.
 *
 * @param followFinal - follow a link in the last component (true, as `stat` does) or return the link itself
 */
export async function resolvePath<Node>(fs: FileSystem<Node>, path: string, followFinal = true): Promise<Node | undefined> {
  const pending = splitPath(path);
  const stack: Node[] = [await fs.root()];
  let linksFollowed = 0;
  let componentsSeen = 0;
  while (pending.length > 0) {
    const name = pending.shift() as string;
    componentsSeen += 1;
    if (componentsSeen > MAX_PATH_COMPONENTS) {
      throw fieldError('LIMIT_EXCEEDED', `path ${path}`, `more than ${MAX_PATH_COMPONENTS} components once links are expanded`);
    }
    if (name === '.') continue;
    if (name === '..') {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const directory = stack[stack.length - 1] as Node;
    if (fs.kind(directory) !== 'directory') return undefined;
    const node = await fs.lookup(directory, name);
    if (node === undefined) return undefined;
    if (fs.kind(node) === 'symlink' && (pending.length > 0 || followFinal)) {
      linksFollowed += 1;
      if (linksFollowed > MAX_SYMLINKS_PER_PATH) {
        throw fieldError('CORRUPT', `path ${path}`, `more than ${MAX_SYMLINKS_PER_PATH} symbolic links (a loop?)`);
      }
      const target = await fs.readLink(node);
      if (target.startsWith('/')) stack.splice(1);
      pending.unshift(...splitPath(target));
      continue;
    }
    stack.push(node);
  }
  return stack[stack.length - 1];
}

/**
 * The first `maxBytes` bytes of the regular file at `path` (links followed), or
 * `undefined` when there is no such file.
 */
export async function readFileAt<Node>(fs: FileSystem<Node>, path: string, maxBytes: number): Promise<Uint8Array | undefined> {
  const node = await resolvePath(fs, path);
  if (node === undefined || fs.kind(node) !== 'file') return undefined;
  return fs.readFile(node, maxBytes);
}

function splitPath(path: string): string[] {
  return path.split('/').filter((part) => part !== '');
}

/**
 * A probe's verdict on a superblock that has the magic: true when `decode` accepts it, false
 * when it throws an IntrospectionError (a journal device, impossible geometry: not a file
 * system the driver should claim). Any other error is a bug and is rethrown.
 */
export function superblockDecodes(decode: () => unknown): boolean {
  try {
    decode();
    return true;
  } catch (error) {
    if (isIntrospectionError(error)) return false;
    throw error;
  }
}
