/**
 * LVM2: physical volumes written by the real LVM tools (on loop devices, device-mapper
 * disabled; and inside libguestfs's appliance), compared with what LVM itself reports
 * (`pvs`/`vgs`/`lvs` JSON) and with the bytes the test put where LVM says the extents are.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBtrfs } from '../../filesystems/btrfs.js';
import { readFileAt } from '../../filesystems/file-system.js';
import { mappedView } from '../../src/reading/views.js';
import { type LvmPhysicalVolume, openLogicalVolume, probeLvm, readLvmPhysicalVolume } from '../../guest/lvm.js';
import { MAX_LVM_SECTION_DEPTH, parseLvmText } from '../../guest/lvm-text.js';
import { isIntrospectionError } from '../../src/errors.js';
import { rejectionOf } from '../helpers/errors.js';
import {
  attachLoop,
  detachLoop,
  guestfishUnavailable,
  guestImageInputs,
  guestImages,
  lvm,
  lvmReportRows,
  lvmUnavailable,
  patternBytes,
  run,
  volumeOfBytes,
  volumeOfFile,
} from '../helpers/volume-btrfs.js';

/** LVM's checksum, computed with Node's zlib (independent of the library's CRC code). */
function lvmChecksum(bytes: Uint8Array): number {
  return (zlibCrc32(bytes, 0xf597a6cf ^ 0xffffffff) ^ 0xffffffff) >>> 0;
}

/** Parses `lvs --reportformat json -o lv_name,lv_uuid,lv_size,segtype,seg_pe_ranges,seg_start_pe,seg_size_pe,lv_attr --units b`. */
function parseLvsReport(json: string) {
  return lvmReportRows(json, 'lv').map((row) => ({
    lv: (row.lv_name as string).replace(/^\[|\]$/g, ''),
    uuid: row.lv_uuid as string,
    size: Number.parseInt(row.lv_size as string, 10),
    type: row.segtype as string,
    ranges: (row.seg_pe_ranges as string)
      .split(' ')
      .filter((part) => part !== '')
      .map((part) => {
        const match = /^(.*):(\d+)-(\d+)$/.exec(part);
        if (!match) throw new Error(`unexpected PE range ${part}`);
        return { device: match[1] as string, first: Number(match[2]), last: Number(match[3]) };
      }),
    startExtent: Number.parseInt(row.seg_start_pe as string, 10),
    extentCount: Number.parseInt(row.seg_size_pe as string, 10),
    attr: row.lv_attr as string,
    /** `lvs -a` shows LVM's internal volumes in brackets. */
    hidden: (row.lv_name as string).startsWith('['),
  }));
}

/** One LV segment as `lvs` reports it. */
type OracleSegment = ReturnType<typeof parseLvsReport>[number];

const LVS_FIELDS = 'lv_name,lv_uuid,lv_size,segtype,seg_pe_ranges,seg_start_pe,seg_size_pe,lv_attr';
const PVS_FIELDS = 'pv_name,pv_uuid,pe_start,vg_name,vg_uuid,vg_seqno,vg_extent_size';

/** Parses `pvs --reportformat json -o pv_name,pv_uuid,pe_start,vg_name,vg_uuid,vg_seqno,vg_extent_size --units b`. */
function parsePvsReport(json: string) {
  return lvmReportRows(json, 'pv').map((row) => ({
    device: row.pv_name as string,
    uuid: row.pv_uuid as string,
    peStart: Number.parseInt(row.pe_start as string, 10),
    vg: row.vg_name as string,
    vgUuid: row.vg_uuid as string,
    seqno: Number(row.vg_seqno),
    extentSize: Number.parseInt(row.vg_extent_size as string, 10),
  }));
}

/** One PV as `pvs` reports it. */
type OraclePv = ReturnType<typeof parsePvsReport>[number];

/**
 * Checks our reading of one PV against LVM's reports: the VG, every LV (name, uuid, size,
 * segments and their PE ranges), and, for every LV we call readable, that LVM also maps it
 * linearly onto this PV and that our reader returns the bytes at the PE ranges LVM gives.
 */
async function compareWithOracle(pv: LvmPhysicalVolume, oraclePvs: OraclePv[], oracleLvs: OracleSegment[], device: string, deviceBytes: (offset: number, length: number) => Uint8Array, reader: ReturnType<typeof volumeOfFile>['volume']) {
  const self = oraclePvs.find((candidate) => candidate.device === device);
  expect(self).toBeDefined();
  if (self === undefined) return;
  expect(pv.label.uuid).toBe(self.uuid);
  const group = pv.volumeGroup;
  expect(group?.name).toBe(self.vg);
  expect(group?.uuid).toBe(self.vgUuid);
  expect(group?.seqno).toBe(self.seqno);
  expect(group?.extentSize).toBe(self.extentSize);
  if (group === undefined) return;
  expect(group.physicalVolumes.find((entry) => entry.name === group.thisPhysicalVolume)?.peStart).toBe(self.peStart);
  const names = [...new Set(oracleLvs.map((segment) => segment.lv))].sort();
  expect(group.logicalVolumes.map((lv) => lv.name).sort()).toEqual(names);
  for (const lv of group.logicalVolumes) {
    const segments = oracleLvs.filter((segment) => segment.lv === lv.name).sort((a, b) => a.startExtent - b.startExtent);
    expect(lv.uuid, lv.name).toBe(segments[0]?.uuid);
    expect(lv.size, lv.name).toBe(segments[0]?.size);
    expect(lv.segments.map((segment) => [segment.startExtent, segment.extentCount]), lv.name).toEqual(segments.map((segment) => [segment.startExtent, segment.extentCount]));
    expect(lv.visible, lv.name).toBe(segments[0]?.hidden === false);
    const linearHere = segments.every((segment) => segment.type === 'linear' && segment.ranges.length === 1 && segment.ranges[0]?.device === device);
    expect(lv.readable, `${lv.name}: ${lv.unreadableReason}`).toBe(linearHere);
    if (!lv.readable) {
      expect(lv.unreadableReason).toMatch(/type|stripes|not on this PV/);
      await expect(rejectionOf(Promise.resolve().then(() => openLogicalVolume(reader, pv, lv.name)))).resolves.toMatchObject({ code: 'UNSUPPORTED' });
      continue;
    }
    const expected = new Uint8Array(lv.size);
    let at = 0;
    for (const segment of segments) {
      const range = segment.ranges[0] as OracleSegment['ranges'][number];
      const length = (range.last - range.first + 1) * self.extentSize;
      expected.set(deviceBytes(self.peStart + range.first * self.extentSize, length), at);
      at += length;
    }
    const lvReader = openLogicalVolume(reader, pv, lv.name);
    expect(lvReader.size).toBe(lv.size);
    // Whole volumes up to 32 MiB; of larger ones, the first and last MiB of every segment.
    const windows =
      lv.size <= 32 * 1024 * 1024
        ? [[0, lv.size]]
        : lv.segments.flatMap((segment) => {
            const start = segment.startExtent * self.extentSize;
            const end = start + segment.extentCount * self.extentSize;
            return [[start, Math.min(end, start + 1024 * 1024)], [Math.max(start, end - 1024 * 1024), end]];
          });
    for (const [from, to] of windows as Array<[number, number]>) {
      const actual = await lvReader.read(from, to - from, lv.name);
      expect(Buffer.from(actual).equals(Buffer.from(expected.subarray(from, to))), `${lv.name} bytes ${from}..${to}`).toBe(true);
    }
  }
}

describe('LVM2 text metadata parser (hand-checked texts)', () => {
  it('reads sections, strings with escapes, numbers, arrays and comments, keeping the first of a repeated key', () => {
    const root = parseLvmText(`# comment\nvg {\n id = "a\\"b\\\\c" # trailing\n seqno = 12\n neg = -3\n list = ["x", 7, 'y',]\n empty = []\n seqno = 99\n inner { deeper { k = v } }\n}\ncontents = "Text Format Volume Group"\n\0garbage {`);
    const vg = root.sections.get('vg');
    expect(vg?.values.get('id')).toBe('a"b\\c');
    expect(vg?.values.get('seqno')).toBe(12);
    expect(vg?.values.get('neg')).toBe(-3);
    expect(vg?.values.get('list')).toEqual(['x', 7, 'y']);
    expect(vg?.values.get('empty')).toEqual([]);
    expect(vg?.sections.get('inner')?.sections.get('deeper')?.values.get('k')).toBe('v');
    expect(root.values.get('contents')).toBe('Text Format Volume Group');
    expect(root.sections.has('garbage')).toBe(false);
  });

  it.each([
    ['an unclosed section', 'vg { a = 1', 'CORRUPT'],
    ['an unmatched brace', 'a = 1 }', 'CORRUPT'],
    ['an unterminated string', 'a = "abc', 'CORRUPT'],
    ['a missing value', 'a = ', 'CORRUPT'],
    ['a number beyond 2^53', 'a = 123456789012345678901234', 'CORRUPT'],
    ['sections nested too deep', `${'a { '.repeat(MAX_LVM_SECTION_DEPTH + 2)}${'} '.repeat(MAX_LVM_SECTION_DEPTH + 2)}`, 'LIMIT_EXCEEDED'],
  ])('refuses %s', async (_name, text, code) => {
    const error = await rejectionOf(Promise.resolve().then(() => parseLvmText(text)));
    expect(error.code).toBe(code);
  });
});

describe('mappedView (hand-checked mappings)', () => {
  it('maps pieces, reads zeros between them and stops at the end', async () => {
    const target = volumeOfBytes(Uint8Array.from({ length: 100 }, (_, index) => index)).volume;
    const reader = mappedView(
      target,
      [
        { offset: 0, length: 10, at: 50 },
        { offset: 20, length: 5, at: 0 },
      ],
      30,
    );
    expect([...(await reader.read(5, 20, 'x'))]).toEqual([55, 56, 57, 58, 59, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    expect((await reader.readAvailable(25, 100, 'x')).byteLength).toBe(5);
    expect((await rejectionOf(reader.read(25, 6, 'x'))).code).toBe('TRUNCATED');
    expect(() => mappedView(target, [{ offset: 0, length: 10, at: 0 }, { offset: 5, length: 10, at: 0 }], 30)).toThrow(/overlaps/);
  });
});

const lvmMissing = lvmUnavailable();

describe.skipIf(lvmMissing !== undefined)('LVM2 written by the LVM tools on loop devices', () => {
  let work: string;
  const loops: string[] = [];
  const MiB = 1024 * 1024;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'image-introspect-lvm-'));
  });
  afterAll(() => {
    for (const loop of loops) detachLoop(loop);
    rmSync(work, { recursive: true, force: true });
  });

  /** A file of known bytes attached to a loop device. */
  function device(name: string, sizeMiB: number, seed: number): { file: string; loop: string; bytes: Uint8Array } {
    const file = join(work, name);
    const bytes = patternBytes(sizeMiB * MiB, seed);
    writeFileSync(file, bytes);
    const loop = attachLoop(file);
    loops.push(loop);
    return { file, loop, bytes };
  }

  function report(devices: string[], vg: string) {
    return {
      pvs: parsePvsReport(lvm('pvs', devices, ['--reportformat', 'json', '-o', PVS_FIELDS, '--units', 'b', '--nosuffix'])),
      lvs: parseLvsReport(lvm('lvs', devices, ['-a', '--reportformat', 'json', '-o', LVS_FIELDS, '--units', 'b', '--nosuffix', vg])),
    };
  }

  it('reads linear LVs of one PV, including one extended into a second segment, byte for byte', async () => {
    const pv = device('one.img', 48, 1);
    lvm('pvcreate', [pv.loop], ['-q', pv.loop]);
    lvm('vgcreate', [pv.loop], ['-q', '-s', '1M', 'vgone', pv.loop]);
    lvm('lvcreate', [pv.loop], ['-q', '-an', '-Zn', '-L', '8M', '-n', 'root', 'vgone']);
    lvm('lvcreate', [pv.loop], ['-q', '-an', '-Zn', '-L', '4M', '-n', 'spacer', 'vgone']);
    lvm('lvextend', [pv.loop], ['-q', '-L', '+5M', 'vgone/root']);
    const { pvs, lvs } = report([pv.loop], 'vgone');
    expect(lvs.filter((segment) => segment.lv === 'root')).toHaveLength(2);
    const volume = volumeOfFile(pv.file);
    try {
      expect(await probeLvm(volume.volume)).toBe(true);
      const read = await readLvmPhysicalVolume(volume.volume);
      // A few kilobytes: the label sector, the mda header, the metadata text.
      expect(volume.bytesRead()).toBeLessThan(16 * 1024);
      const current = new Uint8Array(readFileSync(pv.file));
      await compareWithOracle(read, pvs, lvs, pv.loop, (offset, length) => current.subarray(offset, offset + length), volume.volume);
    } finally {
      volume.close();
    }
  });

  it('lists striped and multi-PV LVs as unreadable from either PV, and linear ones as readable where they lie', async () => {
    const a = device('a.img', 24, 2);
    const b = device('b.img', 24, 3);
    const both = [a.loop, b.loop];
    lvm('pvcreate', both, ['-q', a.loop, b.loop]);
    lvm('vgcreate', both, ['-q', '-s', '1M', 'vgtwo', a.loop, b.loop]);
    lvm('lvcreate', both, ['-q', '-an', '-Zn', '-i2', '-I64k', '-L', '8M', '-n', 'striped', 'vgtwo']);
    lvm('lvcreate', both, ['-q', '-an', '-Zn', '-L', '24M', '-n', 'spanning', 'vgtwo']);
    lvm('lvcreate', both, ['-q', '-an', '-Zn', '-L', '2M', '-n', 'small', 'vgtwo', b.loop]);
    const { pvs, lvs } = report(both, 'vgtwo');
    expect(new Set(lvs.filter((segment) => segment.lv === 'spanning').flatMap((segment) => segment.ranges.map((range) => range.device))).size).toBe(2);
    for (const side of [a, b]) {
      const volume = volumeOfFile(side.file);
      try {
        const read = await readLvmPhysicalVolume(volume.volume);
        const current = new Uint8Array(readFileSync(side.file));
        await compareWithOracle(read, pvs, lvs, side.loop, (offset, length) => current.subarray(offset, offset + length), volume.volume);
        expect(read.volumeGroup?.logicalVolumes.find((lv) => lv.name === 'striped')?.unreadableReason).toMatch(/striped over 2 stripes/);
      } finally {
        volume.close();
      }
    }
  });

  it('finds the newest metadata after the circular buffer has wrapped', async () => {
    const pv = device('wrap.img', 64, 4);
    // A 60 KiB metadata area (LVM otherwise grows it to the 1 MiB data alignment): growing metadata wraps within a few dozen commits.
    lvm('pvcreate', [pv.loop], ['-q', '--metadatasize', '16k', '--dataalignment', '64k', pv.loop]);
    lvm('vgcreate', [pv.loop], ['-q', '-s', '1M', 'vgwrap', pv.loop]);
    let wrapped = false;
    for (let round = 0; round < 60 && !wrapped; round += 1) {
      lvm('lvcreate', [pv.loop], ['-q', '-an', '-Zn', '-L', '1M', '-n', `lv${round}`, 'vgwrap']);
      // The mda header (hand-read: the first metadata area is at 4096) and its raw location 0.
      const header = new Uint8Array(readFileSync(pv.file).subarray(4096, 4096 + 512));
      const view = new DataView(header.buffer, header.byteOffset);
      const areaSize = Number(view.getBigUint64(32, true));
      const textOffset = Number(view.getBigUint64(40, true));
      const textSize = Number(view.getBigUint64(48, true));
      wrapped = textOffset + textSize > areaSize;
    }
    expect(wrapped).toBe(true);
    const { pvs, lvs } = report([pv.loop], 'vgwrap');
    const volume = volumeOfFile(pv.file);
    try {
      const read = await readLvmPhysicalVolume(volume.volume);
      const current = new Uint8Array(readFileSync(pv.file));
      await compareWithOracle(read, pvs, lvs, pv.loop, (offset, length) => current.subarray(offset, offset + length), volume.volume);
    } finally {
      volume.close();
    }
  });

  describe('a PV with two metadata copies, damaged', () => {
    let image: Uint8Array;
    let areas: Array<{ offset: number; textOffset: number; textSize: number }>;

    beforeAll(() => {
      const pv = device('copies.img', 16, 5);
      lvm('pvcreate', [pv.loop], ['-q', '--pvmetadatacopies', '2', pv.loop]);
      lvm('vgcreate', [pv.loop], ['-q', '-s', '1M', 'vgcopies', pv.loop]);
      lvm('lvcreate', [pv.loop], ['-q', '-an', '-Zn', '-L', '2M', '-n', 'data', 'vgcopies']);
      image = new Uint8Array(readFileSync(pv.file));
      // Hand-read the PV header (label in sector 1, header at +32) for the metadata areas.
      const view = new DataView(image.buffer, image.byteOffset);
      let at = 512 + 32 + 40;
      while (view.getBigUint64(at, true) !== 0n) at += 16;
      at += 16;
      areas = [];
      while (view.getBigUint64(at, true) !== 0n) {
        const offset = Number(view.getBigUint64(at, true));
        areas.push({ offset, textOffset: Number(view.getBigUint64(offset + 40, true)), textSize: Number(view.getBigUint64(offset + 48, true)) });
        at += 16;
      }
    });

    function damagedCopy(which: number[]): Uint8Array {
      const copy = image.slice();
      for (const index of which) {
        const area = areas[index] as (typeof areas)[number];
        copy[area.offset + area.textOffset + 10] = (copy[area.offset + area.textOffset + 10] as number) ^ 0x55;
      }
      return copy;
    }

    it('has two metadata areas', () => {
      expect(areas).toHaveLength(2);
    });

    it('uses the second copy when the first is damaged, and says so', async () => {
      const warnings: string[] = [];
      const read = await readLvmPhysicalVolume(volumeOfBytes(damagedCopy([0])).volume, { warn: (message) => warnings.push(message) });
      expect(read.volumeGroup?.logicalVolumes.map((lv) => lv.name)).toEqual(['data']);
      expect(warnings.join('\n')).toMatch(/checksum/);
    });

    it('fails with CORRUPT when both are damaged', async () => {
      const error = await rejectionOf(readLvmPhysicalVolume(volumeOfBytes(damagedCopy([0, 1])).volume));
      expect(error.code).toBe('CORRUPT');
      expect(error.format).toBe('lvm2');
    });

    /** The image with the first area's text replaced (and re-signed with zlib's CRC), the second area dropped. */
    function withText(text: string, declaredSize?: number): Uint8Array {
      const copy = image.slice();
      const area = areas[0] as (typeof areas)[number];
      const bytes = new TextEncoder().encode(`${text}\0`);
      copy.set(bytes, area.offset + area.textOffset);
      const view = new DataView(copy.buffer);
      view.setBigUint64(area.offset + 48, BigInt(declaredSize ?? bytes.byteLength), true);
      view.setUint32(area.offset + 56, lvmChecksum(bytes), true);
      view.setUint32(area.offset, lvmChecksum(copy.subarray(area.offset + 4, area.offset + 512)), true);
      // Zero the second copy's header so that only the crafted text is read.
      const second = areas[1] as (typeof areas)[number];
      copy.fill(0, second.offset, second.offset + 512);
      return copy;
    }

    it.each([
      ['a text with no volume group', 'contents = "x"', 'CORRUPT'],
      ['a volume group without this PV', 'vg { id = "x" seqno = 1 extent_size = 8 physical_volumes { pv0 { id = "nope" pe_start = 2048 pe_count = 4 } } }', 'CORRUPT'],
      ['deeply nested sections', `${'a { '.repeat(100)}${'} '.repeat(100)}`, 'LIMIT_EXCEEDED'],
      ['an unterminated string', 'vg { id = "abc', 'CORRUPT'],
    ])('refuses %s', async (_name, text, code) => {
      const error = await rejectionOf(readLvmPhysicalVolume(volumeOfBytes(withText(text)).volume));
      expect(error.code).toBe(code);
    });

    it('refuses a text location outside its area', async () => {
      const error = await rejectionOf(readLvmPhysicalVolume(volumeOfBytes(withText('vg {}', 1 << 30)).volume));
      expect(error.code).toBe('CORRUPT');
    });

    it('never fails other than with an IntrospectionError when the metadata text or the headers are mutated (property)', async () => {
      const area = areas[0] as (typeof areas)[number];
      const original = new TextDecoder().decode(image.subarray(area.offset + area.textOffset, area.offset + area.textOffset + area.textSize - 1));
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.nat(original.length - 1), fc.constantFrom('{', '}', '[', ']', '"', '=', ',', '#', '\n', '9', '-', ' ', 'x', '\\')), { minLength: 1, maxLength: 8 }),
          fc.array(fc.tuple(fc.nat(8191), fc.nat(255)), { maxLength: 4 }),
          async (textEdits, headerEdits) => {
            const chars = [...original];
            for (const [index, char] of textEdits) chars[index] = char;
            const bytes = withText(chars.join(''));
            for (const [index, value] of headerEdits) bytes[index] = value;
            try {
              const read = await readLvmPhysicalVolume(volumeOfBytes(bytes).volume);
              for (const lv of read.volumeGroup?.logicalVolumes ?? []) {
                if (lv.readable) await openLogicalVolume(volumeOfBytes(bytes).volume, read, lv.name).readAvailable(0, 4096, 'lv');
              }
            } catch (error) {
              if (!isIntrospectionError(error) || error.code === 'INTERNAL') throw error;
            }
          },
        ),
        { numRuns: 300, seed: 20261130 },
      );
    });
  });
});

const guestfishMissing = guestfishUnavailable();

describe.skipIf(guestfishMissing !== undefined || lvmMissing !== undefined)('LVM2 made inside the libguestfs appliance (two partitions, Btrfs on an LV)', () => {
  let images: ReturnType<typeof guestImages>;
  let partitions: Array<{ start: number; size: number; device: string }>;

  beforeAll(() => {
    images = guestImages();
    const table = JSON.parse(run('sfdisk', ['-J', images.lvm])) as { partitiontable: { sectorsize?: number; partitions: Array<{ start: number; size: number }> } };
    const sector = table.partitiontable.sectorsize ?? 512;
    // The appliance's LVM names the PVs by its own device names (the partition number is what matches).
    const pvNames = parsePvsReport(transcriptSection('pvs')).map((pv) => pv.device);
    partitions = table.partitiontable.partitions.map((partition, index) => ({
      start: partition.start * sector,
      size: partition.size * sector,
      device: pvNames.find((name) => name.endsWith(String(index + 1))) ?? `partition ${index + 1}`,
    }));
  }, 1_200_000);

  function transcriptSection(name: string): string {
    const start = images.transcript.indexOf(`==${name}==`);
    const text = images.transcript.slice(start + name.length + 4);
    const end = text.indexOf('\n==');
    return end === -1 ? text : text.slice(0, end);
  }

  it('agrees with the appliance LVM\'s own reports on both PVs, and reads the pattern LV across its two segments', async () => {
    const pvs = parsePvsReport(transcriptSection('pvs'));
    const lvs = parseLvsReport(transcriptSection('lvs'));
    expect(partitions).toHaveLength(2);
    for (const partition of partitions) {
      const volume = volumeOfFile(images.lvm, { offset: partition.start, length: partition.size });
      try {
        const read = await readLvmPhysicalVolume(volume.volume);
        const whole = readFileSync(images.lvm);
        await compareWithOracle(read, pvs, lvs, partition.device, (offset, length) => new Uint8Array(whole.subarray(partition.start + offset, partition.start + offset + length)), volume.volume);
        if (partition.device.endsWith('1')) {
          const pattern = openLogicalVolume(volume.volume, read, 'pattern');
          expect(read.volumeGroup?.logicalVolumes.find((lv) => lv.name === 'pattern')?.segments).toHaveLength(2);
          expect(Buffer.from(await pattern.read(0, pattern.size as number, 'pattern')).equals(Buffer.from(guestImageInputs()['lv-pattern'] as Uint8Array))).toBe(true);
        }
      } finally {
        volume.close();
      }
    }
  });

  it('lists the thin, RAID1 and striped volumes the appliance made as unreadable, with their reason', async () => {
    const lvs = parseLvsReport(transcriptSection('lvs'));
    const partition = partitions[0] as (typeof partitions)[number];
    const volume = volumeOfFile(images.lvm, { offset: partition.start, length: partition.size });
    try {
      const read = await readLvmPhysicalVolume(volume.volume);
      const byName = new Map(read.volumeGroup?.logicalVolumes.map((lv) => [lv.name, lv]));
      for (const [name, reason] of [['thin', /type thin/], ['pool', /type thin-pool/], ['mirror', /type raid1/], ['striped', /striped over 2/]] as const) {
        if (!lvs.some((segment) => segment.lv === name)) continue; // the appliance's LVM could not make it
        expect(byName.get(name)?.readable).toBe(false);
        expect(byName.get(name)?.unreadableReason).toMatch(reason);
      }
    } finally {
      volume.close();
    }
  });

  it('opens the Btrfs file system on LV root and reads its os-release', async () => {
    const partition = partitions[0] as (typeof partitions)[number];
    const volume = volumeOfFile(images.lvm, { offset: partition.start, length: partition.size });
    try {
      const read = await readLvmPhysicalVolume(volume.volume);
      const fs = await openBtrfs(openLogicalVolume(volume.volume, read, 'root'), { warn: () => {} });
      expect(fs.info.label).toBe('lvroot');
      expect(new TextDecoder().decode(await readFileAt(fs, '/etc/os-release', 4096))).toBe(new TextDecoder().decode(guestImageInputs()['os-release-rocky']));
    } finally {
      volume.close();
    }
  });
});
