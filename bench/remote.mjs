#!/usr/bin/env node
// The remote bench: introspectUrl against `qemu-img info` over its curl driver
// (`json:{"file.driver":"http","file.url":...}`, Debian's qemu-block-extra), both reading the
// same images from a local range-serving HTTP server (test/helpers/range-server.mjs).
//
// Per image: requests and body bytes each one asked for (counted by the server), and the time
// each took with every answer delayed 50 ms (an emulated round trip). Then the totals as
// ratios, the images where we sent more requests than qemu-img, and what a server that
// ignores Range costs (body bytes before a 256 MiB streamOptimized VMDK is answered).
//
//   node bench/remote.mjs            every committed fixture, and images made like bench/run.mjs's (256 MiB of data)
//   node bench/remote.mjs --smoke    the fixtures of a few formats and small made images, no round-trip delay
//
// `runRemoteBench({ smoke })` returns the Markdown report (for bench/run.mjs). Needs the
// built package (npm run build). Nothing here asserts on time.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { startRangeServer } from '../test/helpers/range-server.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const ROUND_TRIP_MS = 50;

function run(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * MiB });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.error}`);
  return result.stdout;
}

/** qemu-img info over curl, spawned (the server runs in this process). */
function qemuOverCurl(url) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn('qemu-img', ['info', '--output=json', `json:${JSON.stringify({ 'file.driver': 'http', 'file.url': url })}`]);
    let stdout = '';
    child.stdout.on('data', (data) => {
      stdout += data;
    });
    child.stderr.resume();
    child.on('close', (status) => {
      const ms = performance.now() - started;
      let format;
      try {
        format = JSON.parse(stdout).format;
      } catch {
        format = undefined;
      }
      resolve({ ok: status === 0, format, ms });
    });
  });
}

/** The committed fixtures, gunzipped. */
function fixtureImages(smoke) {
  const folders = smoke ? ['qcow2', 'vmdk', 'vhd'] : readdirSync(join(root, 'test', 'fixtures'));
  const images = [];
  for (const folder of folders) {
    const path = join(root, 'test', 'fixtures', folder);
    for (const file of readdirSync(path).filter((name) => name.endsWith('.gz')).sort()) {
      images.push({ set: 'fixtures', name: `${folder}/${file.slice(0, -3)}`, load: () => new Uint8Array(gunzipSync(readFileSync(join(path, file)))) });
    }
  }
  return images;
}

/** Images made as bench/run.mjs makes them: small empty ones, and large ones converted from a raw disk with data. */
function madeImages(smoke) {
  const work = join(tmpdir(), `image-introspect-bench-remote${smoke ? '-smoke' : ''}`);
  mkdirSync(work, { recursive: true });
  const dataBytes = smoke ? 4 * MiB : 256 * MiB;
  const largeSize = smoke ? 64 * MiB : 40 * GiB;
  const source = join(work, 'source.raw');
  if (!existsSync(source)) {
    const data = new Uint8Array(dataBytes);
    for (let offset = 0; offset < data.byteLength; offset += 65536) crypto.getRandomValues(data.subarray(offset, offset + 65536));
    writeFileSync(source, data);
    run('truncate', ['-s', String(largeSize), source]);
  }
  const made = [
    ['small.qcow2', ['create', '-q', '-f', 'qcow2', '%', '64M']],
    ['small-stream.vmdk', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=streamOptimized', '%', '64M']],
    ['small-sparse.vmdk', ['create', '-q', '-f', 'vmdk', '%', '64M']],
    ['small-dynamic.vhd', ['create', '-q', '-f', 'vpc', '%', '64M']],
    ['small-fixed.vhd', ['create', '-q', '-f', 'vpc', '-o', 'subformat=fixed', '%', '64M']],
    ['small.vhdx', ['create', '-q', '-f', 'vhdx', '%', '64M']],
    ['small.vdi', ['create', '-q', '-f', 'vdi', '%', '64M']],
    ['small.qed', ['create', '-q', '-f', 'qed', '%', '64M']],
    ['large.qcow2', ['convert', '-q', '-O', 'qcow2', source, '%']],
    ['large-stream.vmdk', ['convert', '-q', '-O', 'vmdk', '-o', 'subformat=streamOptimized', source, '%']],
    ['large-sparse.vmdk', ['convert', '-q', '-O', 'vmdk', source, '%']],
    ['large-dynamic.vhd', ['convert', '-q', '-O', 'vpc', source, '%']],
    ['large.vhdx', ['convert', '-q', '-O', 'vhdx', source, '%']],
    ['large.vdi', ['convert', '-q', '-O', 'vdi', source, '%']],
  ];
  const images = [];
  for (const [name, args] of made) {
    const path = join(work, name);
    if (!existsSync(path)) run('qemu-img', args.map((arg) => (arg === '%' ? path : arg)));
    images.push({ set: 'made', name, load: () => new Uint8Array(readFileSync(path)) });
  }
  return images;
}

const sum = (values) => values.reduce((total, value) => total + value, 0);
const ratio = (ours, theirs) => (theirs === 0 ? 'n/a' : (ours / theirs).toFixed(3));
const kib = (bytes) => (bytes / 1024).toFixed(1);

export async function runRemoteBench({ smoke = false } = {}) {
  const { introspectUrl } = await import(pathToFileURL(join(root, 'dist', 'node.js')).href);
  const server = await startRangeServer();
  const rows = [];
  try {
    for (const image of [...fixtureImages(smoke), ...madeImages(smoke)]) {
      const bytes = image.load();
      server.add('image', bytes);
      const url = server.at('ranges', 'image');
      const measure = async (task) => {
        server.reset();
        const outcome = await task();
        return { ...outcome, requests: server.log.length, bytes: sum(server.log.map((entry) => entry.bytesSent)) };
      };
      const ours = async () => {
        const started = performance.now();
        try {
          const info = await introspectUrl(url, { urlFilter: 'permissive' });
          return { ok: true, format: info.format, ms: performance.now() - started };
        } catch (error) {
          return { ok: false, format: error.code, ms: performance.now() - started };
        }
      };
      server.delayMs = 0;
      const oursCounted = await measure(ours);
      const qemuCounted = await measure(() => qemuOverCurl(url));
      let oursTimed = oursCounted;
      let qemuTimed = qemuCounted;
      if (!smoke) {
        server.delayMs = ROUND_TRIP_MS;
        oursTimed = await measure(ours);
        qemuTimed = await measure(() => qemuOverCurl(url));
        server.delayMs = 0;
      }
      rows.push({ set: image.set, name: image.name, size: bytes.byteLength, ours: oursCounted, qemu: qemuCounted, oursMs: oursTimed.ms, qemuMs: qemuTimed.ms });
    }

    // A server that ignores Range: the whole body comes; we stop reading once the answer is known.
    const stream = rows.find((row) => row.name === 'large-stream.vmdk');
    let streamLine = '';
    if (stream !== undefined) {
      const bytes = madeImages(smoke).find((image) => image.name === 'large-stream.vmdk').load();
      server.add('image', bytes);
      server.reset();
      const info = await introspectUrl(server.at('norange', 'image'), { urlFilter: 'permissive' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      streamLine = `A server that ignores \`Range\` (200, the whole body): the ${(bytes.byteLength / MiB).toFixed(0)} MiB streamOptimized VMDK was answered after ${kib(info.bytesRead)} KiB of body read (the server had written ${kib(server.log[0].bytesSent)} KiB into the connection when the client closed it).`;
    }
    return report(rows, streamLine, smoke);
  } finally {
    await server.close();
  }
}

function report(rows, streamLine, smoke) {
  const lines = [];
  lines.push('## Remote images: introspectUrl against qemu-img over curl', '');
  lines.push(`Both read the same images from a local range-serving HTTP server${smoke ? '' : `; times with every answer delayed ${ROUND_TRIP_MS} ms (an emulated round trip); qemu-img's time includes starting the process`}. Requests and body bytes are counted by the server. qemu-img sends a HEAD first and reads 256 KiB ahead; it cannot read Glance (HEAD 405, no Accept-Ranges), which introspectUrl reads in the same requests as here.`, '');
  for (const set of ['fixtures', 'made']) {
    const subset = rows.filter((row) => row.set === set);
    if (subset.length === 0) continue;
    const both = subset.filter((row) => row.qemu.ok);
    const oursBytes = sum(both.map((row) => row.ours.bytes));
    const qemuBytes = sum(both.map((row) => row.qemu.bytes));
    const over = subset.filter((row) => row.qemu.ok && row.ours.requests > row.qemu.requests);
    lines.push(`### ${set === 'fixtures' ? 'Every committed fixture' : 'Images made like bench/run.mjs\'s'} (${subset.length} images, ${both.length} that qemu-img reads)`, '');
    lines.push('| | introspectUrl | qemu-img (curl) | ratio |', '| --- | ---: | ---: | ---: |');
    lines.push(`| requests | ${sum(both.map((row) => row.ours.requests))} | ${sum(both.map((row) => row.qemu.requests))} | ${ratio(sum(both.map((row) => row.ours.requests)), sum(both.map((row) => row.qemu.requests)))} |`);
    lines.push(`| body bytes | ${kib(oursBytes)} KiB | ${kib(qemuBytes)} KiB | ${ratio(oursBytes, qemuBytes)} |`);
    if (!smoke) lines.push(`| time (${ROUND_TRIP_MS} ms round trips) | ${sum(both.map((row) => row.oursMs)).toFixed(0)} ms | ${sum(both.map((row) => row.qemuMs)).toFixed(0)} ms | ${ratio(sum(both.map((row) => row.oursMs)), sum(both.map((row) => row.qemuMs)))} |`);
    lines.push('');
    lines.push(`Images where introspectUrl sent more requests than qemu-img: ${over.length === 0 ? 'none.' : ''}`);
    for (const row of over) lines.push(`- ${row.name}: ${row.ours.requests} against ${row.qemu.requests} (${kib(row.ours.bytes)} KiB against ${kib(row.qemu.bytes)} KiB)`);
    lines.push('');
    lines.push('<details><summary>Per image</summary>', '', '| image | size | format | requests (ours / qemu) | KiB (ours / qemu) |' + (smoke ? '' : ' ms (ours / qemu) |'), '| --- | ---: | --- | ---: | ---: |' + (smoke ? '' : ' ---: |'));
    for (const row of subset) {
      const format = row.qemu.ok ? `${row.ours.format} / ${row.qemu.format}` : `${row.ours.format} / (qemu-img fails)`;
      lines.push(`| ${row.name} | ${kib(row.size)} KiB | ${format} | ${row.ours.requests} / ${row.qemu.requests} | ${kib(row.ours.bytes)} / ${kib(row.qemu.bytes)} |${smoke ? '' : ` ${row.oursMs.toFixed(0)} / ${row.qemuMs.toFixed(0)} |`}`);
    }
    lines.push('', '</details>', '');
  }
  const all = rows.filter((row) => row.qemu.ok);
  lines.push(`All images qemu-img reads: ${ratio(sum(all.map((row) => row.ours.bytes)), sum(all.map((row) => row.qemu.bytes)))} of its body bytes, ${ratio(sum(all.map((row) => row.ours.requests)), sum(all.map((row) => row.qemu.requests)))} of its requests${smoke ? '' : `, ${ratio(sum(all.map((row) => row.oursMs)), sum(all.map((row) => row.qemuMs)))} of its time`}.`, '');
  if (streamLine !== '') lines.push(streamLine, '');
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(await runRemoteBench({ smoke: process.argv.includes('--smoke') }));
}
