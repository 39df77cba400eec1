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
 * The header, its extensions and the backing file name are kept as read
 * (`reader.keepStart`): they all lie in the first cluster and point into it. Everything
 * else is read forward; a structure that lies behind one already read (a snapshot table
 * running into the bitmap directory) fails `UNSUPPORTED` naming it, on every kind of source.
 *
 * The L1 and refcount tables are not read: their size and position are checked as qemu
 * checks them. Like qemu's block layer, bytes past the end of the file read as zeros, so
 * a bare header opens (with a warning naming what was missing).
 *
 * | file | what |
 * | --- | --- |
 * | `shared/qcow2-header.ts` | the header and qemu's open-time checks of it |
 * | `shared/qcow2-extensions.ts` | the header extensions and the backing file name |
 * | `shared/qcow2-snapshots.ts` | the snapshot table and the bitmap directory |
 *
 * Sources: the qcow2 specification (qemu docs/interop/qcow2.txt) and qemu 7.2
 * block/qcow2.c `qcow2_do_open`, `qcow2_read_extensions`, block/qcow2-snapshot.c
 * `qcow2_read_snapshots`, block/qcow2-bitmap.c `bitmap_list_load`, `check_dir_entry`.
 *
 * @module
 */
import { bitsSet, safeNumber } from '../src/bytes.js';
import type { ByteReader, FormatModule, ParseContext, ParsedImage } from '../src/format-module.js';
import { type SafetyCheck, fail, pass } from '../src/safety.js';
import { FORMAT_SPECIFIC, listRows, type SummaryRow, section, snapshotTable } from '../src/summary.js';
import { QCOW2_HEADER_COMMON_MAGIC, type Qcow2Encryption } from './generated/qcow2.js';
import { type FeatureMask, describeFeatureMask, hasBit } from './shared/qcow-features.js';
import { qcowHeaderVersion } from './shared/qcow-header.js';
import { type Qcow2Extensions, readQcow2BackingFileName, readQcow2Extensions } from './shared/qcow2-extensions.js';
import {
  AUTOCLEAR_DATA_FILE_RAW,
  AUTOCLEAR_NAMES,
  COMPATIBLE_LAZY_REFCOUNTS,
  COMPATIBLE_NAMES,
  COMPRESSION_TYPES,
  INCOMPATIBLE_CORRUPT,
  INCOMPATIBLE_DATA_FILE,
  INCOMPATIBLE_DIRTY,
  INCOMPATIBLE_EXTENDED_L2,
  INCOMPATIBLE_NAMES,
  type Qcow2Header,
  checkQcow2Header,
  encryptionOf,
  readQcow2Header,
} from './shared/qcow2-header.js';
import { readQcow2Bitmaps, readQcow2Snapshots } from './shared/qcow2-snapshots.js';
import { qcow2GuestDisk } from './shared/qcow2-guest.js';

// Limits (qemu 7.2 block/qcow2.h and block/qcow2-bitmap.c), each defined where it is applied.
export {
  QCOW2_MAX_L1_TABLE_BYTES,
  QCOW2_MAX_CLUSTER_BITS,
  QCOW2_MAX_REFCOUNT_TABLE_BYTES,
  QCOW2_MAX_SNAPSHOTS,
  QCOW2_MIN_CLUSTER_BITS,
  QCOW2_MIN_VERSION3_HEADER_LENGTH,
} from './shared/qcow2-header.js';
export {
  QCOW2_MAX_BACKING_FILE_NAME_BYTES,
  QCOW2_MAX_BACKING_FORMAT_BYTES,
  QCOW2_MAX_BITMAPS,
  QCOW2_MAX_BITMAP_DIRECTORY_BYTES,
  QCOW2_MAX_FEATURE_NAMES,
  QCOW2_MAX_HEADER_EXTENSIONS,
} from './shared/qcow2-extensions.js';
export { QCOW2_MAX_BITMAP_NAME_BYTES, QCOW2_MAX_SNAPSHOT_EXTRA_DATA_BYTES, QCOW2_MAX_SNAPSHOT_TABLE_BYTES } from './shared/qcow2-snapshots.js';
export type { Qcow2Encryption } from './generated/qcow2.js';

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
// Parse

function featureNames(table: readonly Qcow2FeatureName[], type: Qcow2FeatureName['type']): Map<number, string> {
  return new Map(table.filter((entry) => entry.type === type).map((entry) => [entry.bit, entry.name]));
}

function checkDataFile(header: Qcow2Header, extensions: Qcow2Extensions, context: ParseContext): void {
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
  const header = await readQcow2Header(reader);
  checkQcow2Header(header, context);
  const extensions = await readQcow2Extensions(reader, header, context);
  const backingFile = await readQcow2BackingFileName(reader, header, context);
  checkDataFile(header, extensions, context);

  // The snapshot table and the bitmap directory may be anywhere: read them in file order.
  let snapshots: Qcow2Snapshot[] = [];
  let bitmaps: Qcow2Bitmap[] = [];
  const directory = extensions.bitmapDirectory;
  const readTheSnapshots = async (): Promise<void> => {
    snapshots = await readQcow2Snapshots(reader, header, context);
  };
  const readTheBitmaps = async (): Promise<void> => {
    if (directory !== undefined) bitmaps = await readQcow2Bitmaps(reader, header, directory, context);
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
  guestDisk: qcow2GuestDisk,
  parse: parseQcow2,
};
