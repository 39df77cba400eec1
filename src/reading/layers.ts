/**
 * Readers built on readers: the backends of layers.
 *
 * | layer | backend | over a random-access parent | over a stream |
 * | --- | --- | --- | --- |
 * | a stored archive member, a partition | {@link sliceBackend} | a range backend: only the member's ranges are read | a stream of the member's bytes, pulled from the parent in order |
 * | a compressed stream, a deflated member | {@link decodedBackend} | a stream of decoded bytes, the compressed ones pulled in order | the same |
 *
 * A layer's reader applies the usual rules (order, budget, abort) to its own bytes; it
 * shares the introspection's budget with the reader below it. Bytes taken from the
 * outermost source are counted there (`bytesRead`), however many layers sit above.
 *
 * @module
 */
import { fieldError } from '../errors.js';
import type { Backend } from './backend.js';
import type { ChunkSource } from './chunks.js';
import { type Budget, type Reader, budgetError } from './reader.js';
import { StreamBackend } from './stream-backend.js';

/** How much of a parent stream a layer pulls at once. */
const PULL_BYTES = 64 * 1024;

/** Bytes `[offset, offset + length)` of `parent`, pulled in order, as chunks. */
function chunksOfRange(parent: Reader, offset: number, length: number | undefined): ChunkSource & { readonly position: number } {
  let position = offset;
  const end = length === undefined ? Number.MAX_SAFE_INTEGER : offset + length;
  let done = false;
  return {
    get position() {
      return position;
    },
    async next() {
      if (done || position >= end) return null;
      const want = Math.min(PULL_BYTES, end - position, Math.max(4096, parent.maxReadLength));
      const bytes = await parent.readAvailable(position, want, 'layer');
      if (bytes.byteLength === 0) {
        done = true;
        return null;
      }
      position += bytes.byteLength;
      return bytes;
    },
    async release() {
      done = true;
    },
  };
}

/**
 * The bytes `[offset, offset + length)` of `parent` (an archive member stored as is): by
 * random access where the parent allows it, else as a stream. The member ends where the
 * parent does if that comes first (its reads then come back short: `TRUNCATED`).
 */
export function sliceBackend(parent: Reader, offset: number, length: number): Backend {
  const below = parent.backend;
  if (below.randomAccess && below.size !== undefined) {
    const size = Math.max(0, Math.min(length, below.size - offset));
    return {
      randomAccess: true,
      size,
      get bytesTaken() {
        return 0;
      },
      fetch: (start, count, field) => below.fetch(offset + start, Math.max(0, Math.min(count, size - start)), field),
      retainStart: async () => undefined,
      seekEnd: async () => size,
      release: async () => undefined,
      ...(below.prefetch === undefined
        ? {}
        : { prefetch: (ranges: readonly { offset: number; length: number }[]) => (below.prefetch as NonNullable<Backend['prefetch']>)(ranges.map((range) => ({ offset: offset + range.offset, length: range.length }))) }),
      ...(below.expect === undefined
        ? {}
        : { expect: (ranges: readonly { offset: number; length: number }[]) => (below.expect as NonNullable<Backend['expect']>)(ranges.map((range) => ({ offset: offset + range.offset, length: range.length }))) }),
    };
  }
  return new StreamBackend(chunksOfRange(parent, offset, length));
}

/** A streaming decoder as the decoded layer drives it (`containers/codecs/codec.ts` `StreamDecoder`). */
export interface LayerDecoder {
  write(compressed: Uint8Array): void;
  finish(): void;
  read(): { kind: 'data'; bytes: Uint8Array } | { kind: 'needs-input' } | { kind: 'end'; trailing: Uint8Array };
  readonly compressedBytesConsumed: number;
  readonly decodedBytesProduced: number;
  readonly heldBytes: number;
  readonly windowBytes: number;
}

/** What a decoded layer has done so far. */
export interface DecodedLayerStats {
  /** Compressed bytes the decoder consumed (the stream's length once it ended). */
  readonly compressedBytes: number;
  /** Decoded bytes produced. */
  readonly decodedBytes: number;
  /** True once the compressed stream ended. */
  readonly ended: boolean;
  /** Input after the compressed stream's end, if it ended (the caller decides whether that is allowed). */
  readonly trailing: Uint8Array | undefined;
}

/** Limits on one decoded layer. */
export interface DecodeLimits {
  /** The most decoded bytes the layer may produce before `LIMIT_EXCEEDED` (the cap on decompression work). */
  maxDecodedBytes: number;
  /** The shared budget the decoder's window and buffers are charged to. */
  budget: Budget;
  /** What the layer is, for errors (`gzip`, `xz`...). */
  field: string;
}

/**
 * The decoded bytes of the compressed stream that starts at `offset` of `parent` (and runs
 * `length` bytes, or to the parent's end), as a stream. The decoder is made on first use;
 * its window and buffers count against the shared budget; decoding stops with
 * `LIMIT_EXCEEDED` past `maxDecodedBytes`.
 */
export function decodedBackend(
  parent: Reader,
  offset: number,
  length: number | undefined,
  makeDecoder: () => Promise<LayerDecoder>,
  limits: DecodeLimits,
): { backend: Backend; stats(): DecodedLayerStats } {
  const input = chunksOfRange(parent, offset, length);
  const share = limits.budget.holder();
  let decoder: LayerDecoder | undefined;
  let ended = false;
  // Released before its end (the answer came early): no more chunks, but the stream did not end.
  let released = false;
  let trailing: Uint8Array | undefined;
  let inputDone = false;
  const chunks: ChunkSource = {
    async next() {
      if (ended || released) return null;
      decoder ??= await makeDecoder();
      for (;;) {
        const step = decoder.read();
        share.held = decoder.windowBytes + decoder.heldBytes;
        if (limits.budget.held > limits.budget.limit) {
          throw budgetError(limits.field, `the decoder's window and buffers (${share.held} bytes) do not fit in maxBufferBytes (${limits.budget.limit}) beside what is kept; raise maxBufferBytes`);
        }
        if (step.kind === 'data') {
          if (decoder.decodedBytesProduced > limits.maxDecodedBytes) {
            throw fieldError('LIMIT_EXCEEDED', limits.field, `decompresses to more than ${limits.maxDecodedBytes} bytes (maxDecompressedBytes)`);
          }
          return step.bytes;
        }
        if (step.kind === 'end') {
          ended = true;
          trailing = step.trailing;
          return null;
        }
        if (inputDone) {
          decoder.finish();
          continue;
        }
        const more = await input.next();
        if (more === null) {
          inputDone = true;
          decoder.finish();
        } else {
          decoder.write(more);
        }
      }
    },
    async release() {
      released = true;
      limits.budget.drop(share);
      await input.release();
    },
  };
  return {
    backend: new StreamBackend(chunks),
    stats: () => ({
      compressedBytes: decoder?.compressedBytesConsumed ?? 0,
      decodedBytes: decoder?.decodedBytesProduced ?? 0,
      ended,
      trailing,
    }),
  };
}

/**
 * One piece of a mapped layer: `length` bytes of the layer at `offset` are the parent's
 * bytes at `at`, or zeros where `at` is `undefined` (a hole).
 */
export interface MappedExtent {
  readonly offset: number;
  readonly length: number;
  readonly at?: number | undefined;
}

/** Zeros handed out for holes, shared (never written into: readers hand out views readers must not write). */
const ZEROS = new Uint8Array(PULL_BYTES);

/**
 * A layer whose bytes are pieces of the parent's, in a map: a sparse archive member (its
 * stored regions, holes between), and later the guest disk behind a format's tables.
 * Extents must be sorted by `offset` and not overlap; anything the map does not cover up to
 * `size` reads as zeros. Over a stream parent the extents' `at` must ascend too (they do for
 * an archive member).
 */
export function mappedBackend(parent: Reader, extents: readonly MappedExtent[], size: number): Backend {
  const below = parent.backend;
  const sorted = checkedExtents(extents, size);
  if (below.randomAccess) {
    return {
      randomAccess: true,
      size,
      get bytesTaken() {
        return 0;
      },
      async fetch(start, count, field) {
        const end = Math.min(size, start + count);
        if (start >= end) return new Uint8Array(0);
        const result = new Uint8Array(end - start);
        let index = firstExtentEndingAfter(sorted, start);
        for (let extent = sorted[index]; extent !== undefined && extent.offset < end; extent = sorted[++index]) {
          if (extent.at === undefined) continue;
          const from = Math.max(start, extent.offset);
          const to = Math.min(end, extent.offset + extent.length);
          if (from >= to) continue;
          const bytes = await below.fetch(extent.at + (from - extent.offset), to - from, field);
          result.set(bytes, from - start);
        }
        return result;
      },
      retainStart: async () => undefined,
      seekEnd: async () => size,
      release: async () => undefined,
    };
  }
  let position = 0;
  let index = 0;
  const chunks: ChunkSource = {
    async next() {
      if (position >= size) return null;
      while (sorted[index] !== undefined && (sorted[index] as MappedExtent).offset + (sorted[index] as MappedExtent).length <= position) index += 1;
      const extent = sorted[index];
      if (extent === undefined || extent.offset > position || extent.at === undefined) {
        // A hole: zeros up to the next extent (or the end).
        const holeEnd = extent === undefined ? size : extent.at === undefined ? extent.offset + extent.length : extent.offset;
        const length = Math.min(PULL_BYTES, Math.min(holeEnd, size) - position);
        position += length;
        return ZEROS.subarray(0, length);
      }
      const want = Math.min(PULL_BYTES, extent.offset + extent.length - position, size - position);
      const bytes = await parent.readAvailable(extent.at + (position - extent.offset), want, 'layer');
      if (bytes.byteLength === 0) return null;
      position += bytes.byteLength;
      return bytes;
    },
    async release() {
      position = size;
    },
  };
  return new StreamBackend(chunks);
}

/** Most pieces one mapped layer may have (a sparse member's map, an LVM volume's segments). */
export const MAX_MAPPED_EXTENTS = 1 << 20;

/** The extents sorted, each within the layer, none overlapping another (the map comes from an image: `CORRUPT` otherwise). */
function checkedExtents(extents: readonly MappedExtent[], size: number): MappedExtent[] {
  if (!Number.isSafeInteger(size) || size < 0) throw fieldError('CORRUPT', 'layer map', `${size} is not a byte count`);
  if (extents.length > MAX_MAPPED_EXTENTS) throw fieldError('LIMIT_EXCEEDED', 'layer map', `${extents.length} pieces, more than ${MAX_MAPPED_EXTENTS}`);
  const sorted = [...extents].sort((a, b) => a.offset - b.offset);
  let end = 0;
  for (const extent of sorted) {
    const numbers = [extent.offset, extent.length, extent.offset + extent.length, ...(extent.at === undefined ? [] : [extent.at, extent.at + extent.length])];
    if (!numbers.every((value) => Number.isSafeInteger(value) && value >= 0)) throw fieldError('CORRUPT', 'layer map', `a piece at ${extent.offset} of ${extent.length} bytes is out of range`);
    if (extent.offset < end) throw fieldError('CORRUPT', 'layer map', `the piece at ${extent.offset} overlaps the one before it (which ends at ${end})`);
    if (extent.offset + extent.length > size) throw fieldError('CORRUPT', 'layer map', `the piece at ${extent.offset} of ${extent.length} bytes runs past the layer's end (${size})`);
    end = extent.offset + extent.length;
  }
  return sorted;
}

/** The index of the first extent whose end lies after `offset` (binary search). */
function firstExtentEndingAfter(extents: readonly MappedExtent[], offset: number): number {
  let low = 0;
  let high = extents.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const extent = extents[middle] as MappedExtent;
    if (extent.offset + extent.length <= offset) low = middle + 1;
    else high = middle;
  }
  return low;
}
