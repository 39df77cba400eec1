/**
 * The streaming codecs against the real tools: every input is made at test time by
 * `gzip`, `xz`, `zstd`, `bzip2`, `zip` and `qemu-img`, and every decoded byte must equal the
 * original (or what the tool itself decodes). Then corrupt and truncated inputs, bombs
 * measured through the interface, window caps, the abort signal, and browser neutrality.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBzip2Decoder } from '../../containers/codecs/bzip2.js';
import { type DecoderOptions, decodeChunks, type StreamDecoder } from '../../containers/codecs/codec.js';
import { createDeflateRawDecoder } from '../../containers/codecs/deflate.js';
import { createGzipDecoder, MAX_GZIP_HEADER_BYTES, parseGzipHeader } from '../../containers/codecs/gzip.js';
import { createXzDecoder, readXzIndex } from '../../containers/codecs/xz.js';
import { createZstdDecoder, parseZstdFrameHeader, type ZstdFrameHeader } from '../../containers/codecs/zstd.js';
import { isIntrospectionError, type IntrospectionError } from '../../src/errors.js';
import { randomAccessReader } from '../helpers/readers.js';
import type { ByteReader } from '../../src/format-module.js';
import { concat as concatParts } from '../../src/reading/tail-window.js';
import { projectRoot } from '../helpers/fixtures.js';
import { hasQemuImg, qemuImg, qemuMissing } from '../helpers/qemu.js';

const tools = ['gzip', 'xz', 'zstd', 'bzip2', 'zip'] as const;
const missingTools = tools.filter((tool) => spawnSync(tool, ['--help'], { encoding: 'utf8' }).error !== undefined);
const skipReason = !hasQemuImg ? qemuMissing : missingTools.length > 0 ? `${missingTools.join(', ')} not on the PATH (install them; .ci/run does)` : '';
if (skipReason !== '') console.warn(`codecs tests skipped: ${skipReason}`);

let folder = '';
/** A qemu-img raw image: zeros, 768 KiB of random bytes, 1 MiB of text (compressible in the usual way). */
let image: Uint8Array;
let imagePath = '';

function run(command: string, args: string[], input?: Uint8Array): Uint8Array {
  const result = spawnSync(command, args, { cwd: folder, input, maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${String(result.stderr)}`);
  return new Uint8Array(result.stdout.buffer, result.stdout.byteOffset, result.stdout.byteLength);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return concatParts(parts);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

type Factory = (options?: DecoderOptions) => Promise<StreamDecoder>;

interface Decoded {
  output: Uint8Array;
  /** The bytes after the stream: those the decoder handed back and those never written to it. */
  trailing: Uint8Array;
  decoder: StreamDecoder;
  /** The most bytes the decoder held (besides its window) after any step. */
  peakHeld: number;
  /** The largest window it had allocated. */
  peakWindow: number;
  /** The largest chunk one read returned. */
  largestChunk: number;
}

/** Runs a decoder over `compressed`, written `writeSize` bytes at a time, measuring what it holds after every step. */
async function decode(factory: Factory, compressed: Uint8Array, options?: DecoderOptions, writeSize = 64 * 1024, keep = true): Promise<Decoded> {
  const decoder = await factory(options);
  const parts: Uint8Array[] = [];
  let offset = 0;
  let peakHeld = 0;
  let peakWindow = 0;
  let largestChunk = 0;
  for (;;) {
    const step = decoder.read();
    peakHeld = Math.max(peakHeld, decoder.heldBytes);
    peakWindow = Math.max(peakWindow, decoder.windowBytes);
    if (step.kind === 'data') {
      largestChunk = Math.max(largestChunk, step.bytes.byteLength);
      if (keep) parts.push(step.bytes);
    } else if (step.kind === 'needs-input') {
      if (offset >= compressed.byteLength) decoder.finish();
      else {
        decoder.write(compressed.subarray(offset, offset + writeSize));
        offset += writeSize;
      }
    } else {
      // What the caller has left after the stream: what the decoder hands back, then what
      // was never written to it (where the stream ends within a write depends on sizes).
      return { output: concatParts(parts), trailing: concatParts([step.trailing, compressed.subarray(offset)]), decoder, peakHeld, peakWindow, largestChunk };
    }
  }
}

async function rejection(promise: Promise<unknown>): Promise<IntrospectionError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome, 'expected a rejection').toBeDefined();
  expect(isIntrospectionError(outcome), String(outcome)).toBe(true);
  return outcome as IntrospectionError;
}

const factories: Record<'gzip' | 'xz' | 'zstd' | 'bzip2', Factory> = {
  gzip: createGzipDecoder,
  xz: createXzDecoder,
  zstd: createZstdDecoder,
  bzip2: createBzip2Decoder,
};

beforeAll(() => {
  if (skipReason !== '') return;
  folder = mkdtempSync(join(tmpdir(), 'codecs-'));
  imagePath = join(folder, 'disk.raw');
  qemuImg(['create', '-q', '-f', 'raw', imagePath, '4M']);
  const bytes = new Uint8Array(readFileSync(imagePath));
  // Random data in part (incompressible: stored blocks, uncompressed LZMA2 chunks, raw zstd blocks).
  let seed = 0x2545f491;
  for (let index = 512 * 1024; index < 1280 * 1024; index += 1) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    bytes[index] = seed & 0xff;
  }
  // Text in part: this repository's own sources, repeated.
  const text = concatParts(
    readdirSync(join(projectRoot, 'src'))
      .filter((file) => file.endsWith('.ts'))
      .map((file) => new Uint8Array(readFileSync(join(projectRoot, 'src', file)))),
  );
  for (let offset = 2 * 1024 * 1024; offset < 3 * 1024 * 1024; offset += text.byteLength) bytes.set(text.subarray(0, 3 * 1024 * 1024 - offset), offset);
  writeFileSync(imagePath, bytes);
  image = bytes;
});

afterAll(() => {
  if (folder !== '') rmSync(folder, { recursive: true, force: true });
});

// A loaded 2-core machine decodes some 4 MiB cases in a minute; the timeouts are for that, not a measure.
describe.skipIf(skipReason !== '')('codecs against the real tools', { timeout: 600_000 }, () => {
  it('gzip -1 and -9, with and without a name: the bytes, every member header, exact end', async () => {
    for (const args of [['-1'], ['-9'], ['-9', '-n']]) {
      const compressed = run('gzip', [...args, '-c', 'disk.raw']);
      const result = await decode(createGzipDecoder, compressed);
      expect(sha256(result.output)).toBe(sha256(image));
      expect(result.decoder.compressedBytesConsumed).toBe(compressed.byteLength);
      expect(result.trailing.byteLength).toBe(0);
      const header = parseGzipHeader(compressed) as NonNullable<ReturnType<typeof parseGzipHeader>>;
      // gzip -n stores neither name nor time; otherwise both (gzip(1) defaults).
      expect(header.name).toBe(args.includes('-n') ? undefined : 'disk.raw');
      expect(header.os).toBe(3);
      expect(header.extraFlags).toBe(args.includes('-1') ? 4 : 2);
    }
  });

  it('gzip: several members, then trailing garbage left to the caller', async () => {
    const first = run('gzip', ['-c', 'disk.raw']);
    const second = run('gzip', ['-c'], new TextEncoder().encode('second member'));
    const garbage = new TextEncoder().encode('not gzip at all');
    const joined = concat(first, second);
    const expected = run('gzip', ['-dc'], joined); // the oracle: gzip's own multi-member output
    const result = await decode(createGzipDecoder, concat(joined, garbage), undefined, 1000);
    expect(sha256(result.output)).toBe(sha256(expected));
    expect(result.decoder.compressedBytesConsumed).toBe(joined.byteLength);
    expect(new TextDecoder().decode(result.trailing)).toBe('not gzip at all');
    const members = (result.decoder as Awaited<ReturnType<typeof createGzipDecoder>>).members;
    expect(members.map((member) => [member.offset, member.compressedSize, member.uncompressedSize])).toEqual([
      [0, first.byteLength, image.byteLength],
      [first.byteLength, second.byteLength, 13],
    ]);
  });

  it('gzip: FEXTRA, FNAME, FCOMMENT and FHCRC, in a header laid out by hand around gzip deflate data', async () => {
    const plain = run('gzip', ['-n', '-c', 'disk.raw']);
    const encoder = new TextEncoder();
    const extra = concat(new Uint8Array([0x41, 0x42, 3, 0]), encoder.encode('xyz'));
    const head = concat(
      new Uint8Array([0x1f, 0x8b, 8, 0x02 | 0x04 | 0x08 | 0x10, 0x78, 0x56, 0x34, 0x12, 0, 3, extra.byteLength, 0]),
      extra,
      encoder.encode('name.img\0a comment\0'),
    );
    const { crc32 } = await import('node:zlib');
    const headerCrc = crc32(head) & 0xffff;
    const built = concat(head, new Uint8Array([headerCrc & 0xff, headerCrc >> 8]), plain.subarray(10));
    writeFileSync(join(folder, 'built.gz'), built);
    run('gzip', ['-t', 'built.gz']); // gzip itself accepts the header (it checks FHCRC)
    const header = parseGzipHeader(built);
    expect(header).toEqual({
      headerLength: head.byteLength + 2,
      text: false,
      mtime: 0x12345678,
      extraFlags: 0,
      os: 3,
      osName: 'Unix',
      extra: [{ id: 'AB', length: 3 }],
      name: 'name.img',
      comment: 'a comment',
      headerCrc,
    });
    const result = await decode(createGzipDecoder, built, undefined, 4099);
    expect(sha256(result.output)).toBe(sha256(image));
    const broken = built.slice();
    broken[head.byteLength] = (broken[head.byteLength] as number) ^ 1;
    expect((await rejection(decode(createGzipDecoder, broken))).field).toBe('gzip header.headerCrc');
  });

  it('raw deflate from zip -1 and -9 entries, and a streamed zip (sizes only in the data descriptor): exact compressed size', async () => {
    const cases: Array<[string[], Uint8Array | undefined]> = [
      [['-q', '-1', 'a.zip', 'disk.raw'], undefined],
      [['-q', '-9', 'b.zip', 'disk.raw'], undefined],
      [['-q', '-', '-'], image], // zip reading stdin writes to stdout with a data descriptor
    ];
    for (const [args, input] of cases) {
      const archive = input === undefined ? (run('zip', args), new Uint8Array(readFileSync(join(folder, args.at(-2) as string)))) : run('zip', args, input);
      // Local file header (APPNOTE 4.3.7): signature at 0, flags at 6, method at 8,
      // compressed size at 18, name length at 26, extra length at 28.
      const view = new DataView(archive.buffer, archive.byteOffset, archive.byteLength);
      expect(view.getUint32(0, true)).toBe(0x04034b50);
      expect(view.getUint16(8, true)).toBe(8);
      const dataStart = 30 + view.getUint16(26, true) + view.getUint16(28, true);
      const result = await decode(createDeflateRawDecoder, archive.subarray(dataStart));
      expect(sha256(result.output)).toBe(sha256(image));
      const streamed = (view.getUint16(6, true) & 0x08) !== 0;
      // The entry's compressed size: in the local header, or (streamed) in the data descriptor that follows the data.
      const expectedSize = streamed ? new DataView(result.trailing.buffer, result.trailing.byteOffset).getUint32(8, true) : view.getUint32(18, true);
      expect(streamed).toBe(input !== undefined);
      expect(result.decoder.compressedBytesConsumed).toBe(expectedSize);
      if (streamed) expect(new DataView(result.trailing.buffer, result.trailing.byteOffset).getUint32(0, true)).toBe(0x08074b50);
      else expect(new DataView(result.trailing.buffer, result.trailing.byteOffset).getUint32(0, true)).toBe(0x02014b50);
    }
  });

  it('xz: presets, every check type, several blocks, threaded, concatenated streams with padding', async () => {
    const variants = [
      ['-0'],
      ['-6', '--check=crc32'],
      ['-9', '--check=crc64'],
      ['-1', '--check=sha256'],
      ['-1', '--check=none'],
      ['-1', '--block-size=1MiB'],
      ['-1', '-T2', '--block-size=512KiB'],
    ];
    for (const args of variants) {
      const compressed = run('xz', [...args, '-c', 'disk.raw']);
      const result = await decode(createXzDecoder, compressed, undefined, 33333);
      expect(sha256(result.output), args.join(' ')).toBe(sha256(image));
      expect(result.decoder.compressedBytesConsumed).toBe(compressed.byteLength);
      writeFileSync(join(folder, 'variant.xz'), compressed);
      const list = run('xz', ['--robot', '--list', 'variant.xz']); // xz's own account of the file
      const blocks = Number(/^file\t\d+\t(\d+)/m.exec(new TextDecoder().decode(list))?.[1]);
      const streams = (result.decoder as Awaited<ReturnType<typeof createXzDecoder>>).streams;
      expect(streams[0]?.blockCount, args.join(' ')).toBe(blocks);
    }
    const first = run('xz', ['-1', '-c', 'disk.raw']);
    const second = run('xz', ['-1', '--check=sha256', '-c'], new TextEncoder().encode('second stream'));
    const joined = concat(first, new Uint8Array(8), second, new Uint8Array(4));
    const expected = run('xz', ['-dc'], joined);
    const result = await decode(createXzDecoder, concat(joined, new TextEncoder().encode('garbage')), undefined, 4096);
    expect(sha256(result.output)).toBe(sha256(expected));
    expect(result.decoder.compressedBytesConsumed).toBe(joined.byteLength);
    expect(new TextDecoder().decode(result.trailing)).toBe('garbage');
  });

  it('xz index from the end of a random-access file, as xz --list --robot gives it', async () => {
    const first = run('xz', ['-1', '--block-size=1MiB', '-c', 'disk.raw']);
    const second = run('xz', ['-3', '--check=sha256', '-c'], new TextEncoder().encode('second stream'));
    const file = concat(first, new Uint8Array(4), second);
    writeFileSync(join(folder, 'two.xz'), file);
    const index = await readXzIndex(bytesReader(file));
    const list = new TextDecoder().decode(run('xz', ['--robot', '--list', '-vv', 'two.xz']));
    const streamLines = list.split('\n').filter((line) => line.startsWith('stream\t')).map((line) => line.split('\t'));
    const blockLines = list.split('\n').filter((line) => line.startsWith('block\t')).map((line) => line.split('\t'));
    // xz --robot: stream number, blocks, compressed offset, uncompressed offset, compressed size, uncompressed size, ratio, check, padding.
    expect(index.streams.map((stream) => [stream.blockCount, stream.offset, stream.compressedSize, stream.uncompressedSize, stream.flags.check, stream.paddingAfter])).toEqual(
      streamLines.map((line) => [Number(line[2]), Number(line[3]), Number(line[5]), Number(line[6]), line[8], Number(line[9])]),
    );
    // Block lines: stream, block in stream, block in file, compressed offset, uncompressed offset, total size (unpadded size rounded up to 4), uncompressed size, ...
    expect(index.streams.flatMap((stream) => stream.blocks.map((block) => [block.offset, Math.ceil(block.unpaddedSize / 4) * 4, block.uncompressedSize]))).toEqual(
      blockLines.map((line) => [Number(line[4]), Number(line[6]), Number(line[7])]),
    );
    expect(blockLines.length).toBeGreaterThan(4);
    expect(index.uncompressedSize).toBe(image.byteLength + 'second stream'.length);
  });

  it('zstd: levels, with and without content size and checksum, --long, several frames and a skippable frame', async () => {
    for (const args of [['-1'], ['-19'], ['-3', '--no-content-size'], ['-3', '--no-check'], ['--long=27', '-3']]) {
      const compressed = run('zstd', [...args, '-q', '-c', 'disk.raw']);
      const result = await decode(createZstdDecoder, compressed, undefined, 10000);
      expect(sha256(result.output), args.join(' ')).toBe(sha256(image));
      expect(result.decoder.compressedBytesConsumed).toBe(compressed.byteLength);
      const header = parseZstdFrameHeader(compressed) as ZstdFrameHeader;
      expect(header.frameContentSize).toBe(args.includes('--no-content-size') ? undefined : image.byteLength);
      expect(header.hasChecksum).toBe(!args.includes('--no-check'));
    }
    const skippable = concat(new Uint8Array([0x53, 0x2a, 0x4d, 0x18, 5, 0, 0, 0]), new TextEncoder().encode('hello'));
    const joined = concat(run('zstd', ['-q', '-c', 'disk.raw']), skippable, run('zstd', ['-q', '-c'], new TextEncoder().encode('second frame')));
    const expected = run('zstd', ['-dc'], joined);
    const result = await decode(createZstdDecoder, concat(joined, new TextEncoder().encode('garbage!')), undefined, 999);
    expect(sha256(result.output)).toBe(sha256(expected));
    expect(result.decoder.compressedBytesConsumed).toBe(joined.byteLength);
    expect(new TextDecoder().decode(result.trailing)).toBe('garbage!');
    expect((result.decoder as Awaited<ReturnType<typeof createZstdDecoder>>).frames.map((frame) => frame.uncompressedSize)).toEqual([image.byteLength, 0, 12]);
  });

  it('zstd frame header: window size as zstd -lv reports it', () => {
    const compressed = run('zstd', ['-q', '-19', '-c', 'disk.raw']);
    writeFileSync(join(folder, 'x.zst'), compressed);
    const listing = new TextDecoder().decode(run('zstd', ['-lv', 'x.zst']));
    const window = /Window Size: .*\((\d+) B\)/.exec(listing)?.[1];
    expect((parseZstdFrameHeader(compressed) as ZstdFrameHeader).windowSize).toBe(Number(window));
  });

  it('bzip2 -1 and -9, and concatenated streams', async () => {
    for (const level of ['-1', '-9']) {
      const compressed = run('bzip2', [level, '-c', 'disk.raw']);
      const result = await decode(createBzip2Decoder, compressed, undefined, 50000);
      expect(sha256(result.output)).toBe(sha256(image));
      expect(result.decoder.compressedBytesConsumed).toBe(compressed.byteLength);
    }
    const joined = concat(run('bzip2', ['-c', 'disk.raw']), run('bzip2', ['-c'], new TextEncoder().encode('second stream')));
    const expected = run('bzip2', ['-dc'], joined);
    const result = await decode(createBzip2Decoder, concat(joined, new TextEncoder().encode('trailing')));
    expect(sha256(result.output)).toBe(sha256(expected));
    expect(result.decoder.compressedBytesConsumed).toBe(joined.byteLength);
    expect(new TextDecoder().decode(result.trailing)).toBe('trailing');
  });

  it('a qcow2 image compressed by each tool comes back byte for byte, whatever the write size', async () => {
    qemuImg(['convert', '-q', '-O', 'qcow2', imagePath, join(folder, 'disk.qcow2')]);
    const qcow2 = new Uint8Array(readFileSync(join(folder, 'disk.qcow2')));
    const compressors: Record<keyof typeof factories, string[]> = { gzip: ['gzip', '-c'], xz: ['xz', '-c'], zstd: ['zstd', '-q', '-c'], bzip2: ['bzip2', '-c'] };
    for (const [name, factory] of Object.entries(factories)) {
      const [command, ...args] = compressors[name as keyof typeof factories] as [string, ...string[]];
      const compressed = run(command, [...args, 'disk.qcow2']);
      for (const writeSize of [1, 4093, 1 << 20]) {
        if (writeSize === 1 && compressed.byteLength > 300_000) continue;
        const result = await decode(factory, compressed, undefined, writeSize);
        expect(sha256(result.output), `${name} ${writeSize}`).toBe(sha256(qcow2));
      }
    }
  });

  it('tiny inputs: empty, one byte, 100 zeros, one byte at a time', async () => {
    const compressors: Record<keyof typeof factories, string[]> = { gzip: ['gzip', '-c'], xz: ['xz', '-c'], zstd: ['zstd', '-q', '-c'], bzip2: ['bzip2', '-c'] };
    for (const [name, factory] of Object.entries(factories)) {
      const [command, ...args] = compressors[name as keyof typeof factories] as [string, ...string[]];
      for (const original of [new Uint8Array(0), new Uint8Array([7]), new Uint8Array(100)]) {
        const compressed = run(command, args, original);
        const result = await decode(factory, compressed, undefined, 1);
        expect(Array.from(result.output), `${name}, ${original.byteLength} bytes`).toEqual(Array.from(original));
        expect(result.decoder.compressedBytesConsumed).toBe(compressed.byteLength);
      }
    }
  });

  it('decodeChunks drives a decoder over an async iterable', async () => {
    const compressed = run('xz', ['-c', 'disk.raw']);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let offset = 0; offset < compressed.byteLength; offset += 10000) yield compressed.subarray(offset, offset + 10000);
    }
    const parts: Uint8Array[] = [];
    for await (const part of decodeChunks(await createXzDecoder(), chunks())) parts.push(part);
    expect(sha256(concatParts(parts))).toBe(sha256(image));
  });
});

/** A ByteReader over bytes in memory, by random access in any order (the xz index is read from the end). */
function bytesReader(bytes: Uint8Array): ByteReader {
  return randomAccessReader(bytes, 64 * 1024 * 1024, false);
}

describe.skipIf(skipReason !== '')('codecs on hostile input', { timeout: 600_000 }, () => {
  const compressors: Record<keyof typeof factories, string[]> = { gzip: ['gzip', '-c'], xz: ['xz', '-c'], zstd: ['zstd', '-q', '-c'], bzip2: ['bzip2', '-c'] };

  function compressWith(name: keyof typeof factories, input: Uint8Array): Uint8Array {
    const [command, ...args] = compressors[name] as [string, ...string[]];
    return run(command, args, input);
  }

  it('every truncation is TRUNCATED, never a raw exception', async () => {
    const original = image.subarray(2 * 1024 * 1024, 2 * 1024 * 1024 + 200_000);
    for (const [name, factory] of Object.entries(factories)) {
      const compressed = compressWith(name as keyof typeof factories, original);
      for (const cut of [0, 1, 5, 13, Math.floor(compressed.byteLength / 3), compressed.byteLength - 5, compressed.byteLength - 1]) {
        const error = await rejection(decode(factory, compressed.subarray(0, cut)));
        expect(error.code, `${name} cut at ${cut}: ${error.message}`).toBe('TRUNCATED');
      }
    }
  });

  it('corrupted bytes are CORRUPT (or UNSUPPORTED for a header field that names a feature), never a raw exception or a silent wrong answer', async () => {
    const original = image.subarray(2 * 1024 * 1024, 2 * 1024 * 1024 + 200_000);
    for (const [name, factory] of Object.entries(factories)) {
      const compressed = compressWith(name as keyof typeof factories, original);
      for (let position = 0; position < compressed.byteLength; position += Math.max(1, Math.floor(compressed.byteLength / 40))) {
        for (const mask of [0x01, 0x80]) {
          const broken = compressed.slice();
          broken[position] = (broken[position] as number) ^ mask;
          const outcome = await decode(factory, broken).then(
            (result) => result,
            (error: unknown) => error,
          );
          if (isIntrospectionError(outcome)) {
            expect(['CORRUPT', 'UNSUPPORTED', 'TRUNCATED', 'LIMIT_EXCEEDED'], `${name} at ${position}: ${outcome.message}`).toContain(outcome.code);
            continue;
          }
          // Decoding succeeded: only acceptable when the flip left the data intact (a bit
          // the format ignores) and the tool agrees.
          expect(outcome instanceof Error, `${name} at ${position}: ${String(outcome)}`).toBe(false);
          const result = outcome as Decoded;
          expect(sha256(result.output), `${name} at ${position} ^ ${mask} decoded to different bytes`).toBe(sha256(original));
        }
      }
    }
  });

  it('bombs stay within the budget: held bytes and chunk sizes measured through the interface', async () => {
    const zeros = new Uint8Array(64 * 1024 * 1024);
    const budget = { maxChunkBytes: 64 * 1024 };
    for (const [name, factory] of Object.entries(factories)) {
      const compressed = compressWith(name as keyof typeof factories, zeros);
      const result = await decode(factory, compressed, budget, 1 << 20, false);
      expect(result.decoder.decodedBytesProduced).toBe(zeros.byteLength);
      expect(result.largestChunk).toBeLessThanOrEqual(budget.maxChunkBytes);
      // Held: at most the input written (1 MiB) and one codec-bounded buffer (zstd's 512 KiB of blocks).
      expect(result.peakHeld, `${name} (${compressed.byteLength} bytes compressed)`).toBeLessThanOrEqual((1 << 20) + 512 * 1024);
      // Windows: deflate 32 KiB, xz -6 8 MiB, zstd's declared window, bzip2 3.6 MB.
      expect(result.peakWindow, name).toBeLessThanOrEqual(8 * 1024 * 1024);
    }
  });

  it('a window or dictionary above the cap is LIMIT_EXCEEDED naming the field, before allocation', async () => {
    const data = image.subarray(0, 100_000);
    const xz = run('xz', ['-9', '-c'], data); // 64 MiB dictionary
    expect((await rejection(decode(createXzDecoder, xz, { maxWindowBytes: 8 << 20 }))).field).toBe('xz block header.dictionarySize');
    const zstd = run('zstd', ['-q', '--long=30', '--no-content-size', '-c'], data);
    const zstdError = await rejection(decode(createZstdDecoder, zstd, { maxWindowBytes: 8 << 20 }));
    expect([zstdError.code, zstdError.field]).toEqual(['LIMIT_EXCEEDED', 'zstd frame header.windowSize']);
    const bzip2 = run('bzip2', ['-9', '-c'], data);
    expect((await rejection(decode(createBzip2Decoder, bzip2, { maxWindowBytes: 1 << 20 }))).field).toBe('bzip2 stream header.blockSize');
  });

  it('a gzip header that never ends is LIMIT_EXCEEDED at MAX_GZIP_HEADER_BYTES, not held without bound', async () => {
    const endless = new Uint8Array(MAX_GZIP_HEADER_BYTES + 10).fill(0x41);
    endless.set([0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3]);
    expect(parseGzipHeader(endless.subarray(0, 1000))).toBeUndefined(); // the name goes on: more bytes needed
    const error = await rejection(decode(createGzipDecoder, endless, undefined, 4096));
    expect([error.code, error.field]).toEqual(['LIMIT_EXCEEDED', 'gzip header']);
  });

  // Checks are computed late (DeferredCheck): a stored check that does not match is still
  // found, whether the decoded bytes fit in what waits (64 KiB) or overflow it (1.5 MiB).
  it.each([64 * 1024, 1536 * 1024])('a damaged stored check is CORRUPT naming it, with %i decoded bytes', async (length) => {
    const data = image.subarray(image.byteLength - length);
    const flip = (file: Uint8Array, position: number): Uint8Array => {
      const broken = file.slice();
      broken[position] = (broken[position] as number) ^ 0x01;
      return broken;
    };
    const gzip = run('gzip', ['-c'], data);
    const xzFile = (check: string) => {
      const file = run('xz', ['-1', `--check=${check}`, '-c'], data);
      const indexSize = (new DataView(file.buffer, file.byteOffset).getUint32(file.byteLength - 8, true) + 1) * 4;
      return { file, checkEnd: file.byteLength - 12 - indexSize };
    };
    const zstd = run('zstd', ['-q', '--check', '-c'], data);
    const bzip2 = run('bzip2', ['-c'], data);
    const cases: Array<[string, Factory, Uint8Array, string]> = [
      ['gzip', createGzipDecoder, flip(gzip, gzip.byteLength - 8), 'gzip trailer.crc32'],
      ['zstd', createZstdDecoder, flip(zstd, zstd.byteLength - 4), 'zstd frame.contentChecksum'],
      // Bytes 10-13: the first block's CRC, after "BZh9" and the 48-bit block magic.
      ['bzip2', createBzip2Decoder, flip(bzip2, 10), 'bzip2 block.crc'],
    ];
    for (const [check, size] of [['crc32', 4], ['crc64', 8], ['sha256', 32]] as const) {
      const { file, checkEnd } = xzFile(check);
      cases.push([`xz ${check}`, createXzDecoder, flip(file, checkEnd - size), `xz block check.${check === 'sha256' ? 'SHA-256' : check.toUpperCase()}`]);
    }
    for (const [name, factory, broken, field] of cases) {
      const error = await rejection(decode(factory, broken, undefined, 4096));
      expect([error.code, error.field], name).toEqual(['CORRUPT', field]);
    }
  });

  it('readXzIndex: a damaged footer, index or stream header is CORRUPT', async () => {
    const file = run('xz', ['-1', '--block-size=1MiB', '-c', 'disk.raw']);
    const indexSize = (new DataView(file.buffer, file.byteOffset).getUint32(file.byteLength - 8, true) + 1) * 4;
    for (const [position, field] of [
      [file.byteLength - 1, 'xz stream footer.magic'],
      [file.byteLength - 7, 'xz stream footer.crc32'],
      [file.byteLength - 12 - indexSize + 3, 'xz index.crc32'],
      [2, 'xz stream header.magic'],
    ] as const) {
      const broken = file.slice();
      broken[position] = (broken[position] as number) ^ 0x10;
      const error = await rejection(readXzIndex(bytesReader(broken)));
      expect([error.code, error.field], `byte ${position}`).toEqual(['CORRUPT', field]);
    }
  });

  it('an aborted signal stops the next step with ABORTED', async () => {
    const controller = new AbortController();
    const decoder = await createGzipDecoder({ signal: controller.signal });
    decoder.write(run('gzip', ['-c', 'disk.raw']));
    expect(decoder.read().kind).toBe('data');
    controller.abort();
    let error: unknown;
    try {
      decoder.read();
    } catch (caught) {
      error = caught;
    }
    expect(isIntrospectionError(error) && error.code).toBe('ABORTED');
  });
});

describe('codecs are browser-neutral', () => {
  it('no Buffer, no node: import, no eval in containers/codecs', () => {
    const folderPath = join(projectRoot, 'containers', 'codecs');
    for (const file of readdirSync(folderPath)) {
      const source = readFileSync(join(folderPath, file), 'utf8');
      expect(source, file).not.toMatch(/\bBuffer\b|from 'node:|import\('node:|\beval\(|new Function\(/);
    }
  });

  it('tsconfig.browser.json (no Node types) type-checks them', () => {
    const result = spawnSync(process.execPath, [join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.browser.json'], { cwd: projectRoot, encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  }, 600_000);
});
