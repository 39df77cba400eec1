/**
 * The codecs in a real browser: Debian's Chromium (playwright-core) runs a page whose
 * Content-Security-Policy forbids `eval` (and so WebAssembly), decodes what `gzip`, `xz`,
 * `zstd` and `bzip2` made of the same bytes, 999 bytes written at a time (through
 * `decodeChunks`), and hashes the
 * output with `crypto.subtle`; every hash must be the original's. Skipped, saying why,
 * without Chromium or the tools.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { EVAL_PROBE } from '../helpers/browser-bundle.js';
import { projectRoot } from '../helpers/fixtures.js';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const tools = { gzip: ['gzip', '-c'], xz: ['xz', '-c', '--check=sha256'], zstd: ['zstd', '-q', '-c'], bzip2: ['bzip2', '-c'] } as const;
const missing = [...(existsSync(executablePath) ? [] : [executablePath]), ...Object.values(tools).map(([tool]) => tool).filter((tool) => spawnSync(tool, ['--help']).error !== undefined)];

/** The page's script: decodes every input with its codec, leaves SHA-256 hex digests in `window.results`. */
const pageScript = `
(async () => {
  const results = {};
  ${EVAL_PROBE}
  const decode = (text) => Uint8Array.from(atob(text), (character) => character.charCodeAt(0));
  for (const [name, create] of Object.entries(window.Codecs.factories)) {
    try {
      const compressed = decode(document.getElementById(name).textContent);
      const pieces = [];
      for (let offset = 0; offset < compressed.length; offset += 999) pieces.push(compressed.subarray(offset, offset + 999));
      const parts = [];
      for await (const part of window.Codecs.decodeChunks(await create(), pieces)) parts.push(part);
      const output = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
      let at = 0;
      for (const part of parts) { output.set(part, at); at += part.length; }
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', output));
      results[name] = Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
    } catch (error) {
      results[name] = 'error: ' + String(error && error.stack || error);
    }
  }
  window.results = results;
})();`;

describe.skipIf(missing.length > 0)(`codecs in Chromium under a strict Content-Security-Policy${missing.length > 0 ? ` (skipped: ${missing.join(', ')} missing)` : ''}`, () => {
  it('decodes gzip, xz, zstd and bzip2 to the original bytes, with eval blocked', async () => {
    // Text and zeros and a counter: a few hundred KiB that every codec compresses in its usual way.
    const original = new Uint8Array(300_000);
    const text = new TextEncoder().encode('image-introspect reads disk images through compression. ');
    for (let offset = 0; offset < 100_000; offset += 1) original[offset] = text[offset % text.length] as number;
    for (let offset = 200_000; offset < original.length; offset += 1) original[offset] = (offset * 2654435761) >>> 24;
    const inputs = Object.fromEntries(Object.entries(tools).map(([name, [command, ...args]]) => [name, spawnSync(command, args, { input: original }).stdout.toString('base64')]));
    const entry = `export { decodeChunks } from ${JSON.stringify(join(projectRoot, 'containers/codecs/codec.ts'))};
    export const factories = {
      gzip: (await import(${JSON.stringify(join(projectRoot, 'containers/codecs/gzip.ts'))})).createGzipDecoder,
      xz: (await import(${JSON.stringify(join(projectRoot, 'containers/codecs/xz.ts'))})).createXzDecoder,
      zstd: (await import(${JSON.stringify(join(projectRoot, 'containers/codecs/zstd.ts'))})).createZstdDecoder,
      bzip2: (await import(${JSON.stringify(join(projectRoot, 'containers/codecs/bzip2.ts'))})).createBzip2Decoder,
    };`;
    const bundle = await build({
      stdin: { contents: entry, resolveDir: projectRoot, loader: 'ts' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    });
    // The bundle ends in \`export { a as decodeChunks, b as factories };\`: hand both to the page instead.
    const script = (bundle.outputFiles[0]?.text ?? '').replace(/export\s*\{([^}]*)\};?\s*$/, (_, names: string) => {
      const bindings = names.split(',').map((name) => name.trim().split(/\s+as\s+/)).map(([local, exported]) => `${exported ?? local}: ${local}`);
      return `window.Codecs = { ${bindings.join(', ')} };`;
    });
    expect(script).toContain('window.Codecs');
    const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    try {
      const page = await (await browser.newContext()).newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      const html = `<!doctype html><html><head><title>codecs</title></head><body>
${Object.entries(inputs).map(([name, data]) => `<script type="application/octet-stream" id="${name}">${data}</script>`).join('\n')}
<script type="module">${script.replaceAll('</script', '<\\/script')}\n${pageScript}</script></body></html>`;
      await page.route('https://codecs.test/', (route) =>
        route.fulfill({ status: 200, contentType: 'text/html', headers: { 'Content-Security-Policy': "default-src 'none'; script-src 'unsafe-inline'" }, body: html }),
      );
      await page.goto('https://codecs.test/');
      await page.waitForFunction(() => (window as unknown as { results?: unknown }).results !== undefined, undefined, { timeout: 120_000 });
      const results = (await page.evaluate(() => (window as unknown as { results: unknown }).results)) as Record<string, unknown>;
      expect(errors).toEqual([]);
      const expected = createHash('sha256').update(original).digest('hex');
      expect(results).toEqual({ evalBlocked: true, gzip: expected, xz: expected, zstd: expected, bzip2: expected });
    } finally {
      await browser.close();
    }
  }, 300_000);
});
