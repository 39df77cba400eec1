/**
 * ext2/3/4 directory entries and in-inode extended attributes.
 *
 * A directory block is a chain of `ext4_dir_entry_2` records that covers it exactly:
 *
 * | offset | field | meaning |
 * | --- | --- | --- |
 * | 0 | `inode` (32) | 0 for an unused record |
 * | 4 | `rec_len` (16) | bytes to the next record (a multiple of 4; 64 KiB blocks encode it, see {@link recordLength}) |
 * | 6 | `name_len` (8) | bytes of the name |
 * | 7 | `file_type` (8) | with the `filetype` feature, the `EXT2_FT_*` type; before it, the high byte of `name_len` |
 * | 8 | `name` | the name, not NUL-terminated |
 *
 * Hashed (htree) directories keep the same records: the root block's `..` record spans the
 * index, interior index blocks are one empty record spanning the block, and the
 * `metadata_csum` tail is an empty 12-byte record, so a linear scan sees every name once
 * (e2fsprogs's `ext2fs_lookup` reads them this way too).
 *
 * In-inode extended attributes (after `i_extra_isize`): a 4-byte magic 0xEA020000, then
 * entries `e_name_len` (8), `e_name_index` (8), `e_value_offs` (16, from the first entry),
 * `e_value_inum` (32), `e_value_size` (32), `e_hash` (32), the name padded to 4 bytes;
 * a zero 32-bit word ends the list.
 *
 * @module
 */
import { u16le, u32le, u8 } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';

/** The smallest record: 8 header bytes and a 1-byte name rounded to 4 (Linux `EXT4_DIR_REC_LEN(1)`). */
const MIN_RECORD_LENGTH = 12;

/**
 * `rec_len` as Linux decodes it (`ext4_rec_len_from_disk`): with 64 KiB blocks a record
 * spanning the whole block is stored as 65535 or 0 and the two low bits carry bits 16-17.
 */
function recordLength(stored: number, blockSize: number): number {
  if (blockSize < 65536) return stored;
  if (stored === 65535 || stored === 0) return blockSize;
  return (stored & 65532) | ((stored & 3) << 16);
}

/**
 * Calls `visit` for each used record of one directory block (or of an inline directory's
 * region) until it returns true, checking each record as Linux's `__ext4_check_dir_entry`
 * does: at least 12 bytes, aligned, long enough for its name, inside the block, naming an
 * inode that can exist. The name is passed as a range of `block` (no copy: a lookup
 * compares in place). Returns true when `visit` stopped the walk.
 */
export function visitDirectoryRecords(
  block: Uint8Array,
  blockSize: number,
  hasFileType: boolean,
  inodesCount: number,
  field: string,
  visit: (inode: number, nameStart: number, nameEnd: number, type: number) => boolean,
): boolean {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const end = block.byteLength;
  let at = 0;
  while (at < end) {
    if (at + 8 > end) throw fieldError('CORRUPT', field, `a record at ${at} runs past the end of the block`);
    const inode = view.getUint32(at, true);
    const length = recordLength(view.getUint16(at + 4, true), blockSize);
    const nameLength = hasFileType ? view.getUint8(at + 6) : view.getUint16(at + 6, true);
    if (length < MIN_RECORD_LENGTH) throw fieldError('CORRUPT', field, `the record at ${at} is ${length} bytes long (12 at least)`);
    if (length % 4 !== 0 || at + length > end || 8 + nameLength > length) {
      throw fieldError('CORRUPT', field, `the record at ${at} (length ${length}, name ${nameLength} bytes) does not fit the block`);
    }
    if (inode > inodesCount) throw fieldError('CORRUPT', field, `the record at ${at} names inode ${inode} of ${inodesCount}`);
    if (inode !== 0 && nameLength > 0 && visit(inode, at + 8, at + 8 + nameLength, hasFileType ? view.getUint8(at + 7) : 0)) return true;
    at += length;
  }
  return false;
}

/** The `system.` attribute namespace (`EXT4_XATTR_INDEX_SYSTEM`), where inline data lives as `system.data`. */
export const EXT_XATTR_INDEX_SYSTEM = 7;
/** `h_magic` of an extended attribute area. */
const XATTR_MAGIC = 0xea020000;
/** An entry's fixed part. */
const XATTR_ENTRY_SIZE = 16;

/**
 * The value of the in-inode extended attribute `index`/`name`, or `undefined` when the
 * inode has none. `area` is the inode's bytes after `128 + i_extra_isize`.
 */
export function inodeAttribute(area: Uint8Array, index: number, name: string, field: string): Uint8Array | undefined {
  if (area.byteLength < 4 || u32le(area, 0) !== XATTR_MAGIC) return undefined;
  const entries = area.subarray(4);
  let at = 0;
  // Each entry is at least 16 bytes, so the area's size bounds the loop.
  while (at + 4 <= entries.byteLength && u32le(entries, at) !== 0) {
    if (at + XATTR_ENTRY_SIZE > entries.byteLength) throw fieldError('CORRUPT', field, `attribute entry at ${at} runs past the inode`);
    const nameLength = u8(entries, at);
    const entryIndex = u8(entries, at + 1);
    const valueOffset = u16le(entries, at + 2);
    const valueInode = u32le(entries, at + 4);
    const valueSize = u32le(entries, at + 8);
    const nameEnd = at + XATTR_ENTRY_SIZE + nameLength;
    if (nameEnd > entries.byteLength) throw fieldError('CORRUPT', field, `attribute entry at ${at} has a name past the inode`);
    if (entryIndex === index && matches(entries.subarray(at + XATTR_ENTRY_SIZE, nameEnd), name)) {
      if (valueInode !== 0) {
        throw fieldError('UNSUPPORTED', field, `attribute ${name} is stored in inode ${valueInode} (ea_inode), which this driver does not read`);
      }
      if (valueOffset + valueSize > entries.byteLength) {
        throw fieldError('CORRUPT', field, `attribute ${name}'s value (${valueSize} bytes at ${valueOffset}) runs past the inode`);
      }
      return entries.subarray(valueOffset, valueOffset + valueSize);
    }
    at = (nameEnd + 3) & ~3;
  }
  return undefined;
}

function matches(bytes: Uint8Array, name: string): boolean {
  if (bytes.byteLength !== name.length) return false;
  for (let index = 0; index < name.length; index += 1) {
    if (bytes[index] !== name.charCodeAt(index)) return false;
  }
  return true;
}
