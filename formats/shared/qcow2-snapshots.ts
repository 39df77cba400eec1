/**
 * qcow2's snapshot table (qemu 7.2 block/qcow2-snapshot.c `qcow2_read_snapshots`) and
 * bitmap directory (block/qcow2-bitmap.c `bitmap_list_load`, `check_dir_entry`). Both may be
 * anywhere in the file: the module reads whichever comes first first, entry by entry,
 * forward; bytes past the end of the image read as zeros, as qemu reads them.
 *
 * Part of the qcow2 module (`formats/qcow2.ts`), which says what is read and in what order.
 *
 * @module
 */
import { hex, safeNumber, u64be } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import type { ByteReader, ParseContext } from '../../src/format-module.js';
import { missingBytesMessage, readPadded } from '../../src/reading/padded.js';
import type { Qcow2Bitmap, Qcow2Snapshot } from '../qcow2.js';
import {
  QCOW2_BITMAP_DIRECTORY_ENTRY_SIZE,
  QCOW2_SNAPSHOT_HEADER_SIZE,
  type Qcow2BitmapDirectoryEntry,
  type Qcow2SnapshotHeader,
  decodeQcow2BitmapDirectoryEntry,
  decodeQcow2SnapshotHeader,
} from '../generated/qcow2.js';
import { alignTo8 } from './qcow-header.js';
import { type Qcow2Extensions, qcow2Text } from './qcow2-extensions.js';
import { QCOW2_MAX_SNAPSHOTS, type Qcow2Header } from './qcow2-header.js';

// Limits (qemu 7.2 block/qcow2.h and block/qcow2-bitmap.c)

/** Most extra data in one snapshot table entry (QCOW_MAX_SNAPSHOT_EXTRA_DATA). */
export const QCOW2_MAX_SNAPSHOT_EXTRA_DATA_BYTES = 1024;
/** Largest snapshot table qemu opens: 64 MiB (QCOW_MAX_SNAPSHOTS_SIZE). */
export const QCOW2_MAX_SNAPSHOT_TABLE_BYTES = 1024 * QCOW2_MAX_SNAPSHOTS;
/** Longest bitmap name (BME_MAX_NAME_SIZE). */
export const QCOW2_MAX_BITMAP_NAME_BYTES = 1023;
/** Bitmap directory entry constraints (block/qcow2-bitmap.c). */
const BITMAP_LIMITS = { maxTableSize: 0x8000000, maxPhysicalBytes: 0x20000000, minGranularityBits: 9, maxGranularityBits: 31 } as const;
/** Bitmap directory entry flags (qcow2 specification, "Bitmap directory": bit 0 in use, bit 1 auto, the rest reserved). */
const BITMAP_FLAG = { inUse: 1, auto: 2, reserved: 0xfffffffc } as const;
/** The only bitmap type: dirty tracking. */
const BITMAP_TYPE_DIRTY_TRACKING = 1;
const ALL_ONES_64 = 2n ** 64n - 1n;

/** `sec` seconds and `nanoseconds` since the epoch as ISO 8601 with nine fraction digits. */
export function isoWithNanoseconds(seconds: number, nanoseconds: number): string {
  const total = BigInt(seconds) * 1_000_000_000n + BigInt(nanoseconds);
  const wholeSeconds = total / 1_000_000_000n;
  const fraction = (total % 1_000_000_000n).toString().padStart(9, '0');
  return new Date(Number(wholeSeconds) * 1000).toISOString().replace(/\.\d{3}Z$/, `.${fraction}Z`);
}

function clockNumber(value: bigint, what: string, context: ParseContext): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    context.warn(`${what} ${value} is above 2^53 and is reported rounded`);
  }
  return Number(value);
}

/** Reads the snapshot table entry by entry; entries past the end of the image are not read (qemu would read zeros). */
export async function readQcow2Snapshots(reader: ByteReader, header: Qcow2Header, context: ParseContext): Promise<Qcow2Snapshot[]> {
  const count = header.common.nbSnapshots;
  const snapshots: Qcow2Snapshot[] = [];
  if (count === 0) return snapshots;
  const start = safeNumber(header.common.snapshotsOffset, 'header.snapshotsOffset', 'qcow2');
  let offset = start;
  let tableBytes = 0;
  let missing = false;
  const read = async (at: number, length: number, field: string): Promise<Uint8Array> => {
    const { bytes, available } = await readPadded(reader, at, length, field);
    if (available < length) missing = true;
    return bytes;
  };
  for (let index = 0; index < count; index += 1) {
    const field = `snapshot table entry ${index}`;
    offset = alignTo8(offset);
    const entryHeader = await read(offset, QCOW2_SNAPSHOT_HEADER_SIZE, field);
    // Entries past the end of the image would all read as zeros: stop at the end, so that the
    // work is bounded by the bytes the image has, not by the count it claims.
    if (missing) break;
    const entry = decodeQcow2SnapshotHeader(entryHeader);
    offset += QCOW2_SNAPSHOT_HEADER_SIZE;
    if (entry.extraDataSize > QCOW2_MAX_SNAPSHOT_EXTRA_DATA_BYTES) {
      throw fieldError('LIMIT_EXCEEDED', `${field}.extraDataSize`, `${entry.extraDataSize} bytes of extra data, more than qemu's ${QCOW2_MAX_SNAPSHOT_EXTRA_DATA_BYTES}`);
    }
    const extra = await read(offset, entry.extraDataSize, `${field} extra data`);
    offset += entry.extraDataSize;
    const id = qcow2Text(await read(offset, entry.idStringSize, `${field} ID`));
    offset += entry.idStringSize;
    const name = qcow2Text(await read(offset, entry.nameSize, `${field} name`));
    offset += entry.nameSize;
    tableBytes += QCOW2_SNAPSHOT_HEADER_SIZE + entry.extraDataSize + entry.idStringSize + entry.nameSize;
    if (tableBytes > QCOW2_MAX_SNAPSHOT_TABLE_BYTES) {
      throw fieldError('LIMIT_EXCEEDED', 'snapshot table', `the snapshot table is larger than qemu's ${QCOW2_MAX_SNAPSHOT_TABLE_BYTES} bytes`);
    }
    snapshots.push(decodeSnapshot(entry, extra, id, name, header, context));
  }
  if (missing) context.incomplete(missingBytesMessage('snapshot table', start));
  return snapshots;
}

function decodeSnapshot(
  entry: Qcow2SnapshotHeader,
  extra: Uint8Array,
  id: string,
  name: string,
  header: Qcow2Header,
  context: ParseContext,
): Qcow2Snapshot {
  // Extra data (qcow2 specification, "Snapshots"): u64 vm_state_size_large, u64 disk_size, u64
  // icount, each present when the entry's extra data is long enough to hold it.
  const field = `snapshot ${id}`;
  const vmStateSize = extra.byteLength >= 8 ? safeNumber(u64be(extra, 0, `${field}.vmStateSize`), `${field}.vmStateSize`, 'qcow2') : entry.vmStateSize;
  // Without the extra field, the image's own size (as qemu does); above 2^53 the nearest number (the image's virtualSizeExact is exact).
  const diskSize = extra.byteLength >= 16 ? safeNumber(u64be(extra, 8, `${field}.diskSize`), `${field}.diskSize`, 'qcow2') : Number(header.common.size);
  const rawIcount = extra.byteLength >= 24 ? u64be(extra, 16, `${field}.icount`) : ALL_ONES_64;
  return {
    id,
    name,
    vmStateSize,
    diskSize,
    date: isoWithNanoseconds(entry.dateSeconds, entry.dateNanoseconds),
    vmClockNs: clockNumber(entry.vmClockNanoseconds, `the VM clock of ${field}`, context),
    // All ones means "no instruction count" (qemu: icount -1).
    icount: rawIcount === ALL_ONES_64 ? undefined : clockNumber(rawIcount, `the instruction count of ${field}`, context),
  };
}

/** qemu's `check_dir_entry`: a bitmap qemu would refuse, and the reason. */
function bitmapProblem(entry: Qcow2BitmapDirectoryEntry, header: Qcow2Header): string | undefined {
  if (entry.bitmapTableSize === 0 || entry.bitmapTableSize > BITMAP_LIMITS.maxTableSize) return `bitmap table size ${entry.bitmapTableSize}`;
  if (entry.bitmapTableOffset === 0n || entry.bitmapTableOffset % BigInt(header.clusterSize) !== 0n) return `bitmap table offset ${entry.bitmapTableOffset}`;
  if (entry.granularityBits < BITMAP_LIMITS.minGranularityBits || entry.granularityBits > BITMAP_LIMITS.maxGranularityBits) return `granularity 2^${entry.granularityBits}`;
  if ((entry.flags & BITMAP_FLAG.reserved) !== 0) return `reserved flags ${hex(entry.flags >>> 0)}`;
  if (entry.nameSize > QCOW2_MAX_BITMAP_NAME_BYTES) return `a name of ${entry.nameSize} bytes`;
  if (entry.type !== BITMAP_TYPE_DIRTY_TRACKING) return `type ${entry.type}`;
  const physicalBytes = BigInt(entry.bitmapTableSize) * BigInt(header.clusterSize);
  if (physicalBytes > BigInt(BITMAP_LIMITS.maxPhysicalBytes)) return `a bitmap of ${physicalBytes} bytes`;
  // qemu compares with its own length of the disk, whole sectors.
  const diskBytes = (header.common.size / 512n) * 512n;
  if ((entry.flags & BITMAP_FLAG.inUse) === 0 && diskBytes > (physicalBytes * 8n) << BigInt(entry.granularityBits)) {
    return 'a bitmap table too small for the disk';
  }
  return undefined;
}

/** Reads the bitmap directory, checking each entry as qemu's `check_dir_entry` does. */
export async function readQcow2Bitmaps(reader: ByteReader, header: Qcow2Header, directory: NonNullable<Qcow2Extensions['bitmapDirectory']>, context: ParseContext): Promise<Qcow2Bitmap[]> {
  const field = 'bitmap directory';
  if (directory.size === 0) throw fieldError('CORRUPT', field, 'the bitmap directory is empty');
  const bitmaps: Qcow2Bitmap[] = [];
  const end = directory.offset + directory.size;
  let offset = directory.offset;
  let missing = false;
  while (offset < end) {
    if (offset + QCOW2_BITMAP_DIRECTORY_ENTRY_SIZE > end) throw fieldError('CORRUPT', field, `an entry at ${offset} runs past the directory's end`);
    if (bitmaps.length >= directory.count) throw fieldError('CORRUPT', field, `more bitmaps than the ${directory.count} the extension declares`);
    const piece = await readPadded(reader, offset, QCOW2_BITMAP_DIRECTORY_ENTRY_SIZE, field);
    if (piece.available < QCOW2_BITMAP_DIRECTORY_ENTRY_SIZE) missing = true;
    const entry = decodeQcow2BitmapDirectoryEntry(piece.bytes);
    const entrySize = alignTo8(QCOW2_BITMAP_DIRECTORY_ENTRY_SIZE + entry.extraDataSize + entry.nameSize);
    if (entry.extraDataSize > directory.size || offset + entrySize > end) throw fieldError('CORRUPT', field, `the entry at ${offset} runs past the directory's end`);
    if (entry.extraDataSize !== 0) {
      throw fieldError('UNSUPPORTED', `${field}.extraDataSize`, 'bitmap extra data (qemu supports none)');
    }
    const namePiece = await readPadded(reader, offset + QCOW2_BITMAP_DIRECTORY_ENTRY_SIZE, entry.nameSize, `${field} name`);
    if (namePiece.available < entry.nameSize) missing = true;
    const name = qcow2Text(namePiece.bytes);
    const problem = bitmapProblem(entry, header);
    if (problem !== undefined) throw fieldError('CORRUPT', field, `bitmap "${name}" has ${problem}, which qemu refuses`);
    const flags: string[] = [];
    if ((entry.flags & BITMAP_FLAG.inUse) !== 0) flags.push('in-use');
    if ((entry.flags & BITMAP_FLAG.auto) !== 0) flags.push('auto');
    bitmaps.push({ name, granularity: 2 ** entry.granularityBits, flags });
    offset += entrySize;
  }
  if (bitmaps.length !== directory.count) throw fieldError('CORRUPT', field, `${bitmaps.length} bitmaps, but the extension declares ${directory.count}`);
  if (missing) context.incomplete(missingBytesMessage('bitmap directory', directory.offset));
  return bitmaps;
}

