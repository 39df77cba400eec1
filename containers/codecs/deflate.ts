/**
 * Raw deflate (RFC 1951), as gzip members and zip entries (method 8) carry it, decoded by
 * pako's port of zlib's `inflate` (see `docs/dependencies.md` for why pako).
 *
 * zlib's inflate is the one JS inflater that stops mid-block when its output buffer is
 * full, so a step returns at most `maxChunkBytes` however large the ratio (deflate's is
 * 1032:1 at most), and it reports exactly where the deflate stream ended (`next_in` at
 * `Z_STREAM_END`): zip entries with a data descriptor and gzip trailers need that. pako is
 * imported dynamically, so a bundle loads it only when a deflate stream appears.
 *
 * Held bytes: the caller's input chunks not yet consumed, nothing else; window: zlib's
 * 32 KiB sliding window.
 *
 * @module
 */
import { fieldError, type IntrospectionError } from '../../src/errors.js';
import { type ByteQueue, type DecoderOptions, QueuedDecoder, type ResolvedDecoderOptions, resolveDecoderOptions, type StepResult, type StreamDecoder, translateLibraryError } from './codec.js';

type Pako = typeof import('./pako-inflate.js');

/** zlib's window: 2^15 bytes (RFC 1951 §2: distances reach back at most 32768 bytes). */
export const DEFLATE_WINDOW_BYTES = 32 * 1024;

let pakoLoad: Promise<Pako> | undefined;

/** Loads pako's inflater once (a dynamic import, so that it is a separate chunk in bundles). */
export function loadPako(): Promise<Pako> {
  pakoLoad ??= import('./pako-inflate.js');
  return pakoLoad;
}

/** What one {@link RawInflater.inflate} call did. */
export type InflateResult =
  | { kind: 'data'; bytes: Uint8Array; ended: boolean }
  | { kind: 'needs-input' }
  | { kind: 'ended' };

/**
 * One raw deflate stream being inflated from a {@link ByteQueue}: consumes input from the
 * queue's front and leaves whatever follows the stream's end in the queue.
 */
export class RawInflater {
  private readonly stream: InstanceType<Pako['ZStream']>;
  private ended = false;
  /** True once the first byte of input went in (so a window exists). */
  private started = false;

  constructor(private readonly pako: Pako, private readonly field: string) {
    this.stream = new pako.ZStream();
    // Negative window bits: raw deflate, no zlib header or Adler-32 (zlib's inflateInit2).
    const status = pako.zlibInflateInit2(this.stream, -15);
    if (status !== pako.Z_OK) throw fieldError('INTERNAL', field, `inflateInit2 returned ${status}`);
  }

  /** Bytes of window allocated (zlib allocates its 32 KiB window on first output). */
  get windowBytes(): number {
    return this.started ? DEFLATE_WINDOW_BYTES : 0;
  }

  /** Inflates from `queue` into at most `maxBytes` output bytes. */
  inflate(queue: ByteQueue, maxBytes: number): InflateResult {
    if (this.ended) return { kind: 'ended' };
    const { pako, stream } = this;
    const input = queue.front();
    if (input.byteLength === 0) return { kind: 'needs-input' };
    this.started = true;
    const output = new Uint8Array(maxBytes);
    stream.input = input;
    stream.next_in = 0;
    stream.avail_in = input.byteLength;
    stream.output = output;
    stream.next_out = 0;
    stream.avail_out = maxBytes;
    const status = pako.zlibInflate(stream, pako.Z_NO_FLUSH);
    queue.skip(stream.next_in);
    const produced = stream.next_out;
    if (status === pako.Z_STREAM_END) {
      this.ended = true;
      return produced > 0 ? { kind: 'data', bytes: output.subarray(0, produced), ended: true } : { kind: 'ended' };
    }
    if (status !== pako.Z_OK && status !== pako.Z_BUF_ERROR) {
      throw fieldError('CORRUPT', this.field, `invalid deflate data (${stream.msg || `status ${status}`})`, queue.consumed);
    }
    if (produced > 0) return { kind: 'data', bytes: output.subarray(0, produced), ended: false };
    // No output and no error: zlib consumed the whole chunk (a header, or a block's codes
    // that produce nothing yet); ask for more when the queue is empty.
    return queue.length === 0 ? { kind: 'needs-input' } : this.inflate(queue, maxBytes);
  }
}

class DeflateRawDecoder extends QueuedDecoder {
  readonly codec = 'deflate-raw' as const;
  private readonly inflater: RawInflater;

  constructor(pako: Pako, options: ResolvedDecoderOptions) {
    super(options);
    this.inflater = new RawInflater(pako, 'deflate data');
  }

  protected override translate(error: unknown): IntrospectionError {
    return translateLibraryError(error, 'deflate data');
  }

  get windowBytes(): number {
    return this.inflater.windowBytes;
  }

  protected advance(): StepResult {
    const result = this.inflater.inflate(this.input, this.options.maxChunkBytes);
    if (result.kind === 'needs-input') return this.needInput('deflate data');
    if (result.kind === 'ended') return 'end';
    return result.bytes;
  }
}

/**
 * A decoder for one raw deflate stream (a zip entry's data with method 8). The `end` step
 * comes right after the final block; `compressedBytesConsumed` is then the entry's
 * compressed size, and `trailing` starts with whatever followed (a data descriptor, the
 * next local header).
 */
export async function createDeflateRawDecoder(options?: DecoderOptions): Promise<StreamDecoder> {
  const resolved = resolveDecoderOptions(options);
  return new DeflateRawDecoder(await loadPako(), resolved);
}
