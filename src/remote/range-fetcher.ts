/**
 * An object behind a URL, read by `Range` requests: the request plan, the cache of bytes
 * already received, and the checks that the object is the same one on every answer.
 *
 * No HEAD: the first GET asks for the start of the object and learns its size from
 * `Content-Range` (Glance answers HEAD with 405 and sends no `Accept-Ranges`; qemu's curl
 * driver, which insists on both, cannot read an image stored in Glance).
 *
 * The plan, against the engine's reads (which come in file order, a batch at a time from
 * `readMany`):
 *
 * | step | asks for | why |
 * | --- | --- | --- |
 * | the first request | bytes `[0, FIRST_REQUEST_BYTES)` (33 KiB) | every signature (ISO's at 32769) and the header of every format but ISO and VHDX, with what follows it (a VMDK's embedded descriptor, a qcow2's extensions and backing file name) |
 * | a read past what was received | from the first byte not yet received, `MIN_READ_AHEAD_BYTES` ahead, doubling while each request continues the one before (up to `MAX_READ_AHEAD_BYTES`); and past the read by its own length, up to `READ_PAST_BYTES` | a walk forward (ISO directories, VHDX headers, a decompressed stream) costs a logarithmic number of requests; a table's items follow it |
 * | a read near the end | the last `TAIL_BYTES` at once | footers and backup tables are read backwards from the end (a GPT's backup, a DMG's plist before its trailer) |
 * | a batch (`prefetch`) | one request per run of ranges whose gaps are under `BATCH_GAP_BYTES` | one range per request: Glance answers a multi-range request with 400 |
 * | a module's hint (`expect`) | each run of the announced ranges as one read (with the read-ahead above) | a walk whose extent the format knows (an ISO's descriptors up to the UDF anchor at sector 256) in one request, where the doubling read-ahead would take several |
 *
 * A byte is never asked for twice: every plan is cut to what was not received yet, and
 * what was received stays (up to `CACHE_BYTES`, then the oldest ranges are dropped).
 *
 * The object must not change between requests: later requests carry `If-Range` with the
 * first answer's strong `ETag` (else its `Last-Modified`), and every answer's `ETag`,
 * `Last-Modified`, `Content-MD5` and size are compared with the first's. A difference, or a
 * 200 where a 206 was asked for, rejects `SOURCE_ERROR`: never a mix of two objects. (A
 * server that sends none of these can only be caught by a change of size.)
 *
 * @module
 */
import { IntrospectionError } from '../errors.js';
import { type RandomAccessSource } from '../reading/range-backend.js';
import { type Answer, HttpClient, type Transport, cancelBody } from './http-client.js';
import { TRANSIENT_STATUSES, TransientFailure, abortedError, requestError, retryAfterMs, statusError } from './http-errors.js';
import type { CompiledUrlFilter } from './url-filter.js';

/** Bytes the first request asks for: every signature and most headers with what follows them, a sixth of qemu's first read. */
export const FIRST_REQUEST_BYTES = 33 * 1024;
/** The least a request past the received bytes asks for. */
export const MIN_READ_AHEAD_BYTES = 64 * 1024;
/** How far past a read a request goes, at most (a table is often followed by the items it lists): as far as the read is long, up to this. */
export const READ_PAST_BYTES = 16 * 1024;
/** The most a forward walk's read-ahead grows to. */
export const MAX_READ_AHEAD_BYTES = 4 * 1024 * 1024;
/** A read this near the end fetches the whole of it (footers, backup tables, trailers). */
export const TAIL_BYTES = 24 * 1024;
/** Ranges of a batch this close together are fetched in one request (the bytes between cost less than a round trip). */
export const BATCH_GAP_BYTES = 64 * 1024;
/** Received bytes kept for later reads; past this the oldest ranges (except the start) are dropped. */
export const CACHE_BYTES = 32 * 1024 * 1024;
/** Attempts per request, the first included: transient failures (a reset, a 503) are retried. */
export const MAX_ATTEMPTS = 4;
/** The first retry waits this long; each next one twice as long. */
export const RETRY_BASE_DELAY_MS = 250;
/** The longest wait between attempts, whatever `Retry-After` says. */
export const MAX_RETRY_DELAY_MS = 5000;

const CONTENT_RANGE = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i;

/** What identifies one version of the object, from its first answer. */
interface Identity {
  etag: string | undefined;
  lastModified: string | undefined;
  md5: string | undefined;
}

/** Options of {@link openRemoteObject}. */
export interface RemoteObjectOptions {
  /** The caller's headers (a token), sent to the URL's origin only. */
  headers: Record<string, string>;
  transport: Transport;
  filter: CompiledUrlFilter;
  signal: AbortSignal | undefined;
  /** Milliseconds before the first retry (tests make it short). */
  retryBaseDelayMs?: number;
  /** Bytes the first request asks for (default {@link FIRST_REQUEST_BYTES}; 1 when only the size is wanted). */
  firstBytes?: number;
}

/** An opened object: read by ranges, or (the server ignored `Range`) a stream of the whole body. */
export type RemoteObject =
  | { kind: 'ranges'; fetcher: RangeFetcher }
  | { kind: 'stream'; body: ReadableStream<Uint8Array>; url: URL; client: HttpClient };

/** Received bytes: sorted, disjoint. */
interface Segment {
  start: number;
  bytes: Uint8Array;
}

/**
 * Sends the first request. A 206 gives the size: the object is read by ranges. A 200 means
 * the server ignores `Range`: its body is handed over as a stream (cancelled as soon as the
 * answer is known), except a body no longer than the first request asked for, which is
 * simply read.
 */
export async function openRemoteObject(url: URL, options: RemoteObjectOptions): Promise<RemoteObject> {
  const client = new HttpClient(options.transport, options.filter, options.signal);
  const fetcher = new RangeFetcher(url, options, client);
  const first = await fetcher.retrying(() => fetcher.first());
  if (first === 'ranges') return { kind: 'ranges', fetcher };
  return { kind: 'stream', body: first.body, url: first.url, client };
}

export class RangeFetcher implements RandomAccessSource {
  /** The object's length, from the first answer. */
  size = 0;
  /** Body bytes received. */
  bytesReceived = 0;
  private url: URL;
  private callerHeaders: Record<string, string>;
  private identity: Identity = { etag: undefined, lastModified: undefined, md5: undefined };
  private segments: Segment[] = [];
  private cached = 0;
  /** The end of the last range requested, and how much the next forward request reads ahead. */
  private lastEnd = 0;
  private readAhead = MIN_READ_AHEAD_BYTES;
  /** True while each request continued the one before: the read-ahead then grows. */
  private walking = false;
  /** Requests are sent one at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    url: URL,
    private readonly options: RemoteObjectOptions,
    readonly client: HttpClient,
  ) {
    this.url = url;
    this.callerHeaders = options.headers;
  }

  /** Requests sent so far (redirect hops and retries included). */
  get requests(): number {
    return this.client.requests;
  }

  /** The URL the object was found at (after redirects). */
  get location(): URL {
    return this.url;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(this.size, offset + length);
    if (offset >= end) return new Uint8Array(0);
    const cached = this.fromCache(offset, end);
    if (cached !== undefined) return cached;
    await this.serially(() => this.fill(offset, end));
    return this.fromCache(offset, end) ?? this.missing(offset, end);
  }

  /**
   * Fetches what a batch of reads will need, one request per run of ranges whose gaps are
   * under {@link BATCH_GAP_BYTES} (a hint: the reads that follow are served from the cache).
   */
  async prefetch(ranges: readonly { offset: number; length: number }[]): Promise<void> {
    for (const run of this.runsOf(ranges)) {
      await this.serially(async () => {
        for (const piece of this.uncovered(run.start, run.end)) await this.retrying(() => this.fetchRange(piece.start, piece.end));
      });
    }
  }

  /**
   * A module's hint (`ByteReader.expectReads`): the reads that follow will take much of
   * `ranges`. Each run of them (gaps under {@link BATCH_GAP_BYTES}) is fetched now as one
   * read of the whole run would be, read-ahead included: so a walk the module announced
   * (an ISO's descriptors up to the UDF anchor) costs one request instead of a doubling series.
   */
  async expect(ranges: readonly { offset: number; length: number }[]): Promise<void> {
    for (const run of this.runsOf(ranges)) {
      if (this.fromCache(run.start, run.end) === undefined) await this.serially(() => this.fill(run.start, run.end, false));
    }
  }

  /** `ranges` cut at the end, sorted, and joined where the gap between them is under {@link BATCH_GAP_BYTES}. */
  private runsOf(ranges: readonly { offset: number; length: number }[]): Array<{ start: number; end: number }> {
    const sorted = ranges
      .map((range) => ({ start: range.offset, end: Math.min(this.size, range.offset + range.length) }))
      .filter((range) => range.start < range.end)
      .sort((a, b) => a.start - b.start);
    const runs: Array<{ start: number; end: number }> = [];
    for (const range of sorted) {
      const last = runs[runs.length - 1];
      if (last !== undefined && range.start - last.end <= BATCH_GAP_BYTES) last.end = Math.max(last.end, range.end);
      else runs.push({ ...range });
    }
    return runs;
  }

  /** The first request: the size, the object's identity, its first bytes. */
  async first(): Promise<'ranges' | { body: ReadableStream<Uint8Array>; url: URL }> {
    const firstBytes = this.options.firstBytes ?? FIRST_REQUEST_BYTES;
    if (this.cached > 0) {
      // A retry after a body that broke off: the size is known, ask for the rest only.
      await this.fetchRange(0, Math.min(firstBytes, this.size));
      return 'ranges';
    }
    const answer = await this.client.get(this.url, this.callerHeaders, { Range: `bytes=0-${firstBytes - 1}`, 'Accept-Encoding': 'identity' });
    const { response } = answer;
    this.url = answer.url;
    this.callerHeaders = answer.callerHeaders;
    if (response.status === 200) {
      const length = Number(response.headers.get('Content-Length') ?? Number.NaN);
      if (!(length <= firstBytes) || response.body === null) return { body: response.body ?? emptyStream(), url: this.url };
      // A small object from a server without ranges: its whole body is its first (and only) range.
      const bytes = await this.body(response, length, 0);
      this.size = bytes.byteLength;
      this.identity = identityOf(response);
      this.store(0, bytes);
      return 'ranges';
    }
    if (response.status === 416) {
      // Byte 0 is unsatisfiable only when there is no byte 0 (RFC 9110 15.5.17); Glance says so without a Content-Range.
      const range = response.headers.get('Content-Range');
      await cancelBody(response);
      if (range === null || /^bytes\s+\*\/0$/i.test(range.trim())) {
        this.size = 0;
        return 'ranges';
      }
      throw requestError('GET', this.url, `answered 416 with Content-Range "${range}" for bytes 0-${firstBytes - 1}`);
    }
    if (response.status !== 206) throw await this.unexpected(response);
    const range = this.contentRange(response, 0);
    if (range.total === undefined) {
      await cancelBody(response);
      throw requestError('GET', this.url, `answered 206 with Content-Range "${response.headers.get('Content-Range') ?? ''}", which does not give the size`);
    }
    this.size = range.total;
    this.identity = identityOf(response);
    this.store(0, await this.body(response, range.end - range.start, 0));
    this.lastEnd = range.end;
    return 'ranges';
  }

  /** Runs `attempt` again after a transient failure (a reset, a 503), a bounded number of times, waiting longer each time. */
  async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    let delay = this.options.retryBaseDelayMs ?? RETRY_BASE_DELAY_MS;
    for (let attemptNumber = 1; ; attemptNumber += 1) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof TransientFailure)) throw error;
        if (attemptNumber >= MAX_ATTEMPTS) {
          const failure = error.failure;
          throw new IntrospectionError('SOURCE_ERROR', `${failure.message} (after ${MAX_ATTEMPTS} attempts)`, { cause: failure });
        }
        await sleep(Math.min(MAX_RETRY_DELAY_MS, Math.max(delay, error.retryAfterMs ?? 0)), this.options.signal, () => abortedError('GET', this.url));
        delay *= 2;
      }
    }
  }

  /** One request at a time: reads never race for the same bytes. */
  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Fetches what `[offset, end)` needs, as the plan says (`readPast`: also what follows a structure read alone; not for an announced walk, whose end is known). */
  private async fill(offset: number, end: number, readPast = true): Promise<void> {
    let start = offset;
    let stop = end;
    if (offset >= this.size - TAIL_BYTES) {
      start = Math.max(0, Math.min(offset, this.size - TAIL_BYTES));
      stop = this.size;
    } else {
      // A read whose first missing byte continues the last request (or lies just past it) walks forward.
      const missingFrom = this.uncovered(offset, end)[0]?.start ?? offset;
      const forward = missingFrom >= this.lastEnd && missingFrom - this.lastEnd <= this.readAhead;
      this.readAhead = forward && this.walking ? Math.min(MAX_READ_AHEAD_BYTES, this.readAhead * 2) : MIN_READ_AHEAD_BYTES;
      this.walking = forward;
      // What follows a structure is often another of its size (a table after a table): read as far past it as it is long.
      stop = Math.min(this.size, Math.max(readPast ? end + Math.min(end - offset, READ_PAST_BYTES) : end, missingFrom + this.readAhead));
      // Stopping just short of the tail would cost a request for the tail later.
      if (stop >= this.size - TAIL_BYTES) stop = this.size;
    }
    // Only the missing runs the read itself needs (with the read-ahead that continues them): a run cut off by received bytes is left.
    for (const piece of this.uncovered(start, stop)) {
      if (piece.start < end && piece.end > offset) await this.retrying(() => this.fetchRange(piece.start, piece.end));
    }
  }

  /** One request for `[start, end)` (what is still missing of it, on a retry). */
  private async fetchRange(start: number, end: number): Promise<void> {
    const missing = this.uncovered(start, end)[0];
    if (missing === undefined) return;
    ({ start, end } = missing);
    const headers: Record<string, string> = { Range: `bytes=${start}-${end - 1}`, 'Accept-Encoding': 'identity' };
    const validator = this.identity.etag !== undefined && !this.identity.etag.startsWith('W/') ? this.identity.etag : this.identity.lastModified;
    if (validator !== undefined) headers['If-Range'] = validator;
    const answer: Answer = await this.client.get(this.url, this.callerHeaders, headers);
    const { response } = answer;
    if (response.status === 200) {
      await cancelBody(response);
      throw requestError(
        'GET',
        this.url,
        validator === undefined ? 'answered 200 (the whole object) to a range request after answering 206: it stopped honouring Range' : 'answered 200 to a range request with If-Range: the object changed between requests',
      );
    }
    if (response.status !== 206) throw await this.unexpected(response);
    const range = this.contentRange(response, start);
    if (range.total !== undefined && range.total !== this.size) {
      await cancelBody(response);
      throw requestError('GET', this.url, `now says the object has ${range.total} bytes, not ${this.size}: it changed between requests`);
    }
    if (range.end > end) {
      await cancelBody(response);
      throw requestError('GET', this.url, `answered bytes ${range.start}-${range.end - 1} for bytes ${start}-${end - 1}`);
    }
    this.checkIdentity(response);
    this.lastEnd = Math.max(this.lastEnd, end);
    this.store(start, await this.body(response, range.end - range.start, start));
  }

  /** The `Content-Range` of a 206, which must start where asked. */
  private contentRange(response: Response, start: number): { start: number; end: number; total: number | undefined } {
    const header = response.headers.get('Content-Range');
    const match = header === null ? null : CONTENT_RANGE.exec(header.trim());
    if (match === null) {
      void cancelBody(response);
      throw requestError(
        'GET',
        this.url,
        header === null
          ? 'answered 206 without a Content-Range (from a browser: the server must list it in Access-Control-Expose-Headers)'
          : `answered 206 with an unreadable Content-Range "${header}"`,
      );
    }
    const first = Number(match[1]);
    const last = Number(match[2]);
    const total = match[3] === '*' ? undefined : Number(match[3]);
    if (first !== start || last < first || (total !== undefined && last >= total)) {
      void cancelBody(response);
      throw requestError('GET', this.url, `answered Content-Range "${header}" for a range starting at ${start}`);
    }
    return { start: first, end: last + 1, total };
  }

  private checkIdentity(response: Response): void {
    const now = identityOf(response);
    for (const key of ['etag', 'lastModified', 'md5'] as const) {
      const before = this.identity[key];
      const after = now[key];
      if (before !== undefined && after !== undefined && before !== after) {
        void cancelBody(response);
        const header = key === 'etag' ? 'ETag' : key === 'md5' ? 'Content-MD5' : 'Last-Modified';
        throw requestError('GET', this.url, `answered with ${header} ${after} after ${before}: the object changed between requests`);
      }
    }
  }

  /** A status that is neither the answer nor a redirect: retried when transient, else final. */
  private async unexpected(response: Response): Promise<Error> {
    await cancelBody(response);
    const error = statusError('GET', this.url, response);
    return TRANSIENT_STATUSES.includes(response.status) ? new TransientFailure(error, retryAfterMs(response.headers.get('Retry-After'))) : error;
  }

  /**
   * Exactly `length` body bytes. More is an error; fewer (the connection dropped) keeps what
   * came and is a transient failure: the retry asks for the rest only.
   */
  private async body(response: Response, length: number, start: number): Promise<Uint8Array> {
    const bytes = new Uint8Array(length);
    let filled = 0;
    const reader = response.body?.getReader();
    if (reader !== undefined) {
      try {
        for (;;) {
          const step = await reader.read();
          if (step.done) break;
          const chunk = step.value;
          if (filled + chunk.byteLength > length) {
            await reader.cancel().catch(() => undefined);
            throw requestError('GET', this.url, `sent more than the ${length} bytes its Content-Range announced`);
          }
          bytes.set(chunk, filled);
          filled += chunk.byteLength;
          this.bytesReceived += chunk.byteLength;
        }
      } catch (error) {
        if (error instanceof IntrospectionError) throw error;
        if (this.options.signal?.aborted) throw abortedError('GET', this.url);
        this.keepPartial(start, bytes, filled);
        throw new TransientFailure(requestError('GET', this.url, `body broke off after ${filled} of ${length} bytes: ${error instanceof Error ? error.message : String(error)}`, error));
      }
    }
    if (filled < length) {
      this.keepPartial(start, bytes, filled);
      throw new TransientFailure(requestError('GET', this.url, `sent ${filled} of the ${length} bytes its Content-Range announced`));
    }
    return bytes;
  }

  private keepPartial(start: number, bytes: Uint8Array, filled: number): void {
    if (filled > 0 && this.size > 0) this.store(start, bytes.slice(0, filled));
  }

  /** Adds received bytes (never overlapping what is cached: plans are cut to what is missing). */
  private store(start: number, bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    let index = this.segments.length;
    while (index > 0 && (this.segments[index - 1] as Segment).start > start) index -= 1;
    this.segments.splice(index, 0, { start, bytes });
    this.cached += bytes.byteLength;
    // Keep the start (detection and kept headers look there); drop the oldest others.
    while (this.cached > CACHE_BYTES && this.segments.length > 2) {
      const dropIndex = this.segments[0]?.start === 0 ? 1 : 0;
      const [dropped] = this.segments.splice(dropIndex, 1);
      this.cached -= (dropped as Segment).bytes.byteLength;
    }
  }

  /** `[start, end)` if every byte of it was received: a view of one segment, or a copy across touching ones. */
  private fromCache(start: number, end: number): Uint8Array | undefined {
    const parts: Uint8Array[] = [];
    let cursor = start;
    for (const segment of this.segments) {
      const segmentEnd = segment.start + segment.bytes.byteLength;
      if (segmentEnd <= cursor) continue;
      if (segment.start > cursor) return undefined;
      parts.push(segment.bytes.subarray(cursor - segment.start, Math.min(end, segmentEnd) - segment.start));
      cursor = Math.min(end, segmentEnd);
      if (cursor >= end) break;
    }
    if (cursor < end) return undefined;
    if (parts.length === 1) return parts[0] as Uint8Array;
    const joined = new Uint8Array(end - start);
    let at = 0;
    for (const part of parts) {
      joined.set(part, at);
      at += part.byteLength;
    }
    return joined;
  }

  /** The runs of `[start, end)` not received yet. */
  private uncovered(start: number, end: number): Array<{ start: number; end: number }> {
    const pieces: Array<{ start: number; end: number }> = [];
    let cursor = start;
    for (const segment of this.segments) {
      const segmentEnd = segment.start + segment.bytes.byteLength;
      if (segmentEnd <= cursor) continue;
      if (segment.start >= end) break;
      if (segment.start > cursor) pieces.push({ start: cursor, end: segment.start });
      cursor = Math.max(cursor, segmentEnd);
    }
    if (cursor < end) pieces.push({ start: cursor, end });
    return pieces;
  }

  private missing(offset: number, end: number): never {
    throw new IntrospectionError('SOURCE_ERROR', `bytes ${offset}-${end - 1} of ${this.url.origin} were not received`);
  }
}

function identityOf(response: Response): Identity {
  const get = (name: string) => response.headers.get(name) ?? undefined;
  return { etag: get('ETag'), lastModified: get('Last-Modified'), md5: get('Content-MD5') };
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}

/** Waits `ms`, or rejects at once when the signal fires. */
function sleep(ms: number, signal: AbortSignal | undefined, aborted: () => Error): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
