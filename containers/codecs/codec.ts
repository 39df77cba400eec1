/**
 * The contract every streaming decompressor in `containers/codecs/` keeps, and the little
 * they share: option defaults, the input queue, and a driver loop for callers that hold an
 * async iterable of compressed chunks.
 *
 * A decoder is **pull-based**: the caller {@link StreamDecoder.read | reads} one step at a
 * time and gets either decoded bytes, a request for more compressed input, or the end of the
 * compressed stream. Each step does a bounded amount of work and returns at most
 * `maxChunkBytes` decoded bytes; whatever the compression ratio, a decoder holds no more
 * than its documented bound of decoded output beyond its window (a 1 KiB bomb that inflates
 * to 1 GiB is read 64 KiB at a time). Windows and dictionaries that a stream declares are
 * checked against `maxWindowBytes` before anything is allocated.
 *
 * ```ts
 * const decoder = await createXzDecoder({ maxWindowBytes: 64 << 20 });
 * decoder.write(firstCompressedChunk);
 * for (;;) {
 *   const step = decoder.read();
 *   if (step.kind === 'data') consume(step.bytes);
 *   else if (step.kind === 'needs-input') { const next = await nextChunk(); next ? decoder.write(next) : decoder.finish(); }
 *   else { remainder = step.trailing; break; } // the stream ended after decoder.compressedBytesConsumed bytes
 * }
 * ```
 *
 * Errors are always {@link IntrospectionError}s: `CORRUPT` for impossible content or a
 * failed check, `TRUNCATED` when the input ends inside the stream, `LIMIT_EXCEEDED` for a
 * window above the cap, `UNSUPPORTED` for a valid feature no decoder here handles, `ABORTED`
 * when the signal fired. Exceptions from wrapped libraries are translated, never passed on.
 *
 * @module
 */
import { fieldError, isIntrospectionError, type IntrospectionError, toIntrospectionError } from '../../src/errors.js';

/** The compressed formats this folder decodes. */
export type CodecName = 'deflate-raw' | 'gzip' | 'xz' | 'zstd' | 'bzip2';

/**
 * Default for {@link DecoderOptions.maxChunkBytes}: 64 KiB, the size at which per-step
 * overhead is negligible for every codec here (measured in `bench/codecs.mjs`) while a
 * bomb still yields control every 64 KiB.
 */
export const DEFAULT_MAX_CHUNK_BYTES = 64 * 1024;

/**
 * Default for {@link DecoderOptions.maxWindowBytes}: 128 MiB, the largest window the
 * reference `zstd` decoder accepts without `--long`/`--memory` (ZSTD_WINDOWLOG_LIMIT_DEFAULT
 * = 27); it admits every `xz` preset (`-9` uses a 64 MiB dictionary) and every bzip2 level.
 */
export const DEFAULT_MAX_WINDOW_BYTES = 128 * 1024 * 1024;

/** Options every decoder factory takes. */
export interface DecoderOptions {
  /** The most decoded bytes one {@link StreamDecoder.read} returns. Default {@link DEFAULT_MAX_CHUNK_BYTES}; at least 1 KiB. */
  maxChunkBytes?: number;
  /**
   * The largest window or dictionary a stream may declare (xz dictionary size, zstd window
   * size). Above it, `LIMIT_EXCEEDED` names the field, before anything is allocated.
   * Default {@link DEFAULT_MAX_WINDOW_BYTES}.
   */
  maxWindowBytes?: number;
  /** Checked at the start of every {@link StreamDecoder.read}: `ABORTED` once it fired. */
  signal?: AbortSignal;
}

/** {@link DecoderOptions} with the defaults applied and checked. */
export interface ResolvedDecoderOptions {
  /** See {@link DecoderOptions.maxChunkBytes}. */
  maxChunkBytes: number;
  /** See {@link DecoderOptions.maxWindowBytes}. */
  maxWindowBytes: number;
  /** See {@link DecoderOptions.signal}. */
  signal: AbortSignal | undefined;
}

/** One result of {@link StreamDecoder.read}. */
export type DecodeStep =
  /** Decoded bytes (1 to `maxChunkBytes` of them), owned by the caller. */
  | { kind: 'data'; bytes: Uint8Array }
  /** The decoder needs more compressed input: {@link StreamDecoder.write} it, or {@link StreamDecoder.finish} if there is none. */
  | { kind: 'needs-input' }
  /**
   * The compressed stream (every member, stream or frame the codec chains) ended. `trailing`
   * holds the input bytes written after its end (the next zip entry, trailing garbage, ...);
   * the stream itself was {@link StreamDecoder.compressedBytesConsumed} bytes long.
   */
  | { kind: 'end'; trailing: Uint8Array };

/** A pull-based, bounded streaming decompressor. */
export interface StreamDecoder {
  /** Which codec this is. */
  readonly codec: CodecName;
  /**
   * Hands the decoder more compressed bytes. It keeps a reference (no copy) until it has
   * consumed them, so the caller must not modify them. Call it before the first read or
   * after a `needs-input` step.
   */
  write(compressed: Uint8Array): void;
  /** Tells the decoder that no more input will come: a stream cut short is then `TRUNCATED`. */
  finish(): void;
  /** Does one bounded step of work. After an `end` step, every further call returns the same end. */
  read(): DecodeStep;
  /** Compressed bytes consumed so far; after the end, the exact length of the compressed stream. */
  readonly compressedBytesConsumed: number;
  /** Decoded bytes returned so far. */
  readonly decodedBytesProduced: number;
  /**
   * Bytes the decoder holds right now besides its window: written input not yet consumed,
   * carried-over structure bytes, and decoded output not yet returned. Bounded per codec
   * (see each factory's documentation), whatever the compression ratio.
   */
  readonly heldBytes: number;
  /** Bytes of window, dictionary or block buffer currently allocated (never above the codec's cap). */
  readonly windowBytes: number;
}

/**
 * Decoded bytes a {@link DeferredCheck} keeps before it computes: 256 KiB, four times the
 * 64 KiB in which nearly every image's answer comes.
 */
export const DEFERRED_CHECK_BYTES = 256 * 1024;

/**
 * A stream's running check (a CRC, a hash) computed late. An introspection usually has its
 * answer after the first 64 KiB of decoded bytes and releases the stream long before the
 * check could be compared (it comes after the block or member), so a check computed as the
 * bytes go by is work thrown away: over a compressed image's head, CRC64 and SHA-256 in
 * JavaScript cost more than the decoding. The decoded chunks are kept (they are the caller's,
 * which nobody writes into) until {@link DEFERRED_CHECK_BYTES} wait or the check is needed,
 * so a stream read to its end is checked exactly as before, and what is kept counts in the
 * decoder's `heldBytes`.
 */
export class DeferredCheck {
  private waiting: Uint8Array[] = [];
  /** Decoded bytes kept, not yet added to the check. */
  waitingBytes = 0;

  constructor(private readonly add: (bytes: Uint8Array) => void) {}

  /** Takes decoded bytes (kept, not copied: they must not be written into afterwards). */
  update(bytes: Uint8Array): void {
    this.waiting.push(bytes);
    this.waitingBytes += bytes.byteLength;
    if (this.waitingBytes > DEFERRED_CHECK_BYTES) this.flush();
  }

  /** Adds everything kept to the check: call before comparing it. */
  flush(): void {
    for (const bytes of this.waiting) this.add(bytes);
    this.waiting = [];
    this.waitingBytes = 0;
  }
}

/** Applies the defaults to `options` and checks them (`INVALID_ARGUMENT`). */
export function resolveDecoderOptions(options: DecoderOptions | undefined): ResolvedDecoderOptions {
  const maxChunkBytes = options?.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
  const maxWindowBytes = options?.maxWindowBytes ?? DEFAULT_MAX_WINDOW_BYTES;
  if (!Number.isSafeInteger(maxChunkBytes) || maxChunkBytes < 1024) {
    throw fieldError('INVALID_ARGUMENT', 'maxChunkBytes', `${maxChunkBytes} is not an integer of at least 1024`);
  }
  if (!Number.isSafeInteger(maxWindowBytes) || maxWindowBytes < 0) {
    throw fieldError('INVALID_ARGUMENT', 'maxWindowBytes', `${maxWindowBytes} is not a non-negative integer`);
  }
  return { maxChunkBytes, maxWindowBytes, signal: options?.signal };
}

/** Throws `ABORTED` if the signal fired. */
export function checkAborted(signal: AbortSignal | undefined, codec: CodecName): void {
  if (signal?.aborted) throw fieldError('ABORTED', codec, 'the operation was aborted');
}

/** Throws `LIMIT_EXCEEDED` naming `field` when a declared window is above the cap. */
export function checkWindow(declared: number, options: ResolvedDecoderOptions, field: string, offset?: number): void {
  if (declared > options.maxWindowBytes) {
    throw fieldError(
      'LIMIT_EXCEEDED',
      field,
      `the stream declares a ${declared}-byte window, above the ${options.maxWindowBytes}-byte cap (maxWindowBytes)`,
      offset,
    );
  }
}

/**
 * Translates anything a wrapped library threw into an {@link IntrospectionError}: ours pass
 * through; a library's own error becomes `CORRUPT` (or `TRUNCATED` when it says the input
 * ended) naming `field`, with the original as `cause`.
 */
export function translateLibraryError(error: unknown, field: string, truncated = false): IntrospectionError {
  if (isIntrospectionError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const translated = fieldError(truncated ? 'TRUNCATED' : 'CORRUPT', field, `the decoder rejected the data (${message})`);
  return Object.assign(translated, { cause: error });
}

/**
 * Compressed input the decoder has been given but not consumed: a list of the caller's
 * chunks (kept by reference), read from the front. Structures that straddle two chunks are
 * copied into one small array; everything else is handed out as views.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Offset of the first unread byte in `chunks[0]`. */
  private head = 0;
  private held = 0;
  /** Bytes read (skipped or taken) since the queue was made. */
  consumed = 0;

  /** Appends a chunk (kept by reference). */
  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.held += chunk.byteLength;
  }

  /** Bytes held. */
  get length(): number {
    return this.held;
  }

  /** The held bytes of the first chunk, as a view (empty when nothing is held). */
  front(): Uint8Array {
    const first = this.chunks[0];
    return first === undefined ? new Uint8Array(0) : first.subarray(this.head);
  }

  /** The byte `index` bytes from the front, or `undefined` past the end. */
  byteAt(index: number): number | undefined {
    let skip = this.head + index;
    for (const chunk of this.chunks) {
      if (skip < chunk.byteLength) return chunk[skip];
      skip -= chunk.byteLength;
    }
    return undefined;
  }

  /** The first `length` bytes, contiguous (a view when they lie in one chunk), without consuming them; `undefined` if fewer are held. */
  peek(length: number): Uint8Array | undefined {
    if (length > this.held) return undefined;
    const front = this.front();
    if (front.byteLength >= length) return front.subarray(0, length);
    const joined = new Uint8Array(length);
    let filled = 0;
    let start = this.head;
    for (const chunk of this.chunks) {
      const part = chunk.subarray(start, start + (length - filled));
      joined.set(part, filled);
      filled += part.byteLength;
      start = 0;
      if (filled === length) break;
    }
    return joined;
  }

  /** Consumes `length` bytes (at most what is held). */
  skip(length: number): void {
    let left = Math.min(length, this.held);
    this.held -= left;
    this.consumed += left;
    while (left > 0) {
      const first = this.chunks[0] as Uint8Array;
      const available = first.byteLength - this.head;
      if (left < available) {
        this.head += left;
        return;
      }
      left -= available;
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** The first `length` bytes, consumed; `undefined` (and nothing consumed) if fewer are held. */
  take(length: number): Uint8Array | undefined {
    const bytes = this.peek(length);
    if (bytes !== undefined) this.skip(length);
    return bytes;
  }

  /** Everything held, as one array, removed from the queue without counting as consumed (the input after a stream's end). */
  drain(): Uint8Array {
    const all = this.peek(this.held) ?? new Uint8Array(0);
    this.chunks = [];
    this.head = 0;
    this.held = 0;
    return all;
  }
}

/** What one step of a {@link QueuedDecoder} did: decoded bytes, a request for input, or the end. */
export type StepResult = Uint8Array | 'needs-input' | 'end';

/**
 * The bookkeeping every decoder here shares: the input queue, the counters, the signal,
 * the sticky end and error translation. A codec implements {@link QueuedDecoder.advance}.
 */
export abstract class QueuedDecoder implements StreamDecoder {
  /** Which codec this is. */
  abstract readonly codec: CodecName;
  /** Bytes of window or block buffer allocated. */
  abstract readonly windowBytes: number;
  /** Input written and not yet consumed. */
  protected readonly input = new ByteQueue();
  /** True once {@link QueuedDecoder.finish} was called. */
  protected inputFinished = false;
  private endStep: DecodeStep | undefined;
  private produced = 0;

  constructor(protected readonly options: ResolvedDecoderOptions) {}

  /** See {@link StreamDecoder.write}. */
  write(compressed: Uint8Array): void {
    if (this.endStep === undefined) this.input.push(compressed);
  }

  /** See {@link StreamDecoder.finish}. */
  finish(): void {
    this.inputFinished = true;
  }

  /** See {@link StreamDecoder.compressedBytesConsumed}. */
  get compressedBytesConsumed(): number {
    return this.input.consumed;
  }

  /** See {@link StreamDecoder.decodedBytesProduced}. */
  get decodedBytesProduced(): number {
    return this.produced;
  }

  /** See {@link StreamDecoder.heldBytes}. */
  get heldBytes(): number {
    return this.input.length + this.pendingBytes();
  }

  /** See {@link StreamDecoder.read}. */
  read(): DecodeStep {
    if (this.endStep !== undefined) return this.endStep;
    checkAborted(this.options.signal, this.codec);
    let result: StepResult;
    try {
      result = this.step();
    } catch (error) {
      throw this.translate(error);
    }
    if (result === 'end') {
      this.endStep = { kind: 'end', trailing: this.input.drain() };
      return this.endStep;
    }
    if (result === 'needs-input') return { kind: 'needs-input' };
    this.produced += result.byteLength;
    return { kind: 'data', bytes: result };
  }

  /** Decoded or carried bytes held besides the input queue and the window. */
  protected pendingBytes(): number {
    return 0;
  }

  /**
   * Asks for more input, or throws `TRUNCATED` naming `field` when the input has finished.
   */
  protected needInput(field: string): 'needs-input' {
    if (this.inputFinished) {
      throw fieldError('TRUNCATED', field, 'the input ends inside the compressed stream', this.input.consumed);
    }
    return 'needs-input';
  }

  /**
   * After a member, stream or frame: `true` when another one follows (the next `length`
   * bytes pass `isMagic`), `false` when the input ended or other bytes follow (they become
   * the end step's trailing bytes), `needs-input` while too few bytes are held to tell.
   */
  protected anotherFollows(length: number, isMagic: (bytes: Uint8Array) => boolean): boolean | 'needs-input' {
    if (this.input.length < length && !this.inputFinished) return 'needs-input';
    const next = this.input.peek(Math.min(this.input.length, length)) ?? new Uint8Array(0);
    return next.byteLength === length && isMagic(next);
  }

  /**
   * Turns an exception from `advance` into an IntrospectionError: anything unexpected from our
   * own code is `INTERNAL` (a bug); a codec wrapping a library translates that library's
   * errors instead (see {@link translateLibraryError}).
   */
  protected translate(error: unknown): IntrospectionError {
    return toIntrospectionError(error);
  }

  /**
   * The move between members (gzip), streams (bzip2) or frames (zstd), for {@link QueuedDecoder.advance}:
   * when another one follows, `startNext` switches to reading its header and the step goes
   * on (`undefined`); else `'end'` or `'needs-input'`, as {@link QueuedDecoder.anotherFollows} tells.
   */
  protected nextMemberOrEnd(length: number, isMagic: (bytes: Uint8Array) => boolean, startNext: () => void): 'end' | 'needs-input' | undefined {
    const follows = this.anotherFollows(length, isMagic);
    if (follows === 'needs-input') return follows;
    if (!follows) return 'end';
    startNext();
    return undefined;
  }

  /** One bounded unit of work: at most `maxChunkBytes` decoded bytes, made of as many {@link QueuedDecoder.advance} moves as it takes. */
  private step(): StepResult {
    for (;;) {
      const result = this.advance();
      if (result !== undefined) return result;
    }
  }

  /** One move of the codec's state machine: a result ends the step, `undefined` moves on (to the state it switched to). */
  protected abstract advance(): StepResult | undefined;
}

/**
 * Runs a decoder over an async iterable of compressed chunks and yields the decoded chunks,
 * stopping at the end of the compressed stream (input after it is left unread in the
 * iterator's current chunk; see {@link StreamDecoder.read} for where it ended). Honours the
 * decoder's signal between steps.
 */
export async function* decodeChunks(decoder: StreamDecoder, compressed: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array, Uint8Array> {
  const iterator = Symbol.asyncIterator in compressed ? compressed[Symbol.asyncIterator]() : (compressed as Iterable<Uint8Array>)[Symbol.iterator]();
  for (;;) {
    const step = decoder.read();
    if (step.kind === 'data') yield step.bytes;
    else if (step.kind === 'end') {
      await iterator.return?.();
      return step.trailing;
    } else {
      const next = await iterator.next();
      if (next.done === true) decoder.finish();
      else decoder.write(next.value);
    }
  }
}
