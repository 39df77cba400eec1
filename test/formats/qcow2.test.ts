import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isoWithNanoseconds } from '../../formats/shared/qcow2-snapshots.js';
import { loadBytes, realWorldImages, realWorldMissing, realWorldRoot } from '../helpers/fixtures.js';
import { hasQemuImg, qemuImg, qemuInfo, qemuMissing } from '../helpers/qemu.js';
import { expectAgreesWithQemuInfo } from '../conformance/index.js';
import type { QemuJson } from '../helpers/qemu-correspondence.js';
import { comparable, makeSource, sourceKinds } from '../helpers/sources.js';
import { formatKit, patternedData, run, scratch } from '../helpers/format-kit.js';

const { details, failure, fixtureBytes, rejects } = formatKit('qcow2');

describe('qcow2 details read from the bytes (hand-checked against the qcow2 specification)', () => {
  it('an unknown incompatible feature bit (which qemu refuses): bit 20 named, the size read, a warning', async () => {
    const info = await run(fixtureBytes('unknown-incompatible.qcow2'));
    expect(details(info).incompatibleFeatures).toEqual({ mask: '0x100000', names: ['bit 20'], unknown: '0x100000' });
    expect(info.warnings.join('\n')).toMatch(/unknown incompatible feature bits 0x100000: qemu 7.2 refuses/);
    expect(info.virtualSize).toBe(64 * 1024 * 1024);
  });

  it('v3: the header extensions and feature name table qemu 7.2 writes', async () => {
    const ours = details(await run(fixtureBytes('v3-empty.qcow2')));
    expect(ours.headerLength).toBe(112);
    // The feature name table's extension header is at 112, its 8 entries of 48 bytes at 120.
    expect(ours.headerExtensions).toEqual([{ type: '0x6803f857', name: 'feature name table', offset: 120, length: 384 }]);
    expect(ours.featureNameTable.map((entry) => `${entry.type}:${entry.bit}:${entry.name}`)).toEqual([
      'incompatible:0:dirty bit',
      'incompatible:1:corrupt bit',
      'incompatible:2:external data file',
      'incompatible:3:compression type',
      'incompatible:4:extended L2 entries',
      'compatible:0:lazy refcounts',
      'autoclear:0:bitmaps',
      'autoclear:1:raw external data',
    ]);
    // 64 MiB with 64 KiB clusters: one L1 entry; refcount table at 64 KiB, L1 table at 192 KiB.
    expect(ours.l1Size).toBe(1);
    expect(ours.refcountTableOffset).toBe(65536);
    expect(ours.l1TableOffset).toBe(196608);
    expect(ours.incompatibleFeatures).toEqual({ mask: '0x0', names: [], unknown: '0x0' });
  });

  it('v2: no feature masks, a 72-byte header, refcount order 4', async () => {
    const ours = details(await run(fixtureBytes('v2-empty.qcow2')));
    expect(ours).toMatchObject({ version: 2, compat: '0.10', headerLength: 72, refcountBits: 16, dirty: false, lazyRefcounts: false });
    expect(ours.headerExtensions).toEqual([]);
  });

  it('a backing file: the format extension at 112, the name at 528 after the extensions', async () => {
    const bytes = fixtureBytes('backing-raw.qcow2');
    const view = new DataView(bytes.buffer);
    expect(Number(view.getBigUint64(8))).toBe(528);
    const ours = details(await run(bytes));
    expect(ours.backingFile).toBe('base.raw');
    expect(ours.backingFormat).toBe('raw');
    expect(ours.headerExtensions.map((extension) => [extension.type, extension.offset, extension.length])).toEqual([
      ['0xe2792aca', 120, 3],
      ['0x6803f857', 136, 384],
    ]);
  });

  it('feature bits: names from the image\'s table for data file, zstd, extended L2, lazy refcounts', async () => {
    expect(details(await run(fixtureBytes('data-file-raw.qcow2'))).incompatibleFeatures.names).toEqual(['external data file']);
    expect(details(await run(fixtureBytes('data-file-raw.qcow2'))).autoclearFeatures).toEqual({ mask: '0x2', names: ['raw external data'], unknown: '0x0' });
    expect(details(await run(fixtureBytes('converted-zstd.qcow2'))).incompatibleFeatures.mask).toBe('0x8');
    expect(details(await run(fixtureBytes('extended-l2.qcow2'))).incompatibleFeatures.mask).toBe('0x10');
    expect(details(await run(fixtureBytes('lazy-refcounts.qcow2'))).compatibleFeatures.names).toEqual(['lazy refcounts']);
    // 4 KiB clusters: qemu writes no feature name table; the specification's names are used.
    const small = details(await run(fixtureBytes('converted-zlib.qcow2')));
    expect(small.featureNameTable).toEqual([]);
    expect(small.clusterSize).toBe(4096);
  });

  it('LUKS: the encryption header pointer (cluster-aligned, after the header cluster)', async () => {
    const ours = details(await run(fixtureBytes('luks.qcow2')));
    expect(ours.encryption).toBe('luks');
    expect(ours.headerExtensions[0]).toMatchObject({ type: '0x0537be77', name: 'full disk encryption header pointer', length: 16 });
    expect(ours.encryptionHeader?.offset).toBeGreaterThan(0);
    expect((ours.encryptionHeader?.offset ?? 1) % 65536).toBe(0);
    // A LUKS1 header with 8 key slots of 4000 stripes of 32 bytes: about 2 MiB.
    expect(ours.encryptionHeader?.length).toBeGreaterThan(1024 * 1024);
  });

  it('snapshots: ids, names, 16- or 24-byte extra data (disk size, icount), dates with nanoseconds', async () => {
    const ours = details(await run(fixtureBytes('snapshots.qcow2')));
    expect(ours.snapshots.map((snapshot) => [snapshot.id, snapshot.name, snapshot.diskSize, snapshot.vmStateSize, snapshot.vmClockNs, snapshot.icount])).toEqual([
      ['1', 'first', 64 * 1024 * 1024, 0, 0, 0],
      ['2', 'second, with a longer name', 64 * 1024 * 1024, 0, 0, 0],
    ]);
    expect(ours.snapshots[0]?.date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });

  it('bitmaps: the directory entries, and an inconsistent extension ignored with a warning', async () => {
    const ours = details(await run(fixtureBytes('bitmaps.qcow2')));
    expect(ours.bitmaps).toEqual([
      { name: 'b0', granularity: 65536, flags: ['auto'] },
      { name: 'b1', granularity: 131072, flags: [] },
    ]);
    const inconsistent = await run(fixtureBytes('bitmaps-inconsistent.qcow2'));
    expect(details(inconsistent).bitmaps).toEqual([]);
    expect(details(inconsistent).headerExtensions.map((extension) => extension.name)).toContain('bitmaps');
    expect(inconsistent.warnings.join('\n')).toMatch(/autoclear bit 0 is clear/);
  });

  it('reports the size the header declares, where qemu floors it to whole sectors', async () => {
    const info = await run(fixtureBytes('size-unaligned.qcow2'));
    expect(info.virtualSize).toBe(1_000_000);
    expect(info.warnings).toContain('the size 1000000 is not a multiple of 512; qemu reports 999936 (whole sectors)');
  });

  it('a bare 300-byte header: reported, with a warning for the cut feature name table', async () => {
    const info = await run(fixtureBytes('truncated-300.qcow2'));
    expect(info.virtualSize).toBe(64 * 1024 * 1024);
    expect(info.warnings.join('\n')).toMatch(/image ends before the feature name table header extension/);
    // The table starts at 120: three entries are whole in 300 bytes, the fourth (264..312) is cut
    // after its name, the rest read as zeros and end the table (an entry without a name).
    expect(details(info).featureNameTable.map((entry) => entry.name)).toEqual(['dirty bit', 'corrupt bit', 'external data file', 'compression type']);
  });

  it('dates: seconds and nanoseconds as ISO 8601', () => {
    expect(isoWithNanoseconds(0, 0)).toBe('1970-01-01T00:00:00.000000000Z');
    expect(isoWithNanoseconds(1754957438, 54520000)).toBe('2025-08-12T00:10:38.054520000Z');
    expect(isoWithNanoseconds(4294967295, 999999999)).toBe('2106-02-07T06:28:15.999999999Z');
  });

  it('detection: version 1 is qcow, 2 and above qcow2, a short magic-only file raw', async () => {
    const header = fixtureBytes('v3-empty.qcow2');
    expect((await run(header)).matchedFormats).toEqual(['qcow2']);
    const short = new Uint8Array([0x51, 0x46, 0x49, 0xfb, 0, 0]);
    expect((await run(short)).format).toBe('raw');
  });
});

describe('qcow2 errors', () => {
  const patched = (name: string, patch: (view: DataView, bytes: Uint8Array) => void): Uint8Array => {
    const bytes = fixtureBytes(name);
    patch(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes);
    return bytes;
  };

  it('a header cut short: TRUNCATED naming the header', async () => {
    const error = await failure(fixtureBytes('v3-empty.qcow2').subarray(0, 100));
    expect(error.code).toBe('TRUNCATED');
    expect(error.message).toMatch(/^qcow2: header: /);
  });

  it('impossible header values: CORRUPT naming the field', async () => {
    const cases: Array<[string, (view: DataView) => void, string]> = [
      ['cluster bits 30', (view) => view.setUint32(20, 30), 'header.clusterBits'],
      ['header length 96', (view) => view.setUint32(100, 96), 'header.headerLength'],
      ['refcount order 7', (view) => view.setUint32(96, 7), 'header.refcountOrder'],
      ['no refcount table', (view) => view.setUint32(56, 0), 'header.refcountTableClusters'],
      ['L1 table not aligned', (view) => view.setBigUint64(40, 196609n), 'header.l1TableOffset'],
      ['L1 table too small for the size', (view) => view.setBigUint64(24, 1n << 40n), 'header.l1Size'],
      ['backing file beyond the first cluster', (view) => view.setBigUint64(8, 70000n), 'header.backingFileOffset'],
      ['header extension too large', (view) => view.setUint32(116, 70000), 'header extension'],
    ];
    for (const [what, patch, field] of cases) {
      const error = await failure(patched('v3-empty.qcow2', patch));
      expect({ what, code: error.code, field: error.field }).toEqual({ what, code: 'CORRUPT', field });
    }
  });

  it('counts and lengths above the caps: LIMIT_EXCEEDED naming the field', async () => {
    const cases: Array<[string, string, (view: DataView) => void, string]> = [
      ['backing name of 1024 bytes', 'backing-raw.qcow2', (view) => view.setUint32(16, 1024), 'header.backingFileSize'],
      ['70000 snapshots', 'snapshots.qcow2', (view) => view.setUint32(60, 70000), 'header.snapshotsOffset'],
      ['backing format of 16 bytes', 'backing-raw.qcow2', (view) => view.setUint32(116, 16), 'header extension (backing file format)'],
    ];
    for (const [what, name, patch, field] of cases) {
      const error = await failure(patched(name, patch));
      expect({ what, code: error.code, field: error.field }).toEqual({ what, code: 'LIMIT_EXCEEDED', field });
    }
  });

  it('a snapshot entry with more than 1024 bytes of extra data: LIMIT_EXCEEDED', async () => {
    const bytes = fixtureBytes('snapshots.qcow2');
    const view = new DataView(bytes.buffer);
    const table = Number(view.getBigUint64(64));
    view.setUint32(table + 36, 2000);
    await rejects(bytes, 'LIMIT_EXCEEDED', 'snapshot table entry 0.extraDataSize');
  });

  it('a bitmaps extension declaring zero bitmaps, or a broken directory: CORRUPT', async () => {
    const bytes = fixtureBytes('bitmaps.qcow2');
    const view = new DataView(bytes.buffer);
    // The bitmaps extension follows the feature name table: header at 504, data at 512.
    expect(view.getUint32(504)).toBe(0x23852875);
    const zero = bytes.slice();
    new DataView(zero.buffer).setUint32(512, 0);
    expect((await failure(zero)).field).toBe('header extension (bitmaps)');
    const broken = bytes.slice();
    const directory = Number(view.getBigUint64(512 + 16));
    new DataView(broken.buffer).setUint16(directory + 18, 5000); // name longer than the directory
    await rejects(broken, 'CORRUPT', 'bitmap directory');
  });

  // A structure behind one already read is the reader's one error (UNSUPPORTED, naming the field), as for every format.
  it('a snapshot table overlapping the bitmap directory: the same UNSUPPORTED from every kind of source', async () => {
    const bytes = fixtureBytes('bitmaps.qcow2');
    const view = new DataView(bytes.buffer);
    const directory = Number(view.getBigUint64(512 + 16));
    // One snapshot, one cluster before the directory, whose 65535-byte name runs into it.
    const table = directory - 65536;
    bytes.fill(0, table, table + 64);
    view.setUint16(table + 12, 1); // ID size
    view.setUint16(table + 14, 65535); // name size
    view.setUint32(60, 1);
    view.setBigUint64(64, BigInt(table));
    const reference = await rejects(bytes, 'UNSUPPORTED', 'bitmap directory');
    expect(reference.message).toMatch(/lie before bytes already read/);
    for (const kind of sourceKinds) {
      const error = await failure(makeSource(kind, bytes));
      expect([kind, error.code, error.field]).toEqual([kind, reference.code, reference.field]);
    }
  });

  it('an unknown encryption method or compression type: UNSUPPORTED', async () => {
    expect((await failure(patched('v3-empty.qcow2', (view) => view.setUint32(32, 3)))).field).toBe('header.cryptMethod');
    expect((await failure(patched('v3-empty.qcow2', (_view, bytes) => (bytes[104] = 2)))).field).toBe('header.compressionType');
  });
});

describe.skipIf(!hasQemuImg)(`qcow2 against qemu-img at test time${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  const { work, path, agrees } = scratch('qcow2');
  const secret = ['--object', 'secret,id=sec0,data=123456'];

  qemuImg(['create', '-q', '-f', 'raw', path('base.raw'), '8M']);
  qemuImg(['create', '-q', '-f', 'qcow2', path('base.qcow2'), '8M']);
  const data = patternedData(3 * 1024 * 1024, 977, (index) => (index * 7) & 0xff);
  writeFileSync(path('data.raw'), data);

  const creates: Array<[string, string[], string?]> = [];
  for (const compat of ['0.10', '1.1']) {
    creates.push([`compat-${compat}`, ['-o', `compat=${compat}`], '100M']);
    for (const backingFormat of ['raw', 'qcow2']) {
      creates.push([`compat-${compat}-backing-${backingFormat}`, ['-o', `compat=${compat}`, '-b', `base.${backingFormat}`, '-F', backingFormat]]);
    }
    for (const clusterSize of ['512', '4096', '65536', '2M']) {
      creates.push([`compat-${compat}-cluster-${clusterSize}`, ['-o', `compat=${compat},cluster_size=${clusterSize}`], '1G']);
    }
  }
  creates.push(['data-file', ['-o', 'data_file=data-file.bin'], '10M']);
  creates.push(['data-file-raw', ['-o', 'data_file=data-file-raw.bin,data_file_raw=on'], '10M']);
  creates.push(['lazy', ['-o', 'lazy_refcounts=on'], '10M']);
  creates.push(['extended-l2', ['-o', 'extended_l2=on,cluster_size=128K'], '10G']);
  creates.push(['zstd', ['-o', 'compression_type=zstd'], '10M']);
  creates.push(['refcount-bits-8', ['-o', 'refcount_bits=8'], '10M']);
  creates.push(['odd-size', [], '1000000']);
  creates.push(['aes-v2', [...secret, '-o', 'compat=0.10,encrypt.format=aes,encrypt.key-secret=sec0'], '10M']);
  creates.push(['aes-v3', [...secret, '-o', 'encrypt.format=aes,encrypt.key-secret=sec0'], '10M']);
  creates.push(['preallocated-metadata', ['-o', 'preallocation=metadata'], '64M']);

  for (const [name, options, size] of creates) {
    it(`${name}: every field qemu-img info reports agrees`, async () => {
      qemuImg(['create', '-q', '-f', 'qcow2', ...options, path(`${name}.qcow2`), ...(size ? [size] : [])], work);
      await agrees(`${name}.qcow2`);
    });
  }

  it('LUKS: encrypt.format agrees', async () => {
    let created = false;
    for (let attempt = 0; attempt < 5 && !created; attempt += 1) {
      try {
        qemuImg(['create', '-q', ...secret, '-f', 'qcow2', '-o', 'encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=100', path('luks.qcow2'), '10M']);
        created = true;
      } catch {
        // qemu's PBKDF benchmark sometimes fails ("Unable to get accurate CPU usage").
      }
    }
    expect(created).toBe(true);
    expect(details(await agrees('luks.qcow2')).encryption).toBe('luks');
  });

  it('snapshots (qemu-img snapshot -c) in v2 and v3 agree: ids, names, dates, clocks, sizes, icount', async () => {
    for (const compat of ['0.10', '1.1']) {
      const name = `snapshots-${compat}.qcow2`;
      qemuImg(['create', '-q', '-f', 'qcow2', '-o', `compat=${compat}`, path(name), '32M']);
      for (const snapshot of ['one', 'two', 'a third, named at length']) qemuImg(['snapshot', '-q', '-c', snapshot, path(name)]);
      qemuImg(['snapshot', '-q', '-d', 'two', path(name)]);
      expect(details(await agrees(name)).snapshots.map((snapshot) => snapshot.name)).toEqual(['one', 'a third, named at length']);
    }
  });

  it('bitmaps (qemu-img bitmap --add, --granularity, --disable) agree', async () => {
    const name = 'bitmaps.qcow2';
    qemuImg(['create', '-q', '-f', 'qcow2', path(name), '1G']);
    qemuImg(['bitmap', '--add', path(name), 'plain']);
    qemuImg(['bitmap', '--add', '--granularity', '512', path(name), 'fine']);
    qemuImg(['bitmap', '--add', '--granularity', '2M', '--disable', path(name), 'coarse-disabled']);
    expect(details(await agrees(name)).bitmaps.map((bitmap) => bitmap.name)).toEqual(['plain', 'fine', 'coarse-disabled']);
  });

  it('converted data (plain, zlib- and zstd-compressed, with snapshots after) agrees', async () => {
    const conversions: Array<[string, string[]]> = [
      ['converted.qcow2', []],
      ['converted-zlib.qcow2', ['-c']],
      ['converted-zstd.qcow2', ['-c', '-o', 'compression_type=zstd']],
      ['converted-v2.qcow2', ['-o', 'compat=0.10']],
    ];
    for (const [name, options] of conversions) {
      qemuImg(['convert', '-q', '-O', 'qcow2', ...options, path('data.raw'), path(name)]);
      qemuImg(['snapshot', '-q', '-c', 'after-convert', path(name)]);
      await agrees(name);
    }
  });

  it('header bits patched by hand: dirty and corrupt agree; an unknown incompatible bit is refused by qemu and warned about by us', async () => {
    qemuImg(['create', '-q', '-f', 'qcow2', path('plain.qcow2'), '16M']);
    const original = readFileSync(path('plain.qcow2'));
    const withIncompatible = (name: string, mask: bigint) => {
      const bytes = new Uint8Array(original);
      new DataView(bytes.buffer).setBigUint64(72, mask);
      writeFileSync(path(name), bytes);
    };
    withIncompatible('dirty.qcow2', 1n);
    expect(details(await agrees('dirty.qcow2')).dirty).toBe(true);
    withIncompatible('corrupt.qcow2', 2n);
    expect(details(await agrees('corrupt.qcow2')).corrupt).toBe(true);
    withIncompatible('dirty-corrupt.qcow2', 3n);
    await agrees('dirty-corrupt.qcow2');
    withIncompatible('unknown.qcow2', 1n << 33n);
    expect(() => qemuInfo(path('unknown.qcow2'))).toThrow(/Unsupported qcow2 feature\(s\): Unknown incompatible feature: 200000000/);
    const info = await run(readFileSync(path('unknown.qcow2')));
    expect(details(info).incompatibleFeatures.unknown).toBe('0x200000000');
    expect(info.warnings.join('\n')).toMatch(/qemu 7.2 refuses to open/);
  });
});

const realWorld = realWorldImages().filter(
  (image) => (image.file.startsWith('qcow2/') || image.file === 'fragments/libqcow__file_header.1') && 'json' in image.qemu && image.qemu.json.format === 'qcow2',
);

describe.skipIf(realWorldRoot() === undefined)(`qcow2 real-world images${realWorldRoot() === undefined ? ` (skipped: ${realWorldMissing})` : ''}`, () => {
  it('lists the qcow2 images of the manifest', () => {
    expect(realWorld.length).toBeGreaterThanOrEqual(9);
  });

  for (const image of realWorld) {
    it(`${image.file} agrees with the manifest's qemu-img info, from a buffer and a stream`, async () => {
      const bytes = loadBytes(image.path);
      const info = await run(bytes);
      expectAgreesWithQemuInfo(info, (image.qemu as { json: QemuJson }).json, { name: image.file, length: bytes.byteLength });
      expect(comparable(await run(makeSource('async-iterable', bytes)))).toEqual(comparable(info));
    });
  }

  it('libqcow__file_header.1: a 512-byte header whose tables lie past its end opens without a warning about its own extensions', async () => {
    const image = realWorld.find((candidate) => candidate.file === 'fragments/libqcow__file_header.1');
    if (!image) throw new Error('fragment missing from the manifest');
    const info = await run(loadBytes(image.path));
    expect(info.virtualSize).toBe(4194304);
    // An older qemu's table (header length 104, no compression type byte): three names.
    expect(details(info).headerLength).toBe(104);
    expect(details(info).featureNameTable.map((entry) => entry.name)).toEqual(['dirty bit', 'corrupt bit', 'lazy refcounts']);
    expect(info.warnings).toEqual([]);
  });
});
