/**
 * An image's data in Glance (`GET /v2/images/{id}/file`) as a {@link RandomAccessSource}:
 * every read is one GET with a `Range` header, so an audit reads a few KiB of each image
 * instead of downloading it.
 *
 * Self-contained on purpose: the general range reader behind `introspectUrl` (issue 12)
 * will replace it, and nothing else here depends on how it works. What it relies on is what
 * Glance 25 does: `Range` is honoured (206 with `Content-Range`), a HEAD is answered 405 and
 * no `Accept-Ranges` header is sent, so the size comes from the first answer's
 * `Content-Range` (`bytes 0-65535/1073741824`), never from a HEAD.
 *
 * Browser-safe (a browser needs Glance's CORS to allow `Range` and expose `Content-Range`).
 *
 * @module
 */
import { IntrospectionError } from '../errors.js';
import type { RandomAccessSource } from '../reading/range-backend.js';
import { type FetchFunction, send } from './http.js';

/** Bytes asked for by the first request: every format's header and most of its metadata are there. */
export const FIRST_READ_BYTES = 64 * 1024;

/** A {@link RandomAccessSource} over HTTP ranges, counting what it costs. */
export interface RangeSource extends RandomAccessSource {
  /** GET requests sent so far. */
  readonly requests: number;
  /** Body bytes received so far. */
  readonly bytesReceived: number;
}

/** Options for {@link openRangeSource}. */
export interface RangeSourceOptions {
  headers?: Record<string, string>;
  fetch?: FetchFunction;
  signal?: AbortSignal;
}

const CONTENT_RANGE = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+)$/;

/** Opens `url` for range reads: one GET of its first {@link FIRST_READ_BYTES}, which also gives its size. */
export async function openRangeSource(url: string, options: RangeSourceOptions = {}): Promise<RangeSource> {
  const fetchFunction = options.fetch ?? fetch;
  let requests = 0;
  let bytesReceived = 0;

  const get = async (start: number, end: number): Promise<{ response: Response; body: Uint8Array }> => {
    requests += 1;
    const response = await send(fetchFunction, {
      method: 'GET',
      url,
      headers: { ...options.headers, Range: `bytes=${start}-${end - 1}` },
      accept: [200, 206, 416],
      signal: options.signal,
    });
    if (response.status === 200) {
      // The server ignored Range. Read no more of a whole image than was asked for.
      const length = Number(response.headers.get('Content-Length') ?? Number.NaN);
      if (start !== 0 || !(length <= end)) {
        await response.body?.cancel();
        throw new IntrospectionError('SOURCE_ERROR', `GET ${url} ignored the Range header (200 instead of 206)`);
      }
    }
    const body = response.status === 416 ? new Uint8Array(0) : new Uint8Array(await response.arrayBuffer());
    bytesReceived += body.byteLength;
    if (body.byteLength > end - start) throw new IntrospectionError('SOURCE_ERROR', `GET ${url} sent ${body.byteLength} bytes for a range of ${end - start}`);
    return { response, body };
  };

  const first = await get(0, FIRST_READ_BYTES);
  let size: number;
  if (first.response.status === 200) size = first.body.byteLength;
  else if (first.response.status === 416 && !first.response.headers.has('Content-Range')) {
    // Byte 0 is not satisfiable only when there is no byte 0 (RFC 9110 section 15.5.17);
    // Glance says so without a Content-Range.
    size = 0;
  } else {
    const range = CONTENT_RANGE.exec(first.response.headers.get('Content-Range') ?? '');
    if (range === null) throw new IntrospectionError('SOURCE_ERROR', `GET ${url} answered ${first.response.status} without a usable Content-Range`);
    size = Number(range[3]);
    if (first.response.status === 416 ? size !== 0 : Number(range[1]) !== 0 || Number(range[2]) + 1 !== first.body.byteLength) {
      throw new IntrospectionError('SOURCE_ERROR', `GET ${url} answered ${first.response.status} with Content-Range "${range[0]}" for bytes 0-${FIRST_READ_BYTES - 1}`);
    }
  }
  const head = first.body;

  return {
    size,
    get requests() {
      return requests;
    },
    get bytesReceived() {
      return bytesReceived;
    },
    async read(offset, length) {
      const end = Math.min(offset + length, size);
      if (offset >= end) return new Uint8Array(0);
      if (end <= head.byteLength) return head.subarray(offset, end);
      const { response, body } = await get(offset, end);
      const range = CONTENT_RANGE.exec(response.headers.get('Content-Range') ?? '');
      if (response.status !== 206 || range === null || Number(range[1]) !== offset || Number(range[3]) !== size) {
        throw new IntrospectionError('SOURCE_ERROR', `GET ${url} answered ${response.status} (Content-Range "${range?.[0] ?? ''}") for bytes ${offset}-${end - 1} of ${size}`);
      }
      return body;
    },
  };
}
