/**
 * A forward-only {@link ByteReader} over a stream of chunks.
 *
 * What it holds, and nothing else:
 *
 * | part | what | bound |
 * | --- | --- | --- |
 * | head | a copy of bytes `[0, headLength)`, kept while detection runs so every probe can look at the start | `probeLimit` |
 * | leftover | the unread rest of the current chunk (a view, not a copy) | one chunk |
 * | tail | the last bytes once the end is being sought (`TailWindow`: views of large chunks, small ones copied into blocks) | `keepTail` + one chunk |
 * | a read's result | a copy when a range spans chunks, else a view | the read's length |
 *
 * Bytes between the head and the next requested offset are skipped without being kept.
 *
 * @module
 */
import { type ChunkSource, plainView } from './chunk-source.js';
import { IntrospectionError } from './errors.js';
import type { ByteReader } from './format-module.js';
import { checkRange } from './read-range.js';
import { TailWindow, concat } from './tail-window.js';

export class StreamReader implements ByteReader {
  readonly randomAccess = false;

  /** Bytes taken from the source so far. */
  bytesRead = 0;

  private head = new Uint8Array(0);
  private headLength = 0;
  /** While true, every byte pulled below `probeLimit` is copied into the head. */
  private retaining = true;

  /** Offset of the first byte of `leftover`. */
  private position = 0;
  private leftover: Uint8Array = new Uint8Array(0);

  private ended = false;
  private endSize: number | undefined;

  private tail = new TailWindow(0);
  /** The tail a module asked for, when the budget allowed only less. */
  private tailWanted = 0;

  constructor(
    private readonly source: ChunkSource,
    private readonly maxBufferBytes: number,
    private readonly probeLimit: number,
    /** The head detection will keep (allocated at once rather than grown by doubling). */
    private readonly expectedHeadBytes = 0,
  ) {}

  get size(): number | undefined {
    return this.endSize;
  }

  get maxReadLength(): number {
    return Math.max(0, this.maxBufferBytes - this.headLength - this.tail.heldBytes);
  }

  /** Ends detection: the head stops growing (what it holds stays readable). */
  stopRetaining(): void {
    this.retaining = false;
  }

  /** Stops the source. */
  release(): Promise<void> {
    return this.source.release();
  }

  async read(offset: number, length: number, field: string): Promise<Uint8Array> {
    const bytes = await this.readAvailable(offset, length, field);
    if (bytes.byteLength < length) {
      throw new IntrospectionError(
        'TRUNCATED',
        `needs bytes ${offset}..${offset + length}, but the image ends at ${this.endSize}`,
        { field, offset },
      );
    }
    return bytes;
  }

  async readAvailable(offset: number, length: number, field: string): Promise<Uint8Array> {
    // Bytes already held (head, tail) are served as views; only reads from the stream need room.
    checkRange(offset, length, field, this.maxBufferBytes);
    const end = offset + length;
    if (this.retaining && !this.ended) {
      if (end > this.probeLimit) {
        throw new IntrospectionError(
          'LIMIT_EXCEEDED',
          `detection may look at the first ${this.probeLimit} bytes only, not up to ${end}`,
          { field, offset },
        );
      }
      await this.growHead(end);
    }
    if (end <= this.headLength || (offset < this.headLength && this.ended && this.headLength === this.endSize)) {
      return this.head.subarray(offset, Math.min(end, this.headLength));
    }
    if (this.ended) return this.fromTail(offset, length, field);
    checkRange(offset, length, field, this.maxReadLength);
    if (offset < this.headLength) {
      // Straddles the end of the head: rebuild from the head and the stream.
      const fromHead = this.head.subarray(offset, this.headLength);
      const rest = await this.readForward(this.headLength, length - fromHead.byteLength, field);
      return concat([fromHead, rest]);
    }
    return this.readForward(offset, length, field);
  }

  async totalSize(keepTail = 0): Promise<number> {
    if (this.ended) return this.endSize as number;
    // Keep what the budget allows; a later read of the part that did not fit fails with LIMIT_EXCEEDED.
    const keep = Math.min(keepTail, Math.max(0, this.maxBufferBytes - this.headLength));
    this.tailWanted = Math.max(this.tailWanted, keepTail);
    if (keep > this.tail.capacity) this.tail = new TailWindow(keep);
    this.tail.add(this.position, this.leftover);
    this.position += this.leftover.byteLength;
    this.leftover = new Uint8Array(0);
    for (;;) {
      const chunk = await this.pull();
      if (chunk === null) break;
      this.tail.add(this.position, chunk);
      this.position += chunk.byteLength;
    }
    return this.endSize as number;
  }

  private async pull(): Promise<Uint8Array | null> {
    if (this.ended) return null;
    const chunk = await this.source.next();
    if (chunk === null) {
      this.ended = true;
      this.endSize = this.position + this.leftover.byteLength;
      return null;
    }
    this.bytesRead += chunk.byteLength;
    return plainView(chunk);
  }

  /** Makes the head hold bytes `[0, end)` (or up to the end of the stream). */
  private async growHead(end: number): Promise<void> {
    // The head is contiguous only while nothing has been skipped past it.
    if (this.headLength >= end || this.ended || this.position !== this.headLength) return;
    if (this.head.byteLength < end) {
      const grown = new Uint8Array(Math.min(this.probeLimit, Math.max(end, this.head.byteLength * 2, this.expectedHeadBytes, 4096)));
      grown.set(this.head.subarray(0, this.headLength));
      this.head = grown;
    }
    while (this.headLength < end) {
      if (this.leftover.byteLength === 0) {
        const chunk = await this.pull();
        if (chunk === null) return;
        this.leftover = chunk;
      }
      const take = Math.min(this.leftover.byteLength, end - this.headLength);
      this.head.set(this.leftover.subarray(0, take), this.headLength);
      this.headLength += take;
      this.position += take;
      this.leftover = this.leftover.subarray(take);
    }
  }

  /** Reads `[offset, offset + length)` from the stream, skipping to `offset` first. */
  private async readForward(offset: number, length: number, field: string): Promise<Uint8Array> {
    if (offset < this.position) {
      throw new IntrospectionError(
        'UNSUPPORTED',
        `needs bytes at ${offset}, which a stream has already passed (read position ${this.position}); use a random-access source`,
        { field, offset },
      );
    }
    // Skip without keeping.
    while (this.position + this.leftover.byteLength <= offset) {
      this.position += this.leftover.byteLength;
      this.leftover = new Uint8Array(0);
      const chunk = await this.pull();
      if (chunk === null) return new Uint8Array(0);
      this.leftover = chunk;
    }
    const skip = offset - this.position;
    this.leftover = this.leftover.subarray(skip);
    this.position = offset;
    if (this.leftover.byteLength >= length) {
      const bytes = this.leftover.subarray(0, length);
      this.leftover = this.leftover.subarray(length);
      this.position += length;
      return bytes;
    }
    const result = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      if (this.leftover.byteLength === 0) {
        const chunk = await this.pull();
        if (chunk === null) return result.subarray(0, filled);
        this.leftover = chunk;
      }
      const take = Math.min(this.leftover.byteLength, length - filled);
      result.set(this.leftover.subarray(0, take), filled);
      filled += take;
      this.position += take;
      this.leftover = this.leftover.subarray(take);
    }
    return result;
  }

  private fromTail(offset: number, length: number, field: string): Uint8Array {
    const size = this.endSize as number;
    if (offset >= size) return new Uint8Array(0);
    const end = Math.min(offset + length, size);
    const parts: Uint8Array[] = [];
    let cursor = offset;
    if (cursor < this.headLength) {
      parts.push(this.head.subarray(cursor, this.headLength));
      cursor = this.headLength;
    }
    if (cursor < end) {
      const fromTail = this.tail.read(cursor, end);
      if (fromTail === undefined) {
        const budgetCut = this.tailWanted > this.tail.capacity && cursor >= size - this.tailWanted;
        throw new IntrospectionError(
          budgetCut ? 'LIMIT_EXCEEDED' : 'UNSUPPORTED',
          budgetCut
            ? `the last ${this.tailWanted} bytes of a stream do not fit in maxBufferBytes with the head`
            : `needs bytes at ${cursor}, which a stream has already passed; use a random-access source`,
          { field, offset: cursor },
        );
      }
      parts.push(fromTail);
    }
    return parts.length === 1 ? (parts[0] as Uint8Array) : concat(parts);
  }
}
