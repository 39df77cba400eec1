/**
 * qcow2: QEMU copy-on-write disk images, versions 2 (compat 0.10) and 3 (compat 1.1).
 *
 * What is read, in ascending order of offset (a stream is never asked to go back):
 *
 * | structure | where | read |
 * | --- | --- | --- |
 * | header | 0, 72 bytes (v2) or `headerLength` bytes (v3, at least 104) | whole, or `TRUNCATED` |
 * | header extensions | from `headerLength` to the backing file name (or the end of the first cluster), 8-byte aligned | one by one until the end marker |
 * | backing file name | `backingFileOffset`, inside the first cluster | |
 * | snapshot table, bitmap directory | anywhere, cluster-aligned | entry by entry, whichever comes first in the file first |
 *
 * The L1 and refcount tables are not read: their size and position are checked as qemu
 * checks them. Like qemu's block layer, bytes past the end of the file read as zeros, so
 * a bare header opens (with a warning naming what was missing).
 *
 * Sources: the qcow2 specification (qemu docs/interop/qcow2.txt) and qemu 7.2
 * block/qcow2.c `qcow2_do_open`, `qcow2_read_extensions`, block/qcow2-snapshot.c
 * `qcow2_read_snapshots`, block/qcow2-bitmap.c `bitmap_list_load`, `check_dir_entry`.
 *
 * @module
 */
import { bitsSet, cutAtNul, hex, safeNumber, u64be, u8, utf8Text } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader, FormatModule, ParseContext, ParsedImage } from '../src/format-module.js';
import { type SafetyCheck, fail, pass } from '../src/safety.js';
import { FORMAT_SPECIFIC, listRows, type SummaryRow, section, snapshotTable } from '../src/summary.js';
import {
  QCOW2_BITMAPS_EXTENSION_SIZE,
  QCOW2_ENCRYPTIONS,
  QCOW2_FEATURE_TYPES,
  QCOW2_HEADER_COMMON_MAGIC,
  QCOW2_BITMAP_DIRECTORY_ENTRY_SIZE,
  QCOW2_ENCRYPTION_HEADER_POINTER_SIZE,
  QCOW2_FEATURE_NAME_ENTRY_SIZE,
  QCOW2_HEADER_COMMON_SIZE,
  QCOW2_HEADER_EXTENSION_HEADER_SIZE,
  QCOW2_HEADER_VERSION3_SIZE,
  QCOW2_SNAPSHOT_HEADER_SIZE,
  type Qcow2BitmapDirectoryEntry,
  type Qcow2Encryption,
  type Qcow2HeaderCommon,
  type Qcow2SnapshotHeader,
  decodeQcow2BitmapDirectoryEntry,
  decodeQcow2BitmapsExtension,
  decodeQcow2EncryptionHeaderPointer,
  decodeQcow2FeatureNameEntry,
  decodeQcow2HeaderCommon,
  decodeQcow2HeaderExtensionHeader,
  decodeQcow2HeaderVersion3,
  decodeQcow2SnapshotHeader,
} from './generated/qcow2.js';
import { type FeatureMask, describeFeatureMask, hasBit } from './shared/qcow-features.js';
import { ForwardReads, type ReadPiece, alignTo8, qcowHeaderVersion } from './shared/qcow-reading.js';

// ---------------------------------------------------------------------------------------
// Limits (qemu 7.2 block/qcow2.h and block/qcow2-bitmap.c unless said otherwise)

/** Smallest cluster size qemu accepts: 2^9 = 512 bytes (MIN_CLUSTER_BITS). */
export const QCOW2_MIN_CLUSTER_BITS = 9;
/** Largest cluster size qemu accepts: 2^21 = 2 MiB (MAX_CLUSTER_BITS). */
export const QCOW2_MAX_CLUSTER_BITS = 21;
/** The shortest version 3 header: 104 bytes (qemu: "qcow2 header too short"). */
export const QCOW2_MIN_VERSION3_HEADER_LENGTH = 104;
/** The longest backing file name qemu reads: 1023 bytes ("Backing file name too long"). */
export const QCOW2_MAX_BACKING_FILE_NAME_BYTES = 1023;
/** The longest backing format name qemu reads: 15 bytes (its buffer is 16 with the NUL). */
export const QCOW2_MAX_BACKING_FORMAT_BYTES = 15;
/** More header extensions than this is not an image anybody made (qemu writes at most 6). */
export const QCOW2_MAX_HEADER_EXTENSIONS = 1024;
/** A feature name table names at most 64 bits of each of the 3 masks. */
export const QCOW2_MAX_FEATURE_NAMES = 192;
/** Most internal snapshots qemu opens (QCOW_MAX_SNAPSHOTS). */
export const QCOW2_MAX_SNAPSHOTS = 65536;
/** Most extra data in one snapshot table entry (QCOW_MAX_SNAPSHOT_EXTRA_DATA). */
export const QCOW2_MAX_SNAPSHOT_EXTRA_DATA_BYTES = 1024;
/** Largest snapshot table qemu opens: 64 MiB (QCOW_MAX_SNAPSHOTS_SIZE). */
export const QCOW2_MAX_SNAPSHOT_TABLE_BYTES = 1024 * QCOW2_MAX_SNAPSHOTS;
/** Most bitmaps qemu opens (QCOW2_MAX_BITMAPS). */
export const QCOW2_MAX_BITMAPS = 65535;
/** Largest bitmap directory qemu opens (QCOW2_MAX_BITMAP_DIRECTORY_SIZE). */
export const QCOW2_MAX_BITMAP_DIRECTORY_BYTES = 1024 * QCOW2_MAX_BITMAPS;
/** Longest bitmap name (BME_MAX_NAME_SIZE). */
export const QCOW2_MAX_BITMAP_NAME_BYTES = 1023;
/** Largest active L1 table qemu opens: 32 MiB (QCOW_MAX_L1_SIZE). */
export const QCOW2_MAX_L1_TABLE_BYTES = 32 * 1024 * 1024;
/** Largest refcount table qemu opens: 8 MiB (QCOW_MAX_REFTABLE_SIZE). */
export const QCOW2_MAX_REFCOUNT_TABLE_BYTES = 8 * 1024 * 1024;

const MAX_CLUSTER_SIZE = 2 ** QCOW2_MAX_CLUSTER_BITS;
/** Bitmap directory entry constraints (block/qcow2-bitmap.c). */
const BITMAP_MAX_TABLE_SIZE = 0x8000000;
const BITMAP_MAX_PHYSICAL_BYTES = 0x20000000;
const BITMAP_MIN_GRANULARITY_BITS = 9;
const BITMAP_MAX_GRANULARITY_BITS = 31;
const BITMAP_FLAG_IN_USE = 1;
const BITMAP_FLAG_AUTO = 2;
const BITMAP_RESERVED_FLAGS = 0xfffffffc;
const BITMAP_TYPE_DIRTY_TRACKING = 1;
/** Extended L2 entries split a cluster into 32 subclusters (QCOW_EXTL2_SUBCLUSTERS_PER_CLUSTER). */
const SUBCLUSTERS_PER_CLUSTER = 32;
const INT32_MAX = 2 ** 31 - 1;
const INT64_MAX = 2n ** 63n - 1n;
const ALL_ONES_64 = 2n ** 64n - 1n;

/** Header extension types (qcow2 specification, "Header extensions"). */
const EXTENSION_END = 0;
const EXTENSION_BACKING_FORMAT = 0xe2792aca;
const EXTENSION_FEATURE_NAME_TABLE = 0x6803f857;
const EXTENSION_BITMAPS = 0x23852875;
const EXTENSION_ENCRYPTION_HEADER = 0x0537be77;
const EXTENSION_DATA_FILE = 0x44415441;

const EXTENSION_NAMES: ReadonlyMap<number, string> = new Map([
  [EXTENSION_BACKING_FORMAT, 'backing file format'],
  [EXTENSION_FEATURE_NAME_TABLE, 'feature name table'],
  [EXTENSION_BITMAPS, 'bitmaps'],
  [EXTENSION_ENCRYPTION_HEADER, 'full disk encryption header pointer'],
  [EXTENSION_DATA_FILE, 'external data file name'],
]);

/** Feature bits (qcow2 specification, header bytes 72 to 95), with qemu's names for them. */
const INCOMPATIBLE_DIRTY = 0;
const INCOMPATIBLE_CORRUPT = 1;
const INCOMPATIBLE_DATA_FILE = 2;
const INCOMPATIBLE_COMPRESSION = 3;
const INCOMPATIBLE_EXTENDED_L2 = 4;
const COMPATIBLE_LAZY_REFCOUNTS = 0;
const AUTOCLEAR_BITMAPS = 0;
const AUTOCLEAR_DATA_FILE_RAW = 1;

const INCOMPATIBLE_NAMES: ReadonlyMap<number, string> = new Map([
  [INCOMPATIBLE_DIRTY, 'dirty bit'],
  [INCOMPATIBLE_CORRUPT, 'corrupt bit'],
  [INCOMPATIBLE_DATA_FILE, 'external data file'],
  [INCOMPATIBLE_COMPRESSION, 'compression type'],
  [INCOMPATIBLE_EXTENDED_L2, 'extended L2 entries'],
]);
const COMPATIBLE_NAMES: ReadonlyMap<number, string> = new Map([[COMPATIBLE_LAZY_REFCOUNTS, 'lazy refcounts']]);
const AUTOCLEAR_NAMES: ReadonlyMap<number, string> = new Map([
  [AUTOCLEAR_BITMAPS, 'bitmaps'],
  [AUTOCLEAR_DATA_FILE_RAW, 'raw external data'],
]);
export type { Qcow2Encryption } from './generated/qcow2.js';

const COMPRESSION_TYPES = ['zlib', 'zstd'] as const;

// ---------------------------------------------------------------------------------------
// Details

/** One internal snapshot (a snapshot table entry). */
export interface Qcow2Snapshot {
  /** The unique ID string (qemu numbers them "1", "2", ...). */
  id: string;
  /** The snapshot's name. */
  name: string;
  /** Bytes of saved VM state (0 for a disk-only snapshot): the 64-bit extra field when present, else the 32-bit one. */
  vmStateSize: number;
  /** The virtual disk size when the snapshot was taken: the extra field when present, else the image's size (as qemu does). */
  diskSize: number;
  /** When the snapshot was taken, ISO 8601 with nanoseconds (`2026-11-24T10:00:00.123456789Z`). */
  date: string;
  /** The guest clock when the snapshot was taken, in nanoseconds (rounded, with a warning, above 2^53). */
  vmClockNs: number;
  /** The guest instruction count (record/replay), when the entry has one. */
  icount: number | undefined;
}

/** One persistent dirty bitmap (a bitmap directory entry). */
export interface Qcow2Bitmap {
  /** The bitmap's name. */
  name: string;
  /** Bytes of disk one bit covers. */
  granularity: number;
  /** qemu's names for the set flags: `in-use` (bit 0), `auto` (bit 1). */
  flags: string[];
}

/** One header extension, as found (unknown types included). */
export interface Qcow2HeaderExtension {
  /** The extension type, `0x`-prefixed, 8 hexadecimal digits (e.g. `'0xe2792aca'`). */
  type: string;
  /** What the specification calls it, for the types it defines. */
  name: string | undefined;
  /** Where its data starts in the image. */
  offset: number;
  /** Length of its data in bytes (without padding). */
  length: number;
}

/** One entry of the image's feature name table. */
export interface Qcow2FeatureName {
  /** Which mask the bit belongs to (`type N` for a type the specification does not define). */
  type: 'incompatible' | 'compatible' | 'autoclear' | `type ${number}`;
  /** The bit number. */
  bit: number;
  /** The name the image gives it. */
  name: string;
}

/** qcow2 metadata. Field names follow qemu's `qemu-img info` where it has one. */
export interface Qcow2Details {
  /** The header version: 2 or 3. */
  version: number;
  /** qemu's name for the version: `'0.10'` (v2) or `'1.1'` (v3). */
  compat: '0.10' | '1.1';
  /** Cluster size in bytes (qemu's `cluster-size`). */
  clusterSize: number;
  /** The backing file name, as stored (relative names stay relative). */
  backingFile: string | undefined;
  /** The backing file's format, from the backing format extension. */
  backingFormat: string | undefined;
  /** How the data is encrypted. */
  encryption: Qcow2Encryption;
  /** Where the LUKS header is stored inside the image (the full disk encryption header pointer). */
  encryptionHeader: { offset: number; length: number } | undefined;
  /** Incompatible bit 0: the refcounts may be stale (qemu's `dirty-flag`; always false for v2). */
  dirty: boolean;
  /** Incompatible bit 1: qemu found the metadata corrupt and will open the image read-only only. */
  corrupt: boolean;
  /** Compatible bit 0: refcount updates are postponed. */
  lazyRefcounts: boolean;
  /** Bits per refcount entry (1 << refcountOrder; 16 for v2). */
  refcountBits: number;
  /** Incompatible bit 4: L2 entries have 32 subclusters. */
  extendedL2: boolean;
  /** How compressed clusters are compressed (header byte 104; zlib when the header is shorter). */
  compressionType: 'zlib' | 'zstd';
  /** The external data file's name (the data file extension). */
  dataFile: string | undefined;
  /**
   * Autoclear bit 1: the external data file is a valid raw image by itself. Only meaningful,
   * and only reported, when the image has an external data file (incompatible bit 2), as qemu does.
   */
  dataFileRaw: boolean | undefined;
  /** Incompatible feature bits (0 for v2). */
  incompatibleFeatures: FeatureMask;
  /** Compatible feature bits (0 for v2). */
  compatibleFeatures: FeatureMask;
  /** Autoclear feature bits (0 for v2). */
  autoclearFeatures: FeatureMask;
  /** The image's feature name table, when it has one (qemu writes it for clusters above 4 KiB). */
  featureNameTable: Qcow2FeatureName[];
  /** Every header extension, in order, unknown ones included (not the end marker). */
  headerExtensions: Qcow2HeaderExtension[];
  /** The internal snapshots, in table order. */
  snapshots: Qcow2Snapshot[];
  /** The persistent dirty bitmaps, in directory order (v3 only; none when the bitmaps extension is inconsistent). */
  bitmaps: Qcow2Bitmap[];
  /** Entries in the active L1 table. */
  l1Size: number;
  /** Where the active L1 table is. */
  l1TableOffset: number;
  /** Where the refcount table is. */
  refcountTableOffset: number;
  /** Clusters the refcount table occupies. */
  refcountTableClusters: number;
  /** The header's length in bytes (72 for v2). */
  headerLength: number;
}

// ---------------------------------------------------------------------------------------
// Header

/** The header fields the rest of the parse needs, decoded and checked. */
interface Header {
  common: Qcow2HeaderCommon;
  version: number;
  clusterBits: number;
  clusterSize: number;
  headerLength: number;
  incompatible: bigint;
  compatible: bigint;
  autoclear: bigint;
  refcountOrder: number;
  compressionType: number;
}


function requireWhole(piece: ReadPiece, field: string): Uint8Array {
  if (piece.available < piece.bytes.byteLength) {
    throw fieldError('TRUNCATED', field, `needs ${piece.bytes.byteLength} bytes, but the image has ${piece.available}`);
  }
  return piece.bytes;
}

async function readHeader(reads: ForwardReads): Promise<Header> {
  const common = decodeQcow2HeaderCommon(requireWhole(await reads.start(QCOW2_HEADER_COMMON_SIZE, 'header'), 'header'));
  const version = common.version;
  if (version < 2 || version > 3) {
    // qemu: "Unsupported qcow2 version N" (a version 1 header is qcow, another module).
    throw fieldError('UNSUPPORTED', 'header.version', `version ${version} (qemu 7.2 opens versions 2 and 3)`);
  }
  const clusterBits = common.clusterBits;
  if (clusterBits < QCOW2_MIN_CLUSTER_BITS || clusterBits > QCOW2_MAX_CLUSTER_BITS) {
    throw fieldError('CORRUPT', 'header.clusterBits', `cluster size 2^${clusterBits} is outside 2^${QCOW2_MIN_CLUSTER_BITS}..2^${QCOW2_MAX_CLUSTER_BITS}`);
  }
  const clusterSize = 2 ** clusterBits;
  if (version === 2) {
    // qemu: a version 2 header has no feature masks, refcount order 4, 72 bytes.
    return { common, version, clusterBits, clusterSize, headerLength: QCOW2_HEADER_COMMON_SIZE, incompatible: 0n, compatible: 0n, autoclear: 0n, refcountOrder: 4, compressionType: 0 };
  }
  const minimal = requireWhole(await reads.start(QCOW2_MIN_VERSION3_HEADER_LENGTH, 'header'), 'header');
  const version3 = decodeQcow2HeaderVersion3(minimal.subarray(QCOW2_HEADER_COMMON_SIZE, QCOW2_HEADER_COMMON_SIZE + QCOW2_HEADER_VERSION3_SIZE));
  const headerLength = version3.headerLength;
  if (headerLength < QCOW2_MIN_VERSION3_HEADER_LENGTH) {
    throw fieldError('CORRUPT', 'header.headerLength', `${headerLength} bytes is shorter than a version 3 header (104)`);
  }
  if (headerLength > clusterSize) {
    throw fieldError('CORRUPT', 'header.headerLength', `${headerLength} bytes exceeds the cluster size ${clusterSize}`);
  }
  const whole = requireWhole(await reads.start(headerLength, 'header'), 'header');
  // Byte 104 is the compression type when the header is long enough to hold it (qemu 5.1+).
  const compressionType = headerLength > QCOW2_MIN_VERSION3_HEADER_LENGTH ? u8(whole, QCOW2_MIN_VERSION3_HEADER_LENGTH, 'header.compressionType') : 0;
  return {
    common,
    version,
    clusterBits,
    clusterSize,
    headerLength,
    incompatible: version3.incompatibleFeatures,
    compatible: version3.compatibleFeatures,
    autoclear: version3.autoclearFeatures,
    refcountOrder: version3.refcountOrder,
    compressionType,
  };
}

/** The header's encryption method by name; `UNSUPPORTED` for a method qemu does not know. */
function encryptionOf(common: Qcow2HeaderCommon): Qcow2Encryption {
  const encryption = QCOW2_ENCRYPTIONS.get(common.cryptMethod);
  if (encryption === undefined) {
    throw fieldError('UNSUPPORTED', 'header.cryptMethod', `encryption method ${common.cryptMethod} (qemu knows 0 none, 1 AES, 2 LUKS)`);
  }
  return encryption;
}

/** qemu's `qcow2_validate_table`: size under the cap, offset cluster-aligned and below 2^63. */
function validateTable(offset: bigint, entries: bigint, entryBytes: bigint, maxBytes: bigint, clusterSize: number, field: string, what: string): void {
  if (entries > maxBytes / entryBytes) {
    throw fieldError('LIMIT_EXCEEDED', field, `the ${what} would take ${entries * entryBytes} bytes, more than qemu's ${maxBytes}`);
  }
  if (INT64_MAX - entries * entryBytes < offset || offset % BigInt(clusterSize) !== 0n) {
    throw fieldError('CORRUPT', field, `offset ${offset} of the ${what} is not cluster-aligned or is out of range`);
  }
}

/** The open-time checks qemu applies to the header's values (block/qcow2.c qcow2_do_open). */
function checkHeader(header: Header, context: ParseContext): void {
  const { common, clusterSize, incompatible } = header;
  if (common.backingFileOffset > BigInt(clusterSize)) {
    throw fieldError('CORRUPT', 'header.backingFileOffset', `backing file name offset ${common.backingFileOffset} is beyond the first cluster`);
  }
  if (header.compressionType >= COMPRESSION_TYPES.length) {
    throw fieldError('UNSUPPORTED', 'header.compressionType', `compression type ${header.compressionType} (qemu knows 0 zlib and 1 zstd)`);
  }
  if ((header.compressionType !== 0) !== hasBit(incompatible, INCOMPATIBLE_COMPRESSION)) {
    context.warn(
      `the compression type is ${COMPRESSION_TYPES[header.compressionType]} but incompatible bit 3 is ${hasBit(incompatible, INCOMPATIBLE_COMPRESSION) ? 'set' : 'clear'}; qemu refuses to open such an image`,
    );
  }
  const unknownIncompatible = incompatible & ~((1n << BigInt(INCOMPATIBLE_NAMES.size)) - 1n);
  if (unknownIncompatible !== 0n) {
    context.warn(`unknown incompatible feature bits ${hex(unknownIncompatible)}: qemu 7.2 refuses to open the image ("Unsupported qcow2 feature(s)")`);
  }
  if (hasBit(incompatible, INCOMPATIBLE_EXTENDED_L2) && clusterSize / SUBCLUSTERS_PER_CLUSTER < 2 ** QCOW2_MIN_CLUSTER_BITS) {
    throw fieldError('CORRUPT', 'header.incompatibleFeatures', `extended L2 entries need clusters of at least 16 KiB (subclusters of 512 bytes), not ${clusterSize}`);
  }
  if (header.refcountOrder > 6) {
    throw fieldError('CORRUPT', 'header.refcountOrder', `refcount order ${header.refcountOrder} makes entries wider than 64 bits`);
  }
  encryptionOf(common);
  if (common.refcountTableClusters === 0) {
    throw fieldError('CORRUPT', 'header.refcountTableClusters', 'the image has no refcount table');
  }
  const cluster = BigInt(clusterSize);
  validateTable(common.refcountTableOffset, BigInt(common.refcountTableClusters), cluster, BigInt(QCOW2_MAX_REFCOUNT_TABLE_BYTES), clusterSize, 'header.refcountTableOffset', 'refcount table');
  // qemu checks the snapshot table's count and offset here (its size is checked while reading it).
  validateTable(common.snapshotsOffset, BigInt(common.nbSnapshots), BigInt(QCOW2_SNAPSHOT_HEADER_SIZE), BigInt(QCOW2_SNAPSHOT_HEADER_SIZE * QCOW2_MAX_SNAPSHOTS), clusterSize, 'header.snapshotsOffset', 'snapshot table');
  validateTable(common.l1TableOffset, BigInt(common.l1Size), 8n, BigInt(QCOW2_MAX_L1_TABLE_BYTES), clusterSize, 'header.l1TableOffset', 'active L1 table');
  // The L1 table must map the whole disk: one entry per L2 table's worth of clusters.
  const l2EntryBits = hasBit(incompatible, INCOMPATIBLE_EXTENDED_L2) ? 4 : 3;
  const bytesPerL1Entry = 1n << BigInt(header.clusterBits + header.clusterBits - l2EntryBits);
  const l1EntriesNeeded = (common.size + bytesPerL1Entry - 1n) / bytesPerL1Entry;
  if (l1EntriesNeeded > BigInt(INT32_MAX)) {
    throw fieldError('CORRUPT', 'header.size', `a disk of ${common.size} bytes is too big for qemu`);
  }
  if (BigInt(common.l1Size) < l1EntriesNeeded) {
    throw fieldError('CORRUPT', 'header.l1Size', `the L1 table has ${common.l1Size} entries; a disk of ${common.size} bytes needs ${l1EntriesNeeded}`);
  }
}

// ---------------------------------------------------------------------------------------
// Header extensions

/** What the header extensions say. */
interface Extensions {
  list: Qcow2HeaderExtension[];
  backingFormat: string | undefined;
  dataFile: string | undefined;
  featureNameTable: Qcow2FeatureName[];
  encryptionHeader: { offset: number; length: number } | undefined;
  bitmapDirectory: { offset: number; size: number; count: number } | undefined;
}

function text(bytes: Uint8Array): string {
  return cutAtNul(utf8Text(bytes));
}

function missingWarning(what: string, offset: number, context: ParseContext): void {
  // Not fatal (qemu opens such a file), but the image is not whole: parse_error fails.
  context.incomplete(`the image ends before the ${what} (at ${offset}) ends; the missing bytes read as zeros, as qemu reads them`);
}

async function readExtensionData(reads: ForwardReads, offset: number, length: number, what: string, context: ParseContext): Promise<Uint8Array> {
  const piece = await reads.start(offset + length, `header extension (${what})`);
  if (piece.available < offset + length) missingWarning(`${what} header extension`, offset, context);
  return piece.bytes.subarray(offset, offset + length);
}

function decodeFeatureNameTable(data: Uint8Array, context: ParseContext): Qcow2FeatureName[] {
  const count = Math.floor(data.byteLength / QCOW2_FEATURE_NAME_ENTRY_SIZE);
  if (count > QCOW2_MAX_FEATURE_NAMES) {
    throw fieldError('LIMIT_EXCEEDED', 'header extension (feature name table)', `${count} entries; a table names at most ${QCOW2_MAX_FEATURE_NAMES} bits`);
  }
  if (data.byteLength % QCOW2_FEATURE_NAME_ENTRY_SIZE !== 0) {
    context.warn(`the feature name table's length ${data.byteLength} is not a multiple of ${QCOW2_FEATURE_NAME_ENTRY_SIZE}; the partial entry is ignored`);
  }
  const names: Qcow2FeatureName[] = [];
  for (let index = 0; index < count; index += 1) {
    const entry = decodeQcow2FeatureNameEntry(data.subarray(index * QCOW2_FEATURE_NAME_ENTRY_SIZE));
    const name = text(entry.name);
    // qemu stops at the first entry without a name (report_unsupported_feature).
    if (name === '') break;
    const type = QCOW2_FEATURE_TYPES.get(entry.type) ?? (`type ${entry.type}` as const);
    names.push({ type, bit: entry.bit, name });
  }
  return names;
}

function decodeBitmapsExtension(data: Uint8Array, header: Header): Extensions['bitmapDirectory'] {
  const field = 'header extension (bitmaps)';
  const extension = decodeQcow2BitmapsExtension(data);
  if (extension.reserved !== 0) throw fieldError('CORRUPT', field, 'the reserved field is not zero');
  if (extension.nbBitmaps > QCOW2_MAX_BITMAPS) throw fieldError('LIMIT_EXCEEDED', field, `${extension.nbBitmaps} bitmaps, more than qemu's ${QCOW2_MAX_BITMAPS}`);
  if (extension.nbBitmaps === 0) throw fieldError('CORRUPT', field, 'a bitmaps extension with zero bitmaps');
  if (extension.bitmapDirectoryOffset % BigInt(header.clusterSize) !== 0n) {
    throw fieldError('CORRUPT', field, `bitmap directory offset ${extension.bitmapDirectoryOffset} is not cluster-aligned`);
  }
  if (extension.bitmapDirectorySize > BigInt(QCOW2_MAX_BITMAP_DIRECTORY_BYTES)) {
    throw fieldError('LIMIT_EXCEEDED', field, `a bitmap directory of ${extension.bitmapDirectorySize} bytes, more than qemu's ${QCOW2_MAX_BITMAP_DIRECTORY_BYTES}`);
  }
  return {
    offset: safeNumber(extension.bitmapDirectoryOffset, field, 'qcow2'),
    size: Number(extension.bitmapDirectorySize),
    count: extension.nbBitmaps,
  };
}

async function readExtensions(reads: ForwardReads, header: Header, context: ParseContext): Promise<Extensions> {
  const result: Extensions = {
    list: [],
    backingFormat: undefined,
    dataFile: undefined,
    featureNameTable: [],
    encryptionHeader: undefined,
    bitmapDirectory: undefined,
  };
  // qemu reads extensions up to the backing file name, or to the end of the first cluster.
  const end = header.common.backingFileOffset !== 0n ? Number(header.common.backingFileOffset) : header.clusterSize;
  let offset = header.headerLength;
  while (offset < end) {
    const piece = await reads.start(offset + QCOW2_HEADER_EXTENSION_HEADER_SIZE, 'header extension');
    if (piece.available < offset + QCOW2_HEADER_EXTENSION_HEADER_SIZE) missingWarning('header extension list', offset, context);
    const { type, length } = decodeQcow2HeaderExtensionHeader(piece.bytes.subarray(offset));
    const dataOffset = offset + QCOW2_HEADER_EXTENSION_HEADER_SIZE;
    if (dataOffset > end || length > end - dataOffset) {
      throw fieldError('CORRUPT', 'header extension', `the extension at ${offset} (type ${hex(type, 8)}, ${length} bytes) runs past ${end}`);
    }
    if (type === EXTENSION_END) break;
    if (result.list.length >= QCOW2_MAX_HEADER_EXTENSIONS) {
      throw fieldError('LIMIT_EXCEEDED', 'header extension', `more than ${QCOW2_MAX_HEADER_EXTENSIONS} header extensions`);
    }
    result.list.push({ type: hex(type, 8), name: EXTENSION_NAMES.get(type), offset: dataOffset, length });
    await applyExtension(reads, header, type, dataOffset, length, result, context);
    offset = dataOffset + alignTo8(length);
  }
  return result;
}

async function applyExtension(
  reads: ForwardReads,
  header: Header,
  type: number,
  offset: number,
  length: number,
  result: Extensions,
  context: ParseContext,
): Promise<void> {
  switch (type) {
    case EXTENSION_BACKING_FORMAT: {
      if (length > QCOW2_MAX_BACKING_FORMAT_BYTES) {
        throw fieldError('LIMIT_EXCEEDED', 'header extension (backing file format)', `${length} bytes, more than qemu's ${QCOW2_MAX_BACKING_FORMAT_BYTES}`);
      }
      result.backingFormat = text(await readExtensionData(reads, offset, length, 'backing file format', context));
      return;
    }
    case EXTENSION_FEATURE_NAME_TABLE:
      result.featureNameTable = decodeFeatureNameTable(await readExtensionData(reads, offset, length, 'feature name table', context), context);
      return;
    case EXTENSION_ENCRYPTION_HEADER: {
      const field = 'header extension (full disk encryption header pointer)';
      if (header.common.cryptMethod !== 2) throw fieldError('CORRUPT', field, 'only a LUKS-encrypted image has an encryption header');
      if (length !== QCOW2_ENCRYPTION_HEADER_POINTER_SIZE) throw fieldError('CORRUPT', field, `${length} bytes, not ${QCOW2_ENCRYPTION_HEADER_POINTER_SIZE}`);
      const pointer = decodeQcow2EncryptionHeaderPointer(await readExtensionData(reads, offset, length, 'encryption header pointer', context));
      if (pointer.offset % BigInt(header.clusterSize) !== 0n) throw fieldError('CORRUPT', field, `offset ${pointer.offset} is not cluster-aligned`);
      result.encryptionHeader = { offset: safeNumber(pointer.offset, field, 'qcow2'), length: safeNumber(pointer.length, field, 'qcow2') };
      return;
    }
    case EXTENSION_BITMAPS: {
      if (length !== QCOW2_BITMAPS_EXTENSION_SIZE) {
        throw fieldError('CORRUPT', 'header extension (bitmaps)', `${length} bytes, not ${QCOW2_BITMAPS_EXTENSION_SIZE}`);
      }
      if (!hasBit(header.autoclear, AUTOCLEAR_BITMAPS)) {
        // qemu: "a program lacking bitmap support modified this file, so all bitmaps are now considered inconsistent".
        context.warn('the bitmaps extension is present but autoclear bit 0 is clear: the bitmaps are inconsistent and qemu ignores them');
        return;
      }
      result.bitmapDirectory = decodeBitmapsExtension(await readExtensionData(reads, offset, length, 'bitmaps', context), header);
      return;
    }
    case EXTENSION_DATA_FILE:
      result.dataFile = text(await readExtensionData(reads, offset, length, 'external data file name', context));
      return;
    default:
      // Unknown extensions are listed and skipped (qemu keeps them to write them back).
      return;
  }
}

async function readBackingFileName(reads: ForwardReads, header: Header, context: ParseContext): Promise<string | undefined> {
  const { backingFileOffset, backingFileSize } = header.common;
  if (backingFileOffset === 0n) return undefined;
  const offset = Number(backingFileOffset);
  const room = Math.min(QCOW2_MAX_BACKING_FILE_NAME_BYTES, header.clusterSize - offset);
  if (backingFileSize > room) {
    throw fieldError('LIMIT_EXCEEDED', 'header.backingFileSize', `a backing file name of ${backingFileSize} bytes (qemu allows ${room} here)`);
  }
  const piece = await reads.start(offset + backingFileSize, 'backing file name');
  if (piece.available < offset + backingFileSize) missingWarning('backing file name', offset, context);
  const name = text(piece.bytes.subarray(offset, offset + backingFileSize));
  // qemu treats an empty name as no backing file.
  return name === '' ? undefined : name;
}

// ---------------------------------------------------------------------------------------
// Snapshot table and bitmap directory

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

async function readSnapshots(reads: ForwardReads, header: Header, context: ParseContext): Promise<Qcow2Snapshot[]> {
  const count = header.common.nbSnapshots;
  const snapshots: Qcow2Snapshot[] = [];
  if (count === 0) return snapshots;
  const start = safeNumber(header.common.snapshotsOffset, 'header.snapshotsOffset', 'qcow2');
  let offset = start;
  let tableBytes = 0;
  let missing = false;
  const read = async (at: number, length: number, field: string): Promise<Uint8Array> => {
    const piece = await reads.read(at, length, field);
    if (piece.available < length) missing = true;
    return piece.bytes;
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
    const id = text(await read(offset, entry.idStringSize, `${field} ID`));
    offset += entry.idStringSize;
    const name = text(await read(offset, entry.nameSize, `${field} name`));
    offset += entry.nameSize;
    tableBytes += QCOW2_SNAPSHOT_HEADER_SIZE + entry.extraDataSize + entry.idStringSize + entry.nameSize;
    if (tableBytes > QCOW2_MAX_SNAPSHOT_TABLE_BYTES) {
      throw fieldError('LIMIT_EXCEEDED', 'snapshot table', `the snapshot table is larger than qemu's ${QCOW2_MAX_SNAPSHOT_TABLE_BYTES} bytes`);
    }
    snapshots.push(decodeSnapshot(entry, extra, id, name, header, context));
  }
  if (missing) missingWarning('snapshot table', start, context);
  return snapshots;
}

function decodeSnapshot(
  entry: Qcow2SnapshotHeader,
  extra: Uint8Array,
  id: string,
  name: string,
  header: Header,
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
function bitmapProblem(entry: Qcow2BitmapDirectoryEntry, header: Header): string | undefined {
  if (entry.bitmapTableSize === 0 || entry.bitmapTableSize > BITMAP_MAX_TABLE_SIZE) return `bitmap table size ${entry.bitmapTableSize}`;
  if (entry.bitmapTableOffset === 0n || entry.bitmapTableOffset % BigInt(header.clusterSize) !== 0n) return `bitmap table offset ${entry.bitmapTableOffset}`;
  if (entry.granularityBits < BITMAP_MIN_GRANULARITY_BITS || entry.granularityBits > BITMAP_MAX_GRANULARITY_BITS) return `granularity 2^${entry.granularityBits}`;
  if ((entry.flags & BITMAP_RESERVED_FLAGS) !== 0) return `reserved flags ${hex(entry.flags >>> 0)}`;
  if (entry.nameSize > QCOW2_MAX_BITMAP_NAME_BYTES) return `a name of ${entry.nameSize} bytes`;
  if (entry.type !== BITMAP_TYPE_DIRTY_TRACKING) return `type ${entry.type}`;
  const physicalBytes = BigInt(entry.bitmapTableSize) * BigInt(header.clusterSize);
  if (physicalBytes > BigInt(BITMAP_MAX_PHYSICAL_BYTES)) return `a bitmap of ${physicalBytes} bytes`;
  // qemu compares with its own length of the disk, whole sectors.
  const diskBytes = (header.common.size / 512n) * 512n;
  if ((entry.flags & BITMAP_FLAG_IN_USE) === 0 && diskBytes > (physicalBytes * 8n) << BigInt(entry.granularityBits)) {
    return 'a bitmap table too small for the disk';
  }
  return undefined;
}

async function readBitmaps(reads: ForwardReads, header: Header, directory: NonNullable<Extensions['bitmapDirectory']>, context: ParseContext): Promise<Qcow2Bitmap[]> {
  const field = 'bitmap directory';
  if (directory.size === 0) throw fieldError('CORRUPT', field, 'the bitmap directory is empty');
  const bitmaps: Qcow2Bitmap[] = [];
  const end = directory.offset + directory.size;
  let offset = directory.offset;
  let missing = false;
  while (offset < end) {
    if (offset + QCOW2_BITMAP_DIRECTORY_ENTRY_SIZE > end) throw fieldError('CORRUPT', field, `an entry at ${offset} runs past the directory's end`);
    if (bitmaps.length >= directory.count) throw fieldError('CORRUPT', field, `more bitmaps than the ${directory.count} the extension declares`);
    const piece = await reads.read(offset, QCOW2_BITMAP_DIRECTORY_ENTRY_SIZE, field);
    if (piece.available < QCOW2_BITMAP_DIRECTORY_ENTRY_SIZE) missing = true;
    const entry = decodeQcow2BitmapDirectoryEntry(piece.bytes);
    const entrySize = alignTo8(QCOW2_BITMAP_DIRECTORY_ENTRY_SIZE + entry.extraDataSize + entry.nameSize);
    if (entry.extraDataSize > directory.size || offset + entrySize > end) throw fieldError('CORRUPT', field, `the entry at ${offset} runs past the directory's end`);
    if (entry.extraDataSize !== 0) {
      throw fieldError('UNSUPPORTED', `${field}.extraDataSize`, 'bitmap extra data (qemu supports none)');
    }
    const namePiece = await reads.read(offset + QCOW2_BITMAP_DIRECTORY_ENTRY_SIZE, entry.nameSize, `${field} name`);
    if (namePiece.available < entry.nameSize) missing = true;
    const name = text(namePiece.bytes);
    const problem = bitmapProblem(entry, header);
    if (problem !== undefined) throw fieldError('CORRUPT', field, `bitmap "${name}" has ${problem}, which qemu refuses`);
    const flags: string[] = [];
    if ((entry.flags & BITMAP_FLAG_IN_USE) !== 0) flags.push('in-use');
    if ((entry.flags & BITMAP_FLAG_AUTO) !== 0) flags.push('auto');
    bitmaps.push({ name, granularity: 2 ** entry.granularityBits, flags });
    offset += entrySize;
  }
  if (bitmaps.length !== directory.count) throw fieldError('CORRUPT', field, `${bitmaps.length} bitmaps, but the extension declares ${directory.count}`);
  if (missing) missingWarning('bitmap directory', directory.offset, context);
  return bitmaps;
}

// ---------------------------------------------------------------------------------------
// Parse

function featureNames(table: readonly Qcow2FeatureName[], type: Qcow2FeatureName['type']): Map<number, string> {
  return new Map(table.filter((entry) => entry.type === type).map((entry) => [entry.bit, entry.name]));
}

function checkDataFile(header: Header, extensions: Extensions, context: ParseContext): void {
  const external = hasBit(header.incompatible, INCOMPATIBLE_DATA_FILE);
  if (external && extensions.dataFile === undefined) {
    context.warn('the image keeps its data in an external file but does not name it; qemu needs the name given as an option');
  }
  if (!external && extensions.dataFile !== undefined) {
    context.warn(`the image names a data file "${extensions.dataFile}" but incompatible bit 2 is clear; qemu does not use it`);
  }
  if (!external && hasBit(header.autoclear, AUTOCLEAR_DATA_FILE_RAW)) {
    context.warn('autoclear bit 1 (raw external data) is set without an external data file; qemu refuses to open such an image');
  }
  if (header.common.cryptMethod === 2 && extensions.encryptionHeader === undefined) {
    context.warn('the image is LUKS-encrypted but has no encryption header pointer; qemu can open it only without I/O');
  }
  if (header.common.size % 512n !== 0n) {
    context.warn(`the size ${header.common.size} is not a multiple of 512; qemu reports ${(header.common.size / 512n) * 512n} (whole sectors)`);
  }
}

async function parseQcow2(reader: ByteReader, context: ParseContext): Promise<ParsedImage<Qcow2Details>> {
  // The header, its extensions and the backing file name all lie in the first cluster (at most 2 MiB).
  const reads = new ForwardReads(reader, MAX_CLUSTER_SIZE + QCOW2_HEADER_EXTENSION_HEADER_SIZE);
  const header = await readHeader(reads);
  checkHeader(header, context);
  const extensions = await readExtensions(reads, header, context);
  const backingFile = await readBackingFileName(reads, header, context);
  checkDataFile(header, extensions, context);

  // The snapshot table and the bitmap directory may be anywhere: read them in file order.
  let snapshots: Qcow2Snapshot[] = [];
  let bitmaps: Qcow2Bitmap[] = [];
  const directory = extensions.bitmapDirectory;
  const readTheSnapshots = async (): Promise<void> => {
    snapshots = await readSnapshots(reads, header, context);
  };
  const readTheBitmaps = async (): Promise<void> => {
    if (directory !== undefined) bitmaps = await readBitmaps(reads, header, directory, context);
  };
  if (directory !== undefined && header.common.nbSnapshots > 0 && BigInt(directory.offset) < header.common.snapshotsOffset) {
    await readTheBitmaps();
    await readTheSnapshots();
  } else {
    await readTheSnapshots();
    await readTheBitmaps();
  }

  const { common, incompatible, compatible, autoclear } = header;
  const table = extensions.featureNameTable;
  const details: Qcow2Details = {
    version: header.version,
    compat: header.version === 2 ? '0.10' : '1.1',
    clusterSize: header.clusterSize,
    backingFile,
    backingFormat: extensions.backingFormat,
    encryption: encryptionOf(common),
    encryptionHeader: extensions.encryptionHeader,
    dirty: hasBit(incompatible, INCOMPATIBLE_DIRTY),
    corrupt: hasBit(incompatible, INCOMPATIBLE_CORRUPT),
    lazyRefcounts: hasBit(compatible, COMPATIBLE_LAZY_REFCOUNTS),
    refcountBits: 2 ** header.refcountOrder,
    extendedL2: hasBit(incompatible, INCOMPATIBLE_EXTENDED_L2),
    compressionType: COMPRESSION_TYPES[header.compressionType] as Qcow2Details['compressionType'],
    dataFile: extensions.dataFile,
    dataFileRaw: hasBit(incompatible, INCOMPATIBLE_DATA_FILE) ? hasBit(autoclear, AUTOCLEAR_DATA_FILE_RAW) : undefined,
    incompatibleFeatures: describeFeatureMask(incompatible, INCOMPATIBLE_NAMES, featureNames(table, 'incompatible')),
    compatibleFeatures: describeFeatureMask(compatible, COMPATIBLE_NAMES, featureNames(table, 'compatible')),
    autoclearFeatures: describeFeatureMask(autoclear, AUTOCLEAR_NAMES, featureNames(table, 'autoclear')),
    featureNameTable: table,
    headerExtensions: extensions.list,
    snapshots,
    bitmaps,
    l1Size: common.l1Size,
    l1TableOffset: safeNumber(common.l1TableOffset, 'header.l1TableOffset', 'qcow2'),
    refcountTableOffset: safeNumber(common.refcountTableOffset, 'header.refcountTableOffset', 'qcow2'),
    refcountTableClusters: common.refcountTableClusters,
    headerLength: header.headerLength,
  };
  // qemu opens images of 2^53 bytes and more (up to 2^63 - 1): the size goes out as a bigint, reported exactly by the core.
  return { virtualSize: common.size, details };
}

/**
 * qemu's probe (block/qcow2.c `qcow2_probe`): the magic and a version of 2 or more. A
 * version 4 header is still qcow2 (and then `UNSUPPORTED`, as qemu rejects it). Short
 * files read as zero-padded, as qemu pads its 512-byte probe buffer.
 */
async function checkVersion(reader: ByteReader): Promise<boolean> {
  return (await qcowHeaderVersion(reader)) >= 2;
}

// ---------------------------------------------------------------------------------------
// Safety checks (docs/safety.md)

/** `backing_file`: a backing file is read from the host when the image is used (OSSA-2024-001 hardening, bug 2059809). */
const backingFileCheck: SafetyCheck<Qcow2Details, 'backing_file'> = {
  name: 'backing_file',
  description: 'a backing file, which qemu would open from the host',
  run: (details) =>
    details.backingFile === undefined
      ? pass()
      : fail(`backing file "${details.backingFile}"${details.backingFormat === undefined ? '' : ` (format ${details.backingFormat})`}`),
};

/** `data_file`: CVE-2024-32498 (OSSA-2024-001): an external data file exposes any host file as the disk's contents. */
const dataFileCheck: SafetyCheck<Qcow2Details, 'data_file'> = {
  name: 'data_file',
  description: 'an external data file (CVE-2024-32498), which qemu would open from the host',
  run(details) {
    const external = hasBit(BigInt(details.incompatibleFeatures.mask), INCOMPATIBLE_DATA_FILE);
    if (details.dataFile !== undefined) return fail(`external data file "${details.dataFile}"${external ? '' : ' (named, incompatible bit 2 clear)'}`);
    if (external) return fail('incompatible bit 2 (external data file) is set');
    return pass();
  },
};

/**
 * `unknown_features`: an incompatible feature bit nobody defines changes how the image must
 * be read (bug 2073413). Unlike OpenStack's check, the bits qemu 7.2 defines (dirty,
 * corrupt, external data file, compression type, extended L2) are known; only the others fail.
 */
const unknownFeaturesCheck: SafetyCheck<Qcow2Details, 'unknown_features'> = {
  name: 'unknown_features',
  description: 'incompatible feature bits that qemu does not define',
  run(details) {
    const unknown = BigInt(details.incompatibleFeatures.unknown);
    if (unknown === 0n) return pass(details.incompatibleFeatures.mask === '0x0' ? undefined : `known bits only: ${details.incompatibleFeatures.names.join(', ')}`);
    return fail(`unknown incompatible feature bits ${details.incompatibleFeatures.unknown} (${bitsSet(unknown).map((bit) => `bit ${bit}`).join(', ')})`);
  },
};

/** `corrupt`: qemu itself marked the metadata corrupt (incompatible bit 1). */
const corruptCheck: SafetyCheck<Qcow2Details, 'corrupt'> = {
  name: 'corrupt',
  description: 'the corrupt bit: qemu found the metadata inconsistent',
  run: (details) => (details.corrupt ? fail('incompatible bit 1 (corrupt) is set') : pass()),
};

/** The qcow2 format module. */
export const qcow2: FormatModule<'qcow2', Qcow2Details, 'backing_file' | 'data_file' | 'unknown_features' | 'corrupt'> = {
  name: 'qcow2',
  title: 'QEMU Copy-On-Write version 2 (qcow2)',
  qemuProbes: true,
  glance: { diskFormat: 'qcow2' }, // Glance's name
  signatures: [{ offset: 0, bytes: QCOW2_HEADER_COMMON_MAGIC }],
  check: checkVersion,
  checks: [backingFileCheck, dataFileCheck, unknownFeaturesCheck, corruptCheck],
  references: { backing: [{ name: 'backingFile', format: 'backingFormat' }] },
  // qemu-img info's words and order (qemu 7.2): the generic lines, the snapshot list, then
  // ImageInfoSpecificQCow2; v2 images have no lazy refcounts, corrupt or extended l2 there.
  summarize: (details) => [
    ['encrypted', details.encryption === 'none' ? undefined : 'yes'],
    ['cluster_size', details.clusterSize],
    ['backing file', details.backingFile],
    ['backing file format', details.backingFormat],
    ['cleanly shut down', details.dirty ? 'no' : undefined],
    ...snapshotTable(details.snapshots),
    ...section(FORMAT_SPECIFIC, [
      ['compat', details.compat],
      ['compression type', details.compressionType],
      ['lazy refcounts', details.version >= 3 ? details.lazyRefcounts : undefined],
      ...(details.bitmaps.length === 0
        ? []
        : listRows(
            'bitmaps',
            details.bitmaps.map((bitmap): SummaryRow[] => [...listRows('flags', bitmap.flags), ['name', bitmap.name], ['granularity', bitmap.granularity]]),
          )),
      ['refcount bits', details.refcountBits],
      ...section('encrypt', [['format', details.encryption === 'none' ? undefined : details.encryption]]),
      ['data file', details.dataFile],
      ['data file raw', details.dataFileRaw],
      ['corrupt', details.version >= 3 ? details.corrupt : undefined],
      ['extended l2', details.version >= 3 ? details.extendedL2 : undefined],
    ]),
  ],
  parse: parseQcow2,
};
