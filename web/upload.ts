/**
 * Uploading a checked image to Glance from the browser, with the `image-introspect/glance`
 * client: the image is created with the properties its bytes prove, then its data is sent.
 *
 * Two ways to send the data, chosen by what the browser can do:
 *
 * - **stream** (`uploadImage`: one read of the file through `inspect()`, the bytes passed on
 *   as a `ReadableStream` request body): Chromium streams a request body only over HTTP/2 or
 *   HTTP/3 (over HTTP/1.1 `fetch` rejects with "Failed to fetch",
 *   `net::ERR_H2_OR_QUIC_REQUIRED`), and only over TLS does it speak HTTP/2; Firefox and
 *   Safari do not stream request bodies at all. So this is tried only for an `https:`
 *   endpoint in a browser that supports request streams, and given up (for that endpoint)
 *   when the body is refused.
 * - **file** (everywhere else, Glance's own eventlet server speaks HTTP/1.1 only): the
 *   `File` itself is the body of an `XMLHttpRequest`, which the browser reads from disk as
 *   it sends (any size, no copy in memory) and which reports upload progress (`fetch` does
 *   not). The metadata was already read from byte ranges of the same file. No SHA-512 is
 *   computed here (Web Crypto has no incremental digest, and a second read of a 40 GiB file
 *   for it is not worth it); Glance computes `os_hash_value` itself, and the size it stored
 *   is compared with the file's.
 *
 * Either way an unsafe image is refused unless the person overrides, and no image record is
 * left behind when anything fails.
 *
 * @module
 */
import { IntrospectionError, isIntrospectionError } from '../src/errors.js';
import { type FetchFunction, GlanceClient, type GlanceImage, uploadImage } from '../src/glance/index.js';
import { type ImageInfo, glanceProperties } from '../src/index.js';
import type { UploadReport } from './protocol.js';

/** What the person asked for. */
export interface UploadRequest {
  /** Glance's image endpoint (`https://glance.example:9292`, with or without `/v2`). */
  endpoint: string;
  /** A Keystone token, sent as `X-Auth-Token`; empty for a Glance without authentication. */
  token: string;
  name: string;
  /** Upload even though safety checks failed (they are passed as `allowChecks`). */
  allowUnsafe: boolean;
}

/** An upload the page refused before anything was created. */
export class UploadRefusal extends Error {
  override readonly name = 'UploadRefusal';
}

/** `https://host:9292/v2/` → `https://host:9292`: the client adds `/v2/...` itself. */
export function normalizeEndpoint(endpoint: string): string {
  const url = new URL(endpoint.trim());
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UploadRefusal(`the endpoint must be an http or https URL, not ${url.protocol}`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/v2(\.\d+)?$/, '')}`;
}

/** True when this browser sends a `ReadableStream` body as a stream (the feature test from the Fetch standard's explainer). */
export function requestStreamsSupported(): boolean {
  let duplexAsked = false;
  try {
    const init = {
      body: new ReadableStream(),
      method: 'POST',
      get duplex() {
        duplexAsked = true;
        return 'half';
      },
    };
    const hasContentType = new Request('https://example.invalid/', init as RequestInit).headers.has('Content-Type');
    return duplexAsked && !hasContentType;
  } catch {
    return false;
  }
}

/** Endpoints where a streamed body was refused (HTTP/1.1 behind TLS): the file is sent there. */
const streamRefused = new Set<string>();

/**
 * A `fetch` for the Glance client that sends a `Blob` body with `XMLHttpRequest`, to report
 * upload progress; any other request goes to `fetch`.
 */
function progressFetch(onProgress: (sent: number) => void): FetchFunction {
  return (input, init) => {
    const body = init?.body;
    if (!(body instanceof Blob)) return fetch(input, init);
    return new Promise<Response>((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open(init?.method ?? 'PUT', input instanceof Request ? input.url : String(input));
      new Headers(init?.headers).forEach((value, key) => request.setRequestHeader(key, value));
      request.responseType = 'arraybuffer';
      request.upload.addEventListener('progress', (event) => onProgress(event.loaded));
      request.addEventListener('load', () => {
        const headers = new Headers();
        for (const line of request.getAllResponseHeaders().trim().split(/\r?\n/)) {
          const colon = line.indexOf(':');
          if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
        }
        // A 204 (Glance's answer to an upload) has no body, and a Response must not be given one.
        const nullBody = [101, 204, 205, 304].includes(request.status);
        resolve(new Response(nullBody ? null : (request.response as ArrayBuffer), { status: request.status, statusText: request.statusText, headers }));
      });
      request.addEventListener('error', () => reject(new TypeError('Failed to fetch')));
      request.addEventListener('abort', () => reject(new DOMException('The upload was cancelled', 'AbortError')));
      init?.signal?.addEventListener('abort', () => request.abort(), { once: true });
      request.send(body);
    });
  };
}

/** The checks to waive when the person overrides, or a refusal when they did not. */
function decide(info: ImageInfo, request: UploadRequest): string[] {
  const diskFormat = glanceProperties(info).disk_format;
  if (diskFormat === undefined) throw new UploadRefusal(`Glance has no disk_format for ${info.format} images`);
  const failed = info.safety.checks.filter((check) => !check.passed && check.waived !== true);
  if (failed.length > 0 && !request.allowUnsafe) {
    throw new UploadRefusal(`the image is unsafe (${failed.map((check) => check.name).join(', ')}): tick "Upload anyway" to override`);
  }
  return failed.map((check) => check.name);
}

/** True for the failure of a streamed body (not of the requests around it). */
function streamBodyRefused(error: unknown): boolean {
  return isIntrospectionError(error) && error.code === 'SOURCE_ERROR' && error.message.startsWith('PUT ') && error.cause instanceof TypeError;
}

/**
 * Creates the image in Glance with the properties `info` gives and uploads `file`,
 * reporting bytes sent. Refuses (throws {@link UploadRefusal}) an image Glance has no
 * `disk_format` for, or an unsafe one unless `allowUnsafe`.
 */
export async function uploadToGlance(file: File, info: ImageInfo, request: UploadRequest, onProgress: (sent: number) => void, signal: AbortSignal): Promise<UploadReport> {
  const allowChecks = decide(info, request);
  const session = { endpoint: normalizeEndpoint(request.endpoint), token: request.token.trim() === '' ? undefined : request.token.trim() };
  if (session.endpoint.startsWith('https:') && requestStreamsSupported() && !streamRefused.has(session.endpoint)) {
    try {
      const outcome = await uploadImage(new GlanceClient(session), file, { name: request.name, allowChecks, onProgress, signal });
      if (outcome.status === 'refused') throw new UploadRefusal(outcome.reason);
      return report(outcome.image, 'stream', outcome.properties, outcome.warnings);
    } catch (error) {
      if (!streamBodyRefused(error)) throw error;
      // Most likely HTTP/1.1 behind TLS: uploadImage deleted the record; send the file instead.
      streamRefused.add(session.endpoint);
    }
  }
  return uploadFileBody(new GlanceClient(session, { fetch: progressFetch(onProgress) }), file, info, request.name, signal);
}

/** Create, send the File, check what Glance stored; the record is deleted on any failure. */
async function uploadFileBody(client: GlanceClient, file: File, info: ImageInfo, name: string, signal: AbortSignal): Promise<UploadReport> {
  const properties = glanceProperties(info);
  const image = await client.createImage({ name, ...properties }, signal);
  let keep = false;
  try {
    await client.uploadImageData(image.id, file, signal);
    const stored = await client.getImage(image.id, signal);
    if (stored.size !== file.size) throw new IntrospectionError('SOURCE_ERROR', `Glance stored ${stored.size} bytes, but the file has ${file.size}`);
    if (stored.status !== 'active') throw new IntrospectionError('SOURCE_ERROR', `the image is ${stored.status} after its upload, not active`);
    keep = true;
    return report(stored, 'file', properties, []);
  } finally {
    if (!keep) await client.deleteImage(image.id).catch(() => undefined);
  }
}

function report(image: GlanceImage, method: UploadReport['method'], properties: UploadReport['properties'], warnings: string[]): UploadReport {
  return { id: image.id, status: image.status, size: image.size, method, properties, warnings };
}

/**
 * A failed upload in words a person can act on. `fetch` says only "Failed to fetch" when
 * the endpoint is down, when Glance's CORS does not allow the page's origin, and when the
 * page's own Content-Security-Policy blocked the connection (`blockedOrigins`, from the
 * worker's `securitypolicyviolation` events).
 */
export function explainUploadFailure(error: unknown, endpoint: string, blockedOrigins: ReadonlySet<string>, pageOrigin: string): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!/Failed to fetch|NetworkError|Load failed/.test(message)) return message;
  let origin = endpoint;
  try {
    origin = new URL(endpoint).origin;
  } catch {
    return message;
  }
  if (blockedOrigins.has(origin)) {
    return `this page's Content-Security-Policy does not allow connecting to ${origin} (serve the page with that Glance allowed: npm run demo -- --glance ${origin})`;
  }
  return `${message}. Is Glance running at ${origin}, and does its CORS configuration allow this page's origin, ${pageOrigin} ([cors] allowed_origin)?`;
}
