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
 * | `compressed` | the compressed unit, decoded with the codecs of `containers/codecs/` and kept in a small cache charged to the shared budget |
 *
 * The guest disk is walked (partition tables, file systems), so it is read in any order:
 * it needs a random-access image (a file, a `Blob`, bytes, a URL read by ranges). On a
 * stream {@link openGuestDisk} answers `{ unavailable }`. Every read honours the
 * introspection's abort signal and budget; {@link GuestDisk.bytesRead} counts the image
 * bytes the guest disk took (tables, data, compressed units), each byte once.
 *
 * @module
 */
import { createDeflateRawDecoder } from '../../containers/codecs/deflate.js';
import type { StreamDecoder } from '../../containers/codecs/codec.js';
import { type ZstdDecoder, createZstdDecoder } from '../../containers/codecs/zstd.js';
import { IntrospectionError, fieldError } from '../errors.js';
import type { AnyFormatModule, CompressedUnit, GuestDiskMap, GuestDiskPiece, GuestDiskUnavailable } from '../format-module.js';
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
  private readonly units = new Map<string, Uint8Array>();
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
          const decoded = await this.decoded(piece.unit);
          const start = piece.offset - piece.unit.offset;
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

  /** A unit's decoded bytes, from the cache or decoded now. */
  private async decoded(unit: CompressedUnit): Promise<Uint8Array> {
    const key = `${unit.at}:${unit.offset}`;
    const cached = this.units.get(key);
    if (cached !== undefined) {
      this.units.delete(key);
      this.units.set(key, cached);
      return cached;
    }
    const room = this.budget.remaining + this.share.held;
    if (unit.length > room) {
      throw budgetError(`compressed unit at ${unit.at}`, `decoding ${unit.length} bytes would exceed the buffer budget (maxBufferBytes ${this.budget.limit})`, unit.at);
    }
    const compressed = await readPadded(this.image, unit.at, unit.compressedLength, `compressed unit at ${unit.at}`);
    const bytes = await decodeUnit(unit, compressed.bytes, this.signal);
    this.unitsDecoded += 1;
    this.keep(key, bytes);
    return bytes;
  }

  /** Keeps a decoded unit, dropping the oldest beyond the cache's size or the budget. */
  private keep(key: string, bytes: Uint8Array): void {
    this.units.set(key, bytes);
    this.share.held += bytes.byteLength;
    for (const [oldest, old] of this.units) {
      const over = this.share.held > GUEST_UNIT_CACHE_BYTES || this.budget.held > this.budget.limit;
      if (!over || oldest === key) break;
      this.units.delete(oldest);
      this.share.held -= old.byteLength;
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

// ---------------------------------------------------------------------------------------
// Compressed units

/** The largest decoded step a unit's decoder returns: 64 KiB (the codecs' default). */
const DECODE_STEP_BYTES = 64 * 1024;

/** Decodes one unit by its codec's rules (see `GuestDiskCodec`). */
export async function decodeUnit(unit: CompressedUnit, compressed: Uint8Array, signal: AbortSignal | undefined): Promise<Uint8Array> {
  const field = `compressed unit at ${unit.at} (guest ${unit.offset})`;
  const options = { maxChunkBytes: DECODE_STEP_BYTES, ...(signal === undefined ? {} : { signal }) };
  switch (unit.codec) {
    case 'deflate-raw':
      // qemu (qcow2_zlib_decompress, qcow's decompress_buffer): the output buffer filled is enough.
      return fill(await createDeflateRawDecoder(options), compressed, unit.length, field, false);
    case 'zstd':
      return fillZstd(await createZstdDecoder(options), compressed, unit.length, field);
    case 'zlib':
      return decodeZlib(unit, compressed, field, options);
  }
}

/**
 * Decodes until `length` bytes are out. Bytes decoded beyond them in the same step are
 * `CORRUPT` when `moreIsCorrupt`, else dropped (qemu's inflate stops at a full buffer).
 */
function fill(decoder: StreamDecoder, compressed: Uint8Array, length: number, field: string, moreIsCorrupt: boolean): Uint8Array {
  decoder.write(compressed);
  decoder.finish();
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const step = decoder.read();
    if (step.kind === 'end') throw fieldError('CORRUPT', field, `decodes to ${filled} bytes, fewer than the ${length} it must hold`);
    if (step.kind === 'needs-input') throw fieldError('INTERNAL', field, 'a decoder asked for input after finish');
    const take = Math.min(step.bytes.byteLength, length - filled);
    out.set(step.bytes.subarray(0, take), filled);
    filled += take;
    if (moreIsCorrupt && take < step.bytes.byteLength) throw fieldError('CORRUPT', field, `decodes to more than the ${length} bytes it must hold`);
  }
  return out;
}

/**
 * qemu's zstd rule (qcow2_zstd_decompress): frames are decoded until the cluster is full,
 * and the frame that fills it must end there (its checksum and content size are checked
 * on the way). The next compressed cluster often starts in the same sector, so what
 * follows the frame is not looked at, even when the decoder starts on it.
 */
function fillZstd(decoder: ZstdDecoder, compressed: Uint8Array, length: number, field: string): Uint8Array {
  const out = fill(decoder, compressed, length, field, true);
  const filling = decoder.frameCount;
  const ended = (): boolean => decoder.frames[filling - 1]?.uncompressedSize !== undefined;
  while (!ended()) {
    let step: ReturnType<ZstdDecoder['read']>;
    try {
      step = decoder.read();
    } catch (error) {
      if (ended()) break;
      throw error;
    }
    if (step.kind === 'data' && decoder.frameCount === filling) throw fieldError('CORRUPT', field, `decodes to more than the ${length} bytes it must hold`);
    if (step.kind !== 'needs-input' && !ended()) throw fieldError('CORRUPT', field, 'the zstd frame that fills the cluster does not end with it');
  }
  return out;
}

/** Adler-32 (RFC 1950 §8.2), the checksum closing a zlib stream. */
export function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  // 5552 is the most bytes before b may overflow 2^32 (zlib's NMAX).
  for (let start = 0; start < bytes.byteLength; start += 5552) {
    const end = Math.min(bytes.byteLength, start + 5552);
    for (let index = start; index < end; index += 1) {
      a += bytes[index] as number;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/**
 * One whole zlib stream (RFC 1950): a 2-byte header (deflate, window at most 32 KiB, no
 * preset dictionary, the check bits right), raw deflate data, and the Adler-32 of the
 * decoded bytes. zlib's `uncompress`, which qemu calls for VMDK grains and cloop blocks,
 * accepts exactly that.
 */
async function decodeZlib(unit: CompressedUnit, compressed: Uint8Array, field: string, options: { maxChunkBytes: number; signal?: AbortSignal }): Promise<Uint8Array> {
  const maxLength = unit.maxLength ?? unit.length;
  const cmf = compressed[0] ?? 0;
  const flg = compressed[1] ?? 0;
  if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0) {
    throw fieldError('CORRUPT', field, `0x${cmf.toString(16)} 0x${flg.toString(16)} is not a zlib header (deflate, window up to 32 KiB)`);
  }
  if ((flg & 0x20) !== 0) throw fieldError('UNSUPPORTED', field, 'the zlib stream needs a preset dictionary');
  const decoder = await createDeflateRawDecoder(options);
  decoder.write(compressed.subarray(2));
  decoder.finish();
  const out = new Uint8Array(maxLength);
  let filled = 0;
  for (;;) {
    const step = decoder.read();
    if (step.kind === 'end') {
      if (filled < unit.length) throw fieldError('CORRUPT', field, `decodes to ${filled} bytes, fewer than the ${unit.length} the disk needs from it`);
      const trailer = step.trailing;
      const stored = trailer.byteLength >= 4 ? new DataView(trailer.buffer, trailer.byteOffset, 4).getUint32(0, false) : undefined;
      const computed = adler32(out.subarray(0, filled));
      if (stored !== computed) {
        throw fieldError('CORRUPT', field, `the zlib checksum is ${stored === undefined ? 'missing' : `0x${stored.toString(16)}`}, the data gives 0x${computed.toString(16)}`);
      }
      return filled === unit.length ? out.subarray(0, filled) : out.slice(0, unit.length);
    }
    if (step.kind === 'needs-input') throw fieldError('INTERNAL', field, 'a decoder asked for input after finish');
    if (filled + step.bytes.byteLength > maxLength) throw fieldError('CORRUPT', field, `decodes to more than ${maxLength} bytes`);
    out.set(step.bytes, filled);
    filled += step.bytes.byteLength;
  }
}
