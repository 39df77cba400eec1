/**
 * Zip archives: the end of central directory (and its zip64 locator and record), the
 * central directory, local file headers, data descriptors, and a forward walker over local
 * headers for streams. Decompression is the caller's.
 *
 * Layouts (PKWARE APPNOTE.TXT 6.3.10, sections 4.3.7 to 4.3.16; all little-endian):
 *
 * | structure | signature | fixed size | fields |
 * | --- | --- | --- | --- |
 * | local file header | `PK\3\4` 0x04034b50 | 30 | version needed 4, flags 6, method 8, DOS time 10, DOS date 12, CRC-32 14, compressed size 18, uncompressed size 22, name length 26, extra length 28; then name, extra |
 * | data descriptor | (`PK\7\8` 0x08074b50, optional) | 12 or 16 (24 with zip64) | CRC-32, compressed size, uncompressed size (8 bytes each in zip64) |
 * | central directory header | `PK\1\2` 0x02014b50 | 46 | version made by 4 (high byte: host, 3 = Unix), version needed 6, flags 8, method 10, DOS time 12, date 14, CRC-32 16, compressed 20, uncompressed 24, name length 28, extra length 30, comment length 32, disk 34, internal attributes 36, external attributes 38, local header offset 42 |
 * | zip64 end of central directory record | `PK\6\6` 0x06064b50 | 56 | record size 4 (8 bytes, excluding the first 12), made by 12, needed 14, disk 16, CD disk 20, entries on disk 24 (8), entries 32 (8), CD size 40 (8), CD offset 48 (8) |
 * | zip64 locator | `PK\6\7` 0x07064b50 | 20 | CD disk 4, zip64 record offset 8 (8), disks 16 |
 * | end of central directory | `PK\5\6` 0x06054b50 | 22 | disk 4, CD disk 6, entries on disk 8, entries 10, CD size 12, CD offset 16, comment length 20; then the comment (≤ 65,535 bytes) |
 *
 * Flags: bit 0 encrypted, bit 3 sizes and CRC in a data descriptor after the data, bit 6
 * strong encryption, bit 11 names in UTF-8 (else code page 437), bit 13 local headers
 * masked. Extra fields read: 0x0001 zip64 sizes and offset, 0x5455 extended timestamp,
 * 0x7875 Unix UID/GID, 0x7075 Unicode path, 0x9901 WinZip AES (the real method).
 *
 * @module
 */
import { safeNumber, u16le, u32le, u64le, utf8Text } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import type { ByteReader } from '../../src/format-module.js';

/** The most entries read from one central directory, or walked on a stream: 100,000. */
export const ZIP_MAX_ENTRIES = 100_000;

/**
 * The largest central directory read: 64 MiB. It holds every name, extra field and
 * comment (each up to 65,535 bytes by the format), so this bounds the memory the entry
 * list takes whatever its count claims.
 */
export const ZIP_MAX_CENTRAL_DIRECTORY_BYTES = 64 * 1024 * 1024;

/**
 * The longest entry name accepted: 4096 bytes (Linux's PATH_MAX). The format allows
 * 65,535; a longer name cannot be extracted anywhere and is a sign of a crafted archive.
 */
export const ZIP_MAX_NAME_BYTES = 4096;

/**
 * The longest archive or entry comment: 65,535 bytes, the format's own bound (a 16-bit
 * length), as for extra fields; the end record is searched for within this much of the end.
 */
export const ZIP_MAX_COMMENT_BYTES = 0xffff;

/** Record signatures (APPNOTE 4.3): "PK" and two numbers, read as little-endian 32-bit values. */
const SIGNATURE = {
  localHeader: 0x04034b50,
  centralHeader: 0x02014b50,
  endOfCentralDirectory: 0x06054b50,
  zip64EndRecord: 0x06064b50,
  zip64Locator: 0x07064b50,
  dataDescriptor: 0x08074b50,
  archiveExtraData: 0x08064b50,
  digitalSignature: 0x05054b50,
  /** "PK00": written before the first local header of a split archive that fits in one segment. */
  singleSegmentMarker: 0x30304b50,
} as const;

/** The records a stream walk can meet after the last local header: the central directory and what may stand in its place. */
const AFTER_LOCAL_HEADERS: ReadonlySet<number> = new Set([
  SIGNATURE.centralHeader,
  SIGNATURE.endOfCentralDirectory,
  SIGNATURE.zip64EndRecord,
  SIGNATURE.archiveExtraData,
  SIGNATURE.digitalSignature,
]);

const END_SIZE = 22;
const LOCATOR_SIZE = 20;
const ZIP64_RECORD_SIZE = 56;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;

/** General purpose bit flags (APPNOTE 4.4.4). */
const FLAG = { encrypted: 1 << 0, dataDescriptor: 1 << 3, strongEncryption: 1 << 6, utf8: 1 << 11 } as const;

/** External attributes: a Unix mode in the high 16 bits when made on Unix, else the MS-DOS attribute bits. */
const UNIX_HOST = 3;
const UNIX_MODE = { typeMask: 0o170000, directory: 0o040000, symlink: 0o120000 } as const;
const MSDOS_DIRECTORY = 0x10;

/** Compression methods by number (APPNOTE 4.4.5). */
export const ZIP_METHOD_NAMES: Readonly<Record<number, string>> = {
  0: 'stored',
  1: 'shrunk',
  6: 'imploded',
  8: 'deflate',
  9: 'deflate64',
  12: 'bzip2',
  14: 'lzma',
  93: 'zstd',
  95: 'xz',
  98: 'ppmd',
  99: 'aes',
};

/** Where the central directory is, from the end of central directory (and zip64) records. */
export interface ZipDirectoryLocation {
  /** Offset of the end of central directory record. */
  endOffset: number;
  /** Offset of the zip64 end of central directory record, when there is one. */
  zip64EndOffset?: number;
  /** Offset of the first central directory header (already corrected for prepended bytes). */
  centralDirectoryOffset: number;
  /** Length of the central directory in bytes. */
  centralDirectorySize: number;
  /** Number of entries it declares. */
  entryCount: number;
  /** The archive comment (Latin-1 / code page 437 bytes decoded as UTF-8 when valid). */
  comment: string;
  /** Bytes before the archive (a self-extractor's stub): offsets in the directory are shifted by this much. */
  prependedBytes: number;
  /** True when the archive spans several disks (not supported beyond this fact). */
  multiDisk: boolean;
}

/** What both the central and the local headers say about an entry. */
interface ZipHeaderFields {
  /** The name as stored (UTF-8 when flag bit 11 or a Unicode path extra field says so, else code page 437). */
  name: string;
  /** General purpose flags. */
  flags: number;
  /** Compression method number (for AES-encrypted entries, the method inside). */
  method: number;
  /** The method's name, e.g. `deflate`; `unknown-N` otherwise. */
  methodName: string;
  /** CRC-32 of the uncompressed data (0 in a local header whose sizes are deferred). */
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** True when the data is encrypted (traditional, strong or AES). */
  encrypted: boolean;
  /** True when sizes and CRC follow the data in a data descriptor (flag bit 3). */
  hasDataDescriptor: boolean;
  /** The DOS date and time as written (local time, no zone): `YYYY-MM-DDTHH:MM:SS`. */
  dosTime: string;
  /** Modification time from the extended timestamp extra field, ISO 8601 UTC. */
  mtime?: string;
  /** Owner from the Info-ZIP Unix extra field 0x7875. */
  uid?: number;
  gid?: number;
  /** True when a zip64 extra field supplied sizes or the offset. */
  zip64: boolean;
}

/**
 * One central directory entry.
 *
 * | field | meaning |
 * | --- | --- |
 * | `name`, `flags`, `method`, `crc32`, sizes, times | as in the header (zip64 values applied) |
 * | `type` | `directory` (name ends in `/`, or a directory mode/attribute), `symlink` (Unix mode 0120000), else `file` |
 * | `mode` | Unix permission and type bits from the external attributes (host 3), when the archive was made on Unix |
 * | `externalAttributes`, `madeBy` | raw values |
 * | `localHeaderOffset` | where the entry's local header starts (corrected for prepended bytes) |
 * | `comment` | the entry comment |
 */
export interface ZipEntry extends ZipHeaderFields {
  type: 'file' | 'directory' | 'symlink';
  mode?: number;
  madeBy: number;
  versionNeeded: number;
  externalAttributes: number;
  localHeaderOffset: number;
  comment: string;
}

/** A local file header: where an entry's data starts. */
export interface ZipLocalHeader extends ZipHeaderFields {
  /** Offset of this local header. */
  offset: number;
  /** Offset of the entry's (compressed) data: after the local name and extra field, whose lengths may differ from the central ones. */
  dataOffset: number;
  versionNeeded: number;
}

/** An entry found by walking local headers on a stream. */
export interface ZipLocalEntry extends ZipLocalHeader {
  /**
   * False when the compressed size is deferred to a data descriptor (flag bit 3 with a zero
   * compressed size in the local header): the caller must decode through the data to find its end,
   * then call {@link ZipStreamWalker.dataEndsAt}.
   */
  sizeKnown: boolean;
}

/** A data descriptor read after an entry's data. */
export interface ZipDataDescriptor {
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Its length in bytes (12 to 24, with or without the optional signature). */
  length: number;
}

/** Code page 437's characters for bytes 0x80-0xFF (the zip default when flag bit 11 is clear). */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/** Decodes a name or comment that is not flagged UTF-8, as code page 437 (what Info-ZIP and Windows assume). */
export function cp437Text(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += byte < 0x80 ? String.fromCharCode(byte) : (CP437_HIGH[byte - 0x80] as string);
  return text;
}

/** A DOS date and time as `YYYY-MM-DDTHH:MM:SS` (local time; the format has no zone). */
export function dosDateTime(date: number, time: number): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  const year = 1980 + (date >>> 9);
  return `${year}-${pad((date >>> 5) & 0x0f)}-${pad(date & 0x1f)}T${pad(time >>> 11)}:${pad((time >>> 5) & 0x3f)}:${pad((time & 0x1f) * 2)}`;
}

function methodName(method: number): string {
  return ZIP_METHOD_NAMES[method] ?? `unknown-${method}`;
}

/** The values the extra fields of one header supply. */
interface ExtraValues {
  uncompressedSize?: number;
  compressedSize?: number;
  localHeaderOffset?: number;
  mtime?: string;
  uid?: number;
  gid?: number;
  unicodeName?: string;
  aesMethod?: number;
  zip64: boolean;
}

/**
 * Reads the extra fields (id 2 bytes, length 2 bytes, data). The zip64 field holds, in
 * order, only the values whose header field is 0xFFFFFFFF (APPNOTE 4.5.3): `wanted` says
 * which. A record running past the end is `CORRUPT`.
 */
function readExtraFields(
  extra: Uint8Array,
  wanted: { uncompressed: boolean; compressed: boolean; offset: boolean },
  field: string,
  at: number,
): ExtraValues {
  const values: ExtraValues = { zip64: false };
  let position = 0;
  while (position + 4 <= extra.byteLength) {
    const id = u16le(extra, position, field);
    const length = u16le(extra, position + 2, field);
    const start = position + 4;
    const end = start + length;
    if (end > extra.byteLength) throw fieldError('CORRUPT', field, `extra field 0x${id.toString(16)} runs past the end`, at + position);
    const data = extra.subarray(start, end);
    switch (id) {
      case 0x0001: {
        let cursor = 0;
        const next = (name: string): number | undefined => {
          if (cursor + 8 > data.byteLength) throw fieldError('CORRUPT', `${field}.zip64`, `too short for ${name}`, at + start);
          const value = safeNumber(u64le(data, cursor, `${field}.zip64`), `${field}.zip64.${name}`);
          cursor += 8;
          return value;
        };
        if (wanted.uncompressed) values.uncompressedSize = next('uncompressed size');
        if (wanted.compressed) values.compressedSize = next('compressed size');
        if (wanted.offset) values.localHeaderOffset = next('local header offset');
        values.zip64 = true;
        break;
      }
      case 0x5455: {
        // Extended timestamp: flags, then mtime (signed 32-bit seconds) when bit 0 is set.
        if (data.byteLength >= 5 && ((data[0] as number) & 1) !== 0) {
          const seconds = new DataView(data.buffer, data.byteOffset + 1, 4).getInt32(0, true);
          values.mtime = new Date(seconds * 1000).toISOString();
        }
        break;
      }
      case 0x7875: {
        // Info-ZIP Unix: version 1, then a sized UID and a sized GID.
        if (data.byteLength >= 3 && data[0] === 1) {
          const uidSize = data[1] as number;
          const gidSize = data[2 + uidSize];
          if (uidSize <= 4 && gidSize !== undefined && gidSize <= 4 && 3 + uidSize + gidSize <= data.byteLength) {
            values.uid = littleEndian(data, 2, uidSize);
            values.gid = littleEndian(data, 3 + uidSize, gidSize);
          }
        }
        break;
      }
      case 0x7075: {
        // Unicode path: version 1, CRC-32 of the header name, the UTF-8 name.
        if (data.byteLength >= 5 && data[0] === 1) values.unicodeName = utf8Text(data.subarray(5));
        break;
      }
      case 0x9901: {
        // WinZip AES: version 2, vendor "AE", strength 1, then the actual method (2 bytes).
        if (data.byteLength >= 7) values.aesMethod = u16le(data, 5, `${field}.aes`);
        break;
      }
      default:
        break;
    }
    position = end;
  }
  return values;
}

const MSDOS_HOSTS = new Set([0, 6, 11, 14]); // MS-DOS/FAT, OS/2 HPFS, NTFS, VFAT: names in the OEM code page

/**
 * A name's text: UTF-8 when flag bit 11 says so; else, as Info-ZIP's unzip does, code page
 * 437 for archives made on MS-DOS-family hosts and the bytes as they are (UTF-8 when valid)
 * for others (Info-ZIP zip 3.0 on Unix stores UTF-8 names without setting the flag). For a
 * local header (`host` unknown), valid UTF-8 is taken as UTF-8.
 */
function decodeName(bytes: Uint8Array, flags: number, host: number | undefined): string {
  if ((flags & FLAG.utf8) !== 0) return utf8Text(bytes);
  if (host !== undefined && MSDOS_HOSTS.has(host)) return cp437Text(bytes);
  return utf8OrCp437(bytes);
}

function littleEndian(bytes: Uint8Array, offset: number, length: number): number {
  let value = 0;
  for (let index = length - 1; index >= 0; index -= 1) value = value * 256 + (bytes[offset + index] as number);
  return value;
}

/** Reads the fields common to central and local headers; `base` is where flags, method, times, CRC and sizes start (8 central, 6 local). */
function commonFields(
  header: Uint8Array,
  base: number,
  nameBytes: Uint8Array,
  extra: Uint8Array,
  field: string,
  at: number,
  wantOffset: boolean,
  rawOffset: number,
  host: number | undefined,
): ZipHeaderFields & { localHeaderOffset: number } {
  const flags = u16le(header, base, field);
  const rawMethod = u16le(header, base + 2, field);
  const time = u16le(header, base + 4, field);
  const date = u16le(header, base + 6, field);
  const crc = u32le(header, base + 8, field);
  const compressed = u32le(header, base + 12, field);
  const uncompressed = u32le(header, base + 16, field);
  const extraValues = readExtraFields(
    extra,
    { uncompressed: uncompressed === 0xffffffff, compressed: compressed === 0xffffffff, offset: wantOffset && rawOffset === 0xffffffff },
    field,
    at,
  );
  const name = extraValues.unicodeName ?? decodeName(nameBytes, flags, host);
  const method = rawMethod === 99 && extraValues.aesMethod !== undefined ? extraValues.aesMethod : rawMethod;
  const fields: ZipHeaderFields & { localHeaderOffset: number } = {
    name,
    flags,
    method,
    methodName: methodName(method),
    crc32: crc,
    compressedSize: extraValues.compressedSize ?? compressed,
    uncompressedSize: extraValues.uncompressedSize ?? uncompressed,
    encrypted: (flags & (FLAG.encrypted | FLAG.strongEncryption)) !== 0 || rawMethod === 99,
    hasDataDescriptor: (flags & FLAG.dataDescriptor) !== 0,
    dosTime: dosDateTime(date, time),
    zip64: extraValues.zip64,
    localHeaderOffset: extraValues.localHeaderOffset ?? rawOffset,
  };
  if (extraValues.mtime !== undefined) fields.mtime = extraValues.mtime;
  if (extraValues.uid !== undefined) fields.uid = extraValues.uid;
  if (extraValues.gid !== undefined) fields.gid = extraValues.gid;
  return fields;
}

function checkNameLength(length: number, field: string, at: number): void {
  if (length > ZIP_MAX_NAME_BYTES) throw fieldError('LIMIT_EXCEEDED', field, `a name of ${length} bytes is above the ${ZIP_MAX_NAME_BYTES}-byte cap`, at);
}

/**
 * Finds the end of central directory record within the last 65,557 bytes (22 plus the
 * longest comment), searching backwards as Info-ZIP does, then the zip64 locator and
 * record before it when the 16/32-bit fields are saturated or a locator is present.
 * `FORMAT_MISMATCH` when there is no record; `CORRUPT` when its fields are impossible.
 * Needs the archive's size (on a stream, this reads to the end keeping the tail).
 */
export async function findEndOfCentralDirectory(reader: ByteReader): Promise<ZipDirectoryLocation> {
  const tailLength = END_SIZE + ZIP_MAX_COMMENT_BYTES + LOCATOR_SIZE;
  const size = reader.size ?? (await reader.totalSize(tailLength));
  const tailStart = Math.max(0, size - tailLength);
  const tail = await reader.read(tailStart, size - tailStart, 'zip end of central directory');
  let found = -1;
  for (let position = tail.byteLength - END_SIZE; position >= 0; position -= 1) {
    if (tail[position] !== 0x50 || tail[position + 1] !== 0x4b || tail[position + 2] !== 0x05 || tail[position + 3] !== 0x06) continue;
    // The comment must fit in what follows (a signature inside a comment is not the record).
    if (position + END_SIZE + u16le(tail, position + 20) <= tail.byteLength) {
      found = position;
      break;
    }
  }
  if (found < 0) throw fieldError('FORMAT_MISMATCH', 'zip end of central directory', 'no end of central directory record in the last 64 KiB');
  const end = tail.subarray(found);
  const endOffset = tailStart + found;
  const field = 'zip end of central directory';
  const diskNumber = u16le(end, 4, field);
  const directoryDisk = u16le(end, 6, field);
  let entryCount = u16le(end, 10, field);
  let directorySize = u32le(end, 12, field);
  let directoryOffset = u32le(end, 16, field);
  const commentLength = u16le(end, 20, field);
  const comment = utf8OrCp437(end.subarray(END_SIZE, END_SIZE + commentLength));
  let multiDisk = diskNumber !== 0 || directoryDisk !== 0 || u16le(end, 8, field) !== entryCount;
  let zip64EndOffset: number | undefined;

  const locatorOffset = endOffset - LOCATOR_SIZE;
  if (locatorOffset >= tailStart && u32le(tail, locatorOffset - tailStart) === SIGNATURE.zip64Locator) {
    const locator = tail.subarray(locatorOffset - tailStart, locatorOffset - tailStart + LOCATOR_SIZE);
    const recordOffset = safeNumber(u64le(locator, 8, 'zip64 locator'), 'zip64 locator.offset');
    if (u32le(locator, 16, 'zip64 locator') > 1) multiDisk = true;
    if (recordOffset + ZIP64_RECORD_SIZE > locatorOffset) {
      throw fieldError('CORRUPT', 'zip64 locator', `the zip64 record at ${recordOffset} would overlap the locator`, locatorOffset);
    }
    const record = await reader.read(recordOffset, ZIP64_RECORD_SIZE, 'zip64 end of central directory');
    if (u32le(record, 0) !== SIGNATURE.zip64EndRecord) {
      throw fieldError('CORRUPT', 'zip64 end of central directory', 'no zip64 record where the locator points', recordOffset);
    }
    zip64EndOffset = recordOffset;
    entryCount = safeNumber(u64le(record, 32, 'zip64 end of central directory'), 'zip64 end of central directory.entries');
    directorySize = safeNumber(u64le(record, 40, 'zip64 end of central directory'), 'zip64 end of central directory.size');
    directoryOffset = safeNumber(u64le(record, 48, 'zip64 end of central directory'), 'zip64 end of central directory.offset');
    if (u32le(record, 16) !== 0 || u32le(record, 20) !== 0) multiDisk = true;
  } else if (entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    throw fieldError('CORRUPT', field, 'zip64 values are saturated but there is no zip64 locator', endOffset);
  }

  const directoryEnd = zip64EndOffset ?? endOffset;
  if (directorySize > directoryEnd) throw fieldError('CORRUPT', field, `a central directory of ${directorySize} bytes does not fit before ${directoryEnd}`, endOffset);
  // Info-ZIP: when the directory is not where it says but ends right before the end record,
  // bytes were prepended (a self-extractor stub); every offset shifts by the difference.
  const actualStart = directoryEnd - directorySize;
  const prependedBytes = actualStart - directoryOffset;
  if (prependedBytes < 0) throw fieldError('CORRUPT', field, `the central directory at ${directoryOffset} (+${directorySize}) overlaps the end record at ${directoryEnd}`, endOffset);
  const location: ZipDirectoryLocation = {
    endOffset,
    centralDirectoryOffset: actualStart,
    centralDirectorySize: directorySize,
    entryCount,
    comment,
    prependedBytes,
    multiDisk,
  };
  if (zip64EndOffset !== undefined) location.zip64EndOffset = zip64EndOffset;
  return location;
}

function utf8OrCp437(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return cp437Text(bytes);
  }
}

/**
 * Reads the central directory entries. `LIMIT_EXCEEDED` above {@link ZIP_MAX_ENTRIES}
 * entries or {@link ZIP_MAX_CENTRAL_DIRECTORY_BYTES}; `CORRUPT` for a header without its
 * signature or running past the directory, or fewer entries than declared.
 */
export async function readCentralDirectory(reader: ByteReader, location: ZipDirectoryLocation): Promise<ZipEntry[]> {
  const field = 'zip central directory';
  if (location.entryCount > ZIP_MAX_ENTRIES) {
    throw fieldError('LIMIT_EXCEEDED', field, `${location.entryCount} entries is above the ${ZIP_MAX_ENTRIES}-entry cap`, location.endOffset);
  }
  if (location.centralDirectorySize > ZIP_MAX_CENTRAL_DIRECTORY_BYTES) {
    throw fieldError('LIMIT_EXCEEDED', field, `${location.centralDirectorySize} bytes is above the ${ZIP_MAX_CENTRAL_DIRECTORY_BYTES}-byte cap`, location.centralDirectoryOffset);
  }
  const directory = await reader.read(location.centralDirectoryOffset, location.centralDirectorySize, field);
  const entries: ZipEntry[] = [];
  let position = 0;
  for (let index = 0; index < location.entryCount; index += 1) {
    const at = location.centralDirectoryOffset + position;
    const entryField = `zip central directory[${index}]`;
    if (position + CENTRAL_SIZE > directory.byteLength) throw fieldError('CORRUPT', entryField, `the directory ends after ${index} of ${location.entryCount} entries`, at);
    if (u32le(directory, position) !== SIGNATURE.centralHeader) throw fieldError('CORRUPT', entryField, 'no central directory signature', at);
    const header = directory.subarray(position, position + CENTRAL_SIZE);
    const nameLength = u16le(header, 28);
    const extraLength = u16le(header, 30);
    const commentLength = u16le(header, 32);
    checkNameLength(nameLength, entryField, at);
    const variableEnd = position + CENTRAL_SIZE + nameLength + extraLength + commentLength;
    if (variableEnd > directory.byteLength) throw fieldError('CORRUPT', entryField, 'its name, extra field and comment run past the directory', at);
    const nameStart = position + CENTRAL_SIZE;
    const nameBytes = directory.subarray(nameStart, nameStart + nameLength);
    const extra = directory.subarray(nameStart + nameLength, nameStart + nameLength + extraLength);
    const commentBytes = directory.subarray(nameStart + nameLength + extraLength, variableEnd);
    const rawOffset = u32le(header, 42);
    const common = commonFields(header, 8, nameBytes, extra, entryField, at + CENTRAL_SIZE + nameLength, true, rawOffset, u16le(header, 4) >>> 8);
    const madeBy = u16le(header, 4);
    const externalAttributes = u32le(header, 38);
    const { localHeaderOffset, ...fields } = common;
    const entry: ZipEntry = {
      ...fields,
      type: 'file',
      madeBy,
      versionNeeded: u16le(header, 6),
      externalAttributes,
      localHeaderOffset: localHeaderOffset + location.prependedBytes,
      comment: (common.flags & FLAG.utf8) !== 0 ? utf8Text(commentBytes) : cp437Text(commentBytes),
    };
    if (madeBy >>> 8 === UNIX_HOST && externalAttributes >>> 16 !== 0) entry.mode = externalAttributes >>> 16;
    entry.type = entryKind(entry);
    entries.push(entry);
    position = variableEnd;
  }
  return entries;
}

function entryKind(entry: Pick<ZipEntry, 'name' | 'mode' | 'externalAttributes'>): ZipEntry['type'] {
  if (entry.mode !== undefined && (entry.mode & UNIX_MODE.typeMask) === UNIX_MODE.symlink) return 'symlink';
  if (entry.name.endsWith('/')) return 'directory';
  if (entry.mode !== undefined && (entry.mode & UNIX_MODE.typeMask) === UNIX_MODE.directory) return 'directory';
  if ((entry.externalAttributes & MSDOS_DIRECTORY) !== 0) return 'directory';
  return 'file';
}

/** Parses a local header from its bytes (at least 30 plus the name and extra lengths); `host` as in the central entry, when known. */
function parseLocalHeader(bytes: Uint8Array, offset: number, host?: number): ZipLocalHeader {
  const field = 'zip local header';
  if (u32le(bytes, 0, field) !== SIGNATURE.localHeader) throw fieldError('CORRUPT', field, 'no local header signature', offset);
  const nameLength = u16le(bytes, 26, field);
  const extraLength = u16le(bytes, 28, field);
  const nameBytes = bytes.subarray(LOCAL_SIZE, LOCAL_SIZE + nameLength);
  const extra = bytes.subarray(LOCAL_SIZE + nameLength, LOCAL_SIZE + nameLength + extraLength);
  const { localHeaderOffset: _ignored, ...fields } = commonFields(bytes, 6, nameBytes, extra, field, offset + LOCAL_SIZE + nameLength, false, 0, host);
  return { ...fields, offset, dataOffset: offset + LOCAL_SIZE + nameLength + extraLength, versionNeeded: u16le(bytes, 4, field) };
}

/** Reads the 30-byte fixed part and then the name and extra field at `offset`. */
async function readLocalHeaderAt(reader: ByteReader, offset: number, host?: number): Promise<ZipLocalHeader> {
  const fixed = await reader.read(offset, LOCAL_SIZE, 'zip local header');
  if (u32le(fixed, 0) !== SIGNATURE.localHeader) throw fieldError('CORRUPT', 'zip local header', 'no local header signature', offset);
  const nameLength = u16le(fixed, 26);
  const extraLength = u16le(fixed, 28);
  checkNameLength(nameLength, 'zip local header', offset);
  const rest = await reader.read(offset + LOCAL_SIZE, nameLength + extraLength, 'zip local header');
  const bytes = new Uint8Array(LOCAL_SIZE + rest.byteLength);
  bytes.set(fixed, 0);
  bytes.set(rest, LOCAL_SIZE);
  return parseLocalHeader(bytes, offset, host);
}

/**
 * The local header of a central directory entry: where its data starts (the local name and
 * extra field lengths often differ from the central ones), and whether the local name
 * agrees with the central one (a mismatch is how some archives show one name to a lister
 * and extract another).
 */
export async function readLocalHeader(reader: ByteReader, entry: ZipEntry): Promise<ZipLocalHeader & { nameMatches: boolean }> {
  const local = await readLocalHeaderAt(reader, entry.localHeaderOffset, entry.madeBy >>> 8);
  if (local.dataOffset + entry.compressedSize > (reader.size ?? Number.MAX_SAFE_INTEGER)) {
    throw fieldError('TRUNCATED', 'zip entry data', `"${entry.name}" needs ${entry.compressedSize} bytes at ${local.dataOffset}, the archive ends at ${reader.size}`, local.dataOffset);
  }
  return { ...local, nameMatches: local.name === entry.name };
}

/** Parses a data descriptor from its bytes (16 or 24 available; the optional signature is detected). */
function parseDataDescriptor(bytes: Uint8Array, zip64: boolean, offset: number): ZipDataDescriptor {
  const field = 'zip data descriptor';
  const signed = bytes.byteLength >= 4 && u32le(bytes, 0) === SIGNATURE.dataDescriptor;
  const start = signed ? 4 : 0;
  if (bytes.byteLength < start + (zip64 ? 20 : 12)) throw fieldError('TRUNCATED', field, 'the archive ends inside a data descriptor', offset);
  const crc32 = u32le(bytes, start, field);
  if (zip64) {
    return {
      crc32,
      compressedSize: safeNumber(u64le(bytes, start + 4, field), `${field}.compressed size`),
      uncompressedSize: safeNumber(u64le(bytes, start + 12, field), `${field}.uncompressed size`),
      length: start + 20,
    };
  }
  return { crc32, compressedSize: u32le(bytes, start + 4, field), uncompressedSize: u32le(bytes, start + 8, field), length: start + 12 };
}

/**
 * Reads a data descriptor at `offset`: optional signature, CRC-32, then 4-byte sizes, or
 * 8-byte sizes when `zip64` (APPNOTE 4.3.9: when the local header had a zip64 extra field).
 */
export async function readDataDescriptor(reader: ByteReader, offset: number, zip64: boolean): Promise<ZipDataDescriptor> {
  return parseDataDescriptor(await reader.readAvailable(offset, zip64 ? 24 : 16, 'zip data descriptor'), zip64, offset);
}

function concatenate(first: Uint8Array, second: Uint8Array): Uint8Array {
  if (first.byteLength === 0) return second;
  const bytes = new Uint8Array(first.byteLength + second.byteLength);
  bytes.set(first, 0);
  bytes.set(second, first.byteLength);
  return bytes;
}

/**
 * Walks a zip archive's local headers from the start, strictly in ascending order of
 * offset (no byte is asked for twice), for sources that cannot reach the central directory
 * first (a stream).
 *
 * ```ts
 * const walker = new ZipStreamWalker(reader);
 * for (let entry = await walker.next(); entry; entry = await walker.next()) {
 *   if (!entry.sizeKnown) walker.dataEndsAt(await inflateAndCount(entry.dataOffset));
 * }
 * ```
 *
 * An entry whose sizes are deferred to a data descriptor (flag bit 3) cannot be skipped
 * without decoding it: `next()` then throws `UNSUPPORTED` unless the caller reported where
 * its compressed data ended. The walk ends at the central directory (or an end record, for
 * an empty archive); anything else where a header should be is `CORRUPT`.
 */
export class ZipStreamWalker {
  private offset = 0;
  private count = 0;
  private pending: ZipLocalEntry | undefined;
  private pendingEnd: number | undefined;
  private finished = false;
  /** The bytes of the last read, which the next read may overlap (a descriptor's unused tail, a header after a probe). */
  private held: { offset: number; bytes: Uint8Array } = { offset: 0, bytes: new Uint8Array(0) };
  /** The data descriptor read after the last entry that had one, if any. */
  lastDataDescriptor: ZipDataDescriptor | undefined;
  /** The offset where the central directory (or the end record) was found, once the walk ended. */
  endOffset: number | undefined;

  constructor(private readonly reader: ByteReader) {}

  /**
   * For the entry last returned whose size was not known: its compressed data ends
   * `compressedSize` bytes after its `dataOffset` (the caller found this by decoding).
   */
  dataEndsAt(compressedSize: number): void {
    if (this.pending === undefined || this.pending.sizeKnown) {
      throw fieldError('INVALID_ARGUMENT', 'zip stream walker', 'no entry is waiting for the end of its data');
    }
    if (!Number.isSafeInteger(compressedSize) || compressedSize < 0) {
      throw fieldError('INVALID_ARGUMENT', 'zip stream walker', `${compressedSize} is not a byte count`);
    }
    this.pendingEnd = this.pending.dataOffset + compressedSize;
  }

  /** Up to `length` bytes at `offset` (fewer at the end), reusing what the last read already holds. */
  private async take(offset: number, length: number, field: string): Promise<Uint8Array> {
    const heldEnd = this.held.offset + this.held.bytes.byteLength;
    if (offset >= this.held.offset && offset + length <= heldEnd) {
      return this.held.bytes.subarray(offset - this.held.offset, offset - this.held.offset + length);
    }
    const overlap = offset >= this.held.offset && offset < heldEnd ? this.held.bytes.subarray(offset - this.held.offset) : new Uint8Array(0);
    const rest = await this.reader.readAvailable(offset + overlap.byteLength, length - overlap.byteLength, field);
    this.held = { offset, bytes: concatenate(overlap, rest) };
    return this.held.bytes;
  }

  /** The next entry, or `undefined` once the central directory is reached. */
  async next(): Promise<ZipLocalEntry | undefined> {
    if (this.finished) return undefined;
    if (this.pending !== undefined) await this.skipPending();
    const field = 'zip local header';
    let head = await this.take(this.offset, this.offset === 0 ? LOCAL_SIZE + 4 : LOCAL_SIZE, field);
    if (this.offset === 0 && head.byteLength >= 4 && (u32le(head, 0) === SIGNATURE.singleSegmentMarker || u32le(head, 0) === SIGNATURE.dataDescriptor)) {
      this.offset = 4;
      head = await this.take(4, LOCAL_SIZE, field);
    }
    if (head.byteLength < 4) throw fieldError('TRUNCATED', field, 'the archive ends where a header or the central directory should be', this.offset);
    const signature = u32le(head, 0);
    if (AFTER_LOCAL_HEADERS.has(signature)) {
      this.finished = true;
      this.endOffset = this.offset;
      return undefined;
    }
    if (signature !== SIGNATURE.localHeader) throw fieldError('CORRUPT', field, `signature 0x${signature.toString(16).padStart(8, '0')} is not a zip header`, this.offset);
    if (head.byteLength < LOCAL_SIZE) throw fieldError('TRUNCATED', field, 'the archive ends inside a local header', this.offset);
    this.count += 1;
    if (this.count > ZIP_MAX_ENTRIES) throw fieldError('LIMIT_EXCEEDED', 'zip', `more than ${ZIP_MAX_ENTRIES} entries`, this.offset);
    const fixed = head.slice(0, LOCAL_SIZE);
    const variableLength = u16le(fixed, 26) + u16le(fixed, 28);
    checkNameLength(u16le(fixed, 26), field, this.offset);
    const variable = await this.take(this.offset + LOCAL_SIZE, variableLength, field);
    if (variable.byteLength < variableLength) throw fieldError('TRUNCATED', field, 'the archive ends inside a local header', this.offset);
    const header = parseLocalHeader(concatenate(fixed, variable), this.offset);
    const deferred = header.hasDataDescriptor && header.compressedSize === 0 && !(await this.storedSizeKnown(header));
    const entry: ZipLocalEntry = { ...header, sizeKnown: !deferred };
    if (header.hasDataDescriptor && header.method === 0 && !deferred) entry.compressedSize = header.uncompressedSize;
    this.pending = entry;
    this.pendingEnd = deferred ? undefined : header.dataOffset + entry.compressedSize;
    return entry;
  }

  /**
   * APPNOTE 4.4.4: with bit 3 the local sizes are zero. Info-ZIP streaming still fills the
   * uncompressed size, which for a stored entry is its compressed size too; and an empty
   * stored entry shows as a descriptor signature right where its data would start.
   */
  private async storedSizeKnown(header: ZipLocalHeader): Promise<boolean> {
    if (header.method !== 0) return false;
    if (header.uncompressedSize > 0) return true;
    const next = await this.take(header.dataOffset, 16, 'zip data descriptor');
    return next.byteLength >= 16 && u32le(next, 0) === SIGNATURE.dataDescriptor && u32le(next, 8) === 0;
  }

  private async skipPending(): Promise<void> {
    const entry = this.pending as ZipLocalEntry;
    if (this.pendingEnd === undefined) {
      throw fieldError(
        'UNSUPPORTED',
        'zip local header',
        `"${entry.name}" defers its sizes to a data descriptor: its data must be decoded to find the next entry`,
        entry.offset,
      );
    }
    let next = this.pendingEnd;
    if (entry.hasDataDescriptor) {
      const descriptor = parseDataDescriptor(await this.take(next, entry.zip64 ? 24 : 16, 'zip data descriptor'), entry.zip64, next);
      if (descriptor.compressedSize !== this.pendingEnd - entry.dataOffset) {
        throw fieldError('CORRUPT', 'zip data descriptor', `says ${descriptor.compressedSize} compressed bytes, the data took ${this.pendingEnd - entry.dataOffset}`, next);
      }
      this.lastDataDescriptor = descriptor;
      next += descriptor.length;
    }
    this.offset = next;
    this.pending = undefined;
    this.pendingEnd = undefined;
  }
}
