/**
 * glanceProperties against the references: images made at test time by qemu-img,
 * xorriso, sgdisk and sfdisk; Glance's own format names, format inspector and metadef
 * files (python3-glance, glance-common); libosinfo's osinfo-detect and osinfo-query.
 */
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImageInfo, glanceProperties } from '../../src/index.js';
import type { GlanceProperties } from '../../src/glance/declaration.js';
import { INSTALLER_MEDIA, recogniseInstallerMedia } from '../../src/glance/installer-media.js';
import { CIM_PASD_VALUES, GLANCE_CONTAINER_FORMATS, GLANCE_DISK_FORMATS, VMWARE_GUEST_IDS } from '../../src/glance/vocabulary.js';
import { introspectFile } from '../../src/node.js';
import { realWorldImages, realWorldRoot } from '../helpers/fixtures.js';
import { hasQemuImg, qemuImg, qemuInfo, qemuMissing } from '../helpers/qemu.js';
import {
  type MetadefProperty,
  elToritoPlatforms,
  glanceFormatOptions,
  glanceImageMetadefs,
  glanceInspectorFormats,
  glanceMissing,
  hasTool,
  makeIso,
  osinfoArchitectures,
  osinfoDetect,
  osinfoMissing,
  osinfoOses,
  osinfoShortIdsNamed,
  run,
  xorrisoMissing,
} from './oracles.js';

const GIB = 1024 ** 3;
const dir = mkdtempSync(join(tmpdir(), 'glance-properties-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let metadefs: Map<string, MetadefProperty>;
let formatOptions: { disk_formats: string[]; container_formats: string[] };
beforeAll(() => {
  if (glanceMissing) return;
  metadefs = glanceImageMetadefs();
  formatOptions = glanceFormatOptions();
});

/** Every value must be legal: Glance's format lists, a metadef enum, or (checked where made) libosinfo's vocabulary. */
function expectLegal(properties: GlanceProperties): void {
  for (const [key, value] of Object.entries(properties)) {
    if (key === 'disk_format') expect(formatOptions.disk_formats, key).toContain(value);
    else if (key === 'container_format') expect(formatOptions.container_formats, key).toContain(value);
    else if (key === 'min_disk') expect(Number.isSafeInteger(value) && (value as number) >= 0, key).toBe(true);
    else {
      const declared = metadefs.get(key);
      expect(declared, `${key} is a property Glance's metadefs declare`).toBeDefined();
      expect(typeof value, key).toBe('string');
      if (declared?.enum) expect([...declared.enum], `${key}=${value}`).toContain(value);
    }
  }
}

const describeGlance = glanceMissing ? describe.skip : describe;
if (glanceMissing) describe('glanceProperties against Glance', () => it.skip(`skipped: ${glanceMissing}`, () => undefined));

describeGlance('Glance vocabulary', () => {
  it('the disk and container formats are Glance 25.1 defaults, in its order', () => {
    expect([...GLANCE_DISK_FORMATS]).toEqual(formatOptions.disk_formats);
    expect([...GLANCE_CONTAINER_FORMATS]).toEqual(formatOptions.container_formats);
  });

  it('the VMware guest ids and CIM processor values are exactly the metadef enums', () => {
    expect([...VMWARE_GUEST_IDS].sort()).toEqual([...(metadefs.get('vmware_ostype')?.enum ?? [])].sort());
    for (const [tag, values] of Object.entries(CIM_PASD_VALUES)) {
      expect([...values].sort(), tag).toEqual([...(metadefs.get(`CIM_PASD_${tag}`)?.enum ?? [])].sort());
    }
  });
});

const describeQemu = glanceMissing || !hasQemuImg ? describe.skip : describe;
if (!hasQemuImg) describe('glanceProperties of qemu-img images', () => it.skip(`skipped: ${qemuMissing}`, () => undefined));

describeQemu('disk formats: Glance names, min_disk, and Glance inspector agreement', () => {
  // qemu-img's driver name -> the disk_format Glance uses for it (none for what Glance lacks).
  const cases: Array<{ file: string; qemu: string; options?: string; size: string; glance: string | undefined }> = [
    { file: 'disk.qcow2', qemu: 'qcow2', size: '1G', glance: 'qcow2' },
    { file: 'disk.vmdk', qemu: 'vmdk', options: 'subformat=streamOptimized', size: '100M', glance: 'vmdk' },
    { file: 'dynamic.vhd', qemu: 'vpc', size: '1025M', glance: 'vhd' },
    { file: 'fixed.vhd', qemu: 'vpc', options: 'subformat=fixed', size: '10M', glance: 'vhd' },
    { file: 'disk.vhdx', qemu: 'vhdx', size: '3G', glance: 'vhdx' },
    { file: 'disk.vdi', qemu: 'vdi', size: '64M', glance: 'vdi' },
    { file: 'disk.hds', qemu: 'parallels', size: '64M', glance: 'ploop' },
    { file: 'disk.raw', qemu: 'raw', size: '20M', glance: 'raw' },
    { file: 'disk.qed', qemu: 'qed', size: '64M', glance: undefined },
    { file: 'disk.qcow', qemu: 'qcow', size: '64M', glance: undefined },
  ];
  const made: Record<string, string> = {};
  beforeAll(() => {
    for (const { file, qemu, options, size } of cases) {
      made[file] = join(dir, file);
      qemuImg(['create', '-f', qemu, ...(options ? ['-o', options] : []), made[file] as string, size]);
    }
  });

  it('disk_format is Glance’s name for the content, min_disk its virtual size in GiB rounded up', async () => {
    const inspector = glanceInspectorFormats(Object.values(made));
    for (const { file, qemu, glance } of cases) {
      const path = made[file] as string;
      const info = await introspectFile(path);
      const properties = glanceProperties(info);
      expectLegal(properties);
      expect(properties.disk_format, file).toBe(glance);
      expect(properties.container_format, file).toBe('bare');
      const qemuSize = qemuInfo(path, qemu)['virtual-size'] as number;
      expect(properties.min_disk, file).toBe(Math.ceil(qemuSize / GIB));
      // Glance's own inspector names what it recognises the way we do (it sees a fixed VHD,
      // QED and Parallels as raw).
      if (glance !== undefined && inspector[path] !== 'raw') expect(properties.disk_format, `Glance's inspector on ${file}`).toBe(inspector[path]);
    }
    // Glance's inspector takes a qcow v1 for qcow2 (it checks the magic, not the version);
    // qemu opens it as qcow, which Glance has no disk_format for.
    expect(inspector[made['disk.qcow'] as string]).toBe('qcow2');
  });

  it('virtual_size is never set: it is Glance’s to compute', async () => {
    const properties = glanceProperties(await introspectFile(made['disk.qcow2'] as string));
    expect(properties).not.toHaveProperty('virtual_size');
    expect(Object.keys(properties).sort()).toEqual(['container_format', 'disk_format', 'min_disk']);
  });
});

describeQemu('VMDK: vmware_disktype and vmware_adaptertype', () => {
  // What qemu-img writes (subformat, adapter_type) and what Nova's VMware docs map it to.
  const cases = [
    { subformat: 'streamOptimized', adapter: 'lsilogic', disktype: 'streamOptimized', adaptertype: 'lsiLogic' },
    { subformat: 'monolithicSparse', adapter: 'ide', disktype: 'sparse', adaptertype: 'ide' },
    { subformat: 'monolithicSparse', adapter: 'buslogic', disktype: 'sparse', adaptertype: 'busLogic' },
    { subformat: 'monolithicFlat', adapter: 'lsilogic', disktype: 'preallocated', adaptertype: 'lsiLogic' },
    { subformat: 'twoGbMaxExtentSparse', adapter: 'ide', disktype: undefined, adaptertype: 'ide' },
    { subformat: 'monolithicSparse', adapter: 'legacyESX', disktype: 'sparse', adaptertype: undefined },
  ];

  it.each(cases)('$subformat with $adapter', async ({ subformat, adapter, disktype, adaptertype }) => {
    const path = join(dir, `${subformat}-${adapter}.vmdk`);
    qemuImg(['create', '-f', 'vmdk', '-o', `subformat=${subformat},adapter_type=${adapter}`, path, '64M']);
    // The oracle for what the file says: qemu-img's create type, and the descriptor's own line.
    const qemu = qemuInfo(path, 'vmdk');
    expect((qemu['format-specific'] as { data: { 'create-type': string } }).data['create-type']).toBe(subformat);
    expect(readFileSync(path, 'latin1')).toContain(`ddb.adapterType = "${adapter}"`);
    const properties = glanceProperties(await introspectFile(path));
    expectLegal(properties);
    expect(properties.vmware_disktype).toBe(disktype);
    expect(properties.vmware_adaptertype).toBe(adaptertype);
  });

  it.skipIf(realWorldRoot() === undefined)('VMDKs written by VMware tools: the adapter type their descriptor names', async () => {
    const vmdks = realWorldImages().filter((image) => image.file.startsWith('vmdk/') && !image.file.endsWith('.gz'));
    let checked = 0;
    for (const image of vmdks) {
      const info = await introspectFile(image.path).catch(() => undefined);
      if (info?.format !== 'vmdk') continue;
      const descriptor = /ddb\.adapterType\s*=\s*"([^"]*)"/.exec(readFileSync(image.path, 'latin1'))?.[1];
      const properties = glanceProperties(info);
      expectLegal(properties);
      const expected = { ide: 'ide', lsilogic: 'lsiLogic', buslogic: 'busLogic' }[descriptor?.toLowerCase() ?? ''];
      expect(properties.vmware_adaptertype, image.file).toBe(expected);
      checked += 1;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

const hasPartitioners = hasTool('sgdisk', ['--version']) && hasTool('sfdisk', ['--version']);
const describeDisks = glanceMissing || !hasPartitioners ? describe.skip : describe;
if (!hasPartitioners) describe('hw_firmware_type of partitioned disks', () => it.skip('skipped: sgdisk/sfdisk are not installed (gdisk, fdisk)', () => undefined));

describeDisks('raw disks: hw_firmware_type from the partition table (virt-v2v’s rule)', () => {
  const gpt = (name: string, codes: string[]) => {
    const path = join(dir, name);
    writeFileSync(path, '');
    truncateSync(path, 64 * 1024 * 1024);
    codes.forEach((code, index) => run('sgdisk', [`-n${index + 1}:0:+8M`, `-t${index + 1}:${code}`, path]));
    // The oracle for what was written: sgdisk's own listing.
    const listing = run('sgdisk', ['-p', path]);
    for (const code of codes) expect(listing).toContain(code.toUpperCase());
    return path;
  };
  const mbr = (name: string, script: string) => {
    const path = join(dir, name);
    writeFileSync(path, '');
    truncateSync(path, 64 * 1024 * 1024);
    run('sfdisk', ['--no-reread', '--no-tell-kernel', path], { input: script });
    return path;
  };
  const cases: Array<{ name: string; make: () => string; firmware: string | undefined }> = [
    { name: 'GPT with an EFI system partition', make: () => gpt('esp.raw', ['ef00', '8300']), firmware: 'uefi' },
    { name: 'GPT with a BIOS boot partition', make: () => gpt('biosboot.raw', ['ef02', '8300']), firmware: 'bios' },
    { name: 'GPT with both (a hybrid image)', make: () => gpt('both.raw', ['ef02', 'ef00', '8300']), firmware: undefined },
    { name: 'GPT with neither', make: () => gpt('data.raw', ['8300']), firmware: undefined },
    { name: 'MBR with an EFI partition (0xEF)', make: () => mbr('mbr-esp.raw', 'label: dos\n,16M,ef\n,,83\n'), firmware: 'uefi' },
    { name: 'MBR with an active partition', make: () => mbr('mbr-active.raw', 'label: dos\n,16M,83,*\n'), firmware: 'bios' },
    { name: 'MBR with neither', make: () => mbr('mbr-data.raw', 'label: dos\n,16M,83\n'), firmware: undefined },
  ];
  it.each(cases)('$name', async ({ make, firmware }) => {
    const info = await introspectFile(make());
    expect(info.format).toBe('raw');
    const properties = glanceProperties(info);
    expectLegal(properties);
    expect(properties.disk_format).toBe('raw');
    expect(properties.hw_firmware_type).toBe(firmware);
  });
});

const describeIso = glanceMissing || xorrisoMissing || osinfoMissing ? describe.skip : describe;
if (xorrisoMissing || osinfoMissing) describe('installer ISOs', () => it.skip(`skipped: ${xorrisoMissing ?? osinfoMissing}`, () => undefined));

describeIso('ISOs: El Torito firmware, and the OS from the volume id as libosinfo detects it', () => {
  it.each([
    { boot: 'EFI only', bios: false, efi: true, firmware: 'uefi' },
    { boot: 'BIOS only', bios: true, efi: false, firmware: 'bios' },
    { boot: 'BIOS and EFI', bios: true, efi: true, firmware: undefined },
    { boot: 'not bootable', bios: false, efi: false, firmware: undefined },
  ])('hw_firmware_type of a medium booting $boot', async ({ bios, efi, firmware }) => {
    const path = makeIso(dir, `boot-${bios}-${efi}`, { volumeId: 'DATA', bios, efi });
    const platforms = elToritoPlatforms(path);
    expect(platforms.includes('BIOS')).toBe(bios);
    expect(platforms.includes('UEFI')).toBe(efi);
    const properties = glanceProperties(await introspectFile(path));
    expectLegal(properties);
    expect(properties.disk_format).toBe('iso');
    expect(properties.hw_firmware_type).toBe(firmware);
    expect(properties).not.toHaveProperty('os_distro');
  });

  // Volume ids of releases the installed osinfo-db knows, as the distributions write them.
  const media: Array<{ volumeId: string; publisher?: string }> = [
    { volumeId: 'Ubuntu-Server 22.04.1 LTS amd64' },
    { volumeId: 'Ubuntu 20.04.5 LTS amd64' },
    { volumeId: 'Debian 11.5.0 arm64 n' },
    { volumeId: 'Debian 10.13.0 amd64 1' },
    { volumeId: 'Debian 11.5.0 p64el n' },
    { volumeId: 'Fedora-S-dvd-x86_64-37' },
    { volumeId: 'Fedora-E-dvd-aarch64-36' },
    { volumeId: 'Fedora-WS-Live-37-1-7' },
    { volumeId: 'CentOS-Stream-9-BaseOS-x86_64' },
    { volumeId: 'RHEL-9-0-0-BaseOS-x86_64' },
    { volumeId: 'Rocky-9-0-x86_64-dvd' },
    { volumeId: 'AlmaLinux-9-0-x86_64-dvd' },
    // (openSUSE is left out: libosinfo wants the publisher "SUSE LINUX GmbH", which xorriso
    // can only write upper case.)
    { volumeId: 'CCCOMA_X64FRE_EN-US_DV9', publisher: 'MICROSOFT CORPORATION' },
    { volumeId: 'SSS_X64FREE_EN-US_DV9', publisher: 'MICROSOFT CORPORATION' },
    { volumeId: 'J_CCSA_X86FRE_JA-JP_DV5', publisher: 'MICROSOFT CORPORATION' },
  ];
  const glanceDistro = (libosinfoDistro: string) => (libosinfoDistro === 'win' ? 'windows' : libosinfoDistro);
  const osType = (family: string) => (family === 'linux' ? 'linux' : family === 'winnt' ? 'windows' : undefined);

  it.each(media)('$volumeId', async ({ volumeId, publisher }) => {
    const path = makeIso(dir, volumeId.replace(/\W+/g, '_'), { volumeId, ...(publisher && { publisher }), bios: true });
    const detected = osinfoDetect(path);
    expect(detected.length, 'osinfo-detect recognises the medium').toBeGreaterThan(0);
    const shortIds = [...new Set(detected.flatMap(({ name }) => osinfoShortIdsNamed(name)))];
    const oses = shortIds.map((shortId) => {
      const matches = osinfoOses().filter((os) => os.shortId === shortId);
      expect(matches, shortId).toHaveLength(1);
      return matches[0] as (typeof matches)[number];
    });
    expect(oses.length, detected.map(({ name }) => name).join(', ')).toBeGreaterThan(0);
    const info = await introspectFile(path);
    const properties = glanceProperties(info);
    const withShortIds = glanceProperties(info, { osDistro: 'libosinfo' });
    expectLegal({ ...properties, os_distro: 'windows' }); // os_distro is checked against libosinfo below
    if (properties.architecture === undefined) {
      // Only where the id names none (Fedora's live media); libosinfo then assumes its one entry's.
      expect(volumeId).not.toMatch(/amd64|arm64|i386|x86_64|aarch64|X64|X86|A64/);
    } else {
      expect(osinfoArchitectures()).toContain(properties.architecture);
      expect(new Set(detected.map((entry) => entry.arch))).toEqual(new Set([properties.architecture]));
    }

    // Every OS libosinfo detects shares family and distro with ours.
    const [first] = oses as [(typeof oses)[number]];
    expect(new Set(oses.map((os) => os.distro)).size).toBe(1);
    expect(properties.os_type).toBe(osType(first.family));
    expect(properties.os_distro).toBe(glanceDistro(first.distro));
    // A short id and a version only where libosinfo finds one OS (Linux media here always do).
    if (first.family === 'linux') expect(withShortIds.os_distro).toBeDefined();
    if (withShortIds.os_distro !== undefined) {
      expect(oses).toHaveLength(1);
      expect(withShortIds.os_distro).toBe(first.shortId);
      expect(properties.os_version).toBe(first.version);
    }
    if (oses.length > 1) {
      expect(withShortIds).not.toHaveProperty('os_distro');
      expect(properties).not.toHaveProperty('os_version');
    }
  });

  it('every row recognises its own example, and nothing else recognises it first', () => {
    for (const row of INSTALLER_MEDIA) {
      const facts = recogniseInstallerMedia({ volumeId: row.example, publisherId: row.publisherId });
      expect(facts?.row, row.name).toBe(row);
    }
    expect(recogniseInstallerMedia({ volumeId: 'CCCOMA_X64FRE_EN-US_DV9', publisherId: undefined })).toBeUndefined();
    expect(recogniseInstallerMedia({ volumeId: 'Ubuntu-Server 22.04.3 LTS amd64 extra', publisherId: undefined })).toBeUndefined();
  });
});

describeGlance('containers and OVF descriptors (the shapes of issue 11’s contract)', () => {
  const base = { format: 'vmdk', virtualSize: 10 * GIB + 1, details: { createType: 'streamOptimized', adapterType: 'lsilogic' } } as unknown as ImageInfo;

  it('container_format from the layers, outermost first', () => {
    expect(glanceProperties(base).container_format).toBe('bare');
    expect(glanceProperties({ ...base, containers: [{ format: 'ova', member: 'disk1.vmdk' }] } as never).container_format).toBe('ova');
    expect(glanceProperties({ ...base, containers: [{ format: 'zip' }, { format: 'ova' }] } as never).container_format).toBe('ova');
    expect(glanceProperties({ ...base, containers: [{ format: 'gzip' }, { format: 'tar' }] } as never).container_format).toBe('compressed');
    expect(glanceProperties({ ...base, containers: [{ format: 'xz' }] } as never).container_format).toBe('compressed');
    expect(glanceProperties(base).min_disk).toBe(11);
  });

  it('an OVF’s operating system, firmware and processor items, only where legal', () => {
    const ovf = (ovf: object) => glanceProperties({ ...base, containers: [{ format: 'ova' }], ovf } as never);
    const vmware = ovf({ operatingSystem: { id: 94, description: 'Ubuntu Linux (64-bit)', osType: 'ubuntu64Guest' }, firmware: 'efi' });
    expectLegal(vmware);
    expect(vmware).toMatchObject({ os_type: 'linux', vmware_ostype: 'ubuntu64Guest', hw_firmware_type: 'uefi', vmware_disktype: 'streamOptimized' });
    const windows = ovf({ operatingSystem: { id: 1, osType: 'windows9Server64Guest' }, firmware: 'bios' });
    expectLegal(windows);
    expect(windows).not.toHaveProperty('os_type'); // CIM id 1 is "Other"
    expect(windows).toMatchObject({ vmware_ostype: 'windows9Server64Guest', hw_firmware_type: 'bios' });
    expect(ovf({ operatingSystem: { id: 112 } })).toMatchObject({ os_type: 'windows' });
    // VirtualBox writes its own OSType, and newer vSphere guest ids are not in Glance's metadef.
    expect(ovf({ operatingSystem: { id: 96, osType: 'Debian_64' } })).not.toHaveProperty('vmware_ostype');
    expect(ovf({ operatingSystem: { id: 96, osType: 'debian11_64Guest' } })).not.toHaveProperty('vmware_ostype');
    const processor = ovf({ cimPasd: { cim_pasd_ProcessorArchitecture: 'x86', cim_pasd_InstructionSet: 'x86:64', cim_pasd_InstructionSetExtensionName: ['x86:SSE2', 'x86:AVX'] } });
    expectLegal(processor);
    expect(processor).toMatchObject({ cim_pasd_ProcessorArchitecture: 'x86', cim_pasd_InstructionSet: 'x86:64' });
    expect(processor).not.toHaveProperty('cim_pasd_InstructionSetExtensionName');
    expect(ovf({ cimPasd: { cim_pasd_ProcessorArchitecture: 'amd64' } })).not.toHaveProperty('cim_pasd_ProcessorArchitecture');
  });
});
