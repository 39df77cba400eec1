#!/usr/bin/env node
/**
 * Builds the demo page (`web/`) into a static folder, publishable as it is (GitHub Pages,
 * any static host): `index.html`, `style.css`, `favicon.svg`, `main.js` (the page),
 * `worker.js` (the library, in a module worker), `chunks/` (code shared by the two, and the
 * codecs, which load only when a file needs them: a qcow2 never loads the xz decoder).
 *
 *   node scripts/build-demo.mjs [--out DIR] [--docs-base URL]
 *
 * `--docs-base` (or `DEMO_DOCS_BASE`) is where the page links the documentation (the safety
 * checks, the Glance properties); default: the repository's `docs/` on GitHub when
 * package.json names the repository, else a copy of those pages next to the page.
 *
 * Prints every file with its size, raw and gzipped, and what the page loads before any file
 * is picked.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where `npm run build:demo` writes the page. */
export const DEFAULT_DEMO_OUT = join(projectRoot, 'dist-demo');
const SOURCE = join(projectRoot, 'web');
/** The documentation pages the page links to. */
const LINKED_DOCS = ['safety.md', 'glance.md', 'demo.md'];
/** Files copied as they are. */
const STATIC_FILES = ['style.css', 'favicon.svg'];

/** `https://github.com/OWNER/REPO/blob/main/docs/` from package.json's `repository`, if it names a GitHub repository. */
function repositoryDocsBase() {
  const manifest = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8'));
  const repository = typeof manifest.repository === 'string' ? manifest.repository : manifest.repository?.url;
  const match = typeof repository === 'string' ? /github(?:\.com[/:]|:)([\w.-]+\/[\w.-]+?)(?:\.git)?$/.exec(repository) : null;
  return match ? `https://github.com/${match[1]}/blob/main/docs/` : undefined;
}

/**
 * Builds the page into `outdir` (emptied first). Returns every file written with its size
 * raw and gzipped, and which of them load with the page (`initial`), with the worker
 * (`worker`), or only when a file needs them (`lazy`), and for an entry or a dynamic import
 * the source module it starts from (`containers/codecs/lzma2.ts`).
 */
export async function buildDemo({ outdir = DEFAULT_DEMO_OUT, docsBase = process.env.DEMO_DOCS_BASE ?? repositoryDocsBase(), minify = true } = {}) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  // Two builds: the page alone (one file, nothing shared), and the worker with its chunks
  // (code splitting keeps each codec's dynamic import a file of its own).
  const common = { absWorkingDir: projectRoot, bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify, outdir, metafile: true, logLevel: 'warning' };
  // Module workers: Chromium 80, Safari 15, Firefox 114; BigInt and the rest of ES2022 everywhere there.
  const page = await build({ ...common, entryPoints: { main: join(SOURCE, 'main.ts') } });
  const library = await build({ ...common, entryPoints: { worker: join(SOURCE, 'worker.ts') }, splitting: true, chunkNames: 'chunks/[name]-[hash]' });

  const base = docsBase ?? 'docs/';
  if (docsBase === undefined) {
    mkdirSync(join(outdir, 'docs'));
    for (const page of LINKED_DOCS) copyFileSync(join(projectRoot, 'docs', page), join(outdir, 'docs', page));
  }
  writeFileSync(join(outdir, 'index.html'), readFileSync(join(SOURCE, 'index.html'), 'utf8').replaceAll('%DOCS_BASE%', base));
  for (const file of STATIC_FILES) copyFileSync(join(SOURCE, file), join(outdir, file));
  // GitHub Pages: serve the folder as it is (no Jekyll).
  writeFileSync(join(outdir, '.nojekyll'), '');

  // What loads when: main.js and what it imports, worker.js and its static imports, and the
  // rest (dynamic imports: the codecs), each named by the source module it starts from.
  const outputs = { ...page.metafile.outputs, ...library.metafile.outputs };
  const name = (path) => relative(outdir, join(projectRoot, path));
  const closure = (entry) => {
    const seen = new Set();
    const visit = (path) => {
      if (path === undefined || seen.has(path)) return;
      seen.add(path);
      for (const imported of outputs[path]?.imports ?? []) if (imported.kind === 'import-statement') visit(imported.path);
    };
    visit(Object.keys(outputs).find((path) => name(path) === entry));
    return new Set([...seen].map(name));
  };
  const initial = closure('main.js');
  const worker = closure('worker.js');
  const files = Object.entries(outputs).map(([path, output]) => {
    const bytes = readFileSync(join(projectRoot, path));
    const file = name(path);
    return {
      file,
      bytes: bytes.length,
      gzipBytes: gzipSync(bytes, { level: 9 }).length,
      loads: initial.has(file) ? 'initial' : worker.has(file) ? 'worker' : 'lazy',
      ...(output.entryPoint === undefined ? {} : { source: output.entryPoint }),
    };
  });
  return { outdir, docsBase: base, files };
}

function parseArguments(argv) {
  const options = {};
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index];
    if (argument === '--out') options.outdir = argv[++index];
    else if (argument === '--docs-base') options.docsBase = argv[++index];
    else throw new Error(`unknown argument ${argument} (usage: build-demo.mjs [--out DIR] [--docs-base URL])`);
  }
  return options;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { outdir, docsBase, files } = await buildDemo(parseArguments(process.argv.slice(2)));
  const kib = (count) => `${(count / 1024).toFixed(1)} KiB`;
  for (const file of files.sort((left, right) => left.loads.localeCompare(right.loads) || left.file.localeCompare(right.file))) {
    console.log(`${file.file.padEnd(36)} ${kib(file.bytes).padStart(10)} ${kib(file.gzipBytes).padStart(10)} gzipped  ${file.loads}`);
  }
  const total = (loads) => files.filter((file) => file.loads === loads).reduce((sum, file) => sum + file.gzipBytes, 0);
  console.log(`page ${kib(total('initial'))} + worker ${kib(total('worker'))} gzipped at load; codecs ${kib(total('lazy'))} gzipped when needed`);
  console.log(`built ${relative(process.cwd(), outdir) || '.'}/ (documentation links: ${docsBase})`);
}
