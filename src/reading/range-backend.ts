/**
 * The backend for random-access sources: a file, a `Blob`, bytes in memory, a caller's
 * `{ size, read }`, an HTTP object read by ranges, a stored archive member.
 *
 * A source may answer a read with fewer bytes than asked (like `read(2)`); the rest is
 * asked for again. A source that gives nothing before the end it promised is broken, not
 * short: `SOURCE_ERROR`, never a confident answer from the bytes it did give. The start of
 * the image (where every probe and most headers look) and the tail once sought are kept, so
 * that they are read from the source once.
 *
 * @module
 */
import { IntrospectionError, fieldError } from '../errors.js';
import { type Backend, CoveredRanges } from './backend.js';
import { asChunk, plainView, raceAbort, shortSourceError, sourceError } from './chunks.js';

/**
 * A source that can read any byte range: a file, a `Blob`, a buffer. The library never
 * closes it: the caller that opened it does.
 */
export interface RandomAccessSource {
  /** Total length in bytes. */
  readonly size: number;
  /** Reads `length` bytes at `offset`; may return fewer, but only at the end of the source gives none. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** The longest read of the start that is kept for later reads. */
export const START_CACHE_BYTES = 64 * 1024;

export class RangeBackend implements Backend {
  readonly randomAccess = true;
  private readonly covered = new CoveredRanges();
  private start: Uint8Array = new Uint8Array(0);
  private tail: { offset: number; bytes: Uint8Array } | undefined;
  private tailStart: number | undefined;
  private released = false;

  /**
   * @param source - the source (its `size` already validated by the caller)
   * @param size - its length
   * @param signal - aborts a pending read at once
   * @param onRelease - what releasing does (closing a file this library opened; nothing for a caller's source)
   */
  constructor(
    private readonly source: RandomAccessSource,
    readonly size: number,
    private readonly signal: AbortSignal | undefined,
    private readonly onRelease?: () => Promise<void> | void,
  ) {}

  get bytesTaken(): number {
    return this.covered.total;
  }

  async fetch(offset: number, length: number, field: string): Promise<Uint8Array> {
    const end = Math.min(offset + length, this.size);
    if (offset >= end) return new Uint8Array(0);
    if (end <= this.start.byteLength) return this.start.subarray(offset, end);
    const tail = this.tail;
    if (tail !== undefined && offset >= tail.offset && end <= tail.offset + tail.bytes.byteLength) {
      return tail.bytes.subarray(offset - tail.offset, end - tail.offset);
    }
    const bytes = await this.fetchWhole(offset, end - offset, field);
    if (offset === 0 && end <= START_CACHE_BYTES && end > this.start.byteLength) this.start = bytes;
    else if (this.tailStart !== undefined && offset >= this.tailStart && end === this.size) this.tail = { offset, bytes };
    return bytes;
  }

  async retainStart(): Promise<void> {}

  async seekEnd(keepTail: number): Promise<number> {
    this.tailStart = Math.max(0, this.size - keepTail);
    return this.size;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.onRelease?.();
  }

  /** Exactly `length` bytes (the caller clipped at the end): short reads are completed, a source that stops early is an error. */
  private async fetchWhole(offset: number, length: number, field: string): Promise<Uint8Array> {
    const first = await this.fetchOnce(offset, length, field);
    if (first.byteLength === length) return first;
    if (first.byteLength === 0) throw shortSourceError(offset, 0, this.size);
    const bytes = new Uint8Array(length);
    bytes.set(first);
    let filled = first.byteLength;
    while (filled < length) {
      const more = await this.fetchOnce(offset + filled, length - filled, field);
      if (more.byteLength === 0) throw shortSourceError(offset + filled, filled, this.size);
      bytes.set(more, filled);
      filled += more.byteLength;
    }
    return bytes;
  }

  private async fetchOnce(offset: number, length: number, field: string): Promise<Uint8Array> {
    if (this.released) throw new IntrospectionError('ABORTED', 'the source was released');
    let answer: unknown;
    try {
      answer = await raceAbort(Promise.resolve().then(() => this.source.read(offset, length)), this.signal);
    } catch (error) {
      if (error instanceof IntrospectionError) throw error;
      const failure = sourceError(error, `reading ${length} bytes at ${offset}`);
      throw fieldError('SOURCE_ERROR', field, failure.reason, offset);
    }
    const chunk = plainView(asChunk(answer));
    const taken = chunk.byteLength > length ? chunk.subarray(0, length) : chunk;
    this.covered.add(offset, offset + taken.byteLength);
    return taken;
  }
}

/** A random-access source over bytes in memory (no copies: reads are views). */
export function bytesSource(bytes: Uint8Array): RandomAccessSource {
  return {
    size: bytes.byteLength,
    read: async (offset, length) => bytes.subarray(offset, Math.min(bytes.byteLength, offset + length)),
  };
}
