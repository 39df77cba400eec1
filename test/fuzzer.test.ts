/**
 * The fuzzer itself (scripts/fuzz.mjs), briefly: against a library with a planted bug it
 * must find the bug, minimise the input and save it. (Runs against the real library are
 * `npm run fuzz`; CI runs one for 30 seconds.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from './helpers/fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'image-introspect-fuzzer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const dist = pathToFileURL(join(projectRoot, 'dist', 'index.js')).href;

function fuzz(...args: string[]) {
  return spawnSync(process.execPath, [join(projectRoot, 'scripts', 'fuzz.mjs'), '--quiet', '--no-coverage', ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('the fuzzer', () => {
  it('finds a planted bug, minimises the input and saves a reproducer', async () => {
    const buggy = join(work, 'buggy.mjs');
    writeFileSync(
      buggy,
      `import * as real from ${JSON.stringify(dist)};
export const isIntrospectionError = real.isIntrospectionError;
export async function introspect(source, options) {
  const info = await real.introspect(source, options);
  if (info.format === 'vmdk' && info.virtualSize % 65536 !== 0) throw new TypeError('planted');
  return info;
}
`,
    );
    const out = join(work, 'found');
    const result = fuzz('--seconds', '5', '--seed', '5', '--format', 'vmdk', '--library', buggy, '--out', out);
    expect(result.status, result.stderr).toBe(1);
    const summary = JSON.parse(result.stdout) as { failures: Array<{ code: string; message: string; bytes: number }> };
    expect(summary.failures[0]).toMatchObject({ code: 'NOT_AN_INTROSPECTION_ERROR', message: 'TypeError: planted' });
    const saved = readdirSync(out).filter((file) => file.endsWith('.bin'));
    expect(saved.length).toBe(1);
    // The reproducer still triggers the bug, and is small.
    const bytes = new Uint8Array(readFileSync(join(out, saved[0] as string)));
    const { introspect } = (await import(pathToFileURL(buggy).href)) as { introspect: (source: Uint8Array) => Promise<unknown> };
    await expect(introspect(bytes)).rejects.toThrow('planted');
    expect(bytes.byteLength).toBeLessThan(64 * 1024);
  });
});
