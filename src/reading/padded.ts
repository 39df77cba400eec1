/**
 * Reads past the end of an image as zeros, as qemu's block layer does.
 *
 * qemu reads zeros past the end of a file, so an image whose header points at a table cut
 * off by a truncation still opens (`qemu-img info` on a bare 512-byte qcow2 header works).
 * Formats that follow qemu read such structures zero-padded, and record that the image is
 * not whole (the `parse_error` check then fails), in the same words everywhere.
 *
 * @module
 */
import type { ByteReader } from './byte-reader.js';

/** Bytes read at one place: always the length asked for, zero-padded past the end of the image. */
export interface PaddedBytes {
  /** Exactly the requested length; bytes past the end of the image are zero. */
  readonly bytes: Uint8Array;
  /** How many of `bytes`, from the start, are really in the image. */
  readonly available: number;
}

/** `length` bytes at `offset`, zero-padded past the end of the image. */
export async function readPadded(reader: ByteReader, offset: number, length: number, field: string): Promise<PaddedBytes> {
  const got = await reader.readAvailable(offset, length, field);
  if (got.byteLength === length) return { bytes: got, available: length };
  const bytes = new Uint8Array(length);
  bytes.set(got);
  return { bytes, available: got.byteLength };
}

/** The one wording for a structure cut off by the end of the image and read as zeros. */
export function missingBytesMessage(structure: string, offset: number): string {
  return `the image ends before the ${structure} (at ${offset}) ends; the missing bytes read as zeros, as qemu reads them`;
}
