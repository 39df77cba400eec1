/**
 * Btrfs on-disk structures, decoded from bytes (no I/O here): the superblock, tree-block
 * headers, keys, leaf items and the item payloads a read-only lookup needs (chunk, root,
 * inode, directory, root-reference, inode-reference and file-extent items).
 *
 * Layouts follow the kernel's `include/uapi/linux/btrfs_tree.h` and `fs/btrfs/ctree.h`
 * (all integers little-endian; 64-bit object ids and key offsets kept as `bigint`, since
 * ids such as `-1` and hashes use the full 64 bits). Every decoder checks the lengths it
 * relies on and raises `CORRUPT` naming the field; nothing here trusts a count or offset
 * read from the image.
 *
 * @module
 */
import { bigEndianUuid, bytesEqual, crc32c, safeNumber, u16le, u32le, u64le, u8, utf8Text } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';

/** Where the primary superblock lives (64 KiB), as every btrfs tool reads it first. */
export const BTRFS_SUPERBLOCK_OFFSET = 0x10000;
/** The superblock's size on disk (`BTRFS_SUPER_INFO_SIZE`). */
export const BTRFS_SUPERBLOCK_BYTES = 4096;
/** `_BHRfS_M`, at offset 0x40 of the superblock. */
export const BTRFS_MAGIC = '_BHRfS_M';
/** Size of the checksum field that opens the superblock and every tree block. */
export const BTRFS_CSUM_BYTES = 32;
/** Size of a tree block's header (`struct btrfs_header`). */
export const BTRFS_HEADER_BYTES = 101;
/** Size of a key as stored (`struct btrfs_disk_key`: objectid u64, type u8, offset u64). */
export const BTRFS_KEY_BYTES = 17;
/** Size of a leaf item header (`struct btrfs_item`: key, data offset u32, data size u32). */
export const BTRFS_ITEM_BYTES = 25;
/** Size of an internal node's pointer (`struct btrfs_key_ptr`: key, blockptr u64, generation u64). */
export const BTRFS_KEY_PTR_BYTES = 33;
/** Capacity of the superblock's bootstrap chunk array (`BTRFS_SYSTEM_CHUNK_ARRAY_SIZE`). */
export const BTRFS_SYSTEM_CHUNK_ARRAY_BYTES = 2048;
/** Longest file name (`BTRFS_NAME_LEN`); the kernel's tree checker refuses longer ones. */
export const BTRFS_NAME_MAX_BYTES = 255;

/** Object ids (`BTRFS_*_OBJECTID`). */
export const ObjectId = {
  rootTree: 1n,
  chunkTree: 3n,
  fsTree: 5n,
  rootTreeDir: 6n,
  /** The placeholder directory a snapshot shows where the original had a nested subvolume. */
  emptySubvolumeDir: 2n,
  firstFree: 256n,
  firstChunkTree: 256n,
  /** `BTRFS_LAST_FREE_OBJECTID` (-256 as u64): subvolume ids lie in [256, this]. */
  lastFree: 0xffff_ffff_ffff_ff00n,
} as const;

/** Key types (`BTRFS_*_KEY`). */
export const KeyType = {
  inodeItem: 1,
  inodeRef: 12,
  dirItem: 84,
  dirIndex: 96,
  extentData: 108,
  rootItem: 132,
  rootBackref: 144,
  rootRef: 156,
  chunkItem: 228,
} as const;

/** The largest 64-bit key offset, used as an open upper bound. */
export const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** A btrfs key: items in every tree are sorted by (objectId, type, offset). */
export interface BtrfsKey {
  objectId: bigint;
  type: number;
  offset: bigint;
}

/** Orders two keys as the kernel's `btrfs_comp_cpu_keys` does. */
export function compareKeys(a: BtrfsKey, b: BtrfsKey): number {
  if (a.objectId !== b.objectId) return a.objectId < b.objectId ? -1 : 1;
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  if (a.offset !== b.offset) return a.offset < b.offset ? -1 : 1;
  return 0;
}

/** A key as text, as `btrfs inspect-internal dump-tree` prints it, for error messages. */
export function keyText(key: BtrfsKey): string {
  return `(${key.objectId} ${key.type} ${key.offset})`;
}

/** Decodes a key at `offset`. */
export function readKey(bytes: Uint8Array, offset: number, field: string): BtrfsKey {
  return {
    objectId: u64le(bytes, offset, field),
    type: u8(bytes, offset + 8, field),
    offset: u64le(bytes, offset + 9, field),
  };
}

/** Checksum algorithms (`btrfs_csum_type`). */
export const CSUM_TYPE_NAMES: Readonly<Record<number, string>> = { 0: 'crc32c', 1: 'xxhash64', 2: 'sha256', 3: 'blake2b' };

/** Incompatible feature bits (`BTRFS_FEATURE_INCOMPAT_*`), by name, for the report and for refusing what changes the layout. */
export const INCOMPAT_FEATURES: ReadonlyArray<[bit: number, name: string]> = [
  [0, 'mixed_backref'],
  [1, 'default_subvol'],
  [2, 'mixed_groups'],
  [3, 'compress_lzo'],
  [4, 'compress_zstd'],
  [5, 'big_metadata'],
  [6, 'extended_iref'],
  [7, 'raid56'],
  [8, 'skinny_metadata'],
  [9, 'no_holes'],
  [10, 'metadata_uuid'],
  [11, 'raid1c34'],
  [12, 'zoned'],
  [13, 'extent_tree_v2'],
  [14, 'raid_stripe_tree'],
  [16, 'simple_quota'],
];
/** `metadata_uuid`: tree blocks carry the superblock's `metadata_uuid` instead of the fsid. */
export const INCOMPAT_METADATA_UUID = 1n << 10n;
/**
 * Features that change structures this reader walks (block-group tree and global roots in
 * extent-tree-v2, logical-to-physical mapping through the raid stripe tree): refused.
 */
export const INCOMPAT_REFUSED = (1n << 13n) | (1n << 14n);

/**
 * The superblock fields this reader uses.
 *
 * | offset | field |
 * | --- | --- |
 * | 0x00 | csum[32] (crc32c of bytes 0x20..0x1000 for csum type 0) |
 * | 0x20 | fsid[16] |
 * | 0x30 | bytenr u64 (65536 for the primary copy) |
 * | 0x40 | magic `_BHRfS_M` |
 * | 0x48 | generation u64 |
 * | 0x50 | root u64 (logical address of the root tree) |
 * | 0x58 | chunk_root u64 |
 * | 0x60 | log_root u64 |
 * | 0x70 | total_bytes u64 |
 * | 0x78 | bytes_used u64 |
 * | 0x80 | root_dir_objectid u64 (6) |
 * | 0x88 | num_devices u64 |
 * | 0x90 | sectorsize u32, 0x94 nodesize u32, 0x9c stripesize u32 |
 * | 0xa0 | sys_chunk_array_size u32 |
 * | 0xa4 | chunk_root_generation u64 |
 * | 0xac / 0xb4 / 0xbc | compat / compat_ro / incompat flags u64 |
 * | 0xc4 | csum_type u16 |
 * | 0xc6 / 0xc7 / 0xc8 | root_level / chunk_root_level / log_root_level u8 |
 * | 0xc9 | dev_item (98 bytes: devid u64 first, uuid[16] at +66) |
 * | 0x12b | label[256] |
 * | 0x23b | metadata_uuid[16] |
 * | 0x32b | sys_chunk_array[2048] |
 */
export interface BtrfsSuperblock {
  fsid: string;
  fsidBytes: Uint8Array;
  /** The UUID tree blocks carry: `metadata_uuid` with that feature, else the fsid. */
  metadataUuidBytes: Uint8Array;
  label: string;
  generation: bigint;
  rootTree: TreeRootPointer;
  chunkTree: TreeRootPointer;
  logRoot: bigint;
  totalBytes: number;
  bytesUsed: number;
  rootDirObjectId: bigint;
  numDevices: number;
  sectorSize: number;
  nodeSize: number;
  compatRoFlags: bigint;
  incompatFlags: bigint;
  flags: bigint;
  csumType: number;
  devid: bigint;
  deviceUuid: string;
  sysChunkArray: Uint8Array;
}

/** Where a tree's root block is, what level it has and what generation it was written in. */
export interface TreeRootPointer {
  logical: number;
  level: number;
  generation: bigint;
}

/** True when the bytes at the superblock offset carry the btrfs magic and point at themselves. */
export function looksLikeBtrfsSuperblock(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 0x48 && bytesEqual(bytes, 0x40, BTRFS_MAGIC) && u64le(bytes, 0x30) === BigInt(BTRFS_SUPERBLOCK_OFFSET);
}

/** Highest tree level (`BTRFS_MAX_LEVEL`): a level read from the image above it is corrupt. */
export const BTRFS_MAX_TREE_LEVEL = 7;

function isPowerOfTwo(value: number): boolean {
  return value > 0 && (value & (value - 1)) === 0;
}

/**
 * Decodes and checks the superblock: magic, self-pointer, checksum (crc32c; other
 * algorithms are reported by `csumType` and left to the caller), sizes the kernel accepts
 * (sector size a power of two from 4 KiB to 64 KiB, node size a power of two from the
 * sector size to 64 KiB), levels, and the bootstrap array's length.
 */
export function parseSuperblock(bytes: Uint8Array): BtrfsSuperblock {
  if (bytes.byteLength < BTRFS_SUPERBLOCK_BYTES) {
    throw fieldError('TRUNCATED', 'superblock', `needs ${BTRFS_SUPERBLOCK_BYTES} bytes, got ${bytes.byteLength}`, BTRFS_SUPERBLOCK_OFFSET);
  }
  if (!looksLikeBtrfsSuperblock(bytes)) throw fieldError('CORRUPT', 'superblock.magic', 'no btrfs superblock at 64 KiB', BTRFS_SUPERBLOCK_OFFSET);
  const csumType = u16le(bytes, 0xc4);
  if (csumType === 0) {
    const stored = u32le(bytes, 0);
    const computed = crc32c(bytes.subarray(BTRFS_CSUM_BYTES, BTRFS_SUPERBLOCK_BYTES));
    if (stored !== computed) {
      throw fieldError('CORRUPT', 'superblock.csum', `crc32c is 0x${computed.toString(16)}, the superblock says 0x${stored.toString(16)}`, BTRFS_SUPERBLOCK_OFFSET);
    }
  } else if (CSUM_TYPE_NAMES[csumType] === undefined) {
    throw fieldError('UNSUPPORTED', 'superblock.csum_type', `checksum type ${csumType} is unknown`, BTRFS_SUPERBLOCK_OFFSET + 0xc4);
  }
  const sectorSize = u32le(bytes, 0x90);
  const nodeSize = u32le(bytes, 0x94);
  if (!isPowerOfTwo(sectorSize) || sectorSize < 4096 || sectorSize > 65536) {
    throw fieldError('CORRUPT', 'superblock.sectorsize', `${sectorSize} is not a power of two from 4096 to 65536`, BTRFS_SUPERBLOCK_OFFSET + 0x90);
  }
  if (!isPowerOfTwo(nodeSize) || nodeSize < sectorSize || nodeSize > 65536) {
    throw fieldError('CORRUPT', 'superblock.nodesize', `${nodeSize} is not a power of two from the sector size (${sectorSize}) to 65536`, BTRFS_SUPERBLOCK_OFFSET + 0x94);
  }
  const sysChunkArraySize = u32le(bytes, 0xa0);
  if (sysChunkArraySize > BTRFS_SYSTEM_CHUNK_ARRAY_BYTES) {
    throw fieldError('CORRUPT', 'superblock.sys_chunk_array_size', `${sysChunkArraySize} is above the array's ${BTRFS_SYSTEM_CHUNK_ARRAY_BYTES} bytes`, BTRFS_SUPERBLOCK_OFFSET + 0xa0);
  }
  const rootLevel = u8(bytes, 0xc6);
  const chunkLevel = u8(bytes, 0xc7);
  for (const [name, level, at] of [['root_level', rootLevel, 0xc6], ['chunk_root_level', chunkLevel, 0xc7]] as const) {
    if (level > BTRFS_MAX_TREE_LEVEL) throw fieldError('CORRUPT', `superblock.${name}`, `${level} is above the highest level ${BTRFS_MAX_TREE_LEVEL}`, BTRFS_SUPERBLOCK_OFFSET + at);
  }
  const incompatFlags = u64le(bytes, 0xbc);
  const fsidBytes = bytes.slice(0x20, 0x30);
  const metadataUuidBytes = (incompatFlags & INCOMPAT_METADATA_UUID) !== 0n ? bytes.slice(0x23b, 0x24b) : fsidBytes;
  const numDevices = u64le(bytes, 0x88);
  return {
    fsid: bigEndianUuid(bytes, 0x20),
    fsidBytes,
    metadataUuidBytes,
    label: utf8Text(cutAtNulBytes(bytes.subarray(0x12b, 0x22b))),
    generation: u64le(bytes, 0x48),
    rootTree: { logical: safeNumber(u64le(bytes, 0x50), 'superblock.root'), level: rootLevel, generation: u64le(bytes, 0x48) },
    chunkTree: { logical: safeNumber(u64le(bytes, 0x58), 'superblock.chunk_root'), level: chunkLevel, generation: u64le(bytes, 0xa4) },
    logRoot: u64le(bytes, 0x60),
    totalBytes: safeNumber(u64le(bytes, 0x70), 'superblock.total_bytes'),
    bytesUsed: safeNumber(u64le(bytes, 0x78), 'superblock.bytes_used'),
    rootDirObjectId: u64le(bytes, 0x80),
    numDevices: numDevices > 0xffffn ? 0xffff : Number(numDevices),
    sectorSize,
    nodeSize,
    compatRoFlags: u64le(bytes, 0xb4),
    incompatFlags,
    flags: u64le(bytes, 0x38),
    csumType,
    devid: u64le(bytes, 0xc9),
    deviceUuid: bigEndianUuid(bytes, 0xc9 + 66),
    sysChunkArray: bytes.slice(0x32b, 0x32b + sysChunkArraySize),
  };
}

function cutAtNulBytes(bytes: Uint8Array): Uint8Array {
  const end = bytes.indexOf(0);
  return end === -1 ? bytes : bytes.subarray(0, end);
}

/** The names of the incompat feature bits set (unknown bits as `bit N`). */
export function incompatFeatureNames(flags: bigint): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 64; bit += 1) {
    if (((flags >> BigInt(bit)) & 1n) === 0n) continue;
    names.push(INCOMPAT_FEATURES.find(([known]) => known === bit)?.[1] ?? `bit ${bit}`);
  }
  return names;
}

/**
 * A tree block's header.
 *
 * | offset | field |
 * | --- | --- |
 * | 0x00 | csum[32] (over bytes 0x20..nodesize) |
 * | 0x20 | fsid[16] |
 * | 0x30 | bytenr u64 (the block's own logical address) |
 * | 0x38 | flags u64 |
 * | 0x40 | chunk_tree_uuid[16] |
 * | 0x50 | generation u64 |
 * | 0x58 | owner u64 |
 * | 0x60 | nritems u32 |
 * | 0x64 | level u8 |
 */
export interface TreeBlockHeader {
  bytenr: bigint;
  generation: bigint;
  owner: bigint;
  itemCount: number;
  level: number;
}

/** Decodes a tree block's header (the caller checks it against what pointed there). */
export function parseTreeBlockHeader(block: Uint8Array): TreeBlockHeader {
  return {
    bytenr: u64le(block, 0x30, 'tree block.bytenr'),
    generation: u64le(block, 0x50, 'tree block.generation'),
    owner: u64le(block, 0x58, 'tree block.owner'),
    itemCount: u32le(block, 0x60, 'tree block.nritems'),
    level: u8(block, 0x64, 'tree block.level'),
  };
}

/** The mapping of one chunk: a range of logical addresses and where its copies are. */
export interface ChunkMapping {
  logical: number;
  length: number;
  /** Block-group type and profile bits (`BTRFS_BLOCK_GROUP_*`). */
  type: bigint;
  stripeLength: number;
  stripes: Array<{ devid: bigint; offset: number }>;
}

/** Size of a chunk item without its stripes (`struct btrfs_chunk` up to `stripe`). */
export const BTRFS_CHUNK_ITEM_BYTES = 48;
/** Size of one stripe (`struct btrfs_stripe`: devid u64, offset u64, dev_uuid[16]). */
export const BTRFS_STRIPE_BYTES = 32;

/**
 * Decodes a chunk item (`struct btrfs_chunk`) whose key offset is `logical`; returns it and
 * its length in bytes.
 *
 * | offset | field |
 * | --- | --- |
 * | 0 | length u64 |
 * | 8 | owner u64 |
 * | 16 | stripe_len u64 |
 * | 24 | type u64 |
 * | 32 | io_align u32, io_width u32, sector_size u32 |
 * | 44 | num_stripes u16 |
 * | 46 | sub_stripes u16 |
 * | 48 | stripes: num_stripes × (devid u64, offset u64, dev_uuid[16]) |
 */
export function parseChunkItem(bytes: Uint8Array, offset: number, logical: bigint, field: string): { chunk: ChunkMapping; bytes: number } {
  const stripeCount = u16le(bytes, offset + 44, `${field}.num_stripes`);
  if (stripeCount === 0) throw fieldError('CORRUPT', `${field}.num_stripes`, 'a chunk with no stripes');
  const size = BTRFS_CHUNK_ITEM_BYTES + stripeCount * BTRFS_STRIPE_BYTES;
  if (offset + size > bytes.byteLength) {
    throw fieldError('CORRUPT', field, `${stripeCount} stripes need ${size} bytes, the item has ${bytes.byteLength - offset}`);
  }
  const length = safeNumber(u64le(bytes, offset, `${field}.length`), `${field}.length`);
  const start = safeNumber(logical, `${field} key offset`);
  if (length === 0 || start + length > Number.MAX_SAFE_INTEGER) throw fieldError('CORRUPT', `${field}.length`, `${length} bytes at ${start} is not a usable range`);
  const stripeLength = safeNumber(u64le(bytes, offset + 16, `${field}.stripe_len`), `${field}.stripe_len`);
  if (!isPowerOfTwo(stripeLength)) throw fieldError('CORRUPT', `${field}.stripe_len`, `${stripeLength} is not a power of two`);
  const stripes: ChunkMapping['stripes'] = [];
  for (let index = 0; index < stripeCount; index += 1) {
    const at = offset + BTRFS_CHUNK_ITEM_BYTES + index * BTRFS_STRIPE_BYTES;
    stripes.push({ devid: u64le(bytes, at), offset: safeNumber(u64le(bytes, at + 8), `${field}.stripe[${index}].offset`) });
  }
  return { chunk: { logical: start, length, type: u64le(bytes, offset + 24), stripeLength, stripes }, bytes: size };
}

/** Block-group profile bits (`BTRFS_BLOCK_GROUP_*`). */
export const BlockGroupProfile = {
  raid0: 1n << 3n,
  raid1: 1n << 4n,
  dup: 1n << 5n,
  raid10: 1n << 6n,
  raid5: 1n << 7n,
  raid6: 1n << 8n,
  raid1c3: 1n << 9n,
  raid1c4: 1n << 10n,
} as const;

/** The profile's name, as `btrfs filesystem df` prints it (`single` when no bit is set). */
export function profileName(type: bigint): string {
  for (const [name, bit] of Object.entries(BlockGroupProfile)) {
    if ((type & bit) !== 0n) return name.toUpperCase();
  }
  return 'single';
}

/** Throws `CORRUPT` when an item's data is shorter than its structure (`what`: "an inode item"...). */
function requireItemBytes(data: Uint8Array, minimum: number, what: string, field: string): void {
  if (data.byteLength < minimum) throw fieldError('CORRUPT', field, `${what} needs ${minimum} bytes, this one has ${data.byteLength}`);
}

/**
 * The inode fields used (`struct btrfs_inode_item`, 160 bytes).
 *
 * | offset | field |
 * | --- | --- |
 * | 0 | generation u64 |
 * | 16 | size u64 |
 * | 24 | nbytes u64 |
 * | 40 | nlink u32 |
 * | 52 | mode u32 |
 * | 64 | flags u64 |
 */
export interface InodeItem {
  size: number;
  mode: number;
  flags: bigint;
}

/** Size of `struct btrfs_inode_item`. */
export const BTRFS_INODE_ITEM_BYTES = 160;

/** Decodes an inode item. */
export function parseInodeItem(data: Uint8Array, field: string): InodeItem {
  requireItemBytes(data, BTRFS_INODE_ITEM_BYTES, 'an inode item', field);
  return {
    size: safeNumber(u64le(data, 16), `${field}.size`),
    mode: u32le(data, 52),
    flags: u64le(data, 64),
  };
}

/**
 * The root item fields used (`struct btrfs_root_item`): an inode item (160 bytes), then
 * generation u64 at 160, root_dirid u64 at 168, bytenr u64 at 176, flags u64 at 208, refs
 * u32 at 216, level u8 at 238.
 */
export interface RootItem {
  root: TreeRootPointer;
  rootDirId: bigint;
  flags: bigint;
  refs: number;
}

/** Size of the root item fields read (up to and including `level`). */
export const BTRFS_ROOT_ITEM_MIN_BYTES = 239;

/** Decodes a root item. */
export function parseRootItem(data: Uint8Array, field: string): RootItem {
  requireItemBytes(data, BTRFS_ROOT_ITEM_MIN_BYTES, 'a root item', field);
  const level = u8(data, 238);
  if (level > BTRFS_MAX_TREE_LEVEL) throw fieldError('CORRUPT', `${field}.level`, `${level} is above the highest level ${BTRFS_MAX_TREE_LEVEL}`);
  return {
    root: { logical: safeNumber(u64le(data, 176), `${field}.bytenr`), level, generation: u64le(data, 160) },
    rootDirId: u64le(data, 168),
    flags: u64le(data, 208),
    refs: u32le(data, 216),
  };
}

/** Directory entry types (`BTRFS_FT_*`). */
export const FileType = { regular: 1, directory: 2, symlink: 7 } as const;

/**
 * One entry of a DIR_ITEM or DIR_INDEX item (`struct btrfs_dir_item`, 30 bytes, then the
 * name, then `data_len` bytes of data, which only xattrs use).
 *
 * | offset | field |
 * | --- | --- |
 * | 0 | location key (17 bytes): an inode (`INODE_ITEM`) or a subvolume (`ROOT_ITEM`) |
 * | 17 | transid u64 |
 * | 25 | data_len u16 |
 * | 27 | name_len u16 |
 * | 29 | type u8 |
 */
export interface DirEntry {
  location: BtrfsKey;
  type: number;
  name: Uint8Array;
}

/** Size of `struct btrfs_dir_item` before the name. */
export const BTRFS_DIR_ITEM_BYTES = 30;

/** Decodes the entries packed in one DIR_ITEM (several when names' hashes collide) or DIR_INDEX item. */
export function parseDirEntries(data: Uint8Array, field: string): DirEntry[] {
  const entries: DirEntry[] = [];
  let at = 0;
  while (at < data.byteLength) {
    if (at + BTRFS_DIR_ITEM_BYTES > data.byteLength) throw fieldError('CORRUPT', field, `an entry header at ${at} runs past the item's ${data.byteLength} bytes`);
    const dataLength = u16le(data, at + 25);
    const nameLength = u16le(data, at + 27);
    if (nameLength === 0 || nameLength > BTRFS_NAME_MAX_BYTES) throw fieldError('CORRUPT', `${field}.name_len`, `${nameLength} is outside 1..${BTRFS_NAME_MAX_BYTES}`);
    const end = at + BTRFS_DIR_ITEM_BYTES + nameLength + dataLength;
    if (end > data.byteLength) throw fieldError('CORRUPT', field, `an entry of ${end - at} bytes at ${at} runs past the item's ${data.byteLength} bytes`);
    entries.push({
      location: readKey(data, at, `${field}.location`),
      type: u8(data, at + 29),
      name: data.subarray(at + BTRFS_DIR_ITEM_BYTES, at + BTRFS_DIR_ITEM_BYTES + nameLength),
    });
    at = end;
  }
  return entries;
}

/**
 * A back-reference from a subvolume to the directory entry naming it (`struct
 * btrfs_root_ref`: dirid u64, sequence u64, name_len u16, then the name), kept in the root
 * tree under (subvolume, ROOT_BACKREF, parent subvolume).
 */
export interface RootRef {
  dirId: bigint;
  name: Uint8Array;
}

/** Decodes a ROOT_BACKREF or ROOT_REF item. */
export function parseRootRef(data: Uint8Array, field: string): RootRef {
  const nameLength = u16le(data, 16, field);
  if (nameLength === 0 || nameLength > BTRFS_NAME_MAX_BYTES || 18 + nameLength > data.byteLength) {
    throw fieldError('CORRUPT', `${field}.name_len`, `${nameLength} does not fit the item's ${data.byteLength} bytes`);
  }
  return { dirId: u64le(data, 0), name: data.subarray(18, 18 + nameLength) };
}

/**
 * The first name of an INODE_REF item (`struct btrfs_inode_ref`: index u64, name_len u16,
 * then the name), kept under (inode, INODE_REF, parent directory).
 */
export function parseInodeRefName(data: Uint8Array, field: string): Uint8Array {
  const nameLength = u16le(data, 8, field);
  if (nameLength === 0 || nameLength > BTRFS_NAME_MAX_BYTES || 10 + nameLength > data.byteLength) {
    throw fieldError('CORRUPT', `${field}.name_len`, `${nameLength} does not fit the item's ${data.byteLength} bytes`);
  }
  return data.subarray(10, 10 + nameLength);
}

/** Compression algorithms of file extents (`btrfs_compression_type`). */
export const COMPRESSION_NAMES: Readonly<Record<number, BtrfsCompression>> = { 1: 'zlib', 2: 'lzo', 3: 'zstd' };

/** A compression algorithm btrfs uses for file extents. */
export type BtrfsCompression = 'zlib' | 'lzo' | 'zstd';

/**
 * A file extent item (`struct btrfs_file_extent_item`), keyed (inode, EXTENT_DATA, file
 * offset).
 *
 * | offset | field |
 * | --- | --- |
 * | 0 | generation u64 |
 * | 8 | ram_bytes u64 (decoded size of the extent) |
 * | 16 | compression u8 |
 * | 17 | encryption u8 |
 * | 18 | other_encoding u16 |
 * | 20 | type u8: 0 inline (the data follows at 21), 1 regular, 2 prealloc |
 * | 21 | disk_bytenr u64 (0: a hole) |
 * | 29 | disk_num_bytes u64 |
 * | 37 | offset u64 (into the decoded extent) |
 * | 45 | num_bytes u64 (bytes of the file this item covers) |
 */
export type FileExtent =
  | { kind: 'inline'; compression: number; ramBytes: number; data: Uint8Array }
  | { kind: 'regular' | 'prealloc'; compression: number; ramBytes: number; diskBytenr: number; diskBytes: number; offset: number; length: number };

/** Size of a regular or prealloc file extent item. */
export const BTRFS_FILE_EXTENT_BYTES = 53;
/** Where an inline extent's data starts. */
export const BTRFS_INLINE_DATA_OFFSET = 21;

/** Decodes a file extent item; encrypted or otherwise encoded extents are `UNSUPPORTED`. */
export function parseFileExtent(data: Uint8Array, field: string): FileExtent {
  requireItemBytes(data, BTRFS_INLINE_DATA_OFFSET, 'a file extent item', field);
  const ramBytes = safeNumber(u64le(data, 8), `${field}.ram_bytes`);
  const compression = u8(data, 16);
  if (u8(data, 17) !== 0 || u16le(data, 18) !== 0) throw fieldError('UNSUPPORTED', `${field}.encryption`, 'encrypted or encoded extents are not read');
  if (compression > 3) throw fieldError('UNSUPPORTED', `${field}.compression`, `compression type ${compression} is unknown`);
  const type = u8(data, 20);
  if (type === 0) return { kind: 'inline', compression, ramBytes, data: data.subarray(BTRFS_INLINE_DATA_OFFSET) };
  if (type !== 1 && type !== 2) throw fieldError('CORRUPT', `${field}.type`, `extent type ${type} is neither inline, regular nor prealloc`);
  requireItemBytes(data, BTRFS_FILE_EXTENT_BYTES, `a ${type === 1 ? 'regular' : 'prealloc'} extent item`, field);
  return {
    kind: type === 1 ? 'regular' : 'prealloc',
    compression,
    ramBytes,
    diskBytenr: safeNumber(u64le(data, 21), `${field}.disk_bytenr`),
    diskBytes: safeNumber(u64le(data, 29), `${field}.disk_num_bytes`),
    offset: safeNumber(u64le(data, 37), `${field}.offset`),
    length: safeNumber(u64le(data, 45), `${field}.num_bytes`),
  };
}

/**
 * The hash btrfs keys DIR_ITEMs by: `crc32c(~1, name)` in the kernel's convention (register
 * seeded with 0xfffffffe, no final inversion), i.e. the standard CRC-32C continued from
 * `0xfffffffe ^ 0xffffffff = 1` and inverted back.
 */
export function btrfsNameHash(name: Uint8Array): bigint {
  return BigInt((crc32c(name, 1) ^ 0xffffffff) >>> 0);
}
