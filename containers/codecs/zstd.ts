/**
 * Zstandard (RFC 8878): the frame header, parsed here without decompressing, and a
 * streaming decoder for a sequence of frames and skippable frames (`zstd` writes one frame
 * per file; `cat a.zst b.zst` and `pzstd` output are several), built on `fzstd`'s block
 * decoder (see `docs/dependencies.md`).
 *
 * Frame layout (RFC 8878 §3.1.1):
 *
 * | field | size | notes |
 * | --- | --- | --- |
 * | Magic_Number | 4 | 28 b5 2f fd |
 * | Frame_Header_Descriptor | 1 | bits 7-6 FCS size flag, 5 Single_Segment, 3 reserved, 2 Content_Checksum, 1-0 Dictionary_ID size flag |
 * | Window_Descriptor | 0-1 | absent when Single_Segment; exponent (bits 7-3) and mantissa (2-0) |
 * | Dictionary_ID | 0, 1, 2, 4 | |
 * | Frame_Content_Size | 0, 1, 2, 4, 8 | 2-byte values are stored minus 256 |
 * | blocks | | 3-byte header each: bit 0 Last_Block, bits 1-2 type (raw, RLE, compressed, reserved), bits 3-23 size |
 * | Content_Checksum | 0, 4 | low 32 bits of XXH64 of the content |
 *
 * Skippable frames: magic 0x184d2a50..5f (little-endian), a 4-byte length, that many bytes.
 *
 * The decoder reads each block's header itself and hands `fzstd` one whole block at a
 * time, so a step never decodes more than one block's worth (Block_Maximum_Size, at most
 * 128 KiB) beyond what `fzstd` held back while it waited for a frame's first 18 bytes (a
 * frame header is at least 6 bytes, so at most three more 4-byte blocks: 512 KiB in all).
 * The window the frame declares is checked against `maxWindowBytes` before `fzstd`
 * allocates it. The content checksum (which `fzstd` skips) is verified here with an
 * incremental XXH64, and so is Frame_Content_Size when present: `fzstd` decodes a damaged
 * block without complaint as often as not, and these two are what catch it.
 *
 * @module
 */
import { safeNumber } from '../../src/bytes.js';
import { fieldError, type IntrospectionError } from '../../src/errors.js';
import { Xxhash64 } from './xxhash64.js';
import { compressedBlockLength, type SequenceTables } from './zstd-sequences.js';
import { checkWindow, type DecoderOptions, DeferredCheck, QueuedDecoder, type ResolvedDecoderOptions, resolveDecoderOptions, type StepResult, type StreamDecoder, translateLibraryError } from './codec.js';

type Fzstd = typeof import('fzstd');

/** Block_Maximum_Size: 128 KiB (RFC 8878 §3.1.1.2.3). */
export const ZSTD_MAX_BLOCK_BYTES = 128 * 1024;

/** The longest frame header: 4 magic + 1 descriptor + 1 window + 4 dictionary + 8 content size. */
export const ZSTD_MAX_FRAME_HEADER_BYTES = 18;

/**
 * How many frames' headers a decoder records: 1024 (a file may chain any number of frames,
 * each at least 9 bytes; the rest are counted, not kept).
 */
export const MAX_RECORDED_ZSTD_FRAMES = 1024;

/** A Zstandard frame header, as parsed by {@link parseZstdFrameHeader}. */
export interface ZstdFrameHeader {
  /** Length of the header in bytes (where the first block starts). */
  headerLength: number;
  /** Window_Size in bytes: the memory a decoder needs for back-references (the content size for single-segment frames). */
  windowSize: number;
  /** Frame_Content_Size, when the frame declares it. */
  frameContentSize?: number;
  /** Dictionary_ID, when the frame names one (0 is "no dictionary" and is left out). */
  dictionaryId?: number;
  /** Content_Checksum_Flag: a 4-byte XXH64 checksum follows the last block. */
  hasChecksum: boolean;
  /** Single_Segment_Flag: the whole content is one segment (no Window_Descriptor). */
  singleSegment: boolean;
}

/** A skippable frame, as parsed by {@link parseZstdFrameHeader}. */
export interface ZstdSkippableFrame {
  /** Always true. */
  skippable: true;
  /** Which of the 16 skippable magics (0..15). */
  magicVariant: number;
  /** The user data length (the frame is 8 bytes longer). */
  dataLength: number;
}

/** One frame the decoder went through. */
export interface ZstdFrame {
  /** Offset of the frame in the compressed input. */
  offset: number;
  /** Its header, or the skippable frame's description. */
  header: ZstdFrameHeader | ZstdSkippableFrame;
  /** Compressed length of the frame (absent until the frame ended). */
  compressedSize?: number;
  /** Decoded length (absent until the frame ended; 0 for skippable frames). */
  uncompressedSize?: number;
}

/** True when `bytes` start with a Zstandard frame or skippable-frame magic. */
export function isZstdMagic(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 4) return false;
  const magic = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  return magic === 0xfd2fb528 || (magic & 0xfffffff0) === 0x184d2a50;
}

/**
 * Parses a frame header (or a skippable frame's 8-byte header) from the bytes at the
 * frame's start. Returns `undefined` when `bytes` end before it does; throws `CORRUPT` for
 * a wrong magic or the reserved bit set.
 */
export function parseZstdFrameHeader(bytes: Uint8Array): ZstdFrameHeader | ZstdSkippableFrame | undefined {
  if (bytes.byteLength < 5) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if ((magic & 0xfffffff0) === 0x184d2a50) {
    if (bytes.byteLength < 8) return undefined;
    return { skippable: true, magicVariant: magic & 0x0f, dataLength: view.getUint32(4, true) };
  }
  if (magic !== 0xfd2fb528) throw fieldError('CORRUPT', 'zstd frame header.magic', `0x${magic.toString(16)} is not a Zstandard frame magic`);
  const descriptor = bytes[4] as number;
  if ((descriptor & 0x08) !== 0) throw fieldError('CORRUPT', 'zstd frame header.descriptor', 'the reserved bit is set', 4);
  const singleSegment = (descriptor & 0x20) !== 0;
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 0x03] as number;
  const contentSizeFlag = descriptor >> 6;
  const contentSizeBytes = contentSizeFlag === 0 ? (singleSegment ? 1 : 0) : 1 << contentSizeFlag;
  const headerLength = 5 + (singleSegment ? 0 : 1) + dictionaryBytes + contentSizeBytes;
  if (bytes.byteLength < headerLength) return undefined;
  let offset = 5;
  let windowSize = 0;
  if (!singleSegment) {
    const windowDescriptor = bytes[offset] as number;
    const windowBase = 2 ** (10 + (windowDescriptor >> 3));
    windowSize = windowBase + (windowBase / 8) * (windowDescriptor & 0x07);
    offset += 1;
  }
  let dictionaryId = 0;
  if (dictionaryBytes === 1) dictionaryId = bytes[offset] as number;
  else if (dictionaryBytes === 2) dictionaryId = view.getUint16(offset, true);
  else if (dictionaryBytes === 4) dictionaryId = view.getUint32(offset, true);
  offset += dictionaryBytes;
  let frameContentSize: number | undefined;
  if (contentSizeBytes === 1) frameContentSize = bytes[offset] as number;
  else if (contentSizeBytes === 2) frameContentSize = view.getUint16(offset, true) + 256;
  else if (contentSizeBytes === 4) frameContentSize = view.getUint32(offset, true);
  else if (contentSizeBytes === 8) frameContentSize = safeNumber(view.getBigUint64(offset, true), 'zstd frame header.frameContentSize');
  if (singleSegment) windowSize = frameContentSize as number;
  const header: ZstdFrameHeader = { headerLength, windowSize, hasChecksum: (descriptor & 0x04) !== 0, singleSegment };
  if (frameContentSize !== undefined) header.frameContentSize = frameContentSize;
  if (dictionaryId !== 0) header.dictionaryId = dictionaryId;
  return header;
}

/** A Zstandard decoder, with the frames it has gone through. */
export interface ZstdDecoder extends StreamDecoder {
  /** The frames so far (the first {@link MAX_RECORDED_ZSTD_FRAMES}), in order. */
  readonly frames: readonly ZstdFrame[];
  /** How many frames were started (recorded or not). */
  readonly frameCount: number;
}

type ZstdState = 'frame' | 'skip' | 'block' | 'checksum' | 'between';

class ZstdStreamDecoder extends QueuedDecoder implements ZstdDecoder {
  readonly codec = 'zstd' as const;
  readonly frames: ZstdFrame[] = [];
  frameCount = 0;
  private state: ZstdState = 'frame';
  private blockDecoder: InstanceType<Fzstd['Decompress']> | undefined;
  /** The FSE tables of the frame's last compressed block, for a block that repeats them (see zstd-sequences.ts). */
  private sequenceTables: SequenceTables = {};
  private readonly pending: Uint8Array[] = [];
  private pendingLength = 0;
  private header: ZstdFrameHeader | undefined;
  private current: ZstdFrame | undefined;
  private frameDecoded = 0;
  private skipLeft = 0;
  private lastBlockSeen = false;
  private checksum: Xxhash64 | undefined;
  /** The frame's checksum, fed late (see DeferredCheck). */
  private checksumFeed: DeferredCheck | undefined;

  constructor(private readonly fzstd: Fzstd, options: ResolvedDecoderOptions) {
    super(options);
  }

  get windowBytes(): number {
    return this.blockDecoder === undefined ? 0 : (this.header?.windowSize ?? 0);
  }

  protected override pendingBytes(): number {
    return this.pendingLength + (this.checksumFeed?.waitingBytes ?? 0);
  }

  protected override translate(error: unknown): IntrospectionError {
    // fzstd's ZstdError code 5 is UnexpectedEOF.
    const truncated = typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 5;
    return translateLibraryError(error, 'zstd block', truncated);
  }

  protected advance(): StepResult | undefined {
    const out = this.takePending();
    if (out !== undefined) return out;
    switch (this.state) {
      case 'frame': {
        const parsed = parseZstdFrameHeader(this.input.peek(Math.min(this.input.length, ZSTD_MAX_FRAME_HEADER_BYTES)) ?? new Uint8Array(0));
        if (parsed === undefined) return this.needInput('zstd frame header');
        this.frameCount += 1;
        this.current = { offset: this.input.consumed, header: parsed };
        if (this.frames.length < MAX_RECORDED_ZSTD_FRAMES) this.frames.push(this.current);
        if ('skippable' in parsed) {
          this.input.skip(8);
          this.skipLeft = parsed.dataLength;
          this.state = 'skip';
          break;
        }
        if (parsed.dictionaryId !== undefined) {
          throw fieldError('UNSUPPORTED', 'zstd frame header.dictionaryId', `the frame needs dictionary ${parsed.dictionaryId}, which is not available`, this.input.consumed);
        }
        checkWindow(parsed.windowSize, this.options, 'zstd frame header.windowSize', this.input.consumed);
        this.header = parsed;
        this.frameDecoded = 0;
        this.lastBlockSeen = false;
        this.sequenceTables = {};
        this.checksum = parsed.hasChecksum ? new Xxhash64() : undefined;
        this.checksumFeed = this.checksum === undefined ? undefined : new DeferredCheck(this.checksum.update.bind(this.checksum));
        this.blockDecoder = new this.fzstd.Decompress((data) => {
          if (data.byteLength === 0) return;
          this.pending.push(data);
          this.pendingLength += data.byteLength;
        });
        this.blockDecoder.push(this.input.take(parsed.headerLength) as Uint8Array);
        this.state = 'block';
        break;
      }
      case 'skip': {
        if (this.skipLeft > 0) {
          if (this.input.length === 0) return this.needInput('zstd skippable frame');
          const skipped = Math.min(this.skipLeft, this.input.length);
          this.input.skip(skipped);
          this.skipLeft -= skipped;
          break;
        }
        this.endFrame(0);
        break;
      }
      case 'block': {
        const blockHeader = this.input.peek(3);
        if (blockHeader === undefined) return this.needInput('zstd block header');
        const word = (blockHeader[0] as number) | ((blockHeader[1] as number) << 8) | ((blockHeader[2] as number) << 16);
        const type = (word >> 1) & 3;
        const size = word >>> 3;
        const header = this.header as ZstdFrameHeader;
        const maximum = Math.min(header.windowSize, ZSTD_MAX_BLOCK_BYTES);
        if (type === 3) throw fieldError('CORRUPT', 'zstd block header.type', 'reserved block type 3', this.input.consumed);
        if (size > maximum) {
          throw fieldError('CORRUPT', 'zstd block header.size', `${size} bytes is above Block_Maximum_Size (${maximum})`, this.input.consumed);
        }
        const blockLength = 3 + (type === 1 ? 1 : size);
        this.lastBlockSeen = (word & 1) === 1;
        // fzstd holds back a frame's first 18 bytes unless told the input is final, so the
        // last block goes in with the checksum (which fzstd skips) and `final`: a frame
        // smaller than 18 bytes is then decoded too.
        const pushLength = blockLength + (this.lastBlockSeen && header.hasChecksum ? 4 : 0);
        const block = this.input.peek(pushLength);
        if (block === undefined) return this.needInput(pushLength > blockLength && this.input.length >= blockLength ? 'zstd frame.contentChecksum' : 'zstd block');
        // fzstd runs a compressed block's sequences without a bound on their lengths (a
        // hostile block keeps it copying for seconds): their total is checked first.
        if (type === 2) compressedBlockLength(block, 3, blockLength, maximum, this.sequenceTables, this.input.consumed);
        (this.blockDecoder as InstanceType<Fzstd['Decompress']>).push(block, this.lastBlockSeen);
        this.input.skip(blockLength);
        if (this.lastBlockSeen) this.state = 'checksum';
        break;
      }
      case 'checksum': {
        const header = this.header as ZstdFrameHeader;
        if (header.hasChecksum) {
          const stored = this.input.peek(4);
          if (stored === undefined) return this.needInput('zstd frame.contentChecksum');
          const storedValue = new DataView(stored.buffer, stored.byteOffset, 4).getUint32(0, true);
          this.checksumFeed?.flush();
          const computed = (this.checksum as Xxhash64).digestLow32();
          if (storedValue !== computed) {
            throw fieldError('CORRUPT', 'zstd frame.contentChecksum', `stored 0x${storedValue.toString(16)}, the content gives 0x${computed.toString(16)}`, this.input.consumed);
          }
          this.input.skip(4);
        }
        if (header.frameContentSize !== undefined && header.frameContentSize !== this.frameDecoded) {
          throw fieldError('CORRUPT', 'zstd frame header.frameContentSize', `declares ${header.frameContentSize} bytes, the frame decodes to ${this.frameDecoded}`, this.input.consumed);
        }
        this.blockDecoder = undefined;
        this.endFrame(this.frameDecoded);
        break;
      }
      case 'between':
        // Another frame follows only if the next bytes are a frame magic; anything else
        // ends the stream and is returned as trailing bytes (zstd(1) rejects such input
        // as "unknown header"; the caller decides).
        return this.nextMemberOrEnd(4, isZstdMagic, () => {
          this.state = 'frame';
        });
    }
  }

  private endFrame(decoded: number): void {
    const frame = this.current as ZstdFrame;
    frame.compressedSize = this.input.consumed - frame.offset;
    frame.uncompressedSize = decoded;
    this.state = 'between';
  }

  /** The next at most `maxChunkBytes` of what fzstd produced. */
  private takePending(): Uint8Array | undefined {
    const first = this.pending[0];
    if (first === undefined) return undefined;
    const limit = this.options.maxChunkBytes;
    let out = first;
    if (first.byteLength > limit) {
      out = first.subarray(0, limit);
      this.pending[0] = first.subarray(limit);
    } else this.pending.shift();
    this.pendingLength -= out.byteLength;
    this.frameDecoded += out.byteLength;
    this.checksumFeed?.update(out);
    return out;
  }
}

let fzstdLoad: Promise<Fzstd> | undefined;

/**
 * A decoder for a Zstandard file: every frame in turn, skippable frames skipped, each
 * frame's window checked against `maxWindowBytes` (`LIMIT_EXCEEDED` naming
 * `zstd frame header.windowSize`) and its content size verified. Frames that need a
 * dictionary are `UNSUPPORTED`. The `end` step comes when the input ends after a frame, or
 * when the bytes after a frame are not another frame (returned as `trailing`).
 *
 * Held bytes: input not yet consumed (a block is held whole until it is complete, at most
 * 128 KiB + 3) and at most 512 KiB of decoded blocks; window: the frame's Window_Size.
 */
export async function createZstdDecoder(options?: DecoderOptions): Promise<ZstdDecoder> {
  const resolved = resolveDecoderOptions(options);
  fzstdLoad ??= import('fzstd');
  return new ZstdStreamDecoder(await fzstdLoad, resolved);
}
