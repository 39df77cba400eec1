/**
 * The demo page (`web/`, built by `npm run build:demo`) in Debian's Chromium driven by
 * playwright-core, served with its Content-Security-Policy by the server `npm run demo`
 * uses. Real files are set on its file input: images made here by qemu-img, xz, gzip, tar,
 * sgdisk and xorriso (several formats, a compressed one, a gzipped tar, an OVA, a qcow2 with a backing
 * file, a file cut short, a 40 GiB sparse raw disk). The cards must agree with the library
 * run in Node on the same files (format, virtual size, verdict, bytes read, Glance
 * properties); every request the browser makes is watched (only the page's own files, and
 * Glance when uploading); the console, page errors and CSP violation reports must stay
 * empty. The upload goes to a real Glance (test/helpers/glance.ts) allowing the page's
 * origin by CORS: over HTTP/1.1 the page sends the File, over HTTP/2 (a TLS proxy in front
 * of the same Glance) it streams it through `inspect()`.
 *
 * `UPDATE_DEMO_SCREENSHOT=1` writes the screenshot to docs/demo.png (the README's);
 * otherwise it goes to the temp dir.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { type Http2ServerRequest, type Http2ServerResponse, createSecureServer } from 'node:http2';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { type Browser, type BrowserContext, type Page, type Request, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltDemoFile, buildDemo } from '../scripts/build-demo.mjs';
import { type DemoServer, type DemoViolation, startDemoServer } from '../scripts/demo-server.mjs';
import { isIntrospectionError } from '../src/errors.js';
import type { GlanceImage } from '../src/glance/index.js';
import { type ImageInfo, glanceProperties } from '../src/index.js';
import { introspectFile } from '../src/node.js';
import { humanSize } from '../src/summary.js';
import { fixturesRoot, projectRoot } from './helpers/fixtures.js';
import { type GlanceService, freePort, glanceMissing, startGlance, tail } from './helpers/glance.js';
import { hasQemuImg, qemuImg, qemuInfo, qemuMissing } from './helpers/qemu.js';
import { hasTool, makeIso, run } from './glance/oracles.js';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

const missing = !existsSync(executablePath)
  ? `no browser at ${executablePath} (apt-get install chromium; .ci/run does)`
  : !hasQemuImg
    ? qemuMissing
    : (['xz', 'gzip', 'tar', 'sgdisk', 'xorriso', 'openssl'].find((tool) => !hasTool(tool, tool === 'xorriso' ? ['-version'] : tool === 'openssl' ? ['version'] : ['--version'])) ?? '') !== ''
      ? 'xz, gzip, tar, sgdisk (gdisk), xorriso and openssl are needed'
      : undefined;

/** What a card shows, read from the page. */
interface Card {
  fileName: string;
  format: string | undefined;
  virtualSize: string | undefined;
  safe: string | undefined;
  error: string | undefined;
  bytesRead: string | undefined;
  glance: string | undefined;
  command: string | undefined;
  readText: string | undefined;
  /** The whole result the page shows, as the CLI's `--json` prints it. */
  resultJson: string | undefined;
  /** `data-containers`: the layers around the disk, outermost first. */
  containers: string | undefined;
  /** The library's message on a failure card. */
  errorMessage: string | undefined;
}

/** What the library says in Node about a file: the oracle for its card. */
type NodeAnswer =
  | { fileName: string; format: string; virtualSize: number; safe: boolean; bytesRead: number; glance: Record<string, unknown>; containers: string[]; json: unknown; info: ImageInfo; error?: undefined }
  | { fileName: string; error: string; message: string };

const work = mkdtempSync(join(tmpdir(), 'web-test-'));
const site = join(work, 'site');
const images = join(work, 'images');
let built: { outdir: string; files: BuiltDemoFile[] };
let browser: Browser;
const violations: DemoViolation[] = [];

/** The image files, by name; made in beforeAll. */
const paths: Record<string, string> = {};

function makeImages(): void {
  mkdirSync(images);
  const at = (name: string) => join(images, name);
  const register = (name: string) => {
    paths[name] = at(name);
    return at(name);
  };
  // A sparse raw disk with a few bytes every 3 MiB, so that converted images carry data.
  const source = at('source.raw');
  writeFileSync(source, '');
  truncateSync(source, 64 * MIB);
  const bytes = readFileSync(source);
  for (let offset = 0; offset < bytes.length; offset += 3 * MIB) bytes.write(`block at ${offset}`, offset);
  writeFileSync(source, bytes);

  qemuImg(['create', '-q', '-f', 'qcow2', register('disk.qcow2'), '10G']);
  qemuImg(['convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized,adapter_type=lsilogic', source, register('stream.vmdk')]);
  qemuImg(['create', '-q', '-f', 'vhdx', register('disk.vhdx'), '5G']);
  qemuImg(['create', '-q', '-f', 'vpc', register('disk.vhd'), '2G']);
  qemuImg(['create', '-q', '-f', 'vdi', register('disk.vdi'), '3G']);
  // Hostile: a qcow2 whose backing file is a host file (-u: qemu-img does not open it).
  qemuImg(['create', '-q', '-f', 'qcow2', '-u', '-b', '/etc/passwd', '-F', 'raw', register('hostile.qcow2'), '1G']);
  // A raw disk with a GPT: an EFI system partition and a Linux one.
  const efi = register('efi-disk.img');
  writeFileSync(efi, '');
  truncateSync(efi, 256 * MIB);
  run('sgdisk', ['-n1:2048:+100M', '-t1:ef00', '-n2:0:0', '-t2:8300', efi]);
  // 40 GiB, sparse: the size of a real disk, a few KiB on the file system.
  const big = register('big-40G.raw');
  writeFileSync(big, '');
  truncateSync(big, 40 * GIB);
  run('sgdisk', ['-n1:2048:+512M', '-t1:ef00', '-n2:0:0', '-t2:8300', big]);
  // An installer ISO (BIOS and UEFI boot) with Debian's volume id.
  copyFileSync(makeIso(images, 'debian-installer', { volumeId: 'Debian 12.2.0 amd64 n', bios: true, efi: true }), register('debian-12.2.0-amd64-netinst.iso'));
  // Compressed: the qcow2 through xz.
  copyFileSync(paths['disk.qcow2'] as string, at('compressed.qcow2'));
  run('xz', ['-T1', at('compressed.qcow2')]);
  register('compressed.qcow2.xz');
  // An OVA: VirtualBox's OVF descriptor (EFI firmware, Debian) and a streamOptimized VMDK, as GNU tar packs it.
  const ovaDir = join(images, 'ova');
  mkdirSync(ovaDir);
  copyFileSync(join(fixturesRoot, 'ovf', 'virtualbox-7.0-ovf1.0-efi.ovf'), join(ovaDir, 'Debian 12.ovf'));
  copyFileSync(paths['stream.vmdk'] as string, join(ovaDir, 'Debian 12-disk001.vmdk'));
  run('tar', ['-c', '--format=ustar', '-f', register('Debian 12.ova'), 'Debian 12.ovf', 'Debian 12-disk001.vmdk'], { cwd: ovaDir });
  // Two layers: a small raw disk with a GPT in a tar, compressed with gzip.
  const tarDir = join(images, 'tar');
  mkdirSync(tarDir);
  writeFileSync(join(tarDir, 'small-disk.img'), '');
  truncateSync(join(tarDir, 'small-disk.img'), 8 * MIB);
  run('sgdisk', ['-n1:2048:0', '-t1:8300', join(tarDir, 'small-disk.img')]);
  run('tar', ['-c', '-z', '--format=gnu', '-f', register('small-disk.tar.gz'), 'small-disk.img'], { cwd: tarDir });
  // A file cut short: a qcow2's first 100 bytes.
  writeFileSync(register('cut-short.qcow2'), readFileSync(paths['disk.qcow2'] as string).subarray(0, 100));
}

async function nodeAnswer(path: string): Promise<NodeAnswer> {
  const fileName = basename(path);
  try {
    const info = await introspectFile(path);
    return {
      fileName,
      format: info.format,
      virtualSize: info.virtualSize,
      safe: info.safety.safe,
      bytesRead: info.bytesRead,
      glance: glanceProperties(info),
      containers: (info.containers ?? []).map((layer) => layer.format),
      // What `image-introspect --json` prints for the file: its name, then the result, through JSON.
      json: JSON.parse(JSON.stringify({ filename: fileName, ...info })),
      info,
    };
  } catch (error) {
    if (!isIntrospectionError(error)) throw error;
    return { fileName, error: error.code, message: error.message };
  }
}

/** A browser context with every request, console message and page error recorded. */
async function openPage(server: DemoServer, options: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number }; ignoreHTTPSErrors?: boolean } = {}) {
  const context: BrowserContext = await browser.newContext({
    colorScheme: options.colorScheme ?? 'light',
    viewport: options.viewport ?? { width: 1280, height: 900 },
    ignoreHTTPSErrors: options.ignoreHTTPSErrors ?? false,
  });
  const requests: Request[] = [];
  const problems: string[] = [];
  context.on('request', (request) => requests.push(request));
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  const response = await page.goto(server.url);
  expect(response?.status()).toBe(200);
  // The worker is started at load: wait for it, so that what follows measures the reading.
  await page.waitForFunction(() => performance.getEntriesByType('resource').some((entry) => entry.name.endsWith('/worker.js') && (entry as PerformanceResourceTiming).responseEnd > 0));
  return { context, page, requests, problems, policy: response?.headers()['content-security-policy'] };
}

/** Sets files on the input and waits until each has its card. */
async function check(page: Page, names: string[]): Promise<void> {
  const before = await page.locator('[data-testid="result"]').count();
  await page.setInputFiles('input[type=file][multiple]', names.map((name) => paths[name] as string));
  await page.waitForFunction((count) => document.querySelectorAll('[data-testid="result"]').length === count && document.querySelectorAll('[data-testid="pending"]').length === 0, before + names.length, {
    timeout: 60_000,
  });
}

async function cards(page: Page): Promise<Card[]> {
  return page.$$eval('[data-testid="result"]', (elements) =>
    elements.map((element) => {
      const card = element as HTMLElement;
      return {
        fileName: card.querySelector('h3')?.textContent ?? '',
        format: card.dataset.format,
        virtualSize: card.dataset.virtualSize,
        safe: card.dataset.safe,
        error: card.dataset.error,
        bytesRead: card.dataset.bytesRead,
        glance: card.querySelector('[data-testid="glance-properties"]')?.textContent ?? undefined,
        command: card.querySelector('.command code')?.textContent ?? undefined,
        readText: [...card.querySelectorAll('.facts > div')].find((row) => row.querySelector('dt')?.textContent === 'Read')?.querySelector('dd')?.textContent ?? undefined,
        resultJson: card.querySelector('[data-testid="result-json"]')?.textContent ?? undefined,
        containers: card.dataset.containers,
        errorMessage: card.querySelector('.error-message')?.textContent ?? undefined,
      };
    }),
  );
}

/** The card must say what the library says in Node. */
function expectAgreement(card: Card, answer: NodeAnswer): void {
  expect(card.fileName).toBe(answer.fileName);
  if (answer.error !== undefined) {
    expect({ error: card.error, message: card.errorMessage, safe: card.safe, format: card.format }).toEqual({ error: answer.error, message: answer.message, safe: 'false', format: undefined });
    return;
  }
  // The whole result, as JSON: every field the library found in Node, found in the browser.
  expect(JSON.parse(card.resultJson ?? 'null'), `${answer.fileName}: the result JSON`).toEqual(answer.json);
  // The layers around the disk (xz, an OVA's tar), outermost first, as info.containers lists them.
  expect(card.containers?.split(' ') ?? [], `${answer.fileName}: containers`).toEqual(answer.containers);
  expect({ format: card.format, virtualSize: Number(card.virtualSize), safe: card.safe === 'true', bytesRead: Number(card.bytesRead) }).toEqual({
    format: answer.format,
    virtualSize: answer.virtualSize,
    safe: answer.safe,
    bytesRead: answer.bytesRead,
  });
  expect(JSON.parse(card.glance ?? 'null')).toEqual(answer.glance);
}

/** Requests other than the page's own files (GET, no body), and Glance's when `glance` lists its origins. */
function strayRequests(requests: Request[], server: DemoServer, glance: string[] = []): string[] {
  const own = new Set(['/', ...built.files.map((file) => `/${file.file}`), '/style.css', '/favicon.svg']);
  const stray: string[] = [];
  for (const request of requests) {
    const url = new URL(request.url());
    if (glance.includes(url.origin)) continue;
    const body = request.postDataBuffer();
    if (url.origin !== server.origin || request.method() !== 'GET' || !own.has(url.pathname) || (body !== null && body.length > 0)) {
      stray.push(`${request.method()} ${request.url()}${body ? ` (${body.length} bytes)` : ''}`);
    }
  }
  return stray;
}

/** The files the requests fetched from the page's `chunks/`. */
function chunksLoaded(requests: Request[]): string[] {
  return requests.map((request) => new URL(request.url()).pathname.slice(1)).filter((path) => path.startsWith('chunks/'));
}

/** The lazy chunk built from a source module whose path contains `source`. */
function lazyChunk(source: string): string {
  const file = built.files.find((candidate) => candidate.loads === 'lazy' && candidate.source?.includes(source));
  if (file === undefined) throw new Error(`no lazy chunk for ${source}: ${JSON.stringify(built.files)}`);
  return file.file;
}

/** The words of a command line as a POSIX shell splits them, with `openstack` a function printing its arguments. */
function shellWords(command: string): string[] {
  const result = spawnSync('sh', ['-c', `openstack() { for word in "$@"; do printf '%s\\0' "$word"; done; }\n${command}`], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`sh: ${result.stderr}`);
  return result.stdout.split('\0').slice(0, -1);
}

if (missing) describe('the demo page', () => it.skip(`skipped: ${missing}`, () => undefined));

// One build, one set of images and one browser for every test below.
beforeAll(async () => {
  if (missing) return;
  built = await buildDemo({ outdir: site });
  makeImages();
  browser = await chromium.launch({ executablePath, headless: true, args: LAUNCH_ARGS });
  const sizes = (loads: BuiltDemoFile['loads']) => built.files.filter((file) => file.loads === loads).reduce((sum, file) => sum + file.gzipBytes, 0);
  console.info(`page JS ${(sizes('initial') / 1024).toFixed(1)} KiB gzipped, worker ${(sizes('worker') / 1024).toFixed(1)} KiB, codecs loaded on demand ${(sizes('lazy') / 1024).toFixed(1)} KiB`);
});

afterAll(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(missing !== undefined)('the demo page in Chromium', () => {
  let server: DemoServer;
  const answers = new Map<string, NodeAnswer>();

  beforeAll(async () => {
    server = await startDemoServer({ root: site, port: 0, onViolation: (violation: DemoViolation) => violations.push(violation) });
    for (const path of Object.values(paths)) answers.set(basename(path), await nodeAnswer(path));
  });

  afterAll(async () => {
    await server?.close();
  });

  it('the Node oracle agrees with qemu-img on the bare images (virtual size), and refuses the file cut short', () => {
    for (const name of ['disk.qcow2', 'stream.vmdk', 'disk.vhdx', 'disk.vhd', 'disk.vdi', 'hostile.qcow2', 'efi-disk.img', 'big-40G.raw']) {
      const answer = answers.get(name);
      expect(answer?.error, name).toBeUndefined();
      expect((answer as { virtualSize: number }).virtualSize, name).toBe(qemuInfo(paths[name] as string)['virtual-size']);
    }
    expect(answers.get('cut-short.qcow2')?.error).toBe('TRUNCATED');
    // The layers the cards must show: the xz around the qcow2, the OVA around the VMDK (as the files were made).
    expect((answers.get('compressed.qcow2.xz') as { containers: string[] }).containers).toEqual(['xz']);
    expect((answers.get('Debian 12.ova') as { containers: string[] }).containers.at(-1)).toBe('ova');
    expect((answers.get('small-disk.tar.gz') as { containers: string[] }).containers).toEqual(['gzip', 'tar']);
    expect(answers.get('hostile.qcow2')).toMatchObject({ safe: false });
  });

  it('is served with a strict Content-Security-Policy: no inline script, no eval', async () => {
    const { context, page, policy, problems } = await openPage(server);
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("default-src 'none'");
    expect(policy).not.toMatch(/unsafe-|https?:\/\/|\*/);
    // An inline script is refused...
    await expect(page.addScriptTag({ content: 'window.inlineRan = true;' })).rejects.toThrow();
    // ...and so is a string compiled later (DevTools' own evaluation is exempt, a timer's string is not).
    await page.evaluate(() => void setTimeout('window.evalRan = true;' as unknown as () => void, 0));
    await expect.poll(() => violations.length).toBe(2);
    expect(await page.evaluate(() => [(window as { inlineRan?: boolean }).inlineRan, (window as { evalRan?: boolean }).evalRan])).toEqual([undefined, undefined]);
    expect(violations.splice(0).map((violation) => violation.blocked).sort()).toEqual(['eval', 'inline']);
    expect(problems.filter((problem) => !/Content Security Policy/.test(problem))).toEqual([]);
    await context.close();
  });

  it('loads only its own files, from its own origin', async () => {
    const { context, page, requests, problems } = await openPage(server);
    await page.waitForLoadState('networkidle');
    const loaded = requests.map((request) => `${new URL(request.url()).origin === server.origin ? '' : new URL(request.url()).origin}${new URL(request.url()).pathname}`);
    console.info(`the page loads ${loaded.length} files before a file is picked: ${loaded.join(' ')}`);
    expect(loaded).toContain('/main.js');
    expect(loaded).toContain('/worker.js');
    expect(strayRequests(requests, server)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('checks a qcow2 without loading any codec; an xz image loads the xz decoder and no other', async () => {
    const { context, page, requests, problems } = await openPage(server);
    await check(page, ['disk.qcow2']);
    expect(chunksLoaded(requests).filter((chunk) => built.files.some((file) => file.file === chunk && file.loads === 'lazy'))).toEqual([]);
    await check(page, ['compressed.qcow2.xz']);
    const lazy = chunksLoaded(requests).filter((chunk) => built.files.some((file) => file.file === chunk && file.loads === 'lazy'));
    expect(lazy).toEqual([lazyChunk('codecs/lzma2')]);
    const [qcow2, xz] = await cards(page);
    expect(xz).toMatchObject({ format: 'qcow2', virtualSize: qcow2?.virtualSize });
    expect(JSON.parse(xz?.glance ?? '{}')).toMatchObject({ container_format: 'compressed', disk_format: 'qcow2' });
    expect(problems).toEqual([]);
    expect(violations).toEqual([]);
    await context.close();
  });

  it('shows a card for every file that agrees with the library in Node; no request carries image bytes', async () => {
    const { context, page, requests, problems } = await openPage(server);
    const names = Object.keys(paths);
    await check(page, names);
    const shown = await cards(page);
    expect(shown.map((card) => card.fileName)).toEqual(names);
    for (const card of shown) expectAgreement(card, answers.get(card.fileName) as NodeAnswer);
    // What the person reads: qemu's units, the bytes read against the file's size.
    for (const card of shown.filter((candidate) => candidate.error === undefined)) {
      expect(card.readText).toMatch(new RegExp(`^read ${humanSize(Number(card.bytesRead)).replace('.', '\\.')} of ${humanSize(statSync(paths[card.fileName] as string).size).replace('.', '\\.')} in [\\d.]+ ms$`));
    }
    // The hostile image says why, and links the check's documentation.
    const hostile = page.getByRole('article', { name: 'hostile.qcow2' });
    await expect.poll(() => hostile.locator('.checks.failed li').allTextContents()).toEqual([expect.stringMatching(/^backing_file: a backing file, which qemu would open from the host\. Found: .*\/etc\/passwd/)]);
    expect(await hostile.locator('.checks.failed a').getAttribute('href')).toMatch(/safety\.md#the-checks$/);
    // The OVA shows its descriptor.
    const ova = page.getByRole('article', { name: 'Debian 12.ova' });
    const ovf = Object.fromEntries(
      await ova.locator('.ovf .facts > div').evaluateAll((rows) => rows.map((row) => [row.querySelector('dt')?.textContent, row.querySelector('dd')?.textContent])),
    );
    // What the library read from the descriptor in Node, in the units a person reads.
    const descriptor = (answers.get('Debian 12.ova') as { info: ImageInfo }).info.ovf;
    const [ovfDisk] = descriptor?.disks ?? [];
    expect(descriptor?.firmware).toBe('efi');
    expect(ovf).toMatchObject({ Name: descriptor?.name, CPUs: String(descriptor?.cpus), Memory: humanSize(descriptor?.memoryBytes ?? Number.NaN), Firmware: 'UEFI' });
    expect(ovf.Disk).toMatch(new RegExp(`^${ovfDisk?.href}, ${humanSize(ovfDisk?.capacityBytes ?? Number.NaN)}`.replaceAll('.', '\\.')));
    // The layers read from the disk outwards, with the member's name, as Node's info.containers has them.
    for (const name of ['small-disk.tar.gz', 'compressed.qcow2.xz', 'Debian 12.ova']) {
      const layers = (answers.get(name) as { info: ImageInfo }).info.containers ?? [];
      const inside = await page.getByRole('article', { name }).locator('.facts > div').filter({ has: page.locator('dt', { hasText: /^Inside$/ }) }).locator('dd').textContent();
      expect(inside, name).toBe([...layers].reverse().map((layer) => (layer.member === undefined ? layer.format : `${layer.format} (member ${layer.member})`)).join(', in '));
    }
    // The cut file's card explains in words.
    expect(await page.getByRole('article', { name: 'cut-short.qcow2' }).locator('.error-summary').textContent()).toMatch(/cut short/);
    // Every result is announced in the live region.
    const announced = await page.getByRole('status').textContent();
    for (const name of names) expect(announced).toContain(name);

    expect(strayRequests(requests, server)).toEqual([]);
    expect(problems).toEqual([]);
    expect(violations).toEqual([]);
    await context.close();
  });

  it('shows the card of a 40 GiB sparse raw disk after reading a few KiB of it', async () => {
    const { context, page, problems } = await openPage(server);
    const started = Date.now();
    await check(page, ['big-40G.raw']);
    const elapsed = Date.now() - started;
    const [card] = await cards(page);
    expectAgreement(card as Card, answers.get('big-40G.raw') as NodeAnswer);
    expect(Number(card?.virtualSize)).toBe(40 * GIB);
    expect(Number(card?.bytesRead)).toBeLessThan(MIB);
    // Recorded, not asserted (tests never time things): the issue asks for "well under a second".
    console.info(`40 GiB raw disk: card shown ${elapsed} ms after the file was set on the input; the page's own words: "${card?.readText}"`);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('is usable from the keyboard; the command line it offers is what the shell reads', async () => {
    const { context, page, problems } = await openPage(server);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.origin });
    expect(await page.getByLabel('Choose disk images').getAttribute('type')).toBe('file');
    await check(page, ['Debian 12.ova']);
    const card = page.getByRole('article', { name: 'Debian 12.ova' });
    const properties = JSON.parse((await card.getByTestId('glance-properties').textContent()) ?? '{}') as Record<string, string | number>;
    // A name that needs quoting.
    await card.getByLabel('Image name').fill("Debian 12 'bookworm' $HOME");
    // Tab from the file input to the card's Copy button, and press it.
    await page.getByLabel('Choose disk images').focus();
    let reached = false;
    for (let presses = 0; presses < 20 && !reached; presses += 1) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.textContent === 'Copy command');
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Command copied.');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    const { disk_format, container_format, min_disk, ...rest } = properties;
    expect(shellWords(copied)).toEqual([
      'image',
      'create',
      '--disk-format',
      disk_format,
      '--container-format',
      container_format,
      '--min-disk',
      String(min_disk),
      ...Object.entries(rest).flatMap(([key, value]) => ['--property', `${key}=${value}`]),
      '--file',
      'Debian 12.ova',
      "Debian 12 'bookworm' $HOME",
    ]);
    expect(properties).toMatchObject({ container_format: 'ova', hw_firmware_type: 'uefi', vmware_disktype: 'streamOptimized' });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('fits a phone screen, and follows the dark theme', async () => {
    const background = async (colorScheme: 'light' | 'dark', viewport?: { width: number; height: number }) => {
      const { context, page, problems } = await openPage(server, { colorScheme, ...(viewport && { viewport }) });
      await check(page, ['hostile.qcow2']);
      const look = await page.evaluate(() => ({
        background: getComputedStyle(document.body).backgroundColor,
        overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      }));
      expect(problems).toEqual([]);
      await context.close();
      return look;
    };
    const phone = await background('light', { width: 390, height: 844 });
    expect(phone.overflow).toBeLessThanOrEqual(0);
    const dark = await background('dark');
    const light = await background('light');
    expect(dark.background).not.toBe(light.background);
  });

  it('takes the screenshot for the README', async () => {
    const { context, page, problems } = await openPage(server, { viewport: { width: 1200, height: 900 } });
    await check(page, ['Debian 12.ova', 'hostile.qcow2', 'big-40G.raw']);
    const target = process.env.UPDATE_DEMO_SCREENSHOT ? join(projectRoot, 'docs', 'demo.png') : join(work, 'demo.png');
    await page.screenshot({ path: target, fullPage: true });
    expect(statSync(target).size).toBeGreaterThan(10_000);
    expect(problems).toEqual([]);
    await context.close();
  });
});

// ---------------------------------------------------------------------------------------
// Uploads to a real Glance

/** A TLS HTTP/2 proxy in front of an HTTP/1.1 server: Chromium streams request bodies only over HTTP/2. */
async function startHttp2Proxy(target: string, dir: string): Promise<{ url: string; close(): Promise<void> }> {
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'host']);
  const server = createSecureServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (request: Http2ServerRequest, response: Http2ServerResponse) => {
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !name.startsWith(':') && !hopByHop.has(name)));
    const upstream = httpRequest(`${target}${request.url}`, { method: request.method, headers }, (answer) => {
      const answerHeaders = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !hopByHop.has(name)));
      response.writeHead(answer.statusCode ?? 502, answerHeaders);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { url: `https://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const uploadMissing = missing ?? glanceMissing;
if (uploadMissing && !missing) describe('uploads from the demo page', () => it.skip(`skipped: ${uploadMissing}`, () => undefined));

describe.skipIf(uploadMissing !== undefined)('uploads from the demo page to a real Glance', () => {
  let glance: GlanceService;
  let proxy: { url: string; close(): Promise<void> };
  let server: DemoServer;
  let failed = false;
  const proxyDir = join(work, 'proxy');

  beforeAll(async () => {
    // The page's origin first: Glance's CORS must allow it, and the page's CSP must allow Glance.
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    glance = await startGlance({ corsOrigins: [origin] });
    mkdirSync(proxyDir, { recursive: true });
    proxy = await startHttp2Proxy(glance.url, proxyDir);
    server = await startDemoServer({ root: site, port, connectTo: [glance.url, proxy.url], onViolation: (violation: DemoViolation) => violations.push(violation) });
    expect(server.origin).toBe(origin);
  });

  afterEach((context) => {
    if (context.task.result?.state !== 'fail') return;
    failed = true;
    if (glance) console.error(`Glance logs (${glance.dir}):\n${tail(glance.logs(), 60)}`);
  });

  afterAll(async () => {
    await server?.close();
    await proxy?.close();
    await glance?.stop({ keepDir: failed });
  });

  const images = async () => ((await (await fetch(`${glance.url}/v2/images?limit=1000`)).json()) as { images: GlanceImage[] }).images;

  /** Fills the Glance settings, presses the card's Upload, waits for its outcome. */
  async function upload(page: Page, fileName: string, endpoint: string, options: { override?: boolean } = {}) {
    const settings = page.locator('#glance-settings');
    if ((await settings.getAttribute('open')) === null) await settings.locator('summary').click();
    await page.getByLabel('Image endpoint').fill(endpoint);
    await page.getByLabel('Token').fill('any-token');
    const card = page.getByRole('article', { name: fileName });
    if (options.override) await card.getByLabel('Upload anyway, despite the failed checks').check();
    await card.getByRole('button', { name: 'Upload to Glance' }).click();
    const status = card.locator('.upload-status');
    await expect.poll(() => status.getAttribute('data-outcome'), { timeout: 120_000 }).not.toBeNull();
    return { card, outcome: await status.getAttribute('data-outcome'), text: (await status.textContent()) ?? '' };
  }

  /** The stored image must be active, the file's size, with exactly the properties the card showed. */
  async function expectStored(card: ReturnType<Page['getByRole']>, fileName: string): Promise<GlanceImage> {
    const id = await card.getAttribute('data-glance-image');
    expect(id).toBeTruthy();
    const stored = (await (await fetch(`${glance.url}/v2/images/${id}`)).json()) as GlanceImage;
    expect(stored.status).toBe('active');
    expect(stored.size).toBe(statSync(paths[fileName] as string).size);
    const shown = JSON.parse((await card.getByTestId('glance-properties').textContent()) ?? '{}') as Record<string, unknown>;
    for (const [key, value] of Object.entries(shown)) expect(stored[key], key).toBe(value);
    expect(shown).toEqual(await answersFor(fileName));
    return stored;
  }

  const answersFor = (fileName: string) => {
    const path = paths[fileName] as string;
    return introspectFile(path).then((info) => glanceProperties(info));
  };

  it('over HTTP/1.1 sends the File with progress; the image lands active with the shown properties', async () => {
    const { context, page, requests, problems } = await openPage(server);
    await check(page, ['disk.qcow2', 'Debian 12.ova']);
    for (const fileName of ['disk.qcow2', 'Debian 12.ova']) {
      const { card, outcome, text } = await upload(page, fileName, glance.url);
      expect({ outcome, text }).toMatchObject({ outcome: 'done' });
      expect(await card.getAttribute('data-upload-method')).toBe('file');
      expect(await card.locator('progress').evaluate((bar) => (bar as HTMLProgressElement).value)).toBe(statSync(paths[fileName] as string).size);
      await expectStored(card, fileName);
    }
    // Only the page's files, and Glance.
    expect(strayRequests(requests, server, [new URL(glance.url).origin])).toEqual([]);
    const toGlance = requests.filter((request) => request.url().startsWith(glance.url)).map((request) => `${request.method()} ${new URL(request.url()).pathname.replace(/[0-9a-f-]{36}/, 'ID')}`);
    expect(toGlance.filter((line) => !line.startsWith('OPTIONS'))).toEqual(['POST /v2/images', 'PUT /v2/images/ID/file', 'GET /v2/images/ID', 'POST /v2/images', 'PUT /v2/images/ID/file', 'GET /v2/images/ID']);
    expect(problems).toEqual([]);
    expect(violations).toEqual([]);
    await context.close();
  });

  it('refuses the unsafe image and creates nothing, unless the person overrides', async () => {
    const { context, page, problems } = await openPage(server);
    await check(page, ['hostile.qcow2']);
    const before = (await images()).length;
    const refused = await upload(page, 'hostile.qcow2', glance.url);
    expect(refused).toMatchObject({ outcome: 'failed', text: expect.stringMatching(/^Refused: the image is unsafe \(backing_file\)/) });
    expect((await images()).length).toBe(before);
    const overridden = await upload(page, 'hostile.qcow2', glance.url, { override: true });
    expect(overridden.outcome).toBe('done');
    const stored = await expectStored(overridden.card, 'hostile.qcow2');
    expect(stored.disk_format).toBe('qcow2');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('over HTTP/2 streams the file through inspect() (one read), and the image lands active', async () => {
    const { context, page, requests, problems } = await openPage(server, { ignoreHTTPSErrors: true });
    await check(page, ['stream.vmdk']);
    const { card, outcome, text } = await upload(page, 'stream.vmdk', proxy.url);
    expect({ outcome, text }).toMatchObject({ outcome: 'done' });
    expect(await card.getAttribute('data-upload-method')).toBe('stream');
    const stored = await expectStored(card, 'stream.vmdk');
    expect(stored).toMatchObject({ disk_format: 'vmdk', vmware_disktype: 'streamOptimized', vmware_adaptertype: 'lsiLogic' });
    expect(strayRequests(requests, server, [new URL(proxy.url).origin])).toEqual([]);
    expect(problems).toEqual([]);
    expect(violations).toEqual([]);
    await context.close();
  });
});
