/**
 * bzip2, written for this library (see `docs/dependencies.md` for the packages measured
 * against it): a streaming decoder for one or more concatenated streams (`pbzip2` and
 * `cat a.bz2 b.bz2` write several) that verifies every block CRC and stream CRC.
 *
 * The format has no specification besides the reference implementation; the facts used
 * here are those of bzip2 1.0.8's `decompress.c` and Joe Tsai's "bzip2 format" notes,
 * read for facts only:
 *
 * | structure | bits |
 * | --- | --- |
 * | stream header | `BZh` and the level `1`-`9` (block size = level × 100 000 bytes), byte-aligned |
 * | block | magic 0x314159265359 (48), block CRC (32), randomised (1), origPtr (24), used-byte bitmap (16 + 16 per set bit), group count (3: 2-6), selector count (15), selectors (unary, MTF-coded), code lengths per group (5-bit start, then delta bits), Huffman-coded MTF/RLE2 symbols ending in EOB |
 * | stream end | magic 0x177245385090 (48), combined CRC (32), padding to a byte |
 *
 * Blocks are not byte-aligned, and their compressed length is not recorded: a block is
 * decoded once all its bits are present (the decoder tries again each time the held input
 * has doubled, so the work stays linear). Its output (inverse BWT, then the run-length
 * stage that turns 4 equal bytes plus a count into up to 259) is produced in steps of at
 * most `maxChunkBytes`: one 40-byte block can expand to about 46 MB, and a step never holds
 * more than one chunk of it.
 *
 * @module
 */
import { crc32MsbFirst } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import { checkWindow, type DecoderOptions, DeferredCheck, QueuedDecoder, resolveDecoderOptions, type StepResult, type StreamDecoder } from './codec.js';

/** A block's maximum length before the Burrows-Wheeler transform: 9 × 100 000 (level 9). */
export const BZIP2_MAX_BLOCK_BYTES = 900_000;

/**
 * The most compressed input one block can take: every one of at most 900 001 symbols in
 * a 20-bit code (bzip2's longest), plus 18 002 selectors and six code-length tables.
 * More input than this without the block ending is corrupt, not a block still arriving.
 */
export const MAX_BZIP2_COMPRESSED_BLOCK_BYTES = Math.ceil((BZIP2_MAX_BLOCK_BYTES + 1) * 20 / 8) + 64 * 1024;

/** bzip2 1.0.8's BZ_MAX_SELECTORS: selectors past it are read and ignored (its fix for CVE-2019-12900). */
const MAX_SELECTORS = 18002;

/** The longest Huffman code bzip2's decoder accepts. */
const MAX_CODE_LENGTH = 20;

const BLOCK_MAGIC_HIGH = 0x3141;
const BLOCK_MAGIC_LOW = 0x59265359;
const END_MAGIC_HIGH = 0x1772;
const END_MAGIC_LOW = 0x45385090;

/** Entries the BWT array starts with (256 KiB); it doubles as a block needs, up to the block size. */
const INITIAL_BWT_ENTRIES = 64 * 1024;

/** Thrown by the bit reader when the held input ends; caught by the block step. */
const needMoreInput = Symbol('needMoreInput');

/** Reads bits most significant first from a byte array, starting `bitOffset` bits in. */
class BitReader {
  position: number;
  constructor(private readonly bytes: Uint8Array, bitOffset: number) {
    this.position = bitOffset;
  }

  /** `count` bits (at most 24) as an unsigned integer. */
  bits(count: number): number {
    let value = 0;
    let left = count;
    while (left > 0) {
      const byte = this.bytes[this.position >>> 3];
      if (byte === undefined) throw needMoreInput;
      const available = 8 - (this.position & 7);
      const take = Math.min(left, available);
      value = (value << take) | ((byte >>> (available - take)) & ((1 << take) - 1));
      this.position += take;
      left -= take;
    }
    return value;
  }

  /** The next {@link LOOKUP_BITS} bits without consuming them, or -1 when fewer than 3 bytes are left (the caller then goes bit by bit). */
  peekLookup(): number {
    const index = this.position >>> 3;
    const bytes = this.bytes;
    if (index + 2 >= bytes.byteLength) return -1;
    const word = ((bytes[index] as number) << 16) | ((bytes[index + 1] as number) << 8) | (bytes[index + 2] as number);
    return (word >>> (24 - (this.position & 7) - LOOKUP_BITS)) & LOOKUP_MASK;
  }

  bit(): number {
    const byte = this.bytes[this.position >>> 3];
    if (byte === undefined) throw needMoreInput;
    const value = (byte >>> (7 - (this.position & 7))) & 1;
    this.position += 1;
    return value;
  }

  /** 32 bits, unsigned. */
  word(): number {
    return this.bits(16) * 0x10000 + this.bits(16);
  }
}

/** Codes up to this long are decoded with one table lookup; longer ones a bit at a time. */
const LOOKUP_BITS = 10;
const LOOKUP_MASK = (1 << LOOKUP_BITS) - 1;

/**
 * A canonical Huffman code: a table indexed by the next {@link LOOKUP_BITS} bits gives the
 * symbol and length of every code that short; longer codes are matched a bit at a time
 * against the first code of each length.
 */
class HuffmanCode {
  /** symbol << 5 | length, or -1 where no code of at most LOOKUP_BITS bits matches. */
  private readonly lookup = new Int32Array(1 << LOOKUP_BITS).fill(-1);
  private readonly firstCode = new Int32Array(MAX_CODE_LENGTH + 2);
  private readonly count = new Int32Array(MAX_CODE_LENGTH + 2);
  private readonly start = new Int32Array(MAX_CODE_LENGTH + 2);
  private readonly symbols: Int32Array;
  private readonly minLength: number;
  private readonly maxLength: number;

  constructor(lengths: Uint8Array) {
    this.symbols = new Int32Array(lengths.byteLength);
    let minLength = MAX_CODE_LENGTH;
    let maxLength = 0;
    for (let symbol = 0, end = lengths.byteLength; symbol < end; symbol += 1) {
      const length = lengths[symbol] as number;
      this.count[length] = (this.count[length] as number) + 1;
      minLength = Math.min(minLength, length);
      maxLength = Math.max(maxLength, length);
    }
    let code = 0;
    let index = 0;
    for (let length = 1; length <= MAX_CODE_LENGTH; length += 1) {
      this.firstCode[length] = code;
      this.start[length] = index;
      index += this.count[length] as number;
      code = (code + (this.count[length] as number)) << 1;
    }
    // The symbols in code order (by length, then by value): one pass, each placed after
    // the shorter codes and the smaller symbols of its length.
    const placed = this.start.slice();
    for (let symbol = 0, end = lengths.byteLength; symbol < end; symbol += 1) {
      const length = lengths[symbol] as number;
      this.symbols[placed[length] as number] = symbol;
      placed[length] = (placed[length] as number) + 1;
    }
    this.minLength = minLength;
    this.maxLength = maxLength;
    for (let length = 1; length <= Math.min(maxLength, LOOKUP_BITS); length += 1) {
      const count = this.count[length] as number;
      for (let rank = 0; rank < count; rank += 1) {
        const code = (this.firstCode[length] as number) + rank;
        // An over-subscribed set of lengths (corrupt input) yields codes that do not fit: skip them, the slow path rejects them.
        if (code >= 1 << length) continue;
        const symbol = this.symbols[(this.start[length] as number) + rank] as number;
        const first = code << (LOOKUP_BITS - length);
        this.lookup.fill((symbol << 5) | length, first, first + (1 << (LOOKUP_BITS - length)));
      }
    }
  }

  decode(reader: BitReader): number {
    const peeked = reader.peekLookup();
    if (peeked >= 0) {
      const entry = this.lookup[peeked] as number;
      if (entry >= 0) {
        reader.position += entry & 31;
        return entry >>> 5;
      }
    }
    let code = reader.bits(this.minLength);
    for (let length = this.minLength; length <= this.maxLength; length += 1) {
      const index = code - (this.firstCode[length] as number);
      if (index >= 0 && index < (this.count[length] as number)) return this.symbols[(this.start[length] as number) + index] as number;
      code = (code << 1) | reader.bit();
    }
    throw fieldError('CORRUPT', 'bzip2 block.symbols', 'a bit sequence matches no Huffman code');
  }
}

/** True when `bytes` start with a bzip2 stream header: `BZh` and a level digit 1-9. */
export function isBzip2Magic(bytes: Uint8Array): boolean {
  return bytes[0] === 0x42 && bytes[1] === 0x5a && bytes[2] === 0x68 && (bytes[3] ?? 0) >= 0x31 && (bytes[3] ?? 0) <= 0x39;
}

type Bzip2State = 'stream-header' | 'block' | 'output' | 'between';

/** A bzip2 decoder, with the streams it has gone through. */
export interface Bzip2Decoder extends StreamDecoder {
  /** Streams started. */
  readonly streamCount: number;
  /** Blocks decoded. */
  readonly blockCount: number;
}

class Bzip2StreamDecoder extends QueuedDecoder implements Bzip2Decoder {
  readonly codec = 'bzip2' as const;
  streamCount = 0;
  blockCount = 0;
  private state: Bzip2State = 'stream-header';
  private blockSize = 0;
  /** Bits of the first held byte already read (blocks are not byte-aligned). */
  private bitOffset = 0;
  /** Retry a block when this many bytes are held (doubles after each miss). */
  private retryAt = 0;
  private combinedCrc = 0;
  private tt: Uint32Array | undefined;

  // Output of the current block.
  private blockCrc = 0;
  /** The block's CRC, fed late (see DeferredCheck). */
  private crcFeed = new DeferredCheck((bytes) => {
    this.blockCrc = crc32MsbFirst(bytes, this.blockCrc);
  });
  private storedBlockCrc = 0;
  private remaining = 0;
  private nextPosition = 0;
  private lastByte = -1;
  private runLength = 0;
  private repeatLeft = 0;

  get windowBytes(): number {
    return this.tt?.byteLength ?? 0;
  }

  /** Decoded bytes waiting for the block CRC (see DeferredCheck). */
  protected override pendingBytes(): number {
    return this.crcFeed.waitingBytes;
  }

  protected advance(): StepResult | undefined {
    switch (this.state) {
      case 'stream-header': {
        const header = this.input.peek(4);
        if (header === undefined) return this.needInput('bzip2 stream header');
        const level = (header[3] as number) - 0x30;
        if (!isBzip2Magic(header)) {
          throw fieldError('CORRUPT', 'bzip2 stream header', 'not a bzip2 stream (no BZh1-9)', this.input.consumed);
        }
        this.blockSize = level * 100_000;
        checkWindow(this.blockSize * 4, this.options, 'bzip2 stream header.blockSize', this.input.consumed + 3);
        this.input.skip(4);
        this.bitOffset = 0;
        this.combinedCrc = 0;
        this.retryAt = 0;
        this.streamCount += 1;
        this.state = 'block';
        break;
      }
      case 'block': {
        if (this.input.length < this.retryAt && !this.inputFinished) return 'needs-input';
        const bytes = this.input.peek(this.input.length) ?? new Uint8Array(0);
        const reader = new BitReader(bytes, this.bitOffset);
        try {
          this.readBlock(reader);
        } catch (error) {
          if (error !== needMoreInput) throw error;
          if (this.input.length > MAX_BZIP2_COMPRESSED_BLOCK_BYTES) {
            throw fieldError('CORRUPT', 'bzip2 block', `no block ends within ${MAX_BZIP2_COMPRESSED_BLOCK_BYTES} bytes`, this.input.consumed);
          }
          this.retryAt = Math.max(this.input.length * 2, 4096);
          return this.needInput('bzip2 block');
        }
        this.retryAt = 0;
        this.input.skip(reader.position >>> 3);
        this.bitOffset = reader.position & 7;
        break;
      }
      case 'output': {
        const out = this.produce();
        if (out !== undefined) return out;
        break;
      }
      case 'between':
        // Another stream follows only if the next bytes are a stream header; anything
        // else ends the input here, left to the caller (bzip2(1) warns "trailing garbage
        // after EOF ignored").
        return this.nextMemberOrEnd(4, isBzip2Magic, () => {
          this.state = 'stream-header';
        });
    }
  }

  /** Reads a block or the end-of-stream marker (throwing {@link needMoreInput} if the bits are not all held). */
  private readBlock(reader: BitReader): void {
    const magicHigh = reader.bits(16);
    const magicLow = reader.word();
    if (magicHigh === END_MAGIC_HIGH && magicLow === END_MAGIC_LOW) {
      const stored = reader.word();
      if (stored !== this.combinedCrc) {
        throw fieldError('CORRUPT', 'bzip2 stream end.combinedCrc', `stored 0x${stored.toString(16)}, the blocks give 0x${this.combinedCrc.toString(16)}`, this.input.consumed);
      }
      reader.position = (reader.position + 7) & ~7;
      this.state = 'between';
      return;
    }
    if (magicHigh !== BLOCK_MAGIC_HIGH || magicLow !== BLOCK_MAGIC_LOW) {
      throw fieldError('CORRUPT', 'bzip2 block.magic', 'neither a block nor the end of the stream', this.input.consumed);
    }
    this.storedBlockCrc = reader.word();
    if (reader.bit() === 1) throw fieldError('UNSUPPORTED', 'bzip2 block.randomised', 'randomised blocks (written only by bzip2 before 0.9.5)', this.input.consumed);
    const origin = reader.bits(24);

    // The bytes that occur in the block, as a 16 × 16 bitmap.
    const used: number[] = [];
    const ranges = reader.bits(16);
    for (let range = 0; range < 16; range += 1) {
      if ((ranges & (0x8000 >>> range)) === 0) continue;
      const bits = reader.bits(16);
      for (let bit = 0; bit < 16; bit += 1) if ((bits & (0x8000 >>> bit)) !== 0) used.push(range * 16 + bit);
    }
    if (used.length === 0) throw fieldError('CORRUPT', 'bzip2 block.usedBytes', 'no byte values are used', this.input.consumed);
    const alphabetSize = used.length + 2;

    const groupCount = reader.bits(3);
    if (groupCount < 2 || groupCount > 6) throw fieldError('CORRUPT', 'bzip2 block.groupCount', `${groupCount} is outside 2..6`, this.input.consumed);
    const selectorCount = reader.bits(15);
    if (selectorCount === 0) throw fieldError('CORRUPT', 'bzip2 block.selectorCount', 'is zero', this.input.consumed);
    const groupOrder = [0, 1, 2, 3, 4, 5].slice(0, groupCount);
    const selectors = new Uint8Array(Math.min(selectorCount, MAX_SELECTORS));
    for (let index = 0; index < selectorCount; index += 1) {
      let position = 0;
      while (reader.bit() === 1) {
        position += 1;
        if (position >= groupCount) throw fieldError('CORRUPT', 'bzip2 block.selectors', 'a selector names a missing group', this.input.consumed);
      }
      const group = groupOrder[position] as number;
      groupOrder.splice(position, 1);
      groupOrder.unshift(group);
      if (index < selectors.byteLength) selectors[index] = group;
    }

    const codes: HuffmanCode[] = [];
    for (let group = 0; group < groupCount; group += 1) {
      const lengths = new Uint8Array(alphabetSize);
      let length = reader.bits(5);
      for (let symbol = 0; symbol < alphabetSize; symbol += 1) {
        for (;;) {
          if (length < 1 || length > MAX_CODE_LENGTH) throw fieldError('CORRUPT', 'bzip2 block.codeLengths', `a code length of ${length}`, this.input.consumed);
          if (reader.bit() === 0) break;
          length += reader.bit() === 0 ? 1 : -1;
        }
        lengths[symbol] = length;
      }
      codes.push(new HuffmanCode(lengths));
    }

    // Huffman → RLE2 runs of the front symbol (RUNA, RUNB) → move-to-front → bytes.
    // The BWT array grows with the block (doubling, up to the declared block size): a level-9
    // header declares 900 000 entries, but an image's first block is often a few thousand
    // runs of zeros, and allocating 3.6 MB cost more than decoding them.
    let tt = (this.tt ??= new Uint32Array(Math.min(INITIAL_BWT_ENTRIES, this.blockSize)));
    /** Makes `tt` hold `needed` entries, keeping its first `filled`; the grown array is the decoder's from then on. */
    const room = (needed: number, filled: number): void => {
      if (needed <= tt.length) return;
      const grown = new Uint32Array(Math.min(this.blockSize, Math.max(needed, tt.length * 2)));
      grown.set(tt.subarray(0, filled));
      this.tt = tt = grown;
    };
    const counts = new Int32Array(256);
    const mtf = Uint8Array.from(used);
    const endOfBlock = alphabetSize - 1;
    let length = 0;
    let selectorIndex = 0;
    let groupLeft = 0;
    let code = codes[0] as HuffmanCode;
    let run = 0;
    let runWeight = 1;
    for (;;) {
      if (groupLeft === 0) {
        if (selectorIndex >= selectors.byteLength) throw fieldError('CORRUPT', 'bzip2 block.selectors', 'the symbols outlast the selectors', this.input.consumed);
        code = codes[selectors[selectorIndex++] as number] as HuffmanCode;
        groupLeft = 50;
      }
      groupLeft -= 1;
      const symbol = code.decode(reader);
      if (symbol <= 1) {
        run += runWeight << symbol;
        runWeight <<= 1;
        if (run > this.blockSize) throw fieldError('CORRUPT', 'bzip2 block.symbols', `a run overflows the ${this.blockSize}-byte block`, this.input.consumed);
        continue;
      }
      if (run > 0) {
        const value = mtf[0] as number;
        if (length + run > this.blockSize) throw fieldError('CORRUPT', 'bzip2 block.symbols', `the block overflows ${this.blockSize} bytes`, this.input.consumed);
        counts[value] = (counts[value] as number) + run;
        room(length + run, length);
        tt.fill(value, length, length + run);
        length += run;
        run = 0;
        runWeight = 1;
      }
      if (symbol === endOfBlock) break;
      const index = symbol - 1;
      const value = mtf[index] as number;
      mtf.copyWithin(1, 0, index);
      mtf[0] = value;
      if (length >= this.blockSize) throw fieldError('CORRUPT', 'bzip2 block.symbols', `the block overflows ${this.blockSize} bytes`, this.input.consumed);
      counts[value] = (counts[value] as number) + 1;
      room(length + 1, length);
      tt[length++] = value;
    }
    if (origin >= length) throw fieldError('CORRUPT', 'bzip2 block.origPtr', `${origin} is outside the ${length}-byte block`, this.input.consumed);

    // Inverse Burrows-Wheeler: link each position to the next, in the top 24 bits of tt.
    const next = new Int32Array(256);
    for (let value = 0, sum = 0; value < 256; value += 1) {
      next[value] = sum;
      sum += counts[value] as number;
    }
    for (let index = 0; index < length; index += 1) {
      const value = (tt[index] as number) & 0xff;
      const target = next[value] as number;
      next[value] = target + 1;
      tt[target] = ((tt[target] as number) | (index << 8)) >>> 0;
    }
    this.nextPosition = (tt[origin] as number) >>> 8;
    this.remaining = length;
    this.lastByte = -1;
    this.runLength = 0;
    this.repeatLeft = 0;
    this.blockCrc = -1;
    this.blockCount += 1;
    this.state = 'output';
  }

  /** Up to `maxChunkBytes` of the current block's output, or `undefined` once the block is done (its CRC checked). */
  private produce(): Uint8Array | undefined {
    const limit = this.options.maxChunkBytes;
    const out = new Uint8Array(limit);
    const tt = this.tt as Uint32Array;
    let written = 0;
    let { nextPosition, remaining, lastByte, runLength, repeatLeft } = this;
    while (written < limit) {
      if (repeatLeft > 0) {
        const count = Math.min(repeatLeft, limit - written);
        out.fill(lastByte, written, written + count);
        written += count;
        repeatLeft -= count;
        continue;
      }
      if (remaining === 0) break;
      const entry = tt[nextPosition] as number;
      const value = entry & 0xff;
      nextPosition = entry >>> 8;
      remaining -= 1;
      if (runLength === 4) {
        // The byte after four equal ones is how many more copies follow (0-255).
        repeatLeft = value;
        runLength = 0;
        continue;
      }
      if (value === lastByte) runLength += 1;
      else {
        runLength = 1;
        lastByte = value;
      }
      out[written++] = value;
    }
    Object.assign(this, { nextPosition, remaining, lastByte, runLength, repeatLeft });
    if (written > 0) {
      const bytes = out.subarray(0, written);
      this.crcFeed.update(bytes);
      return bytes;
    }
    this.crcFeed.flush();
    const computed = ~this.blockCrc >>> 0;
    if (computed !== this.storedBlockCrc) {
      throw fieldError('CORRUPT', 'bzip2 block.crc', `stored 0x${this.storedBlockCrc.toString(16)}, the data gives 0x${computed.toString(16)}`, this.input.consumed);
    }
    this.combinedCrc = (((this.combinedCrc << 1) | (this.combinedCrc >>> 31)) ^ computed) >>> 0;
    this.state = 'block';
    return undefined;
  }
}

/**
 * A decoder for a bzip2 file: every stream in turn, every block CRC and stream CRC
 * verified (`CORRUPT` naming the field on a mismatch). The `end` step comes when the input
 * ends after a stream, or when the bytes after a stream are not another stream.
 *
 * Held bytes: the compressed block being gathered (at most twice its length, under
 * {@link MAX_BZIP2_COMPRESSED_BLOCK_BYTES}) and one output chunk; window: the 4-byte-per-
 * position BWT array of the stream's block size (3.6 MB at level 9), checked against
 * `maxWindowBytes`.
 */
export async function createBzip2Decoder(options?: DecoderOptions): Promise<Bzip2Decoder> {
  return new Bzip2StreamDecoder(resolveDecoderOptions(options));
}
