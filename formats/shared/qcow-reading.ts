/**
 * Forward-only reading for the qcow family (qcow2, qcow, QED), shared by their modules.
 *
 * These formats keep a header at offset 0 and point from it to structures anywhere in the
 * file (a backing file name, a snapshot table, a bitmap directory). Three rules follow from
 * how the formats are read:
 *
 * | rule | why |
 * | --- | --- |
 * | the start of the image (the header cluster) is kept as it is read, so a pointer back into it is served from memory | a backing file name or table may legally sit inside the header cluster, and a stream cannot go back |
 * | every other read starts at or after the end of the previous one, else `CORRUPT` | the structures of a valid image do not overlap, and failing the same way on every kind of source keeps results independent of the source |
 * | bytes past the end of the image read as zeros, and the caller learns how many were real | qemu's block layer reads zeros past the end of a file, so a header with its tables cut off still opens (`qemu-img info` on a bare 512-byte header works) |
 *
 * @module
 */
import { u32be } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import type { ByteReader } from '../../src/format-module.js';

/** Bytes read at one place: always the length asked for, zero-padded past the end of the image. */
export interface ReadPiece {
  /** Exactly the requested length; bytes past the end of the image are zero. */
  readonly bytes: Uint8Array;
  /** How many of `bytes`, from the start, are really in the image. */
  readonly available: number;
}

/** Reads an image in ascending order, keeping its start (see the module comment). */
export class ForwardReads {
  /** Bytes `[0, keptLength)` of the image, zero-padded past its end. */
  private kept = new Uint8Array(0);
  private keptLength = 0;
  /** The end of the furthest range read so far. */
  private position = 0;
  /** The first offset the image does not have, once a read has found it. */
  private imageEnd: number | undefined;

  /**
   * @param reader - the image
   * @param maxKeptBytes - the most of the image's start that may be kept (the format's largest header cluster)
   */
  constructor(
    private readonly reader: ByteReader,
    private readonly maxKeptBytes: number,
  ) {}

  /**
   * Bytes `[0, end)` of the image, kept so that later reads may point back into them.
   * Must be called before any read beyond the kept start (headers come first).
   */
  async start(end: number, field: string): Promise<ReadPiece> {
    if (end > this.maxKeptBytes) {
      throw fieldError('LIMIT_EXCEEDED', field, `the header area would need ${end} bytes, more than the ${this.maxKeptBytes} kept`);
    }
    if (end > this.keptLength) {
      if (this.position > this.keptLength) {
        throw fieldError('INTERNAL', field, 'the header area was extended after reading beyond it');
      }
      const grown = new Uint8Array(Math.min(this.maxKeptBytes, Math.max(end, this.kept.byteLength * 2)));
      grown.set(this.kept.subarray(0, this.keptLength));
      const fresh = await this.fetch(this.keptLength, end - this.keptLength, field);
      grown.set(fresh, this.keptLength);
      this.kept = grown;
      this.keptLength = end;
      this.position = Math.max(this.position, end);
    }
    return { bytes: this.kept.subarray(0, end), available: this.availableIn(0, end) };
  }

  /**
   * `length` bytes at `offset`, zero-padded past the end of the image. Throws `CORRUPT`
   * when the range begins before bytes already read (outside the kept start).
   */
  async read(offset: number, length: number, field: string): Promise<ReadPiece> {
    const end = offset + length;
    if (length === 0) return { bytes: new Uint8Array(0), available: 0 };
    if (end <= this.keptLength) {
      return { bytes: this.kept.subarray(offset, end), available: this.availableIn(offset, end) };
    }
    if (offset < this.keptLength && this.position === this.keptLength) {
      // Starts inside the kept start and runs past it: join the two.
      const bytes = new Uint8Array(length);
      bytes.set(this.kept.subarray(offset, this.keptLength));
      bytes.set(await this.fetch(this.keptLength, end - this.keptLength, field), this.keptLength - offset);
      this.position = end;
      return { bytes, available: this.availableIn(offset, end) };
    }
    if (offset < this.position) {
      throw fieldError('CORRUPT', field, `bytes ${offset}..${end} overlap a structure already read (up to ${this.position}); the structures of a valid image do not overlap`, offset);
    }
    const bytes = await this.fetch(offset, length, field);
    this.position = end;
    return { bytes, available: this.availableIn(offset, end) };
  }

  /** Reads `[offset, offset + length)`, zero-padded, noting where the image ends. */
  private async fetch(offset: number, length: number, field: string): Promise<Uint8Array> {
    if (length === 0) return new Uint8Array(0);
    if (this.imageEnd !== undefined && offset >= this.imageEnd) return new Uint8Array(length);
    const got = await this.reader.readAvailable(offset, length, field);
    if (got.byteLength === length) return got;
    this.imageEnd = Math.min(this.imageEnd ?? Number.MAX_SAFE_INTEGER, offset + got.byteLength);
    const padded = new Uint8Array(length);
    padded.set(got);
    return padded;
  }

  private availableIn(offset: number, end: number): number {
    if (this.imageEnd === undefined) return end - offset;
    return Math.max(0, Math.min(end, this.imageEnd) - offset);
  }
}

/** `value` rounded up to a multiple of 8 (qcow2 pads header extensions and table entries so). */
export function alignTo8(value: number): number {
  return Math.ceil(value / 8) * 8;
}

/**
 * The version field (big-endian u32 at 4) of a "QFI\xfb" header, read as qemu's probes read
 * it: from a 512-byte buffer zero-padded past the end of a short file. qcow2 claims
 * versions 2 and up, qcow version 1.
 */
export async function qcowHeaderVersion(reader: ByteReader): Promise<number> {
  const padded = new Uint8Array(8);
  padded.set(await reader.readAvailable(0, 8, 'header.version'));
  return u32be(padded, 4);
}
