/**
 * The guest's disk behind a format's tables, as a reader.
 *
 * A format module declares how its tables map the guest's disk onto the image
 * (`FormatModule.guestDisk`, giving a {@link GuestDiskMap}); this module is the
 * format-neutral side: a {@link Backend} that asks the map what lies at each range and
 * serves it, and {@link openGuestDisk}, which makes the guest disk's {@link Reader} for an
 * introspected image.
 *
 * | piece | served from |
 * | --- | --- |
 * | `data` | the image, at the offset the tables give |
 * | `zero` | zeros |
 * | `backing` | the backing image's guest disk at the same offset, when the caller gives one; else zeros, with one warning (qemu reads zeros where no backing file is opened) |
 * | `compressed` | the compressed unit, decoded with the codecs of `containers/codecs/` and kept in a small cache charged to the shared budget; a unit its map opens in steps (`openUnit`: VMDK's zlib grains) is decoded only as far as the reads into it need, its compressed bytes read that far |
 *
 * The guest disk is walked (partition tables, file systems), so it is read in any order:
 * it needs a random-access image (a file, a `Blob`, bytes, a URL read by ranges). On a
 * stream {@link openGuestDisk} answers `{ unavailable }`. Every read honours the
 * introspection's abort signal and budget; {@link GuestDisk.bytesRead} counts the image
 * bytes the guest disk took (tables, data, compressed units), each byte once.
 *
 * @module
 */
import { IntrospectionError, fieldError } from '../errors.js';
import type { AnyFormatModule, CompressedUnit, GuestDiskMap, GuestDiskPiece, GuestDiskUnavailable, GuestUnitDecoder } from '../format-module.js';
import { type Backend, CoveredRanges } from './backend.js';
import type { ByteReader } from './byte-reader.js';
import { throwIfAborted } from './chunks.js';
import { readPadded } from './padded.js';
import { type Budget, Reader, budgetError } from './reader.js';

/**
 * How many decoded bytes of compressed units a guest disk keeps: 8 MiB (128 qcow2 clusters
 * or VMDK grains of 64 KiB). A file system reads the same metadata blocks again and again;
 * the most recent unit is always kept, whatever its size, while the budget allows it.
 */
export const GUEST_UNIT_CACHE_BYTES = 8 * 1024 * 1024;

/**
 * The smallest step in which a unit decoded in steps (`GuestDiskMap.openUnit`) reads its
 * compressed bytes: 128 bytes (see {@link GUEST_UNIT_STEP_SHARE}).
 */
export const GUEST_UNIT_STEP_BYTES = 128;

/**
 * The share of its estimate a step of a unit decoded in steps reads: 0.3. The estimate is
 * the compressed bytes left times the share of the decoded bytes left that are still needed;
 * data compress unevenly (code, then zeros), so it errs both ways. Steps of a fraction of
 * it approach the prefix needed from below and overshoot by little: on the test guests'
 * streamOptimized disks they read 2-5 % more than decoding 16 bytes at a time would, where
 * whole estimates read 10-25 % more, in about a dozen steps for a whole grain.
 */
export const GUEST_UNIT_STEP_SHARE = 0.3;

/** What a unit decoded in steps holds besides its decoded bytes, charged to the budget with them: a zlib inflater's 32 KiB window and state. */
export const GUEST_UNIT_DECODER_BYTES = 48 * 1024;

/** A unit in the cache: its decoded bytes, and, for one decoded in steps, its decoder (which keeps its window). */
interface CachedUnit {
  readonly bytes: Uint8Array;
  readonly decoder?: GuestUnitDecoder | undefined;
}

/** The bytes a cached unit holds. */
function heldBy(unit: CachedUnit): number {
  return unit.bytes.byteLength + (unit.decoder === undefined ? 0 : GUEST_UNIT_DECODER_BYTES);
}

/** Options of {@link openGuestDisk}. */
export interface GuestDiskOptions {
  /**
   * The backing (parent) image's guest disk, read in any order (another
   * {@link openGuestDisk}'s reader). Without it, `backing` pieces read as zeros with a warning.
   */
  backing?: ByteReader | undefined;
  /** Receives soft problems (a backing image that was not given, table oddities). */
  warn?: ((message: string) => void) | undefined;
}

/** The guest's disk of an image, ready to read. */
export interface GuestDisk {
  /** The guest disk, read in any order; views (`sliceView`, `mappedView`) work on it. */
  readonly reader: Reader;
  /** Its length in bytes. */
  readonly size: number;
  /** The backing image's name, when parts of the disk come from it. */
  readonly backingFile: string | undefined;
  /** Image bytes the guest disk read so far (tables, data, compressed units), each byte once. */
  readonly bytesRead: number;
  /** Decoded compressed units so far (a unit read again from the cache is not counted). */
  readonly unitsDecoded: number;
  /** Gives the cache's share of the budget back. The image's source is not released. */
  release(): Promise<void>;
}

/** True for the `{ unavailable }` answer. */
export function isGuestDiskUnavailable(value: GuestDisk | GuestDiskMap | GuestDiskUnavailable): value is GuestDiskUnavailable {
  return 'unavailable' in value;
}

/** What the image and the parse said, for {@link openGuestDisk}. */
export interface ParsedForGuest {
  /** The format's details. */
  readonly details: unknown;
  /** The virtual size `parse` reported (`ImageInfo.virtualSize`). */
  readonly virtualSize: number;
}

/**
 * The guest disk of an image that `module` parsed: the map from the module's `guestDisk`,
 * served by a reader in any order over the same source as `image` (which must be a reader
 * the library made: the engine's, or a layer's).
 *
 * Answers `{ unavailable }` when the image is read as a stream (a guest disk is walked,
 * not streamed), when the format maps no guest disk here, or when the module says so
 * (encryption, data in other files). Errors in the tables it reads up front (`CORRUPT`,
 * `TRUNCATED`, `LIMIT_EXCEEDED`) are thrown; later ones come from the reads.
 */
export async function openGuestDisk(image: ByteReader, module: AnyFormatModule, parsed: ParsedForGuest, options: GuestDiskOptions = {}): Promise<GuestDisk | GuestDiskUnavailable> {
  if (!(image instanceof Reader)) throw new IntrospectionError('INTERNAL', 'a guest disk needs a reader the library made');
  if (module.guestDisk === undefined) return { unavailable: `the ${module.name} format's guest disk is not mapped here` };
  if (!image.randomAccess || image.backend.size === undefined) {
    return { unavailable: 'the guest disk needs random access (a file, a Blob, bytes or a URL read by ranges); this image is read as a stream' };
  }
  throwIfAborted(image.signal);
  const counted = new CountingBackend(image.backend);
  const anyOrder = new Reader(counted, { budget: image.budget, signal: image.signal, probeLimit: 0, detect: false, ordered: false });
  const warn = options.warn ?? (() => undefined);
  const map = await module.guestDisk(anyOrder, { details: parsed.details, virtualSize: parsed.virtualSize, warn });
  if (isGuestDiskUnavailable(map)) return map;
  const backend = new GuestDiskBackend(map, anyOrder, counted, options.backing, warn, image.budget, image.signal);
  const reader = new Reader(backend, { budget: image.budget, signal: image.signal, probeLimit: 0, detect: false, ordered: false });
  return {
    reader,
    size: map.size,
    backingFile: map.backingFile,
    get bytesRead() {
      return counted.bytesTaken;
    },
    get unitsDecoded() {
      return backend.unitsDecoded;
    },
    release: () => reader.release(),
  };
}

/**
 * The image's backend as the guest disk uses it: the same source, the bytes it takes
 * counted apart, and never released from here (the image's reader owns it).
 */
class CountingBackend implements Backend {
  readonly randomAccess = true;
  private readonly covered = new CoveredRanges();

  constructor(private readonly below: Backend) {}

  get size(): number | undefined {
    return this.below.size;
  }

  get bytesTaken(): number {
    return this.covered.total;
  }

  async fetch(offset: number, length: number, field: string): Promise<Uint8Array> {
    const bytes = await this.below.fetch(offset, length, field);
    this.covered.add(offset, offset + bytes.byteLength);
    return bytes;
  }

  async retainStart(): Promise<void> {}

  async seekEnd(): Promise<number> {
    return this.below.size ?? 0;
  }

  async release(): Promise<void> {}
}

/** The guest disk's bytes, piece by piece. */
class GuestDiskBackend implements Backend {
  readonly randomAccess = true;
  unitsDecoded = 0;
  /** Decoded units by key, least recently used first. */
  private readonly units = new Map<string, CachedUnit>();
  private readonly share: { held: number };
  private warnedBacking = false;

  constructor(
    private readonly map: GuestDiskMap,
    private readonly image: Reader,
    private readonly counted: CountingBackend,
    private readonly backing: ByteReader | undefined,
    private readonly warn: (message: string) => void,
    private readonly budget: Budget,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.share = budget.holder();
  }

  get size(): number {
    return this.map.size;
  }

  get bytesTaken(): number {
    return this.counted.bytesTaken;
  }

  async fetch(offset: number, length: number, field: string): Promise<Uint8Array> {
    const end = Math.min(this.map.size, offset + length);
    if (offset >= end) return new Uint8Array(0);
    const pieces = await this.map.lookup(offset, end - offset);
    checkCoverage(pieces, offset, end);
    const result = new Uint8Array(end - offset);
    for (const piece of pieces) {
      throwIfAborted(this.signal);
      const into = piece.offset - offset;
      switch (piece.kind) {
        case 'zero':
          break;
        case 'data':
          result.set(await this.image.read(piece.at, piece.length, `${field} (guest bytes ${piece.offset}..${piece.offset + piece.length})`), into);
          break;
        case 'backing':
          await this.readBacking(piece, result, into);
          break;
        case 'compressed': {
          const start = piece.offset - piece.unit.offset;
          const decoded = await this.decoded(piece.unit, start + piece.length);
          result.set(decoded.subarray(start, start + piece.length), into);
          break;
        }
      }
    }
    return result;
  }

  async retainStart(): Promise<void> {}

  async seekEnd(): Promise<number> {
    return this.map.size;
  }

  async release(): Promise<void> {
    this.units.clear();
    this.budget.drop(this.share);
  }

  private async readBacking(piece: GuestDiskPiece, result: Uint8Array, into: number): Promise<void> {
    if (this.backing === undefined) {
      if (!this.warnedBacking) {
        this.warnedBacking = true;
        const name = this.map.backingFile === undefined ? 'a backing image' : `the backing image "${this.map.backingFile}"`;
        this.warn(`the guest disk reads parts of ${name}, which was not opened: they read as zeros, as qemu reads them with no backing file`);
      }
      return;
    }
    // A backing image shorter than this one reads as zeros past its end (qemu's block layer).
    result.set(await this.backing.readAvailable(piece.offset, piece.length, 'backing image'), into);
  }

  /** A unit's decoded bytes (at least its first `need`), from the cache or decoded now. */
  private async decoded(unit: CompressedUnit, need: number): Promise<Uint8Array> {
    const key = `${unit.at}:${unit.offset}`;
    const cached = this.units.get(key);
    if (cached !== undefined) {
      this.units.delete(key);
      this.units.set(key, cached);
      if (cached.decoder !== undefined) await this.decodeThrough(key, unit, cached.decoder, need);
      return cached.bytes;
    }
    const room = this.budget.remaining + this.share.held;
    if (unit.length > room) {
      throw budgetError(`compressed unit at ${unit.at}`, `decoding ${unit.length} bytes would exceed the buffer budget (maxBufferBytes ${this.budget.limit})`, unit.at);
    }
    // The format's map knows its units' compression (qcow2's zlib or zstd clusters, VMDK's grains).
    if (this.map.openUnit !== undefined) {
      const decoder = await this.map.openUnit(unit, this.signal);
      this.unitsDecoded += 1;
      this.keep(key, { bytes: decoder.decoded, decoder });
      await this.decodeThrough(key, unit, decoder, need);
      return decoder.decoded;
    }
    const compressed = await readPadded(this.image, unit.at, unit.compressedLength, `compressed unit at ${unit.at}`);
    if (this.map.decode === undefined) throw fieldError('INTERNAL', 'guest disk', `a compressed unit at ${unit.at} from a map that cannot decode it`);
    const bytes = await this.map.decode(unit, compressed.bytes, this.signal);
    this.unitsDecoded += 1;
    this.keep(key, { bytes });
    return bytes;
  }

  /**
   * Feeds a unit decoded in steps until its first `need` bytes are out; once every byte the
   * disk takes from it is out, to the stream's end, so that its own check (a zlib
   * stream's Adler-32) is made.
   */
  private async decodeThrough(key: string, unit: CompressedUnit, decoder: GuestUnitDecoder, need: number): Promise<void> {
    try {
      await this.feedUntil(unit, decoder, need);
    } catch (error) {
      // A decoder that failed is not fed again: the next read of the unit starts it afresh (and fails the same way).
      this.drop(key);
      throw error;
    }
  }

  private async feedUntil(unit: CompressedUnit, decoder: GuestUnitDecoder, need: number): Promise<void> {
    while (!decoder.done && (decoder.filled < need || decoder.filled >= unit.length)) {
      throwIfAborted(this.signal);
      const left = unit.compressedLength - decoder.consumed;
      if (left <= 0) {
        decoder.feed(new Uint8Array(0), true);
        break;
      }
      const estimate = (left * Math.max(0, need - decoder.filled)) / Math.max(1, unit.length - decoder.filled);
      const step = Math.min(left, Math.max(GUEST_UNIT_STEP_BYTES, Math.ceil((GUEST_UNIT_STEP_SHARE * estimate) / GUEST_UNIT_STEP_BYTES) * GUEST_UNIT_STEP_BYTES));
      const compressed = await readPadded(this.image, unit.at + decoder.consumed, step, `compressed unit at ${unit.at}`);
      decoder.feed(compressed.bytes, step === left);
    }
  }

  /** Forgets a cached unit. */
  private drop(key: string): void {
    const unit = this.units.get(key);
    if (unit === undefined) return;
    this.units.delete(key);
    this.share.held -= heldBy(unit);
  }

  /** Keeps a decoded unit, dropping the oldest beyond the cache's size or the budget. */
  private keep(key: string, unit: CachedUnit): void {
    this.units.set(key, unit);
    this.share.held += heldBy(unit);
    for (const oldest of this.units.keys()) {
      const over = this.share.held > GUEST_UNIT_CACHE_BYTES || this.budget.held > this.budget.limit;
      if (!over || oldest === key) break;
      this.drop(oldest);
    }
  }
}

/** The pieces must cover `[start, end)` exactly, in order: anything else is a bug in a format's map. */
function checkCoverage(pieces: readonly GuestDiskPiece[], start: number, end: number): void {
  let position = start;
  for (const piece of pieces) {
    if (piece.offset !== position || !(piece.length > 0) || (piece.kind === 'compressed' && (piece.offset < piece.unit.offset || piece.offset + piece.length > piece.unit.offset + piece.unit.length))) {
      throw fieldError('INTERNAL', 'guest disk map', `a piece at ${piece.offset} of ${piece.length} bytes does not continue the lookup at ${position}`);
    }
    position += piece.length;
  }
  if (position !== end) throw fieldError('INTERNAL', 'guest disk map', `the pieces cover ${start}..${position}, not ${start}..${end}`);
}
