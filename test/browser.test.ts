/**
 * The built library in a real browser (Debian's Chromium, driven by playwright-core), on a
 * page served with a Content-Security-Policy that forbids `eval` and `new Function`: the
 * page's own script introspects a `Blob`, a web `ReadableStream`, and passes an upload
 * through. Skipped, saying why, when no Chromium is installed (.ci/run installs it).
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVAL_PROBE, browserBundle } from './helpers/browser-bundle.js';
import { fixtureBytes } from './helpers/fixtures.js';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(executablePath);
const vmdk = fixtureBytes('vmdk', 'stream.vmdk');
const qcow2 = fixtureBytes('qcow2', 'backing-raw.qcow2');
const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** The page's own script: runs the library and leaves its findings in `window.results`. */
const pageScript = `
(async () => {
  const decode = (text) => Uint8Array.from(atob(text), (character) => character.charCodeAt(0));
  const results = {};
  ${EVAL_PROBE}
  try {
    const library = window.ImageIntrospect;
    const fromBlob = await library.introspect(new Blob([decode(document.getElementById('vmdk').textContent)]));
    results.blob = { format: fromBlob.format, virtualSize: fromBlob.virtualSize, createType: fromBlob.details.createType };
    const bytes = decode(document.getElementById('qcow2').textContent);
    const stream = new ReadableStream({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 1000) controller.enqueue(bytes.slice(offset, offset + 1000));
        controller.close();
      },
    });
    const fromStream = await library.introspect(stream);
    results.stream = { format: fromStream.format, safe: fromStream.safety.safe, backing: fromStream.details.backingFile };
    const { stream: passed, result } = library.inspect(new Blob([bytes]));
    const reader = library.toReadableStream(passed).getReader();
    let total = 0;
    for (;;) {
      const step = await reader.read();
      if (step.done) break;
      total += step.value.byteLength;
    }
    results.passed = total;
    results.inspected = (await result).format;
  } catch (error) {
    results.error = String(error && error.stack || error);
  }
  results.agent = navigator.userAgent;
  window.results = results;
})();`;

describe.skipIf(!hasChromium)(`in Chromium under a strict Content-Security-Policy${hasChromium ? '' : ` (skipped: no browser at ${executablePath}; apt-get install chromium)`}`, () => {
  let browser: Browser;
  let bundle: string;

  beforeAll(async () => {
    bundle = (await browserBundle()).code;
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('runs the library: a Blob, a web ReadableStream, the pass-through; eval is blocked', async () => {
    const page = await (await browser.newContext()).newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const html = `<!doctype html><html><head><title>image-introspect</title></head><body>
<script type="application/octet-stream" id="vmdk">${base64(vmdk)}</script>
<script type="application/octet-stream" id="qcow2">${base64(qcow2)}</script>
<script>${bundle.replaceAll('</script', '<\\/script')}</script>
<script>${pageScript}</script></body></html>`;
    await page.route('https://image-introspect.test/', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'text/html',
        headers: { 'Content-Security-Policy': "default-src 'none'; script-src 'unsafe-inline'" },
        body: html,
      }),
    );
    await page.goto('https://image-introspect.test/');
    await page.waitForFunction(() => (window as unknown as { results?: unknown }).results !== undefined, undefined, { timeout: 30_000 });
    const results = (await page.evaluate(() => (window as unknown as { results: unknown }).results)) as Record<string, unknown>;
    expect(errors).toEqual([]);
    expect(results.error).toBeUndefined();
    expect(results.evalBlocked).toBe(true);
    expect(results.blob).toEqual({ format: 'vmdk', virtualSize: 4194304, createType: 'streamOptimized' });
    expect(results.stream).toMatchObject({ format: 'qcow2', safe: false });
    expect(results.passed).toBe(qcow2.byteLength);
    expect(results.inspected).toBe('qcow2');
    expect(results.agent).toMatch(/Chrome/);
  });
});
