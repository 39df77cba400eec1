import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type FormatModule,
  introspect,
  raw,
  vmdk,
} from '../../src/index.js';
import { introspect as introspectCore } from '../../src/core.js';
import { introspectFile } from '../../src/node.js';
import { rejectionOf } from '../helpers/errors.js';
import { fixtureBytes } from '../helpers/fixtures.js';
import { hasQemuImg, qemuInfo, qemuMissing } from '../helpers/qemu.js';
import { makeSource, sourceKinds, trackedStream } from '../helpers/sources.js';

const sparse = fixtureBytes('vmdk', 'sparse-ide.vmdk');


describe('raw fallback', () => {
  it('reports the exact byte count from every kind of source', async () => {
    const bytes = new Uint8Array(1000).fill(0xab);
    for (const kind of sourceKinds) {
      const info = await introspect(makeSource(kind, bytes));
      expect(info.format).toBe('raw');
      expect(info.virtualSize).toBe(1000);
      expect(info.matchedFormats).toEqual([]);
    }
  });

  it('reports an empty source as a raw image of size 0', async () => {
    for (const kind of sourceKinds) {
      const info = await introspect(makeSource(kind, new Uint8Array(0)));
      expect(info).toMatchObject({ format: 'raw', virtualSize: 0, bytesRead: 0 });
    }
  });
});

describe('stopping early', () => {
  it('stops pulling and releases a stream once the answer is known', async () => {
    const endless = {
      returned: false,
      pulled: 0,
      async *[Symbol.asyncIterator]() {
        try {
          yield sparse;
          for (;;) {
            endless.pulled += 65536;
            yield new Uint8Array(65536);
          }
        } finally {
          endless.returned = true;
        }
      },
    };
    const info = await introspect(endless);
    expect(info.format).toBe('vmdk');
    expect(endless.returned).toBe(true);
    expect(info.bytesRead).toBe(sparse.byteLength);
    expect(endless.pulled).toBe(0);
  });

  it('cancels a web stream once the answer is known', async () => {
    let cancelled = false;
    let served = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        served += 1;
        controller.enqueue(served === 1 ? sparse.subarray(0, 40_000) : new Uint8Array(40_000));
      },
      cancel() {
        cancelled = true;
      },
    });
    const info = await introspect(stream);
    expect(info.format).toBe('vmdk');
    expect(cancelled).toBe(true);
    expect(served).toBeLessThanOrEqual(2);
  });

  it('reads only the head of a random-access source', async () => {
    const reads: Array<[number, number]> = [];
    const size = 2 ** 40; // a 1 TiB source: anything but the ranges asked for would show
    const info = await introspect({
      size,
      read: async (offset: number, length: number) => {
        reads.push([offset, length]);
        const bytes = new Uint8Array(length);
        if (offset < sparse.byteLength) bytes.set(sparse.subarray(offset, offset + length));
        return bytes;
      },
    });
    expect(info.format).toBe('vmdk');
    expect(reads.every(([offset, length]) => offset + length <= 64 * 1024)).toBe(true);
  });
});

describe.skipIf(!hasQemuImg)(
  `a 1 GiB streamOptimized VMDK holding hundreds of MiB of data, as a stream${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`,
  () => {
    const work = mkdtempSync(join(tmpdir(), 'image-introspect-big-'));
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    it('is answered from the first 64 KiB and the stream is released', async () => {
      const rawPath = join(work, 'data.raw');
      const vmdkPath = join(work, 'big-stream.vmdk');
      // 256 MiB of incompressible data at the start of a 1 GiB disk.
      const made = spawnSync(
        'bash',
        ['-c', `head -c 268435456 /dev/urandom > ${rawPath} && truncate -s 1G ${rawPath} && qemu-img convert -O vmdk -o subformat=streamOptimized ${rawPath} ${vmdkPath} && rm ${rawPath}`],
        { encoding: 'utf8' },
      );
      expect(made.status, made.stderr).toBe(0);
      expect(statSync(vmdkPath).size).toBeGreaterThan(200 * 1024 * 1024);

      const stream = createReadStream(vmdkPath); // 64 KiB chunks
      const info = await introspect(stream);
      expect(info.format).toBe('vmdk');
      expect(info.virtualSize).toBe(1024 * 1024 * 1024);
      expect(info.virtualSize).toBe(qemuInfo(vmdkPath)['virtual-size']);
      if (info.format === 'vmdk') expect(info.details.createType).toBe('streamOptimized');
      expect(info.bytesRead).toBeLessThanOrEqual(64 * 1024);
      expect(stream.destroyed).toBe(true);
    });
  },
);

describe('errors', () => {
  it('always rejects with an IntrospectionError that has a stable code', async () => {
    expect((await rejectionOf(introspect(42 as never))).code).toBe('INVALID_ARGUMENT');
    expect((await rejectionOf(introspect(sparse, { maxBufferBytes: 10 }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejectionOf(introspect(sparse, { formats: [] }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejectionOf(introspect(['not bytes'] as never))).code).toBe('INVALID_ARGUMENT');
  });

  it('wraps a failing stream as SOURCE_ERROR with the cause', async () => {
    const failing = (async function* () {
      yield sparse.subarray(0, 100);
      throw new Error('disk on fire');
    })();
    const error = await rejectionOf(introspect(failing));
    expect(error.code).toBe('SOURCE_ERROR');
    expect(error.message).toContain('disk on fire');
    expect((error.cause as Error).message).toBe('disk on fire');
  });

  it('wraps a failing random-access read as SOURCE_ERROR', async () => {
    const error = await rejectionOf(introspect({ size: 4096, read: async () => Promise.reject(new Error('EIO')) }));
    expect(error.code).toBe('SOURCE_ERROR');
  });

  it('turns an exception inside a format module into INTERNAL, never a raw TypeError', async () => {
    const broken: FormatModule<'broken', unknown> = {
      name: 'broken',
      title: 'Broken',
      signatures: [{ offset: 0, bytes: 'KDMV' }],
      parse: async () => {
        const nothing = undefined as unknown as { field: number };
        return { virtualSize: nothing.field, details: undefined };
      },
    };
    const error = await rejectionOf(introspect(sparse, { formats: [broken, raw] }));
    expect(error.code).toBe('INTERNAL');
    expect(error.format).toBe('broken');
    expect(error.message).toMatch(/^broken: unexpected failure \(TypeError/);
  });

  it('says which file could not be opened', async () => {
    const error = await rejectionOf(introspectFile('/nonexistent/disk.vmdk'));
    expect(error.code).toBe('SOURCE_ERROR');
    expect(error.message).toContain('/nonexistent/disk.vmdk');
  });

  it('fails with LIMIT_EXCEEDED when the bytes needed exceed maxBufferBytes', async () => {
    // The qemu-made header declares a 10 KiB descriptor: it fits a 64 KiB budget.
    expect((await introspect(makeSource('async-iterable', sparse), { maxBufferBytes: 65536 })).format).toBe('vmdk');
    // Declaring a descriptor of 1 MiB - 512 bytes whose text runs past its first KiB does not
    // (when the file has those bytes; when it does not, the answer is TRUNCATED whatever the
    // budget). A text that ends (NUL) within the first KiB is read without the rest.
    const big = new Uint8Array(2 * 1024 * 1024);
    big.set(sparse.subarray(0, Math.min(sparse.byteLength, big.byteLength)));
    new DataView(big.buffer).setBigUint64(36, 2047n, true);
    expect((await introspect(makeSource('async-iterable', big), { maxBufferBytes: 65536 })).format).toBe('vmdk');
    big.fill(0x23, big.indexOf(0, 512), 512 + 4096); // a comment line of '#' to byte 4608
    const limited = await rejectionOf(introspect(makeSource('async-iterable', big), { maxBufferBytes: 65536 }));
    expect(limited.code).toBe('LIMIT_EXCEEDED');
    expect(limited.format).toBe('vmdk');
    expect(limited.field).toBe('embedded descriptor');
  });
});

describe('abort', () => {
  it('rejects at once with ABORTED when the signal has already fired', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const error = await rejectionOf(introspect(sparse, { signal: controller.signal }));
    expect(error.code).toBe('ABORTED');
  });

  it('rejects with ABORTED within one read while a stream hangs, and releases it', async () => {
    let released = false;
    const hanging = {
      [Symbol.asyncIterator]() {
        return {
          next: () => new Promise<IteratorResult<Uint8Array>>(() => undefined),
          return: async () => {
            released = true;
            return { done: true, value: undefined } as IteratorResult<Uint8Array>;
          },
        };
      },
    };
    const controller = new AbortController();
    const pending = introspect(hanging, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const error = await rejectionOf(pending);
    expect(error.code).toBe('ABORTED');
    expect(released).toBe(true);
  });
});

describe('the registry', () => {
  const toy = (name: string, bytes: string): FormatModule<string, { name: string }> => ({
    name,
    title: name,
    signatures: [{ offset: 4, bytes }],
    parse: async (reader) => ({ virtualSize: await reader.totalSize(), details: { name } }),
  });

  it('reports every module that matched, and the first one parses', async () => {
    const bytes = new TextEncoder().encode('....ABCD....');
    const info = await introspectCore(bytes, { formats: [toy('first', 'AB'), toy('second', 'ABCD'), toy('third', 'X'), raw] });
    expect(info.format).toBe('first');
    expect(info.matchedFormats).toEqual(['first', 'second']);
  });

  it('considers only the formats given, and fails without a fallback', async () => {
    const error = await rejectionOf(introspectCore(sparse, { formats: [toy('other', 'ZZ')] }));
    expect(error.code).toBe('FORMAT_MISMATCH');
    const info = await introspect(sparse, { formats: [raw] });
    expect(info.format).toBe('raw');
  });

  it('detects the same way whatever the chunking', async () => {
    for (const sizes of [[1], [2, 3], [4095, 1], [65536]]) {
      const info = await introspect(trackedStream(sparse, sizes), { formats: [vmdk, raw] });
      expect(info.format).toBe('vmdk');
    }
  });
});

describe('chunks from Node', () => {
  it('hands format modules plain Uint8Array views, never Buffers (whose slice() is not a copy)', async () => {
    const seen: string[] = [];
    const spy: FormatModule<'spy', undefined> = {
      name: 'spy',
      title: 'spy',
      signatures: [{ offset: 0, bytes: 'KDMV' }],
      parse: async (reader) => {
        seen.push((await reader.read(0, 512, 'a')).constructor.name, (await reader.read(100_000, 16, 'b')).constructor.name);
        return { virtualSize: 0, details: undefined };
      },
    };
    const buffer = Buffer.alloc(200_000);
    buffer.set(sparse.subarray(0, 512));
    await introspect(buffer, { formats: [spy, raw] });
    const { Readable } = await import('node:stream');
    await introspect(Readable.from([buffer.subarray(0, 70_000), buffer.subarray(70_000)]), { formats: [spy, raw] });
    expect(seen).toEqual(['Uint8Array', 'Uint8Array', 'Uint8Array', 'Uint8Array']);
  });
});
