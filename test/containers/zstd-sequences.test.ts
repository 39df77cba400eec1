// The check of a compressed block's sequences (containers/codecs/zstd-sequences.ts) against
// the real `zstd`: over frames it writes at several levels, for data of several kinds, the
// lengths it reads from every compressed block, with the raw and RLE blocks, add up to
// exactly the input (a wrong predefined table, FSE description or bit order gives another
// total or an error); and a block whose sequences declare more than Block_Maximum_Size is
// refused by the check, before fzstd copies them (the fuzzer found fzstd looping on one).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type ZstdFrameHeader, createZstdDecoder, parseZstdFrameHeader } from '../../containers/codecs/zstd.js';
import { type SequenceTables, compressedBlockLength } from '../../containers/codecs/zstd-sequences.js';
import { isIntrospectionError } from '../../src/errors.js';

const hasZstd = spawnSync('zstd', ['--version']).status === 0;

function zstd(input: Uint8Array, args: string[]): Uint8Array {
  const result = spawnSync('zstd', ['-q', '-c', ...args], { input, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`zstd ${args.join(' ')} failed: ${result.stderr}`);
  return new Uint8Array(result.stdout);
}

/** The content length a frame's blocks add up to: raw and RLE blocks by their size, compressed ones by the check. */
function frameLength(frame: Uint8Array): { length: number; compressedBlocks: number } {
  const header = parseZstdFrameHeader(frame) as ZstdFrameHeader;
  const maximum = Math.min(header.windowSize, 128 * 1024);
  const tables: SequenceTables = {};
  let at = header.headerLength;
  let length = 0;
  let compressedBlocks = 0;
  for (;;) {
    const word = (frame[at] as number) | ((frame[at + 1] as number) << 8) | ((frame[at + 2] as number) << 16);
    const type = (word >> 1) & 3;
    const size = word >>> 3;
    if (type === 2) {
      length += compressedBlockLength(frame, at + 3, at + 3 + size, maximum, tables);
      compressedBlocks += 1;
    } else length += size;
    at += 3 + (type === 1 ? 1 : size);
    if ((word & 1) === 1) break;
  }
  return { length, compressedBlocks };
}

/** Data of the kinds an image holds: text with repeats, sparse zeros with scattered bytes, incompressible bytes, and a mixture. */
function samples(): Array<{ name: string; bytes: Uint8Array }> {
  const words = ['image', 'qcow2', 'cluster', 'sector', 'grain', 'vmdk', 'extent', 'header', '\n', ' ', '0x1f', 'table'];
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed >>> 8;
  };
  const text = new TextEncoder().encode(Array.from({ length: 60_000 }, () => words[next() % words.length]).join(''));
  const sparse = new Uint8Array(700_000);
  for (let index = 0; index < 3000; index += 1) sparse[next() % sparse.length] = next() & 0xff;
  const random = new Uint8Array(randomBytes(200_000));
  const mixed = new Uint8Array(500_000);
  for (let offset = 0; offset < mixed.length; offset += 4096) {
    const kind = next() % 3;
    if (kind === 0) mixed.set(random.subarray(offset % 100_000, (offset % 100_000) + 4096).subarray(0, Math.min(4096, mixed.length - offset)), offset);
    else if (kind === 1) mixed.set(text.subarray(offset % 50_000, (offset % 50_000) + 4096).subarray(0, Math.min(4096, mixed.length - offset)), offset);
  }
  const tiny = new TextEncoder().encode('a small file, where zstd uses the predefined tables: aaaaaaaabbbbbbbbaaaaaaaabbbbbbbb 0123456789 0123456789');
  return [
    { name: 'text', bytes: text },
    { name: 'sparse', bytes: sparse },
    { name: 'random', bytes: random },
    { name: 'mixed', bytes: mixed },
    { name: 'tiny', bytes: tiny },
  ];
}

describe.skipIf(!hasZstd)('the zstd sequences check, against zstd', () => {
  const levels = ['-1', '-3', '-9', '-19', '--fast=5'];
  for (const { name, bytes } of samples()) {
    it(`reads the exact length of every block zstd writes for ${name} data (${bytes.byteLength} bytes), at levels ${levels.join(' ')}`, () => {
      let compressed = 0;
      for (const level of levels) {
        const frame = zstd(bytes, [level, '--no-check']);
        const { length, compressedBlocks } = frameLength(frame);
        expect(length, `${name} ${level}`).toBe(bytes.byteLength);
        compressed += compressedBlocks;
      }
      // Random bytes go into raw blocks; every other sample must have exercised the check.
      if (name !== 'random') expect(compressed).toBeGreaterThan(0);
    });
  }
});

describe('a block whose sequences overflow it', () => {
  /**
   * A frame of one compressed block: no literals, `count` sequences in RLE mode for all
   * three fields (literal length code 0; offset code 1; match length code 52: 65 539 plus
   * 16 bits), and a bit stream of all ones (the longest matches): two of them overflow it.
   */
  function overflowingFrame(count: number): Uint8Array {
    const bitStreamBytes = Math.ceil((count * (1 + 16)) / 8) + 2;
    const sequencesHeader = [0xff, (count - 0x7f00) & 0xff, ((count - 0x7f00) >>> 8) & 0xff];
    const block = [
      0x00, // literals: raw, size format 0, 0 bytes
      ...(count < 128 ? [count] : count < 0x7f00 ? [(count >>> 8) + 128, count & 0xff] : sequencesHeader),
      0b01010100, // literal lengths, offsets, match lengths: RLE
      0,
      1,
      52,
      ...new Array<number>(bitStreamBytes).fill(0xff),
    ];
    const size = block.length;
    const blockHeader = [((size << 3) | 0b101) & 0xff, (size >>> 5) & 0xff, (size >>> 13) & 0xff]; // last block, compressed
    // Magic, descriptor 0 (window descriptor follows, no checksum), window 2^10 << 7 = 128 KiB.
    return Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38, ...blockHeader, ...block]);
  }

  it('is refused by the check (its lengths exceed Block_Maximum_Size), not handed to fzstd', () => {
    const frame = overflowingFrame(2000);
    const tables: SequenceTables = {};
    expect(() => compressedBlockLength(frame, 9, frame.length, 128 * 1024, tables)).toThrow(/decode to more than the block's 131072 bytes/);
  });

  it('makes the decoder fail with CORRUPT naming the sequences', async () => {
    const decoder = await createZstdDecoder();
    let failure: unknown;
    try {
      decoder.write(overflowingFrame(20_000));
      decoder.finish();
      for (let step = decoder.read(); step.kind !== 'end'; step = decoder.read());
    } catch (error) {
      failure = error;
    }
    expect(isIntrospectionError(failure) && failure.code).toBe('CORRUPT');
    expect((failure as { field?: string }).field).toBe('zstd block.sequences');
  });
});
