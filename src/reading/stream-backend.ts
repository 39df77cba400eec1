/**
 * The backend for sequential sources: a stream of chunks (a caller's stream, an upload
 * passing through `inspect()`, a decompressor's output, a member of an archive read from a
 * stream).
 *
 * What it holds, and nothing else:
 *
 * | part | what | bound |
 * | --- | --- | --- |
 * | head | a copy of bytes `[0, headLength)`, grown by `retainStart` while nothing has been skipped | what the reader retains (within its budget) |
 * | leftover | the unread rest of the current chunk (a view, not a copy) | one chunk |
 * | tail | the last bytes once the end was sought (`TailWindow`: views of large chunks, small ones copied into blocks) | `keepTail` + one chunk |
 * | a fetch's result | a copy when a range spans chunks, else a view | the fetch's length |
 *
 * Bytes between the head and the next range asked for are skipped without being kept.
 *
 * @module
 */
import { IntrospectionError } from '../errors.js';
import type { Backend } from './backend.js';
import { type ChunkSource, plainView } from './chunks.js';
import { TailWindow, concat } from './tail-window.js';

const EMPTY = new Uint8Array(0);

export class StreamBackend implements Backend {
  readonly randomAccess = false;
  bytesTaken = 0;

  private head: Uint8Array = EMPTY;
  private headLength = 0;
  /** Offset of the first byte of `leftover`. */
  private position = 0;
  private leftover: Uint8Array = EMPTY;
  private ended = false;
  private endSize: number | undefined;
  private tail = new TailWindow(0);

  /**
   * @param source - the chunks
   * @param headHint - how much of the start will probably be retained (allocated at once rather than grown by doubling)
   */
  constructor(
    private readonly source: ChunkSource,
    private readonly headHint = 0,
  ) {}

  get size(): number | undefined {
    return this.endSize;
  }

  release(): Promise<void> {
    return this.source.release();
  }

  async retainStart(end: number): Promise<void> {
    // The head is contiguous only while nothing has been skipped past it.
    if (this.headLength >= end || this.ended || this.position !== this.headLength) return;
    if (this.head.byteLength < end) {
      const grown = new Uint8Array(Math.max(end, Math.min(this.head.byteLength * 2, end * 2), this.headHint, 4096));
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

  async fetch(offset: number, length: number, field: string): Promise<Uint8Array> {
    const end = offset + length;
    if (end <= this.headLength) return this.head.subarray(offset, end);
    if (this.ended) return this.fromEnd(offset, end, field);
    if (offset < this.headLength) {
      // Straddles the end of the head (nothing skipped yet): the head, then the stream.
      if (this.position !== this.headLength) throw this.behind(offset, field);
      const rest = await this.forward(this.headLength, end - this.headLength, field);
      if (rest.byteLength === 0) return this.head.subarray(offset, this.headLength);
      return concat([this.head.subarray(offset, this.headLength), rest]);
    }
    return this.forward(offset, length, field);
  }

  async seekEnd(keepTail: number): Promise<number> {
    if (this.ended) return this.endSize as number;
    if (keepTail > this.tail.capacity) this.tail = new TailWindow(keepTail);
    this.tail.add(this.position, this.leftover);
    this.position += this.leftover.byteLength;
    this.leftover = EMPTY;
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
    this.bytesTaken += chunk.byteLength;
    return plainView(chunk);
  }

  /** `[offset, offset + length)` from the stream, skipping to `offset` first; fewer where it ends. */
  private async forward(offset: number, length: number, field: string): Promise<Uint8Array> {
    if (offset < this.position) throw this.behind(offset, field);
    while (this.position + this.leftover.byteLength <= offset) {
      this.position += this.leftover.byteLength;
      this.leftover = EMPTY;
      const chunk = await this.pull();
      if (chunk === null) return EMPTY;
      this.leftover = chunk;
    }
    this.leftover = this.leftover.subarray(offset - this.position);
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

  /** After the end: the head, the kept tail, or what was left unread of the last chunk. */
  private fromEnd(offset: number, end: number, field: string): Uint8Array {
    const size = this.endSize as number;
    const stop = Math.min(end, size);
    if (offset >= stop) return EMPTY;
    const parts: Uint8Array[] = [];
    let cursor = offset;
    if (cursor < this.headLength) {
      parts.push(this.head.subarray(cursor, Math.min(this.headLength, stop)));
      cursor = Math.min(this.headLength, stop);
    }
    if (cursor < stop && cursor >= this.position) {
      // Bytes of the last chunk not consumed before the end was seen.
      const start = cursor - this.position;
      parts.push(this.leftover.subarray(start, start + (stop - cursor)));
      cursor = stop;
    }
    if (cursor < stop) {
      const fromTail = this.tail.read(cursor, stop);
      if (fromTail === undefined) throw this.behind(cursor, field);
      parts.push(fromTail);
    }
    return parts.length === 1 ? (parts[0] as Uint8Array) : concat(parts);
  }

  /** The reader in front keeps reads in order: a backend asked to go back is a bug there. */
  private behind(offset: number, field: string): IntrospectionError {
    return new IntrospectionError('INTERNAL', `a stream was asked for bytes at ${offset}, which it has already passed (position ${this.position})`, { field, offset });
  }
}
