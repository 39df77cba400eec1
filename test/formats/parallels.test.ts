import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parallels } from '../../formats/parallels.js';
import { expectAgreesWithQemuInfo } from '../conformance/index.js';
import { loadBytes, realWorldImages, realWorldMissing, realWorldRoot } from '../helpers/fixtures.js';
import { formatKit, type InfoOf, patternedData, run, scratch } from '../helpers/format-kit.js';
import { hasQemuImg, qemuImg, qemuMissing } from '../helpers/qemu.js';
import { comparable, makeSource } from '../helpers/sources.js';

const { info: introspectParallels, fixtureBytes, patched: patchedFixture, rejects } = formatKit('parallels');

describe('parallels details read from the bytes', () => {
  it('reads the header qemu writes (block/parallels.c parallels_co_create)', async () => {
    const info = await introspectParallels(fixtureBytes('default.hds'));
    expect(info.details).toEqual({
      version: 'extended',
      magic: 'WithouFreSpacExt',
      headerVersion: 2,
      clusterSize: 1024 * 1024,
      sectors: 131072,
      batEntries: 64,
      inUse: false,
      heads: 16,
      // qemu: size / 512 / heads / 32 sectors per cylinder
      cylinders: 256,
      dataOffset: 1024 * 1024,
      flags: 0,
      extensionOffset: undefined,
    });
    expect(info.warnings).toEqual([]);
  });

  it('reads the cluster size qemu was asked for', async () => {
    const info = await introspectParallels(fixtureBytes('small-clusters.hds'));
    expect(info.details.clusterSize).toBe(65536);
    expect(info.details.batEntries).toBe(160);
  });

  it('reads the old signature and ignores the upper half of its size field, as qemu does', async () => {
    const info = await introspectParallels(fixtureBytes('legacy.hds'));
    expect(info.details.version).toBe('legacy');
    expect(info.details.magic).toBe('WithoutFreeSpace');
    expect(info.details.sectors).toBe(16384);
    expect(info.virtualSize).toBe(8 * 1024 * 1024);
  });

  it('reports an image left open, with a warning, and one closed by Parallels', async () => {
    const open = await introspectParallels(fixtureBytes('in-use.hds'));
    expect(open.details.inUse).toBe(true);
    expect(open.warnings).toEqual(['the image was not closed cleanly (inUse): its BAT may be stale']);
    const closed = await introspectParallels(fixtureBytes('closed-by-parallels.hds'));
    expect(closed.details.inUse).toBe(false);
    expect(closed.warnings).toEqual([]);
  });

  it('reads a format extension offset (sectors, reported in bytes)', async () => {
    const bytes = fixtureBytes('default.hds').slice();
    new DataView(bytes.buffer).setBigUint64(56, 4096n, true);
    const info = await introspectParallels(bytes);
    expect(info.details.extensionOffset).toBe(4096 * 512);
  });

  it('summarizes the notable fields', async () => {
    const info = await introspectParallels(fixtureBytes('legacy.hds'));
    expect(Object.fromEntries(parallels.summarize?.(info.details) ?? [])).toEqual({
      version: 'legacy (WithoutFreeSpace)',
      'cluster size': 65536,
      'BAT entries': 128,
      'in use': false,
    });
  });
});

describe('parallels errors and warnings', () => {
  const patched = (edit: (view: DataView) => void): Uint8Array => patchedFixture('default.hds', edit);

  it('rejects a truncated header with TRUNCATED', async () => {
    await rejects(fixtureBytes('default.hds').subarray(0, 40), 'TRUNCATED', 'header');
  });

  it('rejects another header version with UNSUPPORTED', async () => {
    await rejects(patched((view) => view.setUint32(16, 3, true)), 'UNSUPPORTED', 'header.version');
  });

  it('rejects clusters of zero sectors with CORRUPT', async () => {
    await rejects(patched((view) => view.setUint32(28, 0, true)), 'CORRUPT', 'header.tracks');
  });

  it('rejects a size above 2^53 bytes with CORRUPT', async () => {
    await rejects(patched((view) => view.setBigUint64(36, 1n << 50n, true)), 'CORRUPT', 'header.sectors');
  });

  it('warns when the BAT cannot cover the disk, or the clusters are too big for qemu', async () => {
    const info = await run(
      patched((view) => {
        view.setUint32(32, 3, true);
        view.setUint32(28, 5_000_000, true);
      }),
    );
    expect(info.warnings).toHaveLength(1);
    expect(info.warnings[0]).toMatch(/above what qemu accepts/);
    const short = await run(patched((view) => view.setUint32(32, 3, true)));
    expect(short.warnings).toEqual([`3 BAT entries of 1048576 bytes cover less than the disk's 131072 sectors`]);
  });
});

describe.skipIf(!hasQemuImg)(`parallels against qemu-img at test time${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  const { path, agrees } = scratch('parallels');

  const cases = [
    { name: 'default-1G', options: [], size: '1G' },
    { name: 'odd', options: [], size: '1000000' },
    { name: 'clusters-4K', options: ['-o', 'cluster_size=4K'], size: '100M' },
    { name: 'clusters-2M', options: ['-o', 'cluster_size=2M'], size: '3G' },
    { name: 'clusters-odd', options: ['-o', 'cluster_size=1000000'], size: '50M' },
    { name: 'large-4T', options: [], size: '4T' },
  ];
  for (const testCase of cases) {
    it(`${testCase.name}: format and size agree`, async () => {
      qemuImg(['create', '-q', '-f', 'parallels', ...testCase.options, path(`${testCase.name}.hds`), testCase.size]);
      const info = (await agrees(`${testCase.name}.hds`)) as InfoOf<'parallels'>;
      expect(info.details.version).toBe('extended');
    });
  }

  it('a disk converted from a file with real data', async () => {
    const data = patternedData(3 * 1024 * 1024 + 4096, 3001, (index) => index & 0xff);
    writeFileSync(path('data.raw'), data);
    qemuImg(['convert', '-q', '-O', 'parallels', path('data.raw'), path('converted.hds')]);
    await agrees('converted.hds');
  });
});

describe.skipIf(realWorldRoot() === undefined)(`parallels real-world images${realWorldRoot() === undefined ? ` (skipped: ${realWorldMissing})` : ''}`, () => {
  const images = realWorldImages().filter((image) => image.file.startsWith('parallels/'));

  it('finds them', () => {
    expect(images.length).toBeGreaterThanOrEqual(10);
  });

  for (const image of images) {
    it(`${image.file}: same format and size as qemu-img`, async () => {
      if (!('json' in image.qemu)) throw new Error(`qemu-img failed on ${image.file}`);
      const bytes = loadBytes(image.path);
      const info = await run(bytes);
      // DiskDescriptor.xml and the plain bundle's data file are raw to qemu and to us.
      expect(info.format).toBe(image.qemu.json.format);
      if (info.format === 'parallels') {
        expectAgreesWithQemuInfo(info, image.qemu.json, { name: image.file, length: bytes.byteLength });
        // Written by Parallels Desktop: old signature, 1 MiB clusters, a "pd17" tag where qemu keeps inUse.
        expect((info as InfoOf<'parallels'>).details).toMatchObject({ version: 'legacy', clusterSize: 1024 * 1024, inUse: false });
        expect(info.warnings).toEqual([]);
      } else {
        expect(info.virtualSize).toBe(bytes.byteLength);
      }
      expect(comparable(await run(makeSource('web-stream', bytes)))).toEqual(comparable(info));
    });
  }
});
