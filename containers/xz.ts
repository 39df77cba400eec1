/**
 * xz (the .xz file format, LZMA2): `.qcow2.xz`, `.raw.xz`, as cloud images and Fedora's
 * and Debian's installers ship. Concatenated streams are one, as `xz -d` reads them; each
 * block's check (CRC32, CRC64, SHA-256) and the index are verified.
 *
 * | layer field | meaning |
 * | --- | --- |
 * | `check` | the first stream's check (`CRC64`...) |
 * | `streams`, `blocks` | streams and blocks read |
 * | plus | `compressedSize`, `uncompressedSize`, `decodedBytes`, `trailingBytes` (`shared/compression.ts`) |
 *
 * @module
 */
import type { ContainerModule } from '../src/container-module.js';
import { type XzDecoder, createXzDecoder } from './codecs/xz.js';
import { type CompressedLayer, compressionContainer } from './shared/compression.js';

/** What the xz layer knows. */
export interface XzLayer extends CompressedLayer {
  check?: string;
  streams: number;
  blocks: number;
}

/** The xz container module. */
export const xz: ContainerModule<'xz', XzLayer> = compressionContainer({
  name: 'xz',
  // The stream header magic (xz-file-format 2.1.1.1).
  magic: '\xfd7zXZ\x00',
  summaryRows: (layer: XzLayer) => [['check', layer.check]],
  makeDecoder: createXzDecoder,
  describe: (decoder: XzDecoder | undefined) => {
    const streams = decoder?.streams ?? [];
    return { streams: streams.length, blocks: streams.reduce((sum, stream) => sum + stream.blockCount, 0), check: streams[0]?.flags.check };
  },
});
