/**
 * qcow2's header: decoded, and checked as qemu checks it when it opens an image (block/qcow2.c
 * `qcow2_do_open`). The header area is kept (`keepStart`): the extensions and the backing
 * file name that follow it point back into the first cluster.
 *
 * Part of the qcow2 module (`formats/qcow2.ts`), which says what is read and in what order.
 *
 * @module
 */
import { hex, u8 } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import type { ByteReader, ParseContext } from '../../src/format-module.js';
import {
  QCOW2_ENCRYPTIONS,
  QCOW2_HEADER_COMMON_SIZE,
  QCOW2_HEADER_VERSION3_SIZE,
  QCOW2_SNAPSHOT_HEADER_SIZE,
  type Qcow2Encryption,
  type Qcow2HeaderCommon,
  decodeQcow2HeaderCommon,
  decodeQcow2HeaderVersion3,
} from '../generated/qcow2.js';
import { hasBit } from './qcow-features.js';
import { readWholeHeader } from './qcow-header.js';

// Limits (qemu 7.2 block/qcow2.h)

/** Smallest cluster size qemu accepts: 2^9 = 512 bytes (MIN_CLUSTER_BITS). */
export const QCOW2_MIN_CLUSTER_BITS = 9;
/** Largest cluster size qemu accepts: 2^21 = 2 MiB (MAX_CLUSTER_BITS). */
export const QCOW2_MAX_CLUSTER_BITS = 21;
/** The shortest version 3 header: 104 bytes (qemu: "qcow2 header too short"). */
export const QCOW2_MIN_VERSION3_HEADER_LENGTH = 104;
/** Most internal snapshots qemu opens (QCOW_MAX_SNAPSHOTS). */
export const QCOW2_MAX_SNAPSHOTS = 65536;
/** Largest active L1 table qemu opens: 32 MiB (QCOW_MAX_L1_SIZE). */
export const QCOW2_MAX_L1_TABLE_BYTES = 32 * 1024 * 1024;
/** Largest refcount table qemu opens: 8 MiB (QCOW_MAX_REFTABLE_SIZE). */
export const QCOW2_MAX_REFCOUNT_TABLE_BYTES = 8 * 1024 * 1024;

/** Extended L2 entries split a cluster into 32 subclusters (QCOW_EXTL2_SUBCLUSTERS_PER_CLUSTER). */
const SUBCLUSTERS_PER_CLUSTER = 32;
const INT32_MAX = 2 ** 31 - 1;
const INT64_MAX = 2n ** 63n - 1n;

/** Feature bits (qcow2 specification, header bytes 72 to 95), with qemu's names for them. */
export const INCOMPATIBLE_DIRTY = 0;
export const INCOMPATIBLE_CORRUPT = 1;
export const INCOMPATIBLE_DATA_FILE = 2;
export const INCOMPATIBLE_COMPRESSION = 3;
export const INCOMPATIBLE_EXTENDED_L2 = 4;
export const COMPATIBLE_LAZY_REFCOUNTS = 0;
export const AUTOCLEAR_BITMAPS = 0;
export const AUTOCLEAR_DATA_FILE_RAW = 1;

/** qemu's names for the incompatible feature bits it knows. */
export const INCOMPATIBLE_NAMES: ReadonlyMap<number, string> = new Map([
  [INCOMPATIBLE_DIRTY, 'dirty bit'],
  [INCOMPATIBLE_CORRUPT, 'corrupt bit'],
  [INCOMPATIBLE_DATA_FILE, 'external data file'],
  [INCOMPATIBLE_COMPRESSION, 'compression type'],
  [INCOMPATIBLE_EXTENDED_L2, 'extended L2 entries'],
]);
/** qemu's names for the compatible feature bits it knows. */
export const COMPATIBLE_NAMES: ReadonlyMap<number, string> = new Map([[COMPATIBLE_LAZY_REFCOUNTS, 'lazy refcounts']]);
/** qemu's names for the autoclear feature bits it knows. */
export const AUTOCLEAR_NAMES: ReadonlyMap<number, string> = new Map([
  [AUTOCLEAR_BITMAPS, 'bitmaps'],
  [AUTOCLEAR_DATA_FILE_RAW, 'raw external data'],
]);

/** Compression types by header byte 104. */
export const COMPRESSION_TYPES = ['zlib', 'zstd'] as const;

/** The header fields the rest of the parse needs, decoded and checked. */
export interface Qcow2Header {
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

/** Reads the header (72 bytes for version 2, `headerLength` for version 3), keeping it. */
export async function readQcow2Header(reader: ByteReader): Promise<Qcow2Header> {
  const common = decodeQcow2HeaderCommon(await readWholeHeader(reader, QCOW2_HEADER_COMMON_SIZE, 'header'));
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
  const minimal = await readWholeHeader(reader, QCOW2_MIN_VERSION3_HEADER_LENGTH, 'header');
  const version3 = decodeQcow2HeaderVersion3(minimal.subarray(QCOW2_HEADER_COMMON_SIZE, QCOW2_HEADER_COMMON_SIZE + QCOW2_HEADER_VERSION3_SIZE));
  const headerLength = version3.headerLength;
  if (headerLength < QCOW2_MIN_VERSION3_HEADER_LENGTH) {
    throw fieldError('CORRUPT', 'header.headerLength', `${headerLength} bytes is shorter than a version 3 header (104)`);
  }
  if (headerLength > clusterSize) {
    throw fieldError('CORRUPT', 'header.headerLength', `${headerLength} bytes exceeds the cluster size ${clusterSize}`);
  }
  const whole = await readWholeHeader(reader, headerLength, 'header');
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
export function encryptionOf(common: Qcow2HeaderCommon): Qcow2Encryption {
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
export function checkQcow2Header(header: Qcow2Header, context: ParseContext): void {
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

