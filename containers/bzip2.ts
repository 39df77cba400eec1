/**
 * bzip2: `.img.bz2`. Concatenated streams are one, as `bzip2 -d` reads them; every block's
 * and every stream's CRC is verified.
 *
 * | layer field | meaning |
 * | --- | --- |
 * | `streams`, `blocks` | streams and blocks read |
 * | plus | `compressedSize`, `uncompressedSize`, `decodedBytes`, `trailingBytes` (`shared/compression.ts`) |
 *
 * @module
 */
import { bytesEqual } from '../src/bytes.js';
import type { ContainerModule } from '../src/container-module.js';
import { type Bzip2Decoder, createBzip2Decoder, isBzip2Magic } from './codecs/bzip2.js';
import { type CompressedLayer, compressionContainer } from './shared/compression.js';

/** What the bzip2 layer knows. */
export interface Bzip2Layer extends CompressedLayer {
  streams: number;
  blocks: number;
}

/** The bzip2 container module. */
export const bzip2: ContainerModule<'bzip2', Bzip2Layer> = compressionContainer({
  name: 'bzip2',
  // "BZh" then the block size digit 1-9, then the first block's magic (pi: 0x314159265359) or the end-of-stream magic.
  magic: 'BZh',
  check: async (reader) => {
    const head = await reader.readAvailable(0, 10, 'bzip2 stream header');
    return isBzip2Magic(head) && (bytesEqual(head, 4, '\x31\x41\x59\x26\x53\x59') || bytesEqual(head, 4, '\x17\x72\x45\x38\x50\x90'));
  },
  makeDecoder: createBzip2Decoder,
  describe: (decoder: Bzip2Decoder | undefined) => ({
    streams: decoder?.streamCount ?? 0,
    blocks: decoder?.blockCount ?? 0,
  }),
});
