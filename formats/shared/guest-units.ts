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
 * {@link decodeGuestUnit}; the core's guest-disk reader only caches what they decode.
 *
 * @module
 */
import type { StreamDecoder } from '../../containers/codecs/codec.js';
import { createDeflateRawDecoder } from '../../containers/codecs/deflate.js';
import { type ZstdDecoder, createZstdDecoder } from '../../containers/codecs/zstd.js';
import { fieldError } from '../../src/errors.js';
import type { CompressedUnit } from '../../src/format-module.js';

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
