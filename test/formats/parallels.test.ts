import { rejectionOf } from '../helpers/errors.js';
import { allFormats } from '../../formats/index.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { introspect, IntrospectionError, type ImageInfoOf } from '../../src/index.js';
import { introspectFile } from '../../src/node.js';
import { parallels, type ParallelsDetails } from '../../formats/parallels.js';
import { raw } from '../../formats/raw.js';
import { loadBytes, realWorldImages, realWorldMissing, realWorldRoot, fixtureBytes as fixtureBytesIn } from '../helpers/fixtures.js';
import { hasQemuImg, qemuImg, qemuInfo, qemuMissing } from '../helpers/qemu.js';
import { expectAgreesWithQemuInfo, imageFile } from '../conformance/index.js';
import { comparable, makeSource } from '../helpers/sources.js';

// Every built-in format: results must not depend on which other formats are considered.
const formats = allFormats;
type ParallelsInfo = ImageInfoOf<'parallels', ParallelsDetails>;


const fixtureBytes = (name: string): Uint8Array => fixtureBytesIn('parallels', name);

async function introspectParallels(source: Parameters<typeof introspect>[0]): Promise<ParallelsInfo> {
  const info = await introspect(source, { formats });
  expect(info.format).toBe('parallels');
  return info as ParallelsInfo;
}

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
  const patched = (edit: (view: DataView) => void): Uint8Array => {
    const bytes = fixtureBytes('default.hds').slice();
    edit(new DataView(bytes.buffer));
    return bytes;
  };
  const failure = async (bytes: Uint8Array) =>
    await rejectionOf(introspect(bytes, { formats }));

  it('rejects a truncated header with TRUNCATED', async () => {
    const error = await failure(fixtureBytes('default.hds').subarray(0, 40));
    expect(error).toBeInstanceOf(IntrospectionError);
    expect(error.code).toBe('TRUNCATED');
    expect(error.format).toBe('parallels');
    expect(error.field).toBe('header');
  });

  it('rejects another header version with UNSUPPORTED', async () => {
    const error = await failure(patched((view) => view.setUint32(16, 3, true)));
    expect(error.code).toBe('UNSUPPORTED');
    expect(error.field).toBe('header.version');
  });

  it('rejects clusters of zero sectors with CORRUPT', async () => {
    const error = await failure(patched((view) => view.setUint32(28, 0, true)));
    expect(error.code).toBe('CORRUPT');
    expect(error.field).toBe('header.tracks');
  });

  it('rejects a size above 2^53 bytes with CORRUPT', async () => {
    const error = await failure(patched((view) => view.setBigUint64(36, 1n << 50n, true)));
    expect(error.code).toBe('CORRUPT');
    expect(error.field).toBe('header.sectors');
  });

  it('warns when the BAT cannot cover the disk, or the clusters are too big for qemu', async () => {
    const info = await introspect(
      patched((view) => {
        view.setUint32(32, 3, true);
        view.setUint32(28, 5_000_000, true);
      }),
      { formats },
    );
    expect(info.warnings).toHaveLength(1);
    expect(info.warnings[0]).toMatch(/above what qemu accepts/);
    const short = await introspect(patched((view) => view.setUint32(32, 3, true)), { formats });
    expect(short.warnings).toEqual([`3 BAT entries of 1048576 bytes cover less than the disk's 131072 sectors`]);
  });
});

describe.skipIf(!hasQemuImg)(`parallels against qemu-img at test time${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'image-introspect-parallels-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

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
      const path = join(work, `${testCase.name}.hds`);
      qemuImg(['create', '-q', '-f', 'parallels', ...testCase.options, path, testCase.size]);
      const info = (await introspectFile(path, { formats })) as ParallelsInfo;
      expectAgreesWithQemuInfo(info, qemuInfo(path), imageFile(path));
      expect(info.details.version).toBe('extended');
    });
  }

  it('a disk converted from a file with real data', async () => {
    const rawPath = join(work, 'data.raw');
    const data = new Uint8Array(3 * 1024 * 1024 + 4096);
    for (let index = 0; index < data.length; index += 3001) data[index] = index & 0xff;
    writeFileSync(rawPath, data);
    const path = join(work, 'converted.hds');
    qemuImg(['convert', '-q', '-O', 'parallels', rawPath, path]);
    expectAgreesWithQemuInfo(await introspectFile(path, { formats }), qemuInfo(path), imageFile(path));
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
      const info = await introspect(bytes, { formats });
      // DiskDescriptor.xml and the plain bundle's data file are raw to qemu and to us.
      expect(info.format).toBe(image.qemu.json.format);
      if (info.format === 'parallels') {
        expectAgreesWithQemuInfo(info, image.qemu.json, { name: image.file, length: bytes.byteLength });
        // Written by Parallels Desktop: old signature, 1 MiB clusters, a "pd17" tag where qemu keeps inUse.
        expect((info as ParallelsInfo).details).toMatchObject({ version: 'legacy', clusterSize: 1024 * 1024, inUse: false });
        expect(info.warnings).toEqual([]);
      } else {
        expect(info.virtualSize).toBe(bytes.byteLength);
      }
      expect(comparable(await introspect(makeSource('web-stream', bytes), { formats }))).toEqual(comparable(info));
    });
  }

  it('none of the other real-world images is claimed as Parallels', async () => {
    for (const image of realWorldImages().filter((candidate) => !candidate.file.startsWith('parallels/'))) {
      const outcome = await introspect(loadBytes(image.path), { formats: [parallels, raw] }).catch((error: unknown) => error);
      if (outcome instanceof Error) throw outcome;
      expect((outcome as { format: string }).format, image.file).toBe('raw');
    }
  });
});
