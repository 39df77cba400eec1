/**
 * What trying the library as a new user and as a hostile caller turned up (issue 9): answers
 * that depended on the budget or the kind of source, sources that stall, a caller's
 * mistakes. Every test here failed on the code before the reading layer was redesigned.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { inspect, introspect, isIntrospectionError, raw, verifyDiskFormat, vmdk, type FormatModule } from '../../src/index.js';
import { introspectFile } from '../../src/node.js';
import { rejectionOf } from '../helpers/errors.js';
import { fixtureBytes } from '../helpers/fixtures.js';
import { makeSource, sourceKinds } from '../helpers/sources.js';

const work = mkdtempSync(join(tmpdir(), 'image-introspect-caller-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const encode = (text: string) => new TextEncoder().encode(text);

/** A VMDK descriptor whose one FLAT extent reads a host file, after `commentBytes` of `#` comments. */
function descriptorAfterComments(commentBytes: number): Uint8Array {
  const line = `#${'x'.repeat(78)}\n`;
  const comments = line.repeat(Math.ceil(commentBytes / line.length));
  return encode(`${comments}version=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 2048 FLAT "/etc/passwd" 0\n`);
}

describe('detection and the verdict never depend on the budget or the kind of source', () => {
  const hostile = descriptorAfterComments(40_000);
  const budgets = [undefined, { maxBufferBytes: 262_144 }, { probeBytes: 102_400 }, { maxBufferBytes: 65_536 }, { probeBytes: 65_536, maxBufferBytes: 131_072 }];

  it('a descriptor after 40 KB of comments is VMDK and unsafe under every budget, from every source (or LIMIT_EXCEEDED)', async () => {
    for (const budget of budgets) {
      for (const kind of sourceKinds) {
        const outcome: unknown = await introspect(makeSource(kind, hostile), budget).catch((error: unknown) => error);
        const label = `${JSON.stringify(budget)} ${kind}`;
        if (isIntrospectionError(outcome)) {
          expect(outcome.code, label).toBe('LIMIT_EXCEEDED');
        } else {
          const info = outcome as Awaited<ReturnType<typeof introspect>>;
          expect(info.format, label).toBe('vmdk');
          expect(info.safety.safe, label).toBe(false);
        }
      }
    }
  });

  it('a budget too small to decide is LIMIT_EXCEEDED, never raw', async () => {
    const longer = descriptorAfterComments(200_000);
    for (const kind of sourceKinds) {
      const error = await rejectionOf(introspect(makeSource(kind, longer), { probeBytes: 102_400 }));
      expect(error.code, kind).toBe('LIMIT_EXCEEDED');
    }
    expect((await introspect(longer)).format).toBe('vmdk');
  });

  it("qemu's own small monolithicFlat descriptor is read under the smallest budget: reads ask for what exists", async () => {
    const small = encode('# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\n# Extent description\nRW 2048 FLAT "disk-flat.vmdk" 0\n\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = "4"\nddb.adapterType = "ide"\n');
    for (const kind of sourceKinds) {
      const info = await introspect(makeSource(kind, small), { maxBufferBytes: 65_536 });
      expect(info.format, kind).toBe('vmdk');
      expect(info.virtualSize).toBe(2048 * 512);
    }
  });
});

describe('a source that gives less than it promised', () => {
  const qcow2 = fixtureBytes('qcow2', 'backing-raw.qcow2');

  it('a random-access source returning empty arrays is SOURCE_ERROR, never "raw, safe"', async () => {
    const empty = { size: qcow2.byteLength, read: async () => new Uint8Array(0) };
    const error = await rejectionOf(introspect(empty));
    expect(error.code).toBe('SOURCE_ERROR');
  });

  it('a random-access source that stops short of its size is SOURCE_ERROR', async () => {
    const short = { size: qcow2.byteLength + 100_000, read: async (offset: number, length: number) => qcow2.slice(offset, offset + length) };
    const outcome: unknown = await introspect(short).catch((error: unknown) => error);
    // The qcow2 header is whole, so the answer may come before the missing end is asked for;
    // if the end is asked for, the failure is the source's.
    if (isIntrospectionError(outcome)) expect(outcome.code).toBe('SOURCE_ERROR');
    else expect((outcome as Awaited<ReturnType<typeof introspect>>).safety.safe).toBe(false);
    const lying = { size: 1 << 20, read: async (offset: number, length: number) => new Uint8Array(1 << 20).subarray(offset, offset + Math.min(length, 512)) };
    // Short reads are completed by asking again: a source that answers in pieces is fine.
    expect((await introspect(lying)).virtualSize).toBe(1 << 20);
  });

  it('bytesRead never exceeds the size of the source', async () => {
    for (const [folder, name] of [['raw', 'mbr-primary.img'], ['iso', 'genisoimage-plain.iso'], ['vhd', 'fixed-1M.vhd'], ['vhdx', 'dynamic-data.vhdx']] as const) {
      const bytes = fixtureBytes(folder, name);
      for (const kind of sourceKinds) {
        const info = await introspect(makeSource(kind, bytes));
        expect(info.bytesRead, `${folder}/${name} ${kind}`).toBeLessThanOrEqual(bytes.byteLength);
      }
    }
    const tenThousand = new Uint8Array(10_000);
    expect((await introspect(tenThousand)).bytesRead).toBe(10_000);
  });
});

/** Resolves with how long the introspection took to settle after the abort, and how it settled. */
async function abortLatency(start: (signal: AbortSignal) => Promise<unknown>): Promise<{ latency: number; code: string | undefined }> {
  const controller = new AbortController();
  const pending = start(controller.signal).catch((error: unknown) => error);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const abortedAt = performance.now();
  controller.abort();
  const outcome = await pending;
  return { latency: performance.now() - abortedAt, code: isIntrospectionError(outcome) ? outcome.code : undefined };
}

describe('an abort rejects ABORTED at once, whatever the source is doing, and releases it', () => {
  it('a Node Readable that never pushes: rejected and destroyed', async () => {
    const stalled = new Readable({ read() {} });
    const { latency, code } = await abortLatency((signal) => introspect(stalled, { signal }));
    expect(code).toBe('ABORTED');
    expect(latency).toBeLessThan(100);
    expect(stalled.destroyed).toBe(true);
  });

  it('an async generator awaiting forever', async () => {
    async function* forever(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(10);
      await new Promise(() => undefined);
    }
    const { latency, code } = await abortLatency((signal) => introspect(forever(), { signal }));
    expect(code).toBe('ABORTED');
    expect(latency).toBeLessThan(100);
  });

  it('a random-access read that never settles', async () => {
    const stalled = { size: 1 << 20, read: () => new Promise<Uint8Array>(() => undefined) };
    const { latency, code } = await abortLatency((signal) => introspect(stalled, { signal }));
    expect(code).toBe('ABORTED');
    expect(latency).toBeLessThan(100);
  });

  it('a web stream that never enqueues: rejected and cancelled', async () => {
    let cancelled = false;
    const stalled = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => undefined), cancel: () => void (cancelled = true) });
    const { latency, code } = await abortLatency((signal) => introspect(stalled, { signal }));
    expect(code).toBe('ABORTED');
    expect(latency).toBeLessThan(100);
    expect(cancelled).toBe(true);
  });

  it("inspect()'s stream and result over a stalled source", async () => {
    const stalled = new Readable({ read() {} });
    const controller = new AbortController();
    const { stream, result } = inspect(stalled, { signal: controller.signal });
    const next = stream.next().catch((error: unknown) => error);
    const settled = result.catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const abortedAt = performance.now();
    controller.abort();
    const [streamOutcome, resultOutcome] = await Promise.all([next, settled]);
    expect(performance.now() - abortedAt).toBeLessThan(100);
    expect(isIntrospectionError(streamOutcome) && streamOutcome.code).toBe('ABORTED');
    expect(isIntrospectionError(resultOutcome) && resultOutcome.code).toBe('ABORTED');
    expect(stalled.destroyed).toBe(true);
  });

  it('introspectFile on a FIFO with no writer, four at once, without stalling other file system calls', async () => {
    const fifos = [0, 1, 2, 3].map((index) => join(work, `fifo-${index}`));
    for (const fifo of fifos) {
      const made = spawnSync('mkfifo', [fifo]);
      if (made.status !== 0) return expect.fail('mkfifo is needed for this test');
    }
    const controller = new AbortController();
    const pending = fifos.map((fifo) => introspectFile(fifo, { signal: controller.signal }).catch((error: unknown) => error));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // libuv's pool has four threads: a blocked open() on each FIFO would stall this.
    const other = join(work, 'other.img');
    writeFileSync(other, new Uint8Array(4096));
    expect((await introspectFile(other)).format).toBe('raw');
    const abortedAt = performance.now();
    controller.abort();
    const outcomes = await Promise.all(pending);
    expect(performance.now() - abortedAt).toBeLessThan(100);
    for (const outcome of outcomes) expect(isIntrospectionError(outcome) && outcome.code).toBe('ABORTED');
  });

  it('a FIFO with a writer is read as a stream', async () => {
    const fifo = join(work, 'fifo-written');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const bytes = fixtureBytes('vmdk', 'stream.vmdk');
    const source = join(work, 'stream.vmdk');
    writeFileSync(source, bytes);
    const writer = spawn('sh', ['-c', `cat '${source}' > '${fifo}'`], { stdio: 'ignore' });
    const info = await introspectFile(fifo);
    expect(info.format).toBe('vmdk');
    writer.kill();
  });
});

/** Open file descriptors of this process (Linux). */
function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

describe('every way out releases the source', () => {
  it('10,000 calls with a pre-aborted signal or an invalid option leave no file descriptor open', async () => {
    const path = join(work, 'ten-thousand.img');
    writeFileSync(path, new Uint8Array(65_536));
    const aborted = AbortSignal.abort();
    const before = openDescriptors();
    for (let index = 0; index < 10_000; index += 1) {
      const stream = createReadStream(path);
      const options = index % 2 === 0 ? { signal: aborted } : ({ probeBytes: '100' } as never);
      const error = await rejectionOf(introspect(stream, options));
      expect(['ABORTED', 'INVALID_ARGUMENT']).toContain(error.code);
    }
    // A Node stream destroyed before its open completed closes the descriptor once the open
    // returns: wait for the file system's queue to drain.
    for (let waited = 0; waited < 100 && openDescriptors() - before >= 10; waited += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(openDescriptors() - before).toBeLessThan(10);
  });

  it('a nonexistent path in a Node stream with a pre-aborted signal does not crash the process', async () => {
    for (let index = 0; index < 100; index += 1) {
      const error = await rejectionOf(introspect(createReadStream(join(work, 'does-not-exist')), { signal: AbortSignal.abort() }));
      expect(error.code).toBe('ABORTED');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  });
});

describe("a caller's mistakes are INVALID_ARGUMENT (or SOURCE_ERROR), never a raw TypeError or INTERNAL", () => {
  const bytes = fixtureBytes('vmdk', 'stream.vmdk');
  const invalid = async (options: unknown, field?: RegExp) => {
    const error = await rejectionOf(introspect(bytes, options as never));
    expect(error.code, JSON.stringify(options)).toBe('INVALID_ARGUMENT');
    if (field !== undefined) expect(error.message).toMatch(field);
  };

  it('rejects wrong option types instead of reinterpreting them', async () => {
    await invalid({ signal: null }, /signal/);
    await invalid({ allowChecks: 'descriptorX' }, /allowChecks/);
    await invalid({ bannedFormats: 'xvmdkx' }, /bannedFormats/);
    await invalid({ bannedFormats: 5 }, /bannedFormats/);
    await invalid({ allowChecks: 5 }, /allowChecks/);
    await invalid({ probeBytes: '100' }, /probeBytes/);
    await invalid({ maxBufferBytes: 1.5 }, /maxBufferBytes/);
    await invalid({ allowChecks: ['backing-file'] }, /backing-file.*backing_file/s);
    await invalid({ vmdkAllowedTypes: 'streamOptimized' }, /vmdkAllowedTypes/);
    await invalid('fast', /options must be an object/);
  });

  it('rejects unknown keys: a typo must not switch a safety check off', async () => {
    await invalid({ expectedformat: 'qcow2' }, /unknown option "expectedformat" \(did you mean "expectedFormat"\?\)/);
    await invalid({ allowcheck: ['descriptor'] }, /unknown option/);
  });

  it('inspect() reports bad options through result and still releases the source', async () => {
    const stream = new Readable({ read() {} });
    const inspection = inspect(stream, { signal: null } as never);
    expect((await rejectionOf(inspection.result)).code).toBe('INVALID_ARGUMENT');
    expect((await rejectionOf(inspection.stream.next())).code).toBe('INVALID_ARGUMENT');
    expect(stream.destroyed).toBe(true);
  });

  it('messages read as English: "an object chunk", "an iso image"', async () => {
    const chunk = await rejectionOf(introspect([{} as unknown as Uint8Array]));
    expect(chunk.message).toMatch(/yielded an object chunk/);
    const iso = await introspect(fixtureBytes('iso', 'genisoimage-plain.iso'));
    expect(verifyDiskFormat(iso, 'raw').reason).toMatch(/the content is an iso image/);
  });

  it('a locked web stream, a throwing iterator, a throwing size getter, a malformed module', async () => {
    const locked = new ReadableStream<Uint8Array>();
    locked.getReader();
    expect((await rejectionOf(introspect(locked))).code).toBe('INVALID_ARGUMENT');
    const throwingIterator = {
      [Symbol.asyncIterator]() {
        throw new Error('no iteration today');
      },
    };
    expect((await rejectionOf(introspect(throwingIterator as never))).code).toBe('SOURCE_ERROR');
    const throwingSize = {
      get size(): number {
        throw new Error('no size today');
      },
      read: async () => new Uint8Array(0),
    };
    expect((await rejectionOf(introspect(throwingSize))).code).toBe('SOURCE_ERROR');
    const malformed = { name: 'bad', title: 'bad', signatures: [{}], parse: async () => ({ virtualSize: 0, details: {} }) } as unknown as FormatModule;
    expect((await rejectionOf(introspect(bytes, { formats: [malformed, raw] } as never))).code).toBe('INVALID_ARGUMENT');
    expect((await rejectionOf(introspect(bytes, { formats: [vmdk, vmdk, raw] } as never))).code).toBe('INVALID_ARGUMENT');
  });
});

describe('sizes above 2^53', () => {
  it('a qcow2 of 2^53 + 512 bytes is reported exactly, as qemu-img reports it', async () => {
    const path = join(work, 'huge.qcow2');
    const made = spawnSync('qemu-img', ['create', '-f', 'qcow2', '-o', 'cluster_size=2M', path, '9007199254741504']);
    if (made.status !== 0) return expect.fail(`qemu-img create failed: ${made.stderr}`);
    const qemu = spawnSync('qemu-img', ['info', '--output=json', path], { encoding: 'utf8' });
    // Read qemu's number as text: JSON.parse would round it.
    const exact = /"virtual-size": (\d+)/.exec(qemu.stdout)?.[1];
    expect(exact).toBe('9007199254741504');
    const info = await introspectFile(path);
    expect(info.format).toBe('qcow2');
    expect(info.virtualSizeExact).toBe(exact);
    expect(info.virtualSize).toBe(Number(exact));
    expect(info.warnings.join('\n')).toMatch(/above 2\^53/);
    expect((await introspect(new Uint8Array(4096))).virtualSizeExact).toBeUndefined();
  });
});

