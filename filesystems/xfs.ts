/**
 * XFS (v4 and v5), read-only: enough to walk paths and read small files.
 *
 * | step | structure (Linux and xfsprogs `libxfs`) |
 * | --- | --- |
 * | identify | the superblock at byte 0 ({@link decodeXfsSuperblock}): geometry, label, UUID, features, CRC on v5 |
 * | inode → place | allocation group, block in the group and slot, packed in the inode number ({@link xfsInodeOffset}) |
 * | inode | `xfs_dinode` core version 1/2 or 3 ({@link decodeXfsInode}), then the data fork |
 * | data | the data fork's extent list or bmap btree ({@link xfsForkRuns}); unwritten extents read as zeros |
 * | directories | short form in the inode, otherwise the data blocks of block, leaf and node directories |
 * | symbolic links | in the inode (`local`), or in blocks (with a `XSLM` header per block on v5) |
 *
 * Not read: the log (a file system not cleanly unmounted is read as its metadata stands
 * on disk, like `xfs_db -r`), the realtime device (files on it are refused), attribute
 * forks, per-block CRCs other than the superblock's.
 *
 * @module
 */
import { u32be, u64be } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader } from '../src/format-module.js';
import type { FileSystem, FileSystemContext, FileSystemInfo, FileSystemModule } from './file-system.js';
import { superblockDecodes } from './file-system.js';
import { BlockCache } from './shared/block-cache.js';
import { type BlockRun, readRuns, requestedLength } from './shared/block-runs.js';
import { asciiFoldedEqualsAt, nameText, namesEqualAt, utf8Name } from './shared/names.js';
import { type DirectoryVisitor, type DirectoryWalk, InodeFileSystem, type NameMatcher } from './shared/unix-directory.js';
import { type XfsBlockSource, xfsForkRuns } from './shared/xfs-bmap.js';
import { XFS_DIRECTORY_DATA_SPACE_BYTES, visitDataBlockEntries, visitShortFormEntries } from './shared/xfs-directory.js';
import { XFS_FLAG_REALTIME, XFS_FORMAT, type XfsInode, decodeXfsInode, xfsInodeOffset } from './shared/xfs-inode.js';
import { XFS_SUPERBLOCK_PROBE_BYTES, type XfsSuperblock, decodeXfsSuperblock, hasXfsMagic, xfsSectorSize } from './shared/xfs-superblock.js';

/**
 * The largest directory searched or listed: 32 MiB of data blocks is about half a million
 * names, far beyond any system directory inspection reads, and bounds the bytes a crafted
 * directory size could make a lookup read.
 */
export const MAX_XFS_DIRECTORY_BYTES = 32 * 1024 * 1024;
/** The longest symbolic link XFS stores (`XFS_SYMLINK_MAXLEN`). */
export const XFS_SYMLINK_MAX_BYTES = 1024;

/** The header of each block of a remote symbolic link on v5 (`struct xfs_dsymlink_hdr`). */
const SYMLINK_HEADER_SIZE = 56;
const SYMLINK_MAGIC = 0x58534c4d; // XSLM

/** The XFS driver. */
export const xfs: FileSystemModule = {
  name: 'xfs',
  async probe(volume: ByteReader): Promise<boolean> {
    const bytes = await volume.readAvailable(0, XFS_SUPERBLOCK_PROBE_BYTES, 'xfs superblock');
    if (bytes.byteLength < XFS_SUPERBLOCK_PROBE_BYTES || !hasXfsMagic(bytes)) return false;
    return superblockDecodes(() => decodeXfsSuperblock(bytes, false));
  },
  async open(volume: ByteReader, context: FileSystemContext): Promise<FileSystem> {
    const head = await volume.read(0, XFS_SUPERBLOCK_PROBE_BYTES, 'xfs superblock');
    const sectorSize = hasXfsMagic(head) ? xfsSectorSize(head) : 0;
    const sector = sectorSize > XFS_SUPERBLOCK_PROBE_BYTES ? await volume.read(0, sectorSize, 'xfs superblock') : head;
    const superblock = decodeXfsSuperblock(sector);
    const bytes = superblock.dataBlocks * superblock.blockSize;
    if (volume.size !== undefined && volume.size < bytes) {
      context.warn(`xfs: the volume holds ${volume.size} bytes of the file system's ${bytes}`);
    }
    return new XfsFileSystem(volume, superblock) as FileSystem;
  },
};

/** An opened XFS volume. */
class XfsFileSystem extends InodeFileSystem<XfsInode> implements FileSystem<XfsInode> {
  readonly info: FileSystemInfo;
  readonly caseInsensitive: boolean;
  private readonly blocks: BlockCache;
  private readonly directoryBlocks: BlockCache;
  private readonly source: XfsBlockSource;

  constructor(
    private readonly volume: ByteReader,
    private readonly superblock: XfsSuperblock,
  ) {
    super();
    this.info = { type: 'xfs', ...(superblock.label === undefined ? {} : { label: superblock.label }), uuid: superblock.uuid };
    this.caseInsensitive = superblock.asciiCaseInsensitive;
    this.blocks = new BlockCache(volume, superblock.blockSize);
    this.directoryBlocks = new BlockCache(volume, superblock.directoryBlockSize);
    const blocks = this.blocks;
    this.source = { superblock, readBlock: (offset, field) => blocks.read(offset, field) };
  }

  root(): Promise<XfsInode> {
    return this.inode(this.superblock.rootInode);
  }

  protected nameMatcher(_directory: XfsInode, name: string): NameMatcher {
    const wanted = utf8Name(name);
    const equals = this.superblock.asciiCaseInsensitive ? asciiFoldedEqualsAt : namesEqualAt;
    return (bytes, start, end) => equals(bytes, start, end, wanted);
  }

  async readLink(link: XfsInode): Promise<string> {
    if (this.kind(link) !== 'symlink') throw fieldError('INVALID_ARGUMENT', `inode ${link.number}`, 'not a symbolic link');
    const field = `symbolic link inode ${link.number}`;
    if (link.size === 0 || link.size > XFS_SYMLINK_MAX_BYTES) throw fieldError('CORRUPT', field, `a ${link.size}-byte target (1..${XFS_SYMLINK_MAX_BYTES})`);
    if (link.format === XFS_FORMAT.local) {
      if (link.size > link.fork.byteLength) throw fieldError('CORRUPT', field, `a ${link.size}-byte target in a ${link.fork.byteLength}-byte fork`);
      return nameText(link.fork.subarray(0, link.size));
    }
    return nameText(await this.remoteLinkTarget(link, field));
  }

  async readFile(file: XfsInode, maxBytes: number): Promise<Uint8Array> {
    if (this.kind(file) !== 'file') throw fieldError('INVALID_ARGUMENT', `inode ${file.number}`, 'not a regular file');
    const field = `file inode ${file.number}`;
    if (file.flags & XFS_FLAG_REALTIME) throw fieldError('UNSUPPORTED', field, 'its data is on the realtime device, which is not part of this volume');
    const length = requestedLength(file.size, maxBytes, field);
    const { blockSize } = this.superblock;
    const runs = await xfsForkRuns(this.source, file, Math.ceil(length / blockSize));
    return readRuns(this.volume, runs, blockSize, 0, length, field);
  }

  /** A symbolic link target kept in blocks: on v5 each block starts with a header naming its owner and offset. */
  private async remoteLinkTarget(link: XfsInode, field: string): Promise<Uint8Array> {
    const { blockSize, hasCrc } = this.superblock;
    const perBlock = hasCrc ? blockSize - SYMLINK_HEADER_SIZE : blockSize;
    const blockCount = Math.ceil(link.size / perBlock);
    const runs = await xfsForkRuns(this.source, link, blockCount);
    const stored = await readRuns(this.volume, runs, blockSize, 0, blockCount * blockSize, field);
    if (!hasCrc) return stored.subarray(0, link.size);
    const target = new Uint8Array(link.size);
    for (let index = 0, filled = 0; index < blockCount; index += 1) {
      const block = stored.subarray(index * blockSize, (index + 1) * blockSize);
      const bytes = Math.min(perBlock, link.size - filled);
      const where = `${field} block ${index}`;
      if (u32be(block, 0) !== SYMLINK_MAGIC) throw fieldError('CORRUPT', where, 'no symbolic link header magic "XSLM"');
      if (u32be(block, 4) !== filled || u32be(block, 8) !== bytes || u64be(block, 32) !== BigInt(link.number)) {
        throw fieldError('CORRUPT', where, `the header says ${u32be(block, 8)} bytes at ${u32be(block, 4)} of inode ${u64be(block, 32)}`);
      }
      target.set(block.subarray(SYMLINK_HEADER_SIZE, SYMLINK_HEADER_SIZE + bytes), filled);
      filled += bytes;
    }
    return target;
  }

  /** Walks a directory's entries: the short form in the inode, or every data block. */
  protected walk(directory: XfsInode): DirectoryWalk {
    return (visit) => this.visitEntries(directory, visit);
  }

  private async visitEntries(directory: XfsInode, visit: DirectoryVisitor): Promise<void> {
    const { hasFileType, hasCrc, directoryBlockSize, blockSize } = this.superblock;
    const field = `directory inode ${directory.number}`;
    if (directory.format === XFS_FORMAT.local) {
      visitShortFormEntries(directory.fork, directory.size, hasFileType, field, visit);
      return;
    }
    const dataBytes = Math.min(directory.size, XFS_DIRECTORY_DATA_SPACE_BYTES);
    if (dataBytes > MAX_XFS_DIRECTORY_BYTES) {
      throw fieldError('LIMIT_EXCEEDED', field, `${dataBytes} bytes of entries (at most ${MAX_XFS_DIRECTORY_BYTES} are searched)`);
    }
    const runs = await this.directoryRunsOf(directory, () => xfsForkRuns(this.source, directory, Math.ceil(dataBytes / blockSize)));
    const blocksPerDirectoryBlock = directoryBlockSize / blockSize;
    let previous = -1;
    for (const run of runs) {
      if (run.byteOffset === undefined) continue;
      // Each directory block any part of this run maps, once (a directory block may span runs).
      const first = Math.max(previous + 1, Math.floor(run.logical / blocksPerDirectoryBlock));
      const last = Math.floor((run.logical + run.count - 1) / blocksPerDirectoryBlock);
      for (let index = first; index <= last; index += 1) {
        const where = `${field} directory block ${index}`;
        const block = await this.directoryBlock(runs, run, index, where);
        if (visitDataBlockEntries(block, hasCrc, hasFileType, where, visit)) return;
      }
      previous = Math.max(previous, last);
    }
  }

  /** Directory block `index`: from the cache when one run holds all of it, else assembled from its runs. */
  private directoryBlock(runs: readonly BlockRun[], run: BlockRun, index: number, field: string): Promise<Uint8Array> {
    const { directoryBlockSize, blockSize } = this.superblock;
    const firstBlock = (index * directoryBlockSize) / blockSize;
    const lastBlock = firstBlock + directoryBlockSize / blockSize;
    if (run.byteOffset !== undefined && run.logical <= firstBlock && run.logical + run.count >= lastBlock) {
      return this.directoryBlocks.read(run.byteOffset + (firstBlock - run.logical) * blockSize, field);
    }
    return readRuns(this.volume, runs, blockSize, index * directoryBlockSize, directoryBlockSize, field);
  }

  /** Reads inode `number` from the block that holds it. */
  protected async readInode(number: number): Promise<XfsInode> {
    const { blockSize, inodeSize } = this.superblock;
    const offset = xfsInodeOffset(this.superblock, number);
    const blockStart = offset - (offset % blockSize);
    const block = await this.blocks.read(blockStart, `inode ${number}`);
    return decodeXfsInode(block.subarray(offset - blockStart, offset - blockStart + inodeSize), number, this.superblock);
  }
}
