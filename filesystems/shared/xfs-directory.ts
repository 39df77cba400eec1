/**
 * XFS version 2 directory entries (Linux and xfsprogs `libxfs/xfs_da_format.h`), in the
 * two places names live.
 *
 * Short form (a `local` data fork): a header `count` (8), `i8count` (8), the parent inode
 * (4 bytes, or 8 when `i8count` > 0), then per entry `namelen` (8), `offset` (16), the name,
 * the file type (8, with `ftype`), the inode number (4 or 8 bytes).
 *
 * Data blocks (every other format): a header (`XD2B`/`XD2D` and three best-free slots,
 * 16 bytes; v5 `XDB3`/`XDD3` with CRC, block number, LSN, UUID, owner, 64 bytes), then
 * 8-byte-aligned entries: `inumber` (64), `namelen` (8), the name, the file type (with
 * `ftype`), a 16-bit tag; or free space: 0xFFFF, its length (16), ..., a tag. A
 * single-block directory (`XD2B`/`XDB3`) ends with its hash leaf: `count` 8-byte entries
 * and an 8-byte tail (`count`, `stale`). Leaf, node and free-index blocks live above the
 * 32 GiB data space and are not needed to find a name: scanning the data blocks is enough
 * (as `xfs_db`'s `ls` does).
 *
 * @module
 */
import { fieldError } from '../../src/errors.js';
import type { DirectoryVisitor } from './unix-directory.js';

/** Where a directory's leaf blocks start: the data space is the first 32 GiB (`XFS_DIR2_LEAF_OFFSET`). */
export const XFS_DIRECTORY_DATA_SPACE_BYTES = 2 ** 35;

/** Data block magics. */
const BLOCK_MAGIC = 0x58443242; // XD2B
const DATA_MAGIC = 0x58443244; // XD2D
const CRC_BLOCK_MAGIC = 0x58444233; // XDB3
const CRC_DATA_MAGIC = 0x58444433; // XDD3
const HEADER_SIZE = 16;
const CRC_HEADER_SIZE = 64;
const FREE_TAG = 0xffff;
/** The block directory tail (`count`, `stale`) and each hash leaf entry. */
const BLOCK_TAIL_SIZE = 8;
const LEAF_ENTRY_SIZE = 8;


/** One entry found in a directory structure: its inode, where its name is, its file type. */
type Entry = [inode: number, nameStart: number, nameEnd: number, type: number];

function visitAll(bytes: Uint8Array, entries: readonly Entry[], visit: DirectoryVisitor): boolean {
  for (const [inode, nameStart, nameEnd, type] of entries) {
    if (visit(bytes, inode, nameStart, nameEnd, type)) return true;
  }
  return false;
}

/**
 * Walks a short-form directory (the first `size` bytes of the data fork) until `visit`
 * returns true. Returns true when it did. The whole structure is checked first, as
 * Linux's `xfs_dir2_sf_verify` checks it when the inode is read: every entry inside the
 * fork, and the last one ending exactly at `size`.
 */
export function visitShortFormEntries(fork: Uint8Array, size: number, hasFileType: boolean, field: string, visit: DirectoryVisitor): boolean {
  if (size > fork.byteLength || size < 6) throw fieldError('CORRUPT', field, `a ${size}-byte short-form directory in a ${fork.byteLength}-byte fork`);
  const bytes = fork.subarray(0, size);
  const count = bytes[0] as number;
  const wideInodes = (bytes[1] as number) > 0;
  const inodeBytes = wideInodes ? 8 : 4;
  const typeSize = hasFileType ? 1 : 0;
  const entries: Entry[] = [];
  let at = 2 + inodeBytes;
  for (let index = 0; index < count; index += 1) {
    if (at + 3 > size) throw fieldError('CORRUPT', field, `entry ${index} of ${count} starts past the directory's end`);
    const nameLength = bytes[at] as number;
    const nameStart = at + 3;
    const nameEnd = nameStart + nameLength;
    const end = nameEnd + typeSize + inodeBytes;
    if (nameLength === 0 || end > size) throw fieldError('CORRUPT', field, `entry ${index} (a ${nameLength}-byte name) does not fit`);
    entries.push([readInodeNumber(bytes, nameEnd + typeSize, inodeBytes), nameStart, nameEnd, hasFileType ? (bytes[nameEnd] as number) : 0]);
    at = end;
  }
  if (at !== size) throw fieldError('CORRUPT', field, `${count} entries end at ${at}, the directory at ${size}`);
  return visitAll(bytes, entries, visit);
}

/**
 * Walks one directory data block (or a single-block directory) until `visit` returns
 * true. Returns true when it did. The whole block is checked first, as Linux's buffer
 * verifier (`__xfs_dir3_data_check`) checks it when the block is read: a data-block
 * magic, entries and free spaces that tile the block, no empty name.
 */
export function visitDataBlockEntries(block: Uint8Array, hasCrc: boolean, hasFileType: boolean, field: string, visit: DirectoryVisitor): boolean {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const magic = view.getUint32(0);
  const [blockMagic, dataMagic] = hasCrc ? [CRC_BLOCK_MAGIC, CRC_DATA_MAGIC] : [BLOCK_MAGIC, DATA_MAGIC];
  if (magic !== blockMagic && magic !== dataMagic) throw fieldError('CORRUPT', field, `magic 0x${magic.toString(16)} is not a directory data block`);
  const start = hasCrc ? CRC_HEADER_SIZE : HEADER_SIZE;
  let end = block.byteLength;
  if (magic === blockMagic) {
    const leafCount = view.getUint32(end - BLOCK_TAIL_SIZE);
    const leafBytes = BLOCK_TAIL_SIZE + leafCount * LEAF_ENTRY_SIZE;
    if (leafBytes > end - start) throw fieldError('CORRUPT', field, `a hash leaf of ${leafCount} entries does not fit the block`);
    end -= leafBytes;
  }
  const typeSize = hasFileType ? 1 : 0;
  const entries: Entry[] = [];
  let at = start;
  while (at < end) {
    if (end - at < 8) throw fieldError('CORRUPT', field, `an entry at ${at} runs past the end of the entries`);
    if (view.getUint16(at) === FREE_TAG) {
      const length = view.getUint16(at + 2);
      if (length < 8 || length % 8 !== 0 || at + length > end) throw fieldError('CORRUPT', field, `free space at ${at} of ${length} bytes does not fit`);
      at += length;
      continue;
    }
    const nameLength = view.getUint8(at + 8);
    // inumber, namelen, name, file type, tag, rounded up to 8 bytes.
    const length = (8 + 1 + nameLength + typeSize + 2 + 7) & ~7;
    if (nameLength === 0 || at + length > end) throw fieldError('CORRUPT', field, `the entry at ${at} (a ${nameLength}-byte name) does not fit`);
    const nameStart = at + 9;
    const nameEnd = nameStart + nameLength;
    entries.push([readInodeNumber(block, at, 8), nameStart, nameEnd, hasFileType ? view.getUint8(nameEnd) : 0]);
    at += length;
  }
  return visitAll(block, entries, visit);
}

/** A big-endian inode number of 4 or 8 bytes; 0 (never valid) when it exceeds 2^53, so that the inode read refuses it. */
function readInodeNumber(bytes: Uint8Array, at: number, size: number): number {
  let value = 0;
  for (let index = 0; index < size; index += 1) value = value * 256 + (bytes[at + index] as number);
  return Number.isSafeInteger(value) ? value : 0;
}
