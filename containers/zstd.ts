/**
 * Zstandard (RFC 8878): `.raw.zst`, `.qcow2.zst`. Several frames (and skippable frames)
 * are one stream, as `zstd -d` reads them; each frame's content checksum is verified.
 *
 * | layer field | meaning |
 * | --- | --- |
 * | `windowSize` | the first frame's window (the memory a decoder needs) |
 * | `contentSize` | the first frame's declared content size, when it declares one |
 * | `frames` | frames read (skippable ones included) |
 * | plus | `compressedSize`, `uncompressedSize`, `decodedBytes`, `trailingBytes` (`shared/compression.ts`) |
 *
 * @module
 */
import type { ContainerModule } from '../src/container-module.js';
import { type ZstdDecoder, type ZstdFrameHeader, createZstdDecoder } from './codecs/zstd.js';
import { type CompressedLayer, compressionContainer } from './shared/compression.js';

/** What the zstd layer knows. */
export interface ZstdLayer extends CompressedLayer {
  windowSize?: number;
  contentSize?: number;
  frames: number;
}

/** The Zstandard container module. */
export const zstd: ContainerModule<'zstd', ZstdLayer> = compressionContainer({
  name: 'zstd',
  title: 'Zstandard',
  // The frame magic 0xFD2FB528, little-endian (RFC 8878 3.1.1).
  magic: '\x28\xb5\x2f\xfd',
  summaryRows: (layer: ZstdLayer) => [['window size', layer.windowSize]],
  // Before the end is read, the first frame's declared content size.
  declaredSize: (layer: ZstdLayer) => layer.contentSize,
  makeDecoder: createZstdDecoder,
  describe: (decoder: ZstdDecoder | undefined) => {
    // The first frame that is not a skippable one.
    const header = decoder?.frames.map((frame) => frame.header).find((header): header is ZstdFrameHeader => !('skippable' in header));
    return { frames: decoder?.frameCount ?? 0, windowSize: header?.windowSize, contentSize: header?.frameContentSize };
  },
});
