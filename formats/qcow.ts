/**
 * qcow: the original QEMU copy-on-write format (version 1), which qcow2 replaced.
 *
 * What is read: the 48-byte header at 0, then the backing file name if there is one (qemu
 * writes it right after the header). The L1 table is not read; its size, which follows
 * from the disk size, is checked as qemu checks it. Bytes past the end of the file read as
 * zeros, as in qemu.
 *
 * Source: qemu 7.2 block/qcow.c (`QCowHeader`, `qcow_open`).
 *
 * @module
 */
import { cutAtNul, safeNumber, utf8Text } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader, FormatModule, ParseContext, ParsedImage } from '../src/format-module.js';
import { QCOW_ENCRYPTIONS, QCOW_HEADER_MAGIC, QCOW_HEADER_SIZE, type QcowEncryption, decodeQcowHeader } from './generated/qcow.js';
import { backingFileCheck } from './shared/backing-file-check.js';
import { qcowHeaderVersion, readQemuPadded, readWholeHeader } from './shared/qcow-header.js';

/** Smallest cluster qemu accepts: 2^9 = 512 bytes ("Cluster size must be between 512 and 64k"). */
export const QCOW_MIN_CLUSTER_BITS = 9;
/** Largest cluster qemu accepts: 2^16 = 64 KiB. */
export const QCOW_MAX_CLUSTER_BITS = 16;
/** Fewest L2 entries per table qemu accepts: 2^6 (a 512-byte table). */
export const QCOW_MIN_L2_BITS = 6;
/** Most L2 entries per table qemu accepts: 2^13 (a 64 KiB table). */
export const QCOW_MAX_L2_BITS = 13;
/** The longest backing file name qemu reads: 1023 bytes ("Backing file name too long"). */
export const QCOW_MAX_BACKING_FILE_NAME_BYTES = 1023;
/** Most L1 entries qemu allocates: INT_MAX / 8 ("Image too large"). */
export const QCOW_MAX_L1_ENTRIES = Math.floor((2 ** 31 - 1) / 8);

export type { QcowEncryption } from './generated/qcow.js';

/** qcow (version 1) metadata: the header's fields. */
export interface QcowDetails {
  /** The header version: 1. */
  version: number;
  /** The backing file name, as stored. */
  backingFile: string | undefined;
  /** The header's `mtime` (meant as the backing file's modification time) as ISO 8601; qemu writes 0, the epoch. */
  mtime: string;
  /** The header's size field: the virtual disk size in bytes. */
  size: number;
  /** log2 of the cluster size. */
  clusterBits: number;
  /** Cluster size in bytes (qemu's `cluster-size`). */
  clusterSize: number;
  /** log2 of the number of entries per L2 table. */
  l2Bits: number;
  /** How the data is encrypted: `'aes'` is AES-CBC with a key derived from a password. */
  encryption: QcowEncryption;
  /** Where the L1 table is. */
  l1TableOffset: number;
  /** Entries in the L1 table (derived from the size, as qemu derives it). */
  l1Size: number;
}

async function parseQcow(reader: ByteReader, context: ParseContext): Promise<ParsedImage<QcowDetails>> {
  // The header is kept: the backing file name may point back into it (qemu writes it right after, at 48).
  const header = decodeQcowHeader(await readWholeHeader(reader, QCOW_HEADER_SIZE, 'header'));
  if (header.version !== 1) {
    throw fieldError('UNSUPPORTED', 'header.version', `version ${header.version} is not qcow version 1`);
  }
  if (header.size <= 1n) throw fieldError('CORRUPT', 'header.size', `a disk of ${header.size} bytes (qemu: at least 2)`);
  if (header.clusterBits < QCOW_MIN_CLUSTER_BITS || header.clusterBits > QCOW_MAX_CLUSTER_BITS) {
    throw fieldError('CORRUPT', 'header.clusterBits', `cluster size 2^${header.clusterBits} is outside 2^${QCOW_MIN_CLUSTER_BITS}..2^${QCOW_MAX_CLUSTER_BITS}`);
  }
  if (header.l2Bits < QCOW_MIN_L2_BITS || header.l2Bits > QCOW_MAX_L2_BITS) {
    throw fieldError('CORRUPT', 'header.l2Bits', `2^${header.l2Bits} L2 entries is outside 2^${QCOW_MIN_L2_BITS}..2^${QCOW_MAX_L2_BITS}`);
  }
  const encryption = QCOW_ENCRYPTIONS.get(header.cryptMethod);
  if (encryption === undefined) {
    throw fieldError('UNSUPPORTED', 'header.cryptMethod', `encryption method ${header.cryptMethod} (qemu knows 0 none and 1 AES)`);
  }
  const size = safeNumber(header.size, 'header.size', 'qcow');
  // qemu: one L1 entry per L2 table's worth of clusters, at most INT_MAX / 8 of them.
  const bytesPerL1Entry = 2n ** BigInt(header.clusterBits + header.l2Bits);
  const l1Size = (header.size + bytesPerL1Entry - 1n) / bytesPerL1Entry;
  if (l1Size > BigInt(QCOW_MAX_L1_ENTRIES)) {
    throw fieldError('LIMIT_EXCEEDED', 'header.size', `a disk of ${size} bytes needs ${l1Size} L1 entries, more than qemu's ${QCOW_MAX_L1_ENTRIES}`);
  }
  if (header.size % 512n !== 0n) {
    context.warn(`the size ${header.size} is not a multiple of 512; qemu reports ${(header.size / 512n) * 512n} (whole sectors)`);
  }

  const details: QcowDetails = {
    version: header.version,
    backingFile: await readBackingFileName(reader, header.backingFileOffset, header.backingFileSize, context),
    mtime: new Date(header.mtime * 1000).toISOString(),
    size,
    clusterBits: header.clusterBits,
    clusterSize: 2 ** header.clusterBits,
    l2Bits: header.l2Bits,
    encryption,
    l1TableOffset: safeNumber(header.l1TableOffset, 'header.l1TableOffset', 'qcow'),
    l1Size: Number(l1Size),
  };
  return { virtualSize: size, details };
}

async function readBackingFileName(reader: ByteReader, offset: bigint, length: number, context: ParseContext): Promise<string | undefined> {
  if (offset === 0n) return undefined;
  if (length > QCOW_MAX_BACKING_FILE_NAME_BYTES) {
    throw fieldError('LIMIT_EXCEEDED', 'header.backingFileSize', `a backing file name of ${length} bytes (qemu allows ${QCOW_MAX_BACKING_FILE_NAME_BYTES})`);
  }
  const start = safeNumber(offset, 'header.backingFileOffset', 'qcow');
  const bytes = await readQemuPadded(reader, start, length, { field: 'backing file name', structure: 'backing file name' }, context);
  const name = cutAtNul(utf8Text(bytes));
  return name === '' ? undefined : name;
}

/** The qcow (version 1) format module. */
export const qcow: FormatModule<'qcow', QcowDetails, 'backing_file'> = {
  name: 'qcow',
  title: 'QEMU Copy-On-Write version 1 (qcow)',
  qemuProbes: true,
  glance: { diskFormat: null }, // Glance has no disk_format for it
  signatures: [{ offset: 0, bytes: QCOW_HEADER_MAGIC }],
  // qemu's probe (block/qcow.c qcow_probe): the magic and version 1.
  check: async (reader) => (await qcowHeaderVersion(reader)) === 1,
  checks: [backingFileCheck<QcowDetails>()],
  references: { backing: [{ name: 'backingFile' }] },
  // qemu-img info's words: qemu prints no format-specific block for qcow.
  summarize: (details) => [
    ['encrypted', details.encryption === 'none' ? undefined : 'yes'],
    ['cluster_size', details.clusterSize],
    ['backing file', details.backingFile],
    ['encryption', details.encryption === 'none' ? undefined : details.encryption],
  ],
  parse: parseQcow,
};
