/**
 * Small helpers for reading integers, text and GUIDs out of `Uint8Array`s, with
 * nothing but `DataView` and `TextDecoder` (so they run in browsers unchanged).
 *
 * Every reader throws {@link IntrospectionError} `TRUNCATED` rather than a `RangeError`
 * when the bytes are too short.
 *
 * @module
 */
import { IntrospectionError, fieldError } from './errors.js';

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function need(bytes: Uint8Array, offset: number, length: number, field: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + length > bytes.byteLength) {
    throw fieldError('TRUNCATED', field, `needs ${length} bytes at offset ${offset}, but only ${bytes.byteLength} are available`);
  }
}

/**
 * Throws `TRUNCATED` naming `field` ("needs 48 bytes, got 20") when `bytes` is shorter than
 * `size`: how the generated layout decoders (formats/generated) refuse a short structure.
 */
export function requireLength(bytes: Uint8Array, size: number, field: string): void {
  if (bytes.byteLength < size) throw fieldError('TRUNCATED', field, `needs ${size} bytes, got ${bytes.byteLength}`);
}

/**
 * `bytes` if it holds at least `size` bytes, else a copy zero-padded to `size`: a layout with
 * conditional fields is decoded at its largest size, then its decoder checks that the fields
 * present were all in `bytes`.
 */
export function zeroPadded(bytes: Uint8Array, size: number): Uint8Array {
  if (bytes.byteLength >= size) return bytes;
  const padded = new Uint8Array(size);
  padded.set(bytes);
  return padded;
}

/**
 * A reader of one integer type: `size` bytes at `offset` through `get`, or `TRUNCATED` naming
 * `field` (by default the type's name) when they are not all there.
 */
function integerReader<T extends number | bigint>(
  size: number,
  defaultField: string,
  get: (view: DataView, offset: number) => T,
): (bytes: Uint8Array, offset: number, field?: string) => T {
  return (bytes, offset, field = defaultField) => {
    need(bytes, offset, size, field);
    return get(view(bytes), offset);
  };
}

/** Unsigned 8-bit integer. */
export const u8 = integerReader(1, 'u8', (data, offset) => data.getUint8(offset));

/** Unsigned 16-bit little-endian integer. */
export const u16le = integerReader(2, 'u16', (data, offset) => data.getUint16(offset, true));

/** Unsigned 16-bit big-endian integer. */
export const u16be = integerReader(2, 'u16', (data, offset) => data.getUint16(offset, false));

/** Unsigned 32-bit little-endian integer. */
export const u32le = integerReader(4, 'u32', (data, offset) => data.getUint32(offset, true));

/** Unsigned 32-bit big-endian integer. */
export const u32be = integerReader(4, 'u32', (data, offset) => data.getUint32(offset, false));

/** Signed 32-bit little-endian integer. */
export const i32le = integerReader(4, 'i32', (data, offset) => data.getInt32(offset, true));

/** Unsigned 64-bit little-endian integer, as a `bigint` (64-bit fields can exceed 2^53). */
export const u64le = integerReader(8, 'u64', (data, offset) => data.getBigUint64(offset, true));

/** Unsigned 64-bit big-endian integer, as a `bigint`. */
export const u64be = integerReader(8, 'u64', (data, offset) => data.getBigUint64(offset, false));

/**
 * Converts a 64-bit value read from an image to a `number`, or throws `CORRUPT`
 * naming the field when it cannot be an exact byte count or offset (above 2^53 - 1).
 */
export function safeNumber(value: bigint, field: string, format?: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new IntrospectionError('CORRUPT', `${value} is too large to be a byte count or offset`, { field, format });
  }
  return Number(value);
}

/** `0x`-prefixed lower-case hexadecimal, zero-padded to `digits`. Used for 64-bit bit masks in results. */
export function hex(value: bigint | number, digits = 0): string {
  return `0x${value.toString(16).padStart(digits, '0')}`;
}

/** The positions of the bits set in a 64-bit mask, lowest first. */
export function bitsSet(mask: bigint): number[] {
  const bits: number[] = [];
  for (let bit = 0; bit < 64; bit += 1) {
    if ((mask >> BigInt(bit)) & 1n) bits.push(bit);
  }
  return bits;
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');
const utf16le = new TextDecoder('utf-16le');

/** Bytes as Latin-1 text (every byte maps to one character, so nothing is lost). */
export function latin1Text(bytes: Uint8Array): string {
  return latin1.decode(bytes);
}

/** Bytes as UTF-8 text; invalid sequences become U+FFFD. */
export function utf8Text(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** UTF-16 little-endian text. An odd trailing byte is ignored. */
export function utf16leText(bytes: Uint8Array): string {
  return utf16le.decode(bytes.subarray(0, bytes.byteLength & ~1));
}

/** UTF-16 big-endian text, decoded by hand (not every `TextDecoder` knows `utf-16be`). */
export function utf16beText(bytes: Uint8Array): string {
  const swapped = new Uint8Array(bytes.byteLength & ~1);
  for (let index = 0, end = bytes.byteLength; index + 1 < end; index += 2) {
    swapped[index] = bytes[index + 1] as number;
    swapped[index + 1] = bytes[index] as number;
  }
  return utf16le.decode(swapped);
}

/** Cuts a string at its first NUL character. */
export function cutAtNul(text: string): string {
  const end = text.indexOf('\0');
  return end === -1 ? text : text.slice(0, end);
}

/** A fixed-width field's text: cut at the first NUL, trailing spaces removed. */
export function fixedText(bytes: Uint8Array, decode: (bytes: Uint8Array) => string = latin1Text): string {
  return cutAtNul(decode(bytes)).replace(/ +$/, '');
}

/** Latin-1 patterns already converted (signatures are compared on every image). */
const patterns = new Map<string, Uint8Array>();

function patternBytes(text: string): Uint8Array {
  let bytes = patterns.get(text);
  if (bytes === undefined) {
    bytes = latin1Bytes(text);
    if (patterns.size < 1024) patterns.set(text, bytes);
  }
  return bytes;
}

/** True when `bytes` at `offset` equal `expected` (a byte array or a Latin-1 string). */
export function bytesEqual(bytes: Uint8Array, offset: number, expected: Uint8Array | string): boolean {
  const pattern = typeof expected === 'string' ? patternBytes(expected) : expected;
  if (offset < 0 || offset + pattern.byteLength > bytes.byteLength) return false;
  for (let index = 0, end = pattern.byteLength; index < end; index += 1) {
    if (bytes[offset + index] !== pattern[index]) return false;
  }
  return true;
}

/** A Latin-1 string as bytes (one byte per character). */
export function latin1Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let index = 0; index < text.length; index += 1) bytes[index] = text.charCodeAt(index) & 0xff;
  return bytes;
}

/** True when every byte is zero (four bytes at a time where the view is aligned). */
export function isAllZero(bytes: Uint8Array): boolean {
  let index = 0;
  const length = bytes.byteLength;
  if ((bytes.byteOffset & 3) === 0 && length >= 64) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, length >>> 2);
    for (let word = 0; word < words.length; word += 1) {
      if (words[word] !== 0) return false;
    }
    index = words.length << 2;
  }
  for (; index < length; index += 1) {
    if (bytes[index] !== 0) return false;
  }
  return true;
}

function hexByte(value: number): string {
  return value.toString(16).padStart(2, '0');
}

/**
 * A GUID stored in Microsoft's mixed-endian layout (first three fields little-endian),
 * as used by GPT, VHDX and VDI, formatted `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in lower case.
 */
export function mixedEndianGuid(bytes: Uint8Array, offset = 0): string {
  need(bytes, offset, 16, 'guid');
  const b = (index: number): string => hexByte(bytes[offset + index] as number);
  return (
    b(3) + b(2) + b(1) + b(0) + '-' + b(5) + b(4) + '-' + b(7) + b(6) + '-' + b(8) + b(9) + '-' +
    b(10) + b(11) + b(12) + b(13) + b(14) + b(15)
  );
}

/** A UUID stored in RFC 4122 (big-endian) byte order, as used by VHD, formatted in lower case. */
export function bigEndianUuid(bytes: Uint8Array, offset = 0): string {
  need(bytes, offset, 16, 'uuid');
  let text = '';
  for (let index = 0; index < 16; index += 1) {
    if (index === 4 || index === 6 || index === 8 || index === 10) text += '-';
    text += hexByte(bytes[offset + index] as number);
  }
  return text;
}

/**
 * The standard IEEE CRC-32 (as GPT, gzip and xz use), over `bytes`; pass the CRC of the
 * bytes before them as `previous` to compute it piece by piece.
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  ieeeTables ??= makeCrcTables(0xedb88320);
  return crcWith(ieeeTables, bytes, previous);
}

/**
 * CRC-32C (Castagnoli), as VHDX and Btrfs use; `previous` as for {@link crc32}. A variant
 * that starts from another register value and skips the final inversion (Linux's
 * `crc32c(seed, ...)`) is `crc32c(bytes, seed ^ 0xffffffff) ^ 0xffffffff`.
 */
export function crc32c(bytes: Uint8Array, previous = 0): number {
  castagnoliTables ??= makeCrcTables(0x82f63b78);
  return crcWith(castagnoliTables, bytes, previous);
}

let ieeeTables: Uint32Array[] | undefined;
let castagnoliTables: Uint32Array[] | undefined;

/**
 * Table-driven CRC, eight bytes per step ("slicing-by-8"): VHDX checksums 64 KiB region
 * tables, so the byte-at-a-time loop was most of its parse time.
 */
function crcWith(tables: Uint32Array[], bytes: Uint8Array, previous = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = tables as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let crc = (previous ^ 0xffffffff) >>> 0;
  let index = 0;
  const length = bytes.byteLength;
  for (; index + 8 <= length; index += 8) {
    const low = (crc ^ ((bytes[index] as number) | ((bytes[index + 1] as number) << 8) | ((bytes[index + 2] as number) << 16) | ((bytes[index + 3] as number) << 24))) >>> 0;
    crc =
      (t7[low & 0xff] as number) ^
      (t6[(low >>> 8) & 0xff] as number) ^
      (t5[(low >>> 16) & 0xff] as number) ^
      (t4[low >>> 24] as number) ^
      (t3[bytes[index + 4] as number] as number) ^
      (t2[bytes[index + 5] as number] as number) ^
      (t1[bytes[index + 6] as number] as number) ^
      (t0[bytes[index + 7] as number] as number);
  }
  for (; index < length; index += 1) crc = (t0[(crc ^ (bytes[index] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function makeCrcTables(polynomial: number): Uint32Array[] {
  const first = new Uint32Array(256);
  for (let index = 0; index < 256; index += 1) {
    let value = index;
    for (let bit = 0; bit < 8; bit += 1) value = value & 1 ? (value >>> 1) ^ polynomial : value >>> 1;
    first[index] = value >>> 0;
  }
  const tables = [first];
  for (let slice = 1; slice < 8; slice += 1) {
    const previous = tables[slice - 1] as Uint32Array;
    const table = new Uint32Array(256);
    for (let index = 0; index < 256; index += 1) {
      const value = previous[index] as number;
      table[index] = ((first[value & 0xff] as number) ^ (value >>> 8)) >>> 0;
    }
    tables.push(table);
  }
  return tables;
}

/** `word` with the English indefinite article for how it reads aloud by its first letter: `an iso`, `a qcow2`, `an object`. */
export function withArticle(word: string): string {
  return `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;
}
