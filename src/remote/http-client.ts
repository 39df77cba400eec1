/**
 * One GET, the way every remote read sends it: each URL (the first and every redirect)
 * judged by the URL filter before it is requested, redirects followed a bounded number of
 * times, the caller's headers kept only on the origin they were given for, the caller's
 * signal aborting the request in flight.
 *
 * | platform | redirects | names against address ranges |
 * | --- | --- | --- |
 * | Node, through `src/node-transport.ts` | seen one by one (`redirect: 'manual'`), each checked before it is requested | resolved once, every address checked, the connection pinned to a checked one |
 * | a browser | followed by the browser (it hides them: an `opaqueredirect`), the final URL checked before its body is read | not resolvable: only address literals are checked; the browser's own rules (mixed content, CORS, Private Network Access) apply |
 * | Node with the global `fetch` or a caller's | seen one by one | refused when the filter checks address ranges (the connection's address cannot be known) |
 *
 * Platform-neutral: the transport is a `fetch`.
 *
 * @module
 */
import { IntrospectionError } from '../errors.js';
import { TransientFailure, abortedError, networkError, redactUrl, requestError } from './http-errors.js';
import type { CompiledUrlFilter } from './url-filter.js';
import { parseIpAddress } from './ip-address.js';

/** The `fetch` a remote read calls: the global one, a caller's, or Node's pinned transport. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** How requests reach the network. */
export interface Transport {
  readonly fetch: FetchLike;
  /**
   * True when every connection is made only to an address the filter allows, names
   * resolved and pinned by the transport itself (Node's transport).
   */
  readonly checksAddresses: boolean;
  /** Releases what the transport holds (kept-alive connections). */
  close?(): void;
}

/** The most redirects one request follows (browsers follow 20; an image URL needs one or two: a mirror, a presigned URL). */
export const MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** True where Node's APIs exist (and so does a network a page would not reach). */
function runningInNode(): boolean {
  const versions = (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions;
  return typeof versions?.node === 'string';
}

/** Where a GET ended up: the answer, the URL that gave it, and the caller's headers if that URL is on their origin. */
export interface Answer {
  response: Response;
  url: URL;
  callerHeaders: Record<string, string>;
}

export class HttpClient {
  /** Requests sent (every redirect hop counts). */
  requests = 0;
  /** In a browser, redirects cannot be seen one by one: the browser follows them, and the end is checked. */
  private browserFollows = false;

  constructor(
    private readonly transport: Transport,
    private readonly filter: CompiledUrlFilter,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Why `url` may not be requested, or `undefined`. */
  refusal(url: URL): string | undefined {
    const reason = this.filter.checkUrl(url);
    if (reason !== undefined) return reason;
    const host = url.hostname;
    if (this.filter.checksAddresses && parseIpAddress(host) === undefined && !this.transport.checksAddresses && runningInNode()) {
      return `the name ${host} cannot be checked against the address ranges of the URL filter with this fetch (it resolves names itself): use introspectUrl from image-introspect/node, which resolves and pins the address, or a filter without deniedRanges`;
    }
    return undefined;
  }

  /**
   * GETs `url` with the caller's headers and the request's own (`Range`...), following
   * redirects. A network failure is a {@link TransientFailure}; a refusal by the filter,
   * too many redirects and an abort are final.
   */
  async get(url: URL, callerHeaders: Record<string, string>, requestHeaders: Record<string, string>): Promise<Answer> {
    let current = url;
    let headers = callerHeaders;
    for (let hop = 0; ; hop += 1) {
      const refused = this.refusal(current);
      if (refused !== undefined) {
        // The caller's URL is the caller's mistake; a redirect is what the server did.
        if (current === url) throw new IntrospectionError('INVALID_ARGUMENT', `${redactUrl(current)} is refused by the URL filter: ${refused}`, { field: 'url' });
        throw requestError('GET', url, `redirected to ${redactUrl(current)}, which the URL filter refuses: ${refused}`);
      }
      const response = await this.send(current, { ...headers, ...requestHeaders });
      if (response.type === 'opaqueredirect') {
        // A browser: it will only follow redirects itself. Ask again that way, and check where it ended.
        this.browserFollows = true;
        hop -= 1;
        continue;
      }
      if (this.browserFollows && response.redirected && response.url !== '') {
        const landed = new URL(response.url);
        const reason = this.refusal(landed);
        if (reason !== undefined) {
          await cancelBody(response);
          throw requestError('GET', current, `redirected to ${redactUrl(landed)}, which the URL filter refuses: ${reason}`);
        }
        return { response, url: landed, callerHeaders: landed.origin === url.origin ? headers : {} };
      }
      if (!REDIRECT_STATUSES.has(response.status)) return { response, url: current, callerHeaders: headers };
      const location = response.headers.get('Location');
      await cancelBody(response);
      if (location === null) throw requestError('GET', current, `answered ${response.status} without a Location`);
      if (hop >= MAX_REDIRECTS) throw requestError('GET', url, `was redirected more than ${MAX_REDIRECTS} times`);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw requestError('GET', current, `redirected to an invalid URL`);
      }
      // The caller's headers (a token) are for the origin they were given for (as browsers drop Authorization).
      if (next.origin !== current.origin) headers = {};
      current = next;
    }
  }

  private async send(url: URL, headers: Record<string, string>): Promise<Response> {
    if (this.signal?.aborted) throw abortedError('GET', url);
    this.requests += 1;
    const init: RequestInit = { method: 'GET', headers, redirect: this.browserFollows ? 'follow' : 'manual', cache: 'no-store' };
    if (this.signal !== undefined) init.signal = this.signal;
    try {
      return await this.transport.fetch(url.href, init);
    } catch (error) {
      if (this.signal?.aborted) throw abortedError('GET', url);
      if (error instanceof IntrospectionError) throw error;
      throw new TransientFailure(networkError('GET', url, error));
    }
  }
}

/** Drops a response's body without reading it (an error page, a redirect's). */
export async function cancelBody(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // Already closed or errored: nothing to release.
  }
}
