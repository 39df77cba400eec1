/**
 * The {@link Reader}: the one implementation of {@link ByteReader}, in front of any
 * {@link Backend}. It applies the rules that make every source give the same answer (see
 * `byte-reader.ts`), the buffer budget, and the abort signal; the backend only serves bytes.
 *
 * Two phases:
 *
 * | phase | reads allowed | kept |
 * | --- | --- | --- |
 * | detection | anywhere in the first `probeLimit` bytes, in any order | everything read (a stream keeps it as its head) |
 * | parsing | forward, plus the kept start and the kept tail | what detection read, what `keepStart` and `totalSize` keep |
 *
 * Readers are built on readers: a layer (a decompressed stream, an archive member, the
 * guest disk behind a format's tables) is a `Reader` whose backend pulls from the reader
 * below it. They share one {@link Budget}.
 *
 * @module
 */
import { IntrospectionError, fieldError } from '../errors.js';
import type { Backend } from './backend.js';
import type { ByteReader, WantedRange } from './byte-reader.js';
import { throwIfAborted } from './chunks.js';

/**
 * The bytes every reader of one introspection may hold at once (`maxBufferBytes`): what
 * they keep (starts, tails) and what decoders reserve (windows) are charged here; one read
 * may ask for what is left.
 */
export class Budget {
  private readonly holders = new Set<{ held: number }>();

  constructor(readonly limit: number) {}

  /** A share of the budget that its owner updates as it keeps more or less. */
  holder(): { held: number } {
    const holder = { held: 0 };
    this.holders.add(holder);
    return holder;
  }

  /** Gives a share back. */
  drop(holder: { held: number }): void {
    this.holders.delete(holder);
  }

  /** Bytes held by every share. */
  get held(): number {
    let total = 0;
    for (const holder of this.holders) total += holder.held;
    return total;
  }

  /** What one read may still ask for. */
  get remaining(): number {
    return Math.max(0, this.limit - this.held);
  }
}

/** Marks a `LIMIT_EXCEEDED` that is about the caller's budget, not about the image. */
const budgetMark = Symbol.for('image-introspect.budget');

/**
 * The error for a budget too small to decide: detection must not take it for "no match"
 * (the answer would depend on the budget), so it always reaches the caller.
 */
export function budgetError(field: string, message: string, offset?: number): IntrospectionError {
  const error = fieldError('LIMIT_EXCEEDED', field, message, offset);
  Object.defineProperty(error, budgetMark, { value: true });
  return error;
}

/** True for an error made by {@link budgetError}. */
export function isBudgetError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[budgetMark] === true;
}

/** What a {@link Reader} needs besides its backend. */
export interface ReaderOptions {
  /** The shared budget (`maxBufferBytes`). */
  budget: Budget;
  /** The caller's abort signal. */
  signal?: AbortSignal | undefined;
  /** How far detection may read (`probeBytes`, at most `maxBufferBytes`). */
  probeLimit: number;
  /** False for a reader that starts past detection (a module's own reader of a member it already knows). Default true. */
  detect?: boolean;
  /**
   * False for a reader that serves ranges in any order: only over a random-access backend,
   * for structures that are walked, not streamed (file-system trees, an xz index read from
   * the end). Answers read that way are available from random-access sources only. Default true.
   */
  ordered?: boolean;
}

export class Reader implements ByteReader {
  private detecting = true;
  private keptStart = 0;
  private tailStart: number | undefined;
  /** The tail a module asked for, when the budget allowed only less. */
  private tailWanted = 0;
  private furthest = 0;
  private knownSize: number | undefined;
  /** The least tail any `totalSize` keeps (the engine's need for end signatures after the fallback parsed). */
  private tailFloor = 0;
  private readonly share: { held: number };

  constructor(
    readonly backend: Backend,
    private readonly options: ReaderOptions,
  ) {
    this.share = options.budget.holder();
    this.detecting = options.detect !== false;
    if (options.ordered === false && !backend.randomAccess) {
      throw new IntrospectionError('INTERNAL', 'a reader in any order needs a random-access source');
    }
  }

  get size(): number | undefined {
    // A reader in any order is random-access only: its size is known from the start (no stream to agree with).
    return this.options.ordered === false ? this.backend.size : this.knownSize;
  }

  get randomAccess(): boolean {
    return this.backend.randomAccess;
  }

  get position(): number {
    return this.furthest;
  }

  get maxReadLength(): number {
    return this.options.budget.remaining;
  }

  /** The budget this reader shares (a layer built on it shares it too). */
  get budget(): Budget {
    return this.options.budget;
  }

  /** The abort signal it honours. */
  get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  /** False for a reader that serves ranges in any order. */
  get ordered(): boolean {
    return this.options.ordered !== false;
  }

  /** Bytes taken from the source behind this reader. */
  get bytesRead(): number {
    return this.backend.bytesTaken;
  }

  /** Whether detection is still running (reads in any order within `probeLimit`). */
  get inDetection(): boolean {
    return this.detecting;
  }

  /**
   * Ends detection: what it read stays kept (at least `keepStart` bytes of the start, what
   * the modules declared they may need), and reads go forward from there.
   */
  async endDetection(keepStart: number): Promise<void> {
    if (!this.detecting) return;
    const end = Math.min(Math.max(this.keptStart, keepStart), this.options.probeLimit);
    await this.grow(end, 'head');
    this.detecting = false;
    this.furthest = Math.max(this.furthest, this.keptStart);
  }

  /** Makes every later `totalSize` keep at least `bytes` of the end (for end signatures checked after a parse). */
  keepTailAtLeast(bytes: number): void {
    this.tailFloor = Math.max(this.tailFloor, bytes);
  }

  /** Stops the source. */
  async release(): Promise<void> {
    this.options.budget.drop(this.share);
    await this.backend.release();
  }

  async read(offset: number, length: number, field: string): Promise<Uint8Array> {
    const bytes = await this.readAvailable(offset, length, field);
    if (bytes.byteLength < length) {
      throw fieldError('TRUNCATED', field, `needs bytes ${offset}..${offset + length}, but the image ends at ${this.knownSize ?? offset + bytes.byteLength}`, offset);
    }
    return bytes;
  }

  async readAvailable(offset: number, length: number, field: string): Promise<Uint8Array> {
    const bytes = await this.tryRead(offset, length, field);
    if (bytes === undefined) throw this.behindError(offset, length, field);
    return bytes;
  }

  async tryRead(offset: number, length: number, field: string): Promise<Uint8Array | undefined> {
    checkRange(offset, length, field);
    throwIfAborted(this.options.signal);
    const requestedEnd = offset + length;
    if (this.detecting && requestedEnd > this.options.probeLimit && this.knownSize === undefined && this.backend.size === undefined) {
      // Whether the image ends before probeLimit decides whether this read fits: find out the same way on every source.
      await this.grow(this.options.probeLimit, field);
    }
    // Reads ask for what exists: a range past a known end is cut there.
    const size = this.knownSize ?? this.backend.size;
    const end = size === undefined ? requestedEnd : Math.min(requestedEnd, size);
    if (offset >= end) {
      if (length > 0 && size !== undefined) this.knownSize = size;
      return new Uint8Array(0);
    }
    if (this.detecting) return this.detectionRead(offset, end, requestedEnd, field);
    const inStart = end <= this.keptStart;
    const inTail = this.tailStart !== undefined && offset >= this.tailStart;
    if (!inStart && !inTail) {
      const straddlesStart = offset < this.keptStart && this.furthest <= this.keptStart;
      if (offset < this.furthest && !straddlesStart && this.options.ordered !== false) return undefined;
      const fresh = end - Math.max(offset, this.keptStart);
      if (fresh > this.maxReadLength) {
        // Where the end is not known yet (a stream), find out whether the bytes that exist fit.
        const room = this.maxReadLength + Math.max(0, this.keptStart - offset);
        const available = size === undefined ? await this.backend.fetch(offset, room + 1, field) : undefined;
        if (available !== undefined) this.furthest = Math.max(this.furthest, offset + available.byteLength);
        if (available === undefined || available.byteLength > room) {
          throw budgetError(field, `reading ${fresh} bytes would exceed the buffer budget (${this.maxReadLength} bytes available under maxBufferBytes)`, offset);
        }
        this.noteEnd(offset, requestedEnd, available.byteLength);
        return available;
      }
    }
    const bytes = await this.backend.fetch(offset, end - offset, field);
    if (!inStart && !inTail) this.furthest = Math.max(this.furthest, offset + bytes.byteLength);
    this.noteEnd(offset, requestedEnd, bytes.byteLength);
    return bytes;
  }

  async readMany<Key>(ranges: readonly WantedRange<Key>[]): Promise<Map<Key, Uint8Array>> {
    const result = new Map<Key, Uint8Array>();
    for (const range of ranges) if (range.length === 0) result.set(range.key, new Uint8Array(0));
    const groups = mergeOverlappingRanges(ranges);
    if (groups.length > 1 && this.backend.prefetch !== undefined && groups.reduce((sum, group) => sum + group.end - group.offset, 0) <= this.maxReadLength) {
      throwIfAborted(this.options.signal);
      await this.backend.prefetch(groups.map((group) => ({ offset: group.offset, length: group.end - group.offset })));
    }
    for (const group of groups) {
      const field = group.members.map((member) => member.field).join(' + ');
      const bytes = await this.read(group.offset, group.end - group.offset, field);
      for (const member of group.members) {
        const start = member.offset - group.offset;
        result.set(member.key, bytes.subarray(start, start + member.length));
      }
    }
    return result;
  }

  async expectReads(ranges: readonly { offset: number; length: number }[]): Promise<void> {
    const expect = this.backend.expect;
    if (expect === undefined) return;
    throwIfAborted(this.options.signal);
    const size = this.knownSize ?? this.backend.size;
    // Only what the reads that follow may take: not behind the furthest byte read (outside the kept start), not past the end.
    const wanted = ranges
      .map((range) => {
        const offset = range.offset < this.keptStart || this.options.ordered === false ? range.offset : Math.max(range.offset, this.furthest);
        const end = size === undefined ? range.offset + range.length : Math.min(size, range.offset + range.length);
        return { offset, length: end - offset };
      })
      .filter((range) => range.length > 0);
    if (wanted.length === 0 || wanted.reduce((sum, range) => sum + range.length, 0) > this.maxReadLength) return;
    await expect.call(this.backend, wanted);
  }

  async keepStart(end: number, field: string): Promise<void> {
    checkRange(0, end, field);
    if (end <= this.keptStart) return;
    if (!this.detecting && this.furthest > this.keptStart) {
      throw fieldError('INTERNAL', field, `asked to keep bytes 0..${end} after reading beyond the kept start (up to ${this.furthest})`);
    }
    if (end - this.keptStart > this.maxReadLength) {
      throw budgetError(field, `keeping the first ${end} bytes would exceed the buffer budget (maxBufferBytes ${this.options.budget.limit})`);
    }
    await this.grow(end, field);
    if (!this.detecting) this.furthest = Math.max(this.furthest, this.keptStart);
  }

  async totalSize(keepTailAsked = 0): Promise<number> {
    throwIfAborted(this.options.signal);
    const keepTail = Math.max(keepTailAsked, this.tailFloor);
    if (this.tailStart !== undefined && this.knownSize !== undefined) {
      this.tailWanted = Math.max(this.tailWanted, keepTail);
      return this.knownSize;
    }
    // Keep what the budget allows; a later read of the part that did not fit fails with LIMIT_EXCEEDED.
    const keep = Math.min(keepTail, this.maxReadLength);
    this.tailWanted = Math.max(this.tailWanted, keepTail);
    const size = await this.backend.seekEnd(keep);
    this.knownSize = size;
    this.tailStart = Math.max(this.furthest, this.keptStart, size - keep);
    this.furthest = Math.max(this.furthest, this.tailStart);
    this.share.held = this.keptStart + (size - this.tailStart);
    return size;
  }

  /** Detection reads anywhere below `probeLimit`; everything read is kept. */
  private async detectionRead(offset: number, end: number, requestedEnd: number, field: string): Promise<Uint8Array> {
    if (end > this.options.probeLimit) {
      throw budgetError(
        field,
        `detection may look at the first ${this.options.probeLimit} bytes only (probeBytes, at most maxBufferBytes), not up to ${end}; raise probeBytes to let it decide`,
        offset,
      );
    }
    await this.grow(end, field);
    const bytes = await this.backend.fetch(offset, end - offset, field);
    this.noteEnd(offset, requestedEnd, bytes.byteLength);
    return bytes;
  }

  private async grow(end: number, field: string): Promise<void> {
    if (end <= this.keptStart) return;
    await this.backend.retainStart(end);
    const size = this.knownSize ?? this.backend.size;
    this.keptStart = size === undefined ? end : Math.min(end, size);
    if (size !== undefined && end > size) this.knownSize = size;
    this.share.held = this.keptStart + (this.tailStart === undefined || this.knownSize === undefined ? 0 : this.knownSize - this.tailStart);
    if (this.keptStart > this.options.budget.limit) throw budgetError(field, `the kept start (${this.keptStart} bytes) exceeds maxBufferBytes`);
  }

  /** A read that came back shorter than asked has found the end (on every kind of source alike). */
  private noteEnd(offset: number, requestedEnd: number, got: number): void {
    // A read that starts past the end returns nothing: the end is where the backend found it, not the offset asked for.
    if (offset + got < requestedEnd) this.knownSize = this.backend.size ?? offset + got;
  }

  private behindError(offset: number, length: number, field: string): IntrospectionError {
    if (this.tailStart !== undefined && this.knownSize !== undefined && offset >= this.knownSize - this.tailWanted) {
      return budgetError(field, `the last ${this.tailWanted} bytes do not fit in maxBufferBytes with what is already kept`, offset);
    }
    return fieldError(
      'UNSUPPORTED',
      field,
      `bytes ${offset}..${offset + length} lie before bytes already read (up to ${this.furthest}); structures are read in file order, the same from every kind of source`,
      offset,
    );
  }
}

/**
 * Checks that a requested range is made of safe non-negative integers. Offsets and lengths
 * come from image fields, so a bad one is the image's fault: `CORRUPT`.
 */
export function checkRange(offset: number, length: number, field: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw fieldError('CORRUPT', field, `offset ${offset} is not a valid position in the image`);
  }
  if (!Number.isSafeInteger(length) || length < 0 || !Number.isSafeInteger(offset + length)) {
    throw fieldError('CORRUPT', field, `length ${length} is not a valid byte count`, offset);
  }
}

/** Ranges that overlap, to be read at once. */
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
