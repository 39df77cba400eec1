import { copyFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DMG_PLIST_WINDOW, DMG_TAIL_BYTES, dmg } from '../../formats/dmg.js';
import { decodeBase64, decodeXmlText, readBlkxEntries } from '../../formats/shared/dmg-plist.js';
import { IntrospectionError } from '../../src/index.js';
import { fixtures, loadBytes, realWorldImages, realWorldMissing, realWorldRoot } from '../helpers/fixtures.js';
import { expectAgreesWithQemuInfo } from '../conformance/index.js';
import { formatKit, run, scratch } from '../helpers/format-kit.js';
import { hasQemuImg, qemuInfo, qemuMissing } from '../helpers/qemu.js';
import { comparable, makeSource } from '../helpers/sources.js';

const { info: introspectDmg, fixtureBytes, rejects } = formatKit('dmg');
const dmgFixtures = fixtures('dmg');

describe('dmg details read from the bytes', () => {
  it('reads the trailer and the block table of a zlib image', async () => {
    const info = await introspectDmg(fixtureBytes('udzo.dmg'));
    const { partitions, ...trailer } = info.details;
    expect(trailer).toMatchObject({
      version: 4,
      headerSize: 512,
      flags: 1,
      runningDataForkOffset: 0,
      dataForkOffset: 0,
      resourceForkOffset: 0,
      resourceForkLength: 0,
      segmentNumber: 1,
      segmentCount: 1,
      segmentId: '01234567-89ab-cdef-0123-456789abcdef',
      imageVariant: 1,
      sectorCount: 2048,
      masterChecksum: { type: 2, bits: 32, value: '1234abcd' },
      compressionMethods: ['zlib'],
    });
    expect(trailer.plistOffset).toBe(trailer.dataForkLength);
    expect(partitions).toEqual([
      { name: 'whole disk (Apple_HFS : 0)', id: 0, attributes: '0x0050', firstSector: 0, sectorCount: 2048, chunkCount: 6, compressionMethods: ['zlib'] },
    ]);
    expect(info.virtualSize).toBe(2048 * 512);
    expect(info.warnings).toEqual([]);
  });

  it('reads three partitions of raw chunks, with an entity in a name', async () => {
    const info = await introspectDmg(fixtureBytes('udro.dmg'));
    expect(info.details.partitions?.map((partition) => [partition.name, partition.id, partition.firstSector, partition.sectorCount, partition.compressionMethods])).toEqual([
      ['Protective Master Boot Record (MBR : 0)', -1, 0, 1, ['raw']],
      ['disk image (Apple_HFS & more : 1)', 0, 1, 559, ['raw']],
      [' (Apple_Free : 2)', 1, 560, 40, []],
    ]);
    expect(info.details.compressionMethods).toEqual(['raw']);
  });

  it('names bzip2 chunks', async () => {
    expect((await introspectDmg(fixtureBytes('udbz.dmg'))).details.compressionMethods).toEqual(['bzip2']);
  });

  it('takes the size from the block tables when the trailer says 0 sectors (qemu says 0)', async () => {
    const info = await introspectDmg(fixtureBytes('zero-sector-count.dmg'));
    expect(info.details.sectorCount).toBe(0);
    expect(info.virtualSize).toBe(1024 * 512);
    expect(info.warnings).toEqual(["the trailer's sector count is 0; the block tables cover 1024 sectors, which give the size (qemu reports 0)"]);
  });

  it('keeps the trailer\'s size when the block tables cover less, with a warning', async () => {
    const info = await introspectDmg(fixtureBytes('short-tables.dmg'));
    expect(info.virtualSize).toBe(2048 * 512);
    expect(info.warnings).toEqual(['the block tables cover 1024 sectors, the trailer says 2048']);
  });

  it('does not read a property list outside the window before the trailer, from any source', async () => {
    const bytes = fixtureBytes('plist-first.dmg');
    const info = await introspectDmg(bytes);
    expect(info.details.plistOffset).toBe(0);
    expect(bytes.byteLength - 512 - info.details.plistOffset).toBeGreaterThan(DMG_PLIST_WINDOW);
    expect(info.details.partitions).toBeUndefined();
    expect(info.details.compressionMethods).toBeUndefined();
    expect(info.virtualSize).toBe(520 * 512);
    expect(info.warnings).toHaveLength(1);
    expect(info.warnings[0]).toMatch(/^partitions not read: the property list \(\d+ bytes at 0\) is not within the last 262144 bytes/);
  });

  it('reports an old image whose block tables are in a resource fork, without partitions', async () => {
    const info = await introspectDmg(fixtureBytes('resource-fork.dmg'));
    expect(info.details.plistLength).toBe(0);
    expect(info.details.resourceForkLength).toBeGreaterThan(0);
    expect(info.details.partitions).toBeUndefined();
    expect(info.warnings).toEqual(['partitions not read: the block tables are in a classic resource fork, which is not decoded']);
    expect(info.virtualSize).toBe(256 * 512);
  });

  it('declares the tail it reads on a stream', () => {
    expect(dmg.tailBytes).toBe(DMG_TAIL_BYTES);
    expect(dmg.signatures).toEqual([{ offset: 512, bytes: 'koly', fromEnd: true }]);
  });

  it('summarizes the notable fields', async () => {
    const info = await introspectDmg(fixtureBytes('udro.dmg'));
    const summary = Object.fromEntries(dmg.summarize?.(info.details) ?? []);
    expect(summary).toMatchObject({ 'image variant': 1, 'sector count': 600, compression: 'raw', 'partition 3': ' (Apple_Free : 2): 40 sectors at 560' });
  });
});

describe('dmg property list parsing', () => {
  it('decodes base64 across line breaks, and entities', () => {
    expect([...decodeBase64('bWlz\n\t\taA==', 'x')]).toEqual([0x6d, 0x69, 0x73, 0x68]);
    expect(decodeXmlText('a &amp; b &lt;c&gt; &#233;&#x41;')).toBe('a & b <c> \u00e9A');
    expect(() => decodeBase64('ab$d', 'field')).toThrow(IntrospectionError);
  });

  it('reads the blkx dictionaries only, with empty values', () => {
    const entries = readBlkxEntries(
      '<dict><key>resource-fork</key><dict><key>plst</key><array><dict><key>Name</key><string>no</string></dict></array>' +
        '<key>blkx</key><array><dict><key>CFName</key><string/><key>Data</key><data>AAEC</data><key>Name</key><string>x &amp; y</string></dict></array></dict></dict>',
    );
    expect(entries).toEqual([{ strings: { CFName: '', Name: 'x & y' }, data: new Uint8Array([0, 1, 2]) }]);
    expect(readBlkxEntries('<plist><dict/></plist>')).toBeUndefined();
  });

  it('caps the number of entries', () => {
    const text = `<key>blkx</key><array>${'<dict></dict>'.repeat(5000)}</array>`;
    expect(() => readBlkxEntries(text)).toThrow(/more than 4096 blkx entries/);
  });
});

describe('dmg errors and warnings', () => {
  const patchedTrailer = (name: string, edit: (view: DataView) => void): Uint8Array => {
    const bytes = fixtureBytes(name).slice();
    edit(new DataView(bytes.buffer, bytes.byteLength - 512, 512));
    return bytes;
  };

  it('rejects a sector count above 2^53 bytes with CORRUPT', async () => {
    await rejects(patchedTrailer('udzo.dmg', (view) => view.setBigUint64(492, 1n << 60n)), 'CORRUPT', 'koly trailer.sectorCount');
  });

  it('rejects base64 that is not, with CORRUPT naming the entry', async () => {
    const bytes = fixtureBytes('udzo.dmg').slice();
    const text = new TextDecoder('latin1').decode(bytes);
    const at = text.indexOf('<data>', text.indexOf('<key>blkx</key>')) + '<data>'.length + 5;
    bytes[at] = 0x24; // "$"
    await rejects(bytes, 'CORRUPT', 'plist.blkx.0.Data');
  });

  it('warns about a trailer of another version, a data fork past the trailer, a table claiming more chunks than it holds', async () => {
    const bytes = patchedTrailer('udzo.dmg', (view) => {
      view.setUint32(4, 5);
      view.setBigUint64(32, 1n << 40n);
    });
    const info = await run(bytes);
    expect(info.warnings).toEqual([
      'trailer version 5, size 512 (UDIF writes 4 and 512)',
      `the data fork (${2 ** 40} bytes at 0) runs past the trailer`,
    ]);
  });

  it('warns when the property list runs into the trailer', async () => {
    const info = await run(patchedTrailer('udzo.dmg', (view) => view.setBigUint64(224, view.getBigUint64(224) + 100n)));
    expect(info.warnings).toEqual(['partitions not read: the property list runs into the trailer']);
    expect(info.virtualSize).toBe(2048 * 512);
  });

  it('claims nothing without "koly" exactly 512 bytes from the end', async () => {
    const bytes = fixtureBytes('udzo.dmg');
    const padded = new Uint8Array(bytes.byteLength + 1);
    padded.set(bytes);
    expect((await run(padded)).format).toBe('raw');
    expect((await run(new Uint8Array(100))).format).toBe('raw');
  });
});

describe.skipIf(!hasQemuImg)(`dmg against qemu-img at test time${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  const { path, agrees } = scratch('dmg');

  it('every fixture agrees with qemu-img run now', async () => {
    for (const fixture of dmgFixtures) {
      writeFileSync(path(fixture.name), fixture.bytes());
      await agrees(fixture.name);
    }
  });

  it('qemu recognises a DMG by its name only: the same bytes named .img are raw to it', async () => {
    writeFileSync(path('renamed.img'), fixtureBytes('udzo.dmg'));
    expect(qemuInfo(path('renamed.img')).format).toBe('raw');
    expect((await agrees('renamed.img')).format).toBe('dmg');
  });

  it('the real-world images agree with qemu-img run now', async () => {
    for (const image of realWorldImages().filter((candidate) => candidate.file.startsWith('dmg/'))) {
      copyFileSync(image.path, path(image.file.slice(4)));
      await agrees(image.file.slice(4));
    }
  });
});

describe.skipIf(realWorldRoot() === undefined)(`dmg real-world images${realWorldRoot() === undefined ? ` (skipped: ${realWorldMissing})` : ''}`, () => {
  const images = realWorldImages().filter((image) => image.file.startsWith('dmg/'));

  it('finds them', () => {
    expect(images.length).toBeGreaterThanOrEqual(11);
  });

  for (const image of images) {
    it(`${image.file}: agrees with qemu-img, reads its partitions, the same from a stream`, async () => {
      if (!('json' in image.qemu)) throw new Error(`qemu-img failed on ${image.file}`);
      const bytes = loadBytes(image.path);
      const info = await introspectDmg(bytes);
      expectAgreesWithQemuInfo(info, image.qemu.json, { name: image.file, length: bytes.byteLength });
      expect(info.details.partitions?.length).toBeGreaterThan(0);
      // The block tables cover exactly the sectors the trailer declares (except where it says 0).
      const end = Math.max(...(info.details.partitions ?? []).map((partition) => partition.firstSector + partition.sectorCount));
      expect(end * 512).toBe(info.virtualSize);
      const streamed = await run(makeSource('web-stream', bytes));
      expect(comparable(streamed)).toEqual(comparable(info));
    });
  }

  // A stream longer than probeBytes: the trailer is found after detection has kept the head.
  it('a DMG stream longer than probeBytes is detected', async () => {
    const image = images.find((candidate) => candidate.file.endsWith('node-udif__raw.dmg'));
    if (!image) throw new Error('missing node-udif__raw.dmg');
    const bytes = loadBytes(image.path);
    expect(bytes.byteLength).toBeGreaterThan(1024 * 1024);
    expect((await run(makeSource('web-stream', bytes))).format).toBe('dmg');
  });

  it('etcher-sdk__gpt-in-dmg.dmg: the trailer says 0 sectors; its tables (and its GPT) say 128 MiB', async () => {
    const image = images.find((candidate) => candidate.file.endsWith('gpt-in-dmg.dmg'));
    if (!image) throw new Error('missing gpt-in-dmg.dmg');
    const info = await introspectDmg(loadBytes(image.path));
    expect(info.details.sectorCount).toBe(0);
    expect(info.virtualSize).toBe(262144 * 512);
    expect(info.details.partitions).toEqual([
      {
        name: 'whole disk (unknown partition : 0)',
        id: 0,
        attributes: '0x0050',
        firstSector: 0,
        sectorCount: 262144,
        chunkCount: 513,
        compressionMethods: ['zlib'],
      },
    ]);
  });

  it('names the compression of the node-udif variants', async () => {
    const expected: Record<string, string[]> = {
      'compression-adc': ['adc'],
      'compression-bz2': ['bzip2'],
      'compression-lzfse': ['lzfse'],
      'compression-raw': ['raw'],
      'compression-zlib': ['zlib'],
    };
    for (const [name, methods] of Object.entries(expected)) {
      const image = images.find((candidate) => candidate.file.endsWith(`${name}.dmg`));
      if (!image) throw new Error(`missing ${name}`);
      const info = await introspectDmg(loadBytes(image.path));
      expect(info.details.compressionMethods, name).toEqual(methods);
      expect(info.details.partitions?.map((partition) => partition.name)).toEqual([
        'Master Boot Record (MBR : 0)',
        ' (Apple_Free : 1)',
        ' (Windows_FAT_16 : 2)',
        ' (Windows_FAT_16 : 3)',
        ' (Apple_Free : 4)',
      ]);
    }
  });
});
