import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bochs } from '../../formats/bochs.js';
import { fixtures } from '../helpers/fixtures.js';
import { formatKit, run, scratch } from '../helpers/format-kit.js';
import { hasQemuImg, qemuMissing } from '../helpers/qemu.js';

const { info: introspectBochs, fixtureBytes, patched: patchedFixture, rejects } = formatKit('bochs');
const bochsFixtures = fixtures('bochs');

/** A redolog header as Bochs writes it (hdimage.h), with bximage's geometry for `size`. */
function bochsImage(size: number, options: { version?: number; subtype?: string } = {}): Uint8Array {
  let entries = 512;
  let bitmap = 1;
  while (entries * 8 * bitmap * 512 < size) {
    entries *= 2;
    bitmap *= 2;
  }
  const bytes = new Uint8Array(512 + entries * 4).fill(0xff);
  bytes.fill(0, 0, 512);
  const view = new DataView(bytes.buffer);
  const text = (value: string, at: number) => bytes.set(new TextEncoder().encode(value), at);
  text('Bochs Virtual HD Image', 0);
  text('Redolog', 32);
  text(options.subtype ?? 'Growing', 48);
  const version = options.version ?? 0x20000;
  view.setUint32(64, version, true);
  view.setUint32(68, 512, true);
  view.setUint32(72, entries, true);
  view.setUint32(76, bitmap, true);
  view.setUint32(80, 8 * bitmap * 512, true);
  view.setBigUint64(version === 0x20000 ? 88 : 84, BigInt(size), true);
  return bytes;
}

describe('bochs details read from the bytes', () => {
  it('reads a version 2.0 growing redolog', async () => {
    const info = await introspectBochs(fixtureBytes('growing-v2.img'));
    expect(info.details).toEqual({
      type: 'Redolog',
      subtype: 'Growing',
      version: '2.0',
      headerSize: 512,
      // bximage: 2048 extents of 16 KiB (4 bytes of bitmap each) for a 10 MiB disk
      catalogEntries: 2048,
      bitmapSize: 4,
      extentSize: 16384,
      timestamp: 0x5a216c3b,
      diskSize: 10 * 1024 * 1024,
    });
    expect(info.warnings).toEqual([]);
  });

  it('reads the disk size of a version 1.0 header at 84, where version 2.0 has its timestamp', async () => {
    const info = await introspectBochs(fixtureBytes('growing-v1.img'));
    expect(info.details.version).toBe('1.0');
    expect(info.details.timestamp).toBeUndefined();
    expect(info.virtualSize).toBe(4 * 1024 * 1024);
  });

  it('reports an odd declared size exactly, where qemu counts whole sectors', async () => {
    const info = await introspectBochs(fixtureBytes('odd-size.img'));
    expect(info.virtualSize).toBe(1000000);
    expect(bochsFixtures.find((fixture) => fixture.name === 'odd-size.img')?.qemu['virtual-size']).toBe(999936);
  });

  it('reads undoable and volatile redologs, which qemu probes as raw', async () => {
    expect((await introspectBochs(fixtureBytes('undoable.img'))).details.subtype).toBe('Undoable');
    expect((await introspectBochs(fixtureBytes('volatile.img'))).details.subtype).toBe('Volatile');
  });

  it('summarizes the notable fields', async () => {
    const info = await introspectBochs(fixtureBytes('growing-v2.img'));
    expect(Object.fromEntries(bochs.summarize?.(info.details) ?? [])).toEqual({
      subtype: 'Growing',
      version: '2.0',
      'extent size': 16384,
      'catalog entries': 2048,
    });
  });
});

describe('bochs errors and warnings', () => {
  const patched = (edit: (view: DataView, bytes: Uint8Array) => void): Uint8Array => patchedFixture('growing-v2.img', edit);

  it('rejects a truncated header with TRUNCATED', async () => {
    await rejects(fixtureBytes('growing-v2.img').subarray(0, 90), 'TRUNCATED', 'header');
  });

  it('rejects an unknown version or type with UNSUPPORTED', async () => {
    await rejects(patched((view) => view.setUint32(64, 0x30000, true)), 'UNSUPPORTED', 'header.version');
    await rejects(patched((_, bytes) => bytes.set(new TextEncoder().encode('Flat\0\0\0'), 32)), 'UNSUPPORTED', 'header.type');
  });

  it('rejects an extent size of 0 and a size above 2^53 with CORRUPT', async () => {
    await rejects(patched((view) => view.setUint32(80, 0, true)), 'CORRUPT', 'header.extentSize');
    await rejects(patched((view) => view.setBigUint64(88, 1n << 62n, true)), 'CORRUPT', 'header.diskSize');
  });

  it("warns where qemu's open checks would fail", async () => {
    const info = await run(
      patched((view) => {
        view.setUint32(80, 3000, true);
        view.setUint32(72, 0x200000, true);
      }),
    );
    expect(info.warnings).toEqual([
      '2097152 catalog entries is more than qemu accepts (1048576)',
      'an extent size of 3000 bytes is not a power of two from 512 to 8 MiB (qemu refuses it)',
    ]);
    const small = await run(patched((view) => view.setUint32(72, 16, true)));
    expect(small.warnings).toEqual(["16 extents of 16384 bytes cannot hold the disk's 10485760 bytes"]);
  });

  it('needs the NUL after the magic, as qemu does', async () => {
    const bytes = patched((_, data) => data.set([0x21], 22));
    expect((await run(bytes)).format).toBe('raw');
  });
});

describe.skipIf(!hasQemuImg)(`bochs against qemu-img at test time${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  const { path, agrees } = scratch('bochs');

  const cases = [
    { size: 1024 * 1024 * 1024, version: 0x20000 },
    { size: 123456789, version: 0x20000 },
    { size: 3 * 1024 * 1024 * 1024 * 1024, version: 0x20000 },
    { size: 64 * 1024 * 1024, version: 0x10000 },
    { size: 512 * 3, version: 0x10000 },
  ];
  for (const testCase of cases) {
    it(`a ${testCase.size}-byte version ${testCase.version >> 16} redolog agrees`, async () => {
      const file = `${testCase.size}-${testCase.version}.img`;
      writeFileSync(path(file), bochsImage(testCase.size, { version: testCase.version }));
      await agrees(file);
    });
  }
});
