#!/usr/bin/env node
/**
 * Serves the built demo page (`npm run build:demo`) on the loopback interface, with a strict
 * Content-Security-Policy: scripts, styles, images and the worker from the page's own origin
 * only, no inline script or style, no `eval`, nothing from other origins; connections to the
 * page's origin and to the Glance endpoints named with `--glance` only.
 *
 *   node scripts/demo-server.mjs [--root DIR] [--host 127.0.0.1] [--port 8080] [--glance URL]...
 *
 * The tests start the same server (`startDemoServer`).
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = join(fileURLToPath(new URL('.', import.meta.url)), '..');
/** Where `npm run build:demo` writes the page. */
export const DEFAULT_DEMO_ROOT = join(projectRoot, 'dist-demo');
export const DEFAULT_DEMO_PORT = 8080;

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.md': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The page's Content-Security-Policy: everything from its own origin, nothing inline, no
 * eval (not even `wasm-unsafe-eval`), connections only to the origins of `connectTo`.
 */
export function contentSecurityPolicy(connectTo = [], reportPath = undefined) {
  const origins = connectTo.map((url) => new URL(url).origin);
  return [
    "default-src 'none'",
    "script-src 'self'",
    "worker-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src ${["'self'", ...origins].join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    ...(reportPath === undefined ? [] : [`report-uri ${reportPath}`]),
  ].join('; ');
}

/** Headers on every answer. */
function securityHeaders(policy) {
  return {
    'Content-Security-Policy': policy,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-cache',
  };
}

/** The file under `root` a request path names, or undefined (outside `root`, or not a file). */
function resolveFile(root, pathname) {
  let decoded;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const path = normalize(join(root, decoded.endsWith('/') ? `${decoded}index.html` : decoded));
  if (path !== root && !path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`)) return undefined;
  try {
    const stat = statSync(path);
    if (stat.isFile()) return { path, size: stat.size };
    if (stat.isDirectory()) {
      const index = join(path, 'index.html');
      if (statSync(index).isFile()) return { path: index, size: statSync(index).size };
    }
  } catch {
    // Not there.
  }
  return undefined;
}

/** Where browsers report what the policy blocked (the page's and its worker's: a worker's violations reach no console a test can see). */
export const VIOLATION_REPORT_PATH = '/csp-violation';
/** Largest violation report read. */
const MAX_REPORT_BYTES = 64 * 1024;

/** One violation report (`application/csp-report`), reduced to what a person needs. */
function violationOf(body) {
  try {
    const report = JSON.parse(body)['csp-report'] ?? {};
    return { document: report['document-uri'], directive: report['effective-directive'] ?? report['violated-directive'], blocked: report['blocked-uri'], sample: report['script-sample'] };
  } catch {
    return { document: undefined, directive: undefined, blocked: undefined, sample: body.slice(0, 200) };
  }
}

function receiveViolation(request, response, onViolation) {
  let body = '';
  request.setEncoding('utf8');
  request.on('data', (chunk) => {
    body += chunk;
    if (body.length > MAX_REPORT_BYTES) request.destroy();
  });
  request.on('end', () => {
    onViolation(violationOf(body));
    response.writeHead(204);
    response.end();
  });
}

/**
 * Starts the server. `port` 0 takes a free one; `connectTo` lists the Glance endpoints the
 * page may connect to; `onViolation` hears every Content-Security-Policy violation the
 * browser reports (default: printed on standard error). Resolves to its URL
 * (`http://host:port/`), its origin, its policy and a `close()`.
 */
export async function startDemoServer({
  root = DEFAULT_DEMO_ROOT,
  host = '127.0.0.1',
  port = DEFAULT_DEMO_PORT,
  connectTo = [],
  onViolation = (violation) => console.error(`demo-server: the Content-Security-Policy blocked ${violation.blocked ?? '?'} (${violation.directive ?? '?'}) in ${violation.document ?? '?'}`),
} = {}) {
  const policy = contentSecurityPolicy(connectTo, VIOLATION_REPORT_PATH);
  const headers = securityHeaders(policy);
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method === 'POST' && url.pathname === VIOLATION_REPORT_PATH) {
      receiveViolation(request, response, onViolation);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { ...headers, Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
      response.end('method not allowed\n');
      return;
    }
    const file = resolveFile(root, url.pathname);
    if (file === undefined) {
      response.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      response.end('not found\n');
      return;
    }
    response.writeHead(200, { ...headers, 'Content-Type': CONTENT_TYPES[extname(file.path)] ?? 'application/octet-stream', 'Content-Length': file.size });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file.path).pipe(response);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/`;
  return {
    url,
    origin: new URL(url).origin,
    policy,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function parseArguments(argv) {
  const options = { connectTo: [] };
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index];
    const value = argv[index + 1];
    if (value === undefined && argument.startsWith('--')) throw new Error(`${argument} needs a value`);
    if (argument === '--root') options.root = argv[++index];
    else if (argument === '--host') options.host = argv[++index];
    else if (argument === '--port') options.port = Number(argv[++index]);
    else if (argument === '--glance') options.connectTo.push(new URL(argv[++index]).href);
    else throw new Error(`unknown argument ${argument} (usage: demo-server.mjs [--root DIR] [--host HOST] [--port N] [--glance URL]...)`);
  }
  return options;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let options;
  try {
    options = parseArguments(process.argv.slice(2));
  } catch (error) {
    console.error(`demo-server: ${error.message}`);
    process.exit(2);
  }
  const root = options.root ?? DEFAULT_DEMO_ROOT;
  if (resolveFile(root, '/index.html') === undefined) {
    console.error(`demo-server: no page in ${root}: run npm run build:demo first`);
    process.exit(2);
  }
  try {
    const server = await startDemoServer({ ...options, root });
    console.log(`image-introspect demo: ${server.url}`);
    console.log(options.connectTo.length === 0 ? 'uploads: none allowed (add --glance URL to allow a Glance endpoint)' : `uploads allowed to: ${options.connectTo.join(', ')}`);
    console.log('Ctrl+C to stop');
  } catch (error) {
    console.error(`demo-server: ${error.code === 'EADDRINUSE' ? `port ${options.port ?? DEFAULT_DEMO_PORT} is taken (use --port N, or --port 0 for any free port)` : error.message}`);
    process.exit(1);
  }
}
