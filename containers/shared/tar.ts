/**
 * Tar archives: one header parser and one entry walker for the formats that real tools
 * write (POSIX ustar and pax, GNU, old v7), reading headers in ascending order through a
 * {@link ByteReader}, so that the same walk works forward-only on a stream and by random
 * access on a file.
 *
 * Header block (512 bytes; POSIX.1-2017 `pax` "ustar Interchange Format", GNU tar's
 * `tar.h`):
 *
 * | offset | size | ustar / pax | GNU (`ustar␠␠\0`) |
 * | --- | --- | --- | --- |
 * | 0 | 100 | name | name |
 * | 100 | 8 | mode (octal) | mode |
 * | 108 | 8 | uid (octal) | uid (octal or base-256) |
 * | 116 | 8 | gid | gid |
 * | 124 | 12 | size (octal) | size (octal or base-256) |
 * | 136 | 12 | mtime (octal, seconds since 1970) | mtime (octal or base-256) |
 * | 148 | 8 | checksum (octal sum of the header, this field as spaces) | same |
 * | 156 | 1 | typeflag | typeflag |
 * | 157 | 100 | linkname | linkname |
 * | 257 | 6 | magic `ustar\0` | magic `ustar␠` |
 * | 263 | 2 | version `00` | version `␠\0` |
 * | 265 | 32 | uname | uname |
 * | 297 | 32 | gname | gname |
 * | 329 | 8 | devmajor | devmajor |
 * | 337 | 8 | devminor | devminor |
 * | 345 | 155 | prefix (joined to name with `/`) | atime 345, ctime 357, offset 369, sparse map 386 (4 × 24), isextended 482, realsize 483 |
 *
 * What the walker resolves, as GNU tar 1.34 does: pax extended headers (`x`, applying to
 * the next entry) over pax global headers (`g`, applying to all later entries) over GNU
 * long names and links (`L`, `K`) over the header's own fields; GNU base-256 numbers;
 * the checksum as an unsigned or a signed byte sum (GNU tar accepts either, `tar_checksum`
 * in list.c); the end of the archive at the first zero block or at the end of the data;
 * GNU sparse files (old GNU `S` headers and pax sparse formats 0.0, 0.1 and 1.0) with their
 * maps. A bad checksum is `CORRUPT`; an archive cut inside a header or a member's data is
 * `TRUNCATED`.
 *
 * @module
 */
import { bytesEqual, cutAtNul, isAllZero, safeNumber, utf8Text } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import type { ByteReader } from '../../src/format-module.js';

/** Tar's unit: every header and every member's data start on a 512-byte block. */
export const TAR_BLOCK_SIZE = 512;

/**
 * The largest pax extended header or GNU long name/link member read into memory: 1 MiB.
 * Real ones hold a few paths and times (GNU tar writes well under 1 KiB); the size is read
 * from the archive, so it is capped before the read.
 */
export const TAR_MAX_EXTENDED_HEADER_BYTES = 1024 * 1024;

/**
 * The longest path or link target accepted from a pax record or a GNU long name: 16 KiB,
 * four times Linux's PATH_MAX (4096), which no extracting tool could create anyway.
 */
export const TAR_MAX_NAME_BYTES = 16 * 1024;

/** The most records one pax header may hold: 4096 (GNU tar writes fewer than 20). */
export const TAR_MAX_PAX_RECORDS = 4096;

/**
 * The most headers (entries and the pax/long-name headers before them) one walk reads:
 * 1,000,000. Every header takes at least 512 bytes, so the walk is already bounded by the
 * bytes present; this cap bounds the time a caller spends on an archive of tiny members.
 */
export const TAR_MAX_HEADERS = 1_000_000;

/** The most regions a sparse member's map may list: 65,536 (each costs an object in the result). */
export const TAR_MAX_SPARSE_REGIONS = 65_536;

/** What an entry is (from its typeflag; pax and GNU meta headers are never entries). */
export type TarEntryType =
  | 'file'
  | 'hardlink'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'directory'
  | 'fifo'
  | 'volume-label'
  | 'other';

/** Which header layout an entry came in. */
export type TarHeaderFormat = 'v7' | 'ustar' | 'gnu' | 'pax';

/** One data region of a sparse member: `length` bytes of the file at `offset`, stored in order. */
export interface TarSparseRegion {
  offset: number;
  length: number;
}

/**
 * One archive member, with pax, GNU long-name and global values already applied.
 *
 * | field | meaning |
 * | --- | --- |
 * | `name` | the path as stored (pax `path` > GNU long name > ustar `prefix/name` > `name`) |
 * | `type`, `typeFlag` | what it is, and the raw typeflag character (`'0'`, `'5'`, `'S'`...; `''` for NUL) |
 * | `size` | the file's length (a sparse file's full length) |
 * | `storedSize` | bytes of data in the archive after `dataOffset` (a sparse file's regions only; 0 for links, directories and devices) |
 * | `mode` | permission bits and set-id bits (the header's 12 low bits) |
 * | `mtime` | modification time, ISO 8601 UTC (pax fractions kept to the millisecond); absent when out of range |
 * | `uid`, `gid`, `uname`, `gname` | owner |
 * | `linkName` | target of a symlink or hardlink (`''` otherwise) |
 * | `headerOffset` | where this member's first header starts (its pax or long-name header, if any) |
 * | `dataOffset` | where its data starts |
 * | `format` | the header layout: `pax` when pax records applied |
 * | `sparse` | a sparse member's map (file offsets of the stored regions, in order) |
 */
export interface TarEntry {
  name: string;
  type: TarEntryType;
  typeFlag: string;
  size: number;
  storedSize: number;
  mode: number;
  mtime?: string;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  linkName: string;
  headerOffset: number;
  dataOffset: number;
  format: TarHeaderFormat;
  sparse?: { regions: TarSparseRegion[] };
}

/** The fields of one 512-byte header, as stored (before pax and long names apply). */
export interface TarHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since 1970 (negative before). */
  mtime: number;
  typeFlag: string;
  linkName: string;
  format: 'v7' | 'ustar' | 'gnu';
  uname: string;
  gname: string;
  /** The ustar prefix (`''` for GNU and v7 headers, which keep other fields there). */
  prefix: string;
  /** GNU sparse (`S`) headers: the full file length and the first (up to 4) map entries. */
  gnuSparse?: { realSize: number; regions: TarSparseRegion[]; extended: boolean };
}

const MAGIC_OFFSET = 257;
const CHECKSUM_OFFSET = 148;
const CHECKSUM_LENGTH = 8;
const USTAR_MAGIC = 'ustar\0';
const GNU_MAGIC = 'ustar ';

/** True for a block of 512 zero bytes (an end-of-archive marker). */
export function isZeroBlock(block: Uint8Array): boolean {
  return block.byteLength >= TAR_BLOCK_SIZE && isAllZero(block.subarray(0, TAR_BLOCK_SIZE));
}

/** The unsigned and signed byte sums of a header, its checksum field counted as eight spaces. */
function checksums(block: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let index = 0; index < TAR_BLOCK_SIZE; index += 1) {
    const byte = index >= CHECKSUM_OFFSET && index < CHECKSUM_OFFSET + CHECKSUM_LENGTH ? 0x20 : (block[index] as number);
    unsigned += byte;
    signed += byte >= 0x80 ? byte - 0x100 : byte;
  }
  return { unsigned, signed };
}

/**
 * A numeric header field: octal text (leading spaces, then digits, then spaces or NULs), or
 * GNU's base-256 (first byte 0x80 for positive, 0xff for negative two's complement).
 * `undefined` for a field that is all spaces or NULs.
 */
/**
 * A numeric field read without raising: its value (`undefined` for a field of no digits),
 * or the byte that makes it not a number. Base-256 (GNU tar `from_header`: bit 7 set, bit 6
 * the sign of a two's complement number), else spaces, octal digits, then NULs or spaces.
 */
function scanNumericField(block: Uint8Array, offset: number, length: number): { value: bigint | undefined } | { bad: number } {
  const first = block[offset] as number;
  if (first & 0x80) {
    let value = BigInt(first & 0x3f) - (first & 0x40 ? 64n : 0n);
    for (let index = 1; index < length; index += 1) value = (value << 8n) | BigInt(block[offset + index] as number);
    return { value };
  }
  let index = 0;
  while (index < length && block[offset + index] === 0x20) index += 1;
  let value = 0n;
  let digits = 0;
  for (; index < length; index += 1) {
    const byte = block[offset + index] as number;
    if (byte < 0x30 || byte > 0x37) break;
    value = (value << 3n) | BigInt(byte - 0x30);
    digits += 1;
  }
  for (; index < length; index += 1) {
    const byte = block[offset + index] as number;
    if (byte !== 0 && byte !== 0x20) return { bad: byte };
  }
  return { value: digits === 0 ? undefined : value };
}

function numericField(block: Uint8Array, offset: number, length: number, field: string, headerOffset: number): bigint | undefined {
  const scanned = scanNumericField(block, offset, length);
  if ('bad' in scanned) throw fieldError('CORRUPT', `tar header.${field}`, `"${String.fromCharCode(scanned.bad)}" in an octal number`, headerOffset + offset);
  return scanned.value;
}

function smallNumber(block: Uint8Array, offset: number, length: number, field: string, headerOffset: number): number {
  const value = numericField(block, offset, length, field, headerOffset) ?? 0n;
  if (value < 0n) throw fieldError('CORRUPT', `tar header.${field}`, `negative value ${value}`, headerOffset + offset);
  return safeNumber(value, `tar header.${field}`);
}

function signedNumber(block: Uint8Array, offset: number, length: number, field: string, headerOffset: number): number {
  const value = numericField(block, offset, length, field, headerOffset) ?? 0n;
  const limit = BigInt(Number.MAX_SAFE_INTEGER);
  if (value > limit || value < -limit) throw fieldError('CORRUPT', `tar header.${field}`, `${value} is out of range`, headerOffset + offset);
  return Number(value);
}

function text(block: Uint8Array, offset: number, length: number): string {
  return cutAtNul(utf8Text(block.subarray(offset, offset + length)));
}

function headerFormat(block: Uint8Array): 'v7' | 'ustar' | 'gnu' {
  if (bytesEqual(block, MAGIC_OFFSET, USTAR_MAGIC)) return 'ustar';
  if (bytesEqual(block, MAGIC_OFFSET, GNU_MAGIC)) return 'gnu';
  return 'v7';
}

/**
 * True when the checksum field holds the header's unsigned or signed byte sum. A field
 * with no digits is never valid (so a zero block is not a header).
 */
export function tarChecksumValid(block: Uint8Array): boolean {
  if (block.byteLength < TAR_BLOCK_SIZE) return false;
  // Every image's first block is tested here: a field that is not a number is answered
  // without raising (an error costs more than the whole test).
  const scanned = scanNumericField(block, CHECKSUM_OFFSET, CHECKSUM_LENGTH);
  if ('bad' in scanned || scanned.value === undefined) return false;
  const stored = scanned.value;
  const { unsigned, signed } = checksums(block);
  return stored === BigInt(unsigned) || stored === BigInt(signed);
}

/**
 * Reads one 512-byte header. Throws `CORRUPT` when its checksum matches neither sum or a
 * numeric field is not a number; `headerOffset` only places errors.
 */
export function parseTarHeader(block: Uint8Array, headerOffset = 0): TarHeader {
  if (block.byteLength < TAR_BLOCK_SIZE) {
    throw fieldError('TRUNCATED', 'tar header', `needs ${TAR_BLOCK_SIZE} bytes, has ${block.byteLength}`, headerOffset);
  }
  if (!tarChecksumValid(block)) {
    const { unsigned } = checksums(block);
    throw fieldError('CORRUPT', 'tar header.checksum', `does not match the header (its byte sum is ${unsigned.toString(8)} octal)`, headerOffset + CHECKSUM_OFFSET);
  }
  const format = headerFormat(block);
  const typeByte = block[156] as number;
  const header: TarHeader = {
    name: text(block, 0, 100),
    mode: smallNumber(block, 100, 8, 'mode', headerOffset) & 0o7777,
    uid: smallNumber(block, 108, 8, 'uid', headerOffset),
    gid: smallNumber(block, 116, 8, 'gid', headerOffset),
    size: smallNumber(block, 124, 12, 'size', headerOffset),
    mtime: signedNumber(block, 136, 12, 'mtime', headerOffset),
    typeFlag: typeByte === 0 ? '' : String.fromCharCode(typeByte),
    linkName: text(block, 157, 100),
    format,
    uname: format === 'v7' ? '' : text(block, 265, 32),
    gname: format === 'v7' ? '' : text(block, 297, 32),
    prefix: format === 'ustar' ? text(block, 345, 155) : '',
  };
  if (format === 'gnu' && header.typeFlag === 'S') {
    header.gnuSparse = {
      realSize: smallNumber(block, 483, 12, 'realsize', headerOffset),
      regions: sparseRegions(block, 386, 4, headerOffset),
      extended: block[482] !== 0,
    };
  }
  return header;
}

/** Up to `count` (offset, numbytes) pairs of 12-byte numbers at `offset`, stopping at an empty one. */
function sparseRegions(block: Uint8Array, offset: number, count: number, headerOffset: number): TarSparseRegion[] {
  const regions: TarSparseRegion[] = [];
  for (let index = 0; index < count; index += 1) {
    const at = offset + index * 24;
    const start = numericField(block, at, 12, 'sparse.offset', headerOffset);
    const length = numericField(block, at + 12, 12, 'sparse.numbytes', headerOffset);
    if (start === undefined || length === undefined) break;
    if (start < 0n || length < 0n) throw fieldError('CORRUPT', 'tar header.sparse', 'negative region', headerOffset + at);
    regions.push({ offset: safeNumber(start, 'tar header.sparse.offset'), length: safeNumber(length, 'tar header.sparse.numbytes') });
  }
  return regions;
}

/**
 * True when `head` starts with a tar header: the `ustar` magic at 257 (POSIX or GNU), or
 * an old v7 header with a valid checksum and a name. Needs the first 512 bytes. A zero
 * block is not a tar (an empty archive is indistinguishable from a zeroed disk).
 */
export function detectTar(head: Uint8Array): boolean {
  if (head.byteLength < TAR_BLOCK_SIZE || isZeroBlock(head)) return false;
  if (bytesEqual(head, MAGIC_OFFSET, 'ustar')) return true;
  if (!tarChecksumValid(head) || head[0] === 0) return false;
  // v7: the numeric fields must be numbers (a random block with a matching sum is rare, this makes it rarer).
  try {
    parseTarHeader(head);
    return true;
  } catch {
    return false;
  }
}

const TYPES: Readonly<Record<string, TarEntryType>> = {
  '': 'file',
  '0': 'file',
  '7': 'file', // contiguous file: a regular file everywhere but on Masscomp
  S: 'file', // GNU sparse
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  D: 'directory', // GNU dumpdir: a directory whose data lists its contents
  '6': 'fifo',
  V: 'volume-label',
};

/** POSIX: "No data logical records are stored for types 1, 2, or 5", nor for 3, 4 and 6. */
const NO_DATA = new Set(['1', '2', '3', '4', '5', '6']);

function entryType(typeFlag: string, name: string, format: TarHeaderFormat): TarEntryType {
  // Old v7 tar marked directories only by a trailing slash on a regular-file entry.
  if ((typeFlag === '' || typeFlag === '0') && name.endsWith('/') && format !== 'pax') return 'directory';
  return TYPES[typeFlag] ?? 'other';
}

/** Seconds since 1970 as ISO 8601 UTC, or `undefined` outside what `Date` represents. */
export function isoTime(seconds: number): string | undefined {
  return isoFromMilliseconds(seconds * 1000);
}

function isoFromMilliseconds(milliseconds: number): string | undefined {
  if (!Number.isFinite(milliseconds) || Math.abs(milliseconds) > 8.64e15) return undefined;
  return new Date(milliseconds).toISOString();
}

/**
 * A pax `mtime` ("1612325106.789222846") in whole milliseconds, the fraction cut rather
 * than rounded (as `tar --full-time` prints it), computed from the digits so that no
 * floating-point error moves it across a millisecond.
 */
function paxMilliseconds(value: string, offset: number): number {
  const match = /^(-?)([0-9]{1,15})(?:\.([0-9]+))?$/.exec(value);
  if (match === null) throw fieldError('CORRUPT', 'tar pax header.mtime', `"${value.slice(0, 40)}" is not a time`, offset);
  const whole = Number(match[2]) * 1000 + Number((match[3] ?? '').slice(0, 3).padEnd(3, '0'));
  return match[1] === '-' ? -whole : whole;
}

function roundUpToBlock(value: number): number {
  return Math.ceil(value / TAR_BLOCK_SIZE) * TAR_BLOCK_SIZE;
}

/** Pax records by key; repeated keys (the GNU sparse 0.0 map) also kept in order. */
interface PaxRecords {
  values: Map<string, string>;
  sparse00: Array<[key: string, value: string]>;
}

/**
 * Parses pax records: `"%d %s=%s\n"`, the decimal length counting the whole record
 * (POSIX pax, "pax Extended Header"). Malformed records are `CORRUPT`, as GNU tar rejects
 * them ("Malformed extended header").
 */
export function parsePaxRecords(data: Uint8Array, offset: number): PaxRecords {
  const records: PaxRecords = { values: new Map(), sparse00: [] };
  let position = 0;
  let count = 0;
  while (position < data.byteLength) {
    // Trailing NUL padding ends the records (some writers pad the header data).
    if (data[position] === 0) break;
    count += 1;
    if (count > TAR_MAX_PAX_RECORDS) throw fieldError('LIMIT_EXCEEDED', 'tar pax header', `more than ${TAR_MAX_PAX_RECORDS} records`, offset);
    let length = 0;
    let cursor = position;
    while (cursor < data.byteLength && (data[cursor] as number) >= 0x30 && (data[cursor] as number) <= 0x39 && cursor - position < 12) {
      length = length * 10 + ((data[cursor] as number) - 0x30);
      cursor += 1;
    }
    if (cursor === position || data[cursor] !== 0x20) {
      throw fieldError('CORRUPT', 'tar pax header', 'a record does not start with its length and a space', offset + position);
    }
    const end = position + length;
    if (length <= cursor - position + 1 || end > data.byteLength || data[end - 1] !== 0x0a) {
      throw fieldError('CORRUPT', 'tar pax header', `record length ${length} does not end at a newline`, offset + position);
    }
    const record = utf8Text(data.subarray(cursor + 1, end - 1));
    const equals = record.indexOf('=');
    if (equals <= 0) throw fieldError('CORRUPT', 'tar pax header', 'a record has no "key="', offset + position);
    const key = record.slice(0, equals);
    const value = record.slice(equals + 1);
    if ((key === 'path' || key === 'linkpath' || key === 'GNU.sparse.name') && value.length > TAR_MAX_NAME_BYTES) {
      throw fieldError('LIMIT_EXCEEDED', `tar pax header.${key}`, `longer than ${TAR_MAX_NAME_BYTES} bytes`, offset + position);
    }
    if (key === 'GNU.sparse.offset' || key === 'GNU.sparse.numbytes') records.sparse00.push([key, value]);
    records.values.set(key, value);
    position = end;
  }
  return records;
}

function paxNumber(value: string, key: string, offset: number): number {
  if (!/^[0-9]+$/.test(value)) throw fieldError('CORRUPT', `tar pax header.${key}`, `"${value.slice(0, 40)}" is not a number`, offset);
  const number = Number(value);
  if (!Number.isFinite(number) || Math.abs(number) > Number.MAX_SAFE_INTEGER) {
    throw fieldError('CORRUPT', `tar pax header.${key}`, `${value.slice(0, 40)} is out of range`, offset);
  }
  return number;
}

/** Reads and checks one GNU sparse map given as numbers (pax 0.1 `GNU.sparse.map`, pax 1.0 data). */
function regionsFromNumbers(numbers: number[], field: string, offset: number): TarSparseRegion[] {
  if (numbers.length % 2 !== 0) throw fieldError('CORRUPT', field, 'an odd count of offsets and sizes', offset);
  if (numbers.length / 2 > TAR_MAX_SPARSE_REGIONS) throw fieldError('LIMIT_EXCEEDED', field, `more than ${TAR_MAX_SPARSE_REGIONS} regions`, offset);
  const regions: TarSparseRegion[] = [];
  for (let index = 0; index < numbers.length; index += 2) regions.push({ offset: numbers[index] as number, length: numbers[index + 1] as number });
  return regions;
}

interface WalkState {
  offset: number;
  headers: number;
  global: Map<string, string>;
}

/** Reads a meta header's data (pax, long name): `size` bytes after the header, capped. */
async function readMetaData(reader: ByteReader, header: TarHeader, offset: number, what: string): Promise<Uint8Array> {
  if (header.size > TAR_MAX_EXTENDED_HEADER_BYTES) {
    throw fieldError('LIMIT_EXCEEDED', what, `${header.size} bytes is above the ${TAR_MAX_EXTENDED_HEADER_BYTES}-byte cap`, offset);
  }
  return reader.read(offset + TAR_BLOCK_SIZE, header.size, what);
}

/**
 * The pax 1.0 sparse map at the start of a member's data: decimal lines (count, then
 * offset and size pairs), padded to a block. Returns the regions and the map's length in
 * bytes (whole blocks).
 */
async function readPax10SparseMap(reader: ByteReader, dataOffset: number, storedSize: number): Promise<{ regions: TarSparseRegion[]; mapBytes: number }> {
  const numbers: number[] = [];
  let expected: number | undefined;
  let line = '';
  let consumed = 0;
  while (expected === undefined || numbers.length < expected * 2) {
    if (consumed >= storedSize) throw fieldError('CORRUPT', 'tar sparse map', 'ends before its regions', dataOffset);
    const block = await reader.read(dataOffset + consumed, TAR_BLOCK_SIZE, 'tar sparse map');
    consumed += TAR_BLOCK_SIZE;
    for (const byte of block) {
      if (expected !== undefined && numbers.length >= expected * 2) break;
      if (byte === 0x0a) {
        if (!/^[0-9]+$/.test(line)) throw fieldError('CORRUPT', 'tar sparse map', `"${line.slice(0, 20)}" is not a number`, dataOffset);
        const number = Number(line);
        if (!Number.isSafeInteger(number)) throw fieldError('CORRUPT', 'tar sparse map', `${line.slice(0, 24)} is out of range`, dataOffset);
        if (expected === undefined) {
          if (number > TAR_MAX_SPARSE_REGIONS) throw fieldError('LIMIT_EXCEEDED', 'tar sparse map', `more than ${TAR_MAX_SPARSE_REGIONS} regions`, dataOffset);
          expected = number;
        } else {
          numbers.push(number);
        }
        line = '';
      } else {
        if (line.length > 20) throw fieldError('CORRUPT', 'tar sparse map', 'a number longer than 20 digits', dataOffset);
        line += String.fromCharCode(byte);
      }
    }
  }
  return { regions: regionsFromNumbers(numbers, 'tar sparse map', dataOffset), mapBytes: consumed };
}

/** Reads old GNU sparse extension blocks (21 regions each) after an `S` header. */
async function readGnuSparseExtensions(reader: ByteReader, header: TarHeader, headerOffset: number): Promise<{ regions: TarSparseRegion[]; blocks: number }> {
  const sparse = header.gnuSparse as NonNullable<TarHeader['gnuSparse']>;
  const regions = [...sparse.regions];
  let extended = sparse.extended;
  let blocks = 0;
  while (extended) {
    const at = headerOffset + TAR_BLOCK_SIZE * (blocks + 1);
    const block = await reader.read(at, TAR_BLOCK_SIZE, 'tar sparse header');
    blocks += 1;
    for (const region of sparseRegions(block, 0, 21, at)) regions.push(region);
    if (regions.length > TAR_MAX_SPARSE_REGIONS) throw fieldError('LIMIT_EXCEEDED', 'tar sparse header', `more than ${TAR_MAX_SPARSE_REGIONS} regions`, at);
    extended = block[504] !== 0;
  }
  return { regions, blocks };
}

/**
 * The members of a tar archive, in order, read header by header in ascending order of
 * offset (on a stream, a member's data is skipped without being kept). The walk ends at
 * the first zero block (as GNU tar does) or where the data ends on a block boundary;
 * stopping early (`break`) reads nothing more.
 *
 * Throws `CORRUPT` for a header whose checksum does not match or a malformed pax record,
 * `TRUNCATED` when the archive ends inside a header or inside a member that was passed
 * (GNU tar's "Unexpected EOF in archive"), `LIMIT_EXCEEDED` past the caps above.
 */
export async function* walkTar(reader: ByteReader): AsyncGenerator<TarEntry, void, undefined> {
  const state: WalkState = { offset: 0, headers: 0, global: new Map() };
  let local: PaxRecords | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  let entryStart: number | undefined;
  for (;;) {
    const offset = state.offset;
    state.headers += 1;
    if (state.headers > TAR_MAX_HEADERS) throw fieldError('LIMIT_EXCEEDED', 'tar', `more than ${TAR_MAX_HEADERS} headers`, offset);
    const block = await reader.readAvailable(offset, TAR_BLOCK_SIZE, 'tar header');
    if (block.byteLength === 0) {
      // The data ended on a block boundary: the end, unless it ended inside what was passed.
      if (reader.size !== undefined && reader.size < offset) {
        throw fieldError('TRUNCATED', 'tar', `the archive ends at ${reader.size}, inside the member before ${offset}`, reader.size);
      }
      if (entryStart !== undefined) throw fieldError('TRUNCATED', 'tar', 'the archive ends after an extended header, before its member', offset);
      return;
    }
    if (block.byteLength < TAR_BLOCK_SIZE) {
      throw fieldError('TRUNCATED', 'tar header', `the archive ends ${block.byteLength} bytes into a header`, offset);
    }
    if (isZeroBlock(block)) {
      if (entryStart !== undefined) throw fieldError('CORRUPT', 'tar', 'an end-of-archive block follows an extended header', offset);
      return;
    }
    const header = parseTarHeader(block, offset);
    entryStart ??= offset;
    switch (header.typeFlag) {
      case 'x':
        local = parsePaxRecords(await readMetaData(reader, header, offset, 'tar pax header'), offset + TAR_BLOCK_SIZE);
        state.offset = offset + TAR_BLOCK_SIZE + roundUpToBlock(header.size);
        continue;
      case 'g': {
        const records = parsePaxRecords(await readMetaData(reader, header, offset, 'tar pax global header'), offset + TAR_BLOCK_SIZE);
        for (const [key, value] of records.values) {
          if (value === '') state.global.delete(key);
          else state.global.set(key, value);
        }
        state.offset = offset + TAR_BLOCK_SIZE + roundUpToBlock(header.size);
        // A global header is not part of the next member.
        entryStart = undefined;
        continue;
      }
      case 'L':
      case 'K': {
        const what = header.typeFlag === 'L' ? 'tar GNU long name' : 'tar GNU long link';
        if (header.size > TAR_MAX_NAME_BYTES) throw fieldError('LIMIT_EXCEEDED', what, `${header.size} bytes is above the ${TAR_MAX_NAME_BYTES}-byte cap`, offset);
        const value = cutAtNul(utf8Text(await readMetaData(reader, header, offset, what)));
        if (header.typeFlag === 'L') longName = value;
        else longLink = value;
        state.offset = offset + TAR_BLOCK_SIZE + roundUpToBlock(header.size);
        continue;
      }
      default:
        break;
    }
    const entry = await buildEntry(reader, header, offset, entryStart, state.global, local, longName, longLink);
    local = undefined;
    longName = undefined;
    longLink = undefined;
    entryStart = undefined;
    state.offset = entry.dataOffset + roundUpToBlock(entry.storedSize);
    yield entry;
  }
}

async function buildEntry(
  reader: ByteReader,
  header: TarHeader,
  offset: number,
  entryStart: number,
  global: Map<string, string>,
  local: PaxRecords | undefined,
  longName: string | undefined,
  longLink: string | undefined,
): Promise<TarEntry> {
  // Local pax records override global ones; an empty local value restores the header's.
  const pax = new Map(global);
  for (const [key, value] of local?.values ?? []) {
    if (value === '') pax.delete(key);
    else pax.set(key, value);
  }
  const paxAt = offset;
  const headerName = header.prefix === '' ? header.name : `${header.prefix}/${header.name}`;
  const format: TarHeaderFormat = pax.size > 0 ? 'pax' : header.format;
  let name = pax.get('path') ?? longName ?? headerName;
  const linkName = pax.get('linkpath') ?? longLink ?? header.linkName;
  const headerSize = pax.has('size') ? paxNumber(pax.get('size') as string, 'size', paxAt) : header.size;
  const mtimeMilliseconds = pax.has('mtime') ? paxMilliseconds(pax.get('mtime') as string, paxAt) : header.mtime * 1000;
  const noData = NO_DATA.has(header.typeFlag);
  let storedSize = noData ? 0 : headerSize;
  let size = headerSize;
  let dataOffset = offset + TAR_BLOCK_SIZE;
  let sparse: { regions: TarSparseRegion[] } | undefined;

  if (header.gnuSparse !== undefined) {
    const { regions, blocks } = await readGnuSparseExtensions(reader, header, offset);
    dataOffset += blocks * TAR_BLOCK_SIZE;
    size = header.gnuSparse.realSize;
    sparse = { regions };
  } else if (pax.has('GNU.sparse.major') || pax.has('GNU.sparse.map') || local?.sparse00.length) {
    name = pax.get('GNU.sparse.name') ?? name;
    const realSize = pax.get('GNU.sparse.realsize') ?? pax.get('GNU.sparse.size');
    if (realSize !== undefined) size = paxNumber(realSize, 'GNU.sparse.realsize', paxAt);
    if (pax.get('GNU.sparse.major') === '1') {
      const map = await readPax10SparseMap(reader, dataOffset, storedSize);
      dataOffset += map.mapBytes;
      storedSize -= map.mapBytes;
      sparse = { regions: map.regions };
    } else if (pax.has('GNU.sparse.map')) {
      const numbers = (pax.get('GNU.sparse.map') as string).split(',').map((part) => paxNumber(part, 'GNU.sparse.map', paxAt));
      sparse = { regions: regionsFromNumbers(numbers, 'tar pax header.GNU.sparse.map', paxAt) };
    } else {
      sparse = { regions: regionsFromNumbers(local?.sparse00.map(([key, value]) => paxNumber(value, key, paxAt)) ?? [], 'tar pax header.GNU.sparse', paxAt) };
    }
  }
  if (name.length > TAR_MAX_NAME_BYTES) throw fieldError('LIMIT_EXCEEDED', 'tar name', `longer than ${TAR_MAX_NAME_BYTES} bytes`, offset);
  if (!Number.isSafeInteger(dataOffset + storedSize) || storedSize < 0) {
    throw fieldError('CORRUPT', 'tar header.size', `a member of ${storedSize} bytes at ${dataOffset} is out of range`, offset);
  }
  const entry: TarEntry = {
    name,
    type: entryType(header.typeFlag, name, format),
    typeFlag: header.typeFlag,
    size,
    storedSize,
    mode: header.mode,
    uid: pax.has('uid') ? paxNumber(pax.get('uid') as string, 'uid', paxAt) : header.uid,
    gid: pax.has('gid') ? paxNumber(pax.get('gid') as string, 'gid', paxAt) : header.gid,
    uname: pax.get('uname') ?? header.uname,
    gname: pax.get('gname') ?? header.gname,
    linkName,
    headerOffset: entryStart,
    dataOffset,
    format,
  };
  const iso = isoFromMilliseconds(mtimeMilliseconds);
  if (iso !== undefined) entry.mtime = iso;
  if (sparse !== undefined) entry.sparse = sparse;
  return entry;
}
