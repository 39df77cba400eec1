/**
 * introspectFiles (image-introspect/node): paths and directories, walked lazily with
 * symbolic links followed, loops detected and skipped entries reported; each result the
 * same as introspectFile's answer for that path.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type IntrospectionError, type ManyResult } from '../src/index.js';
import { type SkippedEntry, introspectFile, introspectFiles } from '../src/node.js';
import { fixtureBytes } from './helpers/fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'image-introspect-files-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const root = join(work, 'store');
const put = (path: string, format: string, name: string) => {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, fixtureBytes(format, name));
};
put(join(root, 'a.qcow2'), 'qcow2', 'v3-empty.qcow2');
put(join(root, '.upload'), 'vmdk', 'stream.vmdk');
put(join(root, 'b', 'c.vhd'), 'vhd', 'dynamic-64M.vhd');
put(join(root, 'b', 'd', 'e.iso'), 'iso', 'genisoimage-plain.iso');
put(join(work, 'elsewhere', 'f.vdi'), 'vdi', 'dynamic.vdi');
symlinkSync(join(work, 'elsewhere', 'f.vdi'), join(root, 'link-to-f.vdi'));
symlinkSync(join(work, 'elsewhere'), join(root, 'b', 'link-to-elsewhere'));
symlinkSync(root, join(root, 'b', 'd', 'loop')); // back to the top: a loop
symlinkSync(join(root, 'b'), join(root, 'again-b')); // the same directory twice
symlinkSync('nowhere', join(root, 'dangling'));
const hasFifo = spawnSync('mkfifo', [join(root, 'pipe')]).status === 0;

async function run(paths: Parameters<typeof introspectFiles>[0], options: Parameters<typeof introspectFiles>[1] = {}) {
  const skipped: SkippedEntry[] = [];
  const results: Array<ManyResult<unknown, string>> = [];
  for await (const result of introspectFiles(paths, { ...options, onSkip: (entry) => skipped.push(entry) })) results.push(result);
  return { results, skipped, sources: results.map((result) => result.source).sort() };
}

describe('introspectFiles', () => {
  it('a directory: its regular files (dot-files and links to files included), the rest reported as skipped', async () => {
    const { sources, skipped } = await run(root);
    expect(sources).toEqual([join(root, '.upload'), join(root, 'a.qcow2'), join(root, 'link-to-f.vdi')].sort());
    const reasons = Object.fromEntries(skipped.map((entry) => [entry.path, entry.reason]));
    expect(reasons).toEqual({
      [join(root, 'again-b')]: 'directory',
      [join(root, 'b')]: 'directory',
      [join(root, 'dangling')]: 'dangling-link',
      ...(hasFifo ? { [join(root, 'pipe')]: 'special-file' } : {}),
    });
  });

  it('recursive: every file once, a loop and a directory reached twice reported, not walked again', async () => {
    const { sources, skipped } = await run(root, { recursive: true, concurrency: 3 });
    expect(sources).toEqual(
      [
        join(root, '.upload'),
        join(root, 'a.qcow2'),
        join(root, 'link-to-f.vdi'),
        join(root, 'again-b', 'c.vhd'),
        join(root, 'again-b', 'd', 'e.iso'),
        join(root, 'again-b', 'link-to-elsewhere', 'f.vdi'),
      ].sort(),
    );
    const reasons = skipped.map((entry) => `${entry.reason} ${entry.path}`).sort();
    expect(reasons).toEqual(
      [
        `revisited ${join(root, 'b')}`,
        `loop ${join(root, 'again-b', 'd', 'loop')}`,
        `dangling-link ${join(root, 'dangling')}`,
        ...(hasFifo ? [`special-file ${join(root, 'pipe')}`] : []),
      ].sort(),
    );
  });

  it('each result is what introspectFile says for that path, failures included', async () => {
    const broken = join(work, 'broken.vmdk');
    writeFileSync(broken, fixtureBytes('vmdk', 'sparse-ide.vmdk').subarray(0, 100));
    const missing = join(work, 'missing.img');
    const paths = [join(root, 'a.qcow2'), broken, missing, join(root, 'b', 'c.vhd')];
    const { results } = await run(paths, { concurrency: 2, expectedFormat: 'vhd' });
    expect(results.map((result) => result.index).sort()).toEqual([0, 1, 2, 3]);
    for (const result of results) {
      expect(result.source).toBe(paths[result.index]);
      const alone = await introspectFile(result.source, { expectedFormat: 'vhd' }).then(
        (info) => info.format,
        (error: IntrospectionError) => error.code,
      );
      expect(result.error?.code ?? (result.info as { format: string }).format).toBe(alone);
    }
    expect(results.find((result) => result.source === missing)?.error?.code).toBe('SOURCE_ERROR');
  });

  it('takes an async iterable of paths, lazily', async () => {
    let pulled = 0;
    async function* paths() {
      for (let index = 0; index < 10_000; index += 1) {
        pulled += 1;
        yield join(root, 'a.qcow2');
      }
    }
    let seen = 0;
    for await (const result of introspectFiles(paths(), { concurrency: 2 })) {
      expect(result.error).toBeUndefined();
      seen += 1;
      if (seen === 10) break;
    }
    expect(pulled).toBeLessThanOrEqual(10 + 2 + 1);
  });

  it('a directory that cannot be listed is a result with SOURCE_ERROR, and the rest goes on', async () => {
    if (process.getuid?.() === 0) {
      console.warn('running as root, which can list any directory: this test is skipped');
      return;
    }
    const locked = join(work, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0);
    try {
      const { results } = await run([locked, join(root, 'a.qcow2')]);
      expect(results.find((result) => result.source === locked)?.error?.code).toBe('SOURCE_ERROR');
      expect(results.find((result) => result.source === join(root, 'a.qcow2'))?.error).toBeUndefined();
    } finally {
      chmodSync(locked, 0o700);
    }
  });

  it('rejects a list that is not of paths with INVALID_ARGUMENT', async () => {
    let error: IntrospectionError | undefined;
    try {
      for await (const _ of introspectFiles([42 as unknown as string])) {
        // nothing
      }
    } catch (caught) {
      error = caught as IntrospectionError;
    }
    expect(error?.code).toBe('INVALID_ARGUMENT');
  });
});
