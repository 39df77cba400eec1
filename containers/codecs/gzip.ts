/**
 * gzip (RFC 1952): the member header and trailer, parsed here without decompressing, and a
 * streaming decoder that chains members (`cat a.gz b.gz` is one valid gzip file, as
 * `gzip -d` treats it) and verifies every trailer.
 *
 * Member layout (RFC 1952 §2.3):
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 2 | ID1 ID2 = 1f 8b |
 * | 2 | 1 | CM = 8 (deflate) |
 * | 3 | 1 | FLG: FTEXT 0x01, FHCRC 0x02, FEXTRA 0x04, FNAME 0x08, FCOMMENT 0x10; 0xe0 reserved |
 * | 4 | 4 | MTIME, Unix seconds, little-endian (0: none) |
 * | 8 | 1 | XFL (2: slowest compression, 4: fastest) |
 * | 9 | 1 | OS |
 * | 10 | | FEXTRA: XLEN (2) then XLEN bytes of subfields (SI1 SI2 LEN data) |
 * | | | FNAME, FCOMMENT: Latin-1, zero-terminated |
 * | | | FHCRC: the low 16 bits of the CRC-32 of the header bytes before it |
 * | | | deflate data |
 * | | 4 | CRC-32 of the uncompressed data |
 * | | 4 | ISIZE: uncompressed length mod 2^32 |
 *
 * @module
 */
import { crc32, latin1Text } from '../../src/bytes.js';
import { fieldError, type IntrospectionError } from '../../src/errors.js';
import { type DecoderOptions, DeferredCheck, QueuedDecoder, type ResolvedDecoderOptions, resolveDecoderOptions, type StepResult, type StreamDecoder, translateLibraryError } from './codec.js';
import { loadPako, RawInflater } from './deflate.js';

/**
 * The longest member header accepted: 256 KiB. RFC 1952 bounds only FEXTRA (64 KiB);
 * gzip(1) writes names of at most a path's length and no comment, so a header longer
 * than this is hostile, and it must be held whole to be parsed.
 */
export const MAX_GZIP_HEADER_BYTES = 256 * 1024;

/**
 * How many members' headers a decoder records: 1024. A file may chain any number of
 * members (each at least 20 bytes); the rest are counted, not kept.
 */
export const MAX_RECORDED_GZIP_MEMBERS = 1024;

/** The header length that FHCRC-less, field-less members have. */
const FIXED_HEADER_BYTES = 10;

/** Operating systems as RFC 1952 §2.3.1 numbers them. */
const operatingSystems: readonly string[] = [
  'FAT', 'Amiga', 'VMS', 'Unix', 'VM/CMS', 'Atari TOS', 'HPFS', 'Macintosh', 'Z-System',
  'CP/M', 'TOPS-20', 'NTFS', 'QDOS', 'Acorn RISCOS',
];

/** One FEXTRA subfield. */
export interface GzipExtraSubfield {
  /** SI1 SI2 as two Latin-1 characters (e.g. `'AP'` for Apollo). */
  id: string;
  /** The subfield's data length. */
  length: number;
}

/** A gzip member header, as parsed by {@link parseGzipHeader}. */
export interface GzipHeader {
  /** Length of the header in bytes (where the deflate data starts). */
  headerLength: number;
  /** FTEXT: the compressor thought the data was text. */
  text: boolean;
  /** MTIME: modification time, Unix seconds; absent when 0 (none recorded). */
  mtime?: number;
  /** XFL: 2 = maximum compression, 4 = fastest. */
  extraFlags: number;
  /** OS number (255: unknown). */
  os: number;
  /** The OS's name from RFC 1952, when the number is known. */
  osName?: string;
  /** FEXTRA subfields, when present. */
  extra?: GzipExtraSubfield[];
  /** FNAME, decoded as Latin-1. */
  name?: string;
  /** FCOMMENT, decoded as Latin-1. */
  comment?: string;
  /** FHCRC: the stored header CRC-16, verified. */
  headerCrc?: number;
}

/** A gzip member trailer, as parsed by {@link parseGzipTrailer}. */
export interface GzipTrailer {
  /** CRC-32 of the uncompressed data. */
  crc32: number;
  /** ISIZE: uncompressed length mod 2^32. */
  isize: number;
}

/** One member the decoder went through. */
export interface GzipMember {
  /** Offset of the member in the compressed input. */
  offset: number;
  /** Its header. */
  header: GzipHeader;
  /** Compressed length including header and trailer (absent until its trailer was read). */
  compressedSize?: number;
  /** Decoded length (absent until its trailer was read). */
  uncompressedSize?: number;
}

/** True when `bytes` start with a gzip member's magic and method (1f 8b 08). */
export function isGzipMagic(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 0x08;
}

/**
 * Parses a member header from the bytes at its start. Returns `undefined` when `bytes` end
 * before the header does (give it more); throws `CORRUPT` for a header gzip(1) would refuse
 * (wrong magic, a method other than deflate, reserved flags, a header CRC mismatch) and
 * `LIMIT_EXCEEDED` past {@link MAX_GZIP_HEADER_BYTES}.
 */
export function parseGzipHeader(bytes: Uint8Array): GzipHeader | undefined {
  if (bytes.byteLength < FIXED_HEADER_BYTES) {
    // Reject a wrong magic as early as it shows.
    if ((bytes.byteLength >= 1 && bytes[0] !== 0x1f) || (bytes.byteLength >= 2 && bytes[1] !== 0x8b)) {
      throw fieldError('CORRUPT', 'gzip header.magic', 'not a gzip member (no 1f 8b)');
    }
    return undefined;
  }
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) throw fieldError('CORRUPT', 'gzip header.magic', 'not a gzip member (no 1f 8b)');
  const method = bytes[2] as number;
  if (method !== 8) throw fieldError('CORRUPT', 'gzip header.method', `compression method ${method} is not deflate (8)`);
  const flags = bytes[3] as number;
  if ((flags & 0xe0) !== 0) throw fieldError('CORRUPT', 'gzip header.flags', `reserved flag bits set (0x${flags.toString(16)})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const mtime = view.getUint32(4, true);
  const os = bytes[9] as number;
  const header: GzipHeader = { headerLength: 0, text: (flags & 0x01) !== 0, extraFlags: bytes[8] as number, os };
  if (mtime !== 0) header.mtime = mtime;
  const osName = operatingSystems[os];
  if (osName !== undefined) header.osName = osName;
  let offset = FIXED_HEADER_BYTES;
  const limit = Math.min(bytes.byteLength, MAX_GZIP_HEADER_BYTES);
  const overLimit = (): undefined => {
    if (bytes.byteLength >= MAX_GZIP_HEADER_BYTES) {
      throw fieldError('LIMIT_EXCEEDED', 'gzip header', `longer than ${MAX_GZIP_HEADER_BYTES} bytes (MAX_GZIP_HEADER_BYTES)`);
    }
    return undefined;
  };
  if ((flags & 0x04) !== 0) {
    if (offset + 2 > limit) return overLimit();
    const extraLength = view.getUint16(offset, true);
    offset += 2;
    if (offset + extraLength > limit) return overLimit();
    header.extra = parseExtraSubfields(bytes.subarray(offset, offset + extraLength));
    offset += extraLength;
  }
  for (const [flag, key] of [[0x08, 'name'], [0x10, 'comment']] as const) {
    if ((flags & flag) === 0) continue;
    const end = bytes.subarray(0, limit).indexOf(0, offset);
    if (end < 0) return overLimit();
    header[key] = latin1Text(bytes.subarray(offset, end));
    offset = end + 1;
  }
  if ((flags & 0x02) !== 0) {
    if (offset + 2 > limit) return overLimit();
    const stored = view.getUint16(offset, true);
    const computed = crc32(bytes.subarray(0, offset)) & 0xffff;
    if (stored !== computed) {
      throw fieldError('CORRUPT', 'gzip header.headerCrc', `header CRC-16 0x${stored.toString(16)} does not match the header (0x${computed.toString(16)})`, offset);
    }
    header.headerCrc = stored;
    offset += 2;
  }
  header.headerLength = offset;
  return header;
}

/**
 * FEXTRA subfields (RFC 1952 §2.3.1.1). Subfields that overrun the field are not an error
 * for gzip(1), which ignores FEXTRA's content; they end the list here.
 */
function parseExtraSubfields(extra: Uint8Array): GzipExtraSubfield[] {
  const subfields: GzipExtraSubfield[] = [];
  let offset = 0;
  while (offset + 4 <= extra.byteLength) {
    const length = (extra[offset + 2] as number) | ((extra[offset + 3] as number) << 8);
    if (offset + 4 + length > extra.byteLength) break;
    subfields.push({ id: latin1Text(extra.subarray(offset, offset + 2)), length });
    offset += 4 + length;
  }
  return subfields;
}

/** Parses the 8-byte member trailer. Throws `TRUNCATED` if `bytes` is shorter. */
export function parseGzipTrailer(bytes: Uint8Array): GzipTrailer {
  if (bytes.byteLength < 8) throw fieldError('TRUNCATED', 'gzip trailer', `needs 8 bytes, has ${bytes.byteLength}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  return { crc32: view.getUint32(0, true), isize: view.getUint32(4, true) };
}

/** A gzip decoder, with the members it has gone through. */
export interface GzipDecoder extends StreamDecoder {
  /** The members so far (the first {@link MAX_RECORDED_GZIP_MEMBERS}), in order. */
  readonly members: readonly GzipMember[];
  /** How many members were started (recorded or not). */
  readonly memberCount: number;
}

type GzipState = 'header' | 'body' | 'trailer' | 'between';

class GzipStreamDecoder extends QueuedDecoder implements GzipDecoder {
  readonly codec = 'gzip' as const;
  readonly members: GzipMember[] = [];
  memberCount = 0;
  private state: GzipState = 'header';
  private inflater: RawInflater | undefined;
  private memberStart = 0;
  private memberCrc = 0;
  /** The member's CRC-32, fed late (see DeferredCheck). */
  private crcFeed = new DeferredCheck((bytes) => {
    this.memberCrc = crc32(bytes, this.memberCrc);
  });
  private memberSize = 0;
  private current: GzipMember | undefined;

  constructor(private readonly pako: typeof import('./pako-inflate.js'), options: ResolvedDecoderOptions) {
    super(options);
  }

  /** Decoded bytes waiting for the CRC (see DeferredCheck). */
  protected override pendingBytes(): number {
    return this.crcFeed.waitingBytes;
  }

  protected override translate(error: unknown): IntrospectionError {
    return translateLibraryError(error, 'gzip deflate data');
  }

  get windowBytes(): number {
    return this.inflater?.windowBytes ?? 0;
  }

  protected advance(): StepResult | undefined {
    switch (this.state) {
      case 'header': {
        const header = parseGzipHeader(this.input.peek(Math.min(this.input.length, MAX_GZIP_HEADER_BYTES)) ?? new Uint8Array(0));
        if (header === undefined) return this.needInput('gzip header');
        this.memberStart = this.input.consumed;
        this.input.skip(header.headerLength);
        this.memberCount += 1;
        this.current = { offset: this.memberStart, header };
        if (this.members.length < MAX_RECORDED_GZIP_MEMBERS) this.members.push(this.current);
        this.inflater = new RawInflater(this.pako, 'gzip deflate data');
        this.memberCrc = 0;
        this.memberSize = 0;
        this.state = 'body';
        break;
      }
      case 'body': {
        const result = (this.inflater as RawInflater).inflate(this.input, this.options.maxChunkBytes);
        if (result.kind === 'needs-input') return this.needInput('gzip deflate data');
        if (result.kind === 'ended' || result.ended) this.state = 'trailer';
        if (result.kind === 'data') {
          this.crcFeed.update(result.bytes);
          this.memberSize += result.bytes.byteLength;
          return result.bytes;
        }
        break;
      }
      case 'trailer': {
        const bytes = this.input.peek(8);
        if (bytes === undefined) return this.needInput('gzip trailer');
        const trailer = parseGzipTrailer(bytes);
        this.crcFeed.flush();
        if (trailer.crc32 !== this.memberCrc) {
          throw fieldError('CORRUPT', 'gzip trailer.crc32', `stored CRC-32 0x${trailer.crc32.toString(16)} does not match the data (0x${this.memberCrc.toString(16)})`, this.input.consumed);
        }
        if (trailer.isize !== this.memberSize % 2 ** 32) {
          throw fieldError('CORRUPT', 'gzip trailer.isize', `stored size ${trailer.isize} does not match the data (${this.memberSize})`, this.input.consumed + 4);
        }
        this.input.skip(8);
        const member = this.current as GzipMember;
        member.compressedSize = this.input.consumed - this.memberStart;
        member.uncompressedSize = this.memberSize;
        this.state = 'between';
        break;
      }
      case 'between':
        // Another member follows only if the next bytes are a member's magic; anything
        // else (end of input, zero padding, garbage) ends the gzip stream here and is
        // left to the caller as trailing bytes, as gzip(1) warns "trailing garbage ignored".
        return this.nextMemberOrEnd(3, isGzipMagic, () => {
          this.state = 'header';
        });
    }
  }
}

/**
 * A decoder for a gzip file: every member in turn, each trailer's CRC-32 and ISIZE
 * verified (`CORRUPT` naming the field on a mismatch). The `end` step comes when the input
 * ends after a member, or when the bytes after a member are not another member (trailing
 * garbage is returned as `trailing`, not decoded).
 *
 * Held bytes: the input not yet consumed (a header is held whole while it arrives, at most
 * {@link MAX_GZIP_HEADER_BYTES}); window: 32 KiB.
 */
export async function createGzipDecoder(options?: DecoderOptions): Promise<GzipDecoder> {
  const resolved = resolveDecoderOptions(options);
  return new GzipStreamDecoder(await loadPako(), resolved);
}
