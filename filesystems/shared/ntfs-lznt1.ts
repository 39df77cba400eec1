/**
 * LZNT1, the LZ77 variant NTFS compresses attributes with ([MS-XCA] section 2.5; Linux
 * `fs/ntfs3/lznt.c` and ntfs-3g's `compress.c` decode it the same way).
 *
 * The compressed data of one compression unit is a sequence of chunks, each standing for
 * 4096 bytes of output:
 *
 * | bits of the 16-bit chunk header | meaning |
 * | --- | --- |
 * | 0-11 | bytes of chunk data after the header, minus one |
 * | 12-14 | signature, 3 |
 * | 15 | 1: compressed; 0: the 4096 bytes are stored as they are |
 *
 * A header of 0 ends the data. A compressed chunk is groups of one flag byte and eight
 * tokens: a clear bit is a literal byte, a set bit a 16-bit back reference whose split
 * between offset and length depends on how far into the chunk the output is (the further,
 * the more bits for the offset). A chunk that decodes to less than 4096 bytes is followed by
 * zeros up to 4096.
 *
 * @module
 */
import { fieldError } from '../../src/errors.js';

/** Output bytes one LZNT1 chunk stands for. */
export const LZNT1_CHUNK_BYTES = 4096;

/**
 * Decompresses `input` into exactly `outputLength` bytes (what is not produced stays zero).
 * Throws `CORRUPT` for a chunk that runs past the input or a back reference before the
 * start of its chunk; the work is bounded by `outputLength` and the input's length.
 */
export function decompressLznt1(input: Uint8Array, outputLength: number, field: string): Uint8Array {
  const output = new Uint8Array(outputLength);
  let inputOffset = 0;
  let outputOffset = 0;
  while (inputOffset + 2 <= input.byteLength && outputOffset < outputLength) {
    const header = (input[inputOffset] as number) | ((input[inputOffset + 1] as number) << 8);
    inputOffset += 2;
    if (header === 0) break;
    const chunkLength = (header & 0x0fff) + 1;
    const chunkEnd = inputOffset + chunkLength;
    if (chunkEnd > input.byteLength) throw fieldError('CORRUPT', field, `an LZNT1 chunk of ${chunkLength} bytes runs past the compressed data`);
    const chunkStart = outputOffset;
    const chunkLimit = Math.min(chunkStart + LZNT1_CHUNK_BYTES, outputLength);
    if ((header & 0x8000) === 0) {
      const stored = Math.min(chunkLength, chunkLimit - chunkStart);
      output.set(input.subarray(inputOffset, inputOffset + stored), chunkStart);
    } else {
      decodeChunk(input, inputOffset, chunkEnd, output, chunkStart, chunkLimit, field);
    }
    inputOffset = chunkEnd;
    outputOffset = chunkLimit;
  }
  return output;
}

function decodeChunk(input: Uint8Array, start: number, end: number, output: Uint8Array, chunkStart: number, chunkLimit: number, field: string): void {
  let inputOffset = start;
  let outputOffset = chunkStart;
  while (inputOffset < end && outputOffset < chunkLimit) {
    const flags = input[inputOffset] as number;
    inputOffset += 1;
    for (let bit = 0; bit < 8 && inputOffset < end && outputOffset < chunkLimit; bit += 1) {
      if ((flags & (1 << bit)) === 0) {
        output[outputOffset] = input[inputOffset] as number;
        outputOffset += 1;
        inputOffset += 1;
        continue;
      }
      if (inputOffset + 2 > end) throw fieldError('CORRUPT', field, 'an LZNT1 back reference is cut by the end of its chunk');
      const token = (input[inputOffset] as number) | ((input[inputOffset + 1] as number) << 8);
      inputOffset += 2;
      // The offset field widens as the output moves into the chunk: 4 bits up to 16 bytes in, 12 at the end.
      const position = outputOffset - chunkStart;
      let offsetBits = 4;
      for (let reach = position - 1; reach >= 0x10; reach >>= 1) offsetBits += 1;
      const lengthBits = 16 - offsetBits;
      const distance = (token >>> lengthBits) + 1;
      const length = (token & ((1 << lengthBits) - 1)) + 3;
      if (distance > position) throw fieldError('CORRUPT', field, `an LZNT1 back reference of ${distance} bytes at chunk position ${position}`);
      const copyEnd = Math.min(outputOffset + length, chunkLimit);
      // Byte by byte: the source may overlap what is being written (runs of a repeated pattern).
      for (; outputOffset < copyEnd; outputOffset += 1) output[outputOffset] = output[outputOffset - distance] as number;
    }
  }
}
