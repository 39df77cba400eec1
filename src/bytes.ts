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
  if (mask === 0n) return bits;
  // The two 32-bit halves as numbers: 64 BigInt shifts cost more than the header they describe.
  const halves = [Number(mask & 0xffffffffn), Number((mask >> 32n) & 0xffffffffn)];
  for (let bit = 0; bit < 64; bit += 1) {
    if ((((halves[bit >>> 5] as number) >>> (bit & 31)) & 1) !== 0) bits.push(bit);
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

/** True when `bytes` at `offset` equal `expected` (a byte array or a Latin-1 string). */
export function bytesEqual(bytes: Uint8Array, offset: number, expected: Uint8Array | string): boolean {
  if (typeof expected === 'string') {
    // Compared character by character (as Latin-1, like latin1Bytes): every signature of every
    // module is compared on every image, and a lookup of the string's bytes cost more than this.
    if (offset < 0 || offset + expected.length > bytes.byteLength) return false;
    for (let index = 0, end = expected.length; index < end; index += 1) {
      if (bytes[offset + index] !== (expected.charCodeAt(index) & 0xff)) return false;
    }
    return true;
  }
  if (offset < 0 || offset + expected.byteLength > bytes.byteLength) return false;
  for (let index = 0, end = expected.byteLength; index < end; index += 1) {
    if (bytes[offset + index] !== expected[index]) return false;
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

/**
 * CRC-32 fed most significant bit first (polynomial 0x04c11db7, as a block-sorting
 * compressor's block and stream checks use): the raw register after `bytes`, starting
 * from `register` (no inversion either way: the caller starts from 0xffffffff and inverts
 * at the end, as its format says). Runs of zero bytes of {@link MSB_FIRST_ZERO_RUN_BYTES}
 * or more, which the decompressed start of a disk image is full of, are folded in a few
 * matrix steps instead of being fed four bytes per step.
 *
 * Zero bytes need no separate operators: feeding a zero bit shifts an MSB-first register
 * left and adds the polynomial when the top bit falls out, which is the reflected register
 * of the bit-reversed polynomial (0xedb88320, the IEEE CRC-32's) shifted right, bit for
 * bit reversed; so n zero bytes are `reverse(appendZeros(reverse(register)))`.
 */
export function crc32MsbFirst(bytes: Uint8Array, register: number): number {
  msbFirstSlices ??= makeMsbFirstSlices();
  if (bytes.byteLength < MSB_FIRST_ZERO_RUN_BYTES) return msbFirstTableCrc(msbFirstSlices, bytes, 0, bytes.byteLength, register);
  ieeeTables ??= makeCrcTables(0xedb88320);
  // Zero runs are looked for a 32-bit word at a time, over the aligned words of `bytes`.
  const alignedStart = (4 - (bytes.byteOffset & 3)) & 3;
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset + alignedStart, (bytes.byteLength - alignedStart) >>> 2);
  const minimumWords = MSB_FIRST_ZERO_RUN_BYTES >>> 2;
  let crc = register;
  let fedUpTo = 0;
  for (let word = 0; word < words.length; ) {
    if (words[word] !== 0) {
      word += 1;
      continue;
    }
    let runEnd = word + 1;
    while (runEnd < words.length && words[runEnd] === 0) runEnd += 1;
    if (runEnd - word >= minimumWords) {
      const runStart = alignedStart + (word << 2);
      crc = msbFirstTableCrc(msbFirstSlices, bytes, fedUpTo, runStart, crc);
      fedUpTo = alignedStart + (runEnd << 2);
      crc = reverseBits32(appendZeros(ieeeTables, reverseBits32(crc), fedUpTo - runStart));
    }
    word = runEnd;
  }
  return msbFirstTableCrc(msbFirstSlices, bytes, fedUpTo, bytes.byteLength, crc);
}

/** Zero runs at least this long are folded by {@link crc32MsbFirst} (a fold costs about what the table loop spends on 200 bytes). */
const MSB_FIRST_ZERO_RUN_BYTES = 256;

let msbFirstSlices: Int32Array[] | undefined;

/** Slicing-by-4 tables, most significant byte first: table k gives a byte's effect k bytes further on. */
function makeMsbFirstSlices(): Int32Array[] {
  const first = new Int32Array(256);
  for (let index = 0; index < 256; index += 1) {
    let value = index << 24;
    for (let bit = 0; bit < 8; bit += 1) value = value & 0x80000000 ? (value << 1) ^ 0x04c11db7 : value << 1;
    first[index] = value;
  }
  const slices = [first];
  for (let slice = 1; slice < 4; slice += 1) {
    const previous = slices[slice - 1] as Int32Array;
    slices.push(previous.map((value) => (value << 8) ^ (first[value >>> 24] as number)));
  }
  return slices;
}

/**
 * The MSB-first register after `bytes[start, end)`, four bytes per step. A plain function
 * with the bounds as arguments: written inline in a closure, V8 ran the same loop five
 * times slower.
 */
function msbFirstTableCrc(slices: Int32Array[], bytes: Uint8Array, start: number, end: number, register: number): number {
  const [t0, t1, t2, t3] = slices as [Int32Array, Int32Array, Int32Array, Int32Array];
  let crc = register;
  let index = start;
  for (; index + 4 <= end; index += 4) {
    const word = crc ^ (((bytes[index] as number) << 24) | ((bytes[index + 1] as number) << 16) | ((bytes[index + 2] as number) << 8) | (bytes[index + 3] as number));
    crc = (t3[word >>> 24] as number) ^ (t2[(word >>> 16) & 0xff] as number) ^ (t1[(word >>> 8) & 0xff] as number) ^ (t0[word & 0xff] as number);
  }
  for (; index < end; index += 1) crc = (crc << 8) ^ (t0[((crc >>> 24) ^ (bytes[index] as number)) & 0xff] as number);
  return crc;
}

/** `value`'s 32 bits in reverse order. */
function reverseBits32(value: number): number {
  let bits = value >>> 0;
  bits = ((bits >>> 1) & 0x55555555) | ((bits & 0x55555555) << 1);
  bits = ((bits >>> 2) & 0x33333333) | ((bits & 0x33333333) << 2);
  bits = ((bits >>> 4) & 0x0f0f0f0f) | ((bits & 0x0f0f0f0f) << 4);
  bits = ((bits >>> 8) & 0x00ff00ff) | ((bits & 0x00ff00ff) << 8);
  return ((bits >>> 16) | (bits << 16)) | 0;
}

let ieeeTables: CrcTables | undefined;
let castagnoliTables: CrcTables | undefined;

/** The tables of one CRC polynomial: slicing-by-8 lookups, and the operators that append runs of zero bytes. */
interface CrcTables {
  slices: Uint32Array[];
  /** `zeroRuns[k]` appends 2^k zero bytes to the register (see {@link appendZeros}); filled on first use. */
  zeroRuns: Uint32Array[] | undefined;
  polynomial: number;
}

/**
 * Zero bytes at the end of a checked range, from this many on, are folded into the CRC in
 * a few matrix steps instead of being fed through the table loop. VHDX checksums each
 * 64 KiB region table, mostly zeros past its first entries; the loop took about 190 µs of
 * a VHDX's parse for them.
 */
const ZERO_TAIL_SHORTCUT_BYTES = 512;

/**
 * Table-driven CRC, eight bytes per step ("slicing-by-8"), with a trailing run of zero
 * bytes appended by {@link appendZeros}: a CRC register is linear over GF(2), so feeding n
 * zero bytes is one 32 × 32 bit matrix, the product of the powers of two that make n.
 */
function crcWith(tables: CrcTables, bytes: Uint8Array, previous = 0): number {
  const end = bytes.byteLength >= ZERO_TAIL_SHORTCUT_BYTES ? endOfNonZero(bytes) : bytes.byteLength;
  let crc = tableCrc(tables.slices, bytes, end, (previous ^ 0xffffffff) >>> 0);
  if (end < bytes.byteLength) crc = appendZeros(tables, crc, bytes.byteLength - end);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The register after feeding `bytes[0, end)` to `register`, eight bytes per step. */
function tableCrc(slices: Uint32Array[], bytes: Uint8Array, end: number, register: number): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = slices as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let crc = register;
  let index = 0;
  for (; index + 8 <= end; index += 8) {
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
  for (; index < end; index += 1) crc = (t0[(crc ^ (bytes[index] as number)) & 0xff] as number) ^ (crc >>> 8);
  return crc >>> 0;
}

/** The index just past the last non-zero byte of `bytes` (0 when all are zero), four bytes per step where aligned. */
function endOfNonZero(bytes: Uint8Array): number {
  let end = bytes.byteLength;
  while (end > 0 && ((bytes.byteOffset + end) & 3) !== 0) {
    if (bytes[end - 1] !== 0) return end;
    end -= 1;
  }
  const alignedStart = (4 - (bytes.byteOffset & 3)) & 3;
  if (end - alignedStart >= 4) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset + alignedStart, (end - alignedStart) >>> 2);
    let word = words.length;
    while (word > 0 && words[word - 1] === 0) word -= 1;
    end = alignedStart + (word << 2);
    if (word > 0) {
      while (bytes[end - 1] === 0) end -= 1;
      return end;
    }
  }
  while (end > 0 && bytes[end - 1] === 0) end -= 1;
  return end;
}

/** `operator` (32 columns: the images of bits 0 to 31) applied to `vector`. */
function applyOperator(operator: Uint32Array, vector: number): number {
  let result = 0;
  for (let bit = 0; vector !== 0; bit += 1, vector >>>= 1) {
    if ((vector & 1) !== 0) result ^= operator[bit] as number;
  }
  return result >>> 0;
}

/** The register after feeding `count` zero bytes to `register`. */
function appendZeros(tables: CrcTables, register: number, count: number): number {
  tables.zeroRuns ??= zeroRunOperators(tables.polynomial);
  let crc = register;
  for (let power = 0; count > 0; power += 1, count = Math.floor(count / 2)) {
    if (count % 2 === 1) crc = applyOperator(tables.zeroRuns[power] as Uint32Array, crc);
  }
  return crc;
}

/**
 * The operators that feed 2^k zero bytes (k = 0 to 52) to a reflected CRC register: one
 * zero bit shifts the register right and adds the polynomial when bit 0 falls out; a byte
 * is that three times squared; each next power is the previous one squared.
 */
function zeroRunOperators(polynomial: number): Uint32Array[] {
  let operator: Uint32Array = new Uint32Array(32);
  operator[0] = polynomial >>> 0;
  for (let bit = 1; bit < 32; bit += 1) operator[bit] = (1 << (bit - 1)) >>> 0;
  const square = (of: Uint32Array): Uint32Array => of.map((column) => applyOperator(of, column));
  for (let step = 0; step < 3; step += 1) operator = square(operator);
  const operators: Uint32Array[] = [operator];
  for (let power = 1; power <= 52; power += 1) operators.push(square(operators[power - 1] as Uint32Array));
  return operators;
}

function makeCrcTables(polynomial: number): CrcTables {
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
  return { slices: tables, zeroRuns: undefined, polynomial };
}

/** `word` with the English indefinite article for how it reads aloud by its first letter: `an iso`, `a qcow2`, `an object`. */
export function withArticle(word: string): string {
  return `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;
}
