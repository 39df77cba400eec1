/**
 * The integrity checks an `.xz` stream may carry after each block (xz-file-format §3.4):
 * CRC32 (ID 0x01), CRC64 (ID 0x04, ECMA-182 polynomial, reflected) and SHA-256 (ID 0x0A),
 * computed piece by piece as the decoded bytes go by. SHA-256 is FIPS 180-4 written out
 * here because `crypto.subtle.digest` cannot be fed incrementally.
 *
 * @module
 */
import { crc32 } from '../../src/bytes.js';

/** An incremental hash of a block's decoded bytes. */
export interface BlockCheck {
  /** Adds bytes. */
  update(bytes: Uint8Array): void;
  /** The check as it is stored after the block (little-endian for the CRCs). */
  digest(): Uint8Array;
}

/** Size in bytes of the check field for each check ID (xz-file-format §2.1.1.2: 0, then 4, 8, 16, 32, 64 in groups of three). */
export function checkSize(checkId: number): number {
  if (checkId === 0) return 0;
  return 4 * 2 ** Math.floor((checkId - 1) / 3);
}

/** A name for the check ID, for results and messages. */
export function checkName(checkId: number): string {
  return ({ 0: 'none', 1: 'CRC32', 4: 'CRC64', 10: 'SHA-256' } as Record<number, string>)[checkId] ?? `unknown (${checkId})`;
}

/** A hasher for `checkId`, or `undefined` for none and for the IDs xz reserves (their field is skipped unverified, as `xz` does with a warning). */
export function createBlockCheck(checkId: number): BlockCheck | undefined {
  if (checkId === 1) return new Crc32Check();
  if (checkId === 4) return new Crc64Check();
  if (checkId === 10) return new Sha256Check();
  return undefined;
}

class Crc32Check implements BlockCheck {
  private value = 0;
  update(bytes: Uint8Array): void {
    this.value = crc32(bytes, this.value);
  }
  digest(): Uint8Array {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, this.value, true);
    return out;
  }
}

// Int32Array, not Uint32Array: values above 2^31 would leave V8's small-integer fast path.
let crc64Low: Int32Array | undefined;
let crc64High: Int32Array | undefined;

/** CRC-64/XZ: polynomial 0x42f0e1eba9ea3693 reflected (0xc96c5795d7870f42), initial and final XOR all ones; kept as two 32-bit halves (no bigint in the loop). */
class Crc64Check implements BlockCheck {
  private low = 0xffffffff;
  private high = 0xffffffff;

  constructor() {
    if (crc64Low === undefined) {
      crc64Low = new Int32Array(256);
      crc64High = new Int32Array(256);
      for (let index = 0; index < 256; index += 1) {
        let low = index;
        let high = 0;
        for (let bit = 0; bit < 8; bit += 1) {
          const carry = low & 1;
          low = ((low >>> 1) | ((high & 1) << 31)) >>> 0;
          high >>>= 1;
          if (carry) {
            low = (low ^ 0xd7870f42) >>> 0;
            high = (high ^ 0xc96c5795) >>> 0;
          }
        }
        crc64Low[index] = low;
        crc64High[index] = high;
      }
    }
  }

  update(bytes: Uint8Array): void {
    const tableLow = crc64Low as Int32Array;
    const tableHigh = crc64High as Int32Array;
    let low = this.low | 0;
    let high = this.high | 0;
    for (let index = 0, end = bytes.byteLength; index < end; index += 1) {
      const entry = (low ^ (bytes[index] as number)) & 0xff;
      low = ((low >>> 8) | (high << 24)) ^ (tableLow[entry] as number);
      high = (high >>> 8) ^ (tableHigh[entry] as number);
    }
    this.low = low >>> 0;
    this.high = high >>> 0;
  }

  digest(): Uint8Array {
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint32(0, ~this.low >>> 0, true);
    view.setUint32(4, ~this.high >>> 0, true);
    return out;
  }
}

/** SHA-256's round constants (FIPS 180-4 §4.2.2): the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const sha256Rounds = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

class Sha256Check implements BlockCheck {
  private readonly hash = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  private readonly block = new Uint8Array(64);
  private readonly words = new Uint32Array(64);
  private blockLength = 0;
  private totalLength = 0;

  update(bytes: Uint8Array): void {
    this.totalLength += bytes.byteLength;
    let offset = 0;
    while (offset < bytes.byteLength) {
      const count = Math.min(64 - this.blockLength, bytes.byteLength - offset);
      this.block.set(bytes.subarray(offset, offset + count), this.blockLength);
      this.blockLength += count;
      offset += count;
      if (this.blockLength === 64) {
        this.compress();
        this.blockLength = 0;
      }
    }
  }

  digest(): Uint8Array {
    const bits = this.totalLength * 8;
    const padding = new Uint8Array((this.blockLength < 56 ? 56 : 120) - this.blockLength + 8);
    padding[0] = 0x80;
    const view = new DataView(padding.buffer);
    view.setUint32(padding.byteLength - 8, Math.floor(bits / 2 ** 32));
    view.setUint32(padding.byteLength - 4, bits >>> 0);
    const total = this.totalLength;
    this.update(padding);
    this.totalLength = total;
    const out = new Uint8Array(32);
    const outView = new DataView(out.buffer);
    for (let index = 0; index < 8; index += 1) outView.setUint32(index * 4, this.hash[index] as number);
    return out;
  }

  private compress(): void {
    const w = this.words;
    const block = this.block;
    for (let index = 0; index < 16; index += 1) {
      w[index] = ((block[index * 4] as number) << 24) | ((block[index * 4 + 1] as number) << 16) | ((block[index * 4 + 2] as number) << 8) | (block[index * 4 + 3] as number);
    }
    for (let index = 16; index < 64; index += 1) {
      const a = w[index - 15] as number;
      const b = w[index - 2] as number;
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[index] = ((w[index - 16] as number) + s0 + (w[index - 7] as number) + s1) | 0;
    }
    const hash = this.hash;
    let [a, b, c, d, e, f, g, h] = hash as unknown as [number, number, number, number, number, number, number, number];
    for (let index = 0; index < 64; index += 1) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const choose = (e & f) ^ (~e & g);
      const t1 = (h + s1 + choose + (sha256Rounds[index] as number) + (w[index] as number)) | 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const majority = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (s0 + majority) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    hash[0] = (hash[0] as number) + a;
    hash[1] = (hash[1] as number) + b;
    hash[2] = (hash[2] as number) + c;
    hash[3] = (hash[3] as number) + d;
    hash[4] = (hash[4] as number) + e;
    hash[5] = (hash[5] as number) + f;
    hash[6] = (hash[6] as number) + g;
    hash[7] = (hash[7] as number) + h;
  }
}
