/**
 * The contract between the core and a format module.
 *
 * A format module declares how to recognise its format (signatures, and a probe where
 * bytes at an offset are not enough) and how to read its metadata. It asks a
 * {@link ByteReader} for byte ranges; it never sees sources or chunks.
 *
 * @module
 */
import type { GlanceDeclaration } from './glance/declaration.js';
import type { ByteReader } from './reading/byte-reader.js';
import type { SafetyCheck } from './safety.js';

export type { ByteReader, WantedRange } from './reading/byte-reader.js';

/**
 * Bytes that identify a format.
 *
 * | field | meaning |
 * | --- | --- |
 * | `offset` | where the bytes are: from the start of the image, or, with `fromEnd`, this many bytes before its end |
 * | `bytes` | the expected bytes; a string is taken as Latin-1 (one byte per character) |
 * | `fromEnd` | the signature is counted from the end of the image (e.g. a fixed VHD's footer) |
 */
export interface Signature {
  readonly offset: number;
  readonly bytes: string | Uint8Array;
  readonly fromEnd?: boolean;
}

/** What a format module's `parse` returns. */
export interface ParsedImage<Details> {
  /**
   * The virtual disk size in bytes, as a hypervisor sees it (qemu's `virtual-size`): a
   * `bigint` where the format's field may exceed 2^53 (the core then reports it exactly in
   * `virtualSizeExact`).
   */
  virtualSize: number | bigint;
  /**
   * How long the image's own structures say the file is (an ISO's volume space), when they
   * say so. Where the source's length is known without reading further (a file, a `Blob`,
   * a stream already read to its end) and is shorter, the image is truncated: the core
   * warns and `parse_error` fails. (A stream that was not read to its end cannot tell.)
   */
  declaredSize?: number;
  /** The format's typed metadata. */
  details: Details;
}

/** Services the core offers a format module while it parses. */
export interface ParseContext {
  /** Records a soft problem: the result is still returned, with this in `warnings`. */
  warn(message: string): void;
  /**
   * Records that a structure the format declares could not be read (a table past the end
   * of a truncated file, a damaged entry that was skipped). The result is still returned,
   * with the reason in `warnings`, and the `parse_error` safety check fails.
   */
  incomplete(reason: string): void;
  /** The caller's abort signal, if any (the reader already honours it on every read). */
  readonly signal: AbortSignal | undefined;
}

/**
 * An option a module declares for itself (VMDK's allowed create types): the core validates
 * it, applies its default, hands it to the module's safety checks, and the command line
 * offers it as a flag. Values are lists of strings, the only kind any module needs so far.
 *
 * | field | meaning |
 * | --- | --- |
 * | `description` | one line, for `--help` and the docs |
 * | `default` | the value when the caller gives none |
 * | `cliFlag` | the command-line flag (its value is comma-separated), e.g. `--vmdk-allowed-types` |
 */
export interface ModuleOption<Value extends readonly string[] = readonly string[]> {
  readonly description: string;
  readonly default: Value;
  readonly cliFlag?: string;
}

/**
 * One disk image format.
 *
 * Detection: the module matches when one of its head `signatures` matches (and `check`,
 * if given, agrees), or when its `probe` says so. Signatures with `fromEnd` are looked at
 * only when no format matched at the head of the image, because reaching the end of a
 * stream means reading all of it.
 */
export interface FormatModule<
  Name extends string = string,
  Details = unknown,
  CheckName extends string = string,
  Options extends Readonly<Record<string, readonly string[]>> = {},
> {
  /** The value of `ImageInfo.format`, lower case (e.g. `'vmdk'`). */
  readonly name: Name;
  /** A one-line human name, e.g. `'VMware Virtual Disk'`. */
  readonly title: string;
  /** Byte patterns that identify the format; any one matching is a match. */
  readonly signatures: readonly Signature[];
  /**
   * A further test run only when a signature matched (e.g. qcow2's version field);
   * returning false rejects the match.
   */
  readonly check?: (reader: ByteReader) => Promise<boolean>;
  /**
   * Detection from the head of the image where no fixed bytes identify the format (e.g. a
   * VMDK text descriptor). Runs when no signature matched. Probes should read little.
   */
  readonly probe?: (reader: ByteReader) => Promise<boolean>;
  /** The fallback when nothing matches (the raw module). At most one per list. */
  readonly fallback?: boolean;
  /**
   * How many bytes from the start `parse` may need after detection on a stream, beyond
   * what it reads in order (e.g. a partition table that the fallback parses after the stream
   * was read to its end). Detection keeps at least this much of the head.
   */
  readonly headBytes?: number;
  /** How many bytes from the end of the image `parse` may need on a stream (footers). */
  readonly tailBytes?: number;
  /**
   * The notable fields of `details` as label/value pairs, for a human summary (the CLI
   * prints these after the format and size). Values that are `undefined` are left out.
   */
  readonly summarize?: (details: Details) => Array<[label: string, value: string | number | boolean | undefined]>;
  /**
   * True (or a function of the details saying so) when the guest's own data begins at byte
   * 0 of the image, as in an ISO's system area, a fixed VHD or a DMG's data fork: a
   * partition table found there then belongs to the contents and is not a second format.
   */
  readonly guestDataAtStart?: boolean | ((details: Details) => boolean);
  /**
   * How the guest's disk maps onto the image (see {@link GuestDiskMap}): the format's
   * tables, read lazily through `image` (a reader in any order) when the guest's disk is
   * read. Formats without it have no guest disk here; a map may also answer
   * `{ unavailable }` (an encrypted disk, data kept in other files). The core serves the
   * pieces (`src/reading/guest-disk.ts` `openGuestDisk`).
   */
  readonly guestDisk?: (image: ByteReader, context: GuestDiskContext<Details>) => Promise<GuestDiskMap | GuestDiskUnavailable>;
  /** The safety checks that apply to this format (see `docs/safety.md`). */
  readonly checks?: readonly SafetyCheck<Details, CheckName, Options>[];
  /** Options this module takes (they become keys of `IntrospectOptions`). */
  readonly options?: { readonly [Key in keyof Options]: ModuleOption<Options[Key]> };
  /**
   * True when images of this format are unsafe unless the caller allows it (the default of
   * `bannedFormats` lists every such module): QED, which nobody runs yet qemu still probes.
   */
  readonly bannedByDefault?: boolean;
  /**
   * Whether qemu recognises the format by itself (block.c `find_image_format`) when an image
   * is opened without an explicit format, or a function of the details saying so (a fixed
   * VHD's footer is at its end: qemu takes it for raw). `verifyDiskFormat` rejects content
   * qemu would probe as this format when it is declared raw: the format-confusion attack.
   */
  readonly qemuProbes?: boolean | ((details: Details) => boolean);
  /** Other names of the format: qemu's (`vpc`), Glance's (`ploop`). A declared format is looked up by these too. */
  readonly aliases?: readonly string[];
  /**
   * Declared formats (Glance `disk_format` values) other than this one that content of this
   * format may be uploaded as, and the decision: a partitioned raw disk declared `gpt`,
   * plain bytes declared `ami`. `undefined` when the declaration is simply another format.
   */
  readonly declaredAs?: (declared: string, details: Details) => { accept: boolean; reason: string } | undefined;
  /**
   * Which fields of `details` name other files, as data: backing (parent) images, and the
   * files that hold this image's data (a VMDK descriptor's extents). The core reads them
   * when asked (`backingChain`, the file and URL helpers); the module never opens a file.
   */
  readonly references?: FileReferences;
  /** How OpenStack Glance names this format and which image properties its metadata proves (see `docs/glance.md`). */
  readonly glance?: GlanceDeclaration<Details>;
  /** Reads the metadata. Throws `IntrospectionError` for bad input. */
  readonly parse: (reader: ByteReader, context: ParseContext) => Promise<ParsedImage<Details>>;
}

/**
 * A place in `details`, as a path: `backingFile`, `parentLocator.entries`; `list[]` for
 * every element of a list, `list[key=value]` for the elements whose `key` is `value`
 * (`parentLocators[platformCode=W2ru].path`).
 */
export type DetailsPath = string;

/**
 * One way an image names its backing (parent) image. A format may store several (a VHD's
 * parent locators): they are tried in the order listed, the first that resolves is read.
 *
 * | field | meaning |
 * | --- | --- |
 * | `name` | where the name is |
 * | `by` | `'path'` (a file name, relative to the image unless absolute) or `'uuid'` (VDI stores only its parent's UUID: a caller's `resolve` may map it) |
 * | `format` | where the backing image's declared format is, when the format stores one (qcow2's backing format extension): the backing image is read as that format, as qemu does |
 * | `windowsPath` | the name is a Windows path (`.\parent.vhd`): `\` separates its parts |
 */
export interface BackingReference {
  readonly name: DetailsPath;
  readonly by?: 'path' | 'uuid';
  readonly format?: DetailsPath;
  readonly windowsPath?: boolean;
}

/**
 * The files that hold an image's data, listed in its details (a VMDK descriptor's extent
 * lines), and how what is read of them folds into the image's details.
 *
 * | field | meaning |
 * | --- | --- |
 * | `when` | only when this field has this value (a VMDK whose `layout` is `descriptor`; a sparse file is its own extent) |
 * | `list` | the list of extents |
 * | `name`, `type` | each extent's file name and type |
 * | `imageTypes` | the types that are images of this format, read as such (VMDK `SPARSE`, `VMFSSPARSE`, `SESPARSE`); the others are data (`FLAT`): only their size is read |
 * | `facts` | the field of each extent that receives what was read of its file ({@link ExtentFacts}) |
 * | `foldFromFirst` | fields of the image's details taken from the first extent's own details (qemu reports the first sparse extent's grain size as the disk's cluster size) |
 * | `agreeOn` | fields every extent must share with the first for the fold to happen (qemu's `vmdk_get_info` reports no cluster size otherwise) |
 */
export interface ExtentReferences {
  readonly when?: { readonly field: DetailsPath; readonly equals: string };
  readonly list: DetailsPath;
  readonly name: string;
  readonly type: string;
  readonly imageTypes: readonly string[];
  readonly facts: string;
  readonly foldFromFirst: readonly string[];
  readonly agreeOn: readonly string[];
}

/** Which details name other files (see {@link FormatModule.references}). */
export interface FileReferences {
  /** Backing (parent) image names, in order of preference. */
  readonly backing?: readonly BackingReference[];
  /** The files holding the image's data. */
  readonly extents?: ExtentReferences;
}

/** What was read of one extent's file (set in the extent's `facts` field). */
export interface ExtentFacts {
  /** The file, as resolved (a path, a URL, the caller's name). */
  filename: string;
  /** Its length in bytes, when known. */
  size?: number;
  /** For an extent read as an image: its format, virtual size and own details. */
  format?: string;
  virtualSize?: number;
  details?: unknown;
  /** What reading it warned about. */
  warnings?: string[];
}

/**
 * How a compressed unit of the guest's disk is compressed: the format's own name for it,
 * which its map's `decode` understands (qcow2's and VMDK's are in
 * `formats/shared/guest-units.ts`).
 */
export type GuestDiskCodec = string;

/**
 * One compressed unit of the guest's disk: a qcow2 compressed cluster, a VMDK grain, a
 * cloop block. It is decoded whole, once, and kept in a small cache; or, when its map can
 * open it in steps ({@link GuestDiskMap.openUnit}), only as far as the guest has read into it.
 *
 * | field | meaning |
 * | --- | --- |
 * | `codec` | see {@link GuestDiskCodec} |
 * | `at` | where its compressed bytes start in the image |
 * | `compressedLength` | how many bytes to read there; bytes past the end of the image read as zeros (a qcow2 descriptor rounds the length up to whole sectors, so the last cluster of a file may claim bytes it lacks) |
 * | `offset` | the guest offset of its first decoded byte |
 * | `length` | decoded bytes the guest takes from it (a unit at the end of the disk may be cut) |
 * | `maxLength` | `zlib` only: the most bytes the stream may decode to (a VMDK grain's size); default `length` |
 */
export interface CompressedUnit {
  readonly codec: GuestDiskCodec;
  readonly at: number;
  readonly compressedLength: number;
  readonly offset: number;
  readonly length: number;
  readonly maxLength?: number;
}

/**
 * What is at `length` bytes of the guest's disk starting at guest offset `offset`.
 *
 * | kind | the bytes are | extra field |
 * | --- | --- | --- |
 * | `data` | the image's bytes from offset `at` on | `at` |
 * | `zero` | zeros: a cluster or block the image marks as zero, or one it does not allocate and that no backing image lies under | |
 * | `backing` | the backing (parent) image's bytes at the same guest offset: unallocated here, and the image has a backing file | |
 * | `compressed` | part of a compressed unit, decoded | `unit` ({@link CompressedUnit}); the piece lies inside `[unit.offset, unit.offset + unit.length)` |
 */
export type GuestDiskPiece =
  | { readonly kind: 'data'; readonly offset: number; readonly length: number; readonly at: number }
  | { readonly kind: 'zero'; readonly offset: number; readonly length: number }
  | { readonly kind: 'backing'; readonly offset: number; readonly length: number }
  | { readonly kind: 'compressed'; readonly offset: number; readonly length: number; readonly unit: CompressedUnit };

/**
 * The guest's disk as a format's tables map it onto the image.
 *
 * | member | meaning |
 * | --- | --- |
 * | `size` | the guest disk's length in bytes (qemu's, in whole sectors where qemu rounds) |
 * | `backingFile` | the backing (parent) image's name when `backing` pieces can occur (the chain walker opens it) |
 * | `lookup(offset, length)` | the pieces covering `[offset, offset + length)` (within `size`), in order, without gaps or overlaps; it reads the tables it needs through the image reader, checking every pointer: a table or data past the end of the image, overlapping the image's own structures, or misaligned is `CORRUPT` (`TRUNCATED` where it starts inside the image and ends past it) |
 */
export interface GuestDiskMap {
  readonly size: number;
  readonly backingFile?: string | undefined;
  lookup(offset: number, length: number): Promise<GuestDiskPiece[]>;
  /** Decodes one of the map's compressed units (required of a map that returns `compressed` pieces). */
  decode?(unit: CompressedUnit, compressed: Uint8Array, signal: AbortSignal | undefined): Promise<Uint8Array>;
  /**
   * Starts decoding one of the map's compressed units in steps, when its codec allows it
   * (optional; `decode` is used otherwise): the guest disk then reads the unit's compressed
   * bytes only as far as the decoded bytes it is asked for need.
   */
  openUnit?(unit: CompressedUnit, signal: AbortSignal | undefined): Promise<GuestUnitDecoder>;
}

/**
 * A compressed unit being decoded in steps ({@link GuestDiskMap.openUnit}): the guest disk
 * feeds it the unit's compressed bytes in order, from `unit.at`, until `filled` covers what
 * it needs or `done`.
 *
 * | member | meaning |
 * | --- | --- |
 * | `decoded` | the unit's decoded bytes; the first `filled` are valid |
 * | `consumed` | compressed bytes fed so far |
 * | `done` | the whole stream is decoded and its checks passed: nothing more to feed |
 * | `feed(bytes, last)` | decodes the next compressed bytes; `last`: there are no more (the unit's `compressedLength` is reached) |
 */
export interface GuestUnitDecoder {
  readonly decoded: Uint8Array;
  readonly filled: number;
  readonly consumed: number;
  readonly done: boolean;
  feed(bytes: Uint8Array, last: boolean): void;
}

/** Why an image's guest disk cannot be read here (an encrypted disk, data in other files, a stream). */
export interface GuestDiskUnavailable {
  /** The reason, one sentence. */
  readonly unavailable: string;
}

/**
 * What a format's `guestDisk` gets besides the image.
 *
 * | field | meaning |
 * | --- | --- |
 * | `details` | the format's parsed details |
 * | `virtualSize` | the virtual size `parse` reported (numbers above 2^53 are not exact: such disks are unavailable) |
 * | `warn` | records a soft problem found in the tables |
 */
export interface GuestDiskContext<Details> {
  readonly details: Details;
  readonly virtualSize: number;
  warn(message: string): void;
}

/** Any format module. */
// biome-ignore lint: a wide alias is the point
export type AnyFormatModule = FormatModule<string, any, string, any>;

/** The names of the safety checks a module declares. */
export type CheckNameOf<Module> = Module extends FormatModule<string, any, infer CheckName, any> ? CheckName : never;

/** The options a module declares, as `IntrospectOptions` keys. */
export type ModuleOptionsOf<Module> = Module extends FormatModule<string, any, string, infer Options> ? (unknown extends Options ? {} : Options) : never;
