import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { vdi } from '../../formats/vdi.js';
import { expectAgreesWithQemuInfo } from '../conformance/index.js';
import { fixtures, loadBytes, realWorldImages, realWorldMissing, realWorldRoot } from '../helpers/fixtures.js';
import { formatKit, type InfoOf, patternedData, run, scratch } from '../helpers/format-kit.js';
import { hasQemuImg, qemuImg, qemuMissing } from '../helpers/qemu.js';
import { comparable, makeSource } from '../helpers/sources.js';

const { info: introspectVdi, fixtureBytes, patched: patchedFixture, rejects } = formatKit('vdi');
const vdiFixtures = fixtures('vdi');

/** A version 4 UUID (random): what qemu and VirtualBox generate. Its fixed nibbles prove the byte order. */
const RANDOM_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('vdi details read from the bytes', () => {
  it('reads a qemu-made dynamic header (version 1.1, 0x180 bytes, no LCHS geometry)', async () => {
    const info = await introspectVdi(fixtureBytes('dynamic.vdi'));
    expect(info.details).toMatchObject({
      banner: '<<< QEMU VM Virtual Disk Image >>>',
      version: '1.1',
      headerSize: 0x180,
      imageType: 'dynamic',
      flags: 0,
      description: '',
      sectorSize: 512,
      diskSize: 64 * 1024 * 1024,
      blockSize: 1024 * 1024,
      blockExtraSize: 0,
      blocksInImage: 64,
      blocksAllocated: 0,
      blocksOffset: 512,
      dataOffset: 1024,
      parentUuid: undefined,
      parentModifyUuid: undefined,
      geometry: undefined,
      legacyGeometry: { cylinders: 0, heads: 0, sectors: 0, sectorSize: 512 },
    });
    // qemu stores random (version 4) UUIDs little-endian; read mixed-endian they show their version nibble.
    expect(info.details.uuid).toMatch(RANDOM_UUID);
    expect(info.details.modifyUuid).toMatch(RANDOM_UUID);
    expect(info.warnings).toEqual([]);
  });

  it('reads a static image and the allocated blocks of a converted one', async () => {
    const fixed = await introspectVdi(fixtureBytes('static.vdi'));
    expect(fixed.details.imageType).toBe('static');
    expect(fixed.details.blocksAllocated).toBe(1);
    const converted = await introspectVdi(fixtureBytes('converted.vdi'));
    expect(converted.details.imageType).toBe('dynamic');
    expect(converted.details.blocksInImage).toBe(4);
    // data.raw has data at 0, 1 MiB and 3 MiB (scripts/fixtures/lib.sh data_raw): blocks 0, 1 and 3.
    expect(converted.details.blocksAllocated).toBe(3);
  });

  it('reports an odd declared size exactly, where qemu rounds it up to 512', async () => {
    const info = await introspectVdi(fixtureBytes('odd-declared.vdi'));
    expect(info.virtualSize).toBe(1000001);
    const qemu = vdiFixtures.find((fixture) => fixture.name === 'odd-declared.vdi')?.qemu ?? {};
    expect(qemu['virtual-size']).toBe(1000448);
  });

  it('reads a differencing image and its parent UUIDs (mixed-endian, hand-checked)', async () => {
    const info = await introspectVdi(fixtureBytes('diff.vdi'));
    expect(info.details.imageType).toBe('diff');
    expect(info.details.parentUuid).toBe('01234567-89ab-cdef-0123-456789abcdef');
    expect(info.details.parentModifyUuid).toBe('03020100-0504-0706-0809-0a0b0c0d0e0f');
    expect(info.virtualSize).toBe(8 * 1024 * 1024);
  });

  it("reads VirtualBox's 0x190-byte header: LCHS geometry, UTF-8 description, banner", async () => {
    const info = await introspectVdi(fixtureBytes('vbox-header.vdi'));
    expect(info.details.headerSize).toBe(0x190);
    expect(info.details.geometry).toEqual({ cylinders: 65, heads: 16, sectors: 63, sectorSize: 512 });
    expect(info.details.description).toBe('test disk \u00e9');
    expect(info.details.banner).toBe('<<< Oracle VM VirtualBox Disk Image >>>');
  });

  it('reads a version 0.0 header', async () => {
    const info = await introspectVdi(fixtureBytes('version0.vdi'));
    expect(info.virtualSize).toBe(4 * 1024 * 1024);
    expect(info.details).toMatchObject({
      version: '0.0',
      headerSize: undefined,
      imageType: 'dynamic',
      description: 'old image',
      blocksInImage: 4,
      blocksOffset: 420,
      dataOffset: 436,
      uuid: '12345678-1234-5678-9abc-def012345678',
      modifyUuid: '11111111-2222-3333-4444-555555555555',
      parentUuid: undefined,
      legacyGeometry: { cylinders: 8, heads: 16, sectors: 63, sectorSize: 512 },
    });
  });

  it('summarizes the notable fields', async () => {
    const info = await introspectVdi(fixtureBytes('diff.vdi'));
    const summary = Object.fromEntries(vdi.summarize?.(info.details) ?? []);
    expect(summary['image type']).toBe('diff');
    expect(summary['parent uuid']).toBe('01234567-89ab-cdef-0123-456789abcdef');
  });
});

describe('vdi errors and warnings', () => {
  const patched = (edit: (view: DataView) => void): Uint8Array => patchedFixture('dynamic.vdi', edit);

  it('rejects a truncated header with TRUNCATED', async () => {
    await rejects(fixtureBytes('dynamic.vdi').subarray(0, 300), 'TRUNCATED', 'header');
  });

  it('rejects an unknown major version with UNSUPPORTED', async () => {
    await rejects(patched((view) => view.setUint16(70, 2, true)), 'UNSUPPORTED', 'header.version');
  });

  it('rejects an unknown image type, a short header and an empty block with CORRUPT', async () => {
    for (const [edit, field] of [
      [(view: DataView) => view.setUint32(76, 9, true), 'header.imageType'],
      [(view: DataView) => view.setUint32(72, 0x100, true), 'header.headerSize'],
      [(view: DataView) => view.setUint32(376, 0, true), 'header.blockSize'],
    ] as const) {
      await rejects(patched(edit), 'CORRUPT', field);
    }
  });

  it('rejects a disk size above 2^53 with CORRUPT', async () => {
    await rejects(patched((view) => view.setBigUint64(368, 1n << 60n, true)), 'CORRUPT', 'header.diskSize');
  });

  it('warns where the header contradicts itself', async () => {
    const info = await run(
      patched((view) => {
        view.setUint32(384, 2, true); // blocks in image: 2 MiB for a 64 MiB disk
        view.setUint32(388, 3, true); // allocated: 3
        view.setUint32(360, 4096, true); // sector size
      }),
    );
    expect(info.virtualSize).toBe(64 * 1024 * 1024);
    expect(info.warnings).toHaveLength(3);
    expect(info.warnings.join('\n')).toMatch(/block map covers 2097152 bytes/);
  });

  it('does not claim a file whose signature is elsewhere', async () => {
    const bytes = new Uint8Array(1024);
    bytes.set([0x7f, 0x10, 0xda, 0xbe], 65);
    expect((await run(bytes)).format).toBe('raw');
  });
});

describe.skipIf(!hasQemuImg)(`vdi against qemu-img at test time${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  const { path, agrees } = scratch('vdi');

  const cases = [
    { name: 'dynamic-1G', options: [], size: '1G' },
    { name: 'dynamic-odd', options: [], size: '1000000' },
    { name: 'dynamic-odd-2', options: [], size: '12345' },
    { name: 'static-3M', options: ['-o', 'static=on'], size: '3M' },
    { name: 'static-odd', options: ['-o', 'static=on'], size: '1500000' },
    { name: 'dynamic-2T', options: [], size: '2T' },
  ];
  for (const testCase of cases) {
    it(`${testCase.name}: format, size, cluster size and dirty flag agree`, async () => {
      qemuImg(['create', '-q', '-f', 'vdi', ...testCase.options, path(`${testCase.name}.vdi`), testCase.size]);
      const info = (await agrees(`${testCase.name}.vdi`)) as InfoOf<'vdi'>;
      expect(info.details.imageType).toBe(testCase.options.length > 0 ? 'static' : 'dynamic');
    });
  }

  it('a disk converted from a file with real data', async () => {
    const data = patternedData(5 * 1024 * 1024 + 512, 4093, (index) => (index >> 3) & 0xff);
    writeFileSync(path('data.raw'), data);
    for (const options of [[], ['-o', 'static=on']]) {
      qemuImg(['convert', '-q', '-O', 'vdi', ...options, path('data.raw'), path(`converted-${options.length}.vdi`)]);
      const info = (await agrees(`converted-${options.length}.vdi`)) as InfoOf<'vdi'>;
      expect(info.details.blocksAllocated).toBe(6);
    }
  });
});

describe.skipIf(realWorldRoot() === undefined)(`vdi real-world images${realWorldRoot() === undefined ? ` (skipped: ${realWorldMissing})` : ''}`, () => {
  const images = realWorldImages().filter((image) => image.file.startsWith('vdi/'));

  it('finds them', () => {
    expect(images.length).toBeGreaterThanOrEqual(3);
  });

  for (const image of images) {
    it(`${image.file} agrees with qemu-img and reads the same from a stream`, async () => {
      const bytes = loadBytes(image.path);
      const info = await introspectVdi(bytes);
      if (!('json' in image.qemu)) throw new Error(`qemu-img failed on ${image.file}`);
      expectAgreesWithQemuInfo(info, image.qemu.json, { name: image.file, length: bytes.byteLength });
      expect(info.details.uuid).toMatch(RANDOM_UUID);
      expect(comparable(await run(makeSource('one-byte-chunks', bytes)))).toEqual(comparable(info));
    });
  }

  it('reads the VirtualBox 4 image as VirtualBox wrote it', async () => {
    const image = images.find((candidate) => candidate.file.endsWith('TestHD-vbox4.vdi'));
    if (!image) throw new Error('missing TestHD-vbox4.vdi');
    const info = await introspectVdi(loadBytes(image.path));
    expect(info.details).toMatchObject({
      banner: '<<< Oracle VM VirtualBox Disk Image >>>',
      headerSize: 0x190,
      blocksInImage: 8192,
      blocksOffset: 4096,
      dataOffset: 36864,
      geometry: { cylinders: 0, heads: 0, sectors: 0, sectorSize: 512 },
      // Bytes 8e 55 2b c9 a5 eb e8 43 ...: the first three fields little-endian.
      uuid: 'c92b558e-eba5-43e8-a8b3-984f946db1b2',
    });
  });
});
