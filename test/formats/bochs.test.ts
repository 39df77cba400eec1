import { rejectionOf } from '../helpers/errors.js';
import { allFormats } from '../../formats/index.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { introspect, IntrospectionError, type ImageInfoOf } from '../../src/index.js';
import { introspectFile } from '../../src/node.js';
import { bochs, type BochsDetails } from '../../formats/bochs.js';
import { raw } from '../../formats/raw.js';
import { fixtures, loadBytes, realWorldImages, realWorldMissing, realWorldRoot, fixtureBytes as fixtureBytesIn } from '../helpers/fixtures.js';
import { hasQemuImg, qemuInfo, qemuMissing } from '../helpers/qemu.js';
import { expectAgreesWithQemuInfo, imageFile } from '../conformance/index.js';

// Every built-in format: results must not depend on which other formats are considered.
const formats = allFormats;
type BochsInfo = ImageInfoOf<'bochs', BochsDetails>;

const bochsFixtures = fixtures('bochs');

const fixtureBytes = (name: string): Uint8Array => fixtureBytesIn('bochs', name);

async function introspectBochs(source: Parameters<typeof introspect>[0]): Promise<BochsInfo> {
  const info = await introspect(source, { formats });
  expect(info.format).toBe('bochs');
  return info as BochsInfo;
}

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
  const failure = async (bytes: Uint8Array) =>
    await rejectionOf(introspect(bytes, { formats }));
  const patched = (edit: (view: DataView, bytes: Uint8Array) => void): Uint8Array => {
    const bytes = fixtureBytes('growing-v2.img').slice();
    edit(new DataView(bytes.buffer), bytes);
    return bytes;
  };

  it('rejects a truncated header with TRUNCATED', async () => {
    const error = await failure(fixtureBytes('growing-v2.img').subarray(0, 90));
    expect(error).toBeInstanceOf(IntrospectionError);
    expect(error.code).toBe('TRUNCATED');
    expect(error.format).toBe('bochs');
    expect(error.field).toBe('header');
  });

  it('rejects an unknown version or type with UNSUPPORTED', async () => {
    const version = await failure(patched((view) => view.setUint32(64, 0x30000, true)));
    expect(version.code).toBe('UNSUPPORTED');
    expect(version.field).toBe('header.version');
    const type = await failure(patched((_, bytes) => bytes.set(new TextEncoder().encode('Flat\0\0\0'), 32)));
    expect(type.code).toBe('UNSUPPORTED');
    expect(type.field).toBe('header.type');
  });

  it('rejects an extent size of 0 and a size above 2^53 with CORRUPT', async () => {
    const extent = await failure(patched((view) => view.setUint32(80, 0, true)));
    expect(extent.code).toBe('CORRUPT');
    expect(extent.field).toBe('header.extentSize');
    const size = await failure(patched((view) => view.setBigUint64(88, 1n << 62n, true)));
    expect(size.code).toBe('CORRUPT');
    expect(size.field).toBe('header.diskSize');
  });

  it("warns where qemu's open checks would fail", async () => {
    const info = await introspect(
      patched((view) => {
        view.setUint32(80, 3000, true);
        view.setUint32(72, 0x200000, true);
      }),
      { formats },
    );
    expect(info.warnings).toEqual([
      '2097152 catalog entries is more than qemu accepts (1048576)',
      'an extent size of 3000 bytes is not a power of two from 512 to 8 MiB (qemu refuses it)',
    ]);
    const small = await introspect(patched((view) => view.setUint32(72, 16, true)), { formats });
    expect(small.warnings).toEqual(["16 extents of 16384 bytes cannot hold the disk's 10485760 bytes"]);
  });

  it('needs the NUL after the magic, as qemu does', async () => {
    const bytes = patched((_, data) => data.set([0x21], 22));
    expect((await introspect(bytes, { formats })).format).toBe('raw');
  });
});

describe.skipIf(!hasQemuImg)(`bochs against qemu-img at test time${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'image-introspect-bochs-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const cases = [
    { size: 1024 * 1024 * 1024, version: 0x20000 },
    { size: 123456789, version: 0x20000 },
    { size: 3 * 1024 * 1024 * 1024 * 1024, version: 0x20000 },
    { size: 64 * 1024 * 1024, version: 0x10000 },
    { size: 512 * 3, version: 0x10000 },
  ];
  for (const testCase of cases) {
    it(`a ${testCase.size}-byte version ${testCase.version >> 16} redolog agrees`, async () => {
      const path = join(work, `${testCase.size}-${testCase.version}.img`);
      const bytes = bochsImage(testCase.size, { version: testCase.version });
      writeFileSync(path, bytes);
      expectAgreesWithQemuInfo(await introspectFile(path, { formats }), qemuInfo(path), imageFile(path));
    });
  }
});

describe.skipIf(realWorldRoot() === undefined)(`bochs and the real-world images${realWorldRoot() === undefined ? ` (skipped: ${realWorldMissing})` : ''}`, () => {
  it('claims none of them (there is no real-world Bochs image)', async () => {
    for (const image of realWorldImages()) {
      const outcome = await introspect(loadBytes(image.path), { formats: [bochs, raw] }).catch((error: unknown) => error);
      if (outcome instanceof Error) throw outcome;
      expect((outcome as { format: string }).format, image.file).toBe('raw');
    }
  });
});
