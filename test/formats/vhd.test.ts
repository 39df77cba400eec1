import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type VhdDetails,
  readVhdDynamicHeader,
  readVhdFooter,
  vhdChecksum,
  vhdVirtualSize,
  VHD_MAX_LOCATOR_DATA_LENGTH,
} from '../../formats/vhd.js';
import { introspectFile } from '../../src/node.js';
import { fixtures, loadBytes, realWorldImages, realWorldMissing, realWorldRoot } from '../helpers/fixtures.js';
import { hasQemuImg, qemuImg, qemuInfo, qemuMissing } from '../helpers/qemu.js';
import { expectResultOrCleanError, formatKit, formats, patternedData, run, scratch } from '../helpers/format-kit.js';
import { describeFixturesAgainstVhdiinfo, hasVhdiinfo, vhdiinfo } from '../helpers/vhdiinfo.js';
import { expectAgreesWithQemuInfo, imageFile } from '../conformance/index.js';
import { comparable, makeSource, sourceKinds, trackedStream } from '../helpers/sources.js';

const { info: vhdInfo, failure: rejection, fixtureBytes, rejects } = formatKit('vhd');
const vhdFixtures = fixtures('vhd');

/** Rewrites a footer's (or header's) checksum after an edit, as the VHD spec defines it. */
function reseal(bytes: Uint8Array, start: number, length: number, checksumOffset: number): void {
  const block = bytes.subarray(start, start + length);
  new DataView(block.buffer, block.byteOffset).setUint32(checksumOffset, vhdChecksum(block, checksumOffset));
}

/** Edits both footer copies of a dynamic disk (at 0 and at the end) and fixes their checksums. */
function editFooters(bytes: Uint8Array, edit: (view: DataView) => void): void {
  for (const start of [0, bytes.byteLength - 512]) {
    edit(new DataView(bytes.buffer, bytes.byteOffset + start, 512));
    reseal(bytes, start, 512, 64);
  }
}

/** Edits the dynamic header at 512 and fixes its checksum. */
function editDynamicHeader(bytes: Uint8Array, edit: (view: DataView) => void): void {
  edit(new DataView(bytes.buffer, bytes.byteOffset + 512, 1024));
  reseal(bytes, 512, 1024, 36);
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');


/** Compares with vhdiinfo: disk type, media size (libvhdi always reports the footer's current size), identifier, parent. */
function expectVhdiinfoAgrees(details: VhdDetails, fields: Record<string, string>): void {
  expect(fields['Format']).toBe('VHD (version 1)');
  expect(fields['Disk type']).toBe({ fixed: 'Fixed', dynamic: 'Dynamic', differencing: 'Differential' }[details.diskType]);
  expect(fields['Media size']).toMatch(new RegExp(`\\(${details.currentSize} bytes\\)$`));
  expect(fields['Identifier']).toBe(details.uuid);
  expect(fields['Parent identifier']).toBe(details.parentUuid);
  expect(fields['Parent filename']).toBe(details.parentName);
}

describe('vhd details read from the bytes', () => {
  it('reads a qemu dynamic disk: footer, geometry, dynamic header (hand-checked bytes)', async () => {
    const bytes = fixtureBytes('dynamic-64M.vhd');
    const info = await vhdInfo(bytes);
    const details = info.details;
    // Footer bytes: 28 "qemu", 32 0x00050003, 36 "Wi2k", 48 0x4004000, 56 03c4 08 11, 60 type 3.
    expect(details.diskType).toBe('dynamic');
    expect(details.creatorApp).toBe('qemu');
    expect(details.creatorVersion).toBe('5.3');
    expect(details.creatorHostOs).toBe('Wi2k');
    expect(details.currentSize).toBe(0x4004000);
    expect(details.originalSize).toBe(0x4004000);
    expect(details.geometry).toEqual({ cylinders: 964, heads: 8, sectorsPerTrack: 17 });
    expect(details.sizeSource).toBe('geometry');
    expect(info.virtualSize).toBe(964 * 8 * 17 * 512);
    expect(details.uuid.replace(/-/g, '')).toBe(hex(bytes.subarray(68, 84)));
    expect(details.savedState).toBe(false);
    expect(details.checksumValid).toBe(true);
    expect(details.features).toBe(2);
    expect(details.formatVersion).toBe('1.0');
    expect(details.footerOffset).toBe(0);
    const seconds = new DataView(bytes.buffer).getUint32(24);
    expect(Date.parse(details.timestamp)).toBe(Date.UTC(2000, 0, 1) + seconds * 1000);
    // Dynamic header at 512: table offset 0x600, 0x21 entries, 2 MiB blocks (qemu block/vpc.c create_dynamic_disk).
    expect(details.tableOffset).toBe(1536);
    expect(details.maxTableEntries).toBe(33);
    expect(details.blockSize).toBe(2 * 1024 * 1024);
    expect(details.headerChecksumValid).toBe(true);
    expect(details.parentName).toBeUndefined();
    expect(details.parentLocators).toBeUndefined();
    expect(info.warnings).toEqual([]);
  });

  it('finds a fixed disk by its footer in the last 512 bytes and reports it as vhd (qemu probes raw)', async () => {
    const bytes = fixtureBytes('fixed-1M.vhd');
    const info = await vhdInfo(bytes);
    expect(info.matchedFormats).toEqual(['vhd']);
    expect(info.details.diskType).toBe('fixed');
    expect(info.details.footerOffset).toBe(bytes.byteLength - 512);
    expect(info.details.geometry).toEqual({ cylinders: 31, heads: 4, sectorsPerTrack: 17 });
    expect(info.virtualSize).toBe(1079296);
    expect(info.details.blockSize).toBeUndefined();
    expect(info.details.maxTableEntries).toBeUndefined();
  });

  it('reads only the head of a dynamic disk from a stream, and stops the stream', async () => {
    const bytes = fixtureBytes('dynamic-data.vhd');
    const stream = trackedStream(bytes, [4096]);
    const info = await run(stream);
    expect(info.format).toBe('vhd');
    expect(stream.returned).toBe(true);
    expect(stream.pulled).toBeLessThan(64 * 1024);
  });

  it('sizes by current size for force_size (qem2), "win " and "tap", by geometry for "vbox" (qemu vpc_open)', async () => {
    const force = await vhdInfo(fixtureBytes('dynamic-force.vhd'));
    expect(force.details.creatorApp).toBe('qem2');
    expect(force.details.geometry).toEqual({ cylinders: 65535, heads: 16, sectorsPerTrack: 255 });
    expect(force.virtualSize).toBe(10 * 1024 * 1024);

    const win = await vhdInfo(fixtureBytes('creator-win.vhd'));
    expect(win.details.creatorApp).toBe('win ');
    expect(win.details.sizeSource).toBe('currentSize');
    expect(win.virtualSize).toBe(10485760);

    const vbox = await vhdInfo(fixtureBytes('creator-vbox.vhd'));
    expect(vbox.details.creatorApp).toBe('vbox');
    expect(vbox.details.currentSize).toBe(10485760);
    expect(vbox.details.sizeSource).toBe('geometry');
    expect(vbox.virtualSize).toBe(302 * 4 * 17 * 512);

    const tap = await vhdInfo(fixtureBytes('fixed-creator-tap.vhd'));
    expect(tap.details.creatorApp).toBe('tap');
    expect(tap.virtualSize).toBe(1048576);
  });

  it('uses the current size above 127 GiB, where the geometry is at its maximum', async () => {
    const big = await vhdInfo(fixtureBytes('dynamic-200G.vhd'));
    expect(big.details.geometry).toEqual({ cylinders: 65535, heads: 16, sectorsPerTrack: 255 });
    expect(big.details.sizeSource).toBe('currentSize');
    expect(big.virtualSize).toBe(200 * 1024 ** 3);
    const below = await vhdInfo(fixtureBytes('dynamic-127G.vhd'));
    expect(below.details.sizeSource).toBe('geometry');
    expect(below.virtualSize).toBe(136365219840);
  });

  it('reads a differencing disk: parent name, UUID, timestamp and locators in offset order', async () => {
    const info = await vhdInfo(fixtureBytes('differencing.vhd'));
    const details = info.details;
    expect(details.diskType).toBe('differencing');
    expect(details.parentName).toBe('parent-disk.vhd');
    expect(details.parentUuid).toBe('6b1f0b0e-8a55-4d36-9c3a-2f4e5d6c7b8a');
    // 700000000 seconds after 2000-01-01 UTC.
    expect(details.parentTimestamp).toBe('2022-03-07T20:26:40.000Z');
    expect(details.parentLocators).toEqual([
      { platformCode: 'W2ku', platformDataSpace: 512, platformDataLength: 44, platformDataOffset: 2048, path: 'C:\\VMs\\parent-disk.vhd' },
      { platformCode: 'W2ru', platformDataSpace: 512, platformDataLength: 34, platformDataOffset: 2560, path: '.\\parent-disk.vhd' },
      { platformCode: 'MacX', platformDataSpace: 512, platformDataLength: 41, platformDataOffset: 3072, path: 'file://localhost/Users/vm/parent-disk.vhd' },
    ]);
  });

  it('reads locators whose data overlap, once, in offset order, from every source', async () => {
    const bytes = fixtureBytes('differencing.vhd');
    // Point W2ru (entry 2: length at +8, offset at +16) into W2ku's data, 2 characters in.
    editDynamicHeader(bytes, (view) => {
      view.setUint32(576 + 24 + 8, 40);
      view.setBigUint64(576 + 24 + 16, 2048n + 4n);
    });
    const info = await vhdInfo(bytes);
    expect(info.details.parentLocators?.map((locator) => locator.path)).toEqual([
      'C:\\VMs\\parent-disk.vhd',
      '\\VMs\\parent-disk.vhd',
      'file://localhost/Users/vm/parent-disk.vhd',
    ]);
    for (const kind of sourceKinds) {
      expect(comparable(await run(makeSource(kind, bytes)))).toEqual(comparable(info));
    }
  });

  it('reports a wrong footer checksum with a warning (qemu: "Incorrect header checksum")', async () => {
    const info = await vhdInfo(fixtureBytes('bad-checksum.vhd'));
    expect(info.details.checksumValid).toBe(false);
    expect(info.virtualSize).toBe(10514432);
    expect(info.warnings).toEqual(['the footer checksum is wrong (qemu refuses the disk: "Incorrect header checksum")']);
  });

  it('checks the dynamic header checksum too', async () => {
    const bytes = fixtureBytes('dynamic-64M.vhd');
    bytes[512 + 100] = 1; // in the reserved area of the dynamic header
    const info = await vhdInfo(bytes);
    expect(info.details.headerChecksumValid).toBe(false);
    expect(info.details.checksumValid).toBe(true);
    expect(info.warnings).toEqual(['the dynamic disk header checksum is wrong (qemu does not check it)']);
  });
});

describe('vhd decoders on header fragments from other projects', () => {
  const root = realWorldRoot();
  const fragment = (name: string) => loadBytes(join(root as string, 'fragments', name));

  it.skipIf(root === undefined)(`decodes libvhdi's differencing footer${root ? '' : ` (skipped: ${realWorldMissing})`}`, async () => {
    const bytes = fragment('libvhdi__file_footer.1');
    const footer = readVhdFooter(bytes);
    expect(footer.diskType).toBe('differencing');
    expect(footer.creatorApp).toBe('vpc ');
    expect(footer.creatorVersion).toBe('1.0');
    expect(footer.creatorHostOs).toBe('Wi2k');
    expect(footer.currentSize).toBe(536870912);
    expect(footer.geometry).toEqual({ cylinders: 1040, heads: 16, sectorsPerTrack: 63 });
    expect(footer.timestamp).toBe('2013-05-12T08:57:20.000Z'); // file(1): Sun May 12 08:57:20 2013
    expect(footer.uuid).toBe('40d56d36-9ab8-4fe4-a31a-121fe2bf15eb');
    expect(footer.checksumValid).toBe(true);
    expect(footer.dataOffset).toBe(512);
    // "vpc " is a geometry creator: 1040 x 16 x 63 sectors.
    expect(vhdVirtualSize(footer)).toEqual({ virtualSize: 1040 * 16 * 63 * 512, sizeSource: 'geometry' });
    // Alone, the footer points at a dynamic header that is not there.
    await rejects(bytes, 'TRUNCATED', 'dynamic header');
  });

  it.skipIf(root === undefined)(`decodes libvhdi's dynamic disk header${root ? '' : ` (skipped: ${realWorldMissing})`}`, async () => {
    const bytes = fragment('libvhdi__dynamic_disk_header.1');
    const header = readVhdDynamicHeader(bytes);
    expect(header.tableOffset).toBe(1536);
    expect(header.maxTableEntries).toBe(256);
    expect(header.blockSize).toBe(2 * 1024 * 1024);
    expect(header.checksumValid).toBe(true);
    expect(header.parentUuid).toBe('d49c5c80-350a-4a89-898a-5ad6d10f6578');
    expect(header.parentTimestamp).toBe('2013-05-12T07:55:40.000Z');
    expect(header.parentName).toBe('dynamic.vhd');
    // Slots 5 to 8 (bytes 0x2a0..0x300) are in use; their data would come later in the file.
    expect(header.parentLocatorEntries).toEqual([
      { platformCode: 'W2ku', platformDataSpace: 512, platformDataLength: 42, platformDataOffset: 0x1200 },
      { platformCode: 'W2ru', platformDataSpace: 512, platformDataLength: 26, platformDataOffset: 0x1000 },
      { platformCode: 'Wi2k', platformDataSpace: 512, platformDataLength: 21, platformDataOffset: 0xe00 },
      { platformCode: 'Wi2r', platformDataSpace: 512, platformDataLength: 13, platformDataOffset: 0xc00 },
    ]);
    // Without a footer it is not a VHD: raw.
    expect((await run(bytes)).format).toBe('raw');
  });

  it.skipIf(root === undefined)(`reads node-vhd's lone footer and footer + header${root ? '' : ` (skipped: ${realWorldMissing})`}`, async () => {
    const lone = await vhdInfo(fragment('node-vhd__footer.bin'));
    expect(lone.details.diskType).toBe('fixed');
    expect(lone.details.creatorApp).toBe('win ');
    expect(lone.details.creatorVersion).toBe('10.0');
    expect(lone.virtualSize).toBe(10485760);
    expect(lone.warnings).toEqual(['the footer says 10485760 bytes of disk, the file holds 0 before the footer (truncated)']);

    const header = await vhdInfo(fragment('node-vhd__header.bin'));
    expect(header.details.diskType).toBe('dynamic');
    expect(header.virtualSize).toBe(536870912);
    expect(header.details.maxTableEntries).toBe(256);
    expect(header.details.blockSize).toBe(2097152);
  });
});

describe('vhd errors', () => {
  it('rejects a footer cut short with TRUNCATED', async () => {
    const error = await rejection(fixtureBytes('dynamic-64M.vhd').subarray(0, 300));
    expect(error.code).toBe('TRUNCATED');
    expect(error.message).toMatch(/^vhd: footer: /);
  });

  it('rejects a dynamic header cut short with TRUNCATED', async () => {
    await rejects(fixtureBytes('dynamic-64M.vhd').subarray(0, 1000), 'TRUNCATED', 'dynamic header');
  });

  // Each case damages dynamic-64M.vhd in one place (the edit helpers reseal the checksums) and names the error qemu's checks lead to.
  it.each([
    { what: 'a dynamic header without "cxsparse" (qemu: "Invalid header magic")', edit: (bytes: Uint8Array) => bytes.set([0x78], 512), code: 'CORRUPT', field: 'dynamic header.cookie' },
    {
      what: 'a block size that is not a power of two (qemu: "Invalid block size")',
      edit: (bytes: Uint8Array) => editDynamicHeader(bytes, (view) => view.setUint32(32, 3 * 1024 * 1024)),
      code: 'CORRUPT',
      field: 'dynamic header.blockSize',
    },
    { what: 'more BAT entries than qemu allows', edit: (bytes: Uint8Array) => editDynamicHeader(bytes, (view) => view.setUint32(28, 0x40000000)), code: 'LIMIT_EXCEEDED', field: 'dynamic header.maxTableEntries' },
    { what: 'an unknown disk type', edit: (bytes: Uint8Array) => editFooters(bytes, (view) => view.setUint32(60, 6)), code: 'UNSUPPORTED', field: 'footer.diskType' },
    { what: 'a dynamic header that overlaps the footer copy', edit: (bytes: Uint8Array) => editFooters(bytes, (view) => view.setBigUint64(16, 0n)), code: 'CORRUPT', field: 'footer.dataOffset' },
    { what: 'a dynamic disk whose only footer is at the end', edit: (bytes: Uint8Array) => bytes.fill(0, 0, 512), code: 'CORRUPT', field: 'footer' },
  ])('rejects $what with $code', async ({ edit, code, field }) => {
    const bytes = fixtureBytes('dynamic-64M.vhd');
    edit(bytes);
    await rejects(bytes, code, field);
  });

  it('warns when the BAT covers less than the disk (qemu: "Page table too small")', async () => {
    const bytes = fixtureBytes('dynamic-64M.vhd');
    editDynamicHeader(bytes, (view) => view.setUint32(28, 2));
    const info = await vhdInfo(bytes);
    expect(info.warnings).toEqual(['the BAT covers 4194304 bytes, less than the disk (qemu: "Page table too small")']);
  });

  it('rejects locator data above the cap with LIMIT_EXCEEDED and inside the header with CORRUPT', async () => {
    const long = fixtureBytes('differencing.vhd');
    editDynamicHeader(long, (view) => view.setUint32(576 + 8, VHD_MAX_LOCATOR_DATA_LENGTH + 1));
    await rejects(long, 'LIMIT_EXCEEDED', 'parent locator W2ku.platformDataLength');

    const inside = fixtureBytes('differencing.vhd');
    editDynamicHeader(inside, (view) => view.setBigUint64(576 + 16, 600n));
    await rejects(inside, 'CORRUPT', 'parent locator W2ku.platformDataOffset');
  });

  it('never fails with anything but an IntrospectionError on damaged headers', async () => {
    const original = fixtureBytes('differencing.vhd');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1535 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        async (edits, fixChecksums) => {
          const bytes = original.slice();
          for (const [offset, value] of edits) bytes[offset] = value;
          if (fixChecksums) {
            reseal(bytes, 0, 512, 64);
            reseal(bytes, 512, 1024, 36);
          }
          await expectResultOrCleanError(bytes);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe.skipIf(!hasQemuImg)(`vhd against qemu-img at test time${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  const { work } = scratch('vhd');

  const dataPath = join(work, 'data.raw');
  const data = patternedData(3 * 1024 * 1024 + 4096, 977, (index) => (index * 7) & 0xff);
  writeFileSync(dataPath, data);

  // Sizes where the CHS search rounds up (1000000, 10M, 64M), where it reaches the largest
  // geometry (127G uses geometry, 130G and 200G the current size), and small ones.
  const dynamicSizes = ['128K', '1000000', '1M', '10M', '64M', '1G', '127G', '130G', '200G'];
  for (const size of dynamicSizes) {
    for (const force of [false, true]) {
      it(`dynamic ${size}${force ? ' force_size=on' : ''}: size and block size agree`, async () => {
        const path = join(work, `dynamic-${size}-${force}.vhd`);
        qemuImg(['create', '-q', '-f', 'vpc', ...(force ? ['-o', 'force_size=on'] : []), path, size]);
        const info = await introspectFile(path, { formats });
        expectAgreesWithQemuInfo(info, qemuInfo(path), imageFile(path));
        if (info.format === 'vhd') expect(info.details.creatorApp).toBe(force ? 'qem2' : 'qemu');
        if (hasVhdiinfo && info.format === 'vhd') expectVhdiinfoAgrees(info.details, vhdiinfo(path));
      });
    }
  }

  for (const size of ['128K', '1000000', '1M', '3M']) {
    for (const force of [false, true]) {
      it(`fixed ${size}${force ? ' force_size=on' : ''}: agrees with qemu-img -f vpc, and qemu alone probes raw`, async () => {
        const path = join(work, `fixed-${size}-${force}.vhd`);
        qemuImg(['create', '-q', '-f', 'vpc', '-o', `subformat=fixed${force ? ',force_size=on' : ''}`, path, size]);
        const info = await introspectFile(path, { formats });
        expectAgreesWithQemuInfo(info, qemuInfo(path, 'vpc'), imageFile(path));
        const probed = qemuInfo(path);
        expect(probed.format).toBe('raw');
        expect(probed['virtual-size']).toBe(readFileSync(path).byteLength);
        expectAgreesWithQemuInfo(info, probed, imageFile(path));
        if (hasVhdiinfo && info.format === 'vhd') expectVhdiinfoAgrees(info.details, vhdiinfo(path));
      });
    }
  }

  for (const subformat of ['dynamic', 'fixed']) {
    it(`a disk converted from data (${subformat}) agrees, from a file and from a stream`, async () => {
      const path = join(work, `converted-${subformat}.vhd`);
      qemuImg(['convert', '-q', '-O', 'vpc', '-o', `subformat=${subformat}`, dataPath, path]);
      const info = await introspectFile(path, { formats });
      expectAgreesWithQemuInfo(info, qemuInfo(path, 'vpc'), imageFile(path));
      const bytes = new Uint8Array(readFileSync(path));
      expect(comparable(await run(makeSource('node-readable', bytes)))).toEqual(comparable(info));
    });
  }

  // qemu 7.2 vpc_open: "win ", "qem2", "d2v ", "CTXS" and "tap\0" size by current_size; every
  // other creator by geometry. The disks get a current size of 10485760 while their geometry
  // (302/4/17) makes 10514432.
  const creators: Array<[string, number]> = [
    ['vpc ', 10514432],
    ['qemu', 10514432],
    ['vbox', 10514432],
    ['win ', 10485760],
    ['qem2', 10485760],
    ['d2v ', 10485760],
    ['CTXS', 10485760],
    ['tap\0', 10485760],
    ['tap ', 10514432],
  ];
  for (const [creator, expected] of creators) {
    it(`creator ${JSON.stringify(creator)}: ${expected === 10485760 ? 'current size' : 'geometry'}, as qemu`, async () => {
      const path = join(work, `creator-${hex(new TextEncoder().encode(creator))}.vhd`);
      qemuImg(['create', '-q', '-f', 'vpc', path, '10M']);
      const bytes = new Uint8Array(readFileSync(path));
      editFooters(bytes, (view) => {
        for (let index = 0; index < 4; index += 1) view.setUint8(28 + index, creator.charCodeAt(index));
        view.setBigUint64(40, 10485760n);
        view.setBigUint64(48, 10485760n);
      });
      writeFileSync(path, bytes);
      const info = await introspectFile(path, { formats });
      expect(info.virtualSize).toBe(expected);
      expectAgreesWithQemuInfo(info, qemuInfo(path), imageFile(path));
    });
  }

  it('a differencing disk (type 4, made by hand): qemu opens it like a dynamic one; vhdiinfo reads the parent', async () => {
    const path = join(work, basename('differencing.vhd'));
    writeFileSync(path, fixtureBytes('differencing.vhd'));
    const info = await introspectFile(path, { formats });
    expectAgreesWithQemuInfo(info, qemuInfo(path), imageFile(path));
    if (hasVhdiinfo && info.format === 'vhd') expectVhdiinfoAgrees(info.details, vhdiinfo(path));
  });
});

describeFixturesAgainstVhdiinfo('vhd', vhdFixtures, 'disk type, current size, identifier and parent', expectVhdiinfoAgrees);

const realWorldRootPath = realWorldRoot();
describe.skipIf(realWorldRootPath === undefined)(
  `vhd real-world images${realWorldRootPath ? '' : ` (skipped: ${realWorldMissing})`}`,
  () => {
    const { work } = scratch('vhd-real');
    const images = realWorldImages().filter((image) => image.file.startsWith('vhd/'));

    it('has the vhd images', () => {
      expect(images.length).toBeGreaterThanOrEqual(7);
    });

    for (const image of images) {
      it(`${image.file}`, async () => {
        expect(existsSync(image.path)).toBe(true);
        const bytes = loadBytes(image.path);
        const info = await vhdInfo(bytes);
        // Every kind of source agrees.
        for (const kind of ['blob', 'web-stream', 'one-byte-chunks'] as const) {
          expect(comparable(await run(makeSource(kind, bytes)))).toEqual(comparable(info));
        }
        const path = join(work, basename(image.file, '.gz'));
        writeFileSync(path, bytes);
        if ('json' in image.qemu && image.qemu.json.format === 'vpc') {
          expectAgreesWithQemuInfo(info, image.qemu.json, { name: image.file, length: bytes.byteLength });
        } else if ('json' in image.qemu) {
          // A fixed disk: qemu probed raw (the file length); with -f vpc it agrees with us.
          expect(image.qemu.json.format).toBe('raw');
          expect(image.qemu.json['virtual-size']).toBe(bytes.byteLength);
          expect(info.details.diskType).toBe('fixed');
          expectAgreesWithQemuInfo(info, image.qemu.json, { name: image.file, length: bytes.byteLength });
          if (hasQemuImg) expectAgreesWithQemuInfo(info, qemuInfo(path, 'vpc'), imageFile(path));
        } else {
          // qemu refused it: the footer checksum is wrong; we read it and say so.
          expect(image.qemu.error).toContain('Incorrect header checksum');
          expect(info.details.checksumValid).toBe(false);
          expect(info.warnings).toContain('the footer checksum is wrong (qemu refuses the disk: "Incorrect header checksum")');
        }
        if (hasVhdiinfo) expectVhdiinfoAgrees(info.details, vhdiinfo(path));
      });
    }

    it('dfvfs fat-differential: Windows parent locators (W2ku absolute, W2ru relative)', async () => {
      const info = await vhdInfo(loadBytes(join(realWorldRootPath as string, 'vhd/dfvfs__fat-differential.vhd')));
      expect(info.details.parentName).toBe('C:\\Projects\\dfvfs\\test_data\\fat-parent.vhd');
      expect(info.details.parentLocators).toEqual([
        { platformCode: 'W2ku', platformDataSpace: 4096, platformDataLength: 84, platformDataOffset: 4096, path: 'C:\\Projects\\dfvfs\\test_data\\fat-parent.vhd' },
        { platformCode: 'W2ru', platformDataSpace: 65536, platformDataLength: 32, platformDataOffset: 12288, path: '.\\fat-parent.vhd' },
      ]);
      expect(info.warnings).toEqual([]);
    });
  },
);
