/**
 * ext2, ext3 and ext4, read-only: enough to walk paths and read small files.
 *
 * | step | structure (Linux `fs/ext4`, e2fsprogs `lib/ext2fs`) |
 * | --- | --- |
 * | identify | the superblock at byte 1024 ({@link decodeExtSuperblock}): geometry, label, UUID, features, the type `blkid` names |
 * | inode → place | group `(n − 1) / s_inodes_per_group`; its descriptor (32 or `s_desc_size` bytes) in the table after the superblock, or in its meta group with `meta_bg`; `bg_inode_table` + index × `s_inode_size` |
 * | inode | `i_mode` 0x00, `i_size_lo` 0x04, `i_links_count` 0x1A, `i_blocks_lo` 0x1C, `i_flags` 0x20, `i_block` 0x28 (60 bytes), `i_file_acl_lo` 0x68, `i_size_high` 0x6C, `l_i_blocks_hi` 0x74, `i_extra_isize` 0x80, in-inode attributes after it |
 * | data | extent tree or block map ({@link extentRuns}, {@link indirectRuns}), or inline data (`i_block` then the `system.data` attribute) |
 * | directories | linear records ({@link directoryRecords}), hashed ones included |
 * | symbolic links | fast (target in `i_block`), inline, or in data blocks |
 *
 * Not read: the journal (a volume flagged `needs_recovery` is read as of its last
 * checkpoint, with a warning, as a read-only mount with `noload` would see it), extended
 * attribute blocks, per-object checksums (only the superblock's is verified). Refused
 * (`UNSUPPORTED`): unknown incompatible features, `compression`, `dirdata`, encrypted
 * files and directories (their names and bytes are ciphertext).
 *
 * @module
 */
import { u16le, u32le } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader } from '../src/format-module.js';
import type { FileSystem, FileSystemContext, FileSystemInfo, FileSystemModule } from './file-system.js';
import { MAX_LINK_TARGET_BYTES, superblockDecodes } from './file-system.js';
import { BlockCache } from './shared/block-cache.js';
import { type BlockRun, readRuns, requestedLength } from './shared/block-runs.js';
import { type ExtBlockSource, extentRuns, indirectRuns } from './shared/ext-block-map.js';
import { EXT_XATTR_INDEX_SYSTEM, inodeAttribute, visitDirectoryRecords } from './shared/ext-directory.js';
import {
  EXT_COMPAT,
  EXT_GOOD_OLD_INODE_SIZE,
  EXT_INCOMPAT,
  EXT_RO_COMPAT,
  EXT_SUPERBLOCK_OFFSET,
  EXT_SUPERBLOCK_SIZE,
  type ExtSuperblock,
  decodeExtSuperblock,
  hasExtMagic,
} from './shared/ext-superblock.js';
import { foldedNameEquals, nameText, namesEqualAt, utf8Name } from './shared/names.js';
import { S_IFMT, S_IFREG } from './shared/posix-types.js';
import { type DirectoryWalk, InodeFileSystem, type NameMatcher } from './shared/unix-directory.js';

/**
 * The largest directory searched or listed: 32 MiB of records is about half a million
 * names, far beyond any system directory inspection reads (`/usr/bin` is well under
 * 1 MiB), and bounds the bytes a crafted directory size could make a lookup read.
 */
export const MAX_EXT_DIRECTORY_BYTES = 32 * 1024 * 1024;

/** The root directory's inode (`EXT2_ROOT_INO`). */
const ROOT_INODE = 2;
/** `i_block` holds 15 32-bit words. */
const I_BLOCK_SIZE = 60;
/** Inode flags (`i_flags`) this driver acts on. */
const INODE_FLAGS = {
  encrypted: 0x800,
  hugeFile: 0x40000,
  extents: 0x80000,
  inlineData: 0x10000000,
  casefold: 0x40000000,
} as const;
/** `bg_flags`: the group's inode table was never written (only meaningful with group descriptor checksums). */
const BG_INODE_UNINIT = 0x1;

/** One inode, as read. The driver's node handle. */
export interface ExtInode {
  readonly number: number;
  readonly mode: number;
  readonly size: number;
  readonly flags: number;
  /** `i_blocks` in 512-byte units, as Linux computes it for `ext4_inode_is_fast_symlink`. */
  readonly blocks512: number;
  /** `i_file_acl`: an extended attribute block, or 0. */
  readonly attributeBlock: number;
  /** The 60 bytes of `i_block`. */
  readonly iBlock: Uint8Array;
  /** The bytes after `128 + i_extra_isize`, where in-inode attributes live. */
  readonly attributeArea: Uint8Array;
}

/** The ext2/3/4 driver. */
export const ext: FileSystemModule = {
  name: 'ext',
  async probe(volume: ByteReader): Promise<boolean> {
    const bytes = await volume.readAvailable(EXT_SUPERBLOCK_OFFSET, EXT_SUPERBLOCK_SIZE, 'ext superblock');
    if (bytes.byteLength < EXT_SUPERBLOCK_SIZE || !hasExtMagic(bytes)) return false;
    // A journal device or impossible geometry: not a file system this driver should claim.
    return superblockDecodes(() => decodeExtSuperblock(bytes, false));
  },
  async open(volume: ByteReader, context: FileSystemContext): Promise<FileSystem> {
    const superblock = decodeExtSuperblock(await volume.read(EXT_SUPERBLOCK_OFFSET, EXT_SUPERBLOCK_SIZE, 'ext superblock'));
    if (superblock.incompat & EXT_INCOMPAT.recover) {
      context.warn(`${superblock.type}: the journal holds changes not yet written back; files are read as of the last checkpoint`);
    }
    const bytes = superblock.blocksCount * superblock.blockSize;
    if (volume.size !== undefined && volume.size < bytes) {
      context.warn(`${superblock.type}: the volume holds ${volume.size} bytes of the file system's ${bytes}`);
    }
    return new ExtFileSystem(volume, superblock) as FileSystem;
  },
};

/** An opened ext2/3/4 volume. */
class ExtFileSystem extends InodeFileSystem<ExtInode> implements FileSystem<ExtInode> {
  readonly info: FileSystemInfo;
  readonly caseInsensitive = false;
  private readonly cache: BlockCache;
  private readonly blocks: ExtBlockSource;

  constructor(
    private readonly volume: ByteReader,
    private readonly superblock: ExtSuperblock,
  ) {
    super();
    this.info = {
      type: superblock.type,
      ...(superblock.label === undefined ? {} : { label: superblock.label }),
      uuid: superblock.uuid,
    };
    const cache = new BlockCache(volume, superblock.blockSize);
    this.cache = cache;
    this.blocks = {
      blockSize: superblock.blockSize,
      blocksCount: superblock.blocksCount,
      firstDataBlock: superblock.firstDataBlock,
      readBlock: (block, field) => cache.read(block * superblock.blockSize, field),
    };
  }

  root(): Promise<ExtInode> {
    return this.inode(ROOT_INODE);
  }

  protected nameMatcher(directory: ExtInode, name: string): NameMatcher {
    const folded = (directory.flags & INODE_FLAGS.casefold) !== 0 && (this.superblock.incompat & EXT_INCOMPAT.casefold) !== 0;
    const wanted = utf8Name(name);
    return (bytes, start, end) => (folded ? foldedNameEquals(bytes.subarray(start, end), name) : namesEqualAt(bytes, start, end, wanted));
  }

  async readLink(link: ExtInode): Promise<string> {
    if (this.kind(link) !== 'symlink') throw fieldError('INVALID_ARGUMENT', `inode ${link.number}`, 'not a symbolic link');
    this.refuseEncrypted(link);
    const field = `symbolic link inode ${link.number}`;
    if (link.size === 0 || link.size > Math.min(MAX_LINK_TARGET_BYTES, this.superblock.blockSize)) {
      throw fieldError('CORRUPT', field, `a ${link.size}-byte target (1..${Math.min(MAX_LINK_TARGET_BYTES, this.superblock.blockSize)})`);
    }
    let target: Uint8Array;
    if (link.flags & INODE_FLAGS.inlineData) {
      target = this.inlineData(link, link.size);
    } else if (this.isFastSymlink(link)) {
      if (link.size >= I_BLOCK_SIZE) throw fieldError('CORRUPT', field, `a fast link's ${link.size}-byte target does not fit i_block`);
      target = link.iBlock.subarray(0, link.size);
    } else {
      target = await readRuns(this.volume, await this.runs(link, 1), this.superblock.blockSize, 0, link.size, field);
    }
    return nameText(target);
  }

  async readFile(file: ExtInode, maxBytes: number): Promise<Uint8Array> {
    if (this.kind(file) !== 'file') throw fieldError('INVALID_ARGUMENT', `inode ${file.number}`, 'not a regular file');
    const length = requestedLength(file.size, maxBytes, `file inode ${file.number}`);
    this.refuseEncrypted(file);
    if (file.flags & INODE_FLAGS.inlineData) return this.inlineData(file, length).slice();
    const { blockSize } = this.superblock;
    const runs = await this.runs(file, Math.ceil(length / blockSize));
    return readRuns(this.volume, runs, blockSize, 0, length, `file inode ${file.number}`);
  }

  /**
   * Linux's `ext4_inode_is_fast_symlink`: a link with no data blocks (beyond an extended
   * attribute block) keeps its target in `i_block`.
   */
  private isFastSymlink(link: ExtInode): boolean {
    const attributeBlocks = link.attributeBlock !== 0 ? (this.superblock.blocksPerCluster * this.superblock.blockSize) / 512 : 0;
    return link.blocks512 - attributeBlocks === 0;
  }

  private refuseEncrypted(node: ExtInode): void {
    if (node.flags & INODE_FLAGS.encrypted) {
      throw fieldError('UNSUPPORTED', `inode ${node.number}`, 'encrypted (fscrypt): its names and contents cannot be read without the key');
    }
  }

  /**
   * Walks the used records of a directory, one block (or inline region) at a time through
   * the block cache.
   */
  protected walk(directory: ExtInode): DirectoryWalk {
    return async (visit) => {
      this.refuseEncrypted(directory);
      const { blockSize, inodesCount } = this.superblock;
      const hasFileType = (this.superblock.incompat & EXT_INCOMPAT.filetype) !== 0;
      const field = `directory inode ${directory.number}`;
      const walkBlock = (bytes: Uint8Array, where: string): boolean =>
        visitDirectoryRecords(bytes, blockSize, hasFileType, inodesCount, where, (inode, start, end, type) => visit(bytes, inode, start, end, type));
      if (directory.flags & INODE_FLAGS.inlineData) {
        // i_block starts with the parent's inode number; records follow, then continue in system.data.
        const value = inodeAttribute(directory.attributeArea, EXT_XATTR_INDEX_SYSTEM, 'data', field) ?? new Uint8Array(0);
        if (!walkBlock(directory.iBlock.subarray(4), `${field} i_block`) && value.byteLength > 0) walkBlock(value, `${field} system.data`);
        return;
      }
      if (directory.size > MAX_EXT_DIRECTORY_BYTES) {
        throw fieldError('LIMIT_EXCEEDED', field, `${directory.size} bytes (at most ${MAX_EXT_DIRECTORY_BYTES} are searched)`);
      }
      const runs = await this.directoryRunsOf(directory, () => this.runs(directory, Math.ceil(directory.size / blockSize)));
      for (const run of runs) {
        if (run.byteOffset === undefined) continue;
        for (let index = 0; index < run.count; index += 1) {
          const where = `${field} block ${run.logical + index}`;
          if (walkBlock(await this.cache.read(run.byteOffset + index * blockSize, where), where)) return;
        }
      }
    };
  }

  private runs(inode: ExtInode, endBlock: number): Promise<BlockRun[]> {
    const field = `inode ${inode.number}`;
    return inode.flags & INODE_FLAGS.extents
      ? extentRuns(this.blocks, inode.iBlock, endBlock, field)
      : indirectRuns(this.blocks, inode.iBlock, endBlock, field);
  }

  /** The first `length` bytes of an inline-data inode: `i_block`, then the `system.data` attribute. */
  private inlineData(inode: ExtInode, length: number): Uint8Array {
    const field = `inline data of inode ${inode.number}`;
    const value = inodeAttribute(inode.attributeArea, EXT_XATTR_INDEX_SYSTEM, 'data', field) ?? new Uint8Array(0);
    const available = I_BLOCK_SIZE + value.byteLength;
    if (inode.size > available) throw fieldError('CORRUPT', field, `${inode.size} bytes claimed, ${available} stored inline`);
    if (length <= I_BLOCK_SIZE) return inode.iBlock.subarray(0, length);
    const bytes = new Uint8Array(length);
    bytes.set(inode.iBlock);
    bytes.set(value.subarray(0, length - I_BLOCK_SIZE), I_BLOCK_SIZE);
    return bytes;
  }

  /** Reads inode `number` from its group's inode table. */
  protected async readInode(number: number): Promise<ExtInode> {
    const { inodesCount, inodesPerGroup, inodeSize, blockSize, blocksCount } = this.superblock;
    const field = `inode ${number}`;
    if (number < 1 || number > inodesCount) throw fieldError('CORRUPT', field, `outside 1..${inodesCount}`);
    const group = Math.floor((number - 1) / inodesPerGroup);
    const index = (number - 1) % inodesPerGroup;
    const descriptor = await this.groupDescriptor(group);
    const checksummed = (this.superblock.roCompat & (EXT_RO_COMPAT.gdtCsum | EXT_RO_COMPAT.metadataCsum)) !== 0;
    if (checksummed && descriptor.flags & BG_INODE_UNINIT) {
      throw fieldError('CORRUPT', field, `group ${group}'s inode table is uninitialised, so no directory can name this inode`);
    }
    const byteInTable = index * inodeSize;
    const block = descriptor.inodeTable + Math.floor(byteInTable / blockSize);
    if (descriptor.inodeTable <= this.superblock.firstDataBlock || block >= blocksCount) {
      throw fieldError('CORRUPT', `group ${group} descriptor`, `inode table block ${descriptor.inodeTable} is outside the file system`);
    }
    const bytes = await this.cache.read(block * blockSize, `${field} (inode table of group ${group})`);
    const start = byteInTable % blockSize;
    return decodeInode(bytes.subarray(start, start + inodeSize), number, this.superblock);
  }

  /** The inode table block and flags of `group`'s descriptor. */
  private async groupDescriptor(group: number): Promise<{ inodeTable: number; flags: number }> {
    const { blockSize, descriptorSize } = this.superblock;
    const perBlock = blockSize / descriptorSize;
    const block = this.descriptorBlock(Math.floor(group / perBlock));
    const field = `group ${group} descriptor`;
    if (block >= this.superblock.blocksCount) throw fieldError('CORRUPT', field, `descriptor block ${block} is outside the file system`);
    const bytes = await this.cache.read(block * blockSize, field);
    const at = (group % perBlock) * descriptorSize;
    const high = descriptorSize >= 64 ? u32le(bytes, at + 0x28) : 0;
    return { inodeTable: high * 2 ** 32 + u32le(bytes, at + 0x08), flags: u16le(bytes, at + 0x12) };
  }

  /** Linux's `descriptor_loc`: where descriptor block `index` is. */
  private descriptorBlock(index: number): number {
    const { blockSize, firstDataBlock, blocksPerGroup, firstMetaBg, incompat } = this.superblock;
    // The superblock is in block 1 with 1 KiB blocks, else in block 0; the primary descriptors follow it.
    const superblockBlock = Math.floor(EXT_SUPERBLOCK_OFFSET / blockSize);
    if (!(incompat & EXT_INCOMPAT.metaBg) || index < firstMetaBg) return superblockBlock + index + 1;
    // meta_bg: each meta group's descriptor block is in its first group, after a superblock backup if that group has one.
    const group = (blockSize / this.superblock.descriptorSize) * index;
    let offset = this.groupHasSuperblock(group) ? 1 : 0;
    if (blockSize === 1024 && index === 0 && firstDataBlock === 0) offset += 1;
    return firstDataBlock + group * blocksPerGroup + offset;
  }

  /** Linux's `ext4_bg_has_super`: group 0, the `sparse_super2` backups, or 0, 1 and powers of 3, 5 and 7. */
  private groupHasSuperblock(group: number): boolean {
    const { compat, roCompat, backupGroups } = this.superblock;
    if (group === 0) return true;
    if (compat & EXT_COMPAT.sparseSuper2) return group === backupGroups[0] || group === backupGroups[1];
    if (group <= 1 || !(roCompat & EXT_RO_COMPAT.sparseSuper)) return true;
    if (group % 2 === 0) return false;
    return isPowerOf(group, 3) || isPowerOf(group, 5) || isPowerOf(group, 7);
  }
}

function isPowerOf(value: number, base: number): boolean {
  let power = base;
  while (power < value) power *= base;
  return power === value;
}

/** Decodes the fields of an on-disk inode this driver uses, refusing free or impossible inodes. */
function decodeInode(bytes: Uint8Array, number: number, superblock: ExtSuperblock): ExtInode {
  const field = `inode ${number}`;
  const mode = u16le(bytes, 0x00);
  const links = u16le(bytes, 0x1a);
  if (mode === 0 || links === 0) throw fieldError('CORRUPT', field, 'a free (deleted) inode is referenced');
  const flags = u32le(bytes, 0x20);
  const isRegular = (mode & S_IFMT) === S_IFREG;
  // Linux's ext4_isize: the high half counts for regular files, and for directories only with largedir.
  const sizeHigh = isRegular || superblock.incompat & EXT_INCOMPAT.largeDir ? u32le(bytes, 0x6c) : 0;
  if (sizeHigh >= 2 ** 21) throw fieldError('CORRUPT', `${field}.i_size`, `${sizeHigh} × 2^32 bytes is not a file size`);
  const size = sizeHigh * 2 ** 32 + u32le(bytes, 0x04);
  const hugeFile = (superblock.roCompat & EXT_RO_COMPAT.hugeFile) !== 0;
  let blocks512 = u32le(bytes, 0x1c) + (hugeFile ? u16le(bytes, 0x74) * 2 ** 32 : 0);
  if (hugeFile && flags & INODE_FLAGS.hugeFile) blocks512 *= superblock.blockSize / 512;
  let attributeArea: Uint8Array = new Uint8Array(0);
  if (bytes.byteLength > EXT_GOOD_OLD_INODE_SIZE) {
    const extra = u16le(bytes, 0x80);
    if (EXT_GOOD_OLD_INODE_SIZE + extra > bytes.byteLength || extra % 4 !== 0) {
      throw fieldError('CORRUPT', `${field}.i_extra_isize`, `${extra} does not fit a ${bytes.byteLength}-byte inode`);
    }
    attributeArea = bytes.subarray(EXT_GOOD_OLD_INODE_SIZE + extra);
  }
  return {
    number,
    mode,
    size,
    flags,
    blocks512,
    attributeBlock: u16le(bytes, 0x76) * 2 ** 32 + u32le(bytes, 0x68),
    iBlock: bytes.subarray(0x28, 0x28 + I_BLOCK_SIZE),
    attributeArea,
  };
}
