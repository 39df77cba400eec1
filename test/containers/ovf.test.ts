/**
 * OVF descriptors: the fixtures in test/fixtures/ovf imitate what each exporter writes (see
 * its README); the expected values below are read off each fixture by hand (capacities
 * and memory multiplied out from the units written), so a test fails when the parser
 * misreads a section, a unit or a namespace. Hostile descriptors must end refused,
 * limited or corrupt, quickly, with nothing expanded.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OVF_MAX_DESCRIPTOR_BYTES, type OvfInfo, hrefProblems, parseOvfDescriptor } from '../../containers/shared/ovf.js';
import { loadXmlTokenizer } from '../../containers/shared/xml-tree.js';

// The tokenizer is loaded on first use by the OVA module; these tests call the parser directly.
await loadXmlTokenizer();
import { bytesPerUnit, quantityInBytes } from '../../containers/shared/ovf-units.js';
import { XML_MAX_DEPTH, XML_MAX_ELEMENTS, decodeXmlBytes, readXmlTree } from '../../containers/shared/xml-tree.js';
import { rejectionOf } from '../helpers/errors.js';
import { fixturesRoot } from '../helpers/fixtures.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(fixturesRoot, 'ovf', name)));
}

function parsed(name: string, availableFiles?: string[]): OvfInfo {
  const result = parseOvfDescriptor(fixture(name), availableFiles === undefined ? {} : { availableFiles });
  expect(result.hazards.doctype).toBe(false);
  if (result.ovf === undefined) throw new Error(`${name} was not parsed`);
  return result.ovf;
}

const async = (run: () => unknown) => Promise.resolve().then(run);

describe('OVF descriptors as each exporter writes them', () => {
  it('VirtualBox 7.0, OVF 1.0: vbox:OSType, MegaBytes, /disk/ host resources, EFI in vbox:Machine, product and EULA', () => {
    const ovf = parsed('virtualbox-7.0-ovf1.0-efi.ovf', ['Debian 12.ovf', 'Debian 12-disk001.vmdk']);
    expect(ovf).toMatchObject({
      ovfVersion: '1.0',
      name: 'Debian 12',
      virtualSystemId: 'Debian 12',
      virtualSystemCount: 1,
      operatingSystem: { id: 96, description: 'Debian_64', osType: 'Debian_64' },
      cpus: 2,
      memoryBytes: 2048 * MiB,
      firmware: 'efi',
      firmwareSource: 'virtualbox',
      hardwareFamily: 'virtualbox-2.2',
      eula: true,
      product: { product: 'Example Appliance', vendor: 'Example Vendor', version: '1.2.3', productUrl: 'https://product.example', vendorUrl: 'https://vendor.example' },
      networks: [{ name: 'NAT', description: 'Logical network used by this appliance.' }],
      networkAdapters: [{ instanceId: '8', network: 'NAT', subType: 'E1000', name: "Ethernet adapter on 'NAT'" }],
      warnings: [],
    });
    expect(ovf.disks).toEqual([
      {
        diskId: 'vmdisk1',
        fileRef: 'file1',
        href: 'Debian 12-disk001.vmdk',
        capacity: '21474836480',
        capacityBytes: 20 * GiB,
        format: 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized',
        attachment: { driveId: '6', drive: 'disk', controllerId: '5', controllerKind: 'sata', controllerSubType: 'AHCI', addressOnParent: '0' },
      },
    ]);
    expect(ovf.controllers.map((controller) => `${controller.instanceId}:${controller.kind}:${controller.subType}`)).toEqual(['3:ide:PIIX4', '4:ide:PIIX4', '5:sata:AHCI']);
    expect(ovf.drives.map((drive) => [drive.kind, drive.diskId, drive.parent])).toEqual([
      ['disk', 'vmdisk1', '5'],
      ['cdrom', undefined, '3'],
    ]);
    expect(JSON.parse(JSON.stringify(ovf))).toEqual(ovf);
  });

  it('VirtualBox 7.0, OVF 2.0: StorageItem/EthernetPortItem in the .xsd-suffixed namespaces, two disks, no firmware stated', () => {
    const ovf = parsed('virtualbox-7.0-ovf2.0-two-disks.ovf');
    expect(ovf).toMatchObject({ ovfVersion: '2.0', name: 'ubuntu', cpus: 4, memoryBytes: 4096 * MiB, operatingSystem: { id: 94, osType: 'Ubuntu_64' } });
    expect(ovf.firmware).toBeUndefined();
    expect(ovf.disks.map((disk) => [disk.diskId, disk.href, disk.capacityBytes, disk.attachment?.controllerKind, disk.attachment?.addressOnParent])).toEqual([
      ['vmdisk1', 'ubuntu-disk001.vmdk', 10 * GiB, 'sata', '0'],
      ['vmdisk2', 'ubuntu-disk002.vmdk', 2 * GiB, 'sata', '1'],
    ]);
    expect(ovf.networkAdapters).toEqual([{ instanceId: '6', network: 'Bridged', subType: 'E1000', name: "Ethernet adapter on 'Bridged'" }]);
  });

  it('VirtualBox 4.3 as Vagrant packages it (box.ovf): settings 1.12 with StorageControllers beside Hardware', () => {
    const ovf = parsed('vagrant-virtualbox-4.3-box.ovf');
    expect(ovf).toMatchObject({ name: 'vagrant-centos65', cpus: 1, memoryBytes: 512 * MiB, operatingSystem: { id: 80, osType: 'RedHat_64' } });
    expect(ovf.disks[0]).toMatchObject({ href: 'box-disk1.vmdk', capacityBytes: 40 * GiB, attachment: { controllerKind: 'ide', controllerSubType: 'PIIX4' } });
    expect(ovf.firmware).toBeUndefined();
  });

  it('VirtualBox OVF 0.9: Section and Content elements typed by xsi:type, in VMware 0.9 namespace', () => {
    const ovf = parsed('virtualbox-ovf0.9-legacy.ovf');
    expect(ovf).toMatchObject({ ovfVersion: '0.9', name: 'legacy', cpus: 1, memoryBytes: 256 * MiB, hardwareFamily: 'vmx-6', operatingSystem: { id: 36, description: 'Linux26' } });
    expect(ovf.disks[0]).toMatchObject({ diskId: 'vmdisk1', capacityBytes: 8 * GiB, attachment: { controllerKind: 'ide' } });
    expect(ovf.networks).toEqual([{ name: 'NAT', description: 'Logical network used by this appliance.' }]);
  });

  it('ovftool 4.6 from Workstation: vmw:osType, CoresPerSocket, byte capacity, populatedSize, annotation, no firmware key', () => {
    const ovf = parsed('vmware-ovftool-4.6-workstation.ovf');
    expect(ovf).toMatchObject({
      generator: 'Generated by VMware ovftool 4.6.3 (build-24031167), UTC time: 2025-02-03T07:47:22.044294Z',
      name: 'example-vm',
      virtualSystemId: 'vm',
      operatingSystem: { id: 96, osType: 'debian10_64Guest', version: '10' },
      cpus: 4,
      coresPerSocket: 2,
      memoryBytes: 2048 * MiB,
      hardwareFamily: 'vmx-08',
      annotation: 'Example VM\nUsername: user',
      eula: false,
    });
    expect(ovf.firmware).toBeUndefined();
    expect(ovf.disks).toEqual([
      {
        diskId: 'vmdisk1',
        fileRef: 'file1',
        href: 'example-vm-disk1.vmdk',
        fileSize: 9601684480,
        capacity: '86000000000',
        capacityAllocationUnits: 'byte',
        capacityBytes: 86000000000,
        populatedSizeBytes: 24033287168,
        format: 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized',
        attachment: { driveId: '5', drive: 'disk', controllerId: '4', controllerKind: 'scsi', controllerSubType: 'lsilogic', addressOnParent: '0' },
      },
    ]);
    expect(ovf.controllers.map((controller) => controller.kind)).toEqual(['usb', 'scsi']);
  });

  it('vSphere 8 export: EFI with secure boot, disks on ParaVirtual SCSI and NVMe, 2^30 and 2^20 capacities', () => {
    const ovf = parsed('vmware-vsphere-8.0-efi-two-disks.ovf', ['rhel9.ovf', 'rhel9.mf', 'rhel9-1.vmdk', 'rhel9-2.vmdk', 'rhel9-3.nvram']);
    expect(ovf).toMatchObject({
      name: 'rhel9',
      operatingSystem: { id: 80, description: 'Red Hat Enterprise Linux 9 (64-bit)', osType: 'rhel9_64Guest' },
      cpus: 8,
      coresPerSocket: 4,
      memoryBytes: 16 * GiB,
      firmware: 'efi',
      firmwareSource: 'vmware',
      secureBoot: true,
      hardwareFamily: 'vmx-20',
    });
    expect(ovf.disks.map((disk) => [disk.href, disk.capacityBytes, disk.populatedSizeBytes, disk.fileSize, disk.attachment?.controllerKind])).toEqual([
      ['rhel9-1.vmdk', 40 * GiB, 4112515072, 1868447232, 'scsi'],
      ['rhel9-2.vmdk', 512 * MiB, 0, 68096, 'nvme'],
    ]);
    expect(ovf.files.map((file) => file.href)).toEqual(['rhel9-1.vmdk', 'rhel9-2.vmdk', 'rhel9-3.nvram']);
    const cdrom = ovf.drives.find((drive) => drive.kind === 'cdrom');
    expect(cdrom).toMatchObject({ parent: '5' });
    expect(cdrom?.diskId).toBeUndefined();
  });

  it('a vApp appliance: the default deployment option picks the items, chunked and gzip files, a property capacity', () => {
    const result = parseOvfDescriptor(fixture('vmware-vapp-deployment-options.ovf'), {
      availableFiles: ['example-appliance.ovf', 'appliance-disk1.vmdk.000000000', 'appliance-disk1.vmdk.000000001'],
    });
    const ovf = result.ovf as OvfInfo;
    expect(ovf).toMatchObject({ configurations: ['small', 'medium'], defaultConfiguration: 'medium', cpus: 4, memoryBytes: 16 * GiB, eula: true, firmware: 'bios' });
    expect(ovf.hardwareFamily).toBe('vmx-10 vmx-13 vmx-15');
    expect(ovf.product).toEqual({
      product: 'Example Virtual Appliance',
      vendor: 'Example, Inc.',
      version: '8.0.2',
      fullVersion: '8.0.2.00100-22385739',
      productUrl: 'https://appliance.example',
      vendorUrl: 'https://www.example.com',
    });
    expect(ovf.files).toEqual([
      { id: 'file1', href: 'appliance-disk1.vmdk', size: 4294967296, chunkSize: 2147483648 },
      { id: 'file2', href: 'appliance-disk2.vmdk.gz', size: 1048576, compression: 'gzip' },
    ]);
    expect(ovf.disks[0]).toMatchObject({ capacity: '${disk1.size}', capacityAllocationUnits: 'byte * 2^30' });
    expect(ovf.disks[0]?.capacityBytes).toBeUndefined();
    expect(ovf.disks[1]).toMatchObject({ capacityBytes: 100 * GiB, compression: 'gzip' });
    expect(ovf.warnings).toEqual(['Disk vmdisk1: capacity "${disk1.size}" in units "byte * 2^30" is not a byte count (not-a-number)']);
    // The chunked file's first chunk is there; the gzip file is not.
    expect(result.hazards.missingFiles).toEqual(['appliance-disk2.vmdk.gz']);
  });

  it('XenCenter: prefixed ovf: elements, ResourceType 19 disks, xenovf HVM_boot_params firmware=uefi', () => {
    const ovf = parsed('xenserver-xencenter.ovf');
    expect(ovf).toMatchObject({
      ovfVersion: '1.0.0',
      name: 'Windows Server 2022',
      operatingSystem: { id: 116, description: 'Windows Server 2022 (64-bit)' },
      cpus: 4,
      memoryBytes: 8 * GiB,
      firmware: 'efi',
      firmwareSource: 'xenserver',
      hardwareFamily: 'hvm-3.0-unknown',
    });
    expect(ovf.disks).toHaveLength(1);
    expect(ovf.disks[0]).toMatchObject({
      href: '3f0e2d1c-5b4a-4978-8e6d-5c4b3a2f1e0d.vhd',
      capacityBytes: 32 * GiB,
      format: 'http://technet.microsoft.com/en-us/virtualserver/bb676673.aspx',
      attachment: { drive: 'disk', controllerKind: 'ide', addressOnParent: '0' },
    });
  });

  it('Oracle VM: ovf:-prefixed envelope version 1.1.0, Bytes units, a product section with a class', () => {
    const ovf = parsed('oracle-vm-3.ovf');
    expect(ovf).toMatchObject({ ovfVersion: '1.1.0', name: 'Oracle Linux 7', cpus: 2, memoryBytes: 4 * GiB, hardwareFamily: 'ovm-3.4', product: { product: 'Oracle Linux 7', vendor: 'Oracle Corporation', version: '7.9' } });
    expect(ovf.disks[0]).toMatchObject({ href: 'System.img', capacityBytes: 6 * GiB });
    // The OS type is in Oracle's own namespace, which is neither VMware's nor VirtualBox's.
    expect(ovf.operatingSystem).toEqual({ id: 109, description: 'Oracle Linux 7' });
  });

  it("collects CIM_ProcessorAllocationSettingData as Glance's ovf_process names them", () => {
    const ovf = parsed('glance-cim-pasd.ovf');
    expect(ovf.cimPasd).toEqual({
      cim_pasd_InstructionSet: 'x86:64',
      cim_pasd_InstructionSetExtensionName: 'x86:SSE2 x86:SSE3 x86:SSSE3 x86:SSE4.1 x86:SSE4.2 x86:AVX',
      cim_pasd_ProcessorArchitecture: 'x86',
    });
    expect(ovf).toMatchObject({ cpus: 2, memoryBytes: 1024 * MiB });
  });
});

describe('hostile OVF descriptors', () => {
  for (const [name, entities, external] of [
    ['billion-laughs.ovf', true, false],
    ['external-entity.ovf', true, true],
    ['external-parameter-entity.ovf', true, true],
    ['external-dtd.ovf', false, true],
  ] as const) {
    it(`${name}: refused at the DOCTYPE, nothing expanded or fetched`, () => {
      const result = parseOvfDescriptor(fixture(`hostile/${name}`));
      expect(result.ovf).toBeUndefined();
      expect(result.hazards).toMatchObject({ doctype: true, entityDeclarations: entities, externalReferences: external });
    });
  }

  it('an undefined entity without a DOCTYPE is CORRUPT (never looked up)', async () => {
    expect((await rejectionOf(async(() => parseOvfDescriptor(fixture('hostile/undefined-entity.ovf'))))).code).toBe('CORRUPT');
  });

  it('hrefs that are URLs, absolute paths or climb out are listed; missing and dangling references too', () => {
    const result = parseOvfDescriptor(fixture('hostile/unsafe-hrefs.ovf'), { availableFiles: ['./vm.ovf', './disk1.vmdk'] });
    expect(result.hazards.unsafeHrefs).toEqual([
      { fileId: 'url', href: 'https://attacker.example/disk.vmdk', problems: ['url'] },
      { fileId: 'file-url', href: 'file:///etc/shadow', problems: ['url'] },
      { fileId: 'absolute', href: '/etc/passwd', problems: ['absolute'] },
      { fileId: 'drive', href: 'C:\\Windows\\System32\\config\\SAM', problems: ['absolute'] },
      { fileId: 'parent', href: '../../../root/.ssh/id_rsa', problems: ['parent'] },
      { fileId: 'backslash-parent', href: 'disks/..\\..\\escape.vmdk', problems: ['parent'] },
      { fileId: 'empty', href: '', problems: ['empty'] },
    ]);
    expect(result.hazards.missingFiles).toEqual(['missing.vmdk']);
    expect(result.ovf?.warnings).toEqual(['Disk d2: ovf:fileRef "nowhere" names no File in References', 'drive 1: HostResource "ovf:/disk/d9" names no Disk']);
  });

  it('units, numbers and ids it cannot read become warnings, never guesses', () => {
    const ovf = parsed('hostile/bad-units.ovf');
    expect(ovf.disks.map((disk) => disk.capacityBytes)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(ovf.files[0]?.size).toBeUndefined();
    expect(ovf.memoryBytes).toBeUndefined();
    expect(ovf.cpus).toBeUndefined();
    expect(ovf.operatingSystem).toBeUndefined();
    expect(ovf.warnings).toHaveLength(9);
  });

  it('undeclared ovf/rasd/vmw prefixes are read with their usual namespaces and reported', () => {
    const result = parseOvfDescriptor(fixture('hostile/undeclared-prefixes.ovf'));
    expect(result.hazards.undeclaredPrefixes).toEqual(['acme', 'ovf', 'rasd', 'vmw']);
    expect(result.ovf).toMatchObject({ cpus: 2, firmware: 'efi', disks: [{ diskId: 'vmdisk1', capacityBytes: 2 * GiB }] });
  });

  it('a document that is not an OVF envelope is CORRUPT', async () => {
    expect((await rejectionOf(async(() => parseOvfDescriptor(fixture('hostile/not-an-envelope.ovf'))))).code).toBe('CORRUPT');
  });

  it('deep nesting, huge counts and oversized descriptors end in LIMIT_EXCEEDED', async () => {
    const envelope = (inner: string) => new TextEncoder().encode(`<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1">${inner}</Envelope>`);
    const deep = envelope(`${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`);
    expect((await rejectionOf(async(() => parseOvfDescriptor(deep)))).code).toBe('LIMIT_EXCEEDED');
    const wide = envelope('<References>' + '<File/>'.repeat(XML_MAX_ELEMENTS + 1) + '</References>');
    expect((await rejectionOf(async(() => parseOvfDescriptor(wide)))).code).toBe('LIMIT_EXCEEDED');
    const huge = new Uint8Array(OVF_MAX_DESCRIPTOR_BYTES + 1).fill(0x20);
    expect((await rejectionOf(async(() => parseOvfDescriptor(huge)))).code).toBe('LIMIT_EXCEEDED');
    // Just inside the depth cap is fine.
    const ok = envelope(`${'<a>'.repeat(XML_MAX_DEPTH - 1)}${'</a>'.repeat(XML_MAX_DEPTH - 1)}`);
    expect(parseOvfDescriptor(ok).ovf?.disks).toEqual([]);
  });
});

describe('OVF allocation units', () => {
  it('resolves the programmatic units and names exporters write', () => {
    expect(bytesPerUnit('byte')).toBe(1n);
    expect(bytesPerUnit('byte * 2^20')).toBe(1048576n);
    expect(bytesPerUnit('byte*2^30')).toBe(1073741824n);
    expect(bytesPerUnit('byte * 10^3')).toBe(1000n);
    expect(bytesPerUnit('byte * 1024')).toBe(1024n);
    expect(bytesPerUnit('MegaBytes')).toBe(1048576n);
    expect(bytesPerUnit('KiloBytes')).toBe(1024n);
    expect(bytesPerUnit('GB')).toBe(1073741824n);
    expect(bytesPerUnit('hertz * 10^6')).toBeUndefined();
    expect(bytesPerUnit('byte * 2^63')).toBeUndefined();
    expect(bytesPerUnit('byte * lots')).toBeUndefined();
    expect(quantityInBytes('16', 'byte * 2^30')).toEqual({ bytes: 16 * GiB });
    expect(quantityInBytes('8388608', 'byte * 2^30')).toEqual({ problem: 'too-large' });
    expect(quantityInBytes('-1', undefined)).toEqual({ problem: 'not-a-number' });
  });
});

describe('the XML reader under the OVF parser', () => {
  it('decodes by byte order mark or declared encoding, refuses what it cannot decode', async () => {
    const text = '<?xml version="1.0"?><r>é</r>';
    const utf16 = new Uint8Array([0xff, 0xfe, ...new Uint8Array(new Uint16Array([...text].map((char) => char.charCodeAt(0))).buffer)]);
    expect(decodeXmlBytes(utf16, 'x')).toBe(text);
    expect(decodeXmlBytes(new Uint8Array([0x3c, 0x3f, ...new TextEncoder().encode('xml version="1.0" encoding="ISO-8859-1"?><r>'), 0xe9, 0x3c, 0x2f, 0x72, 0x3e]), 'x')).toContain('é');
    expect((await rejectionOf(async(() => decodeXmlBytes(new TextEncoder().encode('<?xml version="1.0" encoding="Shift_JIS"?><r/>'), 'x')))).code).toBe('UNSUPPORTED');
  });

  it('keeps predefined and character references, resolves namespaces declared anywhere', () => {
    const read = readXmlTree('<a xmlns="urn:a"><b xmlns:p="urn:p" p:x="&lt;&#65;&gt;">t&amp;u<![CDATA[<v>]]></b></a>', { field: 'x' });
    if (read.kind !== 'tree') throw new Error('no tree');
    const child = read.root.children[0];
    expect(child).toMatchObject({ namespace: 'urn:a', name: 'b', text: 't&u<v>', attributes: [{ namespace: 'urn:p', name: 'x', value: '<A>' }] });
  });

  it('rejects what is not well-formed', async () => {
    for (const bad of ['<a><b></a>', '<a x="1" x="2"/>', '<a>', '', '<a/><b/>', '<a>\u0001</a>']) {
      expect((await rejectionOf(async(() => readXmlTree(bad, { field: 'x' })))).code, JSON.stringify(bad)).toBe('CORRUPT');
    }
  });

  it('lists hrefs that leave a package', () => {
    expect(hrefProblems('disk1.vmdk')).toEqual([]);
    expect(hrefProblems('sub/disk1.vmdk')).toEqual([]);
    expect(hrefProblems('http://x/y')).toEqual(['url']);
    expect(hrefProblems('/abs/../x')).toEqual(['absolute', 'parent']);
    expect(hrefProblems('%2e%2e/x')).toEqual(['parent']);
    expect(hrefProblems('  ')).toEqual(['empty']);
  });
});
