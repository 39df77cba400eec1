/**
 * LZO-compressed btrfs extents: btrfs's framing (`fs/btrfs/lzo.c`) around LZO1X segments,
 * and an LZO1X decoder written from the format description in the Linux kernel's
 * `Documentation/staging/lzo.rst`.
 *
 * Framing:
 *
 * | bytes | meaning |
 * | --- | --- |
 * | 4 (LE) | total length of the compressed extent, these 4 bytes included |
 * | 4 (LE) | length of the next segment; a segment header never straddles a sector boundary (fewer than 4 bytes left in a sector are zero padding) |
 * | n | one LZO1X stream that decodes to at most one sector of the file |
 *
 * Every read and write is bounds-checked, every match distance checked against the bytes
 * already decoded, and the output is capped at the extent's decoded size: a crafted stream
 * ends in `CORRUPT`, never in a write past the buffer or a loop (each step consumes input).
 *
 * @module
 */
import { fieldError } from '../../src/errors.js';

/** Decodes a btrfs LZO extent to at most `decodedLength` bytes; `sectorSize` is where segment headers are realigned. */
export function decodeBtrfsLzo(compressed: Uint8Array, decodedLength: number, sectorSize: number, field: string): Uint8Array {
  if (compressed.byteLength < 4) throw fieldError('CORRUPT', field, 'an LZO extent shorter than its length header');
  const view = new DataView(compressed.buffer, compressed.byteOffset, compressed.byteLength);
  const total = view.getUint32(0, true);
  if (total < 4 || total > compressed.byteLength) throw fieldError('CORRUPT', `${field} lzo length`, `${total} bytes do not fit the ${compressed.byteLength}-byte extent`);
  const out = new Uint8Array(decodedLength);
  let produced = 0;
  let at = 4;
  while (at < total && produced < decodedLength) {
    const leftInSector = sectorSize - (at % sectorSize);
    if (leftInSector < 4) {
      at += leftInSector;
      continue;
    }
    if (at + 4 > total) throw fieldError('CORRUPT', `${field} lzo segment`, `a segment header at ${at} runs past the ${total}-byte extent`);
    const length = view.getUint32(at, true);
    at += 4;
    if (length === 0 || at + length > total) throw fieldError('CORRUPT', `${field} lzo segment`, `a ${length}-byte segment at ${at} does not fit the ${total}-byte extent`);
    const end = Math.min(decodedLength, produced + sectorSize);
    produced = decodeLzo1x(compressed.subarray(at, at + length), out, produced, end, field);
    at += length;
  }
  return out.subarray(0, produced);
}

/**
 * Decodes one LZO1X stream into `out[start..limit)`, returning where the output ended.
 * Instruction encoding (lzo.rst): the first byte may be a literal run (> 17); then
 * `0000LLLL` is a long literal run after a match (state 0) or a 2- or 3-byte match after a
 * short or long literal run; `0001HLLL` a match 16–48 KiB back (distance 16384 ends the
 * stream); `001LLLLL` a match up to 16 KiB back; `01LDDDSS` and `1LLDDDSS` short matches up
 * to 2 KiB back; the low two bits `SS` of a match give the literals that follow it.
 */
export function decodeLzo1x(input: Uint8Array, out: Uint8Array, start: number, limit: number, field: string): number {
  let ip = 0;
  let op = start;
  const corrupt = (why: string) => fieldError('CORRUPT', `${field} lzo`, `${why} (input byte ${ip})`);
  const next = (): number => {
    if (ip >= input.byteLength) throw corrupt('the stream ends inside an instruction');
    return input[ip++] as number;
  };
  /** A run length encoded as `base` plus, when the field is zero, 255 per zero byte and a final non-zero byte. */
  const extended = (field: number, base: number, maxField: number): number => {
    if (field !== 0) return base + field;
    let length = base + maxField;
    for (;;) {
      const byte = next();
      if (byte !== 0) return length + byte;
      length += 255;
    }
  };
  const literals = (count: number) => {
    if (ip + count > input.byteLength) throw corrupt(`a ${count}-byte literal run passes the end of the stream`);
    if (op + count > limit) throw corrupt(`${count} literals overflow the ${limit - start}-byte output`);
    out.set(input.subarray(ip, ip + count), op);
    ip += count;
    op += count;
  };
  const match = (distance: number, length: number) => {
    if (distance > op - start) throw corrupt(`a match ${distance} bytes back reaches before the stream's output`);
    if (op + length > limit) throw corrupt(`a ${length}-byte match overflows the ${limit - start}-byte output`);
    // Byte by byte: the source may overlap the destination (a run).
    for (let index = 0; index < length; index += 1, op += 1) out[op] = out[op - distance] as number;
  };

  // State: literals copied by the previous instruction (0, 1-3, or 4 for a long run).
  let state = 0;
  const first = input[0];
  if (first !== undefined && first > 17) {
    ip = 1;
    const count = first - 17;
    literals(count);
    state = count < 4 ? count : 4;
  }
  for (;;) {
    const instruction = next();
    let trailing: number;
    if (instruction < 16) {
      if (state === 0) {
        literals(extended(instruction, 3, 15));
        state = 4;
        continue;
      }
      const high = next();
      if (state === 4) match((high << 2) + (instruction >> 2) + 2049, 3);
      else match((high << 2) + (instruction >> 2) + 1, 2);
      trailing = instruction & 3;
    } else if (instruction < 32) {
      const length = extended(instruction & 7, 2, 7);
      const low = next();
      const high = next();
      const distance = 16384 + ((instruction & 8) << 11) + (high << 6) + (low >> 2);
      if (distance === 16384) return op;
      match(distance, length);
      trailing = low & 3;
    } else if (instruction < 64) {
      const length = extended(instruction & 31, 2, 31);
      const low = next();
      const high = next();
      match((high << 6) + (low >> 2) + 1, length);
      trailing = low & 3;
    } else {
      const high = next();
      const length = instruction < 128 ? 3 + ((instruction >> 5) & 1) : 5 + ((instruction >> 5) & 3);
      match((high << 3) + ((instruction >> 2) & 7) + 1, length);
      trailing = instruction & 3;
    }
    literals(trailing);
    state = trailing;
  }
}
