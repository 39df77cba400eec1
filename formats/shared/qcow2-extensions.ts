/**
 * qcow2's header extensions (qcow2 specification, "Header extensions"; qemu 7.2
 * block/qcow2.c `qcow2_read_extensions`) and the backing file name: everything between the
 * header and the end of the first cluster, kept with the header (`keepStart`).
 *
 * Part of the qcow2 module (`formats/qcow2.ts`), which says what is read and in what order.
 *
 * @module
 */
import { cutAtNul, hex, safeNumber, utf8Text } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import type { ByteReader, ParseContext } from '../../src/format-module.js';
import type { Qcow2FeatureName, Qcow2HeaderExtension } from '../qcow2.js';
import {
  QCOW2_BITMAPS_EXTENSION_SIZE,
  QCOW2_ENCRYPTION_HEADER_POINTER_SIZE,
  QCOW2_FEATURE_NAME_ENTRY_SIZE,
  QCOW2_FEATURE_TYPES,
  QCOW2_HEADER_EXTENSION_HEADER_SIZE,
  decodeQcow2BitmapsExtension,
  decodeQcow2EncryptionHeaderPointer,
  decodeQcow2FeatureNameEntry,
  decodeQcow2HeaderExtensionHeader,
} from '../generated/qcow2.js';
import { hasBit } from './qcow-features.js';
import { alignTo8, readQemuPadded } from './qcow-header.js';
import { AUTOCLEAR_BITMAPS, type Qcow2Header } from './qcow2-header.js';

// Limits (qemu 7.2 block/qcow2.h and block/qcow2-bitmap.c)

/** The longest backing file name qemu reads: 1023 bytes ("Backing file name too long"). */
export const QCOW2_MAX_BACKING_FILE_NAME_BYTES = 1023;
/** The longest backing format name qemu reads: 15 bytes (its buffer is 16 with the NUL). */
export const QCOW2_MAX_BACKING_FORMAT_BYTES = 15;
/** More header extensions than this is not an image anybody made (qemu writes at most 6). */
export const QCOW2_MAX_HEADER_EXTENSIONS = 1024;
/** A feature name table names at most 64 bits of each of the 3 masks. */
export const QCOW2_MAX_FEATURE_NAMES = 192;
/** Most bitmaps qemu opens (QCOW2_MAX_BITMAPS). */
export const QCOW2_MAX_BITMAPS = 65535;
/** Largest bitmap directory qemu opens (QCOW2_MAX_BITMAP_DIRECTORY_SIZE). */
export const QCOW2_MAX_BITMAP_DIRECTORY_BYTES = 1024 * QCOW2_MAX_BITMAPS;

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

/** What the header extensions say. */
export interface Qcow2Extensions {
  list: Qcow2HeaderExtension[];
  backingFormat: string | undefined;
  dataFile: string | undefined;
  featureNameTable: Qcow2FeatureName[];
  encryptionHeader: { offset: number; length: number } | undefined;
  bitmapDirectory: { offset: number; size: number; count: number } | undefined;
}

/** Text as qcow2 stores it: UTF-8, cut at the first NUL. */
export function qcow2Text(bytes: Uint8Array): string {
  return cutAtNul(utf8Text(bytes));
}

async function readExtensionData(reader: ByteReader, offset: number, length: number, what: string, context: ParseContext): Promise<Uint8Array> {
  return readQemuPadded(reader, offset, length, { field: `header extension (${what})`, structure: `${what} header extension`, keep: true }, context);
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
    const name = qcow2Text(entry.name);
    // qemu stops at the first entry without a name (report_unsupported_feature).
    if (name === '') break;
    const type = QCOW2_FEATURE_TYPES.get(entry.type) ?? (`type ${entry.type}` as const);
    names.push({ type, bit: entry.bit, name });
  }
  return names;
}

function decodeBitmapsExtension(data: Uint8Array, header: Qcow2Header): Qcow2Extensions['bitmapDirectory'] {
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

/** Reads the header extensions, from the end of the header to the backing file name (or the end of the first cluster). */
export async function readQcow2Extensions(reader: ByteReader, header: Qcow2Header, context: ParseContext): Promise<Qcow2Extensions> {
  const result: Qcow2Extensions = {
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
    const where = { field: 'header extension', structure: 'header extension list', keep: true };
    const { type, length } = decodeQcow2HeaderExtensionHeader(await readQemuPadded(reader, offset, QCOW2_HEADER_EXTENSION_HEADER_SIZE, where, context));
    const dataOffset = offset + QCOW2_HEADER_EXTENSION_HEADER_SIZE;
    if (dataOffset > end || length > end - dataOffset) {
      throw fieldError('CORRUPT', 'header extension', `the extension at ${offset} (type ${hex(type, 8)}, ${length} bytes) runs past ${end}`);
    }
    if (type === EXTENSION_END) break;
    if (result.list.length >= QCOW2_MAX_HEADER_EXTENSIONS) {
      throw fieldError('LIMIT_EXCEEDED', 'header extension', `more than ${QCOW2_MAX_HEADER_EXTENSIONS} header extensions`);
    }
    result.list.push({ type: hex(type, 8), name: EXTENSION_NAMES.get(type), offset: dataOffset, length });
    await applyExtension(reader, header, type, dataOffset, length, result, context);
    offset = dataOffset + alignTo8(length);
  }
  return result;
}

async function applyExtension(
  reader: ByteReader,
  header: Qcow2Header,
  type: number,
  offset: number,
  length: number,
  result: Qcow2Extensions,
  context: ParseContext,
): Promise<void> {
  switch (type) {
    case EXTENSION_BACKING_FORMAT: {
      if (length > QCOW2_MAX_BACKING_FORMAT_BYTES) {
        throw fieldError('LIMIT_EXCEEDED', 'header extension (backing file format)', `${length} bytes, more than qemu's ${QCOW2_MAX_BACKING_FORMAT_BYTES}`);
      }
      result.backingFormat = qcow2Text(await readExtensionData(reader, offset, length, 'backing file format', context));
      return;
    }
    case EXTENSION_FEATURE_NAME_TABLE:
      result.featureNameTable = decodeFeatureNameTable(await readExtensionData(reader, offset, length, 'feature name table', context), context);
      return;
    case EXTENSION_ENCRYPTION_HEADER: {
      const field = 'header extension (full disk encryption header pointer)';
      if (header.common.cryptMethod !== 2) throw fieldError('CORRUPT', field, 'only a LUKS-encrypted image has an encryption header');
      if (length !== QCOW2_ENCRYPTION_HEADER_POINTER_SIZE) throw fieldError('CORRUPT', field, `${length} bytes, not ${QCOW2_ENCRYPTION_HEADER_POINTER_SIZE}`);
      const pointer = decodeQcow2EncryptionHeaderPointer(await readExtensionData(reader, offset, length, 'encryption header pointer', context));
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
      result.bitmapDirectory = decodeBitmapsExtension(await readExtensionData(reader, offset, length, 'bitmaps', context), header);
      return;
    }
    case EXTENSION_DATA_FILE:
      result.dataFile = qcow2Text(await readExtensionData(reader, offset, length, 'external data file name', context));
      return;
    default:
      // Unknown extensions are listed and skipped (qemu keeps them to write them back).
      return;
  }
}


/** The backing file name, inside the first cluster (`undefined` when there is none or it is empty). */
export async function readQcow2BackingFileName(reader: ByteReader, header: Qcow2Header, context: ParseContext): Promise<string | undefined> {
  const { backingFileOffset, backingFileSize } = header.common;
  if (backingFileOffset === 0n) return undefined;
  const offset = Number(backingFileOffset);
  const room = Math.min(QCOW2_MAX_BACKING_FILE_NAME_BYTES, header.clusterSize - offset);
  if (backingFileSize > room) {
    throw fieldError('LIMIT_EXCEEDED', 'header.backingFileSize', `a backing file name of ${backingFileSize} bytes (qemu allows ${room} here)`);
  }
  const bytes = await readQemuPadded(reader, offset, backingFileSize, { field: 'backing file name', structure: 'backing file name', keep: true }, context);
  const name = qcow2Text(bytes);
  // qemu treats an empty name as no backing file.
  return name === '' ? undefined : name;
}

