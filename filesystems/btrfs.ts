/**
 * A read-only Btrfs driver for one device: enough to find and read a few files of a guest.
 *
 * What it walks, in the order a lookup needs it:
 *
 * 1. the superblock at 64 KiB (checksum verified for crc32c; other checksum algorithms are
 *    reported and their blocks read unverified);
 * 2. the chunk tree, found through the superblock's `sys_chunk_array`, mapping logical
 *    addresses to this device (profiles single and DUP, and the local copy of RAID1/1C3/1C4;
 *    striped and parity profiles need other devices and are `UNSUPPORTED`);
 * 3. the root tree: the `default` entry of its directory (object 6) names the default
 *    subvolume, which is the guest's `/` (openSUSE's `@/.snapshots/N/snapshot`), and
 *    ROOT_ITEMs locate every subvolume's tree;
 * 4. file-system trees: DIR_ITEMs (keyed by the crc32c name hash) for lookups, DIR_INDEX
 *    items for listings, INODE_ITEMs, and EXTENT_DATA items for contents (inline, regular,
 *    prealloc and holes; LZO-compressed extents decoded here, zlib and zstd through
 *    {@link BtrfsOptions.decompress}).
 *
 * A directory entry whose location is a ROOT_ITEM enters another subvolume, as the kernel
 * does; where the subvolume is not attached there (a snapshot of a directory that held a
 * nested subvolume), the kernel shows an empty directory and so does this driver.
 *
 * Data checksums (the csum tree) are not verified. The tree log of an unclean unmount is not
 * replayed (a warning says so), as `btrfs restore` does not replay it either.
 *
 * @module
 */
import { safeNumber } from '../src/bytes.js';
import { fieldError, toIntrospectionError } from '../src/errors.js';
import type { ByteReader } from '../src/format-module.js';
import {
  type DirectoryEntry,
  type FileSystem,
  type FileSystemContext,
  type FileSystemInfo,
  type FileSystemModule,
  MAX_LINK_TARGET_BYTES,
  MAX_PATH_COMPONENTS,
  type NodeKind,
  resolvePath,
} from './file-system.js';
import { decodeBtrfsLzo } from './shared/btrfs-lzo.js';
import { BTRFS_MAX_COMPRESSED_EXTENT_BYTES, BTRFS_MAX_DECOMPRESSED_EXTENT_BYTES, type BtrfsDecompressor, decompressBtrfsExtent } from './shared/btrfs-compression.js';
import {
  BTRFS_NAME_MAX_BYTES,
  BTRFS_SUPERBLOCK_BYTES,
  BTRFS_SUPERBLOCK_OFFSET,
  type BtrfsKey,
  btrfsNameHash,
  COMPRESSION_NAMES,
  CSUM_TYPE_NAMES,
  type DirEntry,
  type FileExtent,
  INCOMPAT_FEATURES,
  INCOMPAT_REFUSED,
  incompatFeatureNames,
  KeyType,
  keyText,
  looksLikeBtrfsSuperblock,
  ObjectId,
  parseDirEntries,
  parseFileExtent,
  parseInodeItem,
  parseInodeRefName,
  parseRootItem,
  parseRootRef,
  parseSuperblock,
  type TreeRootPointer,
  U64_MAX,
} from './shared/btrfs-structures.js';
import { BtrfsDevice, keyRange, type TreeBlockReading } from './shared/btrfs-tree.js';
import { kindOfDirentType, kindOfMode } from './shared/posix-types.js';

/** Most subvolumes nested inside each other on the way from the top level to one subvolume (openSUSE uses 3); a deeper chain is refused, a cycle is corrupt. */
export const MAX_SUBVOLUME_NESTING = 64;
/** Subvolume trees kept opened in memory (their root items decoded). */
export const MAX_CACHED_SUBVOLUMES = 1024;
/** Most file extent items gathered for one read (a 1 GiB file written 4 KiB at a time has 262,144). */
export const MAX_EXTENT_ITEMS_PER_READ = 262_144;

/** An opened subvolume: its tree and the object id of its top directory. */
export interface Subvolume {
  id: bigint;
  root: TreeRootPointer;
  rootDirId: bigint;
  readOnly: boolean;
}

/** The driver's handle on a file, directory or link: an inode of one subvolume. */
export interface BtrfsNode {
  readonly subvolume: Subvolume;
  readonly inode: bigint;
  readonly kind: NodeKind;
  readonly size: number;
}

/** Options of {@link openBtrfs}. */
export interface BtrfsOptions {
  /** Decodes zlib and zstd extents; the default raises `UNSUPPORTED` naming the algorithm (see `shared/btrfs-compression.ts`). LZO extents are always decoded. */
  decompress?: BtrfsDecompressor;
  /**
   * How tree blocks are read (`shared/btrfs-tree.ts`): `whole` (the default) reads each
   * block whole and checks its crc32c; `needed` reads a block's header, its key array and
   * the items used, and checks its structure only (the checksum covers the whole block).
   */
  treeBlocks?: TreeBlockReading;
}

/** What the superblock says, JSON-safe. */
export interface BtrfsDetails {
  /** Tree block size in bytes. */
  nodeSize: number;
  /** Data block size in bytes. */
  sectorSize: number;
  /** Checksum algorithm (`crc32c`, `xxhash64`, `sha256`, `blake2b`). */
  checksum: string;
  /** True when tree-block checksums are verified (crc32c, blocks read whole). */
  checksumsVerified: boolean;
  /** Transaction id of the last commit. */
  generation: number;
  /** Size of the file system across its devices. */
  totalBytes: number;
  /** Bytes allocated to data and metadata. */
  bytesUsed: number;
  /** Devices in the file system (only this one is read). */
  numDevices: number;
  /** This device's id within the file system. */
  deviceId: number;
  /** This device's UUID. */
  deviceUuid: string;
  /** Incompatible features enabled, by `btrfs-progs` name. */
  features: string[];
  /** Id of the subvolume mounted when no `subvol=` option is given (5 is the top level). */
  defaultSubvolumeId: number;
}

/** One subvolume, as `btrfs subvolume list` shows it. */
export interface BtrfsSubvolumeInfo {
  id: number;
  /** The subvolume holding the directory it is attached in (5 for the top level). */
  parentId: number;
  /** Path from the top-level subvolume, e.g. `@/.snapshots/1/snapshot`. */
  path: string;
  readOnly: boolean;
}

/** Which subvolume to open: by id, or by path from the top level as `subvol=` names it. */
export type SubvolumeSelector = { id: number } | { path: string };

/** State shared by every view of one opened file system. */
interface SharedState {
  device: BtrfsDevice;
  context: FileSystemContext;
  decompress: BtrfsDecompressor;
  subvolumes: Map<bigint, Subvolume>;
  details: BtrfsDetails;
  info: FileSystemInfo;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

/** Runs `work`, attributing any error to btrfs (and wrapping anything unexpected as `INTERNAL`). */
async function attributed<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toIntrospectionError(error, 'btrfs');
  }
}

/** An opened Btrfs file system, rooted at one subvolume (by default, the default subvolume). */
export class BtrfsFileSystem implements FileSystem<BtrfsNode> {
  /** Btrfs names are case-sensitive byte strings. */
  readonly caseInsensitive = false;
  private rootNode: BtrfsNode | undefined;

  /** @internal Use {@link openBtrfs}. */
  constructor(
    private readonly shared: SharedState,
    /** The subvolume this view treats as `/`. */
    readonly subvolumeId: bigint,
  ) {}

  /** Type, label and UUID (the fsid). */
  get info(): FileSystemInfo {
    return this.shared.info;
  }

  /** What the superblock says. */
  get details(): BtrfsDetails {
    return this.shared.details;
  }

  /** Bytes read from the volume so far by every view of this file system. */
  get bytesRead(): number {
    return this.shared.device.bytesRead;
  }

  /** The top directory of this view's subvolume. */
  root(): Promise<BtrfsNode> {
    return attributed(async () => {
      this.rootNode ??= await this.subvolumeRoot(await this.subvolume(this.subvolumeId));
      return this.rootNode;
    });
  }

  /** What `node` is. */
  kind(node: BtrfsNode): NodeKind {
    return node.kind;
  }

  /** The length of a file or link target; 0 otherwise. */
  size(node: BtrfsNode): number {
    return node.kind === 'file' || node.kind === 'symlink' ? node.size : 0;
  }

  /** The entry `name` of `directory`, entering another subvolume where the entry is one. */
  lookup(directory: BtrfsNode, name: string): Promise<BtrfsNode | undefined> {
    return attributed(async () => {
      if (directory.kind !== 'directory' || directory.inode === ObjectId.emptySubvolumeDir) return undefined;
      const nameBytes = utf8Encoder.encode(name);
      if (nameBytes.byteLength === 0 || nameBytes.byteLength > BTRFS_NAME_MAX_BYTES || name.includes('/')) return undefined;
      const key = { objectId: directory.inode, type: KeyType.dirItem, offset: btrfsNameHash(nameBytes) };
      const item = await this.shared.device.findItem(directory.subvolume.root, key);
      if (item === undefined) return undefined;
      const entry = parseDirEntries(item.data, `dir item ${keyText(key)}`).find((candidate) => sameBytes(candidate.name, nameBytes));
      if (entry === undefined) return undefined;
      return this.follow(directory, entry);
    });
  }

  /** Up to `limit` entries of `directory`, in index (creation) order. */
  list(directory: BtrfsNode, limit: number): Promise<DirectoryEntry[]> {
    return attributed(async () => {
      if (!Number.isSafeInteger(limit) || limit < 0) throw fieldError('INVALID_ARGUMENT', 'limit', `${limit} is not a non-negative integer`);
      if (directory.kind !== 'directory') throw fieldError('INVALID_ARGUMENT', 'directory', `inode ${directory.inode} is not a directory`);
      const entries: DirectoryEntry[] = [];
      if (limit === 0 || directory.inode === ObjectId.emptySubvolumeDir) return entries;
      const [min, max] = keyRange(directory.inode, KeyType.dirIndex);
      await this.shared.device.forEachItem(directory.subvolume.root, min, max, (item) => {
        for (const entry of parseDirEntries(item.data, `dir index ${keyText(item.key)}`)) {
          entries.push({ name: utf8Decoder.decode(entry.name), kind: kindOfDirentType(entry.type) ?? 'other' });
        }
        return entries.length < limit;
      });
      return entries.slice(0, limit);
    });
  }

  /** The target of a symbolic link, as stored (its inline extent). */
  readLink(link: BtrfsNode): Promise<string> {
    return attributed(async () => {
      if (link.kind !== 'symlink') throw fieldError('INVALID_ARGUMENT', 'link', `inode ${link.inode} is not a symbolic link`);
      if (link.size > MAX_LINK_TARGET_BYTES) throw fieldError('LIMIT_EXCEEDED', `inode ${link.inode}.size`, `a ${link.size}-byte link target is above ${MAX_LINK_TARGET_BYTES} bytes`);
      return utf8Decoder.decode(await this.readContent(link, link.size));
    });
  }

  /** The first `min(size, maxBytes)` bytes of a file; holes and preallocated extents read as zeros. */
  readFile(file: BtrfsNode, maxBytes: number): Promise<Uint8Array> {
    return attributed(async () => {
      if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw fieldError('INVALID_ARGUMENT', 'maxBytes', `${maxBytes} is not a non-negative integer`);
      if (file.kind !== 'file') throw fieldError('INVALID_ARGUMENT', 'file', `inode ${file.inode} is not a regular file`);
      return this.readContent(file, Math.min(file.size, maxBytes));
    });
  }

  /** The default subvolume's id and path from the top level (`''` for the top level itself). */
  defaultSubvolume(): Promise<{ id: number; path: string }> {
    return attributed(async () => {
      const id = BigInt(this.shared.details.defaultSubvolumeId);
      return { id: Number(id), path: (await this.subvolumePath(id))?.path ?? '' };
    });
  }

  /**
   * Up to `limit` subvolumes (every one but the top level), in id order, with their paths
   * from the top level. Subvolumes no directory refers to any more (deleted, not yet
   * cleaned) are left out.
   */
  subvolumes(limit: number): Promise<BtrfsSubvolumeInfo[]> {
    return attributed(async () => {
      if (!Number.isSafeInteger(limit) || limit < 0) throw fieldError('INVALID_ARGUMENT', 'limit', `${limit} is not a non-negative integer`);
      const ids: bigint[] = [];
      if (limit === 0) return [];
      const min = { objectId: ObjectId.firstFree, type: KeyType.rootItem, offset: 0n };
      const max = { objectId: ObjectId.lastFree, type: KeyType.rootItem, offset: U64_MAX };
      await this.shared.device.forEachItem(this.shared.device.superblock.rootTree, min, max, (item) => {
        if (item.key.type === KeyType.rootItem && ids[ids.length - 1] !== item.key.objectId) ids.push(item.key.objectId);
        return ids.length < limit;
      });
      const listed: BtrfsSubvolumeInfo[] = [];
      for (const id of ids) {
        const place = await this.subvolumePath(id);
        if (place === undefined) continue;
        const subvolume = await this.subvolume(id);
        listed.push({ id: safeNumber(id, 'subvolume id'), parentId: safeNumber(place.parentId, 'subvolume parent id'), path: place.path, readOnly: subvolume.readOnly });
      }
      return listed;
    });
  }

  /**
   * A view of this file system with another subvolume as `/`, as `mount -o subvolid=` or
   * `subvol=` (a path from the top level, `/@/var`) would give; `undefined` when there is no
   * such subvolume.
   */
  openSubvolume(selector: SubvolumeSelector): Promise<BtrfsFileSystem | undefined> {
    return attributed(async () => {
      if ('id' in selector) {
        if (!Number.isSafeInteger(selector.id) || selector.id < 0) throw fieldError('INVALID_ARGUMENT', 'id', `${selector.id} is not a subvolume id`);
        const id = BigInt(selector.id);
        if (id !== ObjectId.fsTree && (id < ObjectId.firstFree || id > ObjectId.lastFree)) return undefined;
        if ((await this.findRootItem(id)) === undefined) return undefined;
        return new BtrfsFileSystem(this.shared, id);
      }
      const top = new BtrfsFileSystem(this.shared, ObjectId.fsTree);
      const node = await resolvePath(top, selector.path);
      if (node === undefined || node.kind !== 'directory' || node.inode !== node.subvolume.rootDirId) return undefined;
      return new BtrfsFileSystem(this.shared, node.subvolume.id);
    });
  }

  /** Resolves a directory entry to a node: an inode of the same subvolume, or the top directory of another. */
  private async follow(directory: BtrfsNode, entry: DirEntry): Promise<BtrfsNode> {
    const { location } = entry;
    if (location.type === KeyType.inodeItem) return this.inode(directory.subvolume, location.objectId);
    if (location.type !== KeyType.rootItem) throw fieldError('CORRUPT', `dir item of inode ${directory.inode}`, `location ${keyText(location)} is neither an inode nor a subvolume`);
    // The kernel enters the subvolume only where the root tree's ROOT_REF says it is attached to this directory.
    const reference = await this.shared.device.findItem(this.shared.device.superblock.rootTree, { objectId: directory.subvolume.id, type: KeyType.rootRef, offset: location.objectId });
    if (reference !== undefined) {
      const ref = parseRootRef(reference.data, `root ref ${keyText(reference.key)}`);
      if (ref.dirId === directory.inode && sameBytes(ref.name, entry.name)) {
        return this.subvolumeRoot(await this.subvolume(location.objectId));
      }
    }
    return { subvolume: directory.subvolume, inode: ObjectId.emptySubvolumeDir, kind: 'directory', size: 0 };
  }

  private async inode(subvolume: Subvolume, inode: bigint): Promise<BtrfsNode> {
    const key = { objectId: inode, type: KeyType.inodeItem, offset: 0n };
    const item = await this.shared.device.findItem(subvolume.root, key);
    if (item === undefined) throw fieldError('CORRUPT', `subvolume ${subvolume.id} inode ${inode}`, 'a directory entry names an inode that has no inode item');
    const parsed = parseInodeItem(item.data, `inode item ${keyText(key)}`);
    return { subvolume, inode, kind: kindOfMode(parsed.mode), size: parsed.size };
  }

  private async subvolumeRoot(subvolume: Subvolume): Promise<BtrfsNode> {
    const node = await this.inode(subvolume, subvolume.rootDirId);
    if (node.kind !== 'directory') throw fieldError('CORRUPT', `subvolume ${subvolume.id} inode ${subvolume.rootDirId}`, 'the top of a subvolume is not a directory');
    return node;
  }

  private async findRootItem(id: bigint) {
    const item = await this.shared.device.findLastAtOrBefore(this.shared.device.superblock.rootTree, { objectId: id, type: KeyType.rootItem, offset: U64_MAX });
    return item !== undefined && item.key.objectId === id && item.key.type === KeyType.rootItem ? item : undefined;
  }

  private async subvolume(id: bigint): Promise<Subvolume> {
    const cached = this.shared.subvolumes.get(id);
    if (cached !== undefined) return cached;
    const item = await this.findRootItem(id);
    if (item === undefined) throw fieldError('CORRUPT', `subvolume ${id}`, 'the root tree has no root item for it');
    const parsed = parseRootItem(item.data, `root item ${keyText(item.key)}`);
    const subvolume: Subvolume = { id, root: parsed.root, rootDirId: parsed.rootDirId, readOnly: (parsed.flags & 1n) !== 0n };
    if (this.shared.subvolumes.size < MAX_CACHED_SUBVOLUMES) this.shared.subvolumes.set(id, subvolume);
    return subvolume;
  }

  /**
   * Where subvolume `id` is attached: follows ROOT_BACKREFs up to the top level, and
   * INODE_REFs from each attaching directory up to its subvolume's top. `undefined` when
   * the subvolume is attached nowhere.
   */
  private async subvolumePath(id: bigint): Promise<{ path: string; parentId: bigint } | undefined> {
    const { device } = this.shared;
    const parts: string[] = [];
    const seen = new Set<bigint>();
    let current = id;
    let parentId = 0n;
    while (current !== ObjectId.fsTree) {
      if (seen.has(current)) throw fieldError('CORRUPT', `subvolume ${id}`, `its back-references loop through subvolume ${current}`);
      seen.add(current);
      if (seen.size > MAX_SUBVOLUME_NESTING) throw fieldError('LIMIT_EXCEEDED', `subvolume ${id}`, `nested more than ${MAX_SUBVOLUME_NESTING} subvolumes deep`);
      const [min, max] = keyRange(current, KeyType.rootBackref);
      const backref = await device.findFirst(device.superblock.rootTree, min, max);
      if (backref === undefined) return undefined;
      if (current === id) parentId = backref.key.offset;
      const ref = parseRootRef(backref.data, `root backref ${keyText(backref.key)}`);
      parts.push(utf8Decoder.decode(ref.name));
      const parent = await this.subvolume(backref.key.offset);
      let directory = ref.dirId;
      for (let steps = 0; directory !== parent.rootDirId; steps += 1) {
        if (steps >= MAX_PATH_COMPONENTS) throw fieldError('CORRUPT', `subvolume ${parent.id} inode ${ref.dirId}`, `no way up to the subvolume's top within ${MAX_PATH_COMPONENTS} directories (a loop?)`);
        const [refMin, refMax] = keyRange(directory, KeyType.inodeRef);
        const inodeRef = await device.findFirst(parent.root, refMin, refMax);
        if (inodeRef === undefined) throw fieldError('CORRUPT', `subvolume ${parent.id} inode ${directory}`, 'a directory without a name in its parent');
        parts.push(utf8Decoder.decode(parseInodeRefName(inodeRef.data, `inode ref ${keyText(inodeRef.key)}`)));
        directory = inodeRef.key.offset;
      }
      current = parent.id;
    }
    return { path: parts.reverse().join('/'), parentId };
  }

  /** The first `length` bytes of an inode's contents, from its EXTENT_DATA items. */
  private async readContent(node: BtrfsNode, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    if (length === 0) return out;
    const extents: Array<{ fileOffset: number; extent: FileExtent; field: string }> = [];
    const [min, max] = keyRange(node.inode, KeyType.extentData);
    await this.shared.device.forEachItem(node.subvolume.root, min, max, (item) => {
      const field = `extent ${keyText(item.key)} of subvolume ${node.subvolume.id}`;
      if (item.key.offset >= BigInt(length)) return false;
      if (extents.length >= MAX_EXTENT_ITEMS_PER_READ) throw fieldError('LIMIT_EXCEEDED', field, `more than ${MAX_EXTENT_ITEMS_PER_READ} extents before byte ${length}`);
      extents.push({ fileOffset: Number(item.key.offset), extent: parseFileExtent(item.data, field), field });
      return true;
    });
    for (const { fileOffset, extent, field } of extents) await this.fillExtent(out, fileOffset, extent, field);
    return out;
  }

  private async fillExtent(out: Uint8Array, fileOffset: number, extent: FileExtent, field: string): Promise<void> {
    const room = out.byteLength - fileOffset;
    if (extent.kind === 'inline') {
      const data = extent.compression === 0 ? extent.data : await this.decode(extent.compression, extent.data, extent.ramBytes, field);
      out.set(data.subarray(0, room), fileOffset);
      return;
    }
    if (extent.kind === 'prealloc' || extent.diskBytenr === 0) return;
    // The item may cover part of the extent it points into, never more: of the extent on disk
    // when it is stored as is (ram_bytes is not trusted there: old btrfs-convert wrote wrong
    // ones), of the decoded extent when it is compressed.
    const extentBytes = extent.compression === 0 ? extent.diskBytes : extent.ramBytes;
    if (extent.offset + extent.length > extentBytes) {
      throw fieldError('CORRUPT', `${field}.offset`, `bytes ${extent.offset}..${extent.offset + extent.length} lie outside the ${extentBytes}-byte extent`);
    }
    const count = Math.min(extent.length, room);
    if (extent.compression === 0) {
      out.set(await this.shared.device.readLogical(extent.diskBytenr + extent.offset, count, field), fileOffset);
      return;
    }
    if (extent.diskBytes > BTRFS_MAX_COMPRESSED_EXTENT_BYTES) {
      throw fieldError('CORRUPT', `${field}.disk_num_bytes`, `a ${extent.diskBytes}-byte compressed extent is above btrfs's ${BTRFS_MAX_COMPRESSED_EXTENT_BYTES}`);
    }
    const compressed = await this.shared.device.readLogical(extent.diskBytenr, extent.diskBytes, field);
    const decoded = await this.decode(extent.compression, compressed, extent.ramBytes, field);
    out.set(decoded.subarray(extent.offset, extent.offset + count), fileOffset);
  }

  private async decode(compression: number, compressed: Uint8Array, ramBytes: number, field: string): Promise<Uint8Array> {
    if (ramBytes > BTRFS_MAX_DECOMPRESSED_EXTENT_BYTES) {
      throw fieldError('CORRUPT', `${field}.ram_bytes`, `a compressed extent of ${ramBytes} bytes is above btrfs's ${BTRFS_MAX_DECOMPRESSED_EXTENT_BYTES}`);
    }
    const algorithm = COMPRESSION_NAMES[compression];
    if (algorithm === undefined) throw fieldError('UNSUPPORTED', `${field}.compression`, `compression type ${compression} is unknown`);
    const decoded =
      algorithm === 'lzo'
        ? decodeBtrfsLzo(compressed, ramBytes, this.shared.device.superblock.sectorSize, field)
        : await this.shared.decompress(algorithm, compressed, ramBytes, field);
    return decoded.byteLength > ramBytes ? decoded.subarray(0, ramBytes) : decoded;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let index = 0, end = a.byteLength; index < end; index += 1) if (a[index] !== b[index]) return false;
  return true;
}

const knownIncompatBits = INCOMPAT_FEATURES.reduce((mask, [bit]) => mask | (1n << BigInt(bit)), 0n);

/**
 * Opens the Btrfs file system on `volume` (one device), rooted at its default subvolume.
 * Throws `CORRUPT` for a damaged superblock or tree, `UNSUPPORTED` for features that change
 * the layout (extent-tree-v2, the raid stripe tree, unknown incompatible bits).
 */
export function openBtrfs(volume: ByteReader, context: FileSystemContext, options: BtrfsOptions = {}): Promise<BtrfsFileSystem> {
  return attributed(async () => {
    const superblock = parseSuperblock(await volume.read(BTRFS_SUPERBLOCK_OFFSET, BTRFS_SUPERBLOCK_BYTES, 'superblock'));
    const refused = superblock.incompatFlags & (INCOMPAT_REFUSED | ~knownIncompatBits);
    if (refused !== 0n) throw fieldError('UNSUPPORTED', 'superblock.incompat_flags', `feature ${incompatFeatureNames(refused).join(', ')} changes structures this reader walks`);
    const checksum = CSUM_TYPE_NAMES[superblock.csumType] as string;
    if (superblock.csumType !== 0) context.warn(`btrfs: tree blocks use ${checksum} checksums, which are not verified`);
    if (superblock.logRoot !== 0n) context.warn('btrfs: the tree log of an unclean unmount is not replayed; the newest synced writes may be missing');
    if (superblock.numDevices > 1) context.warn(`btrfs: the file system spans ${superblock.numDevices} devices; data on the others cannot be read`);
    const device = new BtrfsDevice(volume, superblock, options.treeBlocks);
    const defaultId = await findDefaultSubvolume(device);
    const shared: SharedState = {
      device,
      context,
      decompress: options.decompress ?? decompressBtrfsExtent,
      subvolumes: new Map(),
      info: { type: 'btrfs', uuid: superblock.fsid, ...(superblock.label === '' ? {} : { label: superblock.label }) },
      details: {
        nodeSize: superblock.nodeSize,
        sectorSize: superblock.sectorSize,
        checksum,
        checksumsVerified: device.verifyChecksums,
        generation: safeNumber(superblock.generation, 'superblock.generation'),
        totalBytes: superblock.totalBytes,
        bytesUsed: superblock.bytesUsed,
        numDevices: superblock.numDevices,
        deviceId: safeNumber(superblock.devid, 'superblock.dev_item.devid'),
        deviceUuid: superblock.deviceUuid,
        features: incompatFeatureNames(superblock.incompatFlags),
        defaultSubvolumeId: safeNumber(defaultId, 'default subvolume id'),
      },
    };
    const fs = new BtrfsFileSystem(shared, defaultId);
    await fs.root();
    return fs;
  });
}

/** The subvolume named by the `default` entry of the root tree's directory (object 6); the top level when there is none. */
async function findDefaultSubvolume(device: BtrfsDevice): Promise<bigint> {
  const name = utf8Encoder.encode('default');
  const key: BtrfsKey = { objectId: device.superblock.rootDirObjectId, type: KeyType.dirItem, offset: btrfsNameHash(name) };
  const item = await device.findItem(device.superblock.rootTree, key);
  if (item === undefined) return ObjectId.fsTree;
  const entry = parseDirEntries(item.data, `root tree dir item ${keyText(key)}`).find((candidate) => sameBytes(candidate.name, name));
  if (entry === undefined) return ObjectId.fsTree;
  if (entry.location.type !== KeyType.rootItem) throw fieldError('CORRUPT', 'root tree default entry', `location ${keyText(entry.location)} is not a subvolume`);
  return entry.location.objectId;
}

/** The Btrfs driver (`info.type` `btrfs`). */
export const btrfsModule: FileSystemModule = {
  name: 'btrfs',
  async probe(volume: ByteReader): Promise<boolean> {
    const bytes = await volume.readAvailable(BTRFS_SUPERBLOCK_OFFSET, BTRFS_SUPERBLOCK_BYTES, 'btrfs superblock');
    return bytes.byteLength === BTRFS_SUPERBLOCK_BYTES && looksLikeBtrfsSuperblock(bytes);
  },
  // Guest inspection reads the few items it needs of each tree block: a 16 KiB block read
  // whole for three items was most of what inspecting a Btrfs guest read.
  open: (volume, context) => openBtrfs(volume, context, { treeBlocks: 'needed' }),
};
