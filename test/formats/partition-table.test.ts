import { rejectionOf } from '../helpers/errors.js';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/bytes.js';
import { IntrospectionError } from '../../src/errors.js';
import { recogniseBootSector } from '../../formats/shared/boot-sector.js';
import { decodeBsdDisklabel, MAX_BSD_PARTITIONS } from '../../formats/partitions/bsd.js';
import { type MbrPartitionTable, type PartitionScanOptions, type PartitionTableScan, scanPartitionTables as scanReader } from '../../formats/partitions/index.js';
import { MAX_LOGICAL_PARTITIONS } from '../../formats/partitions/mbr.js';
import type { ByteReader } from '../../src/format-module.js';
import { randomAccessReader } from '../helpers/readers.js';
import { GUEST_PARTITION_HEAD_BYTES } from '../../guest/partitions.js';

// Hand-made disks: every byte below is placed by these helpers, after the specifications
// cited in the scheme modules of formats/partitions/.

const SECTOR = 512;

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A disk in memory behind the library's reader, in any order (as a guest disk is read); `reachableBytes` limits the scan to the first bytes. */
interface TestDisk {
  readonly reader: ByteReader;
  readonly options: PartitionScanOptions;
  readonly warnings: string[];
}

function diskOf(bytes: Uint8Array, options: { reachableBytes?: number; readBackupGpt?: boolean } = {}): TestDisk {
  const warnings: string[] = [];
  return {
    reader: randomAccessReader(bytes, undefined, false),
    warnings,
    options: {
      warn: (message) => warnings.push(message),
      readEnd: options.readBackupGpt ?? true,
      within: options.reachableBytes === undefined ? undefined : { bytes: options.reachableBytes, reason: 'not reachable in this test' },
    },
  };
}

async function scanPartitionTables(disk: TestDisk): Promise<PartitionTableScan> {
  const before = disk.warnings.length;
  const scan = await scanReader(disk.reader, disk.options);
  // Read with a two-sector head (as guest inspection reads a disk: each scheme reads the rest
  // where it is), every disk here gives the same tables and the same warnings.
  const warnings: string[] = [];
  const twoSectors = await scanReader(disk.reader, { ...disk.options, warn: (message) => warnings.push(message), headBytes: GUEST_PARTITION_HEAD_BYTES });
  expect(twoSectors).toEqual(scan);
  expect(warnings).toEqual(disk.warnings.slice(before));
  return scan;
}

/** Writes an MBR partition entry (UEFI 2.10 table 5-2) into the sector at `sectorOffset`. */
function mbrEntry(disk: Uint8Array, sectorOffset: number, slot: number, entry: { status?: number; type: number; start: number; count: number; startChs?: [number, number, number] }): void {
  const at = sectorOffset + 446 + slot * 16;
  disk[at] = entry.status ?? 0;
  disk.set(entry.startChs ?? [0, 0, 0], at + 1);
  disk[at + 4] = entry.type;
  view(disk).setUint32(at + 8, entry.start, true);
  view(disk).setUint32(at + 12, entry.count, true);
  disk[sectorOffset + 510] = 0x55;
  disk[sectorOffset + 511] = 0xaa;
}

/**
 * Writes an extended boot record at sector `lba`: its logical partition in slot 0 (`start`
 * relative to this record) and, when the chain goes on, the link to the next record in
 * slot 1 (type 0x05, `start` relative to the extended partition).
 */
function extendedBootRecord(disk: Uint8Array, lba: number, logical: { type: number; start: number; count: number }, next?: { start: number; count: number }): void {
  mbrEntry(disk, lba * SECTOR, 0, logical);
  if (next !== undefined) mbrEntry(disk, lba * SECTOR, 1, { type: 0x05, ...next });
}

function mbrOf(scan: PartitionTableScan): MbrPartitionTable {
  expect(scan.partitionTable?.scheme).toBe('mbr');
  return scan.partitionTable as MbrPartitionTable;
}

describe('MBR', () => {
  it('decodes entries, CHS addresses and boot indicators', async () => {
    const disk = new Uint8Array(64 * SECTOR);
    view(disk).setUint32(440, 0xcafe1234, true);
    // CHS bytes head 254, sector 63 with cylinder bits 8-9 set (0xFF), cylinder low 0xFF: cylinder 1023.
    mbrEntry(disk, 0, 0, { status: 0x80, type: 0x0c, start: 2, count: 10, startChs: [254, 0xff, 0xff] });
    mbrEntry(disk, 0, 2, { status: 0x00, type: 0x83, start: 12, count: 20, startChs: [1, 0x41, 0x02] });
    disk[446 + 16] = 0x7f; // an unused slot with an invalid boot indicator
    const source = diskOf(disk);
    const scan = await scanPartitionTables(source);
    const mbr = mbrOf(scan);
    expect(source.warnings).toEqual(['MBR entry 2 has boot indicator 0x7f, which is neither 0x00 nor 0x80']);
    expect(mbr.diskSignature).toBe('0xcafe1234');
    expect(mbr.statusBytes).toEqual([0x80, 0x7f, 0x00, 0x00]);
    expect(mbr.gptProtection).toBe('none');
    expect(mbr.partitions.map((partition) => [partition.number, partition.slot, partition.bootable, partition.typeName, partition.offset, partition.size])).toEqual([
      [1, 1, true, 'W95 FAT32 (LBA)', 1024, 5120],
      [3, 3, false, 'Linux', 6144, 10240],
    ]);
    expect(mbr.partitions[0]?.startChs).toEqual({ bytes: [254, 0xff, 0xff], cylinder: 1023, head: 254, sector: 63 });
    expect(mbr.partitions[1]?.startChs).toEqual({ bytes: [1, 0x41, 0x02], cylinder: 0x102, head: 1, sector: 1 });
    expect(scan.bootSector).toBeUndefined();
  });

  it('numbers logical partitions from 5 in chain order and follows links relative to the extended partition', async () => {
    const disk = new Uint8Array(128 * SECTOR);
    mbrEntry(disk, 0, 0, { type: 0x05, start: 10, count: 100 });
    // EBR at 10: logical at 10+2, link to 10+40; EBR at 50: logical at 50+1, link to 10+20; EBR at 30: last.
    extendedBootRecord(disk, 10, { type: 0x83, start: 2, count: 8 }, { start: 40, count: 20 });
    extendedBootRecord(disk, 50, { type: 0x82, start: 1, count: 9 }, { start: 20, count: 10 });
    extendedBootRecord(disk, 30, { type: 0x07, start: 1, count: 5 });
    const extended = mbrOf(await scanPartitionTables(diskOf(disk))).partitions[0];
    expect(extended?.extended).toBe(true);
    expect(extended?.chainComplete).toBe(true);
    expect(extended?.logicalPartitions?.map((partition) => [partition.number, partition.extendedBootRecordLba, partition.startLba, partition.sectorCount])).toEqual([
      [5, 10, 12, 8],
      [6, 50, 51, 9],
      [7, 30, 31, 5],
    ]);
  });

  it('stops at a loop in the chain, with a warning', async () => {
    const disk = new Uint8Array(64 * SECTOR);
    mbrEntry(disk, 0, 0, { type: 0x0f, start: 4, count: 50 });
    extendedBootRecord(disk, 4, { type: 0x83, start: 1, count: 2 }, { start: 10, count: 5 });
    extendedBootRecord(disk, 14, { type: 0x83, start: 1, count: 2 }, { start: 0, count: 5 }); // back to the first EBR
    const source = diskOf(disk);
    const extended = mbrOf(await scanPartitionTables(source)).partitions[0];
    expect(extended?.logicalPartitions).toHaveLength(2);
    expect(extended?.chainComplete).toBe(false);
    expect(source.warnings).toEqual(['the chain of extended boot records loops back to sector 4']);
  });

  it(`refuses a chain of more than ${MAX_LOGICAL_PARTITIONS} extended boot records with LIMIT_EXCEEDED`, async () => {
    const count = MAX_LOGICAL_PARTITIONS + 2;
    const disk = new Uint8Array((2 * count + 4) * SECTOR);
    mbrEntry(disk, 0, 0, { type: 0x05, start: 2, count: 2 * count });
    for (let index = 0; index < count; index += 1) {
      extendedBootRecord(disk, 2 + 2 * index, { type: 0x83, start: 1, count: 1 }, { start: 2 * (index + 1), count: 2 });
    }
    const error = await rejectionOf(scanPartitionTables(diskOf(disk)));
    expect(error).toBeInstanceOf(IntrospectionError);
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.field).toBe('mbr.extendedBootRecord');
  });

  it('reports a chain it cannot reach, or that is broken, as incomplete', async () => {
    const disk = new Uint8Array(256 * SECTOR);
    mbrEntry(disk, 0, 0, { type: 0x05, start: 100, count: 100 });
    extendedBootRecord(disk, 100, { type: 0x83, start: 1, count: 1 });
    const unreachable = diskOf(disk, { reachableBytes: 32768 });
    const extended = mbrOf(await scanPartitionTables(unreachable)).partitions[0];
    expect(extended?.chainComplete).toBe(false);
    expect(unreachable.warnings).toEqual(['an extended boot record at byte 51200 could not be read: not reachable in this test']);

    disk[100 * SECTOR + 510] = 0;
    const broken = diskOf(disk);
    expect(mbrOf(await scanPartitionTables(broken)).partitions[0]?.logicalPartitions).toEqual([]);
    expect(broken.warnings).toEqual(['the extended boot record at sector 100 has no 0x55 0xAA signature']);
  });

  it('reads no partitions from an all-zero table with a signature (what OpenStack calls "no partitions defined")', async () => {
    const disk = new Uint8Array(4 * SECTOR);
    disk.set([0x55, 0xaa], 510);
    const mbr = mbrOf(await scanPartitionTables(diskOf(disk)));
    expect(mbr.partitions).toEqual([]);
    expect(mbr.statusBytes).toEqual([0, 0, 0, 0]);
  });
});

describe('boot sectors are not MBRs', () => {
  it('recognises a FAT12 floppy boot sector and leaves its BPB alone', async () => {
    const sector = new Uint8Array(SECTOR);
    sector.set([0xeb, 0x3c, 0x90]);
    sector.set(new TextEncoder().encode('MSDOS5.0'), 3);
    const bpb = view(sector);
    bpb.setUint16(11, 512, true);
    sector[13] = 1;
    bpb.setUint16(14, 1, true);
    sector[16] = 2;
    bpb.setUint16(17, 224, true);
    bpb.setUint16(19, 2880, true);
    sector[21] = 0xf0;
    bpb.setUint16(22, 9, true);
    sector[38] = 0x29;
    bpb.setUint32(39, 0x1234abcd, true);
    sector.set(new TextEncoder().encode('FLOPPY     '), 43);
    sector.set([0x55, 0xaa], 510);
    expect(recogniseBootSector(sector)).toEqual({ filesystem: 'fat', fatType: 'fat12', oemName: 'MSDOS5.0', label: 'FLOPPY', serialNumber: '0x1234abcd', bytesPerSector: 512 });
    const scan = await scanPartitionTables(diskOf(sector));
    expect(scan.partitionTable).toBeUndefined();
    expect(scan.bootSector?.filesystem).toBe('fat');
  });

  it('a GRUB MBR (jump EB 63 90, no BPB) is an MBR', async () => {
    const disk = new Uint8Array(8 * SECTOR);
    disk.set([0xeb, 0x63, 0x90]);
    mbrEntry(disk, 0, 0, { status: 0x80, type: 0x83, start: 2, count: 4 });
    expect(recogniseBootSector(disk.subarray(0, SECTOR))).toBeUndefined();
    expect(mbrOf(await scanPartitionTables(diskOf(disk))).partitions).toHaveLength(1);
  });
});

/** Builds a GPT disk by hand: protective MBR, primary and backup headers and arrays (UEFI 2.10 5.3). */
function gptDisk(sectorSize: number, sectors: number, entries: Array<{ type: string; first: number; last: number; name: string; attributes?: bigint }>): Uint8Array {
  const disk = new Uint8Array(sectorSize * sectors);
  mbrEntry(disk, 0, 0, { type: 0xee, start: 1, count: sectors - 1, startChs: [0, 2, 0] });
  const entryArray = new Uint8Array(128 * 128);
  const guidBytes = (guid: string) => {
    const hex = guid.replace(/-/g, '');
    const bytes = Uint8Array.from(hex.match(/../g) as string[], (pair) => Number.parseInt(pair, 16));
    return Uint8Array.from([3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15].map((index) => bytes[index] as number));
  };
  for (const [index, entry] of entries.entries()) {
    const at = index * 128;
    entryArray.set(guidBytes(entry.type), at);
    entryArray.set(guidBytes(`00000000-0000-0000-0000-${String(index + 1).padStart(12, '0')}`), at + 16);
    view(entryArray).setBigUint64(at + 32, BigInt(entry.first), true);
    view(entryArray).setBigUint64(at + 40, BigInt(entry.last), true);
    view(entryArray).setBigUint64(at + 48, entry.attributes ?? 0n, true);
    for (const [position, character] of [...entry.name].entries()) view(entryArray).setUint16(at + 56 + position * 2, character.charCodeAt(0), true);
  }
  const arraySectors = entryArray.byteLength / sectorSize;
  const header = (myLba: number, alternateLba: number, entriesLba: number) => {
    const bytes = new Uint8Array(92);
    bytes.set(new TextEncoder().encode('EFI PART'));
    const fields = view(bytes);
    fields.setUint32(8, 0x00010000, true);
    fields.setUint32(12, 92, true);
    fields.setBigUint64(24, BigInt(myLba), true);
    fields.setBigUint64(32, BigInt(alternateLba), true);
    fields.setBigUint64(40, BigInt(2 + arraySectors), true);
    fields.setBigUint64(48, BigInt(sectors - 2 - arraySectors), true);
    bytes.set(guidBytes('01234567-89ab-cdef-0123-456789abcdef'), 56);
    fields.setBigUint64(72, BigInt(entriesLba), true);
    fields.setUint32(80, 128, true);
    fields.setUint32(84, 128, true);
    fields.setUint32(88, crc32(entryArray), true);
    fields.setUint32(16, crc32(bytes), true);
    return bytes;
  };
  disk.set(header(1, sectors - 1, 2), sectorSize);
  disk.set(entryArray, 2 * sectorSize);
  disk.set(entryArray, (sectors - 1 - arraySectors) * sectorSize);
  disk.set(header(sectors - 1, 1, sectors - 1 - arraySectors), (sectors - 1) * sectorSize);
  return disk;
}

describe('GPT built by hand', () => {
  const entries = [
    { type: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b', first: 40, last: 79, name: 'ESP', attributes: 1n },
    { type: 'ebd0a0a2-b9e5-4433-87c0-68b6b72699c7', first: 80, last: 119, name: 'Windows', attributes: (1n << 60n) | (1n << 62n) },
    { type: '12345678-1234-1234-1234-123456789abc', first: 120, last: 129, name: 'mystery', attributes: (1n << 2n) | (1n << 50n) | (1n << 10n) },
  ];

  for (const sectorSize of [512, 4096]) {
    it(`finds the header at LBA 1 with ${sectorSize}-byte sectors and checks both CRCs and the backup`, async () => {
      const sectors = sectorSize === 512 ? 200 : 64;
      const gpt = (await scanPartitionTables(diskOf(gptDisk(sectorSize, sectors, entries)))).partitionTable;
      expect(gpt).toMatchObject({
        scheme: 'gpt',
        sectorSize,
        source: 'primary',
        revision: '1.0',
        diskGuid: '01234567-89ab-cdef-0123-456789abcdef',
        headerCrcValid: true,
        partitionEntryArrayCrcValid: true,
        currentLba: 1,
        backupLba: sectors - 1,
        backup: { status: 'valid', matchesPrimary: true, atEndOfDisk: true },
        mbr: { gptProtection: 'protective', sectorSize },
      });
      if (gpt?.scheme !== 'gpt') throw new Error('not gpt');
      expect(gpt.partitions.map((partition) => [partition.number, partition.typeName, partition.name, partition.offset, partition.size, partition.attributes, partition.attributeNames])).toEqual([
        [1, 'EFI System', 'ESP', 40 * sectorSize, 40 * sectorSize, '0x0000000000000001', ['required-partition']],
        [2, 'Microsoft basic data', 'Windows', 80 * sectorSize, 40 * sectorSize, '0x5000000000000000', ['read-only', 'hidden']],
        [3, undefined, 'mystery', 120 * sectorSize, 10 * sectorSize, '0x0004000000000404', ['legacy-bios-bootable', 'reserved-10', 'type-specific-50']],
      ]);
      expect(gpt.partitions[2]?.uniqueGuid).toBe('00000000-0000-0000-0000-000000000003');
    });
  }

  it('does not read the backup when told not to (the ISO system area)', async () => {
    const disk = gptDisk(512, 200, entries);
    const gpt = (await scanPartitionTables(diskOf(disk, { readBackupGpt: false }))).partitionTable;
    expect(gpt).toMatchObject({ scheme: 'gpt', backup: { lba: 199, status: 'not-read', headerCrcValid: undefined } });
  });

  it('a backup header that lies about its position is no lone backup', async () => {
    const disk = gptDisk(512, 200, entries);
    disk.fill(0, 512, 1024);
    const moved = new Uint8Array(disk.byteLength + 512); // one more sector: the backup is no longer last
    moved.set(disk);
    const scan = await scanPartitionTables(diskOf(moved));
    expect(mbrOf(scan).gptProtection).toBe('protective');
  });
});

describe('other schemes built by hand', () => {
  it('decodes a BSD disklabel in either byte order and checks its checksum', () => {
    for (const littleEndian of [true, false]) {
      const label = new Uint8Array(SECTOR);
      const fields = view(label);
      fields.setUint32(0, 0x82564557, littleEndian);
      label.set(new TextEncoder().encode('SCSI'), 8);
      fields.setUint32(40, 512, littleEndian);
      fields.setUint32(132, 0x82564557, littleEndian);
      fields.setUint16(138, 3, littleEndian);
      fields.setUint32(148, 100, littleEndian); // a: 100 sectors at 16, 4.2BSD
      fields.setUint32(152, 16, littleEndian);
      label[160] = 7;
      fields.setUint32(180, 1000, littleEndian); // c: the whole disk
      let checksum = 0;
      for (let at = 0; at < 148 + 3 * 16; at += 2) checksum ^= fields.getUint16(at, littleEndian);
      fields.setUint16(136, checksum, littleEndian);
      const decoded = decodeBsdDisklabel(label, 0, 512);
      expect(decoded).toMatchObject({ byteOrder: littleEndian ? 'little-endian' : 'big-endian', checksumValid: true, typeName: 'SCSI' });
      expect(decoded?.partitions.map((partition) => [partition.letter, partition.startSector, partition.sectorCount, partition.typeName])).toEqual([
        ['a', 16, 100, '4.2BSD'],
        ['c', 0, 1000, 'unused'],
      ]);
      label[170] = (label[170] as number) ^ 1; // inside partition b, which the checksum covers
      expect(decodeBsdDisklabel(label, 0, 512)?.checksumValid).toBe(false);
      fields.setUint16(138, MAX_BSD_PARTITIONS + 1, littleEndian);
      expect(() => decodeBsdDisklabel(label, 0, 512)).toThrow(/above the cap/);
    }
  });

  it('finds a dedicated BSD disklabel in sector 1 when there is no MBR', async () => {
    const disk = new Uint8Array(8 * SECTOR);
    const fields = view(disk);
    fields.setUint32(512, 0x82564557, true);
    fields.setUint32(512 + 132, 0x82564557, true);
    fields.setUint16(512 + 138, 1, true);
    fields.setUint32(512 + 148, 8, true);
    const scan = await scanPartitionTables(diskOf(disk));
    expect(scan.partitionTable).toMatchObject({ scheme: 'bsd', labelOffset: 512, partitions: [{ letter: 'a', sectorCount: 8 }] });
  });

  it('accepts a Sun label only with a good checksum, and an SGI header only with a good sum', async () => {
    const sun = new Uint8Array(SECTOR);
    view(sun).setUint16(436, 16, false); // heads
    view(sun).setUint16(438, 32, false); // sectors per track
    view(sun).setUint32(444 + 8, 2, false); // partition 2 starts at cylinder 2
    view(sun).setUint32(444 + 12, 512, false);
    view(sun).setUint16(508, 0xdabe, false);
    let xor = 0;
    for (let at = 0; at < 510; at += 2) xor ^= view(sun).getUint16(at, false);
    view(sun).setUint16(510, xor, false);
    expect((await scanPartitionTables(diskOf(sun))).partitionTable).toMatchObject({ scheme: 'sun', vtocValid: false, partitions: [{ number: 2, startSector: 1024, sectorCount: 512, type: undefined }] });
    sun[100] = 1;
    expect((await scanPartitionTables(diskOf(sun))).partitionTable).toBeUndefined();

    const sgi = new Uint8Array(SECTOR);
    view(sgi).setUint32(0, 0x0be5a941, false);
    view(sgi).setUint16(24 + 14, 512, false);
    sgi.set(new TextEncoder().encode('sgilabel'), 72);
    view(sgi).setUint32(80, 2, false);
    view(sgi).setUint32(84, 512, false);
    view(sgi).setUint32(312, 100, false);
    view(sgi).setUint32(316, 4, false);
    view(sgi).setUint32(320, 0x83, false);
    let sum = 0;
    for (let at = 0; at < 504; at += 4) sum = (sum + view(sgi).getUint32(at, false)) >>> 0;
    view(sgi).setUint32(504, (0x100000000 - sum) >>> 0, false);
    expect((await scanPartitionTables(diskOf(sgi))).partitionTable).toMatchObject({
      scheme: 'sgi',
      volumeDirectory: [{ name: 'sgilabel', block: 2, bytes: 512 }],
      partitions: [{ number: 1, startSector: 4, sectorCount: 100, typeName: 'Linux native' }],
    });
    sgi[200] = 1;
    expect((await scanPartitionTables(diskOf(sgi))).partitionTable).toBeUndefined();
  });

  it('accepts an Atari root sector only when its entries are plausible', async () => {
    const atari = new Uint8Array(SECTOR);
    view(atari).setUint32(0x1c2, 10000, false);
    const entry = (slot: number, flags: number, id: string, start: number, size: number) => {
      const at = 0x1c6 + slot * 12;
      atari[at] = flags;
      atari.set(new TextEncoder().encode(id), at + 1);
      view(atari).setUint32(at + 4, start, false);
      view(atari).setUint32(at + 8, size, false);
    };
    entry(0, 0x81, 'BGM', 2, 4000);
    entry(1, 0x01, 'XGM', 4002, 5000);
    expect((await scanPartitionTables(diskOf(atari))).partitionTable).toMatchObject({
      scheme: 'atari',
      diskSectors: 10000,
      partitions: [
        { number: 1, id: 'BGM', bootable: true, extended: false },
        { number: 2, id: 'XGM', bootable: false, extended: true },
      ],
    });
    entry(1, 0x01, 'X\u0001M', 4002, 5000);
    expect((await scanPartitionTables(diskOf(atari))).partitionTable).toBeUndefined();
    entry(1, 0x01, 'XGM', 4002, 7000); // beyond the declared disk size
    expect((await scanPartitionTables(diskOf(atari))).partitionTable).toBeUndefined();
  });

  it('reads an Apple map whose entries are 512 bytes apart although its blocks are 2048', async () => {
    const disk = new Uint8Array(8192);
    disk.set(new TextEncoder().encode('ER'));
    view(disk).setUint16(2, 2048, false);
    view(disk).setUint32(4, 100, false);
    for (const [index, [type, start, count]] of ([['Apple_partition_map', 1, 2], ['Apple_HFS', 4, 20]] as const).entries()) {
      const at = 512 * (index + 1);
      disk.set(new TextEncoder().encode('PM'), at);
      view(disk).setUint32(at + 4, 2, false);
      view(disk).setUint32(at + 8, start, false);
      view(disk).setUint32(at + 12, count, false);
      disk.set(new TextEncoder().encode(type), at + 48);
    }
    expect((await scanPartitionTables(diskOf(disk))).partitionTable).toMatchObject({
      scheme: 'apm',
      blockSize: 2048,
      entryStride: 512,
      partitions: [
        { number: 1, type: 'Apple_partition_map' },
        { number: 2, type: 'Apple_HFS', startBlock: 4, blockCount: 20, offset: 8192, size: 40960 },
      ],
    });
  });

  it('lists an Apple map beside an MBR as another table', async () => {
    const disk = new Uint8Array(4096);
    disk.set(new TextEncoder().encode('ER'));
    view(disk).setUint16(2, 512, false);
    disk.set(new TextEncoder().encode('PM'), 512);
    view(disk).setUint32(516, 1, false);
    mbrEntry(disk, 0, 0, { status: 0x80, type: 0x00 + 0xcd, start: 0, count: 8 });
    const scan = await scanPartitionTables(diskOf(disk));
    expect(scan.partitionTable?.scheme).toBe('mbr');
    expect(scan.otherPartitionTables.map((table) => table.scheme)).toEqual(['apm']);
  });

  it('finds nothing in a disk too short for a sector', async () => {
    expect(await scanPartitionTables(diskOf(new Uint8Array(100)))).toEqual({ partitionTable: undefined, otherPartitionTables: [], bootSector: undefined });
  });
});
