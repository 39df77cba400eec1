/**
 * What the compression containers (gzip, xz, zstd, bzip2) share: the whole layer is one
 * compressed stream whose decoded bytes are the image. The image is introspected from the
 * decoded stream as it is decoded, so a compressed qcow2 or VMDK is answered from its first
 * decoded bytes and decoding stops there; only an image whose answer needs its end (a raw
 * disk's size, a fixed VHD's footer) is decoded to the end, within `maxDecompressedBytes`.
 *
 * Layer fields every compression container reports:
 *
 * | field | meaning |
 * | --- | --- |
 * | `compressedSize` | bytes of the compressed stream, once it was read to its end |
 * | `uncompressedSize` | decoded bytes, once the stream was read to its end |
 * | `decodedBytes` | decoded bytes produced to find the answer (less than `uncompressedSize` when the answer came early) |
 * | `trailingBytes` | bytes after the end of the compressed stream (tools ignore them with a warning) |
 *
 * @module
 */
import type { ContainerContext, ContainerContents, ContainerModule } from '../../src/container-module.js';
import type { ByteReader } from '../../src/format-module.js';
import type { LayerDecoder } from '../../src/reading/layers.js';

/** The fields every compression layer has. */
export interface CompressedLayer {
  compressedSize?: number;
  uncompressedSize?: number;
  decodedBytes: number;
  trailingBytes?: number;
}

/** Decoder options the core passes (window cap from the budget, the signal). */
export type DecoderMaker<Decoder extends LayerDecoder> = (options: { maxWindowBytes: number; signal: AbortSignal | undefined }) => Promise<Decoder>;

/**
 * The fields of `fields` whose value is not `undefined`, in their order: a codec describes
 * its layer in one object literal, and a field it does not know is absent from the layer,
 * not present as `undefined`.
 */
function definedFields<Fields extends object>(fields: Fields): Fields {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Fields;
}

/**
 * Opens a compressed layer: decodes from offset 0 and introspects the decoded image;
 * `describe` adds what the codec knows (members, frames, checks) from its decoder.
 */
export async function openCompressed<Decoder extends LayerDecoder, Extra extends object>(
  reader: ByteReader,
  context: ContainerContext,
  makeDecoder: DecoderMaker<Decoder>,
  describe: (decoder: Decoder | undefined) => Extra,
): Promise<ContainerContents<CompressedLayer & Extra>> {
  let decoder: Decoder | undefined;
  const { reader: decoded, stats } = context.decoded(0, undefined, async (options) => {
    decoder = await makeDecoder(options);
    return decoder;
  });
  const image = await context.introspect(decoded);
  const done = stats();
  const layer: CompressedLayer & Extra = { decodedBytes: done.decodedBytes, ...definedFields(describe(decoder)) };
  if (done.ended) {
    layer.compressedSize = done.compressedBytes;
    layer.uncompressedSize = done.decodedBytes;
    const trailing = done.trailing?.byteLength ?? 0;
    if (trailing > 0) {
      layer.trailingBytes = trailing;
      context.warn(`${trailing} bytes follow the end of the compressed stream (ignored, as the decompressing tools ignore them)`);
    }
  }
  return { layer, images: [image], endsEarly: (layer.trailingBytes ?? 0) > 0 };
}

/** What one compression container says about itself; the rest is the same for all of them. */
export interface CompressionContainerSpec<Name extends string, Decoder extends LayerDecoder, Layer extends CompressedLayer> {
  name: Name;
  /** The readable name; the default is `name` (gzip, xz and bzip2 are called by their tools' names). */
  title?: string;
  /** The stream's magic bytes at offset 0 (its signature). */
  magic: string;
  /** A closer look after a signature matched (bzip2's three magic bytes are too short alone). */
  check?: (reader: ByteReader) => Promise<boolean>;
  makeDecoder: DecoderMaker<Decoder>;
  /** What the codec adds to the layer from its decoder (`undefined` when decoding never started); fields left `undefined` are left out. */
  describe: (decoder: Decoder | undefined) => Omit<Layer, keyof CompressedLayer>;
  /** The CLI's rows shown before the two sizes. */
  summaryRows?: (layer: Layer) => Array<[label: string, value: string | number | boolean | undefined]>;
  /** The size shown as uncompressed while the stream was not read to its end (zstd's declared frame content size). */
  declaredSize?: (layer: Layer) => number | undefined;
}

/**
 * A compression container module: the stream is decoded from offset 0 by `openCompressed`,
 * the glance says `compressed`, and the summary ends with the compressed and uncompressed
 * sizes.
 */
export function compressionContainer<Name extends string, Decoder extends LayerDecoder, Layer extends CompressedLayer>(
  spec: CompressionContainerSpec<Name, Decoder, Layer>,
): ContainerModule<Name, Layer> {
  const { name, title, magic, check, makeDecoder, describe, summaryRows, declaredSize } = spec;
  return {
    name,
    title: title ?? name,
    signatures: [{ offset: 0, bytes: magic }],
    ...(check === undefined ? {} : { check }),
    glance: { containerFormat: 'compressed' },
    summarize: (layer) => [
      ...(summaryRows?.(layer) ?? []),
      ['compressed size', layer.compressedSize],
      ['uncompressed size', layer.uncompressedSize ?? declaredSize?.(layer)],
    ],
    open: async (reader, context) => (await openCompressed(reader, context, makeDecoder, describe)) as ContainerContents<Layer>,
  };
}
