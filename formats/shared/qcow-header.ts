/**
 * What the qcow family (qcow2, qcow, QED) shares about reading its images.
 *
 * These formats keep a header at offset 0 and point from it to structures anywhere in the
 * file (a backing file name, a snapshot table, a bitmap directory). They read through the
 * one reading layer (`src/reading/`) under two rules:
 *
 * | rule | how |
 * | --- | --- |
 * | the header area is kept, so that a pointer back into it is served from memory | `reader.keepStart(end)` before reading beyond it: a backing file name or table may legally sit inside the header cluster, and a stream cannot go back |
 * | bytes past the end of the image read as zeros, and the image is then recorded incomplete | `readPadded` and `missingBytesMessage`: qemu's block layer reads zeros past the end of a file, so a header with its tables cut off still opens (`qemu-img info` on a bare 512-byte header works) |
 *
 * Every other structure is read forward; one that lies behind bytes already read (two
 * structures that overlap) fails as the reader fails it, `UNSUPPORTED` naming the field,
 * the same on every kind of source.
 *
 * @module
 */
import { u32be } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import type { ByteReader, ParseContext } from '../../src/format-module.js';
import { missingBytesMessage, readPadded } from '../../src/reading/padded.js';

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
  return u32be((await readPadded(reader, 0, 8, 'header.version')).bytes, 4);
}

/** The first `length` bytes of the image, kept (later structures may point back into them); `TRUNCATED` when the image is shorter. */
export async function readWholeHeader(reader: ByteReader, length: number, field: string): Promise<Uint8Array> {
  await reader.keepStart(length, field);
  const { bytes, available } = await readPadded(reader, 0, length, field);
  if (available < length) throw fieldError('TRUNCATED', field, `needs ${length} bytes, but the image has ${available}`);
  return bytes;
}

/**
 * `length` bytes at `offset`, zero-padded past the end of the image as qemu reads them; the
 * image is recorded incomplete (`parse_error` fails) when `structure` runs past its end.
 * With `keep`, the bytes are part of the header area, kept readable in any order.
 */
export async function readQemuPadded(
  reader: ByteReader,
  offset: number,
  length: number,
  where: { field: string; structure: string; keep?: boolean },
  context: ParseContext,
): Promise<Uint8Array> {
  if (where.keep === true) await reader.keepStart(offset + length, where.field);
  const { bytes, available } = await readPadded(reader, offset, length, where.field);
  if (available < length) context.incomplete(missingBytesMessage(where.structure, offset));
  return bytes;
}
