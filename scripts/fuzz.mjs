#!/usr/bin/env node
// A coverage-guided mutation fuzzer for the built library (dist/).
//
//   npm run fuzz -- --seconds 3600 --seed 42 [--format qcow2|guest] [--workers 2] [--no-coverage]
//                   [--timeout-ms 5000] [--minimise-seconds 60]
//                   [--library path/to/index.js] [--out folder]   (defaults: dist/index.js, test/regressions)
//
// Seeds: the committed fixtures, the regression inputs and the real-world images (when
// ../shared/real-world is present), a few fixtures wrapped in every container, and small
// guest disks made at fuzz time (scripts/fuzz-guest-seeds.mjs), introspected with
// `inspectGuest: true` and mutated mostly where guest inspection reads them. Each input is a seed with a few mutations (bit flips,
// interesting integers written over fields, truncations, splices, foreign signatures)
// introspected from bytes or from a randomly chunked stream, in a worker thread watched
// by a timer. An input passes when it yields an ImageInfo or an IntrospectionError other
// than INTERNAL, within the time limit. A failing input is minimised and saved under
// test/regressions/, which the regular test suite runs forever after. Inputs that reach
// code no earlier input reached (V8 block coverage) join the corpus.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { gunzipSync, gzipSync } from 'node:zlib';
import { guestSeeds } from './fuzz-guest-seeds.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let regressions = join(root, 'test', 'regressions');

// ---------------------------------------------------------------------------------------
// Arguments

function parseArguments(argv) {
  const options = { seconds: 60, seed: Date.now() % 2 ** 31, format: undefined, workers: 1, coverage: true, timeoutMs: 5000, minimiseSeconds: 60, quiet: false, library: join(root, 'dist', 'index.js'), out: undefined };
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index];
    const value = () => {
      index += 1;
      if (argv[index] === undefined) throw new Error(`${argument} needs a value`);
      return argv[index];
    };
    if (argument === '--seconds') options.seconds = Number(value());
    else if (argument === '--seed') options.seed = Number(value());
    else if (argument === '--format') options.format = value();
    else if (argument === '--workers') options.workers = Number(value());
    else if (argument === '--timeout-ms') options.timeoutMs = Number(value());
    else if (argument === '--minimise-seconds') options.minimiseSeconds = Number(value());
    else if (argument === '--no-coverage') options.coverage = false;
    else if (argument === '--quiet') options.quiet = true;
    else if (argument === '--library') options.library = value();
    else if (argument === '--out') options.out = value();
    else throw new Error(`unknown argument ${argument}`);
  }
  if (!Number.isFinite(options.seconds) || options.seconds <= 0) throw new Error('--seconds must be a positive number');
  if (!Number.isInteger(options.seed)) throw new Error('--seed must be an integer');
  return options;
}

// ---------------------------------------------------------------------------------------
// Deterministic randomness (mulberry32)

function random(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    below: (limit) => Math.floor(next() * limit),
    pick: (items) => items[Math.floor(next() * items.length)],
    chance: (probability) => next() < probability,
  };
}

// ---------------------------------------------------------------------------------------
// Seeds

/** Images bigger than this are cut to their first 768 KiB and last 256 KiB. */
const SEED_LIMIT = 1024 * 1024;

function shrinkSeed(bytes) {
  if (bytes.byteLength <= SEED_LIMIT) return bytes;
  const head = bytes.subarray(0, 768 * 1024);
  const tail = bytes.subarray(bytes.byteLength - 256 * 1024);
  const joined = new Uint8Array(head.byteLength + tail.byteLength);
  joined.set(head);
  joined.set(tail, head.byteLength);
  return joined;
}

function walk(folder, files = []) {
  if (!existsSync(folder)) return files;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) walk(path, files);
    else files.push(path);
  }
  return files;
}

function loadSeeds() {
  const paths = [
    ...walk(join(root, 'test', 'fixtures')).filter((path) => path.endsWith('.gz')),
    ...walk(regressions).filter((path) => path.endsWith('.bin')),
  ];
  const realWorld = [process.env.IMAGE_INTROSPECT_REAL_WORLD, join(root, '..', 'shared', 'real-world'), '/work/shared/real-world'].find(
    (candidate) => candidate && existsSync(join(candidate, 'MANIFEST.md')),
  );
  if (realWorld) {
    paths.push(
      ...walk(realWorld).filter((path) => !/(MANIFEST\.md|SHA256SUMS)$/.test(path) && statSync(path).size < 64 * 1024 * 1024),
    );
  }
  const seeds = paths.map((path) => {
    const data = readFileSync(path);
    const bytes = path.endsWith('.gz') ? gunzipSync(data) : data;
    return { name: relative(root, path), bytes: shrinkSeed(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)) };
  });
  return [...seeds, ...containerSeeds(seeds), ...guestSeeds(join(tmpdir(), `image-introspect-fuzz-guests-${process.pid}`), quietLog)];
}

/** The share of inputs made from a guest seed (or its mutants), whatever the corpus's size. */
const GUEST_SHARE = 0.2;

/** Where notes about seeds go (nowhere with --quiet). */
let quietLog = (line) => console.error(line);

/**
 * The byte ranges guest inspection reads in a guest seed (its partition table, superblocks,
 * inodes, directories, the format's tables): most mutations of the seed land in them.
 */
async function guestReads(introspect, bytes) {
  const reads = [];
  const source = {
    size: bytes.byteLength,
    read: async (offset, length) => {
      const part = bytes.subarray(offset, offset + length);
      reads.push([offset, part.byteLength]);
      return part;
    },
  };
  await introspect(source, { inspectGuest: true }).catch(() => undefined);
  return reads.filter(([, length]) => length > 0);
}

/** A minimal OVF descriptor naming one disk file, for the OVA seed. */
const OVA_DESCRIPTOR = `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References><File ovf:id="file1" ovf:href="disk1.vmdk"/></References>
  <DiskSection><Info>disks</Info><Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="67108864"/></DiskSection>
  <VirtualSystem ovf:id="vm"><Info>a machine</Info></VirtualSystem>
</Envelope>
`;

/**
 * Seeds for the containers: small fixtures wrapped by the real tools (gzip by zlib; xz,
 * zstd, bzip2, tar and zip when installed) and an OVA, so that mutations reach the
 * container parsers and their decoders, not only the formats.
 */
function containerSeeds(seeds) {
  const small = (pattern) => seeds.find((seed) => pattern.test(seed.name) && seed.bytes.byteLength <= 256 * 1024);
  const picks = [small(/qcow2\/backing/), small(/vmdk\/.*stream/), small(/raw\/.*gpt/)].filter(Boolean);
  const work = join(tmpdir(), `image-introspect-fuzz-seeds-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const tool = (command, args, input, cwd = work) => {
    const result = spawnSync(command, args, { input, cwd, maxBuffer: 64 * 1024 * 1024 });
    return result.status === 0 ? new Uint8Array(result.stdout) : undefined;
  };
  const made = [];
  const add = (name, bytes) => bytes !== undefined && made.push({ name, bytes: shrinkSeed(bytes) });
  for (const pick of picks) {
    const file = pick.name.split('/').pop().replace(/\.gz$/, '');
    writeFileSync(join(work, file), pick.bytes);
    add(`${pick.name} (gzip)`, new Uint8Array(gzipSync(pick.bytes)));
    add(`${pick.name} (xz)`, tool('xz', ['-c', '-3'], pick.bytes));
    add(`${pick.name} (zstd)`, tool('zstd', ['-c', '-q'], pick.bytes));
    add(`${pick.name} (bzip2)`, tool('bzip2', ['-c'], pick.bytes));
    const tar = tool('tar', ['-cf', '-', file]);
    add(`${pick.name} (tar)`, tar);
    if (tar !== undefined) add(`${pick.name} (tar.gz)`, new Uint8Array(gzipSync(tar)));
    add(`${pick.name} (zip)`, tool('zip', ['-q', '-', file]));
  }
  const vmdk = picks.find((pick) => /vmdk/.test(pick.name));
  if (vmdk !== undefined) {
    writeFileSync(join(work, 'appliance.ovf'), OVA_DESCRIPTOR);
    writeFileSync(join(work, 'disk1.vmdk'), vmdk.bytes);
    add('OVA (descriptor and a streamOptimized VMDK)', tool('tar', ['--format=ustar', '-cf', '-', 'appliance.ovf', 'disk1.vmdk']));
  }
  return made;
}

// ---------------------------------------------------------------------------------------
// Mutations

const interesting8 = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x0a, 0x22, 0x2f];
const interesting64 = [
  0n, 1n, 2n, 0x7fn, 0x80n, 0xffn, 0x100n, 0x200n, 0x1000n, 0x10000n, 0x100000n, 0x7fffffffn, 0x80000000n, 0xffffffffn,
  0x100000000n, 0x1fffffffffffffn, 0x20000000000000n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn,
];
const signatures = ['KDMV', 'COWD', 'QFI\xfb\x00\x00\x00\x03', 'QFI\xfb\x00\x00\x00\x01', 'conectix', 'vhdxfile', 'CD001', 'QED\x00',
  'WithouFreSpacExt', 'LUKS\xba\xbe\x00\x01', 'LUKS\xba\xbe\x00\x02', 'koly', 'EFI PART', '\x55\xaa', 'version=1\n', 'head', 'regi', 'metadata',
  'cxsparse', 'BEA01', 'NSR02', 'ER', '# Disk DescriptorFile\nversion=1\ncreateType="monolithicFlat"\nRW 1 FLAT "/etc/hosts" 0\n'];

function latin1(text) {
  return Uint8Array.from(text, (character) => character.charCodeAt(0) & 0xff);
}

/**
 * An offset biased towards the start, where the headers are; for a guest seed, mostly inside
 * the ranges guest inspection read (`hot`).
 */
function offsetIn(rng, length, hot) {
  if (length === 0) return 0;
  if (hot !== undefined && hot.length > 0 && rng.chance(0.7)) {
    const [start, size] = rng.pick(hot);
    if (start < length) return Math.min(length - 1, start + rng.below(size));
  }
  const roll = rng.next();
  if (roll < 0.5) return rng.below(Math.min(length, 4096));
  if (roll < 0.75) return rng.below(Math.min(length, 256 * 1024));
  return rng.below(length);
}

function writeInteger(bytes, offset, value, width, littleEndian) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (offset + width > bytes.byteLength) return;
  if (width === 8) view.setBigUint64(offset, value, littleEndian);
  else if (width === 4) view.setUint32(offset, Number(value & 0xffffffffn), littleEndian);
  else if (width === 2) view.setUint16(offset, Number(value & 0xffffn), littleEndian);
}

/** The parts joined, as a plain Uint8Array (the library is given no Buffer). */
const concat = (...parts) => new Uint8Array(Buffer.concat(parts));

const mutators = [
  function flipBit(rng, bytes) {
    if (bytes.byteLength === 0) return bytes;
    const offset = offsetIn(rng, bytes.byteLength, hotRanges);
    bytes[offset] ^= 1 << rng.below(8);
    return bytes;
  },
  function interestingByte(rng, bytes) {
    if (bytes.byteLength === 0) return bytes;
    bytes[offsetIn(rng, bytes.byteLength, hotRanges)] = rng.pick(interesting8);
    return bytes;
  },
  function interestingInteger(rng, bytes) {
    const width = rng.pick([2, 4, 4, 8, 8]);
    const offset = offsetIn(rng, bytes.byteLength, hotRanges) & ~(rng.chance(0.7) ? width - 1 : 0);
    let value = rng.pick(interesting64);
    if (rng.chance(0.3)) value = BigInt(bytes.byteLength + rng.below(1024) - 512) & 0xffffffffffffffffn;
    writeInteger(bytes, offset, value, width, rng.chance(0.5));
    return bytes;
  },
  function truncate(rng, bytes) {
    const at = rng.chance(0.5) ? rng.below(bytes.byteLength + 1) & ~511 : rng.below(bytes.byteLength + 1);
    return bytes.subarray(0, at);
  },
  function deleteRange(rng, bytes) {
    const start = offsetIn(rng, bytes.byteLength, hotRanges);
    const length = 1 + rng.below(Math.min(4096, Math.max(1, bytes.byteLength - start)));
    return concat(bytes.subarray(0, start), bytes.subarray(start + length));
  },
  function insertBytes(rng, bytes) {
    const start = offsetIn(rng, bytes.byteLength, hotRanges);
    const filler = new Uint8Array(1 + rng.below(1024)).fill(rng.pick(interesting8));
    return concat(bytes.subarray(0, start), filler, bytes.subarray(start));
  },
  function foreignSignature(rng, bytes) {
    const signature = latin1(rng.pick(signatures));
    const offset = rng.chance(0.4) ? rng.pick([0, 512, 32769, 0x40, 0x10000, 0x30000]) : offsetIn(rng, bytes.byteLength, hotRanges);
    if (offset + signature.byteLength <= bytes.byteLength) bytes.set(signature, offset);
    else if (rng.chance(0.5)) return concat(bytes, signature);
    return bytes;
  },
];

/** The hot ranges of the seed being mutated (see {@link offsetIn}). */
let hotRanges;

/** The mutators that keep every byte where it was. */
const inPlaceMutators = mutators.filter((mutator) => ['flipBit', 'interestingByte', 'interestingInteger'].includes(mutator.name));

function mutate(rng, seed, corpus) {
  hotRanges = seed.hot;
  let bytes = seed.bytes.slice();
  if (rng.chance(0.05) && corpus.length > 1) {
    const other = rng.pick(corpus).bytes;
    const cut = rng.below(bytes.byteLength + 1);
    bytes = concat(bytes.subarray(0, cut), other.subarray(Math.min(other.byteLength, cut)));
  }
  const count = 1 + rng.below(4);
  // A guest's structures are found through the image's tables and the partition table: a
  // cut or shift loses them all at once, so a guest seed is mostly damaged in place.
  const kinds = seed.inspectGuest && rng.chance(0.9) ? inPlaceMutators : mutators;
  for (let step = 0; step < count; step += 1) bytes = rng.pick(kinds)(rng, bytes);
  return bytes;
}

function randomDelivery(rng, length) {
  const kind = rng.pick(['bytes', 'random-access', 'stream', 'stream']);
  const sizes = [];
  const count = 1 + rng.below(6);
  for (let index = 0; index < count; index += 1) sizes.push(rng.chance(0.3) ? 1 + rng.below(16) : 1 + rng.below(Math.max(1, Math.min(length, 70000))));
  return { kind, sizes };
}

// ---------------------------------------------------------------------------------------
// Workers

class Target {
  constructor(libraryUrl, coverage, timeoutMs) {
    this.libraryUrl = libraryUrl;
    this.coverage = coverage;
    this.timeoutMs = timeoutMs;
    this.nextId = 0;
  }

  async start() {
    this.worker = new Worker(new URL('./fuzz-worker.mjs', import.meta.url), {
      workerData: { libraryUrl: this.libraryUrl, coverage: this.coverage },
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
    });
    this.pending = undefined;
    this.worker.on('message', (message) => {
      if (message.ready) {
        this.onReady?.();
        return;
      }
      const pending = this.pending;
      this.pending = undefined;
      pending?.resolve(message);
    });
    this.worker.on('error', (error) => {
      const pending = this.pending;
      this.pending = undefined;
      pending?.resolve({ outcome: { ok: false, code: 'WORKER_CRASH', message: String(error?.stack ?? error) }, milliseconds: 0, ranges: [], heap: 0, crashed: true });
    });
    await new Promise((resolve) => {
      this.onReady = resolve;
    });
  }

  run(bytes, delivery, maxDecompressedBytes = undefined, inspectGuest = false) {
    const id = (this.nextId += 1);
    return new Promise((resolve) => {
      const timer = setTimeout(async () => {
        this.pending = undefined;
        await this.worker.terminate();
        await this.start();
        resolve({ outcome: { ok: false, code: 'TIMEOUT', message: `no answer within ${this.timeoutMs} ms` }, milliseconds: this.timeoutMs, ranges: [], heap: 0 });
      }, this.timeoutMs);
      this.pending = {
        resolve: async (message) => {
          clearTimeout(timer);
          if (message.crashed) await this.start();
          resolve(message);
        },
      };
      this.worker.postMessage({ id, bytes, kind: delivery.kind, sizes: delivery.sizes, maxBufferBytes: undefined, maxDecompressedBytes, inspectGuest });
    });
  }

  stop() {
    return this.worker.terminate();
  }
}

// ---------------------------------------------------------------------------------------
// Minimisation and saving

/**
 * Time per byte: the work must be bounded by the bytes an image has, not by what it claims.
 * A generous budget (100 ms, 2 ms per KiB, 20 µs per chunk) flags inputs that make the
 * library loop over declared but absent structures; a slow run is run again before it counts.
 */
function timeBudget(bytes, delivery) {
  const chunks = delivery.kind === 'stream' ? Math.ceil(bytes.byteLength / Math.max(1, Math.min(...delivery.sizes))) : 1;
  return 100 + (bytes.byteLength / 1024) * 2 + chunks * 0.02;
}

/**
 * A compressed input may expand a thousandfold (deflate's limit is 1032:1): decoding what it
 * holds is work bounded by `maxDecompressedBytes`, the documented cap, not by the input's
 * size. A slow or timed-out run is therefore run once more with decoding capped at a small
 * multiple of the input; only if it is still slow (or times out again) does it count.
 */
const DECODE_ALLOWANCE_FACTOR = 8;

async function judgedRun(target, bytes, delivery) {
  const result = await target.run(bytes, delivery, undefined, delivery.inspectGuest);
  const budget = timeBudget(bytes, delivery);
  // A run stopped by the worker's timeout is judged the same way: 500 KiB of gzip may hold
  // 512 MiB of zeros (10 s to decode here, within the default cap of 16 GiB).
  const timedOut = result.outcome.code === 'TIMEOUT';
  if (!timedOut && !(result.outcome.ok && result.milliseconds > budget)) return result;
  const again = await target.run(bytes, delivery, DECODE_ALLOWANCE_FACTOR * bytes.byteLength + 65536, delivery.inspectGuest);
  if (!again.outcome.ok) return again;
  if (again.milliseconds > budget) {
    return { ...again, outcome: { ok: false, code: 'SLOW', message: `took ${again.milliseconds.toFixed(0)} ms for ${bytes.byteLength} bytes (budget ${budget.toFixed(0)} ms)` } };
  }
  return timedOut ? again : result;
}

/**
 * Cuts and zeroes the failing input while it still fails the same way, for at most
 * `seconds`: an input that hangs costs two timeouts per attempt (see {@link judgedRun}), and
 * 600 attempts of it would take most of an hour.
 */
async function minimise(target, bytes, delivery, code, seconds) {
  let best = bytes;
  let attempts = 0;
  const until = Date.now() + seconds * 1000;
  const stillFails = async (candidate) => {
    attempts += 1;
    if (Date.now() > until) {
      attempts = Infinity;
      return false;
    }
    const { outcome } = await judgedRun(target, candidate, delivery);
    return !outcome.ok && outcome.code === code;
  };
  // Shorter: cut the end while it still fails.
  for (let step = Math.max(1, best.byteLength >> 1); step >= 1 && attempts < 300; step >>= 1) {
    while (best.byteLength > step && attempts < 300 && (await stillFails(best.subarray(0, best.byteLength - step)))) {
      best = best.subarray(0, best.byteLength - step);
    }
  }
  // Simpler: zero runs of bytes while it still fails.
  for (let size = 4096; size >= 16 && attempts < 600; size >>= 2) {
    for (let offset = 0; offset < best.byteLength && attempts < 600; offset += size) {
      const candidate = best.slice();
      if (candidate.subarray(offset, offset + size).every((byte) => byte === 0)) continue;
      candidate.fill(0, offset, offset + size);
      if (await stillFails(candidate)) best = candidate;
    }
  }
  return best.slice();
}

function save(bytes, failure, seedName, delivery) {
  mkdirSync(regressions, { recursive: true });
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const label = failure.code.toLowerCase().replace(/_/g, '-');
  const base = join(regressions, `${label}-${hash}`);
  writeFileSync(`${base}.bin`, bytes);
  writeFileSync(
    `${base}.json`,
    `${JSON.stringify({ found: new Date().toISOString(), seed: seedName, delivery, failure: { code: failure.code, message: failure.message.split('\n').slice(0, 6).join('\n') } }, null, 2)}\n`,
  );
  return relative(root, `${base}.bin`);
}

// ---------------------------------------------------------------------------------------
// Main loop

async function main() {
  const options = parseArguments(process.argv.slice(2));
  if (options.out !== undefined) regressions = options.out;
  if (options.quiet) quietLog = () => undefined;
  const libraryUrl = pathToFileURL(options.library).href;
  if (!existsSync(options.library)) throw new Error(`${options.library} is missing: run npm run build`);
  const { introspect } = await import(libraryUrl);

  // Label every seed with the format the library gives it (or the error's format).
  let seeds = [];
  for (const seed of loadSeeds()) {
    const format = await introspect(seed.bytes).then(
      (info) => info.containers?.[0]?.format ?? info.format,
      (error) => error?.format ?? 'error',
    );
    seeds.push({ ...seed, format, ...(seed.inspectGuest ? { hot: await guestReads(introspect, seed.bytes) } : {}) });
  }
  if (options.format) seeds = seeds.filter((seed) => seed.format === options.format || (options.format === 'guest' && seed.inspectGuest));
  if (seeds.length === 0) throw new Error(`no seeds${options.format ? ` of format ${options.format}` : ''}`);

  const rng = random(options.seed);
  const targets = [];
  for (let index = 0; index < options.workers; index += 1) {
    const target = new Target(libraryUrl, options.coverage, options.timeoutMs);
    await target.start();
    targets.push(target);
  }

  const corpus = seeds.map((seed) => ({ ...seed }));
  // The guest seeds are a few among hundreds, and a guest's file systems hold most of the
  // code a guest seed reaches: one input in GUEST_SHARE starts from one of them.
  const guestCorpus = corpus.filter((seed) => seed.inspectGuest);
  const covered = new Set();
  const stats = { inputs: 0, byFormat: {}, byOutcome: {}, guestOutcomes: {}, times: [], maxMsPerMiB: 0, slowest: undefined, peakHeap: 0, newCoverage: 0, failures: [], distinct: {} };
  const started = Date.now();
  const deadline = started + options.seconds * 1000;
  let lastReport = started;

  async function lane(target) {
    while (Date.now() < deadline) {
      const seed = guestCorpus.length > 0 && rng.chance(GUEST_SHARE) ? rng.pick(guestCorpus) : rng.pick(corpus);
      const bytes = mutate(rng, seed, corpus);
      // A guest seed is inspected (on a random-access source: a stream has no guest disk).
      const delivery = seed.inspectGuest ? { kind: rng.pick(['bytes', 'random-access']), sizes: [bytes.byteLength], inspectGuest: true } : randomDelivery(rng, bytes.byteLength);
      const result = await judgedRun(target, bytes, delivery);
      stats.inputs += 1;
      const formatKey = seed.inspectGuest ? `${seed.format} (guest)` : seed.format;
      stats.byFormat[formatKey] = (stats.byFormat[formatKey] ?? 0) + 1;
      const outcomeKey = result.outcome.ok ? (result.outcome.code ?? `ok:${result.outcome.format}`) : `FAIL:${result.outcome.code}`;
      stats.byOutcome[outcomeKey] = (stats.byOutcome[outcomeKey] ?? 0) + 1;
      if (result.outcome.guest !== undefined) stats.guestOutcomes[result.outcome.guest] = (stats.guestOutcomes[result.outcome.guest] ?? 0) + 1;
      stats.times.push(result.milliseconds);
      const perMiB = result.milliseconds / Math.max(bytes.byteLength / 1048576, 1 / 16);
      if (perMiB > stats.maxMsPerMiB) {
        stats.maxMsPerMiB = perMiB;
        stats.slowest = { seed: seed.name, bytes: bytes.byteLength, milliseconds: +result.milliseconds.toFixed(1), delivery: { kind: delivery.kind, sizes: delivery.sizes.slice(0, 6) } };
      }
      stats.peakHeap = Math.max(stats.peakHeap, result.heap);
      let fresh = 0;
      for (const range of result.ranges) {
        if (!covered.has(range)) {
          covered.add(range);
          fresh += 1;
        }
      }
      if (fresh > 0 && stats.inputs > seeds.length) {
        stats.newCoverage += 1;
        if (corpus.length < 4000 && bytes.byteLength <= SEED_LIMIT) {
          const entry = { name: `${seed.name}+mutation`, format: seed.format, bytes, inspectGuest: seed.inspectGuest, hot: seed.hot };
          corpus.push(entry);
          if (entry.inspectGuest) guestCorpus.push(entry);
        }
      }
      if (!result.outcome.ok) {
        // One reproducer per distinct failure (code and first line of the message); count the rest.
        const key = `${result.outcome.code}: ${result.outcome.message.split('\n')[0]}`;
        stats.distinct[key] = (stats.distinct[key] ?? 0) + 1;
        if (stats.distinct[key] > 1) continue;
        const minimal = await minimise(target, bytes, delivery, result.outcome.code, options.minimiseSeconds);
        const path = save(minimal, result.outcome, seed.name, delivery);
        stats.failures.push({ path, bytes: minimal.byteLength, code: result.outcome.code, seed: seed.name, message: result.outcome.message.split('\n')[0] });
        if (!options.quiet) console.error(`failure ${result.outcome.code} from ${seed.name}: saved ${path}\n  ${result.outcome.message.split('\n')[0]}`);
      }
      if (!options.quiet && Date.now() - lastReport > 30_000) {
        lastReport = Date.now();
        console.error(`${Math.round((Date.now() - started) / 1000)} s: ${stats.inputs} inputs, ${covered.size} ranges covered, corpus ${corpus.length}, ${stats.failures.length} failures`);
      }
    }
  }
  await Promise.all(targets.map((target) => lane(target)));
  await Promise.all(targets.map((target) => target.stop()));

  const seconds = (Date.now() - started) / 1000;
  const sorted = [...stats.times].sort((a, b) => a - b);
  const percentile = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  const summary = {
    seed: options.seed,
    seconds: Math.round(seconds),
    inputs: stats.inputs,
    inputsPerSecond: Math.round(stats.inputs / seconds),
    inputsPerFormat: stats.byFormat,
    outcomes: stats.byOutcome,
    guestOutcomes: stats.guestOutcomes,
    timePerInputMs: { mean: +(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)).toFixed(3), p99: +percentile(0.99).toFixed(3), max: +(sorted[sorted.length - 1] ?? 0).toFixed(3) },
    maxMillisecondsPerMiB: +stats.maxMsPerMiB.toFixed(1),
    slowestPerByte: stats.slowest,
    peakWorkerMemoryMiB: +(stats.peakHeap / 1048576).toFixed(1),
    coverageRanges: covered.size,
    corpusAdded: corpus.length - seeds.length,
    failures: stats.failures,
    failureCounts: stats.distinct,
  };
  console.log(JSON.stringify(summary, null, 2));
  process.exitCode = stats.failures.length > 0 ? 1 : 0;
}

main().catch((error) => {
  console.error(`fuzz: ${error?.message ?? error}`);
  process.exitCode = 2;
});
