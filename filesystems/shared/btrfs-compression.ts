/**
 * Decoding compressed btrfs file extents: the one place where decoders are wired in.
 *
 * Btrfs compresses each extent separately (at most 128 KiB of file data,
 * `BTRFS_MAX_UNCOMPRESSED`, into at most 128 KiB on disk): zlib extents are one zlib
 * stream (RFC 1950), zstd extents one zstd frame, lzo extents btrfs's own framing of LZO1X
 * segments (decoded here, in `btrfs-lzo.ts`). On disk the zlib stream and the zstd frame
 * are followed by zero padding up to the sector: a decoder must stop at the end of the
 * stream. The last extent of a file may decode to less than its `ram_bytes` (which is
 * rounded up to the sector); the rest reads as zeros.
 *
 * Until the codecs in `containers/codecs/` are wired here, zlib and zstd are detected and
 * refused with `UNSUPPORTED` naming the algorithm, so that a caller sees *why* a file
 * could not be read.
 *
 * @module
 */
import { fieldError } from '../../src/errors.js';
import type { BtrfsCompression } from './btrfs-structures.js';

/** The algorithms decoded through a {@link BtrfsDecompressor} (lzo is decoded here). */
export type PluggableCompression = Exclude<BtrfsCompression, 'lzo'>;

/** Largest decoded extent (`BTRFS_MAX_UNCOMPRESSED`, 128 KiB); a larger `ram_bytes` on a compressed extent is corrupt. */
export const BTRFS_MAX_DECOMPRESSED_EXTENT_BYTES = 128 * 1024;
/** Largest compressed extent on disk (`BTRFS_MAX_COMPRESSED`, 128 KiB). */
export const BTRFS_MAX_COMPRESSED_EXTENT_BYTES = 128 * 1024;

/**
 * Decodes one compressed extent to exactly `decodedLength` bytes (`ram_bytes`), or fewer
 * when the stream ends early (the rest of the extent then reads as zeros, as the kernel
 * does). Throws `CORRUPT` for a bad stream and `UNSUPPORTED` for an algorithm not wired in.
 */
export type BtrfsDecompressor = (algorithm: PluggableCompression, compressed: Uint8Array, decodedLength: number, field: string) => Promise<Uint8Array>;

/**
 * The decompressor the driver uses unless the caller passes another one: zlib and zstd are
 * `UNSUPPORTED` for now. Wire the zlib (deflate) and zstd decoders of
 * `containers/codecs/` here; zlib extents carry a two-byte RFC 1950 header before the
 * deflate data and an Adler-32 after it.
 */
export const decompressBtrfsExtent: BtrfsDecompressor = async (algorithm, _compressed, _decodedLength, field) => {
  throw fieldError('UNSUPPORTED', field, `the extent is ${algorithm}-compressed and no ${algorithm} decoder is wired in`);
};
