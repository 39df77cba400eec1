/**
 * The physical side of reading: where bytes come from. A {@link Backend} serves byte ranges
 * from one kind of source and knows nothing of formats, order or budgets; the
 * {@link Reader} in front of it applies the rules that make every source give the same
 * answer.
 *
 * | backend | source | can serve |
 * | --- | --- | --- |
 * | `RangeBackend` (`range-backend.ts`) | a file, a `Blob`, bytes in memory, a caller's `{ size, read }`, an HTTP object, a slice of another reader | any range, any time |
 * | `StreamBackend` (`stream-backend.ts`) | chunks from a stream, a decompressor, a slice of a stream | the retained start, then forward only; the retained tail once at the end |
 *
 * @module
 */

/** Where a {@link Reader}'s bytes come from. */
export interface Backend {
  /** True when any offset can be served at any time. */
  readonly randomAccess: boolean;
  /** The length in bytes: always known for random access; for a stream once its end was reached. */
  readonly size: number | undefined;
  /** Distinct bytes taken from the source so far. */
  readonly bytesTaken: number;
  /**
   * Bytes `[offset, offset + length)`, fewer where the source ends. A stream backend serves
   * only its retained start, its retained tail, or ranges at or after its position: the
   * reader in front never asks for anything else.
   */
  fetch(offset: number, length: number, field: string): Promise<Uint8Array>;
  /** Keeps bytes `[0, end)` servable (a stream copies them into its head while nothing has been skipped). */
  retainStart(end: number): Promise<void>;
  /** Moves to the end, keeping the last `keepTail` bytes servable; returns the size. */
  seekEnd(keepTail: number): Promise<number>;
  /** Stops the source (a stream is released). Idempotent, never waits on a stalled source. */
  release(): Promise<void>;
  /**
   * A hint before a batch of reads (`readMany`): a source where each read costs a round
   * trip (an HTTP object) fetches them together. The reads still follow.
   */
  prefetch?(ranges: readonly { offset: number; length: number }[]): Promise<void>;
  /**
   * A module's hint (`ByteReader.expectReads`): the reads that follow will take much of
   * `ranges`. A source where each read costs a round trip fetches them now, with its usual
   * read-ahead; others leave it out.
   */
  expect?(ranges: readonly { offset: number; length: number }[]): Promise<void>;
}

/**
 * The byte ranges taken from a source, merged, so that `bytesRead` counts each byte once
 * however often it was read (a result never claims more bytes than the source has).
 */
export class CoveredRanges {
  private starts: number[] = [];
  private ends: number[] = [];
  /** Bytes covered. */
  total = 0;

  /** Records `[start, end)`. */
  add(start: number, end: number): void {
    if (end <= start) return;
    // Ranges usually arrive in ascending order: scan from the back.
    let index = this.starts.length;
    while (index > 0 && (this.starts[index - 1] as number) > start) index -= 1;
    // Merge with the range before when they touch.
    if (index > 0 && (this.ends[index - 1] as number) >= start) {
      index -= 1;
      start = this.starts[index] as number;
    }
    let last = index;
    while (last < this.starts.length && (this.starts[last] as number) <= end) last += 1;
    if (last > index) end = Math.max(end, this.ends[last - 1] as number);
    for (let removed = index; removed < last; removed += 1) this.total -= (this.ends[removed] as number) - (this.starts[removed] as number);
    this.starts.splice(index, last - index, start);
    this.ends.splice(index, last - index, end);
    this.total += end - start;
  }
}
