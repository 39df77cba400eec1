/**
 * An LZMA2 decoder (the filter inside every `.xz` block), written for this library so that
 * it can stop after any number of output bytes, grow its dictionary only as far as the
 * data needs it, and refuse a dictionary above the caller's cap before allocating it (see
 * `docs/dependencies.md` for the packages measured against it).
 *
 * LZMA2 is a sequence of chunks, each starting with a control byte (xz's
 * `doc/xz-file-format.txt` names the filter; the chunk syntax is liblzma's `lzma2_decoder.c`
 * and the LZMA SDK's `Lzma2Dec.c`, read for facts only):
 *
 * | control | meaning | followed by |
 * | --- | --- | --- |
 * | `0x00` | end of the LZMA2 data | |
 * | `0x01` | uncompressed chunk, dictionary reset | size - 1 (2 bytes, big-endian), data |
 * | `0x02` | uncompressed chunk, no reset | same |
 * | `0x80 \| r << 5 \| u` | LZMA chunk; `u` = bits 16-20 of unpacked size - 1; `r`: 0 nothing reset, 1 state reset, 2 state reset + new properties, 3 and dictionary reset | unpacked size - 1 (low 16 bits), packed size - 1 (2 bytes), properties byte if r >= 2, then the range-coded data |
 *
 * The LZMA decoding itself follows the algorithm as the LZMA specification (`lzma-specification.txt`
 * in the LZMA SDK) describes it: a binary range decoder with 11-bit adaptive probabilities, 12
 * states, literal coders selected by the previous byte and position, length coders, and
 * distances from 6-bit slots with reverse-coded low bits.
 *
 * @module
 */
import { fieldError } from '../../src/errors.js';
import type { ByteQueue } from './codec.js';

const FIELD = 'xz lzma2';

// Layout of the probability array (each an 11-bit probability, initially one half).
const IS_MATCH = 0; // [state][posState]: 12 × 16
const IS_REP = IS_MATCH + 192; // [state]
const IS_REP_G0 = IS_REP + 12;
const IS_REP_G1 = IS_REP_G0 + 12;
const IS_REP_G2 = IS_REP_G1 + 12;
const IS_REP0_LONG = IS_REP_G2 + 12; // [state][posState]
const POS_SLOT = IS_REP0_LONG + 192; // [lenState 0..3][64]
const SPEC_POS = POS_SLOT + 256; // full distances (128) less the end-position model index (14)
const ALIGN = SPEC_POS + 114; // 16
const LEN_CODER = ALIGN + 16; // choice, choice2, low[16][8], mid[16][8], high[256]
const LEN_CODER_SIZE = 2 + 128 + 128 + 256;
const REP_LEN_CODER = LEN_CODER + LEN_CODER_SIZE;
const LITERAL = REP_LEN_CODER + LEN_CODER_SIZE; // 0x300 per literal coder
const PROBABILITY_COUNT = LITERAL + 0x300 * 16; // lc + lp <= 4 in LZMA2

/** The dictionary a decoder first allocates, grown by doubling up to the declared size. */
const INITIAL_DICTIONARY_BYTES = 64 * 1024;

type ChunkKind = 'control' | 'uncompressed' | 'lzma' | 'done';

/**
 * One LZMA2 stream (one xz block) being decoded from a {@link ByteQueue}. The dictionary
 * starts small and doubles up to `dictionarySize`; a step stops at `maxBytes` of output,
 * in the middle of a match if need be.
 */
export class Lzma2Decoder {
  private dictionary: Uint8Array;
  /** Write position in `dictionary`. */
  private position = 0;
  /** Bytes written since the last dictionary reset, at most `dictionarySize` (how far back a match may reach). */
  private filled = 0;
  /** Bytes written since the last dictionary reset, uncapped (position for pb/lp bits). */
  private total = 0;
  private needDictionaryReset = true;
  private needProperties = true;
  private kind: ChunkKind = 'control';
  /** Unpacked bytes left in the current chunk. */
  private chunkLeft = 0;

  // LZMA state.
  private readonly probabilities = new Uint16Array(PROBABILITY_COUNT);
  private lc = 0;
  private literalPosMask = 0;
  private posMask = 0;
  private state = 0;
  private rep0 = 0;
  private rep1 = 0;
  private rep2 = 0;
  private rep3 = 0;
  /** Bytes of the current match not yet copied (a step may end in the middle of one). */
  private matchLeft = 0;

  // Range decoder over the current chunk's packed bytes.
  private packed: Uint8Array = new Uint8Array(0);
  private packedPosition = 0;
  private range = 0;
  private code = 0;

  constructor(private readonly dictionarySize: number, reuse?: Uint8Array) {
    this.dictionary = reuse !== undefined && reuse.byteLength <= dictionarySize ? reuse : new Uint8Array(Math.min(dictionarySize, INITIAL_DICTIONARY_BYTES));
  }

  /** Bytes of dictionary allocated. */
  get dictionaryBytes(): number {
    return this.dictionary.byteLength;
  }

  /** The dictionary buffer, for the next block's decoder to reuse. */
  get buffer(): Uint8Array {
    return this.dictionary;
  }

  /** The packed bytes of the current LZMA chunk held (copied out of the input). */
  get heldBytes(): number {
    return this.kind === 'lzma' ? this.packed.byteLength - this.packedPosition : 0;
  }

  /**
   * Decodes up to `maxBytes` from `input`: the bytes (a copy), `needs-input`, or `end` after
   * the end-of-data control byte (which it consumes, leaving what follows in `input`).
   */
  decode(input: ByteQueue, maxBytes: number): Uint8Array | 'needs-input' | 'end' {
    if (this.position === this.dictionary.byteLength) this.makeRoom();
    const start = this.position;
    const stop = Math.min(this.dictionary.byteLength, start + maxBytes);
    while (this.position < stop) {
      if (this.kind === 'done') break;
      if (this.kind === 'control') {
        const header = this.readControl(input);
        if (header === 'needs-input') break;
        continue;
      }
      if (this.kind === 'uncompressed') this.copyUncompressed(input, stop);
      else this.decodeLzma(stop);
      if (this.chunkLeft === 0) this.endChunk();
      else if (this.kind === 'uncompressed' && input.length === 0) break;
    }
    if (this.position > start) return this.dictionary.slice(start, this.position);
    return this.kind === 'done' ? 'end' : 'needs-input';
  }

  /** Wraps the dictionary when it holds `dictionarySize` bytes, else doubles it. */
  private makeRoom(): void {
    const size = this.dictionary.byteLength;
    if (size >= this.dictionarySize) {
      this.position = 0;
      return;
    }
    const grown = new Uint8Array(Math.min(this.dictionarySize, size * 2));
    grown.set(this.dictionary);
    this.dictionary = grown;
  }

  /** Parses a chunk header; `needs-input` (nothing consumed) if it is not all there. */
  private readControl(input: ByteQueue): 'needs-input' | undefined {
    const control = input.byteAt(0);
    if (control === undefined) return 'needs-input';
    if (control === 0x00) {
      input.skip(1);
      this.kind = 'done';
      return undefined;
    }
    if (control === 0x01 || control === 0x02) {
      const header = input.peek(3);
      if (header === undefined) return 'needs-input';
      if (control === 0x01) this.resetDictionary();
      else if (this.needDictionaryReset) throw fieldError('CORRUPT', FIELD, 'the first chunk does not reset the dictionary', input.consumed);
      input.skip(3);
      this.chunkLeft = (((header[1] as number) << 8) | (header[2] as number)) + 1;
      this.kind = 'uncompressed';
      return undefined;
    }
    if (control < 0x80) throw fieldError('CORRUPT', FIELD, `invalid chunk control byte 0x${control.toString(16)}`, input.consumed);
    const reset = (control >> 5) & 3;
    const headerLength = reset >= 2 ? 6 : 5;
    const header = input.peek(headerLength);
    if (header === undefined) return 'needs-input';
    const unpacked = ((control & 0x1f) << 16) + (((header[1] as number) << 8) | (header[2] as number)) + 1;
    const packedSize = (((header[3] as number) << 8) | (header[4] as number)) + 1;
    // The whole packed chunk (at most 64 KiB) is gathered before decoding, so that the
    // range decoder never waits for input in the middle of a symbol.
    if (input.length < headerLength + packedSize) return 'needs-input';
    if (reset === 3) this.resetDictionary();
    else if (this.needDictionaryReset) throw fieldError('CORRUPT', FIELD, 'the first chunk does not reset the dictionary', input.consumed);
    if (reset >= 2) this.setProperties(header[5] as number, input.consumed + 5);
    else if (this.needProperties) throw fieldError('CORRUPT', FIELD, 'an LZMA chunk comes before any properties', input.consumed);
    if (reset >= 1) this.resetState();
    input.skip(headerLength);
    this.packed = (input.take(packedSize) as Uint8Array);
    this.packedPosition = 0;
    this.initRangeDecoder(input.consumed - packedSize);
    this.chunkLeft = unpacked;
    this.kind = 'lzma';
    return undefined;
  }

  private endChunk(): void {
    if (this.kind === 'lzma') {
      // The range decoder normalizes once more after the last symbol (as xz-embedded's
      // lzma_main ends), must then have read exactly the packed size and hold a zero code
      // (rc_is_finished); a match may not run past the chunk.
      this.normalize();
      if (this.matchLeft !== 0) throw fieldError('CORRUPT', FIELD, 'a match runs past the end of its chunk');
      if (this.code !== 0 || this.packedPosition !== this.packed.byteLength) {
        throw fieldError('CORRUPT', FIELD, 'the packed size of an LZMA chunk does not match its data');
      }
      this.packed = new Uint8Array(0);
      this.packedPosition = 0;
    }
    this.kind = 'control';
  }

  private resetDictionary(): void {
    this.needDictionaryReset = false;
    this.filled = 0;
    this.total = 0;
  }

  private setProperties(properties: number, offset: number): void {
    if (properties > (4 * 5 + 4) * 9 + 8) throw fieldError('CORRUPT', FIELD, `invalid properties byte ${properties}`, offset);
    const lc = properties % 9;
    const rest = Math.floor(properties / 9);
    const lp = rest % 5;
    const pb = Math.floor(rest / 5);
    // LZMA2 allows lc + lp <= 4 (liblzma's lzma_lzma_lclppb_decode for LZMA2).
    if (lc + lp > 4) throw fieldError('CORRUPT', FIELD, `lc ${lc} + lp ${lp} is above 4`, offset);
    this.lc = lc;
    this.literalPosMask = (1 << lp) - 1;
    this.posMask = (1 << pb) - 1;
    this.needProperties = false;
  }

  private resetState(): void {
    this.probabilities.fill(1024);
    this.state = 0;
    this.rep0 = this.rep1 = this.rep2 = this.rep3 = 0;
    this.matchLeft = 0;
  }

  private initRangeDecoder(offset: number): void {
    const packed = this.packed;
    if (packed.byteLength < 5 || packed[0] !== 0) throw fieldError('CORRUPT', FIELD, 'invalid range coder start', offset);
    this.range = 0xffffffff;
    this.code = (((packed[1] as number) << 24) | ((packed[2] as number) << 16) | ((packed[3] as number) << 8) | (packed[4] as number)) >>> 0;
    this.packedPosition = 5;
    if (this.code === 0xffffffff) throw fieldError('CORRUPT', FIELD, 'invalid range coder start', offset);
  }

  private copyUncompressed(input: ByteQueue, stop: number): void {
    while (this.chunkLeft > 0 && this.position < stop) {
      const front = input.front();
      if (front.byteLength === 0) return;
      const count = Math.min(front.byteLength, this.chunkLeft, stop - this.position);
      this.dictionary.set(front.subarray(0, count), this.position);
      input.skip(count);
      this.advance(count);
      this.chunkLeft -= count;
    }
  }

  private advance(count: number): void {
    this.position += count;
    this.total += count;
    this.filled = Math.min(this.dictionarySize, this.filled + count);
  }

  /** Keeps the range above 2^24 by shifting in the next packed byte (past the end, a zero that the chunk-end check catches). */
  private normalize(): void {
    if (this.range < 0x1000000) {
      this.range = this.range * 256;
      this.code = this.code * 256 + ((this.packed[this.packedPosition++] as number) | 0);
    }
  }

  /** The next bit with probability `probabilities[index]`, adapting it. */
  private bit(index: number): number {
    this.normalize();
    const probabilities = this.probabilities;
    const probability = probabilities[index] as number;
    const bound = (this.range >>> 11) * probability;
    if (this.code < bound) {
      this.range = bound;
      probabilities[index] = probability + ((2048 - probability) >> 5);
      return 0;
    }
    this.range -= bound;
    this.code -= bound;
    probabilities[index] = probability - (probability >> 5);
    return 1;
  }

  /** `count` bits with fixed probability one half (the high bits of long distances). */
  private directBits(count: number): number {
    let result = 0;
    for (let index = 0; index < count; index += 1) {
      this.normalize();
      this.range = this.range >>> 1;
      if (this.code >= this.range) {
        this.code -= this.range;
        result = result * 2 + 1;
      } else result *= 2;
    }
    return result;
  }

  private bitTree(base: number, bits: number): number {
    let symbol = 1;
    for (let index = 0; index < bits; index += 1) symbol = (symbol << 1) | this.bit(base + symbol);
    return symbol - (1 << bits);
  }

  private reverseBitTree(base: number, bits: number): number {
    let symbol = 1;
    let result = 0;
    for (let index = 0; index < bits; index += 1) {
      const bit = this.bit(base + symbol);
      symbol = (symbol << 1) | bit;
      result |= bit << index;
    }
    return result;
  }

  private length(base: number, posState: number): number {
    if (this.bit(base) === 0) return 2 + this.bitTree(base + 2 + posState * 8, 3);
    if (this.bit(base + 1) === 0) return 10 + this.bitTree(base + 2 + 128 + posState * 8, 3);
    return 18 + this.bitTree(base + 2 + 256, 8);
  }

  /** The byte `distance + 1` bytes back. */
  private byteBack(distance: number): number {
    let index = this.position - distance - 1;
    if (index < 0) index += this.dictionary.byteLength;
    return this.dictionary[index] as number;
  }

  private decodeLzma(stop: number): void {
    const dictionary = this.dictionary;
    while (this.chunkLeft > 0 && this.position < stop) {
      if (this.matchLeft > 0) {
        this.copyMatch(stop);
        continue;
      }
      const posState = this.total & this.posMask;
      const state = this.state;
      if (this.bit(IS_MATCH + state * 16 + posState) === 0) {
        const previous = this.filled > 0 ? this.byteBack(0) : 0;
        const base = LITERAL + 0x300 * (((this.total & this.literalPosMask) << this.lc) + (previous >> (8 - this.lc)));
        dictionary[this.position] = this.literal(base, state < 7 ? -1 : this.byteBack(this.rep0));
        this.position += 1;
        this.total += 1;
        if (this.filled < this.dictionarySize) this.filled += 1;
        this.chunkLeft -= 1;
        this.state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
        continue;
      }
      let length: number;
      if (this.bit(IS_REP + state) === 0) {
        length = this.length(LEN_CODER, posState);
        this.state = state < 7 ? 7 : 10;
        const distance = this.distance(length);
        if (distance === 0xffffffff) throw fieldError('CORRUPT', FIELD, 'an end marker inside LZMA2 data');
        this.rep3 = this.rep2;
        this.rep2 = this.rep1;
        this.rep1 = this.rep0;
        this.rep0 = distance;
      } else {
        if (this.bit(IS_REP_G0 + state) === 0) {
          if (this.bit(IS_REP0_LONG + state * 16 + posState) === 0) {
            this.state = state < 7 ? 9 : 11;
            this.startMatch(1);
            continue;
          }
        } else {
          let distance: number;
          if (this.bit(IS_REP_G1 + state) === 0) distance = this.rep1;
          else {
            if (this.bit(IS_REP_G2 + state) === 0) distance = this.rep2;
            else {
              distance = this.rep3;
              this.rep3 = this.rep2;
            }
            this.rep2 = this.rep1;
          }
          this.rep1 = this.rep0;
          this.rep0 = distance;
        }
        length = this.length(REP_LEN_CODER, posState);
        this.state = state < 7 ? 8 : 11;
      }
      this.startMatch(length);
    }
  }

  /**
   * The eight bits of a literal, `matchByte` < 0 for a plain one. The range decoder lives in
   * locals here: literals are most of the bits, and this loop is most of the decoding time.
   * A matched literal (after a match) codes each bit in the context of the byte at rep0
   * until the first bit that differs from it (the LZMA specification's "matched" literal).
   */
  private literal(base: number, matchByte: number): number {
    const probabilities = this.probabilities;
    const packed = this.packed;
    let range = this.range;
    let code = this.code;
    let position = this.packedPosition;
    let symbol = 1;
    let offset = 0x100;
    let context = matchByte;
    while (symbol < 0x100) {
      let matchBit = 0;
      let index = base + symbol;
      if (context >= 0) {
        context <<= 1;
        matchBit = context & offset;
        index += offset + matchBit;
      }
      if (range < 0x1000000) {
        range *= 256;
        code = code * 256 + ((packed[position++] as number) | 0);
      }
      const probability = probabilities[index] as number;
      const bound = (range >>> 11) * probability;
      if (code < bound) {
        range = bound;
        probabilities[index] = probability + ((2048 - probability) >> 5);
        symbol <<= 1;
        offset &= ~matchBit;
      } else {
        range -= bound;
        code -= bound;
        probabilities[index] = probability - (probability >> 5);
        symbol = (symbol << 1) | 1;
        offset &= matchBit;
      }
    }
    this.range = range;
    this.code = code;
    this.packedPosition = position;
    return symbol & 0xff;
  }

  private distance(length: number): number {
    const lengthState = length < 6 ? length - 2 : 3;
    const slot = this.bitTree(POS_SLOT + lengthState * 64, 6);
    if (slot < 4) return slot;
    const directCount = (slot >> 1) - 1;
    const base = (2 | (slot & 1)) * 2 ** directCount;
    if (slot < 14) return base + this.reverseBitTree(SPEC_POS + base - slot - 1, directCount);
    return base + this.directBits(directCount - 4) * 16 + this.reverseBitTree(ALIGN, 4);
  }

  private startMatch(length: number): void {
    if (this.rep0 >= this.filled) {
      throw fieldError('CORRUPT', FIELD, `a match reaches ${this.rep0 + 1} bytes back, before the start of the dictionary (${this.filled} bytes)`);
    }
    this.matchLeft = length;
  }

  private copyMatch(stop: number): void {
    const dictionary = this.dictionary;
    const size = dictionary.byteLength;
    let count = Math.min(this.matchLeft, this.chunkLeft, stop - this.position);
    this.matchLeft -= count;
    this.chunkLeft -= count;
    let from = this.position - this.rep0 - 1;
    if (from < 0) from += size;
    const total = count;
    let to = this.position;
    // Non-overlapping and not wrapping: one copyWithin; otherwise byte by byte (an
    // overlapping match repeats the bytes it has just written, as LZ77 intends).
    if (from + count <= to || (from > to && from + count <= size)) {
      dictionary.copyWithin(to, from, from + count);
    } else {
      while (count > 0) {
        dictionary[to++] = dictionary[from++] as number;
        if (from === size) from = 0;
        count -= 1;
      }
    }
    this.advance(total);
  }
}
