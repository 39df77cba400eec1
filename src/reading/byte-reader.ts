/**
 * The one way a module reads bytes: the {@link ByteReader} contract.
 *
 * Format, container and file-system modules see only this interface; they never see
 * sources, chunks or streams. Every reader follows the same rules whatever is behind it (a
 * file, a `Blob`, a stream, a decompressed stream, an archive member, a remote object, a
 * partition), so that an answer never depends on the kind of source:
 *
 * | rule | why |
 * | --- | --- |
 * | reads go forward: a range must start at or after the furthest byte read so far, unless it lies in the kept start or the kept tail | a stream cannot go back; enforcing the same order on random-access sources keeps their answers identical |
 * | a read that would go back fails with one error, `UNSUPPORTED` naming the field (or gives `undefined` through `tryRead`) | one behaviour for every module |
 * | `keepStart(end)` keeps bytes `[0, end)` readable in any order (a header cluster that later structures point back into) | a stream copies them once, as they pass |
 * | `totalSize(keepTail)` reaches the end and keeps the last `keepTail` bytes readable | footers (a fixed VHD's, a DMG's trailer) |
 * | reads ask for what exists: a range past the end is cut there, and only the bytes that exist count against `maxBufferBytes` | a small file is never refused for a large request |
 * | `size` is known once the end was seen (a short read, or `totalSize`) | the same on every source |
 *
 * @module
 */

/** One range of many that a module wants at once (see {@link ByteReader.readMany}). */
export interface WantedRange<Key> {
  /** The caller's name for the range (the key of the result). */
  readonly key: Key;
  /** Byte offset. */
  readonly offset: number;
  /** Bytes wanted (0 gives an empty array without a read). */
  readonly length: number;
  /** What the range holds, for error messages. */
  readonly field: string;
}

/**
 * Bytes of one image (or of one layer: a decompressed stream, an archive member, a
 * partition), as a module reads them. See the module comment for the rules.
 */
export interface ByteReader {
  /**
   * The length in bytes, once the end has been seen (a read came back short, or
   * {@link totalSize} was called); `undefined` before, on every kind of source.
   */
  readonly size: number | undefined;
  /** True when the bytes behind the reader can be read in any order (modules should not need this). */
  readonly randomAccess: boolean;
  /** The most bytes one read may ask for now (what `maxBufferBytes` leaves beside what is kept). */
  readonly maxReadLength: number;
  /** The end of the furthest range read so far: a read must start here or later, outside the kept start and tail. */
  readonly position: number;
  /**
   * Exactly `length` bytes at `offset`. `field` names what is being read, for error messages.
   * Throws `TRUNCATED` if the image ends before `offset + length`.
   */
  read(offset: number, length: number, field: string): Promise<Uint8Array>;
  /** Up to `length` bytes at `offset`: fewer (possibly none) where the image ends. */
  readAvailable(offset: number, length: number, field: string): Promise<Uint8Array>;
  /** Like {@link readAvailable}, but `undefined` instead of the error when the range lies behind bytes already read. */
  tryRead(offset: number, length: number, field: string): Promise<Uint8Array | undefined>;
  /**
   * Several ranges at once, each exactly (or `TRUNCATED` naming its field): read in
   * ascending order, overlapping ranges read once. Offsets from a table in any order are
   * fine as long as none lies behind bytes already read.
   */
  readMany<Key>(ranges: readonly WantedRange<Key>[]): Promise<Map<Key, Uint8Array>>;
  /**
   * A hint, for sources that pay a round trip per request (an HTTP object): the reads that
   * follow will take much of `ranges` (ascending, not necessarily all of it), so such a source
   * fetches them now, in as few requests as it can. Any other source ignores it. Nothing is
   * read through the reader: the order rule, `bytesRead` from a file and every answer stay the
   * same. A module calls it where its format places structures it is about to walk close
   * together (an ISO's volume descriptors up to the UDF anchor), with its own cap on the span.
   */
  expectReads?(ranges: readonly { offset: number; length: number }[]): Promise<void>;
  /** Keeps bytes `[0, end)` readable in any order from now on (before reading beyond them). */
  keepStart(end: number, field: string): Promise<void>;
  /**
   * The image's total length. On a stream this reads to the end; the last `keepTail` bytes
   * stay readable afterwards (on every kind of source), everything before them is passed.
   */
  totalSize(keepTail?: number): Promise<number>;
}
