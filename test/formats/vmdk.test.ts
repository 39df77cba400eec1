import { rejectionOf } from '../helpers/errors.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { introspect, IntrospectionError, type ImageInfo } from '../../src/index.js';
import { introspectFile } from '../../src/node.js';
import { looksLikeDescriptor } from '../../formats/vmdk.js';
import { fixtures, fixtureBytes } from '../helpers/fixtures.js';
import { expectAgreesWithQemuInfo, imageFile } from '../conformance/index.js';
import { hasQemuImg, qemuImg, qemuInfo, qemuMissing } from '../helpers/qemu.js';
import { chunksOfSizes } from '../helpers/sources.js';
import { patternedData } from '../helpers/format-kit.js';

const vmdkFixtures = fixtures('vmdk');

describe('vmdk details read from the bytes', () => {
  const byName = (name: string) => {
    const fixture = vmdkFixtures.find((candidate) => candidate.name === name);
    if (!fixture) throw new Error(`no fixture ${name}`);
    return fixture.bytes();
  };

  it('reads the adapter type, hardware version and geometry of each adapter', async () => {
    for (const adapter of ['ide', 'buslogic', 'lsilogic', 'legacyESX']) {
      const info = (await introspect(byName(`sparse-${adapter}.vmdk`))) as ImageInfo & { format: 'vmdk' };
      expect(info.format).toBe('vmdk');
      if (info.format !== 'vmdk') continue;
      expect(info.details.adapterType).toBe(adapter);
      expect(info.details.hwVersion).toBe('4');
      // qemu writes 16 heads for ide and 255 for the SCSI adapters (block/vmdk.c vmdk_co_do_create).
      expect(info.details.ddb['geometry.heads']).toBe(adapter === 'ide' ? '16' : '255');
      expect(info.details.layout).toBe('sparse');
      expect(info.details.capacity).toBe(131072);
      expect(info.details.descriptorLocation).toEqual({ offset: 512, length: 10240 });
    }
  });

  it('reads a streamOptimized header: version 3, compressed, markers', async () => {
    const info = await introspect(byName('stream.vmdk'));
    if (info.format !== 'vmdk') throw new Error(info.format);
    expect(info.details.createType).toBe('streamOptimized');
    expect(info.details.headerVersion).toBe(3);
    expect(info.details.compressed).toBe(true);
    // bit 0 newline test, bit 1 redundant GD, bit 16 compressed grains, bit 17 markers
    expect(info.details.flags).toBe(0x30003);
  });

  it('reads the parent of a delta disk', async () => {
    const info = await introspect(byName('sparse-child.vmdk'));
    if (info.format !== 'vmdk') throw new Error(info.format);
    expect(info.details.parentFileNameHint).toBe('sparse-base.vmdk');
    expect(info.details.parentCid).not.toBe(0xffffffff);
  });

  it('reads hwversion 6 and zeroed-grain headers (version 2)', async () => {
    const info = await introspect(byName('sparse-hw6-zeroed.vmdk'));
    if (info.format !== 'vmdk') throw new Error(info.format);
    expect(info.details.hwVersion).toBe('6');
    expect(info.details.headerVersion).toBe(2);
    expect((info.details.flags ?? 0) & 4).toBe(4);
  });

  it('reads descriptor files with LF and CRLF line endings alike', async () => {
    const lf = await introspect(byName('flat.vmdk'));
    const crlf = await introspect(byName('flat-crlf.vmdk'));
    if (lf.format !== 'vmdk' || crlf.format !== 'vmdk') throw new Error('not vmdk');
    expect(lf.details.layout).toBe('descriptor');
    expect(lf.details.extents).toEqual([{ access: 'RW', sectors: 2048, type: 'FLAT', filename: 'flat-flat.vmdk', offset: 0 }]);
    expect(crlf.details.extents[0]?.filename).toBe('flat-crlf-flat.vmdk');
    expect(crlf.virtualSize).toBe(lf.virtualSize);
  });

  it('reads a hand-made COWD (ESX vmfsSparse) header', async () => {
    // Layout from qemu block/vmdk.c VMDK3Header: magic, version, flags, disk_sectors, granularity, ...
    const header = new Uint8Array(2048);
    const view = new DataView(header.buffer);
    header.set([0x43, 0x4f, 0x57, 0x44]); // "COWD"
    view.setUint32(4, 1, true);
    view.setUint32(8, 3, true);
    view.setUint32(12, 204800, true); // 100 MiB
    view.setUint32(16, 16, true); // 8 KiB grains
    view.setUint32(20, 4, true);
    const info = await introspect(header);
    if (info.format !== 'vmdk') throw new Error(info.format);
    expect(info.virtualSize).toBe(204800 * 512);
    expect(info.details.layout).toBe('cowd');
    expect(info.details.grainSize).toBe(8192);
  });
});

describe('vmdk text descriptor probe (qemu block/vmdk.c vmdk_probe)', () => {
  const probe = (text: string) => looksLikeDescriptor(new TextEncoder().encode(text), true);

  it('accepts version=1..3 after comments and lines of spaces', () => {
    expect(probe('# Disk DescriptorFile\nversion=1\n')).toBe(true);
    expect(probe('   \nversion=3\n')).toBe(true);
    expect(probe('#a\r\n   \r\nversion=2\r\n')).toBe(true);
  });

  it('rejects what qemu rejects', () => {
    expect(probe('\n\n# comment\n   \nversion=2\n')).toBe(false); // a bare newline stops the scan
    expect(probe('\uFEFF# Disk DescriptorFile\nversion=1\n')).toBe(false); // a BOM defeats it
    expect(probe('version=4\n')).toBe(false);
    expect(probe('version = 1\n')).toBe(false);
    expect(probe('RW 2048 FLAT "x" 0\n')).toBe(false);
  });

  it('finds the version line after long comments, beyond qemu\'s 512 bytes', async () => {
    const comments = '#'.padEnd(200_000, 'x') + '\n';
    const text = `${comments}version=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 2048 FLAT "x-flat.vmdk" 0\n`;
    const bytes = new TextEncoder().encode(text);
    for (const size of [1, 7, 4096, 65536]) {
      const info = await introspect(chunksOfSizes(bytes, [size]));
      expect(info.format).toBe('vmdk');
      expect(info.virtualSize).toBe(2048 * 512);
    }
  });
});

describe('vmdk errors', () => {
  it('rejects a truncated sparse header with TRUNCATED naming the field', async () => {
    const bytes = fixtureBytes('vmdk', 'sparse-ide.vmdk');
    const error = await introspect(bytes.subarray(0, 300)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IntrospectionError);
    expect((error as IntrospectionError).code).toBe('TRUNCATED');
    expect((error as IntrospectionError).message).toMatch(/^vmdk: sparse header: /);
  });

  it('rejects a zero grain size with CORRUPT naming the field', async () => {
    const bytes = fixtureBytes('vmdk', 'sparse-ide.vmdk');
    new DataView(bytes.buffer).setBigUint64(20, 0n, true);
    const error = await rejectionOf(introspect(bytes));
    expect(error.code).toBe('CORRUPT');
    expect(error.format).toBe('vmdk');
    expect(error.field).toBe('sparse header.grainSize');
  });

  it('rejects a descriptor size over 1 MiB with LIMIT_EXCEEDED', async () => {
    const bytes = fixtureBytes('vmdk', 'sparse-ide.vmdk');
    new DataView(bytes.buffer).setBigUint64(36, 4096n, true); // 2 MiB
    const error = await rejectionOf(introspect(bytes));
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.field).toBe('sparse header.descriptorSize');
  });

  it('rejects an unknown header version with UNSUPPORTED', async () => {
    const bytes = fixtureBytes('vmdk', 'sparse-ide.vmdk');
    new DataView(bytes.buffer).setUint32(4, 4, true);
    const error = await rejectionOf(introspect(bytes));
    expect(error.code).toBe('UNSUPPORTED');
  });
});

describe.skipIf(!hasQemuImg)(`vmdk against qemu-img at test time${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'image-introspect-vmdk-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const subformats = ['monolithicSparse', 'monolithicFlat', 'twoGbMaxExtentSparse', 'twoGbMaxExtentFlat', 'streamOptimized'];
  const adapters = ['ide', 'buslogic', 'lsilogic', 'legacyESX'];
  const cases: Array<{ name: string; options: string; size: string; adapter: string }> = [];
  for (const subformat of subformats) {
    for (const adapter of adapters) {
      // Flat subformats allocate their size on disk; keep those small.
      const size = subformat.includes('Flat') ? '3M' : subformat === 'twoGbMaxExtentSparse' ? '5G' : '1G';
      cases.push({ name: `${subformat}-${adapter}`, options: `subformat=${subformat},adapter_type=${adapter}`, size, adapter });
    }
  }
  cases.push({ name: 'hw6', options: 'subformat=monolithicSparse,hwversion=6', size: '100M', adapter: 'ide' });
  cases.push({ name: 'compat6', options: 'subformat=monolithicSparse,compat6=on', size: '100M', adapter: 'ide' });
  cases.push({ name: 'zeroed', options: 'subformat=monolithicSparse,zeroed_grain=on', size: '100M', adapter: 'ide' });
  cases.push({ name: 'odd-size', options: 'subformat=monolithicSparse', size: '1000000', adapter: 'ide' });
  cases.push({ name: 'toolsversion', options: 'subformat=streamOptimized,toolsversion=12345', size: '10M', adapter: 'ide' });

  for (const testCase of cases) {
    it(`${testCase.name}: format, size, createType, cid, adapter and extents agree`, async () => {
      const path = join(work, `${testCase.name}.vmdk`);
      qemuImg(['create', '-q', '-f', 'vmdk', '-o', testCase.options, path, testCase.size]);
      const info = await introspectFile(path);
      expectAgreesWithQemuInfo(info, qemuInfo(path), imageFile(path));
      if (info.format !== 'vmdk') return;
      expect(info.details.adapterType).toBe(testCase.adapter);
    });
  }

  it('a delta disk: backing file and parent CID agree', async () => {
    const base = join(work, 'base.vmdk');
    const child = join(work, 'child.vmdk');
    qemuImg(['create', '-q', '-f', 'vmdk', base, '64M']);
    qemuImg(['create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', child]);
    const info = await introspectFile(child);
    expectAgreesWithQemuInfo(info, qemuInfo(child), imageFile(child));
  });

  it('a converted disk with data, sparse and streamOptimized', async () => {
    const rawPath = join(work, 'data.raw');
    const data = patternedData(3 * 1024 * 1024, 977, (index) => index & 0xff);
    writeFileSync(rawPath, data);
    for (const subformat of ['monolithicSparse', 'streamOptimized']) {
      const path = join(work, `converted-${subformat}.vmdk`);
      qemuImg(['convert', '-q', '-O', 'vmdk', '-o', `subformat=${subformat}`, rawPath, path]);
      expectAgreesWithQemuInfo(await introspectFile(path), qemuInfo(path), imageFile(path));
    }
  });
});
