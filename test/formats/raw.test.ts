import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/bytes.js';
import { RAW_HEAD_BYTES, type RawDetails } from '../../formats/raw.js';
import type { GptPartitionTable, MbrPartition, MbrPartitionTable, PartitionTable } from '../../formats/partitions/index.js';
import { type Fixture, fixture, fixtures, loadBytes, realWorldImages, realWorldMissing, realWorldRoot } from '../helpers/fixtures.js';
import { comparable, makeSource } from '../helpers/sources.js';
import { expectAgreesWithQemuInfo } from '../conformance/index.js';
import { formatKit, run, scratch } from '../helpers/format-kit.js';
import type { ImageSource } from '../../src/index.js';

const { rejects } = formatKit('raw');
const rawFixtures = fixtures('raw');

// ---------------------------------------------------------------------------------------
// Helpers

async function rawDetails(source: ImageSource): Promise<{ details: RawDetails; warnings: string[]; virtualSize: number }> {
  const info = await run(source);
  expect(info.format).toBe('raw');
  return { details: info.details as RawDetails, warnings: info.warnings, virtualSize: info.virtualSize };
}

const fixtureNamed = (name: string): Fixture => fixture('raw', name);

function table<Scheme extends PartitionTable['scheme']>(details: RawDetails, scheme: Scheme): Extract<PartitionTable, { scheme: Scheme }> {
  expect(details.partitionTable?.scheme).toBe(scheme);
  return details.partitionTable as Extract<PartitionTable, { scheme: Scheme }>;
}

/** Primary and logical MBR partitions, in Linux's numbering order. */
function allMbrPartitions(mbr: MbrPartitionTable): MbrPartition[] {
  return mbr.partitions.flatMap((partition) => [partition, ...(partition.logicalPartitions ?? [])]).sort((a, b) => a.number - b.number);
}

/** sfdisk's GPT attribute names as a 64-bit mask (util-linux libfdisk gpt.c names). */
function sfdiskAttributeMask(attrs: string | undefined): bigint {
  let mask = 0n;
  for (const word of (attrs ?? '').split(/\s+/).filter(Boolean)) {
    if (word === 'RequiredPartition') mask |= 1n;
    else if (word === 'NoBlockIOProtocol') mask |= 2n;
    else if (word === 'LegacyBIOSBootable') mask |= 4n;
    else if (word.startsWith('GUID:')) for (const bit of word.slice(5).split(',')) mask |= 1n << BigInt(bit);
  }
  return mask;
}

interface SfdiskPartition {
  node: string;
  start: number;
  size: number;
  type: string;
  bootable?: boolean;
  uuid?: string;
  name?: string;
  attrs?: string;
}
interface SfdiskTable {
  label: string;
  id?: string;
  device: string;
  partitions: SfdiskPartition[];
}

/** Compares a partition table with `sfdisk --json` field by field. */
function expectAgreesWithSfdisk(found: PartitionTable | undefined, sfdisk: SfdiskTable): void {
  const number = (node: string) => Number(node.slice(sfdisk.device.length));
  switch (sfdisk.label) {
    case 'dos': {
      expect(found?.scheme).toBe('mbr');
      const mbr = found as MbrPartitionTable;
      expect(mbr.diskSignature).toBe(sfdisk.id);
      expect(
        allMbrPartitions(mbr).map((partition) => ({
          number: partition.number,
          start: partition.startLba,
          size: partition.sectorCount,
          type: partition.type.toString(16),
          bootable: partition.bootable,
        })),
      ).toEqual(sfdisk.partitions.map((partition) => ({ number: number(partition.node), start: partition.start, size: partition.size, type: partition.type, bootable: partition.bootable === true })));
      return;
    }
    case 'gpt': {
      expect(found?.scheme).toBe('gpt');
      const gpt = found as GptPartitionTable;
      expect(gpt.diskGuid).toBe(sfdisk.id?.toLowerCase());
      expect(
        gpt.partitions.map((partition) => ({
          number: partition.number,
          start: partition.firstLba,
          size: partition.lastLba - partition.firstLba + 1,
          type: partition.typeGuid,
          uuid: partition.uniqueGuid,
          name: partition.name,
          attributes: BigInt(partition.attributes),
        })),
      ).toEqual(
        sfdisk.partitions.map((partition) => ({
          number: number(partition.node),
          start: partition.start,
          size: partition.size,
          type: partition.type.toLowerCase(),
          uuid: partition.uuid?.toLowerCase(),
          name: partition.name ?? '',
          attributes: sfdiskAttributeMask(partition.attrs),
        })),
      );
      return;
    }
    case 'sun':
    case 'sgi': {
      expect(found?.scheme).toBe(sfdisk.label);
      const partitions = (found as Extract<PartitionTable, { scheme: 'sun' | 'sgi' }>).partitions;
      expect(partitions.map((partition) => ({ number: partition.number, start: partition.startSector, size: partition.sectorCount, type: partition.type?.toString(16) }))).toEqual(
        sfdisk.partitions.map((partition) => ({ number: number(partition.node), start: partition.start, size: partition.size, type: partition.type })),
      );
      return;
    }
    default:
      throw new Error(`no comparison for sfdisk label ${sfdisk.label}`);
  }
}

// ---------------------------------------------------------------------------------------
// Fixtures

describe('raw fixtures against the tools that wrote them', () => {
  for (const fixture of rawFixtures) {
    const sfdisk = fixture.sidecar('sfdisk.json');
    if (sfdisk === undefined) continue;
    it(`${fixture.name}: every partition agrees with sfdisk --json`, async () => {
      const { details, warnings } = await rawDetails(fixture.bytes());
      expectAgreesWithSfdisk(details.partitionTable, (JSON.parse(sfdisk) as { partitiontable: SfdiskTable }).partitiontable);
      expect(warnings).toEqual([]);
    });
  }

  it('gpt.img: names, types and attributes agree with sgdisk -p and -i', async () => {
    const fixture = fixtureNamed('gpt.img');
    const text = fixture.sidecar('sgdisk.txt') as string;
    const gpt = table((await rawDetails(fixture.bytes())).details, 'gpt');
    expect(gpt.diskGuid).toBe(/Disk identifier \(GUID\): (\S+)/.exec(text)?.[1]?.toLowerCase());
    expect(gpt.numberOfPartitionEntries).toBe(Number(/holds up to (\d+) entries/.exec(text)?.[1]));
    expect(gpt.partitionEntryLba).toBe(Number(/table begins at sector (\d+)/.exec(text)?.[1]));
    expect(gpt.firstUsableLba).toBe(Number(/First usable sector is (\d+)/.exec(text)?.[1]));
    expect(gpt.lastUsableLba).toBe(Number(/last usable sector is (\d+)/.exec(text)?.[1]));
    const blocks = text.split('Partition GUID code: ').slice(1);
    expect(gpt.partitions).toHaveLength(blocks.length);
    for (const [index, block] of blocks.entries()) {
      const partition = gpt.partitions[index];
      expect(partition?.typeGuid).toBe(/^(\S+)/.exec(block)?.[1]?.toLowerCase());
      expect(partition?.uniqueGuid).toBe(/Partition unique GUID: (\S+)/.exec(block)?.[1]?.toLowerCase());
      expect(partition?.firstLba).toBe(Number(/First sector: (\d+)/.exec(block)?.[1]));
      expect(partition?.lastLba).toBe(Number(/Last sector: (\d+)/.exec(block)?.[1]));
      expect(partition?.attributes).toBe(`0x${/Attribute flags: (\S+)/.exec(block)?.[1]?.toLowerCase()}`);
      expect(partition?.name).toBe(/Partition name: '(.*)'/.exec(block)?.[1]);
    }
    // Hand-checked: the names of the attribute bits set by the recipe.
    expect(gpt.partitions.map((partition) => partition.attributeNames)).toEqual([
      ['required-partition'],
      ['legacy-bios-bootable'],
      [],
      ['hidden', 'no-drive-letter'],
    ]);
    expect(gpt.partitions.map((partition) => partition.typeName)).toEqual(['EFI System', 'Linux filesystem', 'Linux swap', 'Microsoft basic data']);
    expect(gpt.headerCrcValid).toBe(true);
    expect(gpt.partitionEntryArrayCrcValid).toBe(true);
    expect(gpt.backup).toEqual({ lba: 16383, status: 'valid', headerCrcValid: true, partitionEntryArrayCrcValid: true, matchesPrimary: true, atEndOfDisk: true });
    expect(gpt.mbr?.gptProtection).toBe('protective');
    // UEFI 2.10 5.2.3: the protective entry starts at LBA 1 with start CHS 00 02 00.
    expect(gpt.mbr?.partitions[0]).toMatchObject({ slot: 1, type: 0xee, startLba: 1, sectorCount: 16383, startChs: { bytes: [0, 2, 0] } });
  });

  it('gpt-hybrid.img: the hybrid MBR agrees with fdisk -t dos', async () => {
    const fixture = fixtureNamed('gpt-hybrid.img');
    const lines = (fixture.sidecar('mbr.txt') as string).split('\n').filter((line) => line.startsWith('gpt-hybrid.img'));
    const gpt = table((await rawDetails(fixture.bytes())).details, 'gpt');
    expect(gpt.mbr?.gptProtection).toBe('hybrid');
    expect(gpt.mbr?.partitions.map((partition) => [partition.number, partition.startLba, partition.sectorCount, partition.type.toString(16)])).toEqual(
      lines.map((line) => {
        const [node, start, , sectors, , id] = line.split(/\s+/) as [string, string, string, string, string, string];
        return [Number(node.slice('gpt-hybrid.img'.length)), Number(start), Number(sectors), id];
      }),
    );
  });

  it('gpt-4k.img: a 4096-byte-sector GPT agrees with fdisk -b 4096', async () => {
    const fixture = fixtureNamed('gpt-4k.img');
    const text = fixture.sidecar('fdisk.txt') as string;
    const gpt = table((await rawDetails(fixture.bytes())).details, 'gpt');
    expect(gpt.sectorSize).toBe(4096);
    expect(gpt.diskGuid).toBe(/Disk identifier: (\S+)/.exec(text)?.[1]?.toLowerCase());
    const rows = text.split('\n').filter((line) => line.startsWith('gpt-4k.img'));
    expect(gpt.partitions.map((partition) => [partition.number, partition.firstLba, partition.lastLba, partition.size])).toEqual(
      rows.map((row) => {
        const [node, start, end, sectors] = row.split(/\s+/) as [string, string, string, string];
        return [Number(node.slice('gpt-4k.img'.length)), Number(start), Number(end), Number(sectors) * 4096];
      }),
    );
    expect(gpt.backup.status).toBe('valid');
    expect(gpt.backup.lba).toBe(2047);
    expect(gpt.mbr?.sectorSize).toBe(4096);
  });

  it('bsd.img: the nested disklabel agrees with fdisk', async () => {
    const fixture = fixtureNamed('bsd.img');
    const mbr = table((await rawDetails(fixture.bytes())).details, 'mbr');
    const label = mbr.partitions[0]?.bsdDisklabel;
    expect(label).toMatchObject({ scheme: 'bsd', labelOffset: 35 * 512, byteOrder: 'little-endian', checksumValid: true });
    const rows = (fixture.sidecar('fdisk.txt') as string).split('\n').filter((line) => /^[a-p] /.test(line));
    expect(label?.partitions.map((partition) => [partition.letter, partition.startSector, partition.sectorCount, partition.typeName])).toEqual(
      rows.map((row) => {
        const [letter, start, , sectors, , type] = row.split(/\s+/) as [string, string, string, string, string, string];
        return [letter, Number(start), Number(sectors), type];
      }),
    );
  });

  for (const [name, scheme] of [
    ['atari.img', 'atari'],
    ['apm.img', 'apm'],
  ] as const) {
    it(`${name}: agrees with parted -m`, async () => {
      const fixture = fixtureNamed(name);
      const rows = (fixture.sidecar('parted.txt') as string).split('\n').filter((line) => /^\d+:/.test(line));
      const found = table((await rawDetails(fixture.bytes())).details, scheme);
      // parted leaves out the Apple map's free-space entries.
      const partitions = found.partitions.filter((partition) => !('type' in partition) || partition.type !== 'Apple_Free');
      expect(
        partitions.map((partition) => {
          const start = 'startBlock' in partition ? partition.startBlock : partition.startSector;
          const count = 'blockCount' in partition ? partition.blockCount : partition.sectorCount;
          return [start, start + count - 1, count];
        }),
      ).toEqual(
        rows.map((row) => {
          const [, start, end, size] = row.split(':') as [string, string, string, string];
          return [Number.parseInt(start, 10), Number.parseInt(end, 10), Number.parseInt(size, 10)];
        }),
      );
    });
  }

  it('file systems at sector 0 are not read as an MBR (OpenStack bug 2079850)', async () => {
    // Values set by scripts/fixtures/raw.sh.
    const expected: Record<string, Partial<RawDetails['bootSector']>> = {
      'fat16.img': { filesystem: 'fat', fatType: 'fat16', label: 'FAT16DISK', serialNumber: '0x1234abcd' },
      'fat32.img': { filesystem: 'fat', fatType: 'fat32', label: 'FAT32DISK', serialNumber: '0x5678ef01' },
      'ntfs.img': { filesystem: 'ntfs', oemName: 'NTFS' },
      'exfat.img': { filesystem: 'exfat', oemName: 'EXFAT', bytesPerSector: 512 },
    };
    for (const [name, bootSector] of Object.entries(expected)) {
      const fixture = fixtureNamed(name);
      const bytes = fixture.bytes();
      expect([bytes[510], bytes[511]], name).toEqual([0x55, 0xaa]);
      const { details } = await rawDetails(bytes);
      expect(details.partitionTable, name).toBeUndefined();
      expect(details.filesystem, name).toBe(bootSector?.filesystem);
      expect(details.bootSector, name).toMatchObject(bootSector as object);
    }
  });

  it('a disk with no partition table, and one of 1000 bytes', async () => {
    for (const name of ['empty.img', 'odd-size.img']) {
      const { details, virtualSize } = await rawDetails(fixtureNamed(name).bytes());
      expect(details.partitionTable).toBeUndefined();
      expect(details.filesystem).toBeUndefined();
      expect(virtualSize).toBe(name === 'empty.img' ? 1048576 : 1000);
    }
  });

  it('mbr-logical-compact.img: the chain of extended boot records, hand-checked', async () => {
    const mbr = table((await rawDetails(fixtureNamed('mbr-logical-compact.img').bytes())).details, 'mbr');
    const extended = mbr.partitions.find((partition) => partition.extended);
    expect(extended?.chainComplete).toBe(true);
    expect(extended?.logicalPartitions?.map((partition) => [partition.number, partition.extendedBootRecordLba, partition.startLba, partition.sectorCount, partition.type])).toEqual([
      [5, 16, 18, 8, 0x83],
      // sfdisk leaves a free sector between logical partitions: the EBRs are at 27 and 37 (checked with xxd).
      [6, 27, 28, 8, 0x82],
      [7, 37, 38, 24, 0x07],
    ]);
    expect(mbr.statusBytes).toEqual([0x80, 0, 0, 0]);
    expect(mbr.partitions[0]?.bootable).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------
// GPT damage

describe('GPT damage is detected (UEFI 2.10 5.3.2)', () => {
  const pristine = () => fixtureNamed('gpt.img').bytes().slice();
  const setU32 = (bytes: Uint8Array, offset: number, value: number) => new DataView(bytes.buffer, bytes.byteOffset).setUint32(offset, value, true);
  const resealHeader = (bytes: Uint8Array, at: number) => {
    setU32(bytes, at + 16, 0);
    setU32(bytes, at + 16, crc32(bytes.subarray(at, at + 92)));
  };

  it('a wrong primary header CRC: partitions come from the backup', async () => {
    const bytes = pristine();
    bytes[512 + 16] = (bytes[512 + 16] as number) ^ 0xff;
    const { details, warnings } = await rawDetails(bytes);
    const gpt = table(details, 'gpt');
    expect(gpt.source).toBe('backup');
    expect(gpt.currentLba).toBe(16383);
    expect(gpt.partitions).toHaveLength(4);
    expect(warnings).toContain('the primary GPT header CRC does not match');
  });

  it('a damaged entry array: its CRC is reported wrong', async () => {
    const bytes = pristine();
    bytes[1024 + 56] = 0x41; // a letter in entry 1's name
    const { details, warnings } = await rawDetails(bytes);
    const gpt = table(details, 'gpt');
    expect(gpt.headerCrcValid).toBe(true);
    expect(gpt.partitionEntryArrayCrcValid).toBe(false);
    expect(gpt.backup.matchesPrimary).toBe(true);
    expect(warnings).toContain('the primary GPT partition entry array CRC does not match');
  });

  it('a damaged backup header and backup entries', async () => {
    const header = pristine();
    header[header.byteLength - 512 + 20] = 1; // the reserved field, covered by the CRC
    const gptHeader = table((await rawDetails(header)).details, 'gpt');
    expect(gptHeader.backup).toMatchObject({ status: 'corrupt', headerCrcValid: false });
    const entries = pristine();
    entries[entries.byteLength - 512 - 32 * 512 + 60] = 0x42;
    const gptEntries = table((await rawDetails(entries)).details, 'gpt');
    expect(gptEntries.backup).toMatchObject({ status: 'corrupt', headerCrcValid: true, partitionEntryArrayCrcValid: false });
  });

  it('a truncated disk: the backup is beyond the end', async () => {
    const bytes = pristine().subarray(0, 6 * 1024 * 1024);
    const { details, warnings } = await rawDetails(bytes);
    expect(table(details, 'gpt').backup).toMatchObject({ status: 'beyond-end', atEndOfDisk: false });
    expect(warnings).toContain("the backup GPT header's LBA 16383 is beyond the end of the disk");
  });

  it('a wiped primary with a protective MBR: the backup at the last LBA is used', async () => {
    const bytes = pristine();
    bytes.fill(0, 512, 1024);
    const gpt = table((await rawDetails(bytes)).details, 'gpt');
    expect(gpt.source).toBe('backup');
    expect(gpt.partitions.map((partition) => partition.name)).toEqual(['EFI system partition', 'Linux root', 'swap', 'Données Windows']);
  });

  it('a header whose CRC vouches for impossible values is rejected with the field named', async () => {
    const tooMany = pristine();
    setU32(tooMany, 512 + 80, 100_000);
    resealHeader(tooMany, 512);
    await rejects(tooMany, 'LIMIT_EXCEEDED', 'gpt primary header.numberOfPartitionEntries');

    const oddSize = pristine();
    setU32(oddSize, 512 + 84, 100);
    resealHeader(oddSize, 512);
    await rejects(oddSize, 'CORRUPT', 'gpt primary header.sizeOfPartitionEntry');
  });

  it('the same damaged header with a wrong CRC is only a warning', async () => {
    const bytes = pristine();
    setU32(bytes, 512 + 80, 100_000);
    const { details, warnings } = await rawDetails(bytes);
    expect(table(details, 'gpt').source).toBe('backup');
    expect(warnings.some((warning) => warning.startsWith('the primary GPT header has a bad CRC and impossible values'))).toBe(true);
  });
});

describe('what a stream keeps of a raw disk', () => {
  it('reads every structure in the first 32 KiB and the last 20 KiB from a one-byte stream', async () => {
    expect(RAW_HEAD_BYTES).toBe(32768);
    const bytes = fixtureNamed('gpt.img').bytes();
    const { details } = await rawDetails(makeSource('one-byte-chunks', bytes));
    expect(table(details, 'gpt').backup.status).toBe('valid');
  });
});

// ---------------------------------------------------------------------------------------
// Differential: sfdisk and sgdisk at test time

const hasSfdisk = spawnSync('sfdisk', ['--version']).status === 0;
const hasSgdisk = spawnSync('sgdisk', ['--version']).status === 0;

describe.skipIf(!hasSfdisk || !hasSgdisk)(`raw disks made by sfdisk and sgdisk at test time${hasSfdisk && hasSgdisk ? '' : ' (skipped: sfdisk or sgdisk is not installed; apt-get install fdisk gdisk)'}`, () => {
  const { work } = scratch('raw');

  const make = (name: string, size: number) => {
    const path = join(work, name);
    writeFileSync(path, new Uint8Array(0));
    spawnSync('truncate', ['-s', String(size), path]);
    return path;
  };
  const sfdiskScript = (path: string, script: string) => {
    const result = spawnSync('sfdisk', ['-q', path], { input: script, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(result.stderr);
  };
  const sfdiskJson = (path: string) => (JSON.parse(spawnSync('sfdisk', ['--json', path], { encoding: 'utf8' }).stdout) as { partitiontable: SfdiskTable }).partitiontable;

  const scripts: Array<[name: string, size: number, script: string]> = [
    ['dos-four.img', 16 << 20, 'label: dos\nlabel-id: 0x0a0b0c0d\nsize=2M, type=c, bootable\nsize=2M, type=83\nsize=2M, type=82\ntype=7\n'],
    ['dos-extended.img', 16 << 20, 'label: dos\nsize=1M, type=83\ntype=5\nsize=1M, type=83\nsize=1M, type=83\nsize=1M, type=82\ntype=8e\n'],
    ['dos-extended-lba.img', 16 << 20, 'label: dos\ntype=f\nsize=2M, type=b\ntype=83\n'],
    ['gpt-sfdisk.img', 16 << 20, 'label: gpt\nsize=1M, type=U, name="esp"\nsize=4M, type=L, name="root", attrs="LegacyBIOSBootable"\ntype=S, name="swap"\n'],
    ['gpt-many.img', 16 << 20, `label: gpt\ntable-length: 256\n${Array.from({ length: 20 }, (_, index) => `size=100K, type=L, name="p${index + 1}"`).join('\n')}\n`],
    ['sun-sfdisk.img', 32 << 20, 'label: sun\nsize=4M, type=83\nsize=4M, type=82\n'],
    ['sgi-sfdisk.img', 32 << 20, 'label: sgi\nsize=4M, type=83\nsize=4M, type=82\n'],
  ];
  for (const [name, size, script] of scripts) {
    it(`${name}: agrees with sfdisk --json`, async () => {
      const path = make(name, size);
      sfdiskScript(path, script);
      const json = sfdiskJson(path);
      const { details } = await rawDetails(loadBytes(path));
      expectAgreesWithSfdisk(details.partitionTable, json);
    });
  }

  it('sgdisk: 8 partitions with names, types and attributes agree with sgdisk -i', async () => {
    const path = make('sgdisk.img', 32 << 20);
    const codes = ['ef00', '8300', '8200', '0700', 'a503', 'af00', '8e00', 'fd00'];
    const args = codes.flatMap((code, index) => [`-n`, `${index + 1}:0:+1M`, '-t', `${index + 1}:${code}`, '-c', `${index + 1}:part ${index + 1} ✓`, '-A', `${index + 1}:set:${index % 3}`]);
    expect(spawnSync('sgdisk', [...args, path]).status).toBe(0);
    const gpt = table((await rawDetails(loadBytes(path))).details, 'gpt');
    expect(gpt.partitions).toHaveLength(codes.length);
    for (const partition of gpt.partitions) {
      const text = spawnSync('sgdisk', ['-i', String(partition.number), path], { encoding: 'utf8' }).stdout;
      expect(partition.typeGuid).toBe(/Partition GUID code: (\S+)/.exec(text)?.[1]?.toLowerCase());
      expect(partition.uniqueGuid).toBe(/Partition unique GUID: (\S+)/.exec(text)?.[1]?.toLowerCase());
      expect(partition.firstLba).toBe(Number(/First sector: (\d+)/.exec(text)?.[1]));
      expect(partition.lastLba).toBe(Number(/Last sector: (\d+)/.exec(text)?.[1]));
      expect(partition.attributes).toBe(`0x${/Attribute flags: (\S+)/.exec(text)?.[1]?.toLowerCase()}`);
      expect(partition.name).toBe(/Partition name: '(.*)'/.exec(text)?.[1]);
    }
  });

  it('a CRC damaged on disk is found, as sgdisk -v finds it; sgdisk -z and -Z are seen', async () => {
    const path = make('damaged.img', 8 << 20);
    expect(spawnSync('sgdisk', ['-n', '1:0:0', path]).status).toBe(0);
    const bytes = loadBytes(path).slice();
    bytes[1024] = (bytes[1024] as number) ^ 1;
    const gpt = table((await rawDetails(bytes)).details, 'gpt');
    expect(gpt.partitionEntryArrayCrcValid).toBe(false);
    // sgdisk agrees that the main table is damaged.
    writeFileSync(path, bytes);
    expect(spawnSync('sgdisk', ['-v', path], { encoding: 'utf8' }).stdout).toMatch(/CRC|damaged|corrupt/i);
    // -z destroys the GPT structures but keeps the protective MBR; -Z destroys both.
    expect(spawnSync('sgdisk', ['-z', path]).status).toBe(0);
    const zapped = await rawDetails(loadBytes(path));
    expect(table(zapped.details, 'mbr').gptProtection).toBe('protective');
    expect(zapped.warnings).toContain('the MBR has a GPT protective partition but there is no GPT header, neither at LBA 1 nor at the end');
    expect(spawnSync('sgdisk', ['-Z', path]).status).toBe(0);
    expect((await rawDetails(loadBytes(path))).details.partitionTable).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------
// Real-world images

const realWorld = realWorldImages().filter((image) => /^(raw\/.*\.(raw|img)(\.gz)?|fragments\/node-(gpt|mbr|apm)__.*)$/.test(image.file));

describe.skipIf(realWorldRoot() === undefined)(`real-world raw disks and fragments${realWorldRoot() === undefined ? ` (skipped: ${realWorldMissing})` : ''}`, () => {
  it('finds them', () => {
    expect(realWorld.length).toBeGreaterThanOrEqual(15);
  });

  for (const image of realWorld) {
    it(`${image.file}: raw, the exact size, the same from a stream`, async () => {
      const bytes = loadBytes(image.path);
      const info = await run(bytes);
      expect(info.format).toBe('raw');
      expect(info.virtualSize).toBe(bytes.byteLength);
      if ('json' in image.qemu) expectAgreesWithQemuInfo(info, image.qemu.json, { name: image.file, length: bytes.byteLength });
      const streamed = await run(makeSource('node-readable', bytes));
      // Only the chains of extended boot records lie beyond what a stream keeps.
      const hasChain = JSON.stringify(info.details).includes('"extended":true');
      if (!hasChain) expect(comparable(streamed)).toEqual(comparable(info));
    });
  }

  const details = async (file: string) => (await rawDetails(loadBytes(join(realWorldRoot() as string, file)))).details;

  it('etcher-gpt-test: the GPT agrees with the expected partitions JSON', async () => {
    const expected = JSON.parse(readFileSync(join(realWorldRoot() as string, 'raw/etcher-sdk__etcher-gpt-test-partitions.json'), 'utf8')) as Array<{ index: number; offset: number; size: number; type: string; guid: string; name: string }>;
    const gpt = table(await details('raw/etcher-sdk__etcher-gpt-test.img.gz'), 'gpt');
    expect(gpt.partitions.map((partition) => ({ index: partition.number, offset: partition.offset, size: partition.size, type: partition.typeGuid, guid: partition.uniqueGuid, name: partition.name }))).toEqual(
      expected.map((partition) => ({ ...partition, type: partition.type.toLowerCase(), guid: partition.guid.toLowerCase() })),
    );
    expect(gpt.backup.status).toBe('valid');
    expect(gpt.mbr?.gptProtection).toBe('protective');
    // file(1): the protective entry claims 4294967295 sectors although the disk has 262144.
    expect(gpt.mbr?.partitions[0]?.sectorCount).toBe(4294967295);
  });

  it('etcher-test: the MBR agrees with the expected partitions JSON', async () => {
    const expected = JSON.parse(readFileSync(join(realWorldRoot() as string, 'raw/etcher-sdk__etcher-test-partitions.json'), 'utf8')) as Array<{ index: number; offset: number; size: number; type: number }>;
    const mbr = table(await details('raw/etcher-sdk__etcher-test.img.gz'), 'mbr');
    expect(mbr.partitions.map((partition) => ({ index: partition.number, offset: partition.offset, size: partition.size, type: partition.type }))).toEqual(expected);
    expect(mbr.diskSignature).toBe('0x416e1470');
  });

  it('dfvfs images: primary and logical partitions as file(1) and the manifest describe them', async () => {
    const tsk = table(await details('raw/dfvfs__tsk_volume_system.raw'), 'mbr');
    expect(allMbrPartitions(tsk).map((partition) => [partition.number, partition.type, partition.startLba, partition.sectorCount])).toEqual([
      [1, 0x83, 1, 350],
      [2, 0x05, 351, 2529],
      [5, 0x83, 352, 2528],
    ]);
    const mbr = table(await details('raw/dfvfs__mbr.raw.gz'), 'mbr');
    expect(allMbrPartitions(mbr).map((partition) => [partition.number, partition.type, partition.startLba])).toEqual([
      [1, 0x83, 1],
      [2, 0x05, 130],
      [5, 0x83, 131],
    ]);
  });

  it('node-gpt, node-mbr and node-apm fragments read as file(1) describes them', async () => {
    const exfat = table(await details('fragments/node-gpt__gpt-primary-exfat.bin'), 'gpt');
    expect(exfat.mbr?.partitions[0]).toMatchObject({ type: 0xee, startLba: 1, sectorCount: 60751871, startChs: { cylinder: 1023, head: 254, sector: 63 } });
    expect(exfat.partitions.map((partition) => partition.typeName)).toEqual(['EFI System', 'Microsoft basic data']);
    expect(exfat.backup.status).toBe('beyond-end');

    const raspberry = table(await details('fragments/node-gpt__raspberry.bin'), 'mbr');
    expect(raspberry.partitions.map((partition) => [partition.type, partition.startLba, partition.sectorCount, partition.startChs.cylinder, partition.startChs.head, partition.startChs.sector])).toEqual([
      [0x0c, 8192, 114688, 0, 130, 3],
      [0x83, 122880, 31152128, 0x380, 0, 1],
    ]);

    const hybrid = table(await details('fragments/node-mbr__bootcamp-hybrid.bin'), 'mbr');
    expect(hybrid.gptProtection).toBe('hybrid');
    expect(hybrid.diskSignature).toBe('0x8a6d13d8');

    const diskUtility = table(await details('fragments/node-apm__mac-os-disk-utility.bin'), 'apm');
    expect(diskUtility.blockSize).toBe(512);
    expect(diskUtility.blockCount).toBe(62333952);
    expect(diskUtility.partitions.map((partition) => [partition.type, partition.startBlock, partition.blockCount])).toEqual([
      ['Apple_partition_map', 1, 63],
      ['Apple_Free', 64, 262144],
      ['Apple_HFS', 262208, 19550904],
      ['Apple_HFSX', 19813112, 32745368],
      ['DOS_FAT_32', 52558480, 262144],
      ['Windows_NTFS', 52820624, 9513328],
    ]);
    const dvd = table(await details('fragments/node-apm__mac-osx-snow-leopard.bin'), 'apm');
    expect(dvd).toMatchObject({ blockSize: 2048, blockCount: 3794611, entryStride: 2048 });
    expect(dvd.partitions.map((partition) => partition.type)).toEqual(['Apple_partition_map', 'Apple_Driver_ATAPI', 'Apple_HFS', 'Apple_Free']);

    // A GPT header copied out of its disk (at byte 0, or a backup whose MyLBA is elsewhere) is no partition table.
    for (const file of ['fragments/node-gpt__bootcamp.bin', 'fragments/node-gpt__bootcamp-backup.bin', 'fragments/node-gpt__gpt-backup-exfat.bin']) {
      expect((await details(file)).partitionTable, file).toBeUndefined();
    }
  });
});
