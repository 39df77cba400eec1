/**
 * The one place the Glance and Keystone clients call `fetch`: every failure becomes an
 * `IntrospectionError` `SOURCE_ERROR` naming the method, URL and status (never a token or a
 * password).
 *
 * Browser-safe.
 *
 * @module
 */
import { IntrospectionError } from '../errors.js';

/** The `fetch` the clients call (the global one by default; a test or a proxy may pass its own). */
export type FetchFunction = typeof fetch;

/** Longest excerpt of an error response's body quoted in a message. */
export const MAX_ERROR_BODY_CHARACTERS = 300;

/** One HTTP request. */
export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** A JSON value (sent as JSON), or a body `fetch` takes as it is. */
  json?: unknown;
  body?: BodyInit;
  /** Statuses that are not errors; default any 2xx. */
  accept?: readonly number[];
  signal?: AbortSignal | undefined;
}

/** Sends a request; a status outside `accept` (or a network failure) throws `SOURCE_ERROR`. */
export async function send(fetchFunction: FetchFunction, request: HttpRequest): Promise<Response> {
  const headers: Record<string, string> = { ...request.headers };
  const init: RequestInit & { duplex?: 'half' } = { method: request.method, headers };
  if (request.signal) init.signal = request.signal;
  if (request.json !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    init.body = JSON.stringify(request.json);
  } else if (request.body !== undefined) {
    init.body = request.body;
    // A streamed body needs half-duplex in Node's fetch (and in browsers that stream uploads).
    if (typeof ReadableStream !== 'undefined' && request.body instanceof ReadableStream) init.duplex = 'half';
  }
  let response: Response;
  try {
    response = await fetchFunction(request.url, init);
  } catch (error) {
    if (request.signal?.aborted) throw new IntrospectionError('ABORTED', `${request.method} ${request.url} was aborted`, { cause: error });
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    const what = error instanceof Error ? `${error.message}${cause}` : String(error);
    throw new IntrospectionError('SOURCE_ERROR', `${request.method} ${request.url} failed: ${what}`, { cause: error });
  }
  const accepted = request.accept ? request.accept.includes(response.status) : response.ok;
  if (!accepted) throw await httpError(request.method, request.url, response);
  return response;
}

/** Sends a request and parses the JSON answer. */
export async function sendJson<Answer>(fetchFunction: FetchFunction, request: HttpRequest): Promise<{ answer: Answer; response: Response }> {
  const response = await send(fetchFunction, { ...request, headers: { Accept: 'application/json', ...request.headers } });
  const text = await response.text();
  try {
    return { answer: (text === '' ? {} : JSON.parse(text)) as Answer, response };
  } catch (error) {
    throw new IntrospectionError('SOURCE_ERROR', `${request.method} ${request.url} answered ${response.status} with a body that is not JSON`, { cause: error });
  }
}

/** The error for an unexpected status, quoting the start of the body (Glance and Keystone explain there). */
export async function httpError(method: string, url: string, response: Response): Promise<IntrospectionError> {
  let excerpt = '';
  try {
    excerpt = explanation(await response.text());
  } catch {
    // The body could not be read: the status says enough.
  }
  const statusText = response.statusText ? ` ${response.statusText}` : '';
  return new IntrospectionError('SOURCE_ERROR', `${method} ${url} answered ${response.status}${statusText}${excerpt ? `: ${excerpt}` : ''}`);
}

/** The readable part of an error body: Keystone's `error.message`, Glance's HTML or plain text. */
function explanation(body: string): string {
  let text = body;
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string }; message?: string };
    text = parsed.error?.message ?? parsed.message ?? body;
  } catch {
    text = body.replace(/<[^>]*>/g, ' ');
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > MAX_ERROR_BODY_CHARACTERS ? `${text.slice(0, MAX_ERROR_BODY_CHARACTERS)}...` : text;
}

/** `base` without trailing slashes. */
export function trimSlashes(base: string): string {
  return base.replace(/\/+$/, '');
}
