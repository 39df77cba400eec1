/**
 * Hand-built XFS structures that mkfs.xfs 6.1 cannot make from a prototype (it writes
 * every file as one extent): a file whose data fork is a two-level bmap btree with holes
 * and unwritten extents, written into an image as Linux lays it out (big-endian records,
 * v5 long-form block headers with owner, block number, UUID and CRC, the inode's CRC).
 * `xfs_db` then reads the result back as the oracle.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { crc32c } from '../../src/bytes.js';
import { runText } from './ext-xfs-tree.js';

/** xfs_db -r with commands, output as text. */
export function xfsDb(image: string, ...commands: string[]): string {
  return runText('xfs_db', ['-r', ...commands.flatMap((command) => ['-c', command]), image]);
}

/** The numbers of an XFS image this module needs, from xfs_db. */
export interface XfsGeometry {
  blockSize: number;
  agBlocks: number;
  agCount: number;
  dataBlocks: number;
  inodeSize: number;
  /** The UUID metadata blocks carry (`sb_meta_uuid` with the meta_uuid feature, else `sb_uuid`). */
  metadataUuid: string;
}

export function xfsGeometry(image: string): XfsGeometry {
  const sb = xfsDb(image, 'sb 0', 'print blocksize agblocks agcount dblocks inodesize uuid meta_uuid features_incompat');
  const number = (name: string): number => Number(new RegExp(`\\b${name} = (\\S+)`).exec(sb)?.[1]);
  const metaUuid = (number('features_incompat') & 0x4) !== 0;
  return {
    blockSize: number('blocksize'),
    agBlocks: number('agblocks'),
    agCount: number('agcount'),
    dataBlocks: number('dblocks'),
    inodeSize: number('inodesize'),
    metadataUuid: (metaUuid ? /meta_uuid = (\S+)/ : /\buuid = (\S+)/).exec(sb)?.[1] as string,
  };
}

/** xfs_db's `convert` answer, e.g. `0x10600 (67072)`. */
function convert(image: string, from: string): number {
  return Number(/\((\d+)\)/.exec(xfsDb(image, `convert ${from}`))?.[1]);
}

/** The inode number of `path` (from xfs_db's `ls` of its parent). */
export function xfsInodeNumber(image: string, path: string): number {
  const parent = path.slice(0, path.lastIndexOf('/')) || '/';
  const name = path.slice(path.lastIndexOf('/') + 1);
  const line = xfsDb(image, `path ${parent}`, 'ls')
    .split('\n')
    .map((text) => text.trim().split(/\s+/))
    .find((parts) => parts[5] === name);
  return Number(line?.[1]);
}

/** One extent as xfs_db's `bmap` prints it. */
export interface XfsExtent {
  startOffset: number;
  startBlock: number;
  count: number;
  unwritten: boolean;
}

/** xfs_db's `bmap` of the data fork of `path`. */
export function xfsBmap(image: string, path: string): XfsExtent[] {
  return [...xfsDb(image, `path ${path}`, 'bmap').matchAll(/data offset (\d+) startblock (\d+) \(\d+\/\d+\) count (\d+) flag (\d)/g)].map((match) => ({
    startOffset: Number(match[1]),
    startBlock: Number(match[2]),
    count: Number(match[3]),
    unwritten: match[4] === '1',
  }));
}

/** The byte offset of file system block `block` (an AG-packed number), from xfs_db. */
export function xfsBlockByte(image: string, block: number): number {
  return convert(image, `fsblock ${block} byte`);
}

/** What a file holds according to xfs_db's block map: mapped blocks from the image, zeros for holes and unwritten extents. */
export function contentFromBmap(image: string, path: string, size: number, blockSize: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const descriptor = openSync(image, 'r');
  try {
    for (const extent of xfsBmap(image, path)) {
      if (extent.unwritten) continue;
      const start = extent.startOffset * blockSize;
      const length = Math.min(extent.count * blockSize, size - start);
      if (length <= 0) continue;
      readSync(descriptor, bytes, start, length, xfsBlockByte(image, extent.startBlock));
    }
  } finally {
    closeSync(descriptor);
  }
  return bytes;
}

/** Reads or writes bytes of an image file in place. */
function patch(image: string, offset: number, length: number, change: (bytes: Uint8Array) => void): void {
  const descriptor = openSync(image, 'r+');
  try {
    const bytes = new Uint8Array(length);
    readSync(descriptor, bytes, 0, length, offset);
    change(bytes);
    writeSync(descriptor, bytes, 0, length, offset);
  } finally {
    closeSync(descriptor);
  }
}

/** A packed `xfs_bmbt_rec`. */
function writeRecord(view: DataView, at: number, extent: XfsExtent): void {
  const startBlock = BigInt(extent.startBlock);
  const high = (BigInt(extent.unwritten ? 1 : 0) << 63n) | (BigInt(extent.startOffset) << 9n) | (startBlock >> 43n);
  const low = ((startBlock & ((1n << 43n) - 1n)) << 21n) | BigInt(extent.count);
  view.setBigUint64(at, high);
  view.setBigUint64(at + 8, low);
}

const NULL_BLOCK = 0xffffffffffffffffn;
/** v5 long-form btree block header size and where its CRC is. */
const CRC_HEADER = 72;
const CRC_OFFSET = 64;

/** A v5 bmap btree block (`BMA3`), CRC included. `fill` writes records or keys and pointers after the header. */
function btreeBlock(
  geometry: XfsGeometry,
  byteOffset: number,
  owner: number,
  level: number,
  count: number,
  siblings: [bigint, bigint],
  fill: (view: DataView) => void,
): Uint8Array {
  const block = new Uint8Array(geometry.blockSize);
  const view = new DataView(block.buffer);
  view.setUint32(0, 0x424d4133);
  view.setUint16(4, level);
  view.setUint16(6, count);
  view.setBigUint64(8, siblings[0]);
  view.setBigUint64(16, siblings[1]);
  view.setBigUint64(24, BigInt(byteOffset / 512));
  block.set(Buffer.from(geometry.metadataUuid.replace(/-/g, ''), 'hex'), 40);
  view.setBigUint64(56, BigInt(owner));
  fill(view);
  view.setUint32(CRC_OFFSET, crc32c(block), true);
  return block;
}

/** How {@link rewriteAsBtree} lays the new btree out. */
export interface BtreePlan {
  /** The extents, in logical order, split between two leaves after `firstLeafCount`. */
  extents: XfsExtent[];
  firstLeafCount: number;
  /** Three free blocks (AG-packed numbers) for the node and the two leaves. */
  freeBlocks: [number, number, number];
  /** Change a tree block before it is written (hostile tests): 0 node, 1 and 2 leaves. */
  tamper?: (index: number, view: DataView) => void;
}

/**
 * Turns the data fork of `path` (a v5 file, no attribute fork) into a two-level bmap
 * btree: a root in the inode with one key, a node block with two keys, two leaves.
 */
export function rewriteAsBtree(image: string, path: string, plan: BtreePlan): void {
  const geometry = xfsGeometry(image);
  const inode = xfsInodeNumber(image, path);
  const [nodeBlock, leafA, leafB] = plan.freeBlocks;
  const leaves: Array<[number, XfsExtent[]]> = [
    [leafA, plan.extents.slice(0, plan.firstLeafCount)],
    [leafB, plan.extents.slice(plan.firstLeafCount)],
  ];
  const blockCapacity = Math.floor((geometry.blockSize - CRC_HEADER) / 16);
  const write = (index: number, block: number, level: number, count: number, fill: (view: DataView) => void): void => {
    const byte = xfsBlockByte(image, block);
    // Leaves link to each other (xfs_db's bmap walks the leaf level by its right siblings).
    const siblings: [bigint, bigint] = index === 1 ? [NULL_BLOCK, BigInt(leafB)] : index === 2 ? [BigInt(leafA), NULL_BLOCK] : [NULL_BLOCK, NULL_BLOCK];
    patch(image, byte, geometry.blockSize, (bytes) => {
      const built = btreeBlock(geometry, byte, inode, level, count, siblings, (view) => {
        fill(view);
        plan.tamper?.(index, view);
      });
      bytes.set(built);
    });
  };
  leaves.forEach(([block, extents], index) =>
    write(index + 1, block, 0, extents.length, (view) => extents.forEach((extent, at) => writeRecord(view, CRC_HEADER + at * 16, extent))),
  );
  write(0, nodeBlock, 1, 2, (view) => {
    leaves.forEach(([block, extents], at) => {
      view.setBigUint64(CRC_HEADER + at * 8, BigInt(extents[0]?.startOffset ?? 0));
      view.setBigUint64(CRC_HEADER + blockCapacity * 8 + at * 8, BigInt(block));
    });
  });
  patchInode(image, inode, geometry.inodeSize, (bytes, view) => {
    if (bytes[0x52] !== 0) throw new Error(`${path} has an attribute fork`);
    const forkSize = geometry.inodeSize - 176;
    const rootCapacity = Math.floor((forkSize - 4) / 16);
    bytes[5] = 3; // di_format = btree
    view.setBigUint64(0x40, view.getBigUint64(0x40) + 3n); // di_nblocks counts the tree blocks
    view.setUint32(0x4c, plan.extents.length); // di_nextents
    bytes.fill(0, 176);
    view.setUint16(176, 2); // root bb_level
    view.setUint16(178, 1); // root bb_numrecs
    view.setBigUint64(176 + 4, 0n);
    view.setBigUint64(176 + 4 + rootCapacity * 8, BigInt(nodeBlock));
  });
}

/** `count` free blocks at the end of the last allocation group (empty in a fresh, small file system). */
export function freeBlocksAtEnd(image: string, count: number): number[] {
  const geometry = xfsGeometry(image);
  const lastGroup = geometry.agCount - 1;
  const lastGroupBlocks = geometry.dataBlocks - lastGroup * geometry.agBlocks;
  return Array.from({ length: count }, (_, index) => convert(image, `agno ${lastGroup} agbno ${lastGroupBlocks - 1 - index} fsblock`));
}

/** Rewrites an inode (read, changed by `change`, CRC recomputed for v3 inodes). */
function patchInode(image: string, inode: number, inodeSize: number, change: (bytes: Uint8Array, view: DataView) => void): void {
  patch(image, convert(image, `inode ${inode} byte`), inodeSize, (bytes) => {
    const view = new DataView(bytes.buffer);
    change(bytes, view);
    if (bytes[4] === 3) {
      view.setUint32(0x64, 0);
      view.setUint32(0x64, crc32c(bytes), true); // di_crc
    }
  });
}

/** Replaces the extent list of an extents-format v5 inode (no attribute fork), counting `addedBlocks` more blocks. */
export function rewriteExtentList(image: string, path: string, extents: XfsExtent[], addedBlocks: number): void {
  const geometry = xfsGeometry(image);
  patchInode(image, xfsInodeNumber(image, path), geometry.inodeSize, (bytes, view) => {
    if (bytes[5] !== 2 || bytes[0x52] !== 0) throw new Error(`${path} is not an extents-format inode without attributes`);
    bytes.fill(0, 176);
    extents.forEach((extent, index) => writeRecord(view, 176 + index * 16, extent));
    view.setUint32(0x4c, extents.length);
    view.setBigUint64(0x40, view.getBigUint64(0x40) + BigInt(addedBlocks));
  });
}

/**
 * Writes a v5 remote symbolic link's blocks as Linux writes them (xfs_symlink_write_verify):
 * in each block the 56-byte `xfs_dsymlink_hdr` (magic XSLM, the target offset and byte count
 * it holds, CRC, metadata UUID, owner inode, the block's 512-byte sector number, LSN 0),
 * then its part of the target; the CRC is crc32c of the block with the CRC field zero,
 * little-endian.
 */
export function writeSymlinkBlocks(image: string, path: string, target: string): void {
  const geometry = xfsGeometry(image);
  const inode = xfsInodeNumber(image, path);
  const bytes = new TextEncoder().encode(target);
  const perBlock = geometry.blockSize - 56;
  const blocks = xfsBmap(image, path).flatMap((extent) => Array.from({ length: extent.count }, (_, index) => extent.startBlock + index));
  blocks.forEach((block, index) => {
    const offset = xfsBlockByte(image, block);
    const part = bytes.subarray(index * perBlock, (index + 1) * perBlock);
    patch(image, offset, geometry.blockSize, (stored) => {
      stored.fill(0);
      const view = new DataView(stored.buffer);
      view.setUint32(0, 0x58534c4d);
      view.setUint32(4, index * perBlock);
      view.setUint32(8, part.byteLength);
      stored.set(Buffer.from(geometry.metadataUuid.replace(/-/g, ''), 'hex'), 16);
      view.setBigUint64(32, BigInt(inode));
      view.setBigUint64(40, BigInt(offset / 512));
      stored.set(part, 56);
      view.setUint32(12, crc32c(stored), true);
    });
  });
}
