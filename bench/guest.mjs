#!/usr/bin/env node
// The guest-inspection benchmark: per image, the time `introspectFile(image, { inspectGuest: true })`
// takes and the bytes it reads, side by side in one run with libguestfs's `virt-inspector`
// on the same file (which boots an appliance VM; here under TCG, as the test runs it, unless
// --kvm). Prints a Markdown table with the ratio. Nothing is asserted.
//
//   npm run build && node bench/guest.mjs                     every test guest already built
//                                                             (by test/guest/inspect.test.ts) in
//                                                             $IMAGE_INTROSPECT_IMAGE_CACHE or the
//                                                             temp dir's image-introspect-images/guests
//   node bench/guest.mjs a.img b.qcow2 ...                    these images
//   node bench/guest.mjs --formats raw,qcow2                  each guest also converted by qemu-img
//                                                             (raw, qcow2, vmdk, vmdk-stream = streamOptimized,
//                                                             vhd = qemu's vpc, vhdx, vdi; named as
//                                                             test/guest/inspect.test.ts names them, so its
//                                                             conversions are reused)
//   node bench/guest.mjs --iterations 5                       ours: the median of 5 runs (default 3)
//   node bench/guest.mjs --no-virt-inspector                  ours only
//   node bench/guest.mjs --kvm                                virt-inspector with KVM when /dev/kvm works
//   node bench/guest.mjs --virt-inspector-cache               where test/guest/inspect.test.ts has timed
//                                                             virt-inspector on this file (IMAGE.virt-inspector.ms),
//                                                             use that time (marked "cached"); no new runs
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nodeEntry = join(root, 'dist', 'node.js');
if (!existsSync(nodeEntry)) throw new Error('build first: npm run build');
const { introspectFile } = await import(nodeEntry);

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  if (at === -1) return fallback;
  const value = args[at + 1];
  args.splice(at, 2);
  return value;
};
const flag = (name) => {
  const at = args.indexOf(name);
  if (at !== -1) args.splice(at, 1);
  return at !== -1;
};
const iterations = Number(option('--iterations', '3'));
const formats = option('--formats', 'raw').split(',');
const skipInspector = flag('--no-virt-inspector');
const kvm = flag('--kvm');
const useCache = flag('--virt-inspector-cache');

function run(command, commandArgs, env = {}) {
  const result = spawnSync(command, commandArgs, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } });
  return { ok: result.status === 0, stdout: result.stdout ?? '', stderr: result.stderr ?? String(result.error ?? '') };
}

function defaultImages() {
  const cache = join(process.env.IMAGE_INTROSPECT_IMAGE_CACHE ?? join(tmpdir(), 'image-introspect-images'), 'guests');
  if (!existsSync(cache)) return [];
  return readdirSync(cache)
    .filter((entry) => entry.startsWith('guest-') && !entry.includes('.partial'))
    .map((entry) => join(cache, entry, 'disk.img'))
    .filter((path) => existsSync(path));
}

/** The format qemu-img sees in a file (virt-inspector is told it, never guessing). */
function formatOf(path) {
  const result = run('qemu-img', ['info', '--output=json', path]);
  return result.ok ? JSON.parse(result.stdout).format : 'raw';
}

/**
 * The qemu-img format and options of each --formats name, and the file name's suffix
 * (the one test/guest/inspect.test.ts's `convert` gives, so that its conversions are reused).
 */
const CONVERSIONS = {
  vhd: { format: 'vpc', options: [] },
  'vmdk-stream': { format: 'vmdk', options: ['subformat=streamOptimized'] },
};

/** Each image, converted with qemu-img into every asked format (beside the raw one, cached). */
function withFormats(image) {
  const source = formatOf(image);
  return formats.map((name) => {
    const { format, options } = CONVERSIONS[name] ?? { format: name, options: [] };
    if (format === source && options.length === 0) return image;
    const target = `${image}.${format}${options.length === 0 ? '' : `-${options.join('-').replace(/[^a-z0-9]+/gi, '_')}`}`;
    if (!existsSync(target)) {
      const converted = run('qemu-img', ['convert', '-f', source, '-O', format, ...(options.length === 0 ? [] : ['-o', options.join(',')]), image, target]);
      if (!converted.ok) throw new Error(`qemu-img convert to ${format}: ${converted.stderr}`);
    }
    return target;
  });
}

function allocatedBytes(path) {
  const result = run('du', ['--block-size=1', path]);
  return result.ok ? Number(result.stdout.split(/\s/)[0]) : statSync(path).size;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function ours(image) {
  const times = [];
  let info;
  for (let round = 0; round < iterations; round += 1) {
    const started = process.hrtime.bigint();
    info = await introspectFile(image, { inspectGuest: true });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  const guest = info.guest;
  const os = guest && !('unavailable' in guest) ? guest.os : undefined;
  const found = guest === undefined ? 'no guest' : 'unavailable' in guest ? `unavailable: ${guest.unavailable}` : os === undefined ? 'no OS' : `${os.distro ?? os.type} ${os.version ?? ''} ${os.arch ?? ''}`.trim();
  return { ms: median(times), bytesRead: info.bytesRead, found };
}

/** What virt-inspector's XML names: distro, version, architecture of the first operating system. */
function foundIn(xml) {
  const tag = (name) => xml.match(new RegExp(`<${name}>([^<]*)</${name}>`))?.[1];
  return `${tag('distro') ?? tag('name') ?? 'no OS'} ${tag('major_version') ?? ''}.${tag('minor_version') ?? ''} ${tag('arch') ?? ''}`.trim();
}

function theirs(image) {
  if (skipInspector) return undefined;
  const cachedXml = `${image}.virt-inspector.xml`;
  const cachedMs = `${image}.virt-inspector.ms`;
  if (useCache && existsSync(cachedXml) && existsSync(cachedMs)) {
    return { ms: Number(readFileSync(cachedMs, 'utf8')), cached: true, found: foundIn(readFileSync(cachedXml, 'utf8')) };
  }
  if (useCache) return undefined;
  const env = kvm ? { LIBGUESTFS_BACKEND: 'direct' } : { LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' };
  const started = process.hrtime.bigint();
  const result = run('virt-inspector', [`--format=${formatOf(image)}`, '-a', image, '--no-applications', '--no-icon'], env);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (!result.ok) return { ms, found: `failed: ${result.stderr.trim().split('\n').pop()}` };
  return { ms, found: foundIn(result.stdout) };
}

const images = (args.length > 0 ? args : defaultImages()).flatMap(withFormats);
if (images.length === 0) {
  console.error('no images: build the test guests first (npx vitest run test/guest/inspect.test.ts) or name images');
  process.exit(2);
}

const rows = [];
for (const image of images) {
  const mine = await ours(image);
  const reference = theirs(image);
  const allocated = allocatedBytes(image);
  rows.push({ image, allocated, mine, reference });
  console.error(`${basename(dirname(image))}/${basename(image)}: ${mine.ms.toFixed(1)} ms${reference ? ` vs virt-inspector ${(reference.ms / 1000).toFixed(1)} s` : ''}`);
}

const mode = kvm ? 'KVM' : 'TCG (force_tcg)';
console.log(`# Guest inspection: image-introspect vs virt-inspector (${mode}); ours: median of ${iterations}\n`);
console.log('| image | allocated | bytes read | read % | ours (ms) | ours found | virt-inspector (s) | virt-inspector found | ratio |');
console.log('| --- | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: |');
for (const { image, allocated, mine, reference } of rows) {
  const name = `${basename(dirname(image)).replace(/^guest-/, '').replace(/-[0-9a-f]{16}$/, '')}/${basename(image)}`;
  const ratio = reference ? `${Math.round(reference.ms / mine.ms)}×` : '';
  console.log(`| ${name} | ${allocated} | ${mine.bytesRead} | ${((100 * mine.bytesRead) / allocated).toFixed(2)} | ${mine.ms.toFixed(1)} | ${mine.found} | ${reference ? `${(reference.ms / 1000).toFixed(1)}${reference.cached ? ' (cached)' : ''}` : ''} | ${reference?.found ?? ''} | ${ratio} |`);
}
