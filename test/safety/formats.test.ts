/**
 * The checks every format gets: multiple_formats (format gadgets, and no false alarm for
 * hybrid ISOs or a fixed VHD's disk), raw's mbr and gpt checks (no false alarm for FAT), and
 * a verdict for every fixture.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { introspect, type ImageInfo } from '../../src/index.js';
import { type Fixture, fixtureBytes, fixtures, fixturesRoot } from '../helpers/fixtures.js';
import { expectFails, expectPasses, expectSafe } from '../helpers/safety.js';

const allFixtures: Fixture[] = readdirSync(fixturesRoot, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((entry) => fixtures(entry.name).map((fixture) => ({ ...fixture, name: `${entry.name}/${fixture.name}` })));
/** `folder/name` of a committed fixture, as a fresh copy. */
const bytesOf = (path: string) => {
  const [folder, name] = path.split('/') as [string, string];
  return fixtureBytes(folder, name);
};

describe('multiple_formats', () => {
  it('passes every committed fixture: legitimate images are one format', async () => {
    expect(allFixtures.length).toBeGreaterThan(140);
    for (const fixture of allFixtures) {
      const info = await introspect(fixture.bytes()).catch(() => undefined);
      if (info === undefined) continue; // deliberately broken fixtures are rejected, never judged
      const check = info.safety.checks.find((candidate) => candidate.name === 'multiple_formats');
      expect(check?.passed, `${fixture.name}: ${check?.reason}`).toBe(true);
    }
  });

  it('hybrid installer ISOs (an MBR, a GPT or an Apple map in the system area) are one format', async () => {
    for (const name of ['iso/xorriso-hybrid-mbr.iso', 'iso/xorriso-hybrid-gpt.iso', 'iso/xorriso-appended-mbr.iso']) {
      const info = await introspect(bytesOf(name));
      expect(info.format, name).toBe('iso');
      expect(info.matchedFormats, name).toEqual(['iso', 'raw']);
      expectPasses(info, 'multiple_formats');
    }
  });

  it('fails a qcow2 header written into an ISO\'s system area (a format gadget)', async () => {
    const iso = bytesOf('iso/genisoimage-plain.iso');
    iso.set(bytesOf('qcow2/v3-empty.qcow2').subarray(0, 512), 0);
    const outcome = await introspect(iso).catch((error: unknown) => error);
    // Either the qcow2 reading fails (and nothing is reported), or both readings are seen.
    if (outcome instanceof Error) return;
    const info = outcome as ImageInfo;
    expect(info.matchedFormats).toEqual(expect.arrayContaining(['qcow2', 'iso']));
    expectFails(info, 'multiple_formats', /also a valid iso image/);
  });

  it('fails a VMDK descriptor that is also an MBR with a partition (a format gadget)', async () => {
    const sector = new Uint8Array(4096);
    sector.set(new TextEncoder().encode('# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 2048 FLAT "disk-flat.vmdk" 0\n'));
    // One MBR entry: type 0x83, LBA 2048, 2048 sectors; and the signature.
    sector.set([0x00, 0x20, 0x21, 0x00, 0x83, 0x41, 0x02, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00], 446);
    sector.set([0x55, 0xaa], 510);
    const info = await introspect(sector, { vmdkAllowedTypes: ['monolithicFlat'] });
    expect(info.format).toBe('vmdk');
    expectPasses(info, 'descriptor');
    expectFails(info, 'multiple_formats', /also a valid raw disk \(a partition table at the start\)/);
  });

  it('a fixed VHD whose disk holds an MBR is one format; a dynamic VHD with an MBR copy is not', async () => {
    const fixed = allFixtures.find((fixture) => fixture.name.startsWith('vhd/') && fixture.name.includes('fixed'));
    expect(fixed, 'a fixed VHD fixture').toBeDefined();
    const bytes = (fixed as Fixture).bytes().slice();
    bytes.set([0x00, 0x20, 0x21, 0x00, 0x83, 0x41, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00], 446);
    bytes.set([0x55, 0xaa], 510);
    const info = await introspect(bytes);
    expect(info.format).toBe('vhd');
    expect(info.matchedFormats).toEqual(['vhd', 'raw']);
    expectPasses(info, 'multiple_formats');
  });
});

describe('raw: mbr and gpt checks', () => {
  it('passes plain MBR and GPT disks, and FAT/NTFS/exFAT boot sectors (OpenStack\'s false alarm)', async () => {
    for (const name of ['raw/mbr-primary.img', 'raw/mbr-logical.img', 'raw/gpt.img', 'raw/gpt-4k.img', 'raw/fat16.img', 'raw/fat32.img', 'raw/ntfs.img', 'raw/exfat.img']) {
      expectSafe(await introspect(bytesOf(name)));
    }
  });

  it('fails a hybrid MBR, as OpenStack does, unless the caller allows it', async () => {
    const info = await introspect(bytesOf('raw/gpt-hybrid.img'));
    expectFails(info, 'mbr', /invalid extra partitions beside the protective entry/);
    expect((await introspect(bytesOf('raw/gpt-hybrid.img'), { allowChecks: ['mbr'] })).safety.safe).toBe(true);
  });

  it('fails bad boot flags, an empty table, and a misplaced protective entry', async () => {
    const primary = bytesOf('raw/mbr-primary.img');
    primary[446] = 0x42;
    expectFails(await introspect(primary), 'mbr', /partition entry 1 has boot flag 0x42/);

    const empty = bytesOf('raw/mbr-primary.img');
    empty.fill(0, 446, 510);
    const emptyInfo = await introspect(empty);
    expectFails(emptyInfo, 'mbr', /no partitions defined/);

    const gpt = bytesOf('raw/gpt.img');
    new DataView(gpt.buffer).setUint32(446 + 8, 2, true); // protective entry starts at LBA 2
    expectFails(await introspect(gpt), 'mbr', /starts at LBA 2, not 1/);
    const chs = bytesOf('raw/gpt.img');
    chs[446 + 2] = 0x03;
    expectFails(await introspect(chs), 'mbr', /CHS bytes 0x00 0x03 0x00/);
  });

  it('fails a GPT whose CRCs do not check out', async () => {
    const header = bytesOf('raw/gpt.img');
    header[512 + 40] = (header[512 + 40] as number) ^ 1; // first usable LBA, under the header CRC
    expectFails(await introspect(header), 'gpt', /primary GPT header is damaged|header CRC-32/);

    const entries = bytesOf('raw/gpt.img');
    entries[1024 + 56] = (entries[1024 + 56] as number) ^ 0x20; // a name character, under the entry-array CRC
    expectFails(await introspect(entries), 'gpt', /partition entry array CRC-32 does not match|primary GPT header is damaged/);
  });
});

describe('every fixture gets a verdict', () => {
  it('lists every check that applies, passed or not, with reasons for failures', async () => {
    for (const fixture of allFixtures) {
      const info = await introspect(fixture.bytes()).catch(() => undefined);
      if (info === undefined) continue;
      expect(info.safety.checks.length, fixture.name).toBeGreaterThanOrEqual(2);
      expect(info.safety.checks.map((check) => check.name)).toEqual(expect.arrayContaining(['multiple_formats', 'parse_error']));
      for (const check of info.safety.checks) {
        if (!check.passed) expect(check.reason, `${fixture.name} ${check.name}`).toMatch(/\w/);
      }
      expect(info.safety.safe).toBe(info.safety.checks.every((check) => check.passed || check.waived === true));
    }
  });
});

describe('size: a declared size the tables cannot address', () => {
  /** Sets a VHD footer's current size and creator ("win " sizes by current size), with a valid checksum. */
  function patchVhdFooter(bytes: Uint8Array, offset: number, size: bigint): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 512);
    new Uint8Array(bytes.buffer, bytes.byteOffset + offset + 28, 4).set([0x77, 0x69, 0x6e, 0x20]); // "win "
    view.setBigUint64(48, size, false);
    view.setUint32(64, 0, false);
    let sum = 0;
    for (let index = 0; index < 512; index += 1) sum += bytes[offset + index] as number;
    view.setUint32(64, ~sum >>> 0, false);
  }

  it('fails a dynamic VHD whose footer claims 1 TiB over a block table for 64 MiB (OpenStack passes it)', async () => {
    const bytes = bytesOf('vhd/dynamic-64M.vhd');
    patchVhdFooter(bytes, 0, 1n << 40n);
    patchVhdFooter(bytes, bytes.byteLength - 512, 1n << 40n);
    const info = await introspect(bytes);
    expect(info.virtualSize).toBe(2 ** 40);
    expectFails(info, 'size', /address \d+ bytes, but the footer declares 1099511627776/);
    expectSafe(await introspect(bytesOf('vhd/dynamic-64M.vhd')));
  });

  it('fails a VDI whose disk size exceeds its block map, and a Parallels image beyond its BAT', async () => {
    const vdi = bytesOf('vdi/converted.vdi');
    new DataView(vdi.buffer).setBigUint64(368, 1n << 40n, true);
    expectFails(await introspect(vdi), 'size', /less than the declared 1099511627776/);
    const parallels = bytesOf('parallels/default.hds');
    new DataView(parallels.buffer).setBigUint64(36, 1n << 31n, true);
    expectFails(await introspect(parallels), 'size', /less than the declared 1099511627776/);
  });
});
