/**
 * `.xz` (xz-file-format 1.1.0 by the Tukaani project): a streaming decoder for one or more
 * concatenated streams with stream padding, and a reader of the indexes at the end of a
 * file on a random-access source, which gives every block's and stream's sizes without
 * decompressing.
 *
 * | structure | layout |
 * | --- | --- |
 * | stream header (12) | fd 37 7a 58 5a 00, stream flags (00, check ID), CRC32 of the flags |
 * | block header | size byte (real size = (b + 1) × 4; 00 starts the index instead), block flags (filter count - 1 in bits 0-1, 0x40 compressed size present, 0x80 uncompressed size present), sizes as varints, filter flags (ID, properties size, properties), zero padding, CRC32 |
 * | block data | the filter chain's output: here LZMA2 (ID 0x21, one properties byte: the dictionary size) |
 * | block padding, check | zeros to a multiple of 4, then the check (0, 4, 8 or 32 bytes for none, CRC32, CRC64, SHA-256) |
 * | index | 00, record count, (unpadded size, uncompressed size) per block as varints, zero padding to 4, CRC32 |
 * | stream footer (12) | CRC32 of the next 6 bytes, backward size ((index size / 4) - 1, 4 bytes), stream flags, 59 5a |
 * | stream padding | zero bytes, a multiple of 4, between and after streams |
 *
 * Only the LZMA2 filter is decoded; a block using delta or a branch/call/jump filter is
 * `UNSUPPORTED` (xz writes them only when asked, for executables, never for disk images).
 *
 * @module
 */
import { crc32, u32le } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import type { ByteReader } from '../../src/format-module.js';
import { checkWindow, type DecoderOptions, DeferredCheck, QueuedDecoder, type ResolvedDecoderOptions, resolveDecoderOptions, type StepResult, type StreamDecoder } from './codec.js';
import type { Lzma2Decoder } from './lzma2.js';
import { type BlockCheck, checkName, checkSize, createBlockCheck } from './xz-checks.js';

export { checkName as xzCheckName };

/** The stream header magic: fd 37 7a 58 5a 00. */
const HEADER_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

/** LZMA2's filter ID. */
const LZMA2_FILTER = 0x21;

/** Names of the filters xz knows but this decoder does not run, for the `UNSUPPORTED` message. */
const otherFilters: Record<number, string> = {
  0x03: 'delta', 0x04: 'x86 BCJ', 0x05: 'PowerPC BCJ', 0x06: 'IA-64 BCJ', 0x07: 'ARM BCJ', 0x08: 'ARM-Thumb BCJ',
  0x09: 'SPARC BCJ', 0x0a: 'ARM64 BCJ', 0x0b: 'RISC-V BCJ',
};

/**
 * The largest index {@link readXzIndex} reads: 16 MiB (a million blocks' records; xz
 * makes one block per 3 × dictionary size in threaded mode, so real indexes are a few KiB).
 */
export const MAX_XZ_INDEX_BYTES = 16 * 1024 * 1024;

/** The most streams {@link readXzIndex} walks through: 4096 (each is at least 32 bytes; real files have one). */
export const MAX_XZ_STREAMS = 4096;

/** The most block records {@link readXzIndex} returns per stream: 4096 (the rest are summed, not listed). */
export const MAX_REPORTED_XZ_BLOCKS = 4096;

/** True when `bytes` start with the xz stream header magic. */
export function isXzMagic(bytes: Uint8Array): boolean {
  return HEADER_MAGIC.every((value, index) => bytes[index] === value);
}

/** The stream flags: the check ID (0 none, 1 CRC32, 4 CRC64, 10 SHA-256). */
export interface XzStreamFlags {
  /** Check ID (xz-file-format §2.1.1.2). */
  checkId: number;
  /** Its name: `'none'`, `'CRC32'`, `'CRC64'`, `'SHA-256'`, or `unknown (n)`. */
  check: string;
}

/** Parses a 12-byte stream header; `CORRUPT` for a wrong magic, reserved flags or a CRC mismatch. */
export function parseXzStreamHeader(bytes: Uint8Array, offset = 0): XzStreamFlags {
  if (bytes.byteLength < 12) throw fieldError('TRUNCATED', 'xz stream header', `needs 12 bytes, has ${bytes.byteLength}`, offset);
  if (!isXzMagic(bytes)) throw fieldError('CORRUPT', 'xz stream header.magic', 'not an xz stream', offset);
  return parseStreamFlags(bytes.subarray(6, 8), u32le(bytes, 8), 'xz stream header', offset + 6);
}

function parseStreamFlags(flags: Uint8Array, storedCrc: number, field: string, offset: number): XzStreamFlags {
  if (crc32(flags) !== storedCrc) throw fieldError('CORRUPT', `${field}.crc32`, 'the stream flags do not match their CRC32', offset);
  const first = flags[0] as number;
  const second = flags[1] as number;
  if (first !== 0 || (second & 0xf0) !== 0) {
    throw fieldError('UNSUPPORTED', `${field}.flags`, `reserved stream flag bits set (0x${first.toString(16)} 0x${second.toString(16)})`, offset);
  }
  return { checkId: second, check: checkName(second) };
}

/** A block header, as parsed by {@link parseXzBlockHeader}. */
export interface XzBlockHeader {
  /** Length of the header in bytes. */
  headerLength: number;
  /** Compressed Size field, when present. */
  compressedSize?: number;
  /** Uncompressed Size field, when present. */
  uncompressedSize?: number;
  /** LZMA2's dictionary size, from its properties byte. */
  dictionarySize: number;
}

/**
 * Reads a multibyte integer (xz-file-format §1.2: 7 bits per byte, low first, at most 9
 * bytes, no trailing zero byte). Returns the value and its length, or `undefined` if
 * `bytes` end before it does.
 */
export function readXzVarint(bytes: Uint8Array, offset: number, field: string): { value: number; length: number } | undefined {
  let value = 0;
  for (let index = 0; index < 9; index += 1) {
    const byte = bytes[offset + index];
    if (byte === undefined) return undefined;
    value += (byte & 0x7f) * 2 ** (7 * index);
    if ((byte & 0x80) === 0) {
      if (byte === 0 && index > 0) throw fieldError('CORRUPT', field, 'a multibyte integer ends in a zero byte', offset);
      if (!Number.isSafeInteger(value)) throw fieldError('CORRUPT', field, 'is too large to be a byte count', offset);
      return { value, length: index + 1 };
    }
  }
  throw fieldError('CORRUPT', field, 'a multibyte integer is longer than 9 bytes', offset);
}

function varintAt(bytes: Uint8Array, offset: number, field: string, base: number): { value: number; length: number } {
  const result = readXzVarint(bytes, offset, field);
  if (result === undefined) throw fieldError('CORRUPT', field, 'runs past the end of the block header', base + offset);
  return result;
}

/**
 * Parses a whole block header (`bytes` holds exactly its `(b + 1) × 4` bytes). `CORRUPT` for
 * a CRC mismatch or nonzero padding; `UNSUPPORTED` for reserved flags or a filter other than
 * a lone LZMA2.
 */
export function parseXzBlockHeader(bytes: Uint8Array, offset = 0): XzBlockHeader {
  const headerLength = bytes.byteLength;
  const stored = u32le(bytes, headerLength - 4, 'xz block header.crc32');
  if (crc32(bytes.subarray(0, headerLength - 4)) !== stored) throw fieldError('CORRUPT', 'xz block header.crc32', 'the block header does not match its CRC32', offset);
  const flags = bytes[1] as number;
  if ((flags & 0x3c) !== 0) throw fieldError('UNSUPPORTED', 'xz block header.flags', `reserved block flag bits set (0x${flags.toString(16)})`, offset + 1);
  const filterCount = (flags & 0x03) + 1;
  const header: XzBlockHeader = { headerLength, dictionarySize: 0 };
  let position = 2;
  const end = headerLength - 4;
  const body = bytes.subarray(0, end);
  if ((flags & 0x40) !== 0) {
    const size = varintAt(body, position, 'xz block header.compressedSize', offset);
    if (size.value === 0) throw fieldError('CORRUPT', 'xz block header.compressedSize', 'is zero', offset + position);
    header.compressedSize = size.value;
    position += size.length;
  }
  if ((flags & 0x80) !== 0) {
    const size = varintAt(body, position, 'xz block header.uncompressedSize', offset);
    header.uncompressedSize = size.value;
    position += size.length;
  }
  for (let filter = 0; filter < filterCount; filter += 1) {
    const id = varintAt(body, position, 'xz block header.filterId', offset);
    position += id.length;
    const propertiesSize = varintAt(body, position, 'xz block header.filterPropertiesSize', offset);
    position += propertiesSize.length;
    if (position + propertiesSize.value > end) throw fieldError('CORRUPT', 'xz block header.filterProperties', 'run past the end of the block header', offset + position);
    if (id.value !== LZMA2_FILTER || filter !== filterCount - 1) {
      const name = otherFilters[id.value] ?? `filter 0x${id.value.toString(16)}`;
      throw fieldError('UNSUPPORTED', 'xz block header.filterId', `${name} is not supported (only a lone LZMA2 filter is)`, offset + position);
    }
    if (propertiesSize.value !== 1) throw fieldError('CORRUPT', 'xz block header.filterProperties', `LZMA2 has 1 properties byte, not ${propertiesSize.value}`, offset + position);
    header.dictionarySize = lzma2DictionarySize(bytes[position] as number, offset + position);
    position += 1;
  }
  for (; position < end; position += 1) {
    if (bytes[position] !== 0) throw fieldError('CORRUPT', 'xz block header.padding', 'nonzero header padding', offset + position);
  }
  return header;
}

/** LZMA2's dictionary size from its properties byte: 2 or 3 times a power of two, 4 KiB to 3 GiB, 40 meaning 4 GiB - 1. */
function lzma2DictionarySize(properties: number, offset: number): number {
  if ((properties & 0xc0) !== 0 || properties > 40) throw fieldError('CORRUPT', 'xz block header.dictionarySize', `invalid LZMA2 dictionary size code ${properties}`, offset);
  if (properties === 40) return 0xffffffff;
  return (2 | (properties & 1)) * 2 ** (Math.floor(properties / 2) + 11);
}

/** One block, as an index records it. */
export interface XzIndexBlock {
  /** Offset of the block header in the file. */
  offset: number;
  /** Unpadded size: header, compressed data and check, without block padding. */
  unpaddedSize: number;
  /** Decoded size. */
  uncompressedSize: number;
}

/** One stream of an `.xz` file, from its index. */
export interface XzIndexStream {
  /** Offset of the stream header. */
  offset: number;
  /** Length from the stream header to the end of the footer. */
  compressedSize: number;
  /** Sum of the blocks' uncompressed sizes. */
  uncompressedSize: number;
  /** Zero bytes of stream padding after the footer. */
  paddingAfter: number;
  /** The check every block carries. */
  flags: XzStreamFlags;
  /** How many blocks the index lists. */
  blockCount: number;
  /** The first {@link MAX_REPORTED_XZ_BLOCKS} blocks. */
  blocks: XzIndexBlock[];
}

/** What {@link readXzIndex} found: the streams in file order and the totals. */
export interface XzIndex {
  /** Streams, first to last. */
  streams: XzIndexStream[];
  /** Sum of the streams' uncompressed sizes: the decoded file's length. */
  uncompressedSize: number;
}

/**
 * Reads every stream's index from the end of an `.xz` file on a random-access reader
 * (footer, index, then the stream header it leads to, stream after stream backwards, as
 * `xz --list` does), without decompressing. Reads the footers, indexes and headers only.
 * `CORRUPT` for anything that does not check out; `LIMIT_EXCEEDED` past
 * {@link MAX_XZ_INDEX_BYTES} or {@link MAX_XZ_STREAMS}. Meant for random-access readers: on
 * a stream, the reader's `totalSize` would read to the end first.
 */
export async function readXzIndex(reader: ByteReader): Promise<XzIndex> {
  const streams: XzIndexStream[] = [];
  let end = await reader.totalSize();
  if (end < 32) throw fieldError('TRUNCATED', 'xz stream footer', `a ${end}-byte file is too short for an xz stream`);
  while (end > 0) {
    if (streams.length >= MAX_XZ_STREAMS) throw fieldError('LIMIT_EXCEEDED', 'xz streams', `more than ${MAX_XZ_STREAMS} streams (MAX_XZ_STREAMS)`, end);
    const padding = await paddingBefore(reader, end);
    if (padding === end) break; // only padding before: xz forbids that at the start, but it ends the walk
    const footerEnd = end - padding;
    if (footerEnd < 32) throw fieldError('CORRUPT', 'xz stream footer', 'no room for a stream before the footer', footerEnd);
    const footer = await reader.read(footerEnd - 12, 12, 'xz stream footer');
    if (footer[10] !== 0x59 || footer[11] !== 0x5a) throw fieldError('CORRUPT', 'xz stream footer.magic', 'no YZ at the end of the stream', footerEnd - 2);
    if (crc32(footer.subarray(4, 10)) !== u32le(footer, 0)) throw fieldError('CORRUPT', 'xz stream footer.crc32', 'the footer does not match its CRC32', footerEnd - 12);
    const indexSize = (u32le(footer, 4) + 1) * 4;
    const flags = parseStreamFlags(footer.subarray(8, 10), crc32(footer.subarray(8, 10)), 'xz stream footer', footerEnd - 4);
    if (indexSize > Math.min(MAX_XZ_INDEX_BYTES, reader.maxReadLength)) {
      throw fieldError('LIMIT_EXCEEDED', 'xz index', `${indexSize} bytes is above the ${Math.min(MAX_XZ_INDEX_BYTES, reader.maxReadLength)}-byte cap (MAX_XZ_INDEX_BYTES)`, footerEnd - 8);
    }
    const indexStart = footerEnd - 12 - indexSize;
    if (indexStart < 12) throw fieldError('CORRUPT', 'xz stream footer.backwardSize', `an index of ${indexSize} bytes does not fit`, footerEnd - 8);
    const index = parseXzIndex(await reader.read(indexStart, indexSize, 'xz index'), indexStart);
    const streamStart = indexStart - index.blocksSize - 12;
    if (streamStart < 0) throw fieldError('CORRUPT', 'xz index', `its blocks (${index.blocksSize} bytes) do not fit before it`, indexStart);
    const header = parseXzStreamHeader(await reader.read(streamStart, 12, 'xz stream header'), streamStart);
    if (header.checkId !== flags.checkId) throw fieldError('CORRUPT', 'xz stream footer.flags', 'the footer flags differ from the header flags', footerEnd - 4);
    let blockOffset = streamStart + 12;
    const blocks: XzIndexBlock[] = [];
    for (const record of index.records) {
      blocks.push({ offset: blockOffset, unpaddedSize: record.unpaddedSize, uncompressedSize: record.uncompressedSize });
      blockOffset += roundUp4(record.unpaddedSize);
    }
    streams.push({
      offset: streamStart,
      compressedSize: footerEnd - streamStart,
      uncompressedSize: index.uncompressedSize,
      paddingAfter: padding,
      flags: header,
      blockCount: index.blockCount,
      blocks,
    });
    end = streamStart;
  }
  streams.reverse();
  return { streams, uncompressedSize: streams.reduce((sum, stream) => sum + stream.uncompressedSize, 0) };
}

/** How many zero bytes (in groups of 4) end the file before `end`; reads backwards in 4 KiB steps, so the work is bounded by the bytes present. */
async function paddingBefore(reader: ByteReader, end: number): Promise<number> {
  let position = end;
  if (position % 4 !== 0) throw fieldError('CORRUPT', 'xz stream padding', 'the file length is not a multiple of 4 after the last stream', end);
  while (position > 0) {
    const length = Math.min(4096, position);
    const bytes = await reader.read(position - length, length, 'xz stream padding');
    for (let index = length - 4; index >= 0; index -= 4) {
      if (bytes[index] !== 0 || bytes[index + 1] !== 0 || bytes[index + 2] !== 0 || bytes[index + 3] !== 0) return end - (position - length + index + 4);
    }
    position -= length;
  }
  return end;
}

function roundUp4(value: number): number {
  return Math.ceil(value / 4) * 4;
}

/** A parsed index: its records (the first {@link MAX_REPORTED_XZ_BLOCKS}) and totals. */
export interface XzIndexRecords {
  /** Records in block order. */
  records: Array<{ unpaddedSize: number; uncompressedSize: number }>;
  /** How many records the index holds. */
  blockCount: number;
  /** Sum of the blocks' sizes with block padding (what lies between the stream header and the index). */
  blocksSize: number;
  /** Sum of the blocks' uncompressed sizes. */
  uncompressedSize: number;
}

/** Parses a whole index (`bytes` from its indicator byte to its CRC32). `CORRUPT` for anything malformed. */
export function parseXzIndex(bytes: Uint8Array, offset = 0): XzIndexRecords {
  const field = 'xz index';
  if (bytes.byteLength < 8 || bytes[0] !== 0) throw fieldError('CORRUPT', `${field}.indicator`, 'no index indicator', offset);
  const stored = u32le(bytes, bytes.byteLength - 4);
  if (crc32(bytes.subarray(0, bytes.byteLength - 4)) !== stored) throw fieldError('CORRUPT', `${field}.crc32`, 'the index does not match its CRC32', offset);
  const body = bytes.subarray(0, bytes.byteLength - 4);
  let position = 1;
  const count = varintAt(body, position, `${field}.recordCount`, offset);
  position += count.length;
  // Each record takes at least 2 bytes, so the count is bounded by the bytes present.
  if (count.value > (body.byteLength - position) / 2) throw fieldError('CORRUPT', `${field}.recordCount`, `${count.value} records do not fit in ${bytes.byteLength} bytes`, offset + 1);
  const records: XzIndexRecords['records'] = [];
  let blocksSize = 0;
  let uncompressedSize = 0;
  for (let record = 0; record < count.value; record += 1) {
    const unpadded = varintAt(body, position, `${field}.unpaddedSize`, offset);
    position += unpadded.length;
    const uncompressed = varintAt(body, position, `${field}.uncompressedSize`, offset);
    position += uncompressed.length;
    if (unpadded.value < 5) throw fieldError('CORRUPT', `${field}.unpaddedSize`, `${unpadded.value} is too small for a block`, offset + position);
    blocksSize += roundUp4(unpadded.value);
    uncompressedSize += uncompressed.value;
    if (records.length < MAX_REPORTED_XZ_BLOCKS) records.push({ unpaddedSize: unpadded.value, uncompressedSize: uncompressed.value });
  }
  if (roundUp4(position) !== body.byteLength) throw fieldError('CORRUPT', `${field}.padding`, 'the index size does not match its records', offset + position);
  for (; position < body.byteLength; position += 1) {
    if (body[position] !== 0) throw fieldError('CORRUPT', `${field}.padding`, 'nonzero index padding', offset + position);
  }
  return { records, blockCount: count.value, blocksSize, uncompressedSize };
}

/** One stream the decoder went through. */
export interface XzStreamSummary {
  /** Offset of the stream header in the compressed input. */
  offset: number;
  /** The stream's check. */
  flags: XzStreamFlags;
  /** Blocks decoded. */
  blockCount: number;
  /** Decoded bytes. */
  uncompressedSize: number;
  /** Whether each block's check was verified (false for none and for reserved check IDs). */
  checksVerified: boolean;
}

/** An xz decoder, with the streams it has gone through. */
export interface XzDecoder extends StreamDecoder {
  /** The streams so far (at most {@link MAX_XZ_STREAMS} recorded), in order. */
  readonly streams: readonly XzStreamSummary[];
}

type XzState = 'stream-header' | 'block-or-index' | 'block-data' | 'block-end' | 'index' | 'footer' | 'padding';

/** What the decoder accumulates to compare with the index: counts, sums and a CRC of the records (liblzma and xz-embedded compare a hash too, so that no list grows with the block count). */
class RecordDigest {
  count = 0;
  unpaddedSum = 0;
  uncompressedSum = 0;
  private crc = 0;
  add(unpadded: number, uncompressed: number): void {
    this.count += 1;
    this.unpaddedSum += unpadded;
    this.uncompressedSum += uncompressed;
    const pair = new DataView(new ArrayBuffer(16));
    pair.setFloat64(0, unpadded, true);
    pair.setFloat64(8, uncompressed, true);
    this.crc = crc32(new Uint8Array(pair.buffer), this.crc);
  }
  equals(other: RecordDigest): boolean {
    return this.count === other.count && this.unpaddedSum === other.unpaddedSum && this.uncompressedSum === other.uncompressedSum && this.crc === other.crc;
  }
}

class XzStreamDecoder extends QueuedDecoder implements XzDecoder {
  readonly codec = 'xz' as const;
  readonly streams: XzStreamSummary[] = [];
  private state: XzState = 'stream-header';
  private flags: XzStreamFlags = { checkId: 0, check: 'none' };
  private current: XzStreamSummary | undefined;
  private lzma2: Lzma2Decoder | undefined;
  private spareDictionary: Uint8Array | undefined;
  private block: XzBlockHeader | undefined;
  private blockStart = 0;
  private blockDecoded = 0;
  private check: BlockCheck | undefined;
  /** The block's check, fed late (see DeferredCheck). */
  private checkFeed: DeferredCheck | undefined;
  private blocksSeen = new RecordDigest();
  private indexSeen = new RecordDigest();
  private indexStart = 0;
  private indexCrc = 0;
  private indexRecordsLeft = -1;
  private paddingLength = 0;

  constructor(private readonly lzma2Class: typeof Lzma2Decoder, options: ResolvedDecoderOptions) {
    super(options);
  }

  get windowBytes(): number {
    return this.lzma2?.dictionaryBytes ?? this.spareDictionary?.byteLength ?? 0;
  }

  protected override pendingBytes(): number {
    return (this.lzma2?.heldBytes ?? 0) + (this.checkFeed?.waitingBytes ?? 0);
  }

  protected advance(): StepResult | undefined {
    switch (this.state) {
      case 'stream-header': {
        const bytes = this.input.peek(12);
        if (bytes === undefined) return this.needInput('xz stream header');
        this.flags = parseXzStreamHeader(bytes, this.input.consumed);
        this.current = { offset: this.input.consumed, flags: this.flags, blockCount: 0, uncompressedSize: 0, checksVerified: createBlockCheck(this.flags.checkId) !== undefined };
        if (this.streams.length < MAX_XZ_STREAMS) this.streams.push(this.current);
        this.input.skip(12);
        this.blocksSeen = new RecordDigest();
        this.indexSeen = new RecordDigest();
        this.state = 'block-or-index';
        break;
      }
      case 'block-or-index': {
        const first = this.input.byteAt(0);
        if (first === undefined) return this.needInput('xz block header');
        if (first === 0) {
          this.indexStart = this.input.consumed;
          this.indexCrc = 0;
          this.indexRecordsLeft = -1;
          this.consumeIndexBytes(1);
          this.state = 'index';
          break;
        }
        const headerLength = (first + 1) * 4;
        const bytes = this.input.peek(headerLength);
        if (bytes === undefined) return this.needInput('xz block header');
        this.block = parseXzBlockHeader(bytes, this.input.consumed);
        checkWindow(this.block.dictionarySize, this.options, 'xz block header.dictionarySize', this.input.consumed);
        this.blockStart = this.input.consumed;
        this.input.skip(headerLength);
        this.lzma2 = new this.lzma2Class(this.block.dictionarySize, this.spareDictionary);
        this.check = createBlockCheck(this.flags.checkId);
        this.checkFeed = this.check === undefined ? undefined : new DeferredCheck(this.check.update.bind(this.check));
        this.blockDecoded = 0;
        this.state = 'block-data';
        break;
      }
      case 'block-data': {
        const lzma2 = this.lzma2 as Lzma2Decoder;
        const result = lzma2.decode(this.input, this.options.maxChunkBytes);
        if (result === 'needs-input') return this.needInput('xz block data');
        if (result === 'end') {
          this.spareDictionary = lzma2.buffer;
          this.lzma2 = undefined;
          this.state = 'block-end';
          break;
        }
        this.blockDecoded += result.byteLength;
        const declared = (this.block as XzBlockHeader).uncompressedSize;
        if (declared !== undefined && this.blockDecoded > declared) {
          throw fieldError('CORRUPT', 'xz block header.uncompressedSize', `the block decodes to more than the ${declared} bytes it declares`, this.blockStart);
        }
        this.checkFeed?.update(result);
        return result;
      }
      case 'block-end': {
        const block = this.block as XzBlockHeader;
        const compressed = this.input.consumed - this.blockStart - block.headerLength;
        const paddingLength = (4 - (compressed % 4)) % 4;
        const size = checkSize(this.flags.checkId);
        const bytes = this.input.peek(paddingLength + size);
        if (bytes === undefined) return this.needInput('xz block check');
        if (block.compressedSize !== undefined && block.compressedSize !== compressed) {
          throw fieldError('CORRUPT', 'xz block header.compressedSize', `declares ${block.compressedSize} bytes, the data has ${compressed}`, this.blockStart);
        }
        if (block.uncompressedSize !== undefined && block.uncompressedSize !== this.blockDecoded) {
          throw fieldError('CORRUPT', 'xz block header.uncompressedSize', `declares ${block.uncompressedSize} bytes, the data decodes to ${this.blockDecoded}`, this.blockStart);
        }
        if (bytes.subarray(0, paddingLength).some((byte) => byte !== 0)) throw fieldError('CORRUPT', 'xz block padding', 'nonzero block padding', this.input.consumed);
        this.checkFeed?.flush();
        if (this.check !== undefined && !equalBytes(this.check.digest(), bytes.subarray(paddingLength))) {
          throw fieldError('CORRUPT', `xz block check.${this.flags.check}`, `the ${this.flags.check} of the decoded block does not match the stored one`, this.input.consumed + paddingLength);
        }
        this.input.skip(paddingLength + size);
        this.blocksSeen.add(block.headerLength + compressed + size, this.blockDecoded);
        const stream = this.current as XzStreamSummary;
        stream.blockCount += 1;
        stream.uncompressedSize += this.blockDecoded;
        this.state = 'block-or-index';
        break;
      }
      case 'index': {
        const done = this.readIndex();
        if (done === 'needs-input') return this.needInput('xz index');
        this.state = 'footer';
        break;
      }
      case 'footer': {
        const bytes = this.input.peek(12);
        if (bytes === undefined) return this.needInput('xz stream footer');
        const offset = this.input.consumed;
        if (bytes[10] !== 0x59 || bytes[11] !== 0x5a) throw fieldError('CORRUPT', 'xz stream footer.magic', 'no YZ at the end of the stream', offset + 10);
        if (crc32(bytes.subarray(4, 10)) !== u32le(bytes, 0)) throw fieldError('CORRUPT', 'xz stream footer.crc32', 'the footer does not match its CRC32', offset);
        if ((u32le(bytes, 4) + 1) * 4 !== offset - this.indexStart) throw fieldError('CORRUPT', 'xz stream footer.backwardSize', 'does not match the index size', offset + 4);
        if (bytes[8] !== 0 || bytes[9] !== this.flags.checkId) throw fieldError('CORRUPT', 'xz stream footer.flags', 'the footer flags differ from the header flags', offset + 8);
        this.input.skip(12);
        this.paddingLength = 0;
        this.state = 'padding';
        break;
      }
      case 'padding': {
        // Stream padding: zero bytes in groups of four, then another stream, the end of
        // the input, or bytes that are neither (left to the caller as trailing bytes).
        const next = this.input.byteAt(0);
        if (next === undefined) {
          if (!this.inputFinished) return 'needs-input';
          this.checkPadding();
          return 'end';
        }
        if (next === 0) {
          const front = this.input.front();
          let zeros = 0;
          while (zeros < front.byteLength && front[zeros] === 0) zeros += 1;
          this.input.skip(zeros);
          this.paddingLength += zeros;
          break;
        }
        const follows = this.anotherFollows(6, isXzMagic);
        if (follows === 'needs-input') return follows;
        this.checkPadding();
        if (!follows) return 'end';
        this.state = 'stream-header';
        break;
      }
    }
  }

  private checkPadding(): void {
    if (this.paddingLength % 4 !== 0) throw fieldError('CORRUPT', 'xz stream padding', `${this.paddingLength} bytes of padding is not a multiple of 4`, this.input.consumed);
  }

  /** Consumes index bytes, folding them into the index CRC32. */
  private consumeIndexBytes(length: number): void {
    this.indexCrc = crc32(this.input.peek(length) as Uint8Array, this.indexCrc);
    this.input.skip(length);
  }

  /** Reads the index record by record as input arrives; compares it with the blocks decoded. */
  private readIndex(): 'needs-input' | 'done' {
    const varint = (field: string): number | undefined => {
      const bytes = this.input.peek(Math.min(9, this.input.length)) ?? new Uint8Array(0);
      const result = readXzVarint(bytes, 0, field);
      if (result === undefined) return undefined;
      this.consumeIndexBytes(result.length);
      return result.value;
    };
    if (this.indexRecordsLeft < 0) {
      const count = varint('xz index.recordCount');
      if (count === undefined) return 'needs-input';
      this.indexRecordsLeft = count;
    }
    while (this.indexRecordsLeft > 0) {
      // Read a record's two integers together, so that a record is never half consumed.
      const bytes = this.input.peek(Math.min(18, this.input.length)) ?? new Uint8Array(0);
      const unpadded = readXzVarint(bytes, 0, 'xz index.unpaddedSize');
      const uncompressed = unpadded === undefined ? undefined : readXzVarint(bytes, unpadded.length, 'xz index.uncompressedSize');
      if (unpadded === undefined || uncompressed === undefined) return 'needs-input';
      this.consumeIndexBytes(unpadded.length + uncompressed.length);
      this.indexSeen.add(unpadded.value, uncompressed.value);
      this.indexRecordsLeft -= 1;
      if (this.indexSeen.count > this.blocksSeen.count) break;
    }
    if (!this.indexSeen.equals(this.blocksSeen)) {
      throw fieldError('CORRUPT', 'xz index', 'the index does not match the blocks decoded', this.indexStart);
    }
    const paddingLength = (4 - ((this.input.consumed - this.indexStart) % 4)) % 4;
    const tail = this.input.peek(paddingLength + 4);
    if (tail === undefined) return 'needs-input';
    if (tail.subarray(0, paddingLength).some((byte) => byte !== 0)) throw fieldError('CORRUPT', 'xz index.padding', 'nonzero index padding', this.input.consumed);
    this.consumeIndexBytes(paddingLength);
    if (u32le(this.input.peek(4) as Uint8Array, 0) !== this.indexCrc) throw fieldError('CORRUPT', 'xz index.crc32', 'the index does not match its CRC32', this.input.consumed);
    this.input.skip(4);
    return 'done';
  }
}

function equalBytes(left: Uint8Array, right: Uint8Array): boolean {
  return left.byteLength === right.byteLength && left.every((value, index) => value === right[index]);
}

/**
 * A decoder for an `.xz` file: every stream in turn with its stream padding, every block's
 * check verified (CRC32, CRC64, SHA-256; `CORRUPT` naming the check on a mismatch), every
 * index compared with the blocks it describes, every block's LZMA2 dictionary checked
 * against `maxWindowBytes` before allocation (`LIMIT_EXCEEDED` naming
 * `xz block header.dictionarySize`). The `end` step comes when the input ends after a
 * stream (and its padding), or when the bytes after it are not another stream.
 *
 * Held bytes: input not yet consumed (an LZMA2 chunk is gathered whole, at most 64 KiB + 6;
 * a block header, at most 1 KiB); window: the dictionary, grown by doubling from 64 KiB up
 * to the declared size as the data fills it.
 */
export async function createXzDecoder(options?: DecoderOptions): Promise<XzDecoder> {
  const resolved = resolveDecoderOptions(options);
  // The LZMA2 decoder is its own chunk: a bundle that only reads xz indexes never loads it.
  const { Lzma2Decoder: lzma2Class } = await import('./lzma2.js');
  return new XzStreamDecoder(lzma2Class, resolved);
}
