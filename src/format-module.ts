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
import type { SafetyCheck } from './safety.js';

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

/**
 * Random access to the bytes of one image, as a format module sees it.
 *
 * On a stream the reader is forward-only beyond the retained head of the image: read in
 * ascending order of offset. Reads that would need bytes already passed throw
 * `UNSUPPORTED`; reads past the end throw `TRUNCATED`; reads longer than the buffer
 * budget throw `LIMIT_EXCEEDED`.
 */
export interface ByteReader {
  /**
   * The image's total length in bytes, when known: always on a random-access source; on a
   * stream only once its end has been reached.
   */
  readonly size: number | undefined;
  /** True when any offset can be read at any time (a file, a Blob, a buffer). */
  readonly randomAccess: boolean;
  /**
   * Exactly `length` bytes at `offset`. `field` names what is being read, for error messages.
   * Throws `TRUNCATED` if the image ends before `offset + length`.
   */
  read(offset: number, length: number, field: string): Promise<Uint8Array>;
  /** Up to `length` bytes at `offset`: fewer (possibly none) where the image ends. */
  readAvailable(offset: number, length: number, field: string): Promise<Uint8Array>;
  /**
   * The image's total length. On a stream this reads to the end, keeping the last
   * `keepTail` bytes so that they can still be read afterwards.
   */
  totalSize(keepTail?: number): Promise<number>;
  /** The most bytes one read may ask for (the caller's `maxBufferBytes` less what is already held). */
  readonly maxReadLength: number;
}

/** What a format module's `parse` returns. */
export interface ParsedImage<Details> {
  /** The virtual disk size in bytes, as a hypervisor sees it (qemu's `virtual-size`). */
  virtualSize: number;
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
 * One disk image format.
 *
 * Detection: the module matches when one of its head `signatures` matches (and `check`,
 * if given, agrees), or when its `probe` says so. Signatures with `fromEnd` are looked at
 * only when no format matched at the head of the image, because reaching the end of a
 * stream means reading all of it.
 */
export interface FormatModule<Name extends string = string, Details = unknown> {
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
  /** The safety checks that apply to this format (see `docs/safety.md`). */
  readonly checks?: readonly SafetyCheck<Details>[];
  /** How OpenStack Glance names this format and which image properties its metadata proves (see `docs/glance.md`). */
  readonly glance?: GlanceDeclaration<Details>;
  /** Reads the metadata. Throws `IntrospectionError` for bad input. */
  readonly parse: (reader: ByteReader, context: ParseContext) => Promise<ParsedImage<Details>>;
}

/** Any format module. */
// biome-ignore lint: a wide alias is the point
export type AnyFormatModule = FormatModule<string, any>;
