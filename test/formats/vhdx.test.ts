import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeVhdxMetadataTableHeader, decodeVhdxParentLocatorEntry, decodeVhdxParentLocatorHeader } from '../../formats/generated/vhdx.js';
import {
  type VhdxDetails,
  readVhdxFileIdentifier,
  readVhdxHeader,
  readVhdxMetadataEntry,
  readVhdxMetadataTable,
  readVhdxParentLocator,
  readVhdxRegionTable,
  vhdxLogHasValidEntry,
  vhdxRegionTableValid,
  VHDX_METADATA_GUIDS,
  VHDX_PARENT_LOCATOR_TYPE,
  VHDX_REGION_GUIDS,
} from '../../formats/vhdx.js';
import { crc32c } from '../../src/bytes.js';
import { introspectFile } from '../../src/node.js';
import { fixtures, loadBytes, realWorldImages, realWorldMissing, realWorldRoot } from '../helpers/fixtures.js';
import { hasQemuImg, qemuImg, qemuInfo, qemuMissing } from '../helpers/qemu.js';
import { expectResultOrCleanError, formatKit, formats, patternedData, run, scratch } from '../helpers/format-kit.js';
import { describeFixturesAgainstVhdiinfo, hasVhdiinfo, vhdiinfo } from '../helpers/vhdiinfo.js';
import { expectAgreesWithQemuInfo, imageFile } from '../conformance/index.js';
import { comparable, makeSource, trackedStream } from '../helpers/sources.js';

const { info: vhdxInfo, failure: rejection, fixtureBytes, rejects } = formatKit('vhdx');
const vhdxFixtures = fixtures('vhdx');
const MIB = 1024 * 1024;

const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** XORs one byte of `bytes` with `mask`. */
function flip(bytes: Uint8Array, offset: number, mask: number): void {
  view(bytes).setUint8(offset, view(bytes).getUint8(offset) ^ mask);
}

/** Rewrites the CRC-32C at `offset + 4` over `length` bytes ([MS-VHDX]: computed with the field zeroed). */
function reseal(bytes: Uint8Array, offset: number, length: number): void {
  bytes.fill(0, offset + 4, offset + 8);
  view(bytes).setUint32(offset + 4, crc32c(bytes.subarray(offset, offset + length)), true);
}

/** The offset of the header with the higher sequence number (both are valid in the fixtures). */
function currentHeaderOffset(bytes: Uint8Array): number {
  return view(bytes).getBigUint64(64 * 1024 + 8, true) > view(bytes).getBigUint64(128 * 1024 + 8, true) ? 64 * 1024 : 128 * 1024;
}

/** Edits the current header and fixes its checksum. */
function editCurrentHeader(bytes: Uint8Array, edit: (header: DataView) => void): void {
  const offset = currentHeaderOffset(bytes);
  edit(new DataView(bytes.buffer, bytes.byteOffset + offset, 4096));
  reseal(bytes, offset, 4096);
}

/** Edits region table 1 (at 192 KiB) and fixes its checksum. */
function editRegionTable(bytes: Uint8Array, edit: (table: DataView) => void): void {
  edit(new DataView(bytes.buffer, bytes.byteOffset + 192 * 1024, 64 * 1024));
  reseal(bytes, 192 * 1024, 64 * 1024);
}

/** The metadata region's offset, from region table 1 (qemu puts it second). */
function metadataOffset(bytes: Uint8Array): number {
  const table = readVhdxRegionTable(bytes.subarray(192 * 1024, 256 * 1024));
  return table.find((region) => region.name === 'metadata')?.fileOffset as number;
}

/** The byte offset of the metadata table entry for `itemId`. */
function metadataEntryOffset(bytes: Uint8Array, itemId: string): number {
  const region = metadataOffset(bytes);
  const items = readVhdxMetadataTable(bytes.subarray(region, region + 64 * 1024));
  const index = items.findIndex((item) => item.itemId === itemId);
  if (index < 0) throw new Error(`no item ${itemId}`);
  return region + 32 + 32 * index;
}


/** libvhdi: disk type, media size (the Virtual Disk Size item), identifier (DataWriteGuid), parent linkage and path. */
function expectVhdiinfoAgrees(details: VhdxDetails, fields: Record<string, string>): void {
  expect(fields['Format']).toBe('VHDX (version 2)');
  expect(fields['Format version']).toBe(String(details.version));
  expect(fields['Disk type']).toBe({ fixed: 'Fixed', dynamic: 'Dynamic', differencing: 'Differential' }[details.diskType]);
  expect(fields['Media size']).toMatch(new RegExp(`\\(${details.virtualDiskSize} bytes\\)$`));
  expect(fields['Bytes per sector']).toBe(`${details.logicalSectorSize} bytes`);
  expect(fields['Identifier']).toBe(details.dataWriteGuid);
  const locator = new Map(details.parentLocator?.entries.map((entry) => [entry.key, entry.value]));
  expect(fields['Parent identifier']).toBe(locator.get('parent_linkage')?.replace(/[{}]/g, ''));
  expect(fields['Parent filename']).toBe(locator.get('absolute_win32_path'));
}

describe('vhdx details read from the bytes', () => {
  it('reads a qemu dynamic disk (hand-checked against the bytes)', async () => {
    const bytes = fixtureBytes('dynamic-64M.vhdx');
    const info = await vhdxInfo(bytes);
    const details = info.details;
    expect(details.diskType).toBe('dynamic');
    expect(details.creator).toBe('QEMU v7.2.22');
    expect(details.blockSize).toBe(8 * MIB);
    expect(details.leaveBlocksAllocated).toBe(false);
    expect(details.hasParent).toBe(false);
    expect(details.virtualDiskSize).toBe(64 * MIB);
    expect(details.logicalSectorSize).toBe(512);
    expect(details.physicalSectorSize).toBe(512);
    expect(details.parentLocator).toBeUndefined();
    const current = currentHeaderOffset(bytes);
    expect(details.currentHeader).toBe(current === 64 * 1024 ? 1 : 2);
    expect(details.sequenceNumber).toBe(Number(view(bytes).getBigUint64(current + 8, true)));
    expect(details.headers.map((header) => header.valid)).toEqual([true, true]);
    expect(details.logGuid).toBe('00000000-0000-0000-0000-000000000000');
    expect(details.dirty).toBe(false);
    expect(details.version).toBe(1);
    expect(details.logVersion).toBe(0);
    expect(details.logOffset).toBe(MIB);
    expect(details.logLength).toBe(MIB);
    // qemu's layout: BAT at 2 MiB, metadata at 3 MiB, neither marked required.
    expect(details.regionTable).toEqual({
      copy: 1,
      entries: [
        { guid: VHDX_REGION_GUIDS.bat, name: 'bat', fileOffset: 2 * MIB, length: MIB, required: false },
        { guid: VHDX_REGION_GUIDS.metadata, name: 'metadata', fileOffset: 3 * MIB, length: MIB, required: false },
      ],
    });
    // qemu's items: at 64 KiB into the region, packed; flags 4 (required) or 6 (virtual disk + required).
    expect(details.metadataItems.map((item) => [item.name, item.offset, item.length, item.isUser, item.isVirtualDisk, item.isRequired])).toEqual([
      ['fileParameters', 65536, 8, false, false, true],
      ['virtualDiskSize', 65544, 8, false, true, true],
      ['page83Data', 65552, 16, false, true, true],
      ['logicalSectorSize', 65568, 4, false, true, true],
      ['physicalSectorSize', 65572, 4, false, true, true],
    ]);
    // The page 83 item's 16 bytes, formatted as a mixed-endian GUID.
    const page83 = bytes.subarray(3 * MIB + 65552, 3 * MIB + 65568);
    const hexOf = (part: Uint8Array) => Array.from(part, (byte) => byte.toString(16).padStart(2, '0')).join('');
    const reversed = (start: number, end: number) => hexOf(page83.slice(start, end).reverse());
    expect(details.virtualDiskId).toBe(
      `${reversed(0, 4)}-${reversed(4, 6)}-${reversed(6, 8)}-${hexOf(page83.subarray(8, 10))}-${hexOf(page83.subarray(10, 16))}`,
    );
  });

  it('finds the regions through the region table when a 2 MiB log moves them', async () => {
    const info = await vhdxInfo(fixtureBytes('dynamic-log2M.vhdx'));
    expect(info.details.logLength).toBe(2 * MIB);
    expect(info.details.regionTable.entries.map((region) => [region.name, region.fileOffset])).toEqual([
      ['bat', 3 * MIB],
      ['metadata', 4 * MIB],
    ]);
    expect(info.virtualSize).toBe(1024 * MIB);
  });

  it('reads a fixed disk (LeaveBlocksAllocated)', async () => {
    const info = await vhdxInfo(fixtureBytes('fixed-bs1M-log2M.vhdx'));
    expect(info.details.diskType).toBe('fixed');
    expect(info.details.leaveBlocksAllocated).toBe(true);
    expect(info.details.blockSize).toBe(MIB);
    expect(info.virtualSize).toBe(3 * MIB);
  });

  it('reads the metadata, not the data, of a stream and then stops it', async () => {
    const bytes = fixtureBytes('dynamic-data.vhdx');
    const stream = trackedStream(bytes, [65536]);
    await vhdxInfo(stream);
    expect(stream.returned).toBe(true);
    expect(stream.pulled).toBeLessThan(4 * MIB + 65536 * 3);
    expect(bytes.byteLength).toBeGreaterThan(8 * MIB);
  });

  it('rounds an odd virtual disk size down to sectors, as qemu', async () => {
    const info = await vhdxInfo(fixtureBytes('dynamic-odd.vhdx'));
    expect(info.details.virtualDiskSize).toBe(1000448);
    expect(info.virtualSize).toBe(1000448);
    const bytes = fixtureBytes('dynamic-odd.vhdx');
    const sizeItem = metadataEntryOffset(bytes, VHDX_METADATA_GUIDS.virtualDiskSize);
    view(bytes).setBigUint64(metadataOffset(bytes) + view(bytes).getUint32(sizeItem + 16, true), 1000000n, true);
    const odd = await vhdxInfo(bytes);
    expect(odd.details.virtualDiskSize).toBe(1000000);
    expect(odd.virtualSize).toBe(999936);
    expect(odd.warnings).toEqual(['the virtual disk size 1000000 is not a multiple of the logical sector size; qemu rounds it down to 512 bytes']);
  });

  it('chooses the valid header when the other is damaged', async () => {
    const first = await vhdxInfo(fixtureBytes('damage-header-1.vhdx'));
    expect(first.details.currentHeader).toBe(2);
    expect(first.details.headers).toEqual([
      { copy: 1, valid: false, sequenceNumber: undefined },
      { copy: 2, valid: true, sequenceNumber: first.details.sequenceNumber },
    ]);
    const secondBytes = fixtureBytes('damage-header-2.vhdx');
    const second = await vhdxInfo(secondBytes);
    expect(second.details.currentHeader).toBe(1);
    expect(second.details.headers.map((header) => header.valid)).toEqual([true, false]);
    // Header 1 is current although header 2 (damaged) has the higher sequence number.
    expect(second.details.sequenceNumber).toBe(Number(view(secondBytes).getBigUint64(64 * 1024 + 8, true)));
    expect(view(secondBytes).getBigUint64(128 * 1024 + 8, true)).toBeGreaterThan(view(secondBytes).getBigUint64(64 * 1024 + 8, true));
  });

  it('uses region table 2 when table 1 is damaged, and says qemu refuses the file', async () => {
    const info = await vhdxInfo(fixtureBytes('damage-region-table-1.vhdx'));
    expect(info.details.regionTable.copy).toBe(2);
    expect(info.details.regionTable.entries.map((region) => region.name)).toEqual(['bat', 'metadata']);
    expect(info.warnings).toEqual(['region table 1 is damaged; region table 2 was used (qemu reads only table 1 and refuses the file)']);
  });

  it('tells a log to replay (dirty) from a LogGuid over an empty log', async () => {
    const empty = await vhdxInfo(fixtureBytes('log-guid-empty-log.vhdx'));
    expect(empty.details.logGuid).toBe('3c1e6a52-7d0b-4f8e-9a21-5b6c7d8e9f10');
    expect(empty.details.dirty).toBe(false);
    expect(empty.warnings).toEqual([]);
    const replay = await vhdxInfo(fixtureBytes('log-to-replay.vhdx'));
    expect(replay.details.logGuid).toBe('3c1e6a52-7d0b-4f8e-9a21-5b6c7d8e9f10');
    expect(replay.details.dirty).toBe(true);
    expect(replay.warnings).toEqual(['the log holds entries that must be replayed (qemu-img info refuses the file opened read-only)']);
  });

  it('reports a 4096-byte logical sector size, which qemu refuses', async () => {
    const info = await vhdxInfo(fixtureBytes('logical-sector-4096.vhdx'));
    expect(info.details.logicalSectorSize).toBe(4096);
    expect(info.virtualSize).toBe(64 * MIB);
    expect(info.warnings).toEqual(['logical sector size 4096: qemu 7.2 opens only 512-byte logical sectors ("Operation not supported")']);
  });

  it('reads a differencing disk: HasParent and the parent locator key/value entries', async () => {
    const info = await vhdxInfo(fixtureBytes('differencing.vhdx'));
    expect(info.details.diskType).toBe('differencing');
    expect(info.details.hasParent).toBe(true);
    expect(info.details.parentLocator).toEqual({
      locatorType: VHDX_PARENT_LOCATOR_TYPE,
      entries: [
        { key: 'parent_linkage', value: '{9a0e8b4c-2d1f-4e3a-8b5c-6d7e8f9a0b1c}' },
        { key: 'relative_path', value: '.\\parent-disk.vhdx' },
        { key: 'absolute_win32_path', value: 'C:\\VMs\\parent-disk.vhdx' },
        { key: 'volume_path', value: '\\\\?\\Volume{11111111-2222-3333-4444-555555555555}\\VMs\\parent-disk.vhdx' },
      ],
    });
    expect(info.details.metadataItems.at(-1)).toMatchObject({ name: 'parentLocator', offset: 65536 + 4096, isRequired: true });
    expect(info.warnings).toEqual(['a differencing disk (qemu 7.2 cannot open it: "Operation not supported")']);
  });
});

describe('vhdx log scan (qemu block/vhdx-log.c rules)', () => {
  const guid = Uint8Array.from({ length: 16 }, (_, index) => index + 1);

  /** A log entry of `length` bytes with `descriptors` zero descriptors, CRC-32C sealed. */
  function logEntry(length: number, sequence: bigint, entryGuid: Uint8Array, descriptors: Array<{ signature: string; sequence: bigint }> = []): Uint8Array {
    const entry = new Uint8Array(length);
    const entryView = view(entry);
    entry.set([0x6c, 0x6f, 0x67, 0x65]); // "loge"
    entryView.setUint32(8, length, true);
    entryView.setBigUint64(16, sequence, true);
    entryView.setUint32(24, descriptors.length, true);
    entry.set(entryGuid, 32);
    descriptors.forEach((descriptor, index) => {
      const at = 64 + index * 32;
      entry.set(new TextEncoder().encode(descriptor.signature), at);
      entryView.setBigUint64(at + 24, descriptor.sequence, true);
    });
    reseal(entry, 0, length);
    return entry;
  }

  it('finds a valid entry, with descriptors, anywhere on a 4 KiB boundary', () => {
    const log = new Uint8Array(64 * 1024);
    log.set(logEntry(8192, 9n, guid, [{ signature: 'zero', sequence: 9n }, { signature: 'desc', sequence: 9n }]), 40960);
    expect(vhdxLogHasValidEntry(log, guid)).toBe(true);
  });

  it('finds an entry that wraps from the end of the log to its start', () => {
    const log = new Uint8Array(16 * 1024);
    const entry = logEntry(8192, 3n, guid);
    log.set(entry.subarray(0, 4096), 12288);
    log.set(entry.subarray(4096), 0);
    expect(vhdxLogHasValidEntry(log, guid)).toBe(true);
  });

  it('ignores entries with another LogGuid, a bad CRC, sequence 0, a bad length or a stale descriptor', () => {
    const other = guid.map((byte) => byte ^ 0xff);
    const cases: Uint8Array[] = [
      logEntry(4096, 1n, other),
      logEntry(4096, 0n, guid),
      logEntry(4096, 1n, guid, [{ signature: 'desc', sequence: 2n }]),
      logEntry(4096, 1n, guid, [{ signature: 'data', sequence: 1n }]),
    ];
    const badCrc = logEntry(4096, 1n, guid);
    badCrc[100] = 1;
    cases.push(badCrc);
    const badLength = logEntry(4096, 1n, guid);
    view(badLength).setUint32(8, 4000, true);
    reseal(badLength, 0, 4096);
    cases.push(badLength);
    for (const entry of cases) {
      const log = new Uint8Array(8192);
      log.set(entry, 4096);
      expect(vhdxLogHasValidEntry(log, guid)).toBe(false);
    }
  });
});

describe('vhdx decoders on structures from other projects (libvhdi test data)', () => {
  const root = realWorldRoot();
  const fragment = (name: string) => loadBytes(join(root as string, 'fragments', name));
  const title = (what: string) => `${what}${root ? '' : ` (skipped: ${realWorldMissing})`}`;

  it.skipIf(root === undefined)(title('file identifier: the creator; alone it is a truncated VHDX'), async () => {
    const bytes = fragment('libvhdi__file_identifier.1');
    expect(readVhdxFileIdentifier(bytes).creator).toBe('Microsoft Windows 10.0.19041.0');
    await rejects(bytes, 'TRUNCATED', 'header 1');
  });

  it.skipIf(root === undefined)(title('header: checksum, sequence number, log'), () => {
    const header = readVhdxHeader(fragment('libvhdi__image_header.1'));
    expect(header.checksumValid).toBe(true);
    expect(header.valid).toBe(true);
    expect(header.sequenceNumber).toBe(6n);
    expect(header.logGuid).toBe('00000000-0000-0000-0000-000000000000');
    expect(header.dataWriteGuid).toBe('0ffbcd55-1320-498f-9c15-1a97335aafcd');
    expect([header.logVersion, header.version, header.logLength, header.logOffset]).toEqual([0, 1, MIB, BigInt(MIB)]);
  });

  it.skipIf(root === undefined)(title('region table: BAT at 3 MiB and metadata at 2 MiB, both required (Windows layout)'), () => {
    const bytes = fragment('libvhdi__region_table.1');
    expect(vhdxRegionTableValid(bytes)).toBe(false); // 80 bytes of a 64 KiB table: the CRC cannot be checked
    expect(readVhdxRegionTable(bytes)).toEqual([
      { guid: VHDX_REGION_GUIDS.bat, name: 'bat', fileOffset: 3 * MIB, length: MIB, required: true },
      { guid: VHDX_REGION_GUIDS.metadata, name: 'metadata', fileOffset: 2 * MIB, length: MIB, required: true },
    ]);
  });

  it.skipIf(root === undefined)(title('metadata table header and entry'), () => {
    const header = fragment('libvhdi__metadata_table_header.1');
    expect(decodeVhdxMetadataTableHeader(header).entryCount).toBe(5);
    expect(() => readVhdxMetadataTable(header)).toThrowError(expect.objectContaining({ code: 'TRUNCATED', field: 'metadata table' }));
    expect(readVhdxMetadataEntry(fragment('libvhdi__metadata_table_entry.1'))).toEqual({
      itemId: VHDX_METADATA_GUIDS.fileParameters,
      name: 'fileParameters',
      offset: 65536,
      length: 8,
      isUser: false,
      isVirtualDisk: false,
      isRequired: true,
    });
  });

  it.skipIf(root === undefined)(title('parent locator header and entry'), () => {
    const header = fragment('libvhdi__parent_locator_header.1');
    const decoded = decodeVhdxParentLocatorHeader(header);
    expect(decoded.keyValueCount).toBe(5);
    expect(() => readVhdxParentLocator(header)).toThrowError(expect.objectContaining({ code: 'CORRUPT', field: 'parent locator entry 1' }));
    expect(readVhdxParentLocator(header.subarray(0, 20).map((byte, index) => (index === 18 ? 0 : byte)))).toEqual({
      locatorType: VHDX_PARENT_LOCATOR_TYPE,
      entries: [],
    });
    // "parent_linkage" (14 UTF-16 characters) at 0x50, its value (38 characters, a braced GUID) at 0x6c.
    expect(decodeVhdxParentLocatorEntry(fragment('libvhdi__parent_locator_entry.1'))).toEqual({
      keyOffset: 0x50,
      valueOffset: 0x6c,
      keyLength: 28,
      valueLength: 76,
    });
  });
});

describe('vhdx errors', () => {
  const base = () => fixtureBytes('dynamic-64M.vhdx');

  it('rejects a file cut inside the header section with TRUNCATED naming the structure', async () => {
    const error = await rejects(base().subarray(0, 100 * 1024), 'TRUNCATED', 'header 2');
    expect(error.message).toMatch(/^vhdx: header 2: /);
  });

  it('rejects a file without a valid header with CORRUPT (qemu: "No valid VHDX header found")', async () => {
    const bytes = base();
    flip(bytes, 64 * 1024 + 300, 1);
    flip(bytes, 128 * 1024 + 300, 1);
    await rejects(bytes, 'CORRUPT', 'header');
  });

  it('rejects two different valid headers with the same sequence number', async () => {
    const bytes = base();
    view(bytes).setBigUint64(64 * 1024 + 8, 77n, true);
    view(bytes).setBigUint64(128 * 1024 + 8, 77n, true);
    bytes[64 * 1024 + 200] = 1;
    reseal(bytes, 64 * 1024, 4096);
    reseal(bytes, 128 * 1024, 4096);
    await rejects(bytes, 'CORRUPT', 'header.sequenceNumber');
  });

  it('accepts two identical headers with the same sequence number (Disk2vhd)', async () => {
    const bytes = base();
    bytes.copyWithin(128 * 1024, 64 * 1024, 64 * 1024 + 4096);
    const info = await vhdxInfo(bytes);
    expect(info.details.currentHeader).toBe(1);
  });

  it('rejects an unknown log version with UNSUPPORTED and a misplaced log with CORRUPT', async () => {
    const version = base();
    editCurrentHeader(version, (header) => header.setUint16(64, 1, true));
    expect((await rejection(version)).field).toBe('header.logVersion');
    const misplaced = base();
    editCurrentHeader(misplaced, (header) => header.setBigUint64(72, BigInt(MIB + 4096), true));
    await rejects(misplaced, 'CORRUPT', 'header.logOffset');
  });

  it('rejects damaged region tables with CORRUPT, and too many entries with LIMIT_EXCEEDED', async () => {
    const both = base();
    flip(both, 192 * 1024 + 500, 1);
    flip(both, 256 * 1024 + 500, 1);
    expect((await rejection(both)).field).toBe('region table');
    const many = base();
    editRegionTable(many, (table) => table.setUint32(8, 5000, true));
    await rejects(many, 'LIMIT_EXCEEDED', 'region table.entryCount');
  });

  it('rejects an unknown required region (UNSUPPORTED) and overlapping regions (CORRUPT)', async () => {
    const unknown = base();
    editRegionTable(unknown, (table) => {
      table.setUint32(8, 3, true);
      table.setUint8(16 + 64, 0x42); // a third entry with an unknown GUID, at 5 MiB, required
      table.setBigUint64(16 + 64 + 16, BigInt(5 * MIB), true);
      table.setUint32(16 + 64 + 24, MIB, true);
      table.setUint32(16 + 64 + 28, 1, true);
    });
    await rejects(unknown, 'UNSUPPORTED', 'region table entry 3');

    const overlapping = base();
    editRegionTable(overlapping, (table) => table.setBigUint64(16 + 32 + 16, BigInt(2 * MIB), true));
    await rejects(overlapping, 'CORRUPT', 'region table entry 2');

    const inLog = base();
    editRegionTable(inLog, (table) => table.setBigUint64(16 + 16, BigInt(MIB), true));
    expect((await rejection(inLog)).reason).toMatch(/overlaps the log/);
  });

  it('accepts an unknown optional region and lists it', async () => {
    const bytes = base();
    editRegionTable(bytes, (table) => {
      table.setUint32(8, 3, true);
      table.setUint8(16 + 64, 0x42);
      table.setBigUint64(16 + 64 + 16, BigInt(5 * MIB), true);
      table.setUint32(16 + 64 + 24, MIB, true);
    });
    const info = await vhdxInfo(bytes);
    expect(info.details.regionTable.entries[2]).toMatchObject({ name: undefined, fileOffset: 5 * MIB, required: false });
  });

  it('reads a metadata table of more entries than its first read takes: an item listed 20th is found', async () => {
    const bytes = base();
    const region = metadataOffset(bytes);
    const physical = metadataEntryOffset(bytes, VHDX_METADATA_GUIDS.physicalSectorSize);
    const count = view(bytes).getUint16(region + 10, true);
    const slot = (index: number) => region + 32 + 32 * index;
    // The physicalSectorSize entry moves to slot 19 (the last entry takes its place); the
    // slots between hold unknown, optional entries (qemu skips those) at the first item's place.
    const moved = bytes.slice(physical, physical + 32);
    bytes.copyWithin(physical, slot(count - 1), slot(count));
    const filler = bytes.slice(slot(0), slot(1));
    filler.fill(0xab, 0, 16);
    filler.fill(0, 24, 28); // flags: not user, not virtual disk, not required
    for (let index = count - 1; index < 19; index += 1) bytes.set(filler, slot(index));
    bytes.set(moved, slot(19));
    view(bytes).setUint16(region + 10, 20, true);
    const info = await vhdxInfo(bytes);
    expect(info.details.metadataItems).toHaveLength(20);
    expect(info.details.metadataItems[19]?.name).toBe('physicalSectorSize');
    expect(info.details.physicalSectorSize).toBe(512);
  });

  it('rejects a bad metadata table: signature, entry count, missing or duplicated items', async () => {
    const signature = base();
    signature[3 * MIB] = 0;
    expect((await rejection(signature)).field).toBe('metadata table.signature');

    const count = base();
    view(count).setUint16(3 * MIB + 10, 3000, true);
    await rejects(count, 'LIMIT_EXCEEDED', 'metadata table.entryCount');

    const missing = base();
    const page83 = metadataEntryOffset(missing, VHDX_METADATA_GUIDS.page83Data);
    flip(missing, page83, 0xff); // now an unknown item...
    view(missing).setUint32(page83 + 24, 0, true); // ...and not required
    const absent = await rejection(missing);
    expect(absent.code).toBe('CORRUPT');
    expect(absent.reason).toMatch(/page83Data item is missing/);

    const unknownRequired = base();
    flip(unknownRequired, metadataEntryOffset(unknownRequired, VHDX_METADATA_GUIDS.page83Data), 0xff);
    expect((await rejection(unknownRequired)).code).toBe('UNSUPPORTED');

    const duplicated = base();
    const physical = metadataEntryOffset(duplicated, VHDX_METADATA_GUIDS.physicalSectorSize);
    duplicated.copyWithin(physical, physical - 32, physical - 16); // a second logicalSectorSize
    expect((await rejection(duplicated)).reason).toMatch(/a second logicalSectorSize item/);
  });

  it('rejects items out of place or too long, and impossible values', async () => {
    const inTable = base();
    view(inTable).setUint32(metadataEntryOffset(inTable, VHDX_METADATA_GUIDS.fileParameters) + 16, 100, true);
    expect((await rejection(inTable)).field).toBe('metadata item fileParameters');

    const long = base();
    view(long).setUint32(metadataEntryOffset(long, VHDX_METADATA_GUIDS.virtualDiskSize) + 20, 2 * MIB, true);
    await rejects(long, 'LIMIT_EXCEEDED', 'metadata item virtualDiskSize');

    const block = base();
    view(block).setUint32(3 * MIB + 65536, 3 * MIB, true);
    expect((await rejection(block)).field).toBe('metadata item fileParameters.blockSize');

    const sector = base();
    view(sector).setUint32(3 * MIB + 65568, 1024, true);
    expect((await rejection(sector)).field).toBe('metadata item logicalSectorSize');

    const orphan = base();
    view(orphan).setUint32(3 * MIB + 65536 + 4, 2, true); // HasParent without a parent locator
    expect((await rejection(orphan)).field).toBe('metadata item parentLocator');
  });

  it('rejects parent locators that point outside their item or hold too many entries', async () => {
    const outside = fixtureBytes('differencing.vhdx');
    const item = 3 * MIB + 65536 + 4096;
    view(outside).setUint32(item + 20, 100000, true); // the first key's offset
    await rejects(outside, 'CORRUPT', 'parent locator entry 1.key');

    const many = fixtureBytes('differencing.vhdx');
    view(many).setUint16(item + 18, 5000, true);
    await rejects(many, 'LIMIT_EXCEEDED', 'parent locator.keyValueCount');
  });

  it('never fails with anything but an IntrospectionError on damaged structures', async () => {
    const original = fixtureBytes('differencing.vhdx');
    const spots = [0, 64 * 1024, 128 * 1024, 192 * 1024, 3 * MIB, 3 * MIB + 65536, 3 * MIB + 65536 + 4096];
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(fc.constantFrom(...spots), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })),
          { minLength: 1, maxLength: 10 },
        ),
        fc.boolean(),
        async (edits, fixChecksums) => {
          const bytes = original.slice();
          for (const [spot, offset, value] of edits) bytes[spot + offset] = value;
          if (fixChecksums) {
            reseal(bytes, 64 * 1024, 4096);
            reseal(bytes, 128 * 1024, 4096);
            reseal(bytes, 192 * 1024, 64 * 1024);
          }
          await expectResultOrCleanError(bytes);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe.skipIf(!hasQemuImg)(`vhdx against qemu-img at test time${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  const { work } = scratch('vhdx');

  const cases: Array<{ name: string; options: string; size: string }> = [];
  for (const blockSize of ['0', '1M', '2M', '32M', '256M']) {
    for (const logSize of ['1M', '2M']) {
      cases.push({ name: `dynamic-bs${blockSize}-log${logSize}`, options: `block_size=${blockSize},log_size=${logSize}`, size: '2G' });
    }
  }
  for (const size of ['1000000', '64M', '1G', '3G', '100G', '2T']) {
    cases.push({ name: `dynamic-${size}`, options: 'subformat=dynamic', size });
  }
  // Fixed disks are as large as their data: keep them small.
  for (const blockSize of ['1M', '8M']) {
    for (const logSize of ['1M', '3M']) {
      cases.push({ name: `fixed-bs${blockSize}-log${logSize}`, options: `subformat=fixed,block_size=${blockSize},log_size=${logSize}`, size: '2M' });
    }
  }
  cases.push({ name: 'block-state-zero-off', options: 'block_state_zero=off', size: '64M' });

  for (const testCase of cases) {
    it(`${testCase.name}: size, block size and dirty flag agree; regions follow the log`, async () => {
      const path = join(work, `${testCase.name}.vhdx`);
      qemuImg(['create', '-q', '-f', 'vhdx', '-o', testCase.options, path, testCase.size]);
      const info = await introspectFile(path, { formats });
      expectAgreesWithQemuInfo(info, qemuInfo(path), imageFile(path));
      if (info.format !== 'vhdx') return;
      const logEnd = info.details.logOffset + info.details.logLength;
      for (const region of info.details.regionTable.entries) expect(region.fileOffset).toBeGreaterThanOrEqual(logEnd);
      expect(info.details.diskType).toBe(testCase.options.includes('fixed') ? 'fixed' : 'dynamic');
      if (hasVhdiinfo) expectVhdiinfoAgrees(info.details, vhdiinfo(path));
    });
  }

  for (const subformat of ['dynamic', 'fixed']) {
    it(`a disk converted from data (${subformat}) agrees, from a file and from a stream`, async () => {
      const rawPath = join(work, 'data.raw');
      const data = patternedData(3 * MIB + 4096, 977, (index) => (index * 13) & 0xff);
      writeFileSync(rawPath, data);
      const path = join(work, `converted-${subformat}.vhdx`);
      qemuImg(['convert', '-q', '-O', 'vhdx', '-o', `subformat=${subformat}`, rawPath, path]);
      const info = await introspectFile(path, { formats });
      expectAgreesWithQemuInfo(info, qemuInfo(path), imageFile(path));
      const bytes = new Uint8Array(readFileSync(path));
      expect(comparable(await run(makeSource('web-stream', bytes)))).toEqual(comparable(info));
    });
  }

  it('the hand-edited fixtures qemu refuses are refused for the reason we warn about', () => {
    const reasons: Record<string, RegExp> = {
      'damage-region-table-1.vhdx': /Invalid argument/,
      'log-to-replay.vhdx': /contains a log that needs to be replayed/,
      'logical-sector-4096.vhdx': /Operation not supported/,
      'differencing.vhdx': /Operation not supported/,
    };
    for (const [name, reason] of Object.entries(reasons)) {
      const path = join(work, name);
      writeFileSync(path, fixtureBytes(name));
      expect(() => qemuInfo(path)).toThrowError(reason);
    }
  });
});

// libvhdi reads only region table 1, like qemu.
describeFixturesAgainstVhdiinfo('vhdx', vhdxFixtures.filter((candidate) => candidate.name !== 'damage-region-table-1.vhdx'), 'disk type, size, identifier and parent', expectVhdiinfoAgrees);

const realWorldRootPath = realWorldRoot();
describe.skipIf(realWorldRootPath === undefined)(
  `vhdx real-world images${realWorldRootPath ? '' : ` (skipped: ${realWorldMissing})`}`,
  () => {
    const { work } = scratch('vhdx-real');
    const images = realWorldImages().filter((image) => image.file.startsWith('vhdx/'));

    it('has the vhdx images', () => {
      expect(images.length).toBeGreaterThanOrEqual(3);
    });

    for (const image of images) {
      it(`${image.file}`, async () => {
        const bytes = loadBytes(image.path);
        const info = await vhdxInfo(bytes);
        for (const kind of ['blob', 'web-stream', 'one-byte-chunks'] as const) {
          expect(comparable(await run(makeSource(kind, bytes)))).toEqual(comparable(info));
        }
        if ('json' in image.qemu) {
          expectAgreesWithQemuInfo(info, image.qemu.json, { name: image.file, length: bytes.byteLength });
          expect(info.warnings).toEqual([]);
        } else {
          // qemu 7.2 cannot open differencing VHDX files.
          expect(image.qemu.error).toContain('Operation not supported');
          expect(info.details.hasParent).toBe(true);
          expect(info.warnings).toEqual(['a differencing disk (qemu 7.2 cannot open it: "Operation not supported")']);
        }
        // Windows puts the metadata region before the BAT, both required.
        expect(info.details.regionTable.entries.map((region) => [region.name, region.fileOffset, region.required])).toEqual([
          ['bat', 3 * MIB, true],
          ['metadata', 2 * MIB, true],
        ]);
        expect(info.details.creator).toMatch(/^Microsoft Windows 10\.0\.\d+\.0$/);
        if (hasVhdiinfo) {
          const path = join(work, basename(image.file, '.gz'));
          writeFileSync(path, bytes);
          expectVhdiinfoAgrees(info.details, vhdiinfo(path));
        }
      });
    }

    it('the Hyper-V checkpoint (.avhdx): its parent locator', async () => {
      const info = await vhdxInfo(loadBytes(join(realWorldRootPath as string, 'vhdx/dissect__differencing.avhdx.gz')));
      const entries = new Map(info.details.parentLocator?.entries.map((entry) => [entry.key, entry.value]));
      expect(info.details.parentLocator?.locatorType).toBe(VHDX_PARENT_LOCATOR_TYPE);
      expect([...entries.keys()]).toEqual(['parent_linkage', 'absolute_win32_path', 'relative_path', 'volume_path', 'parent_linkage2']);
      expect(entries.get('parent_linkage')).toBe('{ff34003b-11ed-4cf8-a166-b2be05e20b80}');
      expect(entries.get('relative_path')).toBe('.\\Generation 1_49C4BAF3-4B25-4406-8C4B-D39E65C32385.avhdx');
      expect(info.details.physicalSectorSize).toBe(4096);
      expect(info.virtualSize).toBe(8 * 1024 * MIB);
    });
  },
);
