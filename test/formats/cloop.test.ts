import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cloop } from '../../formats/cloop.js';
import { formatKit, run, scratch } from '../helpers/format-kit.js';
import { hasQemuImg, qemuMissing } from '../helpers/qemu.js';

const { info: introspectCloop, fixtureBytes, patched: patchedFixture, rejects } = formatKit('cloop');

const QEMU_PREAMBLE = '#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n';

/** A cloop V2.0 image of `blocks` zlib-compressed blocks (compressed_loop.h layout). */
function cloopImage(blockSize: number, blocks: number): Uint8Array {
  const head = new Uint8Array(136 + 8 * (blocks + 1));
  head.set(new TextEncoder().encode(QEMU_PREAMBLE));
  const view = new DataView(head.buffer);
  view.setUint32(128, blockSize);
  view.setUint32(132, blocks);
  const compressed: Uint8Array[] = [];
  let offset = head.byteLength;
  for (let index = 0; index < blocks; index += 1) {
    const block = new Uint8Array(blockSize).fill(index & 0xff);
    const chunk = new Uint8Array(deflateSync(block));
    view.setBigUint64(136 + 8 * index, BigInt(offset));
    offset += chunk.byteLength;
    compressed.push(chunk);
  }
  view.setBigUint64(136 + 8 * blocks, BigInt(offset));
  const image = new Uint8Array(offset);
  image.set(head);
  let at = head.byteLength;
  for (const chunk of compressed) {
    image.set(chunk, at);
    at += chunk.byteLength;
  }
  return image;
}

describe('cloop details read from the bytes', () => {
  it('reads the header', async () => {
    const info = await introspectCloop(fixtureBytes('text.cloop'));
    expect(info.details).toEqual({
      version: '2.0',
      preamble: QEMU_PREAMBLE,
      blockSize: 65536,
      blockCount: 5,
      firstBlockOffset: 136 + 6 * 8,
    });
    expect(info.virtualSize).toBe(5 * 65536);
    expect(info.warnings).toEqual([]);
  });

  it('reads an empty image and small blocks', async () => {
    expect((await introspectCloop(fixtureBytes('empty.cloop'))).virtualSize).toBe(0);
    expect((await introspectCloop(fixtureBytes('small-blocks.cloop'))).virtualSize).toBe(33 * 4096);
  });

  it('recognises a V2.0 preamble with another command line, which qemu does not', async () => {
    const info = await introspectCloop(fixtureBytes('insmod.cloop'));
    expect(info.details.preamble).toMatch(/insmod cloop\.o/);
    expect(info.virtualSize).toBe(2 * 65536);
  });

  it('computes the size in 64 bits, where qemu multiplies in 32 bits', async () => {
    const bytes = fixtureBytes('text.cloop').slice();
    const view = new DataView(bytes.buffer);
    view.setUint32(132, 0x4000000); // 2^26 blocks of 64 KiB: 4 TiB, 2^33 sectors
    const info = await run(bytes);
    expect(info.virtualSize).toBe(2 ** 42);
  });

  it('summarizes the notable fields', async () => {
    const info = await introspectCloop(fixtureBytes('text.cloop'));
    expect(Object.fromEntries(cloop.summarize?.(info.details) ?? [])).toEqual({ version: '2.0', 'block size': 65536, blocks: 5 });
  });
});

describe('cloop errors and warnings', () => {
  const patched = (edit: (view: DataView) => void): Uint8Array => patchedFixture('text.cloop', edit);

  it('rejects a truncated header with TRUNCATED', async () => {
    await rejects(fixtureBytes('text.cloop').subarray(0, 130), 'TRUNCATED', 'header');
  });

  it('rejects a block size that is zero or not whole sectors with CORRUPT', async () => {
    for (const size of [0, 1000]) await rejects(patched((view) => view.setUint32(128, size)), 'CORRUPT', 'header.blockSize');
  });

  it('warns about blocks larger than qemu accepts and an offsets table of the wrong length', async () => {
    const info = await run(
      patched((view) => {
        view.setUint32(128, 128 * 1024 * 1024);
        view.setUint32(132, 7);
      }),
    );
    expect(info.warnings).toEqual([
      'blocks of 134217728 bytes are larger than qemu accepts (64 MiB)',
      'the first block starts at 184, not right after the offsets table (200)',
    ]);
  });
});

describe.skipIf(!hasQemuImg)(`cloop against qemu-img at test time${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  const { path, agrees } = scratch('cloop');

  for (const [blockSize, blocks] of [
    [512, 1],
    [65536, 17],
    [131072, 3],
    [1024 * 1024, 2],
  ] as const) {
    it(`${blocks} blocks of ${blockSize} bytes agree`, async () => {
      const file = `${blockSize}-${blocks}.cloop`;
      writeFileSync(path(file), cloopImage(blockSize, blocks));
      await agrees(file);
    });
  }
});
