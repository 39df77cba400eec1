/**
 * Byte readers over the contents of one file inside a volume, shared by the FAT and NTFS
 * drivers and used by the registry-hive reader (a hive is read cell by cell from the
 * SOFTWARE file, never whole).
 *
 * - {@link FileContentReader}: the {@link ByteReader} boilerplate for a file of known size
 *   (exact reads, short reads at the end, the volume's buffer budget), around one
 *   `readWithin` that a driver supplies.
 * - {@link ExtentReader}: a file laid out as extents of the volume (FAT cluster runs, NTFS
 *   data runs); holes read as zeros.
 * - {@link BlockCache}: a small LRU of fixed-size blocks in front of any reader, for
 *   structures read a few bytes at a time (a FAT, registry cells).
 *
 * @module
 */
import { fieldError } from '../../src/errors.js';
import type { ByteReader } from '../../src/format-module.js';

/** One of several ranges asked for at once (the shape of the core's `WantedRange`). */
export interface WantedFileRange<Key> {
  readonly key: Key;
  readonly offset: number;
  readonly length: number;
  readonly field: string;
}

/**
 * The members the core's reader contract adds for forward-only sources, for readers that
 * read in any order: nothing is ever behind (`position` stays 0), `tryRead` never gives up,
 * `keepStart` has nothing to do, `readMany` reads each range.
 */
abstract class AnyOrderReader {
  readonly position: number = 0;

  abstract readAvailable(offset: number, length: number, field: string): Promise<Uint8Array>;
  abstract read(offset: number, length: number, field: string): Promise<Uint8Array>;

  tryRead(offset: number, length: number, field: string): Promise<Uint8Array | undefined> {
    return this.readAvailable(offset, length, field);
  }

  async keepStart(): Promise<void> {}

  async readMany<Key>(ranges: readonly WantedFileRange<Key>[]): Promise<Map<Key, Uint8Array>> {
    const result = new Map<Key, Uint8Array>();
    for (const range of [...ranges].sort((a, b) => a.offset - b.offset)) result.set(range.key, await this.read(range.offset, range.length, range.field));
    return result;
  }
}

/**
 * Checks a requested range: safe non-negative integers (they come from on-disk fields, so
 * a bad one is `CORRUPT`), and a length within the buffer budget (`LIMIT_EXCEEDED`).
 */
function checkRange(offset: number, length: number, field: string, maxLength: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw fieldError('CORRUPT', field, `offset ${offset} is not a valid position`);
  if (!Number.isSafeInteger(length) || length < 0 || !Number.isSafeInteger(offset + length)) {
    throw fieldError('CORRUPT', field, `length ${length} is not a valid byte count`, offset);
  }
  if (length > maxLength) throw fieldError('LIMIT_EXCEEDED', field, `reading ${length} bytes would exceed the buffer budget (${maxLength} bytes)`, offset);
}

/**
 * A {@link ByteReader} over a file of `size` bytes. Subclasses implement
 * {@link FileContentReader.readWithin}, which is only ever asked for a range inside the file.
 */
export abstract class FileContentReader extends AnyOrderReader implements ByteReader {
  readonly randomAccess = true;

  protected constructor(
    /** The file's length in bytes. */
    readonly size: number,
    /** The volume the file lives in (its buffer budget applies to the file too), if any. */
    private readonly budget?: ByteReader,
  ) {
    super();
  }

  get maxReadLength(): number {
    return this.budget?.maxReadLength ?? Number.MAX_SAFE_INTEGER;
  }

  /** Bytes `offset .. offset + length` of the file, all inside it. */
  protected abstract readWithin(offset: number, length: number, field: string): Promise<Uint8Array>;

  async read(offset: number, length: number, field: string): Promise<Uint8Array> {
    const bytes = await this.readAvailable(offset, length, field);
    if (bytes.byteLength < length) {
      throw fieldError('TRUNCATED', field, `needs bytes ${offset}..${offset + length}, but the file ends at ${this.size}`, offset);
    }
    return bytes;
  }

  async readAvailable(offset: number, length: number, field: string): Promise<Uint8Array> {
    checkRange(offset, length, field, this.maxReadLength);
    const end = Math.min(offset + length, this.size);
    if (offset >= end) return new Uint8Array(0);
    return this.readWithin(offset, end - offset, field);
  }

  async totalSize(): Promise<number> {
    return this.size;
  }
}

/** A file whose bytes are already in memory (an NTFS resident attribute, a hive handed over as bytes). */
export class MemoryFileReader extends FileContentReader {
  constructor(
    private readonly bytes: Uint8Array,
    volume?: ByteReader,
  ) {
    super(bytes.byteLength, volume);
  }

  protected async readWithin(offset: number, length: number): Promise<Uint8Array> {
    return this.bytes.subarray(offset, offset + length);
  }
}

/** A piece of a file: `length` bytes from `fileOffset`, stored at `volumeOffset`, or a hole (zeros) when that is `undefined`. */
export interface FileExtent {
  fileOffset: number;
  length: number;
  volumeOffset: number | undefined;
}

/**
 * A file stored as extents of a volume. `extentsUpTo(end)` returns extents, sorted and
 * contiguous from offset 0, covering at least `0 .. end` of the file (a driver may work them
 * out lazily: a FAT chain is followed only as far as it is read). Bytes at or past
 * `validLength` read as zeros (NTFS's initialized size).
 */
export class ExtentReader extends FileContentReader {
  constructor(
    private readonly volume: ByteReader,
    size: number,
    private readonly extentsUpTo: (end: number) => Promise<readonly FileExtent[]>,
    private readonly validLength = size,
  ) {
    super(size, volume);
  }

  protected async readWithin(offset: number, length: number, field: string): Promise<Uint8Array> {
    const end = offset + length;
    const output = new Uint8Array(length);
    const validEnd = Math.min(end, this.validLength);
    if (validEnd <= offset) return output;
    const extents = await this.extentsUpTo(validEnd);
    let covered = offset;
    for (const extent of extentsOverlapping(extents, offset, validEnd)) {
      const from = Math.max(offset, extent.fileOffset);
      const to = Math.min(validEnd, extent.fileOffset + extent.length);
      if (from !== covered) break;
      if (extent.volumeOffset !== undefined) {
        const bytes = await this.volume.read(extent.volumeOffset + (from - extent.fileOffset), to - from, field);
        output.set(bytes, from - offset);
      }
      covered = to;
    }
    if (covered < validEnd) {
      throw fieldError('CORRUPT', field, `the file's extents end at byte ${covered}, before its length ${this.validLength}`, covered);
    }
    return output;
  }
}

/** The extents overlapping `from .. to`. */
function* extentsOverlapping(extents: readonly FileExtent[], from: number, to: number): Generator<FileExtent> {
  yield* overlapping(extents, from, to, (extent) => extent.fileOffset, (extent) => extent.length);
}

/**
 * The items of a sorted list of non-overlapping pieces (file extents, data runs) that
 * overlap `from .. to`, found by binary search: a fragmented file has thousands of pieces.
 */
export function* overlapping<T>(items: readonly T[], from: number, to: number, start: (item: T) => number, length: (item: T) => number): Generator<T> {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const item = items[middle] as T;
    if (start(item) + length(item) <= from) low = middle + 1;
    else high = middle;
  }
  for (let index = low; index < items.length; index += 1) {
    const item = items[index] as T;
    if (start(item) >= to) return;
    yield item;
  }
}

/** Blocks a {@link BlockCache} keeps by default: 256 blocks of 4 KiB, 1 MiB at most. */
export const DEFAULT_CACHED_BLOCKS = 256;

/**
 * An LRU cache of aligned blocks in front of a reader, for structures read in many small
 * pieces (FAT entries, registry cells). Reads longer than four blocks go straight through.
 */
export class BlockCache extends AnyOrderReader implements ByteReader {
  readonly randomAccess = true;
  private readonly blocks = new Map<number, Uint8Array>();

  constructor(
    private readonly inner: ByteReader,
    private readonly blockSize = 4096,
    private readonly maxBlocks = DEFAULT_CACHED_BLOCKS,
  ) {
    super();
  }

  get size(): number | undefined {
    return this.inner.size;
  }

  get maxReadLength(): number {
    return this.inner.maxReadLength;
  }

  totalSize(keepTail?: number): Promise<number> {
    return this.inner.totalSize(keepTail);
  }

  async read(offset: number, length: number, field: string): Promise<Uint8Array> {
    const bytes = await this.readAvailable(offset, length, field);
    if (bytes.byteLength < length) {
      throw fieldError('TRUNCATED', field, `needs bytes ${offset}..${offset + length}, but the data ends at ${offset + bytes.byteLength}`, offset);
    }
    return bytes;
  }

  async readAvailable(offset: number, length: number, field: string): Promise<Uint8Array> {
    checkRange(offset, length, field, this.maxReadLength);
    if (length > 4 * this.blockSize) return this.inner.readAvailable(offset, length, field);
    const first = Math.floor(offset / this.blockSize);
    const last = Math.floor((offset + Math.max(length, 1) - 1) / this.blockSize);
    if (first === last) {
      const block = await this.block(first, field);
      const start = offset - first * this.blockSize;
      return block.subarray(start, Math.min(block.byteLength, start + length));
    }
    const output = new Uint8Array(length);
    let filled = 0;
    for (let index = first; index <= last; index += 1) {
      const block = await this.block(index, field);
      const start = index === first ? offset - first * this.blockSize : 0;
      const piece = block.subarray(start, Math.min(block.byteLength, start + length - filled));
      output.set(piece, filled);
      filled += piece.byteLength;
      if (block.byteLength < this.blockSize) break;
    }
    return output.subarray(0, filled);
  }

  private async block(index: number, field: string): Promise<Uint8Array> {
    const cached = this.blocks.get(index);
    if (cached !== undefined) {
      // Most recently used last: Map keeps insertion order.
      this.blocks.delete(index);
      this.blocks.set(index, cached);
      return cached;
    }
    const bytes = await this.inner.readAvailable(index * this.blockSize, this.blockSize, field);
    if (this.blocks.size >= this.maxBlocks) {
      const oldest = this.blocks.keys().next().value;
      if (oldest !== undefined) this.blocks.delete(oldest);
    }
    this.blocks.set(index, bytes);
    return bytes;
  }
}
