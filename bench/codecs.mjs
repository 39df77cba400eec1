#!/usr/bin/env node
// Micro-benchmark of the streaming codecs (containers/codecs/) against the candidates they
// were chosen over. Not part of CI or `npm run bench`.
//
//   node bench/codecs.mjs [--runs N] [--candidates DIR] [--only gzip,xz,zstd,bzip2] [--skip PACKAGE,...] [--sizes]
//
// Input: a 64 MiB raw image made by qemu-img (16 MiB of pseudo-random bytes, 24 MiB of
// text and code from node_modules, the rest zeros), compressed by the real gzip -6, xz -6,
// zstd -3 and bzip2 -9 (cached under the temp directory). Each decoder decodes the whole
// file, fed 64 KiB at a time where it streams; the bench checks the SHA-256 of the output.
// MB/s is decoded MiB per CPU second of this process (user + system, process.cpuUsage), so
// that a busy machine slows the wall clock but not the figure; the native tools' CPU time
// is their own (bash `times`). Median of --runs runs (default 3).
//
// Candidates other than this project's dependencies are loaded from --candidates DIR (a
// node_modules folder where they were installed, e.g. `npm install --prefix /tmp/cand
// fflate xz-decompress zstddec @bokuweb/zstd-wasm seek-bzip bz2 compressjs`); missing ones
// are skipped. --sizes prints the minified+gzipped size of each codec module and its
// decoder as esbuild bundles them (the entry, and the chunk its dynamic import loads).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync, gunzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const index = argv.indexOf(name);
  return index < 0 ? fallback : argv[index + 1];
};
const runs = Number(option('--runs', '3'));
const candidatesDir = option('--candidates', undefined);
const only = option('--only', 'gzip,xz,zstd,bzip2').split(',');
const skip = option('--skip', '').split(',');
const work = join(tmpdir(), 'image-introspect-bench-codecs');
mkdirSync(work, { recursive: true });

const esbuild = await import('esbuild');

/** Bundles the codec modules (TypeScript) into one ESM file this script can import. */
async function loadCodecs() {
  const entry = join(work, 'codecs-entry.ts');
  writeFileSync(
    entry,
    ['gzip', 'xz', 'zstd', 'bzip2', 'deflate', 'codec'].map((name) => `export * from ${JSON.stringify(join(root, 'containers/codecs', `${name}.ts`))};`).join('\n'),
  );
  const outfile = join(work, 'codecs.mjs');
  await esbuild.build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile, logLevel: 'warning', nodePaths: [join(root, 'node_modules')] });
  return import(pathToFileURL(outfile).href + `?${Date.now()}`);
}

function candidate(name) {
  const places = [join(root, 'node_modules'), ...(candidatesDir ? [candidatesDir] : [])];
  for (const place of places) {
    const require = createRequire(join(place, 'noop.js'));
    try {
      return { path: require.resolve(name), require };
    } catch {
      // not installed there
    }
  }
  return undefined;
}

async function importCandidate(name) {
  if (skip.includes(name)) return undefined;
  const found = candidate(name);
  if (found === undefined) return undefined;
  try {
    return await import(pathToFileURL(found.path).href);
  } catch {
    return found.require(name);
  }
}

function makeImage() {
  const path = join(work, 'disk.raw');
  if (existsSync(path)) return new Uint8Array(readFileSync(path));
  const made = spawnSync('qemu-img', ['create', '-q', '-f', 'raw', path, '64M']);
  if (made.status !== 0) throw new Error(`qemu-img create failed: ${made.stderr}`);
  const image = new Uint8Array(readFileSync(path));
  let seed = 0x9e3779b9;
  for (let index = 4 << 20; index < 20 << 20; index += 1) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    image[index] = seed & 0xff;
  }
  const texts = [];
  let length = 0;
  const walk = (folder) => {
    for (const name of readdirSync(folder)) {
      if (length >= 24 << 20) return;
      const full = join(folder, name);
      const stat = statSync(full);
      if (stat.isDirectory()) walk(full);
      else if (/\.(js|ts|md|json)$/.test(name) && stat.size < 4 << 20) {
        texts.push(readFileSync(full));
        length += stat.size;
      }
    }
  };
  walk(join(root, 'node_modules'));
  let offset = 24 << 20;
  for (const text of texts) {
    const part = text.subarray(0, Math.min(text.byteLength, (48 << 20) - offset));
    image.set(part, offset);
    offset += part.byteLength;
    if (offset >= 48 << 20) break;
  }
  writeFileSync(path, image);
  return image;
}

function compressed(name, args) {
  const path = join(work, `disk.raw.${name}`);
  if (!existsSync(path)) {
    const result = spawnSync('bash', ['-c', `${args} < disk.raw > ${JSON.stringify(path)}`], { cwd: work });
    if (result.status !== 0) throw new Error(`${args} failed: ${result.stderr}`);
  }
  return { path, bytes: new Uint8Array(readFileSync(path)) };
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** Runs `decode` (which returns the decoded bytes or a hash) `runs` times; median CPU time. */
async function measure(label, outputBytes, expectedHash, decode) {
  const times = [];
  const walls = [];
  for (let run = 0; run < runs; run += 1) {
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    let hash;
    try {
      hash = await decode();
    } catch (error) {
      console.log(`  ${label.padEnd(44)} failed: ${error?.message ?? error}`);
      return;
    }
    const cpu = process.cpuUsage(cpuBefore);
    walls.push(performance.now() - wallBefore);
    times.push((cpu.user + cpu.system) / 1e6);
    if (hash !== expectedHash) {
      console.log(`  ${label.padEnd(44)} WRONG OUTPUT`);
      return;
    }
  }
  report(label, outputBytes, times, walls.map((wall) => wall / 1000));
}

function report(label, outputBytes, times, walls) {
  const median = (values) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const cpu = median(times);
  console.log(`  ${label.padEnd(44)} ${(outputBytes / 2 ** 20 / cpu).toFixed(1).padStart(7)} MB/s   (cpu ${cpu.toFixed(2)} s, wall ${median(walls).toFixed(2)} s)`);
}

function nativeTool(label, command, path, outputBytes) {
  const times = [];
  const walls = [];
  for (let run = 0; run < runs; run += 1) {
    const start = performance.now();
    const result = spawnSync('bash', ['-c', `${command} < ${JSON.stringify(path)} > /dev/null; times`], { encoding: 'utf8' });
    walls.push((performance.now() - start) / 1000);
    const lines = result.stdout.trim().split('\n');
    const [user, system] = (lines.at(-1) ?? '').split(/\s+/).map((value) => {
      const match = /(\d+)m([\d.]+)s/.exec(value);
      return match ? Number(match[1]) * 60 + Number(match[2]) : 0;
    });
    times.push(user + system);
  }
  report(label, outputBytes, times, walls);
}

/** Hash of everything a StreamDecoder produces from `bytes` fed in 64 KiB writes (through the codecs' own driver, decodeChunks). */
async function throughOurs(factory, bytes) {
  const hash = createHash('sha256');
  const pieces = function* () {
    for (let offset = 0; offset < bytes.byteLength; offset += 65536) yield bytes.subarray(offset, offset + 65536);
  };
  for await (const chunk of codecs.decodeChunks(await factory(), pieces())) hash.update(chunk);
  return hash.digest('hex');
}

/** Pushes 64 KiB pieces into an fflate/fzstd-style streaming class with an ondata callback. */
function throughPushStream(create, bytes, piece = 65536) {
  const hash = createHash('sha256');
  const stream = create((chunk) => hash.update(chunk));
  for (let offset = 0; offset < bytes.byteLength; offset += piece) stream.push(bytes.subarray(offset, offset + piece), offset + piece >= bytes.byteLength);
  return hash.digest('hex');
}

async function throughWebStream(transform, bytes) {
  const hash = createHash('sha256');
  for await (const chunk of new Blob([bytes]).stream().pipeThrough(transform)) hash.update(chunk);
  return hash.digest('hex');
}

async function sizes() {
  console.log('\nBundle sizes (esbuild, minified, then gzip -9), per codec module:');
  const names = ['deflate', 'gzip', 'xz', 'zstd', 'bzip2'];
  for (const name of names) {
    const entry = join(work, `size-${name}.ts`);
    const factory = { deflate: 'createDeflateRawDecoder', gzip: 'createGzipDecoder', xz: 'createXzDecoder', zstd: 'createZstdDecoder', bzip2: 'createBzip2Decoder' }[name];
    writeFileSync(entry, `export { ${factory} } from ${JSON.stringify(join(root, 'containers/codecs', `${name}.ts`))};`);
    const result = await esbuild.build({ entryPoints: [entry], bundle: true, splitting: true, format: 'esm', platform: 'neutral', minify: true, write: false, outdir: join(work, 'sizes'), logLevel: 'silent', nodePaths: [join(root, 'node_modules')] });
    const parts = result.outputFiles.map((file) => ({ name: file.path.split('/').at(-1), raw: file.contents.byteLength, gz: gzipSync(file.contents, { level: 9 }).byteLength }));
    const total = parts.reduce((sum, part) => sum + part.gz, 0);
    console.log(`  ${name.padEnd(8)} ${String(total).padStart(6)} B gz in all: ${parts.map((part) => `${part.name} ${part.raw} B (${part.gz} B gz)`).join(', ')}`);
  }
}

const codecs = await loadCodecs();
if (argv.includes('--sizes')) await sizes();
const image = makeImage();
const imageHash = sha256(image);
console.log(`\nDecoding a ${image.byteLength / 2 ** 20} MiB qemu-img raw image; MB/s of output per CPU second, median of ${runs} (node ${process.version}).`);

/** Times one way of decoding the image; its output must hash as the image does. */
const decodes = (label, decode) => measure(label, image.byteLength, imageHash, decode);

/** The other gzip decoders that are installed, on `bytes`. */
async function gzipAlternatives(bytes) {
  const pako = await importCandidate('pako');
  if (pako) {
    await decodes('pako ungzip (one shot)', () => sha256(pako.ungzip(bytes)));
    await decodes('pako Inflate class (64 KiB pushes)', () => {
      const hash = createHash('sha256');
      const inflate = new pako.Inflate();
      inflate.onData = (chunk) => hash.update(chunk);
      for (let offset = 0; offset < bytes.byteLength; offset += 65536) inflate.push(bytes.subarray(offset, offset + 65536), offset + 65536 >= bytes.byteLength);
      return hash.digest('hex');
    });
  }
  const fflate = await importCandidate('fflate');
  if (fflate) {
    await decodes('fflate gunzipSync (one shot)', () => sha256(fflate.gunzipSync(bytes)));
    await decodes('fflate Gunzip stream (64 KiB pushes)', () => throughPushStream((ondata) => new fflate.Gunzip(ondata), bytes));
    await decodes('fflate Gunzip stream (1 KiB pushes, ~1 MiB bound)', () => throughPushStream((ondata) => new fflate.Gunzip(ondata), bytes, 1024));
  }
  await decodes('DecompressionStream gzip (platform)', () => throughWebStream(new DecompressionStream('gzip'), bytes));
  await decodes('node:zlib gunzipSync (native, reference)', () => sha256(gunzipSync(bytes)));
}

/** The other xz decoders that are installed, on `bytes`. */
async function xzAlternatives(bytes) {
  const xzDecompress = await importCandidate('xz-decompress');
  if (xzDecompress) {
    const XzReadableStream = xzDecompress.XzReadableStream ?? xzDecompress.default?.XzReadableStream;
    await decodes('xz-decompress (xz-embedded in WebAssembly)', async () => {
      const hash = createHash('sha256');
      for await (const chunk of new XzReadableStream(new Blob([bytes]).stream())) hash.update(chunk);
      return hash.digest('hex');
    });
  }
}

/** The other zstd decoders that are installed, on `bytes`. */
async function zstdAlternatives(bytes) {
  const fzstd = await importCandidate('fzstd');
  if (fzstd) {
    await decodes('fzstd decompress (one shot)', () => sha256(fzstd.decompress(bytes)));
    await decodes('fzstd Decompress stream (64 KiB pushes)', () => throughPushStream((ondata) => new fzstd.Decompress(ondata), bytes));
  }
  const zstddec = candidate('zstddec');
  if (zstddec) {
    const { ZSTDDecoder } = await import(pathToFileURL(join(dirname(zstddec.path), 'zstddec-stream.mjs')).href);
    const decoder = new ZSTDDecoder();
    await decoder.init();
    await decodes('zstddec streaming (libzstd in WebAssembly)', () => {
      const hash = createHash('sha256');
      const pieces = [];
      for (let offset = 0; offset < bytes.byteLength; offset += 65536) pieces.push(bytes.subarray(offset, offset + 65536));
      for (const chunk of decoder.decodeStreaming(pieces)) hash.update(chunk);
      return hash.digest('hex');
    });
  }
  const bokuweb = await importCandidate('@bokuweb/zstd-wasm');
  if (bokuweb) {
    await bokuweb.init();
    await decodes('@bokuweb/zstd-wasm decompress (one shot)', () => sha256(bokuweb.decompress(bytes)));
  }
}

/** The other bzip2 decoders that are installed, on `bytes`. */
async function bzip2Alternatives(bytes) {
  const seek = await importCandidate('seek-bzip');
  if (seek) {
    const Bunzip = seek.default ?? seek;
    await decodes('seek-bzip decode (one shot)', () => sha256(Bunzip.decode(Buffer.from(bytes))));
  }
  const bz2 = await importCandidate('bz2');
  if (bz2) {
    const decompress = bz2.decompress ?? bz2.default?.decompress;
    await decodes('bz2 (SheetJS) decompress (one shot)', () => sha256(decompress(bytes)));
  }
  const compressjs = await importCandidate('compressjs');
  if (compressjs) {
    const Bzip2 = (compressjs.default ?? compressjs).Bzip2;
    await decodes('compressjs Bzip2 (one shot, GPL)', () => sha256(Uint8Array.from(Bzip2.decompressFile(bytes))));
  }
}

/**
 * A section a codec: the input made with `compress` (its first two words head the section),
 * our decoder (`factory`), the other decoders that are installed (`others`), then the
 * command-line `tool`.
 */
const sections = [
  { codec: 'gzip', extension: 'gz', compress: 'gzip -6', tool: 'gzip -dc', ours: 'ours: gzip on pako zlib inflate, 64 KiB steps', factory: codecs.createGzipDecoder, others: gzipAlternatives },
  { codec: 'xz', extension: 'xz', compress: 'xz -6 -T1', tool: 'xz -dc -T1', ours: 'ours: xz + LZMA2 in TypeScript, 64 KiB steps', factory: codecs.createXzDecoder, others: xzAlternatives },
  { codec: 'zstd', extension: 'zst', compress: 'zstd -3 -q', tool: 'zstd -dc -q', ours: 'ours: frames + XXH64 on fzstd, block at a time', factory: codecs.createZstdDecoder, others: zstdAlternatives },
  { codec: 'bzip2', extension: 'bz2', compress: 'bzip2 -9', tool: 'bzip2 -dc', ours: 'ours: bzip2 in TypeScript, 64 KiB steps', factory: codecs.createBzip2Decoder, others: bzip2Alternatives },
];

for (const { codec, extension, compress, tool, ours, factory, others } of sections) {
  if (!only.includes(codec)) continue;
  const { bytes, path } = compressed(extension, compress);
  console.log(`\n${compress.split(' ').slice(0, 2).join(' ')} (${bytes.byteLength} bytes):`);
  await decodes(ours, () => throughOurs(factory, bytes));
  await others(bytes);
  nativeTool(`${codec} -dc (native tool)`, tool, path, image.byteLength);
}
