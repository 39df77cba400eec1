/**
 * gzip (RFC 1952): `.img.gz`, `.qcow2.gz`, the outer layer of `.tar.gz` and of Vagrant
 * boxes. Several members (`cat a.gz b.gz`) are one stream, as gzip reads them; each
 * member's CRC-32 and length are verified as it ends.
 *
 * | layer field | meaning |
 * | --- | --- |
 * | `name`, `mtime`, `os`, `comment` | the first member's header: the original file name, its time (ISO 8601), the OS that wrote it |
 * | `members` | members read |
 * | plus | `compressedSize`, `uncompressedSize`, `decodedBytes`, `trailingBytes` (`shared/compression.ts`) |
 *
 * @module
 */
import type { ContainerModule } from '../src/container-module.js';
import { type GzipDecoder, createGzipDecoder } from './codecs/gzip.js';
import { type CompressedLayer, compressionContainer } from './shared/compression.js';

/** What the gzip layer knows. */
export interface GzipLayer extends CompressedLayer {
  name?: string;
  mtime?: string;
  os?: string;
  comment?: string;
  members: number;
}

/** The gzip container module. */
export const gzip: ContainerModule<'gzip', GzipLayer> = compressionContainer({
  name: 'gzip',
  title: 'gzip',
  // ID1 ID2 and CM = 8 (deflate), the only method RFC 1952 defines.
  signatures: [{ offset: 0, bytes: '\x1f\x8b\x08' }],
  summaryRows: (layer: GzipLayer) => [['original name', layer.name]],
  makeDecoder: (options) => createGzipDecoder(options),
  describe: (decoder: GzipDecoder | undefined) => {
    const header = decoder?.members[0]?.header;
    const layer: Omit<GzipLayer, keyof CompressedLayer> = { members: decoder?.members.length ?? 0 };
    if (header?.name !== undefined) layer.name = header.name;
    if (header?.mtime !== undefined) layer.mtime = new Date(header.mtime * 1000).toISOString();
    if (header !== undefined) layer.os = header.osName ?? `os ${header.os}`;
    if (header?.comment !== undefined) layer.comment = header.comment;
    return layer;
  },
});
