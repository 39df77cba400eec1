// A real HTTP server for the remote-reading tests and the bench (plain JavaScript so that
// bench/remote.mjs can import it without a build; types in range-server.d.mts).
//
// Objects are added by name; a request's first path segment picks how the server behaves:
//
// | path | behaviour |
// | --- | --- |
// | /ranges/NAME | a well-behaved range server: HEAD (Accept-Ranges, Content-Length), GET with Range -> 206 + Content-Range, ETag, Last-Modified, If-Range honoured; what qemu's curl driver needs |
// | /glance/NAME | like Glance 25's GET /v2/images/{id}/file: HEAD -> 405, no Accept-Ranges, no ETag/Last-Modified, Content-MD5 of the whole object; an empty object answers 416 without Content-Range |
// | /norange/NAME | ignores Range: 200 with the whole body, streamed in 64 KiB writes (bytesSent says how much left before the client hung up) |
// | /changing/NAME | a new version of the object (other bytes, other ETag) after the first GET; If-Range honoured |
// | /changing-silent/NAME | like /changing/, but without ETag or Last-Modified (only the size and Content-MD5 can tell) |
// | /status/CODE/NAME | answers CODE with an HTML error page |
// | /redirect/N/MODE/NAME | N redirects (302) before /MODE/NAME |
// | /redirect-to/ENCODED_URL | one 302 to the decoded URL (another host, an internal address...) |
// | /flaky/N/MODE/NAME | the first N requests to this path reset the connection; then as /MODE/NAME |
// | /busy/N/MODE/NAME | the first N requests answer 503 (Retry-After: 0); then as /MODE/NAME |
// | /short/NAME | a 206 whose body stops before its Content-Length (the connection is closed) |
// | /wrong-range/NAME | a 206 whose Content-Range names other bytes than asked |
// | /stall/NAME | sends headers, then nothing (until the client goes away) |
// | /echo-headers/NAME | as /ranges/, and records the request headers |
// | /cors/NAME | as /glance/, for a page on another origin: answers the preflight (OPTIONS) allowing Range, If-Range and X-Auth-Token, and exposes Content-Range, ETag and Content-MD5 |
// | /cors-unexposed/NAME | as /cors/, but exposes no header (a browser hides Content-Range) |
//
// Every request is logged (method, path, Range, status, body bytes sent); `delayMs` delays
// every answer (an emulated round trip for the bench).
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';

const CHUNK = 64 * 1024;

/**
 * Starts the server on a free loopback port.
 * @param {{ delayMs?: number, host?: string }} [options]
 */
export async function startRangeServer(options = {}) {
  /** @type {Map<string, Uint8Array>} */
  const objects = new Map();
  /** @type {Array<{ method: string, path: string, range: string | undefined, status: number, bytesSent: number, headers: Record<string, string | string[] | undefined> }>} */
  const log = [];
  /** @type {Map<string, number>} */
  const hits = new Map();
  const sockets = new Set();
  let delayMs = options.delayMs ?? 0;
  const started = Date.UTC(2024, 0, 1);

  const server = createServer((request, response) => {
    const entry = { method: request.method ?? 'GET', path: request.url ?? '/', range: request.headers.range, status: 0, bytesSent: 0, headers: request.headers };
    log.push(entry);
    const count = (hits.get(entry.path) ?? 0) + 1;
    hits.set(entry.path, count);
    const answer = () => handle(request, response, entry, count);
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  /** Writes `bytes` in chunks, counting what went out, stopping when the client leaves. */
  function sendBody(response, entry, bytes) {
    let offset = 0;
    const pump = () => {
      while (offset < bytes.byteLength) {
        const piece = bytes.subarray(offset, Math.min(offset + CHUNK, bytes.byteLength));
        offset += piece.byteLength;
        entry.bytesSent += piece.byteLength;
        if (!response.write(piece)) {
          response.once('drain', pump);
          return;
        }
      }
      response.end();
    };
    response.on('close', () => {
      offset = bytes.byteLength;
    });
    pump();
  }

  /** Digests of each object's bytes, computed once (hashing 256 MiB on every request would be the server's time, not the client's). */
  const digests = new WeakMap();
  function digest(bytes, algorithm) {
    let known = digests.get(bytes);
    if (known === undefined) digests.set(bytes, (known = {}));
    known[algorithm] ??= createHash(algorithm).update(bytes).digest('hex');
    return known[algorithm];
  }

  function etagOf(bytes, version) {
    return `"${digest(bytes, 'sha1').slice(0, 16)}-${version}"`;
  }

  /** Parses `bytes=a-b` / `bytes=a-` / `bytes=-n` (one range only; several is 400, as Glance does). */
  function parseRange(header, size) {
    if (header === undefined) return undefined;
    const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
    if (match === null) return 'bad';
    let start;
    let end;
    if (match[1] === '') {
      const suffix = Number(match[2]);
      start = Math.max(0, size - suffix);
      end = size - 1;
    } else {
      start = Number(match[1]);
      end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    }
    if (start >= size || start > end) return 'unsatisfiable';
    return { start, end };
  }

  /**
   * A well-behaved object answer. `flavour` tunes it: glance (no HEAD, no validators,
   * Content-MD5), validators (ETag + Last-Modified), version (for If-Range).
   */
  function serveObject(request, response, entry, bytes, flavour) {
    const size = bytes.byteLength;
    const headers = { 'Content-Type': 'application/octet-stream' };
    if (flavour.glance) headers['Content-MD5'] = digest(bytes, 'md5');
    else headers['Accept-Ranges'] = 'bytes';
    if (flavour.validators) {
      headers.ETag = etagOf(bytes, flavour.version);
      headers['Last-Modified'] = new Date(started + flavour.version * 1000).toUTCString();
    } else if (flavour.md5) {
      headers['Content-MD5'] = digest(bytes, 'md5');
    }
    if (request.method === 'HEAD') {
      if (flavour.glance) return finish(response, entry, 405, { Allow: 'GET, PUT' }, '');
      response.writeHead(200, { ...headers, 'Content-Length': String(size) });
      entry.status = 200;
      return response.end();
    }
    let range = parseRange(request.headers.range, size);
    const ifRange = request.headers['if-range'];
    if (range !== undefined && ifRange !== undefined && ifRange !== headers.ETag && ifRange !== headers['Last-Modified']) range = undefined;
    if (range === 'bad') {
      if (request.headers.range?.includes(',') || flavour.glance) return finish(response, entry, 400, {}, '<html><body><h1>400 Bad Request</h1>Requested range not satisfiable or invalid</body></html>');
      range = undefined;
    }
    if (range === 'unsatisfiable') {
      if (flavour.glance && size === 0) return finish(response, entry, 416, {}, '');
      return finish(response, entry, 416, { 'Content-Range': `bytes */${size}` }, '');
    }
    if (range === undefined) {
      response.writeHead(200, { ...headers, 'Content-Length': String(size) });
      entry.status = 200;
      return sendBody(response, entry, bytes);
    }
    const body = bytes.subarray(range.start, range.end + 1);
    response.writeHead(206, { ...headers, 'Content-Length': String(body.byteLength), 'Content-Range': `bytes ${range.start}-${range.end}/${size}` });
    entry.status = 206;
    sendBody(response, entry, body);
  }

  function finish(response, entry, status, headers, body) {
    entry.status = status;
    response.writeHead(status, { 'Content-Type': 'text/html', 'Content-Length': String(Buffer.byteLength(body)), ...headers });
    response.end(body);
  }

  /** The bytes of a changed object: every byte flipped (same size, other content). */
  function changed(bytes) {
    const other = new Uint8Array(bytes);
    for (let index = 0; index < other.byteLength; index += 1) other[index] ^= 0xff;
    return other;
  }

  function handle(request, response, entry, count) {
    const parts = (entry.path.split('?')[0] ?? '').split('/').slice(1).map(decodeURIComponent);
    const mode = parts[0];
    const object = (name) => objects.get(name);
    const missing = () => finish(response, entry, 404, {}, '<html><body><h1>404 Not Found</h1>The resource could not be found.</body></html>');
    if (mode === 'cors' || mode === 'cors-unexposed') {
      response.setHeader('Access-Control-Allow-Origin', '*');
      if (mode === 'cors') response.setHeader('Access-Control-Expose-Headers', 'Content-Range, ETag, Content-MD5');
      if (request.method === 'OPTIONS') {
        return finish(response, entry, 204, { 'Access-Control-Allow-Methods': 'GET', 'Access-Control-Allow-Headers': 'Range, If-Range, X-Auth-Token', 'Access-Control-Max-Age': '0' }, '');
      }
    }
    switch (mode) {
      case 'ranges':
      case 'echo-headers': {
        const bytes = object(parts.slice(1).join('/'));
        if (bytes === undefined) return missing();
        return serveObject(request, response, entry, bytes, { validators: true, version: 1 });
      }
      case 'glance':
      case 'cors':
      case 'cors-unexposed': {
        const bytes = object(parts.slice(1).join('/'));
        if (bytes === undefined) return missing();
        return serveObject(request, response, entry, bytes, { glance: true, version: 1 });
      }
      case 'norange': {
        const bytes = object(parts.slice(1).join('/'));
        if (bytes === undefined) return missing();
        response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) });
        entry.status = 200;
        return sendBody(response, entry, bytes);
      }
      case 'changing':
      case 'changing-silent': {
        const bytes = object(parts.slice(1).join('/'));
        if (bytes === undefined) return missing();
        const requestsSoFar = log.filter((other) => other.path === entry.path && other.method === 'GET').length;
        const version = requestsSoFar <= 1 ? 1 : 2;
        const current = version === 1 ? bytes : changed(bytes);
        return serveObject(request, response, entry, current, mode === 'changing' ? { validators: true, version } : { md5: true, version });
      }
      case 'status': {
        const status = Number(parts[1]);
        return finish(response, entry, status, {}, `<html><head><title>${status}</title></head><body><h1>Error ${status}</h1><p>An error page, not an image.</p></body></html>`);
      }
      case 'redirect': {
        const left = Number(parts[1]);
        const rest = parts.slice(2).map(encodeURIComponent).join('/');
        const location = left <= 1 ? `/${rest}` : `/redirect/${left - 1}/${rest}`;
        return finish(response, entry, 302, { Location: location }, '');
      }
      case 'redirect-to':
        return finish(response, entry, 302, { Location: parts.slice(1).join('/') }, '');
      case 'flaky':
      case 'busy': {
        const failures = Number(parts[1]);
        if (count <= failures) {
          if (mode === 'busy') return finish(response, entry, 503, { 'Retry-After': '0' }, '<html><body>503 Service Unavailable</body></html>');
          entry.status = -1;
          return request.socket.destroy();
        }
        const innerMode = parts[2];
        const bytes = object(parts.slice(3).join('/'));
        if (bytes === undefined) return missing();
        return serveObject(request, response, entry, bytes, innerMode === 'glance' ? { glance: true, version: 1 } : { validators: true, version: 1 });
      }
      case 'short': {
        const bytes = object(parts.slice(1).join('/'));
        if (bytes === undefined) return missing();
        const range = parseRange(request.headers.range, bytes.byteLength);
        const { start, end } = typeof range === 'object' ? range : { start: 0, end: bytes.byteLength - 1 };
        const length = end - start + 1;
        response.writeHead(206, { 'Content-Length': String(length), 'Content-Range': `bytes ${start}-${end}/${bytes.byteLength}` });
        entry.status = 206;
        const half = Math.floor(length / 2);
        entry.bytesSent = half;
        response.write(bytes.subarray(start, start + half), () => request.socket.destroy());
        return;
      }
      case 'wrong-range': {
        const bytes = object(parts.slice(1).join('/'));
        if (bytes === undefined) return missing();
        const range = parseRange(request.headers.range, bytes.byteLength);
        const { start, end } = typeof range === 'object' ? range : { start: 0, end: bytes.byteLength - 1 };
        const shifted = Math.min(bytes.byteLength - 1, start + 512);
        const body = bytes.subarray(shifted, Math.min(bytes.byteLength, shifted + end - start + 1));
        response.writeHead(206, { 'Content-Length': String(body.byteLength), 'Content-Range': `bytes ${shifted}-${shifted + body.byteLength - 1}/${bytes.byteLength}` });
        entry.status = 206;
        return sendBody(response, entry, body);
      }
      case 'stall': {
        response.writeHead(206, { 'Content-Range': 'bytes 0-65535/1048576', 'Content-Length': '65536' });
        entry.status = 206;
        response.flushHeaders();
        return;
      }
      default:
        return missing();
    }
  }

  await new Promise((resolve) => server.listen(0, options.host ?? '127.0.0.1', () => resolve(undefined)));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;
  return {
    url,
    port,
    log,
    /** Adds (or replaces) an object. */
    add(name, bytes) {
      objects.set(name, bytes);
    },
    /** The URL of object `name` served in `mode`. */
    at(mode, name) {
      return `${url}/${mode}/${name.split('/').map(encodeURIComponent).join('/')}`;
    },
    /** Forgets the log and the per-path counters. */
    reset() {
      log.length = 0;
      hits.clear();
    },
    set delayMs(value) {
      delayMs = value;
    },
    get delayMs() {
      return delayMs;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}
