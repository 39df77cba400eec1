/**
 * How many bytes a Zstandard compressed block decodes to, read from its sequences without
 * decoding them (RFC 8878 §3.1.1.3), so that a block is refused before `fzstd` runs it.
 *
 * Why: `fzstd` copies each sequence's literals and match byte by byte and drops whatever
 * falls outside its block buffer without stopping, so a hostile block whose sequences
 * declare far more than Block_Maximum_Size (up to 98 303 sequences of up to 131 074 bytes
 * of match and as many of literals) keeps it looping for seconds to minutes on a 64 KiB
 * input (found by `npm run fuzz`: a mutated 65 KB block took 200 ms). `zstd` itself refuses
 * such a block (`dstSize_tooSmall`). This walks the same bit stream `fzstd` will, keeping
 * only the lengths, and stops at the first byte past the limit.
 *
 * A compressed block is a literals section then a sequences section:
 *
 * | part | layout |
 * | --- | --- |
 * | literals header | type (bits 0-1: raw, RLE, compressed, treeless), size format (bits 2-3); 1 to 5 bytes of regenerated and compressed sizes (§3.1.1.3.1.1) |
 * | literals | raw: the bytes; RLE: one byte; compressed/treeless: Compressed_Size bytes (Huffman description and jump table included) |
 * | Number_of_Sequences | 1 byte (< 128), 2 bytes (< 255: (b0 - 128) << 8 + b1), or 3 (255: b1 + b2 << 8 + 0x7F00) |
 * | Symbol_Compression_Modes | bits 7-6 literal lengths, 5-4 offsets, 3-2 match lengths (0 predefined, 1 RLE, 2 FSE table, 3 repeat), 1-0 reserved zero |
 * | tables | for each field in that order: RLE: its one symbol; FSE: a table description (§4.1.1) |
 * | bit stream | read backwards from the block's last byte (whose highest set bit ends the padding): the three initial states, then per sequence the offset, match-length and literal-length extra bits, then the state updates |
 *
 * @module
 */
import { fieldError } from '../../src/errors.js';

/** A decoding table: per state, its symbol, the bits to read for the next state, and the baseline they are added to. */
interface FseTable {
  accuracyLog: number;
  symbols: Uint8Array;
  bits: Uint8Array;
  baselines: Uint16Array;
}

/** The tables a frame's blocks hand on (a block may repeat the previous one's: mode 3). */
export interface SequenceTables {
  literalLengths?: FseTable;
  offsets?: FseTable;
  matchLengths?: FseTable;
}

/** Literal-length codes 0-35 (§3.1.1.3.2.1.1): baseline and extra bits. */
const LITERAL_LENGTH_BASELINES = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 24, 28, 32, 40, 48, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536,
];
const LITERAL_LENGTH_EXTRA_BITS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

/** Match-length codes 0-52 (§3.1.1.3.2.1.1): baseline and extra bits. */
const MATCH_LENGTH_BASELINES = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 37, 39, 41, 43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027,
  2051, 4099, 8195, 16387, 32771, 65539,
];
const MATCH_LENGTH_EXTRA_BITS = [
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
];

/** Offset codes go up to 31 (the code is its own number of extra bits). */
const MAX_OFFSET_CODE = 31;

/** The predefined distributions (§3.1.1.3.2.2), with their accuracy logs. */
const PREDEFINED_LITERAL_LENGTHS = { accuracyLog: 6, counts: [4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1] };
const PREDEFINED_MATCH_LENGTHS = {
  accuracyLog: 6,
  counts: [1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1],
};
const PREDEFINED_OFFSETS = { accuracyLog: 5, counts: [1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1] };

/** Per field: its name (in `SequenceTables` and in errors), largest symbol, largest accuracy log (§4.1.1), predefined table. */
const FIELDS = [
  { key: 'literalLengths', maxSymbol: 35, maxAccuracyLog: 9, predefined: PREDEFINED_LITERAL_LENGTHS },
  { key: 'offsets', maxSymbol: MAX_OFFSET_CODE, maxAccuracyLog: 8, predefined: PREDEFINED_OFFSETS },
  { key: 'matchLengths', maxSymbol: 52, maxAccuracyLog: 9, predefined: PREDEFINED_MATCH_LENGTHS },
] as const;

let predefinedTables: FseTable[] | undefined;

/** Raises the error for `zstd block.<field>` (each check is given the one that names its block's offset). */
type Fail = (field: string, message: string) => never;

/** For the predefined tables, which cannot fail. */
const predefinedFail: Fail = (field, message) => {
  throw fieldError('INTERNAL', `zstd predefined ${field}`, message);
};

/** The decoding table of a normalized distribution (`-1`: a "less than 1" probability), §4.1.1. */
function buildTable(counts: readonly number[], accuracyLog: number, corrupt: Fail): FseTable {
  const size = 1 << accuracyLog;
  const symbols = new Uint8Array(size);
  const next = new Uint16Array(counts.length);
  // "Less than 1" symbols take one cell each, from the end of the table down.
  let highThreshold = size - 1;
  for (let symbol = 0; symbol < counts.length; symbol += 1) {
    const count = counts[symbol] as number;
    if (count === -1) {
      symbols[highThreshold] = symbol;
      highThreshold -= 1;
      next[symbol] = 1;
    } else next[symbol] = count;
  }
  // The others are spread with the fixed step, skipping the cells above the threshold.
  const step = (size >>> 1) + (size >>> 3) + 3;
  let position = 0;
  for (let symbol = 0; symbol < counts.length; symbol += 1) {
    const count = counts[symbol] as number;
    for (let copy = 0; copy < count; copy += 1) {
      symbols[position] = symbol;
      do position = (position + step) & (size - 1);
      while (position > highThreshold);
    }
  }
  if (position !== 0) corrupt('sequences', 'an FSE distribution that does not fill its table');
  const bits = new Uint8Array(size);
  const baselines = new Uint16Array(size);
  for (let state = 0; state < size; state += 1) {
    const symbol = symbols[state] as number;
    const nextState = next[symbol] as number;
    next[symbol] = nextState + 1;
    const stateBits = accuracyLog - (31 - Math.clz32(nextState));
    bits[state] = stateBits;
    baselines[state] = (nextState << stateBits) - size;
  }
  return { accuracyLog, symbols, bits, baselines };
}

/** A table of one symbol read with no bits (RLE mode). */
function singleSymbolTable(symbol: number): FseTable {
  return { accuracyLog: 0, symbols: Uint8Array.of(symbol), bits: new Uint8Array(1), baselines: new Uint16Array(1) };
}

/**
 * Reads an FSE table description (§4.1.1) at `offset`: the accuracy log, then each
 * symbol's normalized count in a variable number of bits, zero counts followed by 2-bit
 * repeat flags. Returns the table and the offset past the description (byte-aligned).
 */
function readTableDescription(bytes: Uint8Array, offset: number, end: number, maxSymbol: number, maxAccuracyLog: number, field: string, corrupt: Fail): { table: FseTable; next: number } {
  let bitPosition = offset * 8;
  const limit = end * 8;
  const readBits = (count: number): number => {
    if (bitPosition + count > limit) corrupt(field, 'the FSE table description runs past the block');
    let value = 0;
    for (let bit = 0; bit < count; bit += 1) {
      const at = bitPosition + bit;
      value |= (((bytes[at >>> 3] as number) >>> (at & 7)) & 1) << bit;
    }
    return value;
  };
  const accuracyLog = readBits(4) + 5;
  bitPosition += 4;
  if (accuracyLog > maxAccuracyLog) corrupt(field, `an FSE accuracy log of ${accuracyLog} (at most ${maxAccuracyLog})`);
  let remaining = (1 << accuracyLog) + 1;
  let threshold = 1 << accuracyLog;
  let bitCount = accuracyLog + 1;
  const counts: number[] = [];
  while (remaining > 1) {
    if (counts.length > maxSymbol) corrupt(field, `an FSE distribution with more than ${maxSymbol + 1} symbols`);
    const max = 2 * threshold - 1 - remaining;
    let count: number;
    const low = readBits(bitCount - 1) & (threshold - 1);
    if (low < max) {
      count = low;
      bitPosition += bitCount - 1;
    } else {
      count = readBits(bitCount) & (2 * threshold - 1);
      if (count >= threshold) count -= max;
      bitPosition += bitCount;
    }
    count -= 1;
    remaining -= count < 0 ? -count : count;
    counts.push(count);
    if (count === 0) {
      // Zero counts: then 2-bit flags, each the number of further zeros (3: and another flag).
      for (;;) {
        const repeat = readBits(2);
        bitPosition += 2;
        for (let zero = 0; zero < repeat; zero += 1) counts.push(0);
        if (counts.length > maxSymbol + 1) corrupt(field, `an FSE distribution with more than ${maxSymbol + 1} symbols`);
        if (repeat !== 3) break;
      }
    }
    while (remaining < threshold) {
      bitCount -= 1;
      threshold >>>= 1;
    }
  }
  if (remaining !== 1 || counts.length > maxSymbol + 1) corrupt(field, 'an FSE distribution whose counts do not add up');
  return { table: buildTable(counts, accuracyLog, corrupt), next: (bitPosition + 7) >>> 3 };
}

/** Reads a block's bit stream backwards: from the bit below the last byte's marker down to the section's start. */
class BackwardBits {
  private position: number;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly start: number,
    end: number,
    corrupt: Fail,
  ) {
    const last = bytes[end - 1] as number;
    if (end <= start || last === 0) corrupt('sequences', 'the sequences bit stream has no end marker');
    this.position = (end - 1) * 8 + (31 - Math.clz32(last));
  }

  /** `count` bits (at most 16 at a time here), highest first; bits below the stream's start read as zeros, as the decoders do, and are caught by {@link overread}. */
  read(count: number): number {
    let value = 0;
    for (let bit = 0; bit < count; bit += 1) {
      this.position -= 1;
      const byteIndex = this.position >> 3;
      const set = byteIndex >= this.start ? (((this.bytes[byteIndex] as number) >>> (this.position & 7)) & 1) : 0;
      value = value * 2 + set;
    }
    return value;
  }

  get overread(): boolean {
    return this.position < this.start * 8;
  }
}

/**
 * Checks that the compressed block `bytes[start, end)` (after its 3-byte header) decodes to
 * at most `maximum` bytes, and returns that length; updates `tables` for the next block.
 * Throws `CORRUPT` (at `offset`, the block's place in the input) for a block that exceeds
 * it or whose sections do not parse.
 */
export function compressedBlockLength(bytes: Uint8Array, start: number, end: number, maximum: number, tables: SequenceTables, offset?: number): number {
  const corrupt: Fail = (field, message) => {
    throw fieldError('CORRUPT', `zstd block.${field}`, message, offset);
  };
  let at = start;
  const byte = (index: number): number => {
    if (index >= end) corrupt('literals', 'the literals section runs past the block');
    return bytes[index] as number;
  };
  // Literals section header (§3.1.1.3.1.1).
  const b0 = byte(at);
  const literalsType = b0 & 3;
  const sizeFormat = (b0 >>> 2) & 3;
  let regenerated: number;
  let literalsBytes: number;
  if (literalsType < 2) {
    if ((sizeFormat & 1) === 0) {
      regenerated = b0 >>> 3;
      at += 1;
    } else if (sizeFormat === 1) {
      regenerated = (b0 >>> 4) + (byte(at + 1) << 4);
      at += 2;
    } else {
      regenerated = (b0 >>> 4) + (byte(at + 1) << 4) + (byte(at + 2) << 12);
      at += 3;
    }
    literalsBytes = literalsType === 0 ? regenerated : 1;
  } else if (sizeFormat < 2) {
    regenerated = (b0 >>> 4) + ((byte(at + 1) & 0x3f) << 4);
    literalsBytes = (byte(at + 1) >>> 6) + (byte(at + 2) << 2);
    at += 3;
  } else if (sizeFormat === 2) {
    regenerated = (b0 >>> 4) + (byte(at + 1) << 4) + ((byte(at + 2) & 3) << 12);
    literalsBytes = (byte(at + 2) >>> 2) + (byte(at + 3) << 6);
    at += 4;
  } else {
    regenerated = (b0 >>> 4) + (byte(at + 1) << 4) + ((byte(at + 2) & 0x3f) << 12);
    literalsBytes = (byte(at + 2) >>> 6) + (byte(at + 3) << 2) + (byte(at + 4) << 10);
    at += 5;
  }
  if (regenerated > maximum) corrupt('literals', `${regenerated} bytes of literals (the block may hold ${maximum})`);
  at += literalsBytes;
  if (at > end) corrupt('literals', 'the literals section runs past the block');

  // Sequences section header (§3.1.1.3.2.1).
  if (at === end) return regenerated;
  let sequenceCount = byte(at);
  at += 1;
  if (sequenceCount === 0) {
    if (at !== end) corrupt('sequences', 'bytes after a sequences section of no sequences');
    return regenerated;
  }
  if (sequenceCount === 255) {
    sequenceCount = byte(at) + (byte(at + 1) << 8) + 0x7f00;
    at += 2;
  } else if (sequenceCount >= 128) {
    sequenceCount = ((sequenceCount - 128) << 8) + byte(at);
    at += 1;
  }
  const modes = byte(at);
  at += 1;
  if ((modes & 3) !== 0) corrupt('sequences', 'reserved bits of Symbol_Compression_Modes are set');
  predefinedTables ??= FIELDS.map((field) => buildTable(field.predefined.counts, field.predefined.accuracyLog, predefinedFail));
  const chosen: FseTable[] = [];
  for (const [index, field] of FIELDS.entries()) {
    const mode = (modes >>> (6 - 2 * index)) & 3;
    let table: FseTable | undefined;
    if (mode === 0) table = predefinedTables[index];
    else if (mode === 1) {
      const symbol = byte(at);
      at += 1;
      if (symbol > field.maxSymbol) corrupt(field.key, `an RLE symbol of ${symbol} (at most ${field.maxSymbol})`);
      table = singleSymbolTable(symbol);
    } else if (mode === 2) {
      const read = readTableDescription(bytes, at, end, field.maxSymbol, field.maxAccuracyLog, field.key, corrupt);
      table = read.table;
      at = read.next;
    } else {
      table = tables[field.key];
      if (table === undefined) corrupt(field.key, 'repeats the previous block\'s table, and there is none');
    }
    tables[field.key] = table;
    chosen.push(table as FseTable);
  }
  const [literalLengths, offsets, matchLengths] = chosen as [FseTable, FseTable, FseTable];

  // The sequences: lengths only (§3.1.1.3.2.1.1, decoding order of §3.1.1.3.2.2).
  const bits = new BackwardBits(bytes, at, end, corrupt);
  let literalState = bits.read(literalLengths.accuracyLog);
  let offsetState = bits.read(offsets.accuracyLog);
  let matchState = bits.read(matchLengths.accuracyLog);
  let literalTotal = 0;
  let total = 0;
  for (let sequence = 0; sequence < sequenceCount; sequence += 1) {
    const offsetCode = offsets.symbols[offsetState] as number;
    const matchCode = matchLengths.symbols[matchState] as number;
    const literalCode = literalLengths.symbols[literalState] as number;
    // No code is past its table: described and RLE tables were checked against each field's largest symbol.
    // Offset extra bits may be 31: read in two parts (read() takes at most 16).
    const high = offsetCode > 16 ? offsetCode - 16 : 0;
    bits.read(high);
    bits.read(offsetCode - high);
    const matchLength = (MATCH_LENGTH_BASELINES[matchCode] as number) + bits.read(MATCH_LENGTH_EXTRA_BITS[matchCode] as number);
    const literalLength = (LITERAL_LENGTH_BASELINES[literalCode] as number) + bits.read(LITERAL_LENGTH_EXTRA_BITS[literalCode] as number);
    literalTotal += literalLength;
    total += literalLength + matchLength;
    if (literalTotal > regenerated) corrupt('sequences', `the sequences take ${literalTotal} literals of ${regenerated}`);
    if (total + (regenerated - literalTotal) > maximum) corrupt('sequences', `the sequences decode to more than the block's ${maximum} bytes`);
    if (sequence + 1 < sequenceCount) {
      literalState = (literalLengths.baselines[literalState] as number) + bits.read(literalLengths.bits[literalState] as number);
      matchState = (matchLengths.baselines[matchState] as number) + bits.read(matchLengths.bits[matchState] as number);
      offsetState = (offsets.baselines[offsetState] as number) + bits.read(offsets.bits[offsetState] as number);
    }
    if (bits.overread) corrupt('sequences', 'the sequences bit stream ends early');
  }
  return total + (regenerated - literalTotal);
}
