/**
 * The root `introspectUrl` in a real browser (Debian's Chromium, driven by playwright-core):
 * a page on one origin reads an image from a server on another origin, as docs/remote.md
 * says CORS must allow it (the preflight for Range, If-Range and a token header, and
 * Content-Range exposed), and gets what Node gets from the same bytes. Skipped, saying why,
 * when no Chromium is installed.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspect } from '../../src/index.js';
import { fixtureBytes, projectRoot } from '../helpers/fixtures.js';
import { type RangeServer, startRangeServer } from '../helpers/range-server.mjs';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(executablePath);

/** The page's script: introspects each URL of `window.urls` with the library's root introspectUrl. */
const pageScript = `
(async () => {
  const results = [];
  for (const url of window.urls) {
    try {
      const info = await window.ImageIntrospect.introspectUrl(url, { urlFilter: 'permissive', headers: { 'X-Auth-Token': 'token-1' } });
      results.push({ info: JSON.parse(JSON.stringify(info)) });
    } catch (error) {
      results.push({ code: error.code, message: String(error.message) });
    }
  }
  window.results = results;
})();`;

describe.skipIf(!hasChromium)(`introspectUrl in Chromium, across origins${hasChromium ? '' : ` (skipped: no browser at ${executablePath}; apt-get install chromium)`}`, () => {
  let browser: Browser;
  let bundle: string;
  let server: RangeServer;
  const image = fixtureBytes('qcow2', 'backing-raw.qcow2');

  beforeAll(async () => {
    server = await startRangeServer();
    server.add('disk.qcow2', image);
    const result = await build({ entryPoints: [join(projectRoot, 'dist', 'index.js')], bundle: true, platform: 'browser', format: 'iife', globalName: 'ImageIntrospect', write: false, logLevel: 'silent' });
    bundle = result.outputFiles[0]?.text ?? '';
    browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('reads by ranges where CORS allows it, and says what is missing where Content-Range is not exposed', async () => {
    const page = await (await browser.newContext()).newPage();
    // The page comes from a server of its own (another port: another origin), so every request for the image is cross-origin.
    const urls = [server.at('cors', 'disk.qcow2'), server.at('cors-unexposed', 'disk.qcow2')];
    const html = `<!doctype html><html><body><script>window.urls = ${JSON.stringify(urls)};</script><script>${bundle.replaceAll('</script', '<\\/script')}</script><script>${pageScript}</script></body></html>`;
    const pages = createServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'text/html' });
      response.end(html);
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    server.reset();
    try {
      await page.goto(`http://127.0.0.1:${(pages.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => (window as unknown as { results?: unknown }).results !== undefined, undefined, { timeout: 60_000 });
    } finally {
      pages.close();
    }
    const [allowed, unexposed] = (await page.evaluate(() => (window as unknown as { results: unknown }).results)) as Array<{ info?: Record<string, unknown>; code?: string; message?: string }>;

    expect(allowed, 'the page read the image').toEqual({ info: expect.anything() });
    const expected = JSON.parse(JSON.stringify(await introspect(image))) as Record<string, unknown>;
    expect({ ...allowed?.info, bytesRead: undefined }).toEqual({ ...expected, bytesRead: undefined });
    const allowedLog = server.log.filter((entry) => entry.path.startsWith('/cors/'));
    // The token header makes the browser ask first; then only GETs with Range, carrying the token.
    expect(allowedLog[0]?.method).toBe('OPTIONS');
    const gets = allowedLog.filter((entry) => entry.method === 'GET');
    expect(gets.length).toBeGreaterThan(0);
    expect(gets.every((entry) => entry.range !== undefined && entry.headers['x-auth-token'] === 'token-1')).toBe(true);
    expect(allowedLog.some((entry) => entry.method === 'HEAD')).toBe(false);

    expect(unexposed).toMatchObject({ code: 'SOURCE_ERROR' });
    expect(unexposed?.message).toMatch(/Access-Control-Expose-Headers/);
  });
});
