/**
 * 64-bit feature masks as the qcow family stores them (qcow2's incompatible, compatible
 * and autoclear features; QED's features), described for results: the mask as hex, the
 * names of its set bits, and the bits no reader of this version knows.
 *
 * @module
 */
import { bitsSet, hex } from '../../src/bytes.js';

/**
 * A feature mask as reported in details.
 *
 * | field | meaning |
 * | --- | --- |
 * | `mask` | the 64-bit mask, `0x`-prefixed hexadecimal (`'0x0'` when no bit is set) |
 * | `names` | one name per set bit, lowest bit first: the image's own name for it (qcow2's feature name table) when it has one, else the specification's, else `bit N` |
 * | `unknown` | the set bits that the specification (as of qemu 7.2) does not define, as a mask |
 */
export interface FeatureMask {
  mask: string;
  names: string[];
  unknown: string;
}

/**
 * Describes `mask`. `specified` names the bits the specification defines; `imageNames`
 * (optional) the names the image itself gives (qcow2's feature name table).
 */
export function describeFeatureMask(
  mask: bigint,
  specified: ReadonlyMap<number, string>,
  imageNames: ReadonlyMap<number, string> = new Map(),
): FeatureMask {
  let unknown = 0n;
  const names: string[] = [];
  for (const bit of bitsSet(mask)) {
    if (!specified.has(bit)) unknown |= 1n << BigInt(bit);
    names.push(imageNames.get(bit) ?? specified.get(bit) ?? `bit ${bit}`);
  }
  return { mask: hex(mask), names, unknown: hex(unknown) };
}

/** True when bit `bit` of `mask` is set. */
export function hasBit(mask: bigint, bit: number): boolean {
  return ((mask >> BigInt(bit)) & 1n) === 1n;
}
