/**
 * The contract between the core and a container module: a layer around disk images
 * (compression, an archive, an OVA).
 *
 * A container module recognises its layer the way a format module recognises a format
 * (signatures, a check), then opens it: it reads its own structures through a
 * {@link ByteReader}, makes readers for what is inside (a stored member is a slice of the
 * layer's bytes, a compressed one a decoded stream: {@link ContainerContext}), and hands
 * each to the core to introspect. The core names the layers in `info.containers`,
 * outermost first, and judges the layer with the module's own safety checks.
 *
 * @module
 */
import type { ByteReader, ParseContext, Signature } from './format-module.js';
import type { ImageInfoOf } from './image-info.js';
import type { LayerDecoder, MappedExtent } from './reading/layers.js';
import type { SafetyCheck } from './safety.js';

/** What a decoded layer has done, once its inner image was read. */
export interface DecodedStats {
  /** Compressed bytes consumed (the stream's length once it ended). */
  readonly compressedBytes: number;
  /** Decoded bytes produced so far. */
  readonly decodedBytes: number;
  /** True once the compressed stream was read to its end. */
  readonly ended: boolean;
  /** The input after the compressed stream's end (when it ended). */
  readonly trailing: Uint8Array | undefined;
}

/** The result of introspecting one image inside a layer. */
export type InnerImage = ImageInfoOf<string, unknown>;

/** Services the core offers a container module while it opens its layer. */
export interface ContainerContext extends ParseContext {
  /**
   * A reader over bytes `[offset, offset + length)` of the layer (a member stored as is):
   * read by random access when the layer allows it, else forward from the layer's stream.
   */
  slice(offset: number, length: number): ByteReader;
  /**
   * A reader over a layer made of pieces of this one (a sparse member's stored regions):
   * `length` bytes at `offset` are this layer's bytes at `at`, zeros where `at` is absent.
   */
  mapped(extents: readonly MappedExtent[], size: number): ByteReader;
  /**
   * A reader over the decoded bytes of the compressed stream starting at `offset` (running
   * `length` bytes, or to the end), with what the decoding did so far.
   */
  decoded(offset: number, length: number | undefined, makeDecoder: (options: { maxWindowBytes: number; signal: AbortSignal | undefined }) => Promise<LayerDecoder>): { reader: ByteReader; stats(): DecodedStats };
  /**
   * Introspects the image in `inner` (a reader this context made): detection, any nested
   * layers, parsing and the verdict, as for the outermost image. The reader is released
   * afterwards.
   */
  introspect(inner: ByteReader): Promise<InnerImage>;
  /** Runs `test` on `inner` as detection would: does it hold something the core recognises (a format other than the fallback, or a container)? */
  recognises(inner: ByteReader): Promise<boolean>;
}

/** What opening a layer found. */
export interface ContainerContents<Layer> {
  /** What the layer knows of itself (sizes, the member holding the disk, its entries...). */
  layer: Layer;
  /** The images inside, in order: `info` describes the first; with more than one, all go to `info.disks`. */
  images: InnerImage[];
  /** Fields the layer adds to the result (an OVA's `ovf`). */
  extra?: Record<string, unknown>;
  /**
   * True when the layer ended before its bytes did (a compressed stream followed by other
   * data): the bytes may be something else that only their end identifies (a DMG whose first
   * chunk is bzip2), so the core checks the end signatures before believing the layer.
   */
  endsEarly?: boolean;
}

/** How Glance names this kind of layer (`container_format`). */
export interface ContainerGlance {
  /** `compressed` for compression and zip, `ova` for an OVA. */
  readonly containerFormat: string;
}

/**
 * One container: compression (gzip, xz, zstd, bzip2), an archive (zip, tar) or an OVA.
 *
 * | field | meaning |
 * | --- | --- |
 * | `name` | the value of `containers[].format` |
 * | `signatures`, `check` | recognition, as for a format module (at the head only) |
 * | `open` | reads the layer and introspects what is inside through the context |
 * | `checks` | safety checks on the layer (member paths, an OVF's entities, a manifest) |
 * | `summarize` | the layer's notable fields for the CLI |
 * | `glance` | its Glance `container_format` |
 */
export interface ContainerModule<Name extends string = string, Layer extends object = object, CheckName extends string = string> {
  readonly name: Name;
  readonly title: string;
  readonly signatures: readonly Signature[];
  readonly check?: (reader: ByteReader) => Promise<boolean>;
  /** Recognition where no fixed bytes identify the layer (an old v7 tar), run when no signature matched. */
  readonly probe?: (reader: ByteReader) => Promise<boolean>;
  readonly open: (reader: ByteReader, context: ContainerContext) => Promise<ContainerContents<Layer>>;
  readonly checks?: readonly SafetyCheck<Layer, CheckName>[];
  readonly summarize?: (layer: Layer) => Array<[label: string, value: string | number | boolean | undefined]>;
  readonly glance?: ContainerGlance;
}

/** Any container module. */
// biome-ignore lint: a wide alias is the point
export type AnyContainerModule = ContainerModule<string, any, string>;

/** One entry of `info.containers` for a module: its name and what its layer knows. */
export type LayerOf<Module> = Module extends ContainerModule<infer Name, infer Layer, string> ? { format: Name } & Layer : never;

/** The names of the safety checks a container module declares. */
export type ContainerCheckNameOf<Module> = Module extends ContainerModule<string, any, infer CheckName> ? CheckName : never;
