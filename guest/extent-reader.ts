/**
 * A {@link ByteReader} over a volume assembled from pieces of other readers: a logical
 * volume made of extents of a physical volume (LVM2), and later any layered mapping.
 *
 * Self-contained on purpose: the core's layered readers will replace it.
 *
 * @module
 */
import { fieldError } from '../src/errors.js';
import type { ByteReader } from '../src/format-module.js';

/** One piece: `length` bytes at `offset` of the assembled volume are `length` bytes at `targetOffset` of `target`. */
export interface ExtentMapping {
  offset: number;
  length: number;
  target: ByteReader;
  targetOffset: number;
}

/** Most pieces one reader maps (an LVM logical volume rarely has more than a handful of segments). */
export const MAX_EXTENT_MAPPINGS = 65_536;

/**
 * Reads an assembled volume of `size` bytes. Pieces must be sorted, must not overlap and
 * must lie within `size`; bytes no piece covers read as zeros.
 */
export class ExtentReader implements ByteReader {
  private readonly mappings: readonly ExtentMapping[];

  constructor(
    mappings: readonly ExtentMapping[],
    readonly size: number,
    /** Names the volume in error messages, e.g. `LV vg0/root`. */
    private readonly label: string,
  ) {
    if (!Number.isSafeInteger(size) || size < 0) throw fieldError('INVALID_ARGUMENT', `${label} size`, `${size} is not a byte count`);
    if (mappings.length > MAX_EXTENT_MAPPINGS) throw fieldError('LIMIT_EXCEEDED', label, `${mappings.length} pieces are above ${MAX_EXTENT_MAPPINGS}`);
    let end = 0;
    for (const mapping of mappings) {
      const valid = [mapping.offset, mapping.length, mapping.targetOffset, mapping.offset + mapping.length, mapping.targetOffset + mapping.length].every(
        (value) => Number.isSafeInteger(value) && value >= 0,
      );
      if (!valid || mapping.length === 0 || mapping.offset < end || mapping.offset + mapping.length > size) {
        throw fieldError('CORRUPT', label, `piece ${mapping.offset}+${mapping.length} overlaps another, is empty or lies outside the volume's ${size} bytes`);
      }
      end = mapping.offset + mapping.length;
    }
    this.mappings = mappings;
  }

  /** True when every target is random-access. */
  get randomAccess(): boolean {
    return this.mappings.every((mapping) => mapping.target.randomAccess);
  }

  /** The most bytes one read may ask for: the smallest of the targets' limits. */
  get maxReadLength(): number {
    return this.mappings.reduce((limit, mapping) => Math.min(limit, mapping.target.maxReadLength), Number.MAX_SAFE_INTEGER);
  }

  async totalSize(): Promise<number> {
    return this.size;
  }

  async read(offset: number, length: number, field: string): Promise<Uint8Array> {
    const bytes = await this.readAvailable(offset, length, field);
    if (bytes.byteLength < length) {
      throw fieldError('TRUNCATED', field, `needs bytes ${offset}..${offset + length}, but ${this.label} ends at ${this.size}`, offset);
    }
    return bytes;
  }

  async readAvailable(offset: number, length: number, field: string): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0 || !Number.isSafeInteger(offset + length)) {
      throw fieldError('CORRUPT', field, `${length} bytes at ${offset} is not a valid range of ${this.label}`);
    }
    if (length > this.maxReadLength) throw fieldError('LIMIT_EXCEEDED', field, `reading ${length} bytes would exceed the buffer budget (${this.maxReadLength} bytes)`, offset);
    const end = Math.min(offset + length, this.size);
    if (offset >= end) return new Uint8Array(0);
    const out = new Uint8Array(end - offset);
    let index = this.firstMappingEndingAfter(offset);
    for (; index < this.mappings.length; index += 1) {
      const mapping = this.mappings[index] as ExtentMapping;
      if (mapping.offset >= end) break;
      const from = Math.max(offset, mapping.offset);
      const to = Math.min(end, mapping.offset + mapping.length);
      const piece = await mapping.target.read(mapping.targetOffset + (from - mapping.offset), to - from, field);
      out.set(piece, from - offset);
    }
    return out;
  }

  /** Index of the first piece whose end is past `offset` (binary search). */
  private firstMappingEndingAfter(offset: number): number {
    let low = 0;
    let high = this.mappings.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      const mapping = this.mappings[middle] as ExtentMapping;
      if (mapping.offset + mapping.length <= offset) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
