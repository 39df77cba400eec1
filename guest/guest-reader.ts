/**
 * The reader guest inspection walks the guest's disk through: any order (file systems are
 * walked, not streamed), every byte counted once, and the whole inspection held to a read
 * budget.
 *
 * Guest inspection follows links from structure to structure (partition table, LVM
 * metadata, superblocks, directories, inodes, registry cells); a hostile guest can make
 * that walk long without ever looping. Every driver caps its own counts, and this reader
 * caps their sum: past {@link GuestReaderOptions.maxReadBytes} distinct bytes, the next read
 * fails with `LIMIT_EXCEEDED` and {@link GuestDiskReader.exhausted} is set, so that the
 * inspection stops at once instead of trying the next file system.
 *
 * The reader is the library's own {@link Reader} (so that partitions and logical volumes
 * are views of it, sharing its budget and signal) in front of a backend that asks the
 * caller's disk for each range: through its backend when the disk is a library reader (the
 * image reader of a raw disk, whose order rule does not apply to a walk), else through
 * `readAvailable`.
 *
 * @module
 */
import { fieldError } from '../src/errors.js';
import type { ByteReader } from '../src/format-module.js';
import { type Backend, CoveredRanges } from '../src/reading/backend.js';
import { Budget, Reader } from '../src/reading/reader.js';

/** Default for {@link GuestReaderOptions.maxReadBytes}: 64 MiB, about 20 times what identifying a usual guest reads. */
export const DEFAULT_GUEST_READ_BYTES = 64 * 1024 * 1024;
/** Default for {@link GuestReaderOptions.maxBufferBytes}: 16 MiB, as for an introspection (the largest read is a directory of a few MiB). */
export const DEFAULT_GUEST_BUFFER_BYTES = 16 * 1024 * 1024;

/** Limits of one guest inspection's reading. */
export interface GuestReaderOptions {
  /** The most distinct bytes of the guest's disk the inspection may read. */
  maxReadBytes?: number;
  /** The most bytes one read may ask for (what the drivers hold at once). */
  maxBufferBytes?: number;
  /** Aborts every read at once (`ABORTED`). */
  signal?: AbortSignal | undefined;
}

/** The guest's disk as the inspection reads it. */
export interface GuestDiskReader {
  /** A reader in any order over the whole disk. */
  readonly reader: ByteReader;
  /** Distinct bytes of the disk read so far. */
  bytesRead(): number;
  /** True once a read went past the budget: the inspection must stop. */
  exhausted(): boolean;
  /** The budget, in bytes. */
  readonly maxReadBytes: number;
}

/** A backend that reads the caller's disk, counting each byte once and refusing reads past the budget. */
class BudgetedDiskBackend implements Backend {
  readonly randomAccess = true;
  private readonly covered = new CoveredRanges();
  over = false;

  constructor(
    private readonly disk: ByteReader,
    readonly size: number,
    private readonly maxReadBytes: number,
  ) {}

  get bytesTaken(): number {
    return this.covered.total;
  }

  async fetch(offset: number, length: number, field: string): Promise<Uint8Array> {
    const end = Math.min(offset + length, this.size);
    if (offset >= end) return new Uint8Array(0);
    this.covered.add(offset, end);
    if (this.covered.total > this.maxReadBytes) {
      this.over = true;
      throw fieldError('LIMIT_EXCEEDED', field, `guest inspection would read more than ${this.maxReadBytes} bytes of the guest's disk (its read budget)`, offset);
    }
    // A library reader's order rule is for streaming a format; a walk goes to its backend, which serves any range.
    if (this.disk instanceof Reader) return this.disk.backend.fetch(offset, end - offset, field);
    return this.disk.readAvailable(offset, end - offset, field);
  }

  async retainStart(): Promise<void> {}

  async seekEnd(): Promise<number> {
    return this.size;
  }

  async release(): Promise<void> {}
}

/**
 * The inspection's reader over `disk`. The disk must be readable in any order (a file, a
 * `Blob`, a URL read by ranges, a guest disk mapped by a format's tables): `UNSUPPORTED`
 * otherwise, as for a stream.
 */
export function guestDiskReader(disk: ByteReader, options: GuestReaderOptions = {}): GuestDiskReader {
  const maxReadBytes = options.maxReadBytes ?? DEFAULT_GUEST_READ_BYTES;
  if (!Number.isSafeInteger(maxReadBytes) || maxReadBytes < 0) throw fieldError('INVALID_ARGUMENT', 'maxReadBytes', `${maxReadBytes} is not a byte count`);
  const size = disk.size ?? (disk instanceof Reader ? disk.backend.size : undefined);
  if (!disk.randomAccess || size === undefined) {
    throw fieldError('UNSUPPORTED', 'guest disk', 'the guest is inspected by walking its file systems, which needs a source read by random access (a file, a Blob, a URL read by ranges), not a stream');
  }
  const backend = new BudgetedDiskBackend(disk, size, maxReadBytes);
  const parentBudget = disk instanceof Reader ? disk.budget : undefined;
  const budget = parentBudget ?? new Budget(options.maxBufferBytes ?? DEFAULT_GUEST_BUFFER_BYTES);
  const signal = options.signal ?? (disk instanceof Reader ? disk.signal : undefined);
  const reader = new Reader(backend, { budget, signal, probeLimit: 0, detect: false, ordered: false });
  return {
    reader,
    bytesRead: () => backend.bytesTaken,
    exhausted: () => backend.over,
    maxReadBytes,
  };
}
