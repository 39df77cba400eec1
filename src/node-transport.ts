/**
 * Node's transport for remote reads: requests through `node:http`/`node:https` whose
 * connections go only to addresses the URL filter allows.
 *
 * A name is resolved once per connection (`dns.lookup`, all addresses); every address is
 * judged by the filter, and the connection is made to one that passes (each in turn, as
 * Glance does since its fix of bug 2166488), never re-resolved: a DNS answer that changes
 * between a check and the connection (DNS rebinding) has nothing to change. The socket's
 * peer address is checked again once connected. Redirects are not followed here: the
 * client sees each one and judges it before asking.
 *
 * Node only (imported by `src/node.ts`).
 *
 * @module
 */
import { type LookupAddress, lookup as dnsLookup } from 'node:dns';
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { IntrospectionError } from './errors.js';
import type { Transport } from './remote/http-client.js';
import { redactUrl } from './remote/http-errors.js';
import type { CompiledUrlFilter } from './remote/url-filter.js';

/** Resolves a name to every address it has (tests pass a fake one; default `dns.lookup` with `all`). */
export type Resolver = (hostname: string, family: number) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname, family) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, family, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));

/** Statuses whose responses have no body (a `Response` refuses one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A transport whose connections the filter's address rules govern. */
export function nodeTransport(filter: CompiledUrlFilter, resolver: Resolver = systemResolver): Transport {
  const lookup = (hostname: string, options: { family?: number | string; all?: boolean }, callback: LookupCallback): void => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : typeof options.family === 'number' ? options.family : 0;
    resolver(hostname, family).then(
      (addresses) => {
        const allowed = addresses.filter((address) => filter.checkAddress(address.address) === undefined);
        if (allowed.length === 0) {
          const reasons = addresses.map((address) => filter.checkAddress(address.address)).filter((reason): reason is string => reason !== undefined);
          const error: NodeJS.ErrnoException = new Error(
            addresses.length === 0 ? `${hostname} has no address` : `${hostname} is refused by the URL filter: ${[...new Set(reasons)].join('; ')}`,
          );
          error.code = 'EADDRREFUSED';
          callback(error, '');
          return;
        }
        if (options.all === true) callback(null, allowed);
        else callback(null, (allowed[0] as LookupAddress).address, (allowed[0] as LookupAddress).family);
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
  // Connections are kept alive between the requests of one introspection, and closed with it.
  const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 2 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 2 }) };

  return {
    checksAddresses: true,
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
    fetch: (input, init) =>
      new Promise<Response>((resolve, reject) => {
        const url = new URL(input);
        const https = url.protocol === 'https:';
        if (!https && url.protocol !== 'http:') return reject(new TypeError(`${url.protocol} is not fetched`));
        const headers = new Headers(init.headers);
        const request = (https ? httpsRequest : httpRequest)(url, {
          method: init.method ?? 'GET',
          headers: Object.fromEntries(headers.entries()),
          agent: https ? agents.https : agents.http,
          lookup: lookup as never,
          ...(init.signal ? { signal: init.signal } : {}),
        });
        request.on('socket', (socket: Socket) => {
          // The peer as connected: an address literal skips lookup, and a socket reused from the pool was judged before.
          const judge = () => {
            const peer = socket.remoteAddress;
            const reason = peer === undefined ? 'no peer address' : filter.checkAddress(peer);
            if (reason !== undefined) request.destroy(Object.assign(new Error(`the connection is refused by the URL filter: ${reason}`), { code: 'EADDRREFUSED' }));
          };
          if (socket.remoteAddress !== undefined && !socket.connecting) judge();
          else socket.once(https ? 'secureConnect' : 'connect', judge);
        });
        request.on('response', (message: IncomingMessage) => {
          const status = message.statusCode ?? 0;
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(message.headers)) {
            if (value !== undefined) for (const item of Array.isArray(value) ? value : [value]) responseHeaders.append(name, item);
          }
          const body = NULL_BODY_STATUSES.has(status) ? null : (Readable.toWeb(message) as unknown as ReadableStream<Uint8Array>);
          if (body === null) message.resume();
          try {
            resolve(new Response(body, { status, statusText: message.statusMessage ?? '', headers: responseHeaders }));
          } catch (error) {
            message.destroy();
            reject(error);
          }
        });
        request.on('error', (error: NodeJS.ErrnoException) => {
          // A refusal is final, not a network failure to retry.
          reject(error.code === 'EADDRREFUSED' ? new IntrospectionError('SOURCE_ERROR', `GET ${redactUrl(url)} ${error.message}`) : error);
        });
        request.end();
      }),
  };
}
