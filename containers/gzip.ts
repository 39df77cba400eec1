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
  // ID1 ID2 and CM = 8 (deflate), the only method RFC 1952 defines.
  magic: '\x1f\x8b\x08',
  summaryRows: (layer: GzipLayer) => [['original name', layer.name]],
  makeDecoder: createGzipDecoder,
  describe: (decoder: GzipDecoder | undefined) => {
    const header = decoder?.members[0]?.header;
    return {
      members: decoder?.members.length ?? 0,
      name: header?.name,
      mtime: header?.mtime === undefined ? undefined : new Date(header.mtime * 1000).toISOString(),
      os: header === undefined ? undefined : (header.osName ?? `os ${header.os}`),
      comment: header?.comment,
    };
  },
});
