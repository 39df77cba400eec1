import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bitsSet, bytesEqual, crc32, crc32c, crc32MsbFirst, isAllZero, latin1Bytes } from '../../src/bytes.js';

describe('byte helpers', () => {
  it('CRC-32 agrees with zlib for any bytes, aligned or not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 7 }), (bytes, shift) => {
        const view = bytes.subarray(Math.min(shift, bytes.byteLength));
        expect(crc32(view)).toBe(zlibCrc32(view) >>> 0);
      }),
      { numRuns: 300 },
    );
  });

  it('CRC-32C gives the published check value and the iSCSI test vectors (RFC 3720 B.4)', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, index) => index))).toBe(0x46dd794e);
  });

  // A CRC over bytes ending in a long run of zeros folds the run in by matrix steps instead
  // of the table loop (src/bytes.ts): these compare it with zlib's CRC-32 and with the
  // CRC-32C written out bit by bit from its definition (RFC 3720 B.4's polynomial).
  const bitwiseCrc32c = (bytes: Uint8Array, previous = 0): number => {
    let crc = ~previous >>> 0;
    for (const byte of bytes) {
      crc ^= byte;
      for (let bit = 0; bit < 8; bit += 1) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
    return ~crc >>> 0;
  };
  const withZeroTail = fc
    .tuple(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 70_000 }), fc.nat({ max: 7 }), fc.nat({ max: 7 }))
    .map(([data, zeros, shift, trailingShift]) => {
      const buffer = new Uint8Array(shift + data.byteLength + zeros + trailingShift);
      buffer.set(data, shift);
      return buffer.subarray(shift, shift + data.byteLength + zeros);
    });

  it('CRC-32 of bytes with a long run of zeros at the end agrees with zlib, aligned or not', () => {
    fc.assert(
      fc.property(withZeroTail, fc.nat({ max: 0xffffffff }), (view, previous) => {
        expect(crc32(view, previous)).toBe(zlibCrc32(view, previous) >>> 0);
      }),
      { numRuns: 150 },
    );
  });

  it('CRC-32C of bytes with a long run of zeros at the end agrees with the bitwise definition', () => {
    fc.assert(
      fc.property(withZeroTail, fc.nat({ max: 0xffffffff }), (view, previous) => {
        expect(crc32c(view, previous)).toBe(bitwiseCrc32c(view, previous));
      }),
      { numRuns: 60 },
    );
    // A single non-zero byte at every distance from the end of a 4 KiB block.
    for (const at of [0, 1, 3, 4, 7, 511, 512, 513, 4090, 4095]) {
      const block = new Uint8Array(4096);
      block[at] = 0x5a;
      expect(crc32c(block)).toBe(bitwiseCrc32c(block));
    }
    expect(crc32c(new Uint8Array(65536))).toBe(bitwiseCrc32c(new Uint8Array(65536)));
  });

  // The MSB-first CRC (bzip2's block check) folds zero runs of 256 bytes or more by the
  // reflected CRC's operators on the bit-reversed register: compared with the definition
  // written out bit by bit, on data interleaved with zero runs of every length around the
  // threshold, at every alignment, from any register.
  const bitwiseMsbFirst = (bytes: Uint8Array, register: number): number => {
    let crc = register | 0;
    for (const byte of bytes) {
      crc ^= byte << 24;
      for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
    }
    return crc | 0;
  };
  const piece = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 3000 }).map((zeros) => new Uint8Array(zeros)));
  const zeroRuns = fc.tuple(fc.array(piece, { maxLength: 8 }), fc.nat({ max: 7 })).map(([pieces, shift]) => {
    const length = pieces.reduce((sum, part) => sum + part.byteLength, 0);
    const buffer = new Uint8Array(shift + length);
    let at = shift;
    for (const part of pieces) {
      buffer.set(part, at);
      at += part.byteLength;
    }
    return buffer.subarray(shift);
  });

  it('the MSB-first CRC-32 agrees with its bitwise definition, zero runs folded or not', () => {
    fc.assert(
      fc.property(zeroRuns, fc.integer({ min: -0x80000000, max: 0x7fffffff }), (view, register) => {
        expect(crc32MsbFirst(view, register)).toBe(bitwiseMsbFirst(view, register));
      }),
      { numRuns: 300 },
    );
    // bzip2's check of "123456789" (CRC-32/BZIP2: start 0xffffffff, inverted at the end).
    expect(~crc32MsbFirst(new TextEncoder().encode('123456789'), -1) >>> 0).toBe(0xfc891918);
    for (const zeros of [255, 256, 257, 1 << 20]) expect(crc32MsbFirst(new Uint8Array(zeros), -1)).toBe(bitwiseMsbFirst(new Uint8Array(zeros), -1));
  });

  it('bitsSet lists the set bits of any 64-bit mask, lowest first', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (mask) => {
        const expected: number[] = [];
        for (let bit = 0; bit < 64; bit += 1) if ((mask >> BigInt(bit)) & 1n) expected.push(bit);
        expect(bitsSet(mask)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
    expect(bitsSet(1n << 63n)).toEqual([63]);
    expect(bitsSet((1n << 31n) | (1n << 32n))).toEqual([31, 32]);
  });

  it('bytesEqual compares a Latin-1 string as the bytes it stands for', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.string({ maxLength: 8, unit: fc.integer({ min: 0, max: 255 }).map((code) => String.fromCharCode(code)) }), fc.integer({ min: -2, max: 45 }), (bytes, text, offset) => {
        expect(bytesEqual(bytes, offset, text)).toBe(bytesEqual(bytes, offset, latin1Bytes(text)));
        if (offset >= 0 && offset + text.length <= bytes.byteLength) {
          const copy = bytes.slice();
          copy.set(latin1Bytes(text), offset);
          expect(bytesEqual(copy, offset, text)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('isAllZero finds a non-zero byte anywhere, aligned or not', () => {
    fc.assert(
      fc.property(fc.nat({ max: 5000 }), fc.nat({ max: 7 }), fc.integer({ min: 1, max: 255 }), (length, shift, value) => {
        const buffer = new Uint8Array(length + 8);
        const view = buffer.subarray(shift, shift + length);
        expect(isAllZero(view)).toBe(true);
        if (length > 0) {
          view[length - 1] = value;
          expect(isAllZero(view)).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });
});
