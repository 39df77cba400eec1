/**
 * The built package (dist/, made by `npm run build`, which `npm test` runs first): what a
 * user installs. Checks the Content-Security-Policy guarantee, the browser guarantee, both
 * module systems and every subpath export.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { browserBundle } from './helpers/browser-bundle.js';
import { fixtureBytes, projectRoot } from './helpers/fixtures.js';

const dist = join(projectRoot, 'dist');
const require = createRequire(import.meta.url);
const packageJson = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
};
const sparse = fixtureBytes('vmdk', 'sparse-ide.vmdk');

function distFiles(): string[] {
  const files: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(folder, entry.name));
      else if (/\.(c?js)$/.test(entry.name)) files.push(join(folder, entry.name));
    }
  };
  walk(dist);
  return files;
}

describe('dist/', () => {
  it('exists (npm run build)', () => {
    expect(existsSync(join(dist, 'index.js')), 'run npm run build first').toBe(true);
  });

  it('never calls new Function or eval (strict Content-Security-Policy)', () => {
    const offenders = distFiles().filter((file) => /new Function\s*\(|\beval\s*\(/.test(readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
    // The check itself: it would catch binary-parser's runtime compiler.
    expect(/new Function\s*\(/.test(readFileSync(require.resolve('binary-parser'), 'utf8'))).toBe(true);
  });

  it('ships no binary-parser: the parsers are compiled at build time', () => {
    const offenders = distFiles().filter((file) => readFileSync(file, 'utf8').includes('binary-parser'));
    expect(offenders).toEqual([]);
  });
});

describe('module systems', () => {
  it('loads as ESM and as CommonJS, and the error guard works across the two copies', async () => {
    const esm = (await import(pathToFileURL(join(dist, 'index.js')).href)) as typeof import('../src/index.js');
    const cjs = require(join(dist, 'index.cjs')) as typeof import('../src/index.js');
    const fromCjs = await cjs.introspect(sparse.subarray(0, 100)).catch((error: unknown) => error);
    const fromEsm = await esm.introspect(sparse.subarray(0, 100)).catch((error: unknown) => error);
    expect(esm.isIntrospectionError(fromCjs)).toBe(true);
    expect(cjs.isIntrospectionError(fromEsm)).toBe(true);
    expect(fromCjs instanceof esm.IntrospectionError).toBe(false); // why the guard exists
    expect((await esm.introspect(sparse)).format).toBe('vmdk');
    expect((await cjs.introspect(sparse)).format).toBe('vmdk');
  });

  it('an error from the Node helper is an instance of the root export (one copy of the core)', async () => {
    const root = (await import(pathToFileURL(join(dist, 'index.js')).href)) as typeof import('../src/index.js');
    const node = (await import(pathToFileURL(join(dist, 'node.js')).href)) as typeof import('../src/node.js');
    const error = await node.introspectFile('/nonexistent.img').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(root.IntrospectionError);
  });

  it('resolves every subpath export, in both module systems', async () => {
    for (const subpath of Object.keys(packageJson.exports)) {
      if (subpath === './package.json') continue;
      const specifier = `image-introspect${subpath.slice(1)}`;
      const esm = (await import(specifier)) as Record<string, unknown>;
      const cjs = require(specifier) as Record<string, unknown>;
      expect(Object.keys(esm).length, specifier).toBeGreaterThan(0);
      expect(Object.keys(cjs).sort(), specifier).toEqual(Object.keys(esm).sort());
      const format = /^\.\/formats\/(.+)$/.exec(subpath)?.[1];
      if (format) expect((esm[format] as { name: string }).name).toBe(format);
    }
  });
});

describe('browsers', () => {
  it('bundles the root entry for the browser platform with no Node built-ins', async () => {
    const { errors, code } = await browserBundle();
    expect(errors).toEqual([]);
    // An import of a Node built-in is a quoted `node:` specifier (the word alone is common: a tree's node).
    expect(code).not.toMatch(/\brequire\(|["'`]node:|\bBuffer\b|\bprocess\./);
  });

  it('runs in a realm with only web APIs (no process, Buffer or require)', async () => {
    const context = vm.createContext({ TextDecoder, TextEncoder, ReadableStream, Blob, AbortController, console });
    vm.runInContext((await browserBundle()).code, context);
    const bytes = vm.runInContext('new Uint8Array(input.length)', Object.assign(context, { input: sparse })) as Uint8Array;
    bytes.set(sparse);
    context.bytes = bytes;
    const info = (await vm.runInContext(
      'ImageIntrospect.introspect(new Blob([bytes])).then((info) => ({ format: info.format, virtualSize: info.virtualSize, adapter: info.details.adapterType }))',
      context,
    )) as { format: string; virtualSize: number; adapter: string };
    expect(info).toEqual({ format: 'vmdk', virtualSize: 67108864, adapter: 'ide' });
    expect(vm.runInContext('typeof process + typeof Buffer + typeof require', context)).toBe('undefinedundefinedundefined');
  });
});
