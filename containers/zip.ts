/**
 * zip: Windows test VMs and appliances travel zipped (a `.vhdx`, a `.vmdk` or an `.ova`
 * inside). Entries are read through their local headers in archive order, the same way
 * from a stream and from a file, so the answer never depends on the source; the central
 * directory at the end is not needed to find the disk.
 *
 * Which entry is the disk: the first one the formats or containers recognise; when none
 * is, the largest one, read as raw. A stored entry on a random-access source is itself
 * read by random access; a compressed one (deflate; bzip2, zstd and xz as zip allows them)
 * is decoded as far as its answer needs. An entry whose sizes are deferred to a data
 * descriptor can be passed only by decoding it to its end: the walk stops there when its
 * answer came earlier.
 *
 * | layer field | meaning |
 * | --- | --- |
 * | `member` | the disk's entry name |
 * | `method` | its compression (`stored`, `deflate`...) |
 * | `compressedSize`, `uncompressedSize` | its sizes, when the local header (or the decoding) says |
 * | `crc32` | the CRC-32 the header records |
 * | `mtime` | its time (the extended timestamp, else the DOS time as written) |
 * | `zip64` | sizes or offsets came from a zip64 extra field |
 * | `entries` | the entries read, in order, up to and including the disk (at most 1000) |
 *
 * @module
 */
import type { ContainerContext, ContainerModule, InnerImage } from '../src/container-module.js';
import type { ByteReader } from '../src/format-module.js';
import { createBzip2Decoder } from './codecs/bzip2.js';
import { createDeflateRawDecoder } from './codecs/deflate.js';
import { createXzDecoder } from './codecs/xz.js';
import { createZstdDecoder } from './codecs/zstd.js';
import { type ArchiveEntry, MAX_LISTED_ENTRIES, memberPathCheck, recognised } from './shared/members.js';
import type { DecoderMaker } from './shared/compression.js';
import { type ZipLocalEntry, ZipStreamWalker } from './shared/zip.js';

/** What the zip layer knows. */
export interface ZipLayer {
  member: string;
  method: string;
  compressedSize?: number;
  uncompressedSize?: number;
  crc32: number;
  mtime: string;
  zip64: boolean;
  entries: ArchiveEntry[];
}

/** Decoders for the compression methods zip allows that this library decodes (APPNOTE 4.4.5). */
const DECODERS: Readonly<Record<number, DecoderMaker<Awaited<ReturnType<typeof createDeflateRawDecoder>>>>> = {
  8: (options) => createDeflateRawDecoder(options),
  12: (options) => createBzip2Decoder(options),
  93: (options) => createZstdDecoder(options),
  95: (options) => createXzDecoder(options),
};

/** A reader over an entry's bytes and, for a compressed one, what decoding did. */
function entryReader(context: ContainerContext, entry: ZipLocalEntry): { reader: ByteReader; compressedLength?: () => number | undefined } | undefined {
  if (entry.encrypted) return undefined;
  if (entry.method === 0) return entry.sizeKnown ? { reader: context.slice(entry.dataOffset, entry.compressedSize) } : undefined;
  const decoder = DECODERS[entry.method];
  if (decoder === undefined) return undefined;
  const decoded = context.decoded(entry.dataOffset, entry.sizeKnown ? entry.compressedSize : undefined, decoder);
  return {
    reader: decoded.reader,
    compressedLength: () => {
      const stats = decoded.stats();
      return stats.ended ? stats.compressedBytes : undefined;
    },
  };
}

/** The zip container module. */
export const zip: ContainerModule<'zip', ZipLayer, 'member_path'> = {
  name: 'zip',
  title: 'zip archive',
  signatures: [{ offset: 0, bytes: 'PK\x03\x04' }],
  glance: { containerFormat: 'compressed' },
  checks: [memberPathCheck],
  summarize: (layer) => [
    ['member', layer.member],
    ['method', layer.method],
    ['uncompressed size', layer.uncompressedSize],
  ],
  async open(reader, context) {
    const walker = new ZipStreamWalker(reader);
    const entries: ArchiveEntry[] = [];
    let chosen: { entry: ZipLocalEntry; image: InnerImage } | undefined;
    let largest: { entry: ZipLocalEntry; image: InnerImage } | undefined;
    for (;;) {
      const entry = await walker.next();
      if (entry === undefined) break;
      const directory = entry.name.endsWith('/');
      if (entries.length < MAX_LISTED_ENTRIES) entries.push({ name: entry.name, type: directory ? 'directory' : 'file', size: entry.uncompressedSize });
      if (directory) continue;
      const member = entryReader(context, entry);
      if (member === undefined) {
        context.warn(`entry ${JSON.stringify(entry.name)} is ${entry.encrypted ? 'encrypted' : `compressed with ${entry.methodName}`}: not read`);
        if (!entry.sizeKnown) break;
        continue;
      }
      const image = await context.introspect(member.reader);
      if (recognised(image)) {
        chosen = { entry, image };
        break;
      }
      if (largest === undefined || image.virtualSize > largest.image.virtualSize) largest = { entry, image };
      if (!entry.sizeKnown) {
        // Its end is known only if decoding reached it; otherwise the walk cannot go on.
        const length = member.compressedLength?.();
        if (length === undefined) break;
        walker.dataEndsAt(length);
      }
    }
    const found = chosen ?? largest;
    if (found === undefined) return { layer: { member: '', method: 'stored', crc32: 0, mtime: '', zip64: false, entries }, images: [] };
    const { entry, image } = found;
    const layer: ZipLayer = {
      member: entry.name,
      method: entry.methodName,
      crc32: entry.crc32,
      mtime: entry.mtime ?? entry.dosTime,
      zip64: entry.zip64,
      entries,
    };
    if (entry.sizeKnown) {
      layer.compressedSize = entry.compressedSize;
      layer.uncompressedSize = entry.uncompressedSize;
    }
    return { layer, images: [image] };
  },
};
