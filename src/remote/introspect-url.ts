/**
 * `introspectUrl`: an image behind an HTTP(S) URL, read by range requests (only the bytes
 * the format needs, in a few round trips), or as a stream from a server that ignores
 * `Range` (cancelled as soon as the answer is known).
 *
 * The options are `introspect`'s, plus:
 *
 * | option | meaning |
 * | --- | --- |
 * | `headers` | sent with every request to the URL's origin (a token: `X-Auth-Token`, `Authorization`); dropped on a redirect to another origin |
 * | `fetch` | the `fetch` to call (a proxy, a test); the global one by default |
 * | `urlFilter` | which URLs may be fetched, redirects included ({@link UrlFilterOption}); default `'service'` |
 * | `backingChain`, `resolve`, `allowOutsideReferences` | images that span files (`chain.ts`): names resolve against the image's URL, confined to its folder on its origin by default |
 *
 * Platform-neutral; `image-introspect/node` calls it with a transport that resolves names
 * and pins connections to checked addresses.
 *
 * @module
 */
import { type OpenedFile, type ReferenceOptions, type ReferenceResolver, followReferences, refuseReference, splitReferenceOptions } from '../chain.js';
import { IntrospectionError, toIntrospectionError } from '../errors.js';
import type { AnyContainerModule } from '../container-module.js';
import type { AnyFormatModule } from '../format-module.js';
import type { ImageInfoOf } from '../image-info.js';
import { introspectBackend, introspectSource } from '../introspect.js';
import { type IntrospectOptions, type ResolvedOptions, resolveOptions, takeOptions } from '../options.js';
import type { Backend } from '../reading/backend.js';
import { followSignal, throwIfAborted } from '../reading/chunks.js';
import { RangeBackend } from '../reading/range-backend.js';
import type { FetchLike, Transport } from './http-client.js';
import { httpStatusOf, redactUrl } from './http-errors.js';
import { type RangeFetcher, openRemoteObject } from './range-fetcher.js';
import { CompiledUrlFilter, type UrlFilterOption } from './url-filter.js';

/** Options of `introspectUrl` beyond `introspect`'s. */
export interface RemoteOptions {
  /** Headers for every request to the URL's origin (a token), dropped on a redirect to another origin. Not `Range`/`If-Range`, which are the library's. */
  headers?: Record<string, string>;
  /** The `fetch` to call; the global one by default. */
  fetch?: FetchLike;
  /** What may be fetched (the URL and every redirect): `'service'` (the default), `'permissive'` or a {@link UrlFilter}. */
  urlFilter?: UrlFilterOption;
}

/** Everything `introspectUrl` takes. */
export type UrlIntrospectOptions<Modules extends AnyFormatModule = AnyFormatModule, Containers extends AnyContainerModule = AnyContainerModule> = IntrospectOptions<Modules, Containers> &
  RemoteOptions &
  ReferenceOptions;

/** What a platform adds: a transport that enforces the filter's address ranges on each connection (Node). */
export interface RemotePlatform {
  transport?: (filter: CompiledUrlFilter) => Transport;
  /** Milliseconds before the first retry (tests). */
  retryBaseDelayMs?: number;
}

type Info = ImageInfoOf<string, unknown>;

const REMOTE_KEYS = ['headers', 'fetch', 'urlFilter'] as const;
/** Request headers the library sets itself. */
const OWN_HEADERS = new Set(['range', 'if-range', 'accept-encoding']);

/** What one remote introspection shares between the image and the files it names. */
interface Connection {
  headers: Record<string, string>;
  transport: Transport;
  filter: CompiledUrlFilter;
  signal: AbortSignal | undefined;
  retryBaseDelayMs: number | undefined;
}

/**
 * Introspects the image at `url` (see the module comment). Rejects `INVALID_ARGUMENT` for
 * a bad URL or option, `SOURCE_ERROR` for what the server did (naming the status and the
 * URL), `ABORTED` on the signal.
 */
export async function introspectUrlWith(url: string | URL, options: unknown, defaultFormats: readonly AnyFormatModule[], platform: RemotePlatform = {}): Promise<Info> {
  try {
    const { references, rest } = splitReferenceOptions(options);
    const { remote, rest: core } = splitRemoteOptions(rest);
    const resolved = resolveOptions(core, defaultFormats);
    const target = parseUrl(url);
    throwIfAborted(resolved.signal);
    const filter = CompiledUrlFilter.compile(remote.urlFilter);
    const transport: Transport = remote.fetch !== undefined ? { fetch: remote.fetch, checksAddresses: false } : (platform.transport?.(filter) ?? { fetch: globalFetch(), checksAddresses: false });
    // Requests listen on a signal of this URL's own: a batch's shared signal gets one listener.
    const requests = resolved.signal === undefined ? undefined : followSignal(resolved.signal);
    const connection: Connection = { headers: remote.headers ?? {}, transport, filter, signal: requests?.signal, retryBaseDelayMs: platform.retryBaseDelayMs };
    try {
      const opened = await openUrl(target, connection);
      const info = await opened.introspect(resolved);
      const resolve = references.resolve ?? urlResolver(opened.location, connection, references.allowOutsideReferences === true);
      return await followReferences(info, { filename: opened.location.href }, { resolve, backingChain: references.backingChain === true, options: resolved });
    } finally {
      requests?.stop();
      transport.close?.();
    }
  } catch (error) {
    throw toIntrospectionError(error);
  }
}

function splitRemoteOptions(options: unknown): { remote: RemoteOptions; rest: unknown } {
  const { taken, rest } = takeOptions(options, REMOTE_KEYS);
  const remote = taken as RemoteOptions;
  if (remote.fetch !== undefined && typeof remote.fetch !== 'function') throw invalid('options.fetch must be a function');
  if (remote.headers !== undefined) remote.headers = checkHeaders(remote.headers);
  return { remote, rest };
}

function checkHeaders(headers: unknown): Record<string, string> {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) throw invalid('options.headers must be an object of header names and values');
  const checked: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') throw invalid(`options.headers: the value of ${name} must be a string`);
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw invalid(`options.headers: "${name}" is not a header name`);
    if (/[\r\n\0]/.test(value)) throw invalid(`options.headers: the value of ${name} contains a line break`);
    if (OWN_HEADERS.has(name.toLowerCase())) throw invalid(`options.headers: ${name} is set by introspectUrl itself`);
    checked[name] = value;
  }
  return checked;
}

function parseUrl(url: unknown): URL {
  if (url instanceof URL) return new URL(url.href);
  if (typeof url !== 'string') throw invalid('introspectUrl needs a URL (a string or a URL)');
  try {
    return new URL(url);
  } catch {
    throw invalid(`"${url.length > 200 ? `${url.slice(0, 200)}…` : url}" is not a URL`);
  }
}

function globalFetch(): FetchLike {
  if (typeof globalThis.fetch !== 'function') throw invalid('there is no global fetch here: pass options.fetch');
  return (input, init) => globalThis.fetch(input, init);
}

function invalid(message: string): IntrospectionError {
  return new IntrospectionError('INVALID_ARGUMENT', message, { field: 'options' });
}

/** An object opened for introspection: where it ended up, and how to read it. */
interface OpenedUrl {
  location: URL;
  introspect(options: ResolvedOptions): Promise<Info>;
  /** Its length: known when read by ranges. */
  size(): number | undefined;
  /** Drops what was not used (a streamed body). */
  close(): Promise<void>;
}

/** Sends the first request; the object is then introspected by ranges, or as the stream a server without ranges sent. */
async function openUrl(url: URL, connection: Connection, firstBytes?: number): Promise<OpenedUrl> {
  const object = await openRemoteObject(url, {
    headers: connection.headers,
    transport: connection.transport,
    filter: connection.filter,
    signal: connection.signal,
    retryBaseDelayMs: connection.retryBaseDelayMs,
    ...(firstBytes === undefined ? {} : { firstBytes }),
  });
  if (object.kind === 'stream') {
    let used = false;
    return {
      location: object.url,
      size: () => undefined,
      introspect: (resolved) => {
        if (used) throw new IntrospectionError('INTERNAL', 'a streamed answer was introspected twice');
        used = true;
        return introspectSource(object.body, resolved);
      },
      close: async () => {
        if (!used) await object.body.cancel().catch(() => undefined);
        used = true;
      },
    };
  }
  const { fetcher } = object;
  return {
    location: fetcher.location,
    size: () => fetcher.size,
    introspect: (resolved) => introspectBackend(remoteBackend(fetcher, resolved.signal), resolved),
    close: async () => undefined,
  };
}

/**
 * The backend over a remote object: a {@link RangeBackend} (the same rules as a file),
 * counting the body bytes received as `bytesRead`, fetching `readMany` batches together and
 * what a module announces (`expectReads`) at once.
 */
export function remoteBackend(fetcher: RangeFetcher, signal: AbortSignal | undefined): Backend {
  const inner = new RangeBackend(fetcher, fetcher.size, signal);
  return {
    randomAccess: true,
    size: fetcher.size,
    get bytesTaken() {
      return fetcher.bytesReceived;
    },
    fetch: (offset, length, field) => inner.fetch(offset, length, field),
    retainStart: () => inner.retainStart(),
    seekEnd: (keepTail) => inner.seekEnd(keepTail),
    release: () => inner.release(),
    prefetch: (ranges) => fetcher.prefetch(ranges),
    expect: (ranges) => fetcher.expect(ranges),
  };
}

/** A name as a scheme-qualified URL (`http://...`, `file:...`, or a Windows drive `C:/...`, which must not resolve either). */
const QUALIFIED = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * The default resolver of `introspectUrl`: a name resolves against the URL of the image
 * that stores it. Unless `allowOutside`, it must stay on the image's origin and in its
 * folder (`../`, absolute paths, other hosts refused); a UUID cannot be resolved. The URL
 * filter still judges every URL, and the caller's headers go to the image's origin only.
 */
export function urlResolver(base: URL, connection: Connection, allowOutside: boolean): ReferenceResolver {
  const folder = base.pathname.slice(0, base.pathname.lastIndexOf('/') + 1);
  return async (name, referrer): Promise<OpenedFile | undefined> => {
    if (referrer.by === 'uuid') refuseReference('a parent named by UUID cannot be found by URL: pass resolve to supply it');
    const qualified = QUALIFIED.test(name);
    if ((qualified || name.startsWith('/')) && !allowOutside) refuseReference('it is an absolute name (allowOutsideReferences allows it)');
    // Each part is encoded: a "#" or "?" in a file name is part of the name, not a fragment or a query.
    const target = qualified ? new URL(name) : new URL(name.split('/').map(encodeURIComponent).join('/'), referrer.filename);
    if (!allowOutside && (target.origin !== base.origin || !target.pathname.startsWith(folder))) {
      refuseReference(`it leads out of ${redactUrl(new URL(folder, base))} (allowOutsideReferences allows it)`);
    }
    let opened: OpenedUrl;
    try {
      opened = await openUrl(target, { ...connection, headers: target.origin === base.origin ? connection.headers : {} }, referrer.want === 'size' ? 1 : undefined);
    } catch (error) {
      if (httpStatusOf(error) === 404 || httpStatusOf(error) === 410) return undefined;
      throw error;
    }
    return {
      filename: target.href,
      key: opened.location.href,
      source: new Uint8Array(0),
      introspect: (options) => opened.introspect(options),
      size: async () => opened.size(),
      close: () => opened.close(),
    };
  };
}
