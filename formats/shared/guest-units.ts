/**
 * The compressed units of guest disks (qcow2 clusters, VMDK grains), decoded by qemu's rules:
 *
 * | codec | used by | valid when |
 * | --- | --- | --- |
 * | `deflate-raw` | qcow2 (compression type zlib), qcow | the raw deflate data yields the unit's `length` bytes; the stream may go on (qemu stops when its output buffer is full, since the stored length is only known to the sector) |
 * | `zstd` | qcow2 (compression type zstd) | zstd frames yield the unit's `length` bytes and the frame that fills them ends there |
 * | `zlib` | VMDK compressed grains, cloop blocks | one whole zlib stream (RFC 1950: header, deflate data, Adler-32) that decodes to at least `length` and at most `maxLength` bytes |
 *
 * The maps that produce such units (`qcow2-guest.ts`, `vmdk-guest.ts`) decode them with
 * {@link decodeGuestUnit}; the core's guest-disk reader only caches what they decode. VMDK's
 * map also opens its grains in steps ({@link openGuestUnit}, {@link ZlibUnitDecoder}), so
 * that a read of a grain's first sectors reads the start of its stream only.
 *
 * @module
 */
import type { StreamDecoder } from '../../containers/codecs/codec.js';
import { createDeflateRawDecoder } from '../../containers/codecs/deflate.js';
import { type ZstdDecoder, createZstdDecoder } from '../../containers/codecs/zstd.js';
import { fieldError } from '../../src/errors.js';
import { concat } from '../../src/reading/tail-window.js';
import type { CompressedUnit, GuestUnitDecoder } from '../../src/format-module.js';

/** How a guest disk's compressed unit is compressed (see the table above). */
export type GuestUnitCodec = 'deflate-raw' | 'zstd' | 'zlib';

/** The largest decoded step a unit's decoder returns: 64 KiB (the codecs' default). */
const DECODE_STEP_BYTES = 64 * 1024;

/** Decodes one unit by its codec's rules (see the table above). */
export async function decodeGuestUnit(unit: CompressedUnit, compressed: Uint8Array, signal: AbortSignal | undefined): Promise<Uint8Array> {
  const field = `compressed unit at ${unit.at} (guest ${unit.offset})`;
  const options = { maxChunkBytes: DECODE_STEP_BYTES, ...(signal === undefined ? {} : { signal }) };
  switch (unit.codec as GuestUnitCodec) {
    case 'deflate-raw':
      // qemu (qcow2_zlib_decompress, qcow's decompress_buffer): the output buffer filled is enough.
      return fill(await createDeflateRawDecoder(options), compressed, unit.length, field, false);
    case 'zstd':
      return fillZstd(await createZstdDecoder(options), compressed, unit.length, field);
    case 'zlib':
      return decodeZlib(unit, compressed, field, options);
    default:
      throw fieldError('INTERNAL', field, `no decoder for compression "${unit.codec}"`);
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
  const length = bytes.byteLength;
  for (let start = 0; start < length; start += 5552) {
    const end = Math.min(length, start + 5552);
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
  const decoder = await ZlibUnitDecoder.open(unit, field, options);
  decoder.feed(compressed, true);
  if (!decoder.done) throw fieldError('CORRUPT', field, 'the zlib stream ends without its checksum');
  return decoder.decoded.byteLength === unit.length ? decoder.decoded : decoder.decoded.slice(0, unit.length);
}

/**
 * Opens a unit for decoding in steps (`GuestDiskMap.openUnit`): `zlib` units only, whose
 * decoded bytes come out in order as their compressed bytes go in (see
 * {@link ZlibUnitDecoder}); other codecs are decoded whole.
 */
export async function openGuestUnit(unit: CompressedUnit, signal: AbortSignal | undefined): Promise<GuestUnitDecoder> {
  const field = `compressed unit at ${unit.at} (guest ${unit.offset})`;
  if (unit.codec !== 'zlib') throw fieldError('INTERNAL', field, `"${unit.codec}" units are decoded whole`);
  return ZlibUnitDecoder.open(unit, field, { maxChunkBytes: DECODE_STEP_BYTES, ...(signal === undefined ? {} : { signal }) });
}

/** Bytes of the Adler-32 that closes a zlib stream. */
const ADLER_BYTES = 4;

/**
 * A zlib unit decoded as its compressed bytes arrive: the header is checked with the first
 * two bytes, every deflate code as it comes (a damaged prefix is `CORRUPT` at once), and
 * the Adler-32 of the whole decoded stream once its end has been fed; then `done`. The
 * stream must decode to at least the unit's `length` and at most its `maxLength` bytes.
 *
 * Decoded bytes are valid as soon as they are out, before the Adler-32 at the stream's
 * end is read: a guest read that needs the start of a grain reads the start of its stream
 * only. What that gives up is the checksum over data the read did not reach yet; an
 * uncompressed grain, a qcow2 cluster or a VHD block carries no checksum at all, and a
 * read that reaches the grain's end still checks it.
 */
export class ZlibUnitDecoder implements GuestUnitDecoder {
  readonly decoded: Uint8Array;
  filled = 0;
  consumed = 0;
  done = false;
  private header: Uint8Array = new Uint8Array(0);
  private ended = false;
  private trailer: Uint8Array = new Uint8Array(0);

  private constructor(
    private readonly unit: CompressedUnit,
    private readonly field: string,
    private readonly inflater: StreamDecoder,
  ) {
    this.decoded = new Uint8Array(unit.maxLength ?? unit.length);
  }

  /** A decoder for `unit`, nothing fed yet. */
  static async open(unit: CompressedUnit, field: string, options: { maxChunkBytes: number; signal?: AbortSignal }): Promise<ZlibUnitDecoder> {
    return new ZlibUnitDecoder(unit, field, await createDeflateRawDecoder(options));
  }

  feed(bytes: Uint8Array, last: boolean): void {
    if (this.done) return;
    this.consumed += bytes.byteLength;
    let input = bytes;
    if (this.header.byteLength < 2) {
      const take = Math.min(2 - this.header.byteLength, input.byteLength);
      this.header = concat([this.header, input.subarray(0, take)]);
      input = input.subarray(take);
      if (this.header.byteLength < 2) {
        if (last) throw fieldError('CORRUPT', this.field, 'the zlib stream ends inside its header');
        return;
      }
      this.checkHeader();
    }
    if (this.ended) {
      this.trailer = concat([this.trailer, input]);
    } else {
      this.inflater.write(input);
      if (last) this.inflater.finish();
      this.drain();
    }
    if (this.ended) this.checkTrailer(last);
  }

  private checkHeader(): void {
    const cmf = this.header[0] ?? 0;
    const flg = this.header[1] ?? 0;
    if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0) {
      throw fieldError('CORRUPT', this.field, `0x${cmf.toString(16)} 0x${flg.toString(16)} is not a zlib header (deflate, window up to 32 KiB)`);
    }
    if ((flg & 0x20) !== 0) throw fieldError('UNSUPPORTED', this.field, 'the zlib stream needs a preset dictionary');
  }

  /** Takes every decoded byte the input so far gives. */
  private drain(): void {
    for (;;) {
      const step = this.inflater.read();
      if (step.kind === 'needs-input') return;
      if (step.kind === 'end') {
        this.ended = true;
        this.trailer = step.trailing.slice();
        if (this.filled < this.unit.length) throw fieldError('CORRUPT', this.field, `decodes to ${this.filled} bytes, fewer than the ${this.unit.length} the disk needs from it`);
        return;
      }
      if (this.filled + step.bytes.byteLength > this.decoded.byteLength) throw fieldError('CORRUPT', this.field, `decodes to more than ${this.decoded.byteLength} bytes`);
      this.decoded.set(step.bytes, this.filled);
      this.filled += step.bytes.byteLength;
    }
  }

  /** The Adler-32 after the deflate data, once its four bytes are in. */
  private checkTrailer(last: boolean): void {
    if (this.trailer.byteLength < ADLER_BYTES && !last) return;
    const stored = this.trailer.byteLength >= ADLER_BYTES ? new DataView(this.trailer.buffer, this.trailer.byteOffset, ADLER_BYTES).getUint32(0, false) : undefined;
    const computed = adler32(this.decoded.subarray(0, this.filled));
    if (stored !== computed) {
      throw fieldError('CORRUPT', this.field, `the zlib checksum is ${stored === undefined ? 'missing' : `0x${stored.toString(16)}`}, the data gives 0x${computed.toString(16)}`);
    }
    this.done = true;
  }
}
