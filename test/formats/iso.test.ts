import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ISO_SYSTEM_AREA_BYTES, type IsoDetails, isoDate } from '../../formats/iso.js';
import type { ApmPartitionTable, GptPartitionTable, MbrPartitionTable } from '../../formats/partitions/index.js';
import { crc16Ccitt, dstring, udfTimestamp } from '../../formats/shared/udf.js';
import { type Fixture, fixture, fixtures, loadBytes, realWorldImages, realWorldMissing, realWorldRoot } from '../helpers/fixtures.js';
import { comparable, makeSource, trackedStream } from '../helpers/sources.js';
import { expectAgreesWithQemuInfo } from '../conformance/index.js';
import { formatKit, run, scratch } from '../helpers/format-kit.js';
import type { ImageSource } from '../../src/index.js';

const { failure, rejects } = formatKit('iso');
const isoFixtures = fixtures('iso');

// ---------------------------------------------------------------------------------------
// Helpers

async function isoInfo(source: ImageSource): Promise<{ details: IsoDetails; warnings: string[]; virtualSize: number; bytesRead: number }> {
  const info = await run(source);
  expect(info.format).toBe('iso');
  return { details: info.details as IsoDetails, warnings: info.warnings, virtualSize: info.virtualSize, bytesRead: info.bytesRead };
}

const fixtureNamed = (name: string): Fixture => fixture('iso', name);

/** `Key: value` lines (isoinfo, xorriso) and `key=value` lines (udfinfo). */
function keyValues(text: string, separator: RegExp): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = separator.exec(line);
    if (match && !values.has(match[1] as string)) values.set((match[1] as string).trim(), match[2] as string);
  }
  return values;
}

/** Our ISO 8601 date as the 16 digits xorriso prints (the fixtures' time zone offsets are 0). */
function digitsOf(date: string | undefined): string {
  if (date === undefined) return '0000000000000000';
  return date.replace(/[-:TZ.]/g, '').slice(0, 14) + date.slice(20, 22);
}

const XORRISO_PLATFORMS: Record<string, string> = { BIOS: 'x86', UEFI: 'EFI', PPC: 'PowerPC', Mac: 'Mac' };
const XORRISO_EMULATIONS: Record<string, string> = { none: 'no-emulation', 'fd1.2': '1.2M-diskette', 'fd1.4': '1.44M-diskette', 'fd2.8': '2.88M-diskette', hd: 'hard-disk' };
const ISOINFO_MEDIA: Record<string, string> = {
  'No Emulation Boot': 'no-emulation',
  '1.2MB Floppy': '1.2M-diskette',
  '1.44MB Floppy': '1.44M-diskette',
  '2.88MB Floppy': '2.88M-diskette',
  'Hard Disk Emulation': 'hard-disk',
};

/** Our text fields and the labels isoinfo -d prints them under. */
const ISOINFO_TEXT = [
  ['systemId', 'System id'],
  ['volumeId', 'Volume id'],
  ['volumeSetId', 'Volume set id'],
  ['publisherId', 'Publisher id'],
  ['dataPreparerId', 'Data preparer id'],
  ['applicationId', 'Application id'],
  ['copyrightFileId', 'Copyright File id'],
  ['abstractFileId', 'Abstract File id'],
  ['bibliographicFileId', 'Bibliographic File id'],
] as const;
/** Our numeric fields and isoinfo's labels. */
const ISOINFO_NUMBERS = [
  ['volumeSetSize', 'Volume set size'],
  ['volumeSequenceNumber', 'Volume set sequence number'],
  ['logicalBlockSize', 'Logical block size'],
  ['volumeSpaceSize', 'Volume size'],
] as const;
/** Our text fields and the labels xorriso -pvd_info prints them under. */
const XORRISO_TEXT = [
  ['volumeId', 'Volume Id'],
  ['volumeSetId', 'Volume Set Id'],
  ['publisherId', 'Publisher Id'],
  ['dataPreparerId', 'Preparer Id'],
  ['applicationId', 'App Id'],
  ['systemId', 'System Id'],
] as const;
/** Our dates and xorriso's labels (16 digits). */
const XORRISO_DATES = [
  ['creationDate', 'Creation Time'],
  ['modificationDate', 'Modif. Time'],
  ['expirationDate', 'Expir. Time'],
  ['effectiveDate', 'Eff. Time'],
] as const;

/** Compares with `isoinfo -d -i`. */
function expectAgreesWithIsoinfo(details: IsoDetails, text: string): void {
  const values = keyValues(text, /^\s*([^:]+?)(?: is)?: ?(.*)$/);
  for (const [ours, label] of ISOINFO_TEXT) expect(details[ours], label).toBe(values.get(label));
  for (const [ours, label] of ISOINFO_NUMBERS) expect(details[ours], label).toBe(Number(values.get(label)));
  const joliet = /Joliet with UCS level (\d) found/.exec(text);
  expect(details.joliet.present).toBe(joliet !== null);
  expect(text.includes('NO Joliet present')).toBe(joliet === null);
  if (joliet) expect(details.joliet.level).toBe(Number(joliet[1]));
  expect(details.rockRidge.present).toBe(/Rock Ridge signatures version \d found/.test(text));
  const elTorito = /El Torito VD version 1 found, boot catalog is in sector (\d+)/.exec(text);
  expect(details.elTorito?.bootCatalogLocation).toBe(elTorito ? Number(elTorito[1]) : undefined);
  if (elTorito) {
    // isoinfo shows the validation entry and the default entry only.
    const entry = details.bootCatalog?.[0];
    expect(entry?.platform).toBe(Number(/Arch (\d+)/.exec(text)?.[1]));
    expect(details.elTorito?.validation?.idString).toBe(/ID '(.*)'/.exec(text)?.[1]);
    expect(entry?.bootable).toBe(/Bootid 88 \(bootable\)/.test(text));
    expect(entry?.emulation).toBe(ISOINFO_MEDIA[/Boot media \d+ \((.*)\)/.exec(text)?.[1] as string]);
    expect(entry?.loadSegment).toBe(Number(`0x${/Load segment (\S+)/.exec(text)?.[1]}`));
    expect(entry?.systemType).toBe(Number(`0x${/Sys type (\S+)/.exec(text)?.[1]}`));
    expect(entry?.loadSize).toBe(Number(`0x${/Nsect (\S+)/.exec(text)?.[1]}`));
    expect(entry?.bootImageLocation).toBe(Number(/Bootoff \S+ (\d+)/.exec(text)?.[1]));
  }
}

/** Compares with `xorriso -pvd_info -report_el_torito plain -report_system_area plain`. */
function expectAgreesWithXorriso(details: IsoDetails, text: string): void {
  const values = keyValues(text, /^([^:]+?)\s*: ?(.*)$/);
  for (const [ours, label] of XORRISO_TEXT) expect(details[ours], label).toBe(values.get(label));
  for (const [ours, label] of XORRISO_DATES) expect(digitsOf(details[ours]), label).toBe(values.get(label));

  const images = [...text.matchAll(/^El Torito boot img :\s+(\d+)\s+(\S+)\s+([yn])\s+(\S+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\d+)\s+(\d+)$/gm)];
  expect(details.bootCatalog?.map((entry) => [entry.platformName, entry.bootable, entry.emulation, entry.loadSegment, entry.systemType, entry.loadSize, entry.bootImageLocation]) ?? []).toEqual(
    images.map((match) => [XORRISO_PLATFORMS[match[2] as string], match[3] === 'y', XORRISO_EMULATIONS[match[4] as string] ?? match[4], Number(match[5]), Number(match[6]), Number(match[7]), Number(match[8])]),
  );
  const catalog = /^El Torito catalog\s*:\s*(\d+)/m.exec(text);
  expect(details.elTorito?.bootCatalogLocation).toBe(catalog ? Number(catalog[1]) : undefined);

  const mbrRows = [...text.matchAll(/^MBR partition\s*:\s+(\d+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\d+)\s+(\d+)$/gm)];
  if (mbrRows.length > 0) {
    const mbr = details.partitionTable?.scheme === 'gpt' ? (details.partitionTable as GptPartitionTable).mbr : (details.partitionTable as MbrPartitionTable);
    expect(mbr?.partitions.map((partition) => [partition.number, partition.status, partition.type, partition.startLba, partition.sectorCount])).toEqual(
      mbrRows.map((match) => [Number(match[1]), Number(match[2]), Number(match[3]), Number(match[4]), Number(match[5])]),
    );
  }
  const gptRows = [...text.matchAll(/^GPT start and size :\s+(\d+)\s+(\d+)\s+(\d+)$/gm)];
  if (gptRows.length > 0) {
    expect(details.partitionTable?.scheme).toBe('gpt');
    const gpt = details.partitionTable as GptPartitionTable;
    // xorriso prints GUIDs as their stored bytes.
    const stored = (guid: string) => {
      const hex = guid.replace(/-/g, '');
      const swap = (part: string) => part.match(/../g)?.reverse().join('') ?? '';
      return swap(hex.slice(0, 8)) + swap(hex.slice(8, 12)) + swap(hex.slice(12, 16)) + hex.slice(16);
    };
    expect(stored(gpt.diskGuid)).toBe(/^GPT disk GUID\s*:\s+(\S+)/m.exec(text)?.[1]);
    const column = (label: string) => new Map([...text.matchAll(new RegExp(`^${label}\\s*:\\s+(\\d+)\\s+(.*)$`, 'gm'))].map((match) => [Number(match[1]), match[2] as string]));
    const types = column('GPT type GUID');
    const guids = column('GPT partition GUID');
    const flags = column('GPT partition flags');
    const names = column('GPT partname local');
    expect(gpt.partitions.map((partition) => [partition.number, partition.firstLba, partition.lastLba - partition.firstLba + 1, stored(partition.typeGuid), stored(partition.uniqueGuid), partition.attributes, partition.name])).toEqual(
      gptRows.map((match) => {
        const number = Number(match[1]);
        return [number, Number(match[2]), Number(match[3]), types.get(number), guids.get(number), flags.get(number), names.get(number)];
      }),
    );
  }
  const apmRows = [...text.matchAll(/^APM start and size :\s+(\d+)\s+(\d+)\s+(\d+)$/gm)];
  if (apmRows.length > 0) {
    expect(details.partitionTable?.scheme).toBe('apm');
    const apm = details.partitionTable as ApmPartitionTable;
    expect(apm.blockSize).toBe(Number(/^APM block size\s*:\s+(\d+)/m.exec(text)?.[1]));
    const names = new Map([...text.matchAll(/^APM partition name :\s+(\d+)\s+(.*)$/gm)].map((match) => [Number(match[1]), match[2]]));
    const types = new Map([...text.matchAll(/^APM partition type :\s+(\d+)\s+(.*)$/gm)].map((match) => [Number(match[1]), match[2]]));
    // xorriso lists the entries after the map's own entry.
    expect(apm.partitions.filter((partition) => partition.type !== 'Apple_partition_map').map((partition) => [partition.name, partition.type, partition.startBlock, partition.blockCount])).toEqual(
      apmRows.map((match) => [names.get(Number(match[1])), types.get(Number(match[1])), Number(match[2]), Number(match[3])]),
    );
  }
  if (!/^System area summary/m.test(text)) expect(details.partitionTable).toBeUndefined();
}

/** Compares with udftools' `udfinfo`. */
function expectAgreesWithUdfinfo(details: IsoDetails, text: string): void {
  const values = keyValues(text, /^([a-z]+)=(.*)$/);
  const udf = details.udf;
  expect(udf?.logicalVolumeIdentifier).toBe(values.get('lvid'));
  expect(udf?.volumeIdentifier).toBe(values.get('vid'));
  expect(udf?.volumeSetIdentifier).toBe(values.get('fullvsid'));
  expect(udf?.implementationIdentifier).toBe(values.get('impid'));
  expect(udf?.blockSize).toBe(Number(values.get('blocksize')));
  expect(udf?.udfRevision).toBe(values.get('udfrev'));
  const mvds = /^start=(\d+), blocks=(\d+), type=MVDS$/m.exec(text);
  expect(udf?.anchor?.mainSequence).toEqual({ location: Number(mvds?.[1]), length: Number(mvds?.[2]) * Number(values.get('blocksize')) });
  const rvds = /^start=(\d+), blocks=(\d+), type=RVDS$/m.exec(text);
  expect(udf?.anchor?.reserveSequence.location).toBe(Number(rvds?.[1]));
}

// ---------------------------------------------------------------------------------------
// Fixtures

describe('iso fixtures against the tools that wrote them (isoinfo, xorriso, udfinfo, recorded)', () => {
  for (const fixture of isoFixtures) {
    describe(fixture.name, () => {
      const isoinfo = fixture.sidecar('isoinfo.txt');
      if (isoinfo !== undefined) {
        it('agrees with isoinfo -d', async () => {
          expectAgreesWithIsoinfo((await isoInfo(fixture.bytes())).details, isoinfo);
        });
      }
      const xorriso = fixture.sidecar('xorriso.txt');
      if (xorriso !== undefined) {
        it('agrees with xorriso -pvd_info -report_el_torito -report_system_area', async () => {
          expectAgreesWithXorriso((await isoInfo(fixture.bytes())).details, xorriso);
        });
      }
      const udfinfo = fixture.sidecar('udfinfo.txt');
      if (udfinfo !== undefined) {
        it('agrees with udfinfo', async () => {
          expectAgreesWithUdfinfo((await isoInfo(fixture.bytes())).details, udfinfo);
        });
      }
    });
  }
});

describe('iso details read from the bytes', () => {
  const details = async (name: string) => (await isoInfo(fixtureNamed(name).bytes())).details;

  it('lists every volume descriptor, and reads the Joliet volume id in UCS-2', async () => {
    const found = await details('genisoimage-eltorito.iso');
    expect(found.volumeDescriptors.map((descriptor) => [descriptor.sector, descriptor.typeName])).toEqual([
      [16, 'primary'],
      [17, 'boot record'],
      [18, 'supplementary'],
      [19, 'terminator'],
    ]);
    expect(found.joliet).toEqual({ present: true, level: 3, volumeId: 'ELTORITO' });
    const jolietRr = await details('genisoimage-joliet-rr.iso');
    // The primary descriptor's d-characters cannot hold a space or lower case; Joliet keeps them.
    expect(jolietRr.volumeId).toBe('Joliet RR');
    expect(jolietRr.joliet.volumeId).toBe('Joliet RR');
    expect(jolietRr.rockRidge.systemUseEntries.slice(0, 2)).toEqual(['SP', 'RR']);
  });

  it('reads an EFI boot entry from a section, and a 1.44M floppy emulation', async () => {
    const efi = await details('xorriso-bios-efi.iso');
    expect(efi.bootCatalog?.map((entry) => [entry.section, entry.platformName, entry.emulation, entry.loadSize])).toEqual([
      [0, 'x86', 'no-emulation', 4],
      [1, 'EFI', 'no-emulation', 128],
    ]);
    const floppy = await details('genisoimage-floppy.iso');
    expect(floppy.bootCatalog?.[0]).toMatchObject({ emulation: '1.44M-diskette', mediaType: 2, loadSize: 1, bootable: true });
  });

  it('reads dates as UTC ISO strings, and SOURCE_DATE_EPOCH=1700000000 gives 2023-11-14T22:13:20Z', async () => {
    const found = await details('xorriso-hybrid-mbr.iso');
    expect(found.creationDate).toBe('2023-11-14T22:13:20.000Z');
    expect(found.expirationDate).toBeUndefined();
  });

  it('reads a UDF bridge and pure UDF volumes at 2048 and 512 bytes per block', async () => {
    const bridge = await details('genisoimage-udf.iso');
    expect(bridge.udf?.volumeRecognitionSequence).toEqual(['BEA01', 'NSR02', 'TEA01']);
    expect(bridge.udf?.nsrVersion).toBe(2);
    expect(bridge.volumeId).toBe('UDF_BRIDGE');
    for (const [name, blockSize] of [
      ['pure-2048.udf', 2048],
      ['pure-512.udf', 512],
    ] as const) {
      const pure = await details(name);
      expect(pure.volumeDescriptors).toEqual([]);
      expect(pure.volumeId).toBeUndefined();
      expect(pure.udf).toMatchObject({ volumeRecognitionSequence: ['BEA01', 'NSR03', 'TEA01'], nsrVersion: 3, blockSize, logicalVolumeIdentifier: `PureUDF${blockSize}` });
    }
  });

  it('reads the system area of hybrids: protective MBR, GPT, MBR with an appended partition, APM', async () => {
    const mbr = (await details('xorriso-hybrid-mbr.iso')).partitionTable as MbrPartitionTable;
    expect(mbr.partitions).toMatchObject([{ number: 1, bootable: true, type: 0xcd, startLba: 1 }]);
    const gpt = (await details('xorriso-hybrid-gpt.iso')).partitionTable as GptPartitionTable;
    expect(gpt.headerCrcValid).toBe(true);
    expect(gpt.partitionEntryArrayCrcValid).toBe(true);
    expect(gpt.backup.status).toBe('not-read');
    expect(gpt.mbr?.gptProtection).toBe('protective');
    expect(gpt.partitions.find((partition) => partition.name === 'Appended2')?.typeName).toBe('EFI System');
    const appended = (await details('xorriso-appended-mbr.iso')).partitionTable as MbrPartitionTable;
    expect(appended.partitions.map((partition) => partition.type)).toEqual([0x83, 0xef]);
    const apm = (await details('xorriso-apm.iso')).partitionTable as ApmPartitionTable;
    expect(apm.partitions.map((partition) => partition.type)).toContain('Apple_HFS');
  });

  it('virtualSize is the volume, not the file, when partitions are appended', async () => {
    const bytes = fixtureNamed('xorriso-hybrid-gpt.iso').bytes();
    const { virtualSize, details: found } = await isoInfo(bytes);
    expect(virtualSize).toBe((found.volumeSpaceSize as number) * 2048);
    expect(virtualSize).toBeLessThan(bytes.byteLength);
  });

  it('stops reading a stream early: an ISO without UDF needs its first sectors only', async () => {
    const bytes = fixtureNamed('genisoimage-eltorito.iso').bytes();
    const stream = trackedStream(bytes, [4096]);
    const { bytesRead } = await isoInfo(stream);
    expect(bytesRead).toBeLessThan(128 * 1024);
    expect(stream.returned).toBe(true);
  });
});

describe('iso helpers', () => {
  it('isoDate: ECMA-119 8.4.26.1 dates with their GMT offset', () => {
    const date = (digits: string, offset: number) => {
      const bytes = new Uint8Array(17);
      bytes.set(new TextEncoder().encode(digits));
      bytes[16] = offset & 0xff;
      return bytes;
    };
    const warnings: string[] = [];
    const warn = (message: string) => warnings.push(message);
    expect(isoDate(date('2024022912345678', 0), 'date', warn)).toBe('2024-02-29T12:34:56.780Z');
    // +4 quarter hours = GMT+1: 12:00 local is 11:00 UTC.
    expect(isoDate(date('2024010112000000', 4), 'date', warn)).toBe('2024-01-01T11:00:00.000Z');
    expect(isoDate(date('2024010112000000', -8), 'date', warn)).toBe('2024-01-01T14:00:00.000Z');
    expect(isoDate(date('0000000000000000', 0), 'date', warn)).toBeUndefined();
    expect(isoDate(new Uint8Array(17), 'date', warn)).toBeUndefined();
    expect(warnings).toEqual([]);
    expect(isoDate(date('2024133112000000', 0), 'creation date', warn)).toBeUndefined();
    expect(warnings).toEqual(['the creation date "2024133112000000" is not a valid date']);
  });

  it('dstring: OSTA CS0 in 8 and 16 bits, with the length in the last byte', () => {
    const field = new Uint8Array(32);
    field.set([8, 0x41, 0x42, 0x43]);
    field[31] = 4;
    expect(dstring(field)).toBe('ABC');
    const wide = new Uint8Array(32);
    wide.set([16, 0x00, 0x55, 0x20, 0xac]);
    wide[31] = 5;
    expect(dstring(wide)).toBe('U€');
    expect(dstring(new Uint8Array(32))).toBe('');
  });

  it('crc16Ccitt: the CRC ECMA-167 3/7.2.6 specifies (check value of "123456789" is 0x31C3)', () => {
    expect(crc16Ccitt(new TextEncoder().encode('123456789'))).toBe(0x31c3);
  });

  it('udfTimestamp: ECMA-167 1/7.3 with a time zone in minutes', () => {
    const stamp = new Uint8Array(12);
    const view = new DataView(stamp.buffer);
    view.setUint16(0, (1 << 12) | 60, true); // local time, UTC+60 minutes
    view.setUint16(2, 2020, true);
    stamp.set([2, 29, 13, 14, 15, 50], 4);
    expect(udfTimestamp(stamp)).toBe('2020-02-29T12:14:15.500Z');
    expect(udfTimestamp(new Uint8Array(12))).toBeUndefined();
  });
});

describe('iso errors', () => {
  const eltorito = () => fixtureNamed('genisoimage-eltorito.iso').bytes().slice();

  it('rejects an impossible logical block size with CORRUPT naming the field', async () => {
    const bytes = eltorito();
    new DataView(bytes.buffer).setUint16(ISO_SYSTEM_AREA_BYTES + 128, 1000, true);
    new DataView(bytes.buffer).setUint16(ISO_SYSTEM_AREA_BYTES + 130, 1000, false);
    await rejects(bytes, 'CORRUPT', 'primary volume descriptor.logicalBlockSize');
  });

  it('rejects an image cut inside its primary volume descriptor with TRUNCATED', async () => {
    await rejects(eltorito().subarray(0, ISO_SYSTEM_AREA_BYTES + 1000), 'TRUNCATED', 'volume descriptor');
  });

  it('rejects a volume descriptor set of more than 64 descriptors with LIMIT_EXCEEDED', async () => {
    const bytes = new Uint8Array(ISO_SYSTEM_AREA_BYTES + 70 * 2048);
    for (let index = 0; index < 70; index += 1) {
      const offset = ISO_SYSTEM_AREA_BYTES + index * 2048;
      bytes.set([0, 0x43, 0x44, 0x30, 0x30, 0x31, 1], offset); // boot records, never a terminator
    }
    await rejects(bytes, 'LIMIT_EXCEEDED', 'volume descriptor set');
  });

  it('rejects a set without a primary volume descriptor (and without UDF) with CORRUPT', async () => {
    const bytes = new Uint8Array(ISO_SYSTEM_AREA_BYTES + 2 * 2048);
    bytes.set([255, 0x43, 0x44, 0x30, 0x30, 0x31, 1], ISO_SYSTEM_AREA_BYTES);
    expect((await failure(bytes)).code).toBe('CORRUPT');
  });

  it('warns about a damaged boot catalog and about disagreeing both-endian fields', async () => {
    const bytes = eltorito();
    const { details } = await isoInfo(bytes);
    const catalog = (details.elTorito?.bootCatalogLocation as number) * 2048;
    bytes[catalog + 30] = 0; // the 0x55 key byte
    new DataView(bytes.buffer).setUint32(ISO_SYSTEM_AREA_BYTES + 84, 1, false);
    const damaged = await isoInfo(bytes);
    expect(damaged.details.bootCatalog).toEqual([]);
    expect(damaged.details.elTorito?.validation?.valid).toBe(false);
    expect(damaged.warnings).toContain('the El Torito boot catalog validation entry is not valid (header id, key bytes or checksum)');
    expect(damaged.warnings.some((warning) => warning.startsWith('the volume space size is'))).toBe(true);
  });

  it('a "BEA01" without an NSR descriptor is not UDF: the image is raw', async () => {
    const bytes = new Uint8Array(ISO_SYSTEM_AREA_BYTES + 4 * 2048);
    bytes.set([0, 0x42, 0x45, 0x41, 0x30, 0x31, 1], ISO_SYSTEM_AREA_BYTES);
    bytes.set([0, 0x54, 0x45, 0x41, 0x30, 0x31, 1], ISO_SYSTEM_AREA_BYTES + 2048);
    expect((await run(bytes)).format).toBe('raw');
  });
});

// ---------------------------------------------------------------------------------------
// Differential: genisoimage, xorriso, mkudffs at test time

const has = (tool: string, flag = '--version') => spawnSync(tool, [flag], { encoding: 'utf8' }).error === undefined;
const toolsPresent = has('genisoimage') && has('xorriso') && has('isoinfo', '-version');
const toolsMissing = 'genisoimage, xorriso or isoinfo is not installed (apt-get install genisoimage xorriso)';

describe.skipIf(!toolsPresent)(`ISO images made at test time${toolsPresent ? '' : ` (skipped: ${toolsMissing})`}`, () => {
  const { work } = scratch('iso');
  const tree = join(work, 'tree');
  mkdirSync(join(tree, 'boot'), { recursive: true });
  writeFileSync(join(tree, 'hello.txt'), 'hello\n');
  writeFileSync(join(tree, 'boot', 'boot.img'), new Uint8Array(2048));
  writeFileSync(join(tree, 'boot', 'efi.img'), new Uint8Array(32768));
  // A hard-disk boot image needs an MBR with one partition: bootable, type 0x83, LBA 1, 63 sectors.
  const disk = new Uint8Array(512 * 64);
  disk.set([0x80, 0, 2, 0, 0x83, 0, 63, 0, 1, 0, 0, 0, 63, 0, 0, 0], 446);
  disk.set([0x55, 0xaa], 510);
  writeFileSync(join(tree, 'boot', 'disk.img'), disk);

  const run = (tool: string, args: string[]) => {
    const result = spawnSync(tool, args, { encoding: 'utf8', cwd: work, env: { ...process.env, SOURCE_DATE_EPOCH: '1600000000' } });
    if (result.status !== 0) throw new Error(`${tool} ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  const check = async (name: string) => {
    const path = join(work, name);
    const { details } = await isoInfo(loadBytes(path));
    expectAgreesWithIsoinfo(details, run('isoinfo', ['-d', '-i', path]));
    expectAgreesWithXorriso(details, run('xorriso', ['-indev', path, '-pvd_info', '-report_el_torito', 'plain', '-report_system_area', 'plain']));
    return details;
  };

  const cases: Array<[name: string, tool: string, args: string[]]> = [
    ['ids.iso', 'genisoimage', ['-quiet', '-V', 'Mixed Case Volume', '-sysid', 'SYS', '-volset', 'SET2', '-publisher', 'P'.repeat(128), '-p', 'Preparer', '-A', 'App', tree]],
    ['joliet-level.iso', 'genisoimage', ['-quiet', '-J', '-joliet-long', '-R', '-V', 'JOLIET', tree]],
    ['load-size.iso', 'genisoimage', ['-quiet', '-V', 'LOADSIZE', '-b', 'boot/boot.img', '-no-emul-boot', '-boot-load-size', '16', '-boot-load-seg', '0x1000', tree]],
    ['hard-disk.iso', 'genisoimage', ['-quiet', '-R', '-V', 'HDEMUL', '-b', 'boot/disk.img', '-hard-disk-boot', '-c', 'boot/boot.cat', tree]],
    ['xorriso-efi.iso', 'xorriso', ['-quiet', '-V', 'XEFI', '-J', '-R', '-b', 'boot/boot.img', '-no-emul-boot', '-boot-load-size', '4', '-eltorito-alt-boot', '-e', 'boot/efi.img', '-no-emul-boot', tree]],
    ['xorriso-mbr.iso', 'xorriso', ['-quiet', '-V', 'XMBR', '--protective-msdos-label', tree]],
    ['xorriso-gpt.iso', 'xorriso', ['-quiet', '-V', 'XGPT', '-append_partition', '2', '0xef', join(tree, 'boot', 'efi.img'), '-appended_part_as_gpt', tree]],
  ];
  for (const [name, tool, args] of cases) {
    it(`${name} (${tool}): agrees with isoinfo and xorriso`, async () => {
      const output = ['-o', join(work, name)];
      run(tool, tool === 'xorriso' ? ['-as', 'mkisofs', ...output, ...args] : [...output, ...args]);
      const details = await check(name);
      if (name === 'ids.iso') expect(details.publisherId).toBe('P'.repeat(128));
      if (name === 'hard-disk.iso') expect(details.bootCatalog?.[0]?.emulation).toBe('hard-disk');
      if (name === 'load-size.iso') expect(details.bootCatalog?.[0]).toMatchObject({ loadSize: 16, loadSegment: 0x1000 });
    });
  }

  it.skipIf(!has('mkudffs') || !has('udfinfo'))(`mkudffs volumes at 1024 and 4096 bytes per block agree with udfinfo${has('mkudffs') && has('udfinfo') ? '' : ' (skipped: apt-get install udftools)'}`, async () => {
    for (const blockSize of [1024, 4096]) {
      const path = join(work, `udf-${blockSize}.udf`);
      run('mkudffs', ['--new-file', `--blocksize=${blockSize}`, '--media-type=hd', `--label=Vol${blockSize}`, '--vid=Volume Ω', path, '1024']);
      const { details, virtualSize } = await isoInfo(loadBytes(path));
      expectAgreesWithUdfinfo(details, run('udfinfo', [path]));
      expect(details.udf?.volumeIdentifier).toBe('Volume Ω');
      expect(virtualSize).toBe(1024 * blockSize);
      // The same from a stream.
      const streamed = await isoInfo(makeSource('node-readable', loadBytes(path)));
      expect(streamed.details).toEqual(details);
    }
  });
});

// ---------------------------------------------------------------------------------------
// Real-world images

const realWorldIsos = realWorldImages().filter((image) => image.file.startsWith('iso/'));

describe.skipIf(realWorldRoot() === undefined)(`real-world ISO images${realWorldRoot() === undefined ? ` (skipped: ${realWorldMissing})` : ''}`, () => {
  it('finds them', () => {
    expect(realWorldIsos.length).toBeGreaterThanOrEqual(1);
  });

  for (const image of realWorldIsos) {
    it(`${image.file}: iso, its volume size equals qemu's size, the same from a stream`, async () => {
      const bytes = loadBytes(image.path);
      const info = await run(bytes);
      expect(info.format).toBe('iso');
      if ('json' in image.qemu) expectAgreesWithQemuInfo(info, image.qemu.json, { name: image.file, length: bytes.byteLength });
      expect(comparable(await run(makeSource('one-byte-chunks', bytes)))).toEqual(comparable(info));
    });
  }

  it("dfvfs__iso9660.raw: the volume id file(1) shows, genisoimage's application id", async () => {
    const { details } = await isoInfo(loadBytes(join(realWorldRoot() as string, 'iso/dfvfs__iso9660.raw')));
    expect(details.volumeId).toBe('CDROM');
    expect(details.applicationId).toMatch(/^GENISOIMAGE ISO 9660\/HFS FILESYSTEM CREATOR/);
    expect(details.logicalBlockSize).toBe(2048);
    expect(details.volumeSpaceSize).toBe(366592 / 2048);
  });
});
