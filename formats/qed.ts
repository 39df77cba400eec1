/**
 * QED: the QEMU Enhanced Disk format.
 *
 * What is read: the 64-byte header at 0, then the backing file name if the backing file
 * feature is set (qemu writes it right after the header, at 64). The L1 table is not read;
 * its position is checked as qemu checks it, except against the file's length (which a
 * stream knows only at its end). Bytes past the end of the file read as zeros, as in qemu.
 *
 * Sources: the QED specification (qemu docs/interop/qed_spec.txt) and qemu 7.2 block/qed.c
 * (`bdrv_qed_do_open`, `qed_read_string`), block/qed.h (`qed_check_table_offset`).
 *
 * @module
 */
import { cutAtNul, hex, safeNumber, utf8Text } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader, FormatModule, ParseContext, ParsedImage } from '../src/format-module.js';
import { QED_HEADER_MAGIC, QED_HEADER_SIZE, type QedHeader, decodeQedHeader } from './generated/qed.js';
import { type FeatureMask, describeFeatureMask, hasBit } from './shared/qcow-features.js';
import { readQemuPadded, readWholeHeader } from './shared/qcow-header.js';
import { backingFileCheck } from './shared/backing-file-check.js';

/** Smallest cluster (QED_MIN_CLUSTER_SIZE): 4 KiB. */
export const QED_MIN_CLUSTER_SIZE = 4 * 1024;
/** Largest cluster (QED_MAX_CLUSTER_SIZE): 64 MiB. */
export const QED_MAX_CLUSTER_SIZE = 64 * 1024 * 1024;
/** Smallest table, in clusters (QED_MIN_TABLE_SIZE). */
export const QED_MIN_TABLE_SIZE = 1;
/** Largest table, in clusters (QED_MAX_TABLE_SIZE). */
export const QED_MAX_TABLE_SIZE = 16;
/** The longest backing file name qemu reads: 4095 bytes (its buffer is PATH_MAX with the NUL; `qed_read_string`). */
export const QED_MAX_BACKING_FILE_NAME_BYTES = 4095;

/** Feature bits (QED specification, "Header"), with qemu's names for them. */
const FEATURE_BACKING_FILE = 0;
const FEATURE_NEED_CHECK = 1;
const FEATURE_BACKING_FORMAT_NO_PROBE = 2;
const FEATURE_NAMES: ReadonlyMap<number, string> = new Map([
  [FEATURE_BACKING_FILE, 'backing file'],
  [FEATURE_NEED_CHECK, 'needs check'],
  [FEATURE_BACKING_FORMAT_NO_PROBE, 'raw backing file'],
]);
const NO_NAMES: ReadonlyMap<number, string> = new Map();
const UINT32_MAX = 2 ** 32 - 1;

/** QED metadata. */
export interface QedDetails {
  /** Cluster size in bytes (qemu's `cluster-size`). */
  clusterSize: number;
  /** L1 and L2 table size, in clusters. */
  tableSize: number;
  /** Header size, in clusters. */
  headerSize: number;
  /** Feature bits: 0 backing file, 1 needs check, 2 raw backing file. */
  features: FeatureMask;
  /** Compatible feature bits (none are defined). */
  compatFeatures: FeatureMask;
  /** Autoclear feature bits (none are defined). */
  autoclearFeatures: FeatureMask;
  /** The backing file name, when feature bit 0 is set. */
  backingFile: string | undefined;
  /** `'raw'` when feature bit 2 says the backing file is raw (QED stores no other format name). */
  backingFormat: 'raw' | undefined;
  /** Feature bit 1: the image was not closed cleanly (qemu's `dirty-flag`). */
  needsCheck: boolean;
  /** Where the L1 table is. */
  l1TableOffset: number;
}

function isPowerOfTwo(value: number): boolean {
  return value > 0 && (value & (value - 1)) === 0;
}

/** The open-time checks qemu applies to the header (block/qed.c bdrv_qed_do_open), except the file length. */
function checkHeader(header: QedHeader, context: ParseContext): void {
  const unknown = header.features & ~7n;
  if (unknown !== 0n) {
    context.warn(`unknown feature bits ${hex(unknown)}: qemu 7.2 refuses to open the image ("Unsupported QED features")`);
  }
  const { clusterSize, tableSize } = header;
  if (!isPowerOfTwo(clusterSize) || clusterSize < QED_MIN_CLUSTER_SIZE || clusterSize > QED_MAX_CLUSTER_SIZE) {
    throw fieldError('CORRUPT', 'header.clusterSize', `cluster size ${clusterSize} is not a power of 2 from 4 KiB to 64 MiB`);
  }
  if (!isPowerOfTwo(tableSize) || tableSize < QED_MIN_TABLE_SIZE || tableSize > QED_MAX_TABLE_SIZE) {
    throw fieldError('CORRUPT', 'header.tableSize', `table size ${tableSize} is not a power of 2 from 1 to 16 clusters`);
  }
  // The disk the two levels of tables can map (qed_max_image_size).
  const entriesPerTable = BigInt((tableSize * clusterSize) / 8);
  const maximum = entriesPerTable * entriesPerTable * BigInt(clusterSize);
  if (header.imageSize > maximum) {
    throw fieldError('CORRUPT', 'header.imageSize', `a disk of ${header.imageSize} bytes is larger than these tables can map (${maximum})`);
  }
  // qemu computes the same maximum in unsigned 64-bit arithmetic, which wraps for large clusters and tables.
  const qemuMaximum = maximum % 2n ** 64n;
  if (header.imageSize > qemuMaximum) {
    context.warn(`qemu 7.2 computes the largest disk for these tables modulo 2^64 (${qemuMaximum} bytes) and refuses to open the image ("QED image size is invalid")`);
  }
  if (header.imageSize % 512n !== 0n) {
    context.warn(`the size ${header.imageSize} is not a multiple of 512; qemu refuses to open the image ("QED image size is invalid")`);
  }
  if (header.headerSize > Math.floor(UINT32_MAX / clusterSize)) {
    throw fieldError('CORRUPT', 'header.headerSize', `${header.headerSize} clusters of header overflow 32 bits`);
  }
  // qed_check_table_offset: cluster-aligned and past the header.
  const cluster = BigInt(clusterSize);
  const headerBytes = BigInt(header.headerSize) * cluster;
  if (header.l1TableOffset % cluster !== 0n || header.l1TableOffset < headerBytes) {
    throw fieldError('CORRUPT', 'header.l1TableOffset', `L1 table offset ${header.l1TableOffset} is not cluster-aligned after the header`);
  }
  if (tableSize === 1) {
    // qemu 7.2 checks that the table's last cluster lies after its first, which fails for one cluster.
    context.warn('the tables are one cluster long; qemu 7.2 refuses to open such an image ("QED table offset is invalid") although qemu-img creates it');
  }
}

async function readBackingFileName(reader: ByteReader, header: QedHeader, context: ParseContext): Promise<string | undefined> {
  if (!hasBit(header.features, FEATURE_BACKING_FILE)) return undefined;
  const length = header.backingFilenameSize;
  if (length > QED_MAX_BACKING_FILE_NAME_BYTES) {
    throw fieldError('LIMIT_EXCEEDED', 'header.backingFilenameSize', `a backing file name of ${length} bytes (qemu allows ${QED_MAX_BACKING_FILE_NAME_BYTES})`);
  }
  const offset = header.backingFilenameOffset;
  const bytes = await readQemuPadded(reader, offset, length, { field: 'backing file name', structure: 'backing file name' }, context);
  // qemu keeps an empty name as "no backing file".
  const name = cutAtNul(utf8Text(bytes));
  return name === '' ? undefined : name;
}

async function parseQed(reader: ByteReader, context: ParseContext): Promise<ParsedImage<QedDetails>> {
  // The header is kept: the backing file name may point back into it.
  const header = decodeQedHeader(await readWholeHeader(reader, QED_HEADER_SIZE, 'header'));
  checkHeader(header, context);
  const backingFile = await readBackingFileName(reader, header, context);
  const details: QedDetails = {
    clusterSize: header.clusterSize,
    tableSize: header.tableSize,
    headerSize: header.headerSize,
    features: describeFeatureMask(header.features, FEATURE_NAMES),
    compatFeatures: describeFeatureMask(header.compatFeatures, NO_NAMES),
    autoclearFeatures: describeFeatureMask(header.autoclearFeatures, NO_NAMES),
    backingFile,
    // qemu: "raw" when the no-probe bit is set, and only with a backing file.
    backingFormat: backingFile !== undefined && hasBit(header.features, FEATURE_BACKING_FORMAT_NO_PROBE) ? 'raw' : undefined,
    needsCheck: hasBit(header.features, FEATURE_NEED_CHECK),
    l1TableOffset: safeNumber(header.l1TableOffset, 'header.l1TableOffset', 'qed'),
  };
  return { virtualSize: safeNumber(header.imageSize, 'header.imageSize', 'qed'), details };
}

/** The QED format module. */
export const qed: FormatModule<'qed', QedDetails, 'backing_file'> = {
  name: 'qed',
  title: 'QEMU Enhanced Disk (QED)',
  qemuProbes: true,
  bannedByDefault: true,
  glance: { diskFormat: null }, // Glance has no disk_format for it
  signatures: [{ offset: 0, bytes: QED_HEADER_MAGIC }],
  checks: [backingFileCheck<QedDetails>()],
  references: { backing: [{ name: 'backingFile', format: 'backingFormat' }] },
  // qemu-img info's words first (qemu prints no format-specific block for QED).
  summarize: (details) => [
    ['cluster_size', details.clusterSize],
    ['backing file', details.backingFile],
    ['backing file format', details.backingFormat],
    ['table size', details.tableSize],
    ['needs check', details.needsCheck || undefined],
  ],
  parse: parseQed,
};
