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

  it('counts a run that times out only when it also times out with decoding capped (a thousandfold gzip is bounded by maxDecompressedBytes)', () => {
    // A planted stall standing for a decompression bomb: it ends once decoding is capped, or never.
    const plant = (name: string, endsWhenCapped: boolean) => {
      const path = join(work, name);
      writeFileSync(
        path,
        // (Only in the fuzzer's worker: its main thread labels the seeds with the same library.)
        `import { isMainThread } from 'node:worker_threads';
import * as real from ${JSON.stringify(dist)};
export const isIntrospectionError = real.isIntrospectionError;
export async function introspect(source, options) {
  const info = await real.introspect(source, options);
  if (!isMainThread && info.format === 'vmdk' && (${!endsWhenCapped} || options?.maxDecompressedBytes === undefined)) await new Promise(() => {});
  return info;
}
`,
      );
      return path;
    };
    const bounded = fuzz('--seconds', '3', '--seed', '6', '--format', 'vmdk', '--timeout-ms', '500', '--library', plant('bounded.mjs', true), '--out', join(work, 'bounded'));
    expect(bounded.status, bounded.stderr).toBe(0);
    const boundedSummary = JSON.parse(bounded.stdout) as { inputs: number; failures: unknown[] };
    expect(boundedSummary.inputs).toBeGreaterThan(0);
    expect(boundedSummary.failures).toEqual([]);
    const hangs = fuzz('--seconds', '3', '--seed', '6', '--format', 'vmdk', '--timeout-ms', '500', '--minimise-seconds', '2', '--library', plant('hangs.mjs', false), '--out', join(work, 'hangs'));
    expect(hangs.status, hangs.stderr).toBe(1);
    expect((JSON.parse(hangs.stdout) as { failures: Array<{ code: string }> }).failures[0]?.code).toBe('TIMEOUT');
  });
});
