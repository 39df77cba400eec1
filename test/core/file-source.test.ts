// The file source of `src/node.ts` with its default (thread-pool) calls: widened reads
// (forward, or ending at the file's end near it) must hand out exactly the bytes asked
// for, served short past the end as a read is; and a backup GPT costs one read, not two.
import fs, { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspectFile, openFileSource } from '../../src/node.js';

let folder: string;
/** Files of sizes around the read-ahead (128 KiB), the start read (36 KiB) and the tail window (32 KiB). */
const sizes = [0, 1000, 36 * 1024, 40_000, 131_072, 131_073, 200_000, 700_001];
const contents = new Map<number, Uint8Array>();

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'file-source-'));
  for (const size of sizes) {
    const bytes = new Uint8Array(size);
    // Distinct bytes at every offset (a position-dependent pattern), so a shifted window shows.
    for (let offset = 0; offset < size; offset += 1) bytes[offset] = (offset * 31 + (offset >>> 8) * 7 + (offset >>> 16)) & 0xff;
    writeFileSync(join(folder, `f${size}`), bytes);
    contents.set(size, bytes);
  }
});

afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('the file source (thread-pool reads)', () => {
  it('serves every range as the file holds it, whatever the order of the reads', async () => {
    const read = fc.record({ at: fc.double({ min: 0, max: 1.05, noNaN: true }), length: fc.oneof(fc.nat({ max: 600 }), fc.nat({ max: 140_000 })), fromEnd: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...sizes), fc.array(read, { minLength: 1, maxLength: 12 }), async (size, reads) => {
        const expected = contents.get(size) as Uint8Array;
        const source = await openFileSource(join(folder, `f${size}`));
        try {
          expect(source.size).toBe(size);
          for (const { at, length, fromEnd } of reads) {
            // Half the reads land near the end (a footer, a backup header), the others anywhere.
            const offset = fromEnd ? Math.max(0, size - Math.floor(at * 40_000)) : Math.floor(at * size);
            const got = await source.read(offset, length);
            const want = expected.subarray(offset, offset + length);
            expect(got.byteLength).toBe(want.byteLength);
            // Compared whole (a 140 KiB element-by-element diff would take seconds per run).
            expect(Buffer.compare(got, want), `${length} bytes at ${offset} of ${size}`).toBe(0);
          }
        } finally {
          await source.close();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('keeps what it handed out intact while buffers of closed files serve the next ones, with several files open at once', async () => {
    // Widened-read and start buffers go back to a pool when a file closes: a range handed
    // out earlier, or by a file still open, must never share memory with one of them. Each
    // file here has bytes of its own (another file's buffer shows), and is large enough
    // that most reads are widened.
    const files = [700_001, 300_000, 140_000].map((size, index) => {
      const bytes = new Uint8Array(size);
      for (let offset = 0; offset < size; offset += 1) bytes[offset] = (offset * 29 + (offset >>> 9) * 5 + index * 101) & 0xff;
      const path = join(folder, `own${index}`);
      writeFileSync(path, bytes);
      return { path, bytes };
    });
    // Offsets drawn as integers: fast-check's doubles favour 0 and 1, which would keep reads in the start.
    const step = fc.record({ file: fc.nat({ max: 2 }), at: fc.nat({ max: 699_999 }), length: fc.nat({ max: 5000 }), reopen: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
        const open = await Promise.all(files.map((file) => openFileSource(file.path)));
        const handedOut: Array<{ got: Uint8Array; want: Uint8Array; what: string }> = [];
        try {
          for (const { file, at, length, reopen } of steps) {
            const { path, bytes } = files[file] as (typeof files)[number];
            if (reopen) {
              await open[file]?.close();
              open[file] = await openFileSource(path);
            }
            const offset = at % bytes.byteLength;
            const got = await (open[file] as Awaited<ReturnType<typeof openFileSource>>).read(offset, length);
            handedOut.push({ got, want: bytes.subarray(offset, offset + length), what: `${length} bytes at ${offset} of ${path}` });
          }
        } finally {
          await Promise.all(open.map((source) => source.close()));
        }
        // Checked once every file was closed and its buffers pooled: nothing handed out moved.
        for (const { got, want, what } of handedOut) expect(Buffer.compare(got, want), what).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('reads a GPT disk in two reads: its start, and its end with the backup header and table', async () => {
    const disk = join(folder, 'gpt.img');
    writeFileSync(disk, gunzipSync(readFileSync(new URL('../fixtures/raw/gpt.img.gz', import.meta.url))));
    const original = fs.read;
    const positions: number[] = [];
    fs.read = function (this: unknown, ...args: unknown[]) {
      positions.push(args[4] as number);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof fs.read;
    syncBuiltinESMExports();
    try {
      const info = await introspectFile(disk);
      expect(info.format).toBe('raw');
      // The backup header sits in the last sector, its 16 KiB of entries just before it.
      const size = fs.statSync(disk).size;
      expect(positions).toEqual([0, size - 32 * 1024]);
    } finally {
      fs.read = original;
      syncBuiltinESMExports();
    }
  });
});
