/**
 * Raw: the fallback when no other format matches. The virtual size is the byte count.
 *
 * qemu rounds a raw file's size up to whole 512-byte sectors; we report the exact byte
 * count (what OpenStack's inspector reports too). The two agree for every real disk,
 * whose size is a whole number of sectors.
 *
 * @module
 */
import type { FormatModule } from '../src/format-module.js';

/** Raw disk metadata. */
export interface RawDetails {
  /** The image's length in bytes. */
  size: number;
}

/** The raw format module (the fallback). */
export const raw: FormatModule<'raw', RawDetails> = {
  name: 'raw',
  title: 'Raw disk image',
  signatures: [],
  fallback: true,
  async parse(reader) {
    const size = await reader.totalSize();
    return { virtualSize: size, details: { size } };
  },
};
