/**
 * introspectUrl against a real HTTP server in this process (test/helpers/range-server.mjs):
 * a range server, a Glance-like one (HEAD 405, no Accept-Ranges), one that ignores Range,
 * one whose object changes, errors, redirects, resets. The oracle for every answer is the
 * same image read from a file; for request counts, qemu-img's curl driver on the same server.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allFormats } from '../../formats/index.js';
import { RangeBackend, bytesSource } from '../../src/reading/range-backend.js';
import { Budget, Reader } from '../../src/reading/reader.js';
import { openRemoteObject } from '../../src/remote/range-fetcher.js';
import { introspectUrlWith, remoteBackend } from '../../src/remote/introspect-url.js';
import { CompiledUrlFilter } from '../../src/remote/url-filter.js';
import { introspectUrl as introspectUrlInBrowsersToo } from '../../src/index.js';
import { introspectFile, introspectUrl } from '../../src/node.js';
import { rejectionOf } from '../helpers/errors.js';
import { type Fixture, fixtures } from '../helpers/fixtures.js';
import { hasQemuImg, qemuImg, qemuMissing } from '../helpers/qemu.js';
import { type RangeServer, startRangeServer } from '../helpers/range-server.mjs';

const formatFolders = ['bochs', 'cloop', 'dmg', 'iso', 'luks', 'parallels', 'qcow', 'qcow2', 'qed', 'raw', 'vdi', 'vhd', 'vhdx', 'vmdk'];
const all: Array<Fixture & { folder: string }> = formatFolders.flatMap((folder) => fixtures(folder).map((fixture) => ({ ...fixture, folder })));
const permissive = { urlFilter: 'permissive' } as const;

let server: RangeServer;
const work = mkdtempSync(join(tmpdir(), 'image-introspect-remote-'));
beforeAll(async () => {
  server = await startRangeServer();
});
afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

/** A result without what legitimately differs between reading a file and a URL. */
function comparable(info: unknown): unknown {
  return JSON.parse(JSON.stringify({ ...(info as object), bytesRead: 0 }));
}

/** An outcome: the comparable result, or the error's code and message without the source's name. */
async function outcome(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(comparable, (error: { code?: string; field?: string }) => ({ code: error.code, field: error.field }));
}

/** The byte ranges the server sent for the requests in the log since the last reset. */
function sentRanges(): Array<[number, number]> {
  return server.log
    .filter((entry) => entry.status === 206 && entry.range !== undefined)
    .map((entry) => {
      const start = Number((entry.range as string).replace(/^bytes=(\d+)-.*$/, '$1'));
      return [start, start + entry.bytesSent] as [number, number];
    });
}

describe('every committed fixture: introspectUrl gives what introspectFile gives', () => {
  const folder = join(work, 'fixtures');
  beforeAll(() => {
    mkdirSync(folder, { recursive: true });
    for (const fixture of all) {
      const bytes = fixture.bytes();
      writeFileSync(join(folder, fixture.name), bytes);
      server.add(fixture.name, bytes);
    }
  });

  for (const fixture of all) {
    it(`${fixture.folder}/${fixture.name}`, async () => {
      const expected = await outcome(introspectFile(join(folder, fixture.name)));
      for (const mode of ['ranges', 'glance', 'norange']) {
        server.reset();
        expect(await outcome(introspectUrl(server.at(mode, fixture.name), permissive)), mode).toEqual(expected);
        if (mode === 'norange') continue;
        // No HEAD; no byte asked for twice.
        expect(server.log.some((entry) => entry.method !== 'GET')).toBe(false);
        const ranges = sentRanges().sort((a, b) => a[0] - b[0]);
        for (let index = 1; index < ranges.length; index += 1) expect((ranges[index] as [number, number])[0]).toBeGreaterThanOrEqual((ranges[index - 1] as [number, number])[1]);
      }
    });
  }
});

describe('requests and bytes', () => {
  it('a qcow2 is answered from the first response; bytesRead counts the body bytes received', async () => {
    const fixture = all.find((candidate) => candidate.name === 'converted.qcow2') as Fixture;
    server.add('first.qcow2', fixture.bytes());
    server.reset();
    const info = await introspectUrl(server.at('glance', 'first.qcow2'), permissive);
    expect(info.format).toBe('qcow2');
    expect(server.log).toHaveLength(1);
    expect(info.bytesRead).toBe(server.log[0]?.bytesSent);
  });

  /** A reader over `bytes` served as `name` by the Glance-like server (the server's log reset first). */
  async function glanceReader(name: string, bytes: Uint8Array): Promise<Reader> {
    server.add(name, bytes);
    server.reset();
    const filter = CompiledUrlFilter.compile('permissive');
    const object = await openRemoteObject(new URL(server.at('glance', name)), { headers: {}, transport: { fetch: (url, init) => fetch(url, init), checksAddresses: false }, filter, signal: undefined });
    if (object.kind !== 'ranges') throw new Error('expected ranges');
    return new Reader(remoteBackend(object.fetcher, undefined), { budget: new Budget(4 * 1024 * 1024), probeLimit: 65536, detect: false });
  }

  it('a batch of reads (readMany) with small gaps is one request, a single range (Glance refuses several)', async () => {
    const bytes = new Uint8Array(4 * 1024 * 1024).map((_, index) => index % 251);
    const reader = await glanceReader('batch.bin', bytes);
    const wanted = [
      { key: 'a', offset: 1_000_000, length: 100, field: 'a' },
      { key: 'b', offset: 1_030_000, length: 200, field: 'b' },
      { key: 'c', offset: 1_060_000, length: 300, field: 'c' },
    ];
    const got = await reader.readMany(wanted);
    for (const range of wanted) expect(got.get(range.key)).toEqual(bytes.subarray(range.offset, range.offset + range.length));
    expect(server.log).toHaveLength(2);
    expect(server.log[1]?.range).toBe('bytes=1000000-1060299');
    await reader.release();
  });

  it('a walk announced with expectReads is one request from a URL, and reads nothing from a file', async () => {
    const bytes = new Uint8Array(4 * 1024 * 1024).map((_, index) => index % 253);
    const walk = { offset: 40_000, length: 500_000 };
    const remote = await glanceReader('walk.bin', bytes);
    await remote.expectReads([walk]);
    // The walk in 32 KiB steps, as a scan reads: no request beyond the announced one.
    for (let offset = walk.offset; offset < walk.offset + walk.length; offset += 32 * 1024) {
      const length = Math.min(32 * 1024, walk.offset + walk.length - offset);
      expect(await remote.read(offset, length, 'walk')).toEqual(bytes.subarray(offset, offset + length));
    }
    expect(server.log.map((entry) => entry.range)).toEqual([`bytes=0-${33 * 1024 - 1}`, `bytes=${walk.offset}-${walk.offset + walk.length - 1}`]);
    await remote.release();
    const local = new Reader(new RangeBackend(bytesSource(bytes), bytes.byteLength, undefined), { budget: new Budget(4 * 1024 * 1024), probeLimit: 65536, detect: false });
    await local.expectReads([walk]);
    expect(local.bytesRead).toBe(0);
    await local.release();
  });

  it.skipIf(!hasQemuImg)(`no more requests than qemu-img over its curl driver, on images qemu-img makes${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, async () => {
    const folder = join(work, 'made');
    mkdirSync(folder, { recursive: true });
    const made: Array<[string, string[]]> = [
      ['empty.qcow2', ['create', '-q', '-f', 'qcow2']],
      ['sparse.vmdk', ['create', '-q', '-f', 'vmdk']],
      ['stream.vmdk', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=streamOptimized']],
      ['dynamic.vhd', ['create', '-q', '-f', 'vpc']],
      ['fixed.vhd', ['create', '-q', '-f', 'vpc', '-o', 'subformat=fixed']],
      ['dynamic.vhdx', ['create', '-q', '-f', 'vhdx']],
      ['dynamic.vdi', ['create', '-q', '-f', 'vdi']],
      ['empty.qed', ['create', '-q', '-f', 'qed']],
      ['plain.raw', ['create', '-q', '-f', 'raw']],
    ];
    for (const [name, args] of made) {
      qemuImg([...args, join(folder, name), '64M']);
      server.add(`made-${name}`, new Uint8Array(readFileSync(join(folder, name))));
      server.reset();
      const qemu = await qemuOverCurl(server.at('ranges', `made-${name}`));
      expect(qemu.status, name).toBe(0);
      const qemuRequests = server.log.length;
      server.reset();
      await introspectUrl(server.at('ranges', `made-${name}`), permissive);
      expect(server.log.length, name).toBeLessThanOrEqual(qemuRequests);
    }
  });
});

const hasTool = (tool: string, flag = '--version') => spawnSync(tool, [flag], { encoding: 'utf8' }).error === undefined;
const udfToolsPresent = hasTool('mkudffs') && hasTool('genisoimage');

describe('requests on ISO and UDF images', () => {
  // UDF's anchor lies at sector 256 (512 KiB in on 2048-byte blocks) with its descriptors
  // before it, a long forward walk; qemu-img reads one 256 KiB block (it treats any ISO as raw).
  it.skipIf(!hasQemuImg || !udfToolsPresent)(
    `no more requests than qemu-img over its curl driver, on UDF volumes made by mkudffs and genisoimage and on every committed ISO${hasQemuImg && udfToolsPresent ? '' : ` (skipped: ${hasQemuImg ? 'mkudffs or genisoimage is not installed (apt-get install udftools genisoimage)' : qemuMissing})`}`,
    async () => {
      const folder = join(work, 'udf');
      mkdirSync(join(folder, 'tree'), { recursive: true });
      writeFileSync(join(folder, 'tree', 'hello.txt'), 'hello\n');
      const run = (tool: string, args: string[]) => {
        const result = spawnSync(tool, args, { encoding: 'utf8', cwd: folder });
        if (result.status !== 0) throw new Error(`${tool} ${args.join(' ')}: ${result.stderr}`);
      };
      // 4096-byte blocks are left out: their anchor is 1 MiB in, and the walk announced before the recognition sequence's spacing is known assumes 2048 (a third request).
      for (const blockSize of [512, 1024, 2048]) run('mkudffs', ['--new-file', `--blocksize=${blockSize}`, '--media-type=hd', `udf-${blockSize}.udf`, String((4 * 1024 * 1024) / blockSize)]);
      run('genisoimage', ['-quiet', '-udf', '-o', 'bridge.iso', 'tree']);
      const images: Array<[string, Uint8Array]> = [
        ...['udf-512.udf', 'udf-1024.udf', 'udf-2048.udf', 'bridge.iso'].map((name): [string, Uint8Array] => [name, new Uint8Array(readFileSync(join(folder, name)))]),
        ...all.filter((fixture) => fixture.folder === 'iso').map((fixture): [string, Uint8Array] => [fixture.name, fixture.bytes()]),
      ];
      for (const [name, bytes] of images) {
        writeFileSync(join(folder, name), bytes);
        server.add(`udf-${name}`, bytes);
        server.reset();
        const qemu = await qemuOverCurl(server.at('ranges', `udf-${name}`));
        expect(qemu.status, name).toBe(0);
        const qemuRequests = server.log.length;
        server.reset();
        const info = await introspectUrl(server.at('ranges', `udf-${name}`), permissive);
        expect(server.log.length, name).toBeLessThanOrEqual(qemuRequests);
        expect(comparable(info), name).toEqual(comparable(await introspectFile(join(folder, name))));
      }
    },
  );
});

/** qemu-img info through its curl driver (spawned, so that this process's server keeps answering). */
function qemuOverCurl(url: string): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn('qemu-img', ['info', '--output=json', `json:${JSON.stringify({ 'file.driver': 'http', 'file.url': url })}`]);
    let stdout = '';
    child.stdout.on('data', (data: Buffer) => {
      stdout += data.toString();
    });
    child.stderr.resume();
    child.on('close', (status) => resolve({ status, stdout }));
  });
}

describe('a server that ignores Range', () => {
  it.skipIf(!hasQemuImg)('a 256 MiB streamOptimized VMDK is answered from its first bytes and the response is cancelled', async () => {
    const raw = join(work, 'random.raw');
    const data = new Uint8Array(256 * 1024 * 1024);
    // Incompressible: the VMDK is as large as its data.
    for (let offset = 0; offset < data.byteLength; offset += 65536) crypto.getRandomValues(data.subarray(offset, offset + 65536));
    writeFileSync(raw, data);
    const vmdk = join(work, 'random-stream.vmdk');
    qemuImg(['convert', '-q', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, vmdk]);
    rmSync(raw);
    const bytes = new Uint8Array(readFileSync(vmdk));
    expect(bytes.byteLength).toBeGreaterThan(256 * 1024 * 1024);
    server.add('random-stream.vmdk', bytes);
    server.reset();
    const info = await introspectUrl(server.at('norange', 'random-stream.vmdk'), permissive);
    expect(info).toMatchObject({ format: 'vmdk', virtualSize: 256 * 1024 * 1024, details: { createType: 'streamOptimized' } });
    expect(info.bytesRead).toBeLessThan(4 * 1024 * 1024);
    // The server stopped writing once the client hung up (what the sockets buffered aside).
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.log[0]?.bytesSent).toBeLessThan(64 * 1024 * 1024);
    server.add('random-stream.vmdk', new Uint8Array(0));
  });
});

describe('the object must not change between requests', () => {
  const fixed = () => (all.find((candidate) => candidate.name === 'fixed-1M.vhd') as Fixture).bytes();

  it('a change that the ETag shows (If-Range answered 200) is SOURCE_ERROR, never a mix', async () => {
    server.add('changing.vhd', fixed());
    server.reset();
    const error = await rejectionOf(introspectUrl(server.at('changing', 'changing.vhd'), permissive));
    expect(error.code).toBe('SOURCE_ERROR');
    expect(error.message).toMatch(/changed between requests/);
    expect(server.log[1]?.headers['if-range']).toMatch(/^"/);
  });

  it('without validators, a change of Content-MD5 (as Glance sends) is SOURCE_ERROR', async () => {
    server.add('silent.vhd', fixed());
    server.reset();
    const error = await rejectionOf(introspectUrl(server.at('changing-silent', 'silent.vhd'), permissive));
    expect(error.code).toBe('SOURCE_ERROR');
    expect(error.message).toMatch(/Content-MD5 .* changed between requests/);
  });
});

describe('HTTP errors', () => {
  beforeAll(() => server.add('err.qcow2', (all.find((candidate) => candidate.name === 'converted.qcow2') as Fixture).bytes()));

  it('4xx: SOURCE_ERROR naming the status and URL, never a "raw" answer from the error page, not retried', async () => {
    for (const status of [401, 403, 404, 410]) {
      server.reset();
      const url = `${server.url}/status/${status}/err.qcow2`;
      const error = await rejectionOf(introspectUrl(url, permissive));
      expect(error.code).toBe('SOURCE_ERROR');
      expect(error.message).toContain(`answered ${status}`);
      expect(error.message).toContain(url);
      expect(server.log).toHaveLength(1);
    }
  });

  it('5xx: retried a bounded number of times, then SOURCE_ERROR', async () => {
    server.reset();
    const error = await rejectionOf(introspectUrlWith(`${server.url}/status/503/err.qcow2`, permissive, allFormats, { retryBaseDelayMs: 1 }));
    expect(error.code).toBe('SOURCE_ERROR');
    expect(error.message).toMatch(/answered 503 .*after 4 attempts/);
    expect(server.log).toHaveLength(4);
  });

  it('a reset connection and a 503 are retried, and the answer is the right one', async () => {
    const expected = comparable(await introspectUrl(server.at('ranges', 'err.qcow2'), permissive));
    for (const path of ['/flaky/2/ranges/err.qcow2', '/busy/2/glance/err.qcow2']) {
      server.reset();
      expect(comparable(await introspectUrlWith(`${server.url}${path}`, permissive, allFormats, { retryBaseDelayMs: 1 }))).toEqual(expected);
      expect(server.log).toHaveLength(3);
    }
  });

  it('a body cut short is asked for again from where it stopped, then SOURCE_ERROR; a wrong Content-Range is SOURCE_ERROR', async () => {
    server.reset();
    const short = await rejectionOf(introspectUrlWith(`${server.url}/short/err.qcow2`, permissive, allFormats, { retryBaseDelayMs: 1 }));
    expect(short.code).toBe('SOURCE_ERROR');
    expect(short.message).toMatch(/of the \d+ bytes its Content-Range announced|broke off/);
    const starts = server.log.map((entry) => Number((entry.range ?? '').replace(/^bytes=(\d+)-.*$/, '$1')));
    expect(new Set(starts).size).toBe(starts.length);
    const wrong = await rejectionOf(introspectUrl(`${server.url}/wrong-range/err.qcow2`, permissive));
    expect(wrong.code).toBe('SOURCE_ERROR');
    expect(wrong.message).toMatch(/Content-Range/);
  });

  it('an empty object (Glance: 416 without Content-Range) is what an empty file is', async () => {
    server.add('empty.img', new Uint8Array(0));
    const path = join(work, 'empty.img');
    writeFileSync(path, new Uint8Array(0));
    for (const mode of ['glance', 'ranges']) {
      expect(await outcome(introspectUrl(server.at(mode, 'empty.img'), permissive))).toEqual(await outcome(introspectFile(path)));
    }
  });

  it('the signal aborts a request in flight', async () => {
    const controller = new AbortController();
    const pending = introspectUrl(`${server.url}/stall/x`, { ...permissive, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    expect((await rejectionOf(pending)).code).toBe('ABORTED');
  });
});

describe('redirects and headers', () => {
  beforeAll(() => server.add('r.qcow2', (all.find((candidate) => candidate.name === 'converted.qcow2') as Fixture).bytes()));

  it('redirects are followed (later requests go straight to where they led), up to a bound', async () => {
    const fixed = (all.find((candidate) => candidate.name === 'fixed-1M.vhd') as Fixture).bytes();
    server.add('r.vhd', fixed);
    server.reset();
    const info = await introspectUrl(`${server.url}/redirect/3/ranges/r.vhd`, permissive);
    expect(info.format).toBe('vhd');
    expect(server.log.map((entry) => entry.path.split('/')[1])).toEqual(['redirect', 'redirect', 'redirect', 'ranges', 'ranges']);
    const error = await rejectionOf(introspectUrl(`${server.url}/redirect/9/ranges/r.qcow2`, permissive));
    expect(error.code).toBe('SOURCE_ERROR');
    expect(error.message).toMatch(/redirected more than 5 times/);
  });

  it('headers are sent to the URL\'s origin and dropped on a redirect to another origin', async () => {
    server.reset();
    await introspectUrl(server.at('echo-headers', 'r.qcow2'), { ...permissive, headers: { 'X-Auth-Token': 'secret-token' } });
    expect(server.log[0]?.headers['x-auth-token']).toBe('secret-token');
    server.reset();
    // localhost and 127.0.0.1 are two origins (the same server).
    const elsewhere = `http://localhost:${server.port}/echo-headers/r.qcow2`;
    await introspectUrl(`${server.url}/redirect-to/${encodeURIComponent(elsewhere)}`, { ...permissive, headers: { 'X-Auth-Token': 'secret-token' } });
    expect(server.log[0]?.headers['x-auth-token']).toBe('secret-token');
    expect(server.log[1]?.headers['x-auth-token']).toBeUndefined();
  });

  it('bad headers, a bad URL and unknown options are INVALID_ARGUMENT', async () => {
    for (const options of [{ headers: { Range: 'bytes=0-1' } }, { headers: { 'X-A': 'a\r\nB: b' } }, { headers: 'x' }, { fetch: 5 }, { urlFilter: { allowedRanges: ['300.0.0.0/8'] } }, { urlfilter: 'permissive' }]) {
      expect((await rejectionOf(introspectUrl(server.at('ranges', 'r.qcow2'), options as never))).code).toBe('INVALID_ARGUMENT');
    }
    expect((await rejectionOf(introspectUrl('not a url'))).code).toBe('INVALID_ARGUMENT');
    expect((await rejectionOf(introspectUrl(5 as never))).code).toBe('INVALID_ARGUMENT');
  });

  it('a URL option given where it does not apply is refused, saying where it belongs', async () => {
    const bytes = (all.find((candidate) => candidate.name === 'converted.qcow2') as Fixture).bytes();
    const fileOption = await rejectionOf(introspectUrlInBrowsersToo(server.at('ranges', 'r.qcow2'), { ...permissive, blockingReads: true } as never));
    expect(fileOption).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/option "blockingReads" does not apply here \(only introspectFile takes it\)/) });
    const { introspect } = await import('../../src/index.js');
    const urlOption = await rejectionOf(introspect(bytes, { headers: { 'X-Auth-Token': 't' } } as never));
    expect(urlOption).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/option "headers" does not apply here \(only introspectUrl takes it\)/) });
    const typo = await rejectionOf(introspectUrl(server.at('ranges', 'r.qcow2'), { ...permissive, backingchain: true } as never));
    expect(typo.message).toMatch(/unknown option "backingchain" \(did you mean "backingChain"\?\)/);
  });

  it('the root introspectUrl (plain fetch) reads by ranges too', async () => {
    server.reset();
    const info = await introspectUrlInBrowsersToo(server.at('glance', 'r.qcow2'), permissive);
    expect(comparable(info)).toEqual(comparable(await introspectUrl(server.at('ranges', 'r.qcow2'), permissive)));
  });
});
