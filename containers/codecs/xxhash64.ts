/**
 * XXH64 (Yann Collet's xxHash, 64-bit variant, as `xxhash_spec.md` defines it), computed
 * piece by piece, for Zstandard's Content_Checksum (the low 32 bits of XXH64 of the frame's
 * content, seed 0). 64-bit words are kept as two unsigned 32-bit halves, so no bigint runs
 * in the loop.
 *
 * @module
 */

// The five primes, as [high, low] halves.
const P1_HIGH = 0x9e3779b1;
const P1_LOW = 0x85ebca87;
const P2_HIGH = 0xc2b2ae3d;
const P2_LOW = 0x27d4eb4f;
const P3_HIGH = 0x165667b1;
const P3_LOW = 0x9e3779f9;
const P4_HIGH = 0x85ebca77;
const P4_LOW = 0xc2b2ae63;
const P5_HIGH = 0x27d4eb2f;
const P5_LOW = 0x165667c5;

// Results of the helpers below (module-level, so that no pair is allocated per step).
let high = 0;
let low = 0;

/**
 * (aHigh:aLow) × (bHigh:bLow) mod 2^64 into high:low: the low halves' full product from
 * 16-bit pieces (every partial product fits a double exactly, and no step needs a division),
 * the cross terms' low 32 bits from Math.imul.
 */
function multiply(aHigh: number, aLow: number, bHigh: number, bLow: number): void {
  const a0 = aLow & 0xffff;
  const a1 = aLow >>> 16;
  const b0 = bLow & 0xffff;
  const b1 = bLow >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const middle = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  low = (((middle & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  high = (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (middle >>> 16) + Math.imul(aHigh, bLow) + Math.imul(aLow, bHigh)) >>> 0;
}

/** (aHigh:aLow) + (bHigh:bLow) mod 2^64 into high:low. */
function add(aHigh: number, aLow: number, bHigh: number, bLow: number): void {
  const sum = aLow + bLow;
  low = sum >>> 0;
  high = (aHigh + bHigh + (sum > 0xffffffff ? 1 : 0)) >>> 0;
}

/** Rotate (aHigh:aLow) left by `bits` (1..31) into high:low. */
function rotateLeft(aHigh: number, aLow: number, bits: number): void {
  high = ((aHigh << bits) | (aLow >>> (32 - bits))) >>> 0;
  low = ((aLow << bits) | (aHigh >>> (32 - bits))) >>> 0;
}

/** XXH64's round: acc = rotl(acc + input × P2, 31) × P1, into high:low. */
function round(accHigh: number, accLow: number, inputHigh: number, inputLow: number): void {
  multiply(inputHigh, inputLow, P2_HIGH, P2_LOW);
  add(accHigh, accLow, high, low);
  rotateLeft(high, low, 31);
  multiply(high, low, P1_HIGH, P1_LOW);
}

/** An incremental XXH64 with seed 0. */
export class Xxhash64 {
  // Four accumulators, as high/low pairs: v1 = P1 + P2, v2 = P2, v3 = 0, v4 = -P1.
  private readonly lanes = new Uint32Array(8);
  private readonly stripe = new Uint8Array(32);
  private stripeLength = 0;
  private total = 0;

  constructor() {
    add(P1_HIGH, P1_LOW, P2_HIGH, P2_LOW);
    this.lanes.set([high, low, P2_HIGH, P2_LOW, 0, 0, ~P1_HIGH >>> 0, (-P1_LOW) >>> 0] /* P1's low half is not 0, so no carry into the high half */);
  }

  /** Adds bytes. */
  update(bytes: Uint8Array): void {
    this.total += bytes.byteLength;
    let offset = 0;
    if (this.stripeLength > 0) {
      const count = Math.min(32 - this.stripeLength, bytes.byteLength);
      this.stripe.set(bytes.subarray(0, count), this.stripeLength);
      this.stripeLength += count;
      offset = count;
      if (this.stripeLength < 32) return;
      this.consume(this.stripe, 0);
      this.stripeLength = 0;
    }
    // The length hoisted: V8 re-reads a typed array's byteLength on every test of a loop condition.
    for (const length = bytes.byteLength; offset + 32 <= length; offset += 32) this.consume(bytes, offset);
    this.stripe.set(bytes.subarray(offset), 0);
    this.stripeLength = bytes.byteLength - offset;
  }

  /** The low 32 bits of the hash (what Zstandard stores). */
  digestLow32(): number {
    this.digest();
    return low;
  }

  /** One 32-byte stripe: each lane takes a round with its 8 bytes, written out inline (this is the hot loop). */
  private consume(bytes: Uint8Array, offset: number): void {
    const lanes = this.lanes;
    for (let lane = 0; lane < 8; lane += 2) {
      const at = offset + lane * 4;
      const inLow = word(bytes, at);
      const inHigh = word(bytes, at + 4);
      // input × P2
      let a0 = inLow & 0xffff;
      let a1 = inLow >>> 16;
      let p00 = a0 * (P2_LOW & 0xffff);
      let p01 = a0 * (P2_LOW >>> 16);
      let p10 = a1 * (P2_LOW & 0xffff);
      let middle = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
      let productLow = (((middle & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
      let productHigh = a1 * (P2_LOW >>> 16) + (p01 >>> 16) + (p10 >>> 16) + (middle >>> 16) + Math.imul(inHigh, P2_LOW) + Math.imul(inLow, P2_HIGH);
      // + accumulator
      const sumLow = (lanes[lane + 1] as number) + productLow;
      const sumHigh = ((lanes[lane] as number) + productHigh + (sumLow > 0xffffffff ? 1 : 0)) >>> 0;
      const lowSum = sumLow >>> 0;
      // rotate left 31
      const rotatedHigh = ((sumHigh << 31) | (lowSum >>> 1)) >>> 0;
      const rotatedLow = ((lowSum << 31) | (sumHigh >>> 1)) >>> 0;
      // × P1
      a0 = rotatedLow & 0xffff;
      a1 = rotatedLow >>> 16;
      p00 = a0 * (P1_LOW & 0xffff);
      p01 = a0 * (P1_LOW >>> 16);
      p10 = a1 * (P1_LOW & 0xffff);
      middle = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
      productLow = (((middle & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
      productHigh = a1 * (P1_LOW >>> 16) + (p01 >>> 16) + (p10 >>> 16) + (middle >>> 16) + Math.imul(rotatedHigh, P1_LOW) + Math.imul(rotatedLow, P1_HIGH);
      lanes[lane] = productHigh >>> 0;
      lanes[lane + 1] = productLow;
    }
  }

  /** The whole 64-bit hash into high:low (xxhash_spec.md §"Step 3" to §"Step 6"). */
  private digest(): void {
    const lanes = this.lanes;
    let hashHigh: number;
    let hashLow: number;
    if (this.total >= 32) {
      rotateLeft(lanes[0] as number, lanes[1] as number, 1);
      let accHigh = high;
      let accLow = low;
      for (const [lane, bits] of [[1, 7], [2, 12], [3, 18]] as const) {
        rotateLeft(lanes[lane * 2] as number, lanes[lane * 2 + 1] as number, bits);
        add(accHigh, accLow, high, low);
        accHigh = high;
        accLow = low;
      }
      for (let lane = 0; lane < 4; lane += 1) {
        round(0, 0, lanes[lane * 2] as number, lanes[lane * 2 + 1] as number);
        accHigh = (accHigh ^ high) >>> 0;
        accLow = (accLow ^ low) >>> 0;
        multiply(accHigh, accLow, P1_HIGH, P1_LOW);
        add(high, low, P4_HIGH, P4_LOW);
        accHigh = high;
        accLow = low;
      }
      hashHigh = accHigh;
      hashLow = accLow;
    } else {
      hashHigh = P5_HIGH;
      hashLow = P5_LOW;
    }
    add(hashHigh, hashLow, Math.floor(this.total / 0x100000000), this.total >>> 0);
    hashHigh = high;
    hashLow = low;
    const rest = this.stripe;
    let offset = 0;
    for (; offset + 8 <= this.stripeLength; offset += 8) {
      round(0, 0, word(rest, offset + 4), word(rest, offset));
      rotateLeft((hashHigh ^ high) >>> 0, (hashLow ^ low) >>> 0, 27);
      multiply(high, low, P1_HIGH, P1_LOW);
      add(high, low, P4_HIGH, P4_LOW);
      hashHigh = high;
      hashLow = low;
    }
    if (offset + 4 <= this.stripeLength) {
      multiply(0, word(rest, offset), P1_HIGH, P1_LOW);
      rotateLeft((hashHigh ^ high) >>> 0, (hashLow ^ low) >>> 0, 23);
      multiply(high, low, P2_HIGH, P2_LOW);
      add(high, low, P3_HIGH, P3_LOW);
      hashHigh = high;
      hashLow = low;
      offset += 4;
    }
    for (; offset < this.stripeLength; offset += 1) {
      multiply(0, rest[offset] as number, P5_HIGH, P5_LOW);
      rotateLeft((hashHigh ^ high) >>> 0, (hashLow ^ low) >>> 0, 11);
      multiply(high, low, P1_HIGH, P1_LOW);
      hashHigh = high;
      hashLow = low;
    }
    // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
    hashLow = (hashLow ^ (hashHigh >>> 1)) >>> 0;
    multiply(hashHigh, hashLow, P2_HIGH, P2_LOW);
    hashLow = (low ^ (((high << 3) >>> 0) | (low >>> 29))) >>> 0;
    hashHigh = (high ^ (high >>> 29)) >>> 0;
    multiply(hashHigh, hashLow, P3_HIGH, P3_LOW);
    high = high >>> 0;
    low = (low ^ high) >>> 0;
  }
}

/** Little-endian 32-bit word at `offset`. */
function word(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] as number) | ((bytes[offset + 1] as number) << 8) | ((bytes[offset + 2] as number) << 16) | ((bytes[offset + 3] as number) << 24)) >>> 0;
}
