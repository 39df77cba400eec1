import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32, crc32c, isAllZero } from '../../src/bytes.js';

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
