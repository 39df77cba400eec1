/**
 * Reading several byte ranges of an image in ascending order of offset, for the VHD and
 * VHDX modules: VHD parent locator data, VHDX metadata items. Their offsets come from a
 * table in any order and may overlap (two locators sharing one buffer), while a stream
 * can only move forward; so the ranges are sorted, overlapping ones are merged into one
 * read, and each caller's range is cut out of the bytes read.
 *
 * @module
 */
import type { ByteReader } from '../../src/format-module.js';

/** One range a caller wants, named by `key`. */
export interface WantedRange<Key> {
  /** The caller's name for the range (returned as the key of the result). */
  readonly key: Key;
  /** Byte offset in the image. */
  readonly offset: number;
  /** Bytes wanted (0 gives an empty array without a read). */
  readonly length: number;
  /** What the range holds, for error messages. */
  readonly field: string;
}

interface MergedRange<Key> {
  offset: number;
  end: number;
  members: WantedRange<Key>[];
}

/**
 * Groups ranges sorted by offset so that overlapping ones share a read. Ranges that only
 * touch stay separate: merging them would make one read as long as a whole table of
 * neighbours.
 */
export function mergeOverlappingRanges<Key>(ranges: readonly WantedRange<Key>[]): MergedRange<Key>[] {
  const sorted = ranges.filter((range) => range.length > 0).sort((a, b) => a.offset - b.offset || a.length - b.length);
  const merged: MergedRange<Key>[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    const end = range.offset + range.length;
    if (last !== undefined && range.offset < last.end) {
      last.end = Math.max(last.end, end);
      last.members.push(range);
    } else {
      merged.push({ offset: range.offset, end, members: [range] });
    }
  }
  return merged;
}

/**
 * Reads every range (each exactly, or `TRUNCATED` naming its field) in ascending order of
 * offset, reading overlapping ranges once. The caller has capped each range's length.
 */
export async function readRangesInOrder<Key>(
  reader: ByteReader,
  ranges: readonly WantedRange<Key>[],
): Promise<Map<Key, Uint8Array>> {
  const result = new Map<Key, Uint8Array>();
  for (const range of ranges) if (range.length === 0) result.set(range.key, new Uint8Array(0));
  for (const group of mergeOverlappingRanges(ranges)) {
    const field = group.members.map((member) => member.field).join(' + ');
    const bytes = await reader.read(group.offset, group.end - group.offset, field);
    for (const member of group.members) {
      const start = member.offset - group.offset;
      result.set(member.key, bytes.subarray(start, start + member.length));
    }
  }
  return result;
}
