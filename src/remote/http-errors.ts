/**
 * What goes wrong over HTTP, as `IntrospectionError`s: every failure names the request and
 * the URL, and none is ever answered from an error page's bytes.
 *
 * | failure | code | retried |
 * | --- | --- | --- |
 * | 4xx, 5xx other than below | `SOURCE_ERROR` with the status | no |
 * | 408, 429, 500, 502, 503, 504 | `SOURCE_ERROR` once the retries are spent | yes, with backoff |
 * | connection refused, reset, a body cut short | `SOURCE_ERROR` once the retries are spent | yes |
 * | a `Content-Range` for other bytes or another size, a body longer or shorter than it says | `SOURCE_ERROR` | no (a short body: yes) |
 * | the object changed between requests | `SOURCE_ERROR` | no |
 * | the URL filter refuses a URL or a redirect | `SOURCE_ERROR` | no |
 * | the caller's signal | `ABORTED` | no |
 *
 * URLs in messages lose their query string and credentials: a presigned URL's query is its
 * password (`X-Amz-Signature`, Swift's `temp_url_sig`), and messages end up in logs.
 *
 * @module
 */
import { IntrospectionError } from '../errors.js';

/** Statuses worth asking again: the server or a proxy was briefly unable to answer (RFC 9110 15.5.9, 15.6). */
export const TRANSIENT_STATUSES: readonly number[] = [408, 429, 500, 502, 503, 504];

/** The URL as messages show it: without credentials, with `?…` for a query string. */
export function redactUrl(url: URL | string): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    return '(an invalid URL)';
  }
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}${parsed.search === '' ? '' : '?…'}`;
}

/** A failure that another attempt may not repeat (a reset connection, a 503). */
export class TransientFailure extends Error {
  constructor(
    readonly failure: IntrospectionError,
    /** What the server asked for (`Retry-After`), in milliseconds. */
    readonly retryAfterMs?: number,
  ) {
    super(failure.message);
  }
}

/** `SOURCE_ERROR` about one request. */
export function requestError(method: string, url: URL | string, what: string, cause?: unknown): IntrospectionError {
  return new IntrospectionError('SOURCE_ERROR', `${method} ${redactUrl(url)} ${what}`, cause === undefined ? {} : { cause });
}

/** Marks an error made by {@link statusError} with the status. */
const statusMark = Symbol('image-introspect.httpStatus');

/** The error for an unexpected status (the body, an error page, is never read). */
export function statusError(method: string, url: URL | string, response: { status: number; statusText: string }): IntrospectionError {
  const text = response.statusText === '' ? '' : ` ${response.statusText}`;
  const error = requestError(method, url, `answered ${response.status}${text}`);
  Object.defineProperty(error, statusMark, { value: response.status });
  return error;
}

/** The HTTP status an error was made for, if it was made for one. */
export function httpStatusOf(error: unknown): number | undefined {
  const status = typeof error === 'object' && error !== null ? (error as Record<symbol, unknown>)[statusMark] : undefined;
  return typeof status === 'number' ? status : undefined;
}

/** A network failure (`fetch` rejected): the message and its cause's, as undici nests them (`fetch failed` / `ECONNRESET`). */
export function networkError(method: string, url: URL | string, error: unknown): IntrospectionError {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause !== undefined ? (error.cause as { code?: unknown; message?: unknown }) : undefined;
  const detail = cause === undefined ? '' : `: ${typeof cause.code === 'string' ? cause.code : String(cause.message ?? cause)}`;
  return requestError(method, url, `failed: ${message}${detail}`, error);
}

/** `Retry-After` in milliseconds (seconds, or an HTTP date), when given. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The `ABORTED` error for a request the caller's signal stopped. */
export function abortedError(method: string, url: URL | string): IntrospectionError {
  return new IntrospectionError('ABORTED', `${method} ${redactUrl(url)} was aborted`);
}
