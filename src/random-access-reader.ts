/**
 * A {@link ByteReader} over a random-access source: only the ranges asked for are read.
 *
 * The longest range read from offset 0 (up to 64 KiB) is kept, because every probe and most
 * headers look there; everything else is read on demand and not kept.
 *
 * @module
 */
import { asChunk, plainView, throwIfAborted } from './chunk-source.js';
import { IntrospectionError } from './errors.js';
import type { ByteReader } from './format-module.js';
import { checkRange } from './read-range.js';

/**
 * A source that can read any byte range: a file, a `Blob`, a buffer. The library never
 * closes it: the caller that opened it does.
 */
export interface RandomAccessSource {
  /** Total length in bytes. */
  readonly size: number;
  /** Reads `length` bytes at `offset`; may return fewer only at the end of the source. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** The longest read of the start that is kept for later reads. */
const MAX_HEAD_CACHE_BYTES = 64 * 1024;

export class RandomAccessReader implements ByteReader {
  readonly randomAccess = true;
  bytesRead = 0;
  private headCache: Uint8Array | undefined;

  constructor(
    private readonly source: RandomAccessSource,
    private readonly maxBufferBytes: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (!Number.isSafeInteger(source.size) || source.size < 0) {
      throw new IntrospectionError('INVALID_ARGUMENT', `the source's size ${source.size} is not a byte count`);
    }
  }

  get size(): number {
    return this.source.size;
  }

  get maxReadLength(): number {
    return Math.max(0, this.maxBufferBytes - (this.headCache?.byteLength ?? 0));
  }

  async read(offset: number, length: number, field: string): Promise<Uint8Array> {
    const bytes = await this.readAvailable(offset, length, field);
    if (bytes.byteLength < length) {
      throw new IntrospectionError(
        'TRUNCATED',
        `needs bytes ${offset}..${offset + length}, but the image ends at ${this.size}`,
        { field, offset },
      );
    }
    return bytes;
  }

  async readAvailable(offset: number, length: number, field: string): Promise<Uint8Array> {
    checkRange(offset, length, field, this.maxReadLength);
    const end = Math.min(offset + length, this.size);
    if (offset >= end) return new Uint8Array(0);
    if (this.headCache !== undefined && end <= this.headCache.byteLength) return this.headCache.subarray(offset, end);
    if (offset === 0 && end <= MAX_HEAD_CACHE_BYTES) {
      // Reads of the start are kept (the longest so far): every probe and most headers look there.
      this.headCache = await this.fetch(0, end, field);
      return this.headCache;
    }
    return this.fetch(offset, end - offset, field);
  }

  async totalSize(): Promise<number> {
    return this.size;
  }

  /** Nothing to release: a random-access source belongs to the caller, who closes it (if it needs closing). */
  async release(): Promise<void> {}

  private async fetch(offset: number, length: number, field: string): Promise<Uint8Array> {
    let bytes = await this.fetchOnce(offset, length, field);
    if (bytes.byteLength < length && bytes.byteLength > 0) {
      // A source may return a short read before its end (like read(2)); gather the rest.
      const parts = [bytes];
      let filled = bytes.byteLength;
      while (filled < length) {
        const more = await this.fetchOnce(offset + filled, length - filled, field);
        if (more.byteLength === 0) break;
        parts.push(more);
        filled += more.byteLength;
      }
      bytes = new Uint8Array(filled);
      let at = 0;
      for (const part of parts) {
        bytes.set(part, at);
        at += part.byteLength;
      }
    }
    return bytes;
  }

  private async fetchOnce(offset: number, length: number, field: string): Promise<Uint8Array> {
    throwIfAborted(this.signal);
    let bytes: unknown;
    try {
      bytes = await this.source.read(offset, length);
    } catch (error) {
      if (error instanceof IntrospectionError) throw error;
      const what = error instanceof Error ? error.message : String(error);
      throw new IntrospectionError('SOURCE_ERROR', `reading ${length} bytes at ${offset} failed: ${what}`, {
        field,
        offset,
        cause: error,
      });
    }
    throwIfAborted(this.signal);
    const chunk = plainView(asChunk(bytes));
    this.bytesRead += chunk.byteLength;
    return chunk.byteLength > length ? chunk.subarray(0, length) : chunk;
  }
}
