/**
 * Glance's vocabulary, and the tables that map what the bytes say onto it where more than
 * one format needs the mapping (partition tables, El Torito catalogs, OVF descriptors,
 * containers). Format-specific tables (a VMDK's adapter types) live in the format's own
 * `glance` declaration. `docs/glance.md` lists every table with its source.
 *
 * Browser-safe: data and pure functions only.
 *
 * @module
 */
import type { BootCatalogEntry } from '../../formats/shared/el-torito.js';
import type { PartitionTable } from '../../formats/partitions/index.js';
import type { GlanceContainerFormat, GlanceDiskFormat, GlanceProperties } from './declaration.js';

/** Every `disk_format` Glance 25.1 accepts by default (glance `common/config.py`). */
export const GLANCE_DISK_FORMATS: readonly GlanceDiskFormat[] = ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'];

/** Every `container_format` Glance 25.1 accepts by default (glance `common/config.py`). */
export const GLANCE_CONTAINER_FORMATS: readonly GlanceContainerFormat[] = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'];

/** `hw_firmware_type` values (glance `etc/metadefs/compute-libvirt-image.json`). */
export type GlanceFirmwareType = 'bios' | 'uefi';

// ---------------------------------------------------------------------------------------
// Firmware

/** GPT type GUID of an EFI system partition (UEFI 2.10 table 5-7). */
export const GPT_EFI_SYSTEM_PARTITION = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';
/** GPT type GUID of a BIOS boot partition, where GRUB keeps its core image on a GPT disk booted by a BIOS. */
export const GPT_BIOS_BOOT_PARTITION = '21686148-6449-6e6f-744e-656564454649';
/** MBR type byte of an EFI system partition (UEFI 2.10 section 5.2.1). */
export const MBR_EFI_SYSTEM_PARTITION = 0xef;

/**
 * The firmware a disk's partition table shows it boots with, as virt-v2v decides it
 * (`convert/firmware.ml`), extended to MBR disks:
 *
 * | table | shows | `hw_firmware_type` |
 * | --- | --- | --- |
 * | GPT | an EFI system partition, no BIOS boot partition | `uefi` |
 * | GPT | a BIOS boot partition, no EFI system partition | `bios` |
 * | MBR | a type 0xEF partition, no active (0x80) partition | `uefi` |
 * | MBR | an active partition, no type 0xEF partition | `bios` |
 * | anything else (both, neither, other schemes) | nothing proven | none |
 */
export function firmwareFromPartitionTable(table: PartitionTable | undefined): GlanceFirmwareType | undefined {
  if (table === undefined) return undefined;
  let efi = false;
  let bios = false;
  if (table.scheme === 'gpt') {
    efi = table.partitions.some((partition) => partition.typeGuid === GPT_EFI_SYSTEM_PARTITION);
    bios = table.partitions.some((partition) => partition.typeGuid === GPT_BIOS_BOOT_PARTITION);
  } else if (table.scheme === 'mbr') {
    efi = table.partitions.some((partition) => partition.type === MBR_EFI_SYSTEM_PARTITION);
    bios = table.partitions.some((partition) => partition.bootable);
  }
  return onlyOne(efi, bios);
}

/** El Torito platform ids (El Torito 1.0 section 2.1; 0xEF for EFI from UEFI 2.10 section 13.3.2.1). */
export const EL_TORITO_PLATFORM_X86 = 0x00;
/** El Torito platform id of an EFI boot image. */
export const EL_TORITO_PLATFORM_EFI = 0xef;

/**
 * The firmware an optical disc boots with, from its El Torito boot catalog: only bootable
 * entries count; x86 entries boot a BIOS, EFI entries boot UEFI.
 *
 * | bootable entries | `hw_firmware_type` |
 * | --- | --- |
 * | EFI only | `uefi` |
 * | x86 (BIOS) only | `bios` |
 * | both (a hybrid installer), or neither | none |
 */
export function firmwareFromBootCatalog(entries: readonly BootCatalogEntry[] | undefined): GlanceFirmwareType | undefined {
  if (entries === undefined) return undefined;
  const bootable = entries.filter((entry) => entry.bootable);
  const efi = bootable.some((entry) => entry.platform === EL_TORITO_PLATFORM_EFI);
  const bios = bootable.some((entry) => entry.platform === EL_TORITO_PLATFORM_X86);
  return onlyOne(efi, bios);
}

/** `{ hw_firmware_type }` when the firmware is known, else nothing. */
export function firmwareProperties(firmware: GlanceFirmwareType | undefined): GlanceProperties {
  return firmware === undefined ? {} : { hw_firmware_type: firmware };
}

function onlyOne(efi: boolean, bios: boolean): GlanceFirmwareType | undefined {
  if (efi && !bios) return 'uefi';
  if (bios && !efi) return 'bios';
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Operating systems

/**
 * `os_distro` values Glance documents (glance `doc/source/admin/useful-image-properties.rst`;
 * `rocky` since the 2023.1 docs). Glance's metadef describes the property as "the same data
 * vocabulary as the libosinfo project": libosinfo's `<distro>` names, which these are, with
 * `windows` where libosinfo says `win`.
 */
export const GLANCE_OS_DISTROS: readonly string[] = [
  'arch', 'centos', 'debian', 'fedora', 'freebsd', 'gentoo', 'mandrake', 'mandriva', 'mes', 'msdos',
  'netbsd', 'netware', 'openbsd', 'opensolaris', 'opensuse', 'rhel', 'rocky', 'sled', 'ubuntu', 'windows',
];

/** `os_type` values (glance `etc/metadefs/compute-libvirt-image.json`). */
export type GlanceOsType = 'linux' | 'windows';

/**
 * Architecture names as installer media spell them (Debian's and Ubuntu's ports, Fedora's,
 * Windows' `X64`/`X86`/`A64` in `CCCOMA_X64FRE_...`), mapped to the names Glance documents
 * for `architecture` (`uname -m`, libosinfo's vocabulary; glance
 * `doc/source/admin/useful-image-properties.rst`).
 */
export const ARCHITECTURE_NAMES: Readonly<Record<string, string>> = {
  amd64: 'x86_64',
  x86_64: 'x86_64',
  X64: 'x86_64',
  i386: 'i686',
  i686: 'i686',
  X86: 'i686',
  arm64: 'aarch64',
  aarch64: 'aarch64',
  A64: 'aarch64',
  armhf: 'armv7l',
  ppc64el: 'ppc64le',
  p64el: 'ppc64le', // Debian shortens ppc64el to fit the 32-character volume id
  ppc64le: 'ppc64le',
  s390x: 's390x',
};

/**
 * `os_type` from an OVF's `OperatingSystemSection ovf:id`: the DMTF CIM_OperatingSystem
 * `OSType` value map (CIM schema 2.x, as VirtualBox's `ovfreader.h` and VMware's OVF tool
 * write it). Only the ids that name a Windows or a Linux system; every other id (Other,
 * Solaris, the BSDs, VMware ESXi, ids whose meaning changed between CIM versions past 110
 * for non-Windows systems) proves neither.
 */
export const CIM_OS_TYPES: ReadonlyMap<number, GlanceOsType> = new Map([
  // Windows: NT, 2000, Me, XP, Server 2003/2008, Vista, Embedded POS, 7, Server 2008 R2,
  // and 111-121 (Server 2011/2012/2016, 8, 8.1, 10 in every CIM version that has them).
  ...[16, 17, 18, 58, 63, 67, 69, 70, 71, 72, 73, 74, 75, 76, 77, 103, 105].map((id) => [id, 'windows'] as const),
  ...[111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121].map((id) => [id, 'windows'] as const),
  // Linux: LINUX, RHEL, SUSE, SLES, Novell Linux Desktop, Mandriva, TurboLinux, Ubuntu,
  // Debian, Linux 2.4/2.6/64-bit, CentOS, Oracle Linux.
  ...[36, 79, 80, 82, 83, 84, 85, 87, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 106, 107, 108, 109].map(
    (id) => [id, 'linux'] as const,
  ),
]);

/**
 * `vmware_ostype` values: the guest ids Glance's metadef lists (glance
 * `etc/metadefs/compute-vmware.json`, 25.1; Nova's VMware driver takes them as vSphere
 * `guestId`s). A guest id outside this list (newer vSphere releases add some, e.g.
 * `debian11_64Guest`) is not emitted: it is not a legal value of the metadef.
 */
export const VMWARE_GUEST_IDS: ReadonlySet<string> = new Set(
  (
    'asianux3_64Guest asianux3Guest asianux4_64Guest asianux4Guest asianux5_64Guest asianux7_64Guest centos64Guest ' +
    'centosGuest centos6Guest centos6_64Guest centos7_64Guest coreos64Guest darwin10_64Guest darwin10Guest ' +
    'darwin11_64Guest darwin11Guest darwin12_64Guest darwin13_64Guest darwin14_64Guest darwin15_64Guest ' +
    'darwin16_64Guest darwin64Guest darwinGuest debian4_64Guest debian4Guest debian5_64Guest debian5Guest ' +
    'debian6_64Guest debian6Guest debian7_64Guest debian7Guest debian8_64Guest debian8Guest debian9_64Guest ' +
    'debian9Guest debian10_64Guest debian10Guest dosGuest eComStation2Guest eComStationGuest fedora64Guest ' +
    'fedoraGuest freebsd64Guest freebsdGuest genericLinuxGuest mandrakeGuest mandriva64Guest mandrivaGuest ' +
    'netware4Guest netware5Guest netware6Guest nld9Guest oesGuest openServer5Guest openServer6Guest ' +
    'opensuse64Guest opensuseGuest oracleLinux64Guest oracleLinuxGuest oracleLinux6Guest oracleLinux6_64Guest ' +
    'oracleLinux7_64Guest os2Guest other24xLinux64Guest other24xLinuxGuest other26xLinux64Guest ' +
    'other26xLinuxGuest other3xLinux64Guest other3xLinuxGuest otherGuest otherGuest64 otherLinux64Guest ' +
    'otherLinuxGuest redhatGuest rhel2Guest rhel3_64Guest rhel3Guest rhel4_64Guest rhel4Guest rhel5_64Guest ' +
    'rhel5Guest rhel6_64Guest rhel6Guest rhel7_64Guest rhel7Guest sjdsGuest sles10_64Guest sles10Guest ' +
    'sles11_64Guest sles11Guest sles12_64Guest sles12Guest sles64Guest slesGuest solaris10_64Guest ' +
    'solaris10Guest solaris11_64Guest solaris6Guest solaris7Guest solaris8Guest solaris9Guest ' +
    'turboLinux64Guest turboLinuxGuest ubuntu64Guest ubuntuGuest unixWare7Guest vmkernel5Guest vmkernel6Guest ' +
    'vmkernel65Guest vmkernelGuest vmwarePhoton64Guest win2000AdvServGuest win2000ProGuest win2000ServGuest ' +
    'win31Guest win95Guest win98Guest windows7_64Guest windows7Guest windows7Server64Guest windows8_64Guest ' +
    'windows8Guest windows8Server64Guest windows9_64Guest windows9Guest windows9Server64Guest ' +
    'windowsHyperVGuest winLonghorn64Guest winLonghornGuest winMeGuest winNetBusinessGuest ' +
    'winNetDatacenter64Guest winNetDatacenterGuest winNetEnterprise64Guest winNetEnterpriseGuest ' +
    'winNetStandard64Guest winNetStandardGuest winNetWebGuest winNTGuest winVista64Guest winVistaGuest ' +
    'winXPHomeGuest winXPPro64Guest winXPProGuest'
  ).split(' '),
);

/**
 * The `CIM_ProcessorAllocationSettingData` elements Glance's `ovf_process` copies into
 * `cim_pasd_<Tag>` properties (glance `etc/ovf-metadata.json`); their legal values are in
 * glance `etc/metadefs/cim-processor-allocation-setting-data.json`.
 */
export const CIM_PASD_TAGS: readonly string[] = ['ProcessorArchitecture', 'InstructionSet', 'InstructionSetExtensionName'];

/**
 * The legal values of each `cim_pasd_<Tag>` property (glance
 * `etc/metadefs/cim-processor-allocation-setting-data.json`, 25.1, in its order).
 */
export const CIM_PASD_VALUES: Readonly<Record<string, ReadonlySet<string>>> = {
  ProcessorArchitecture: new Set(['x86', 'IA-64', 'AS/400', 'Power', 'S/390', 'PA-RISC', 'ARM', 'MIPS', 'Alpha', 'SPARC', '68k']),
  InstructionSet: new Set([
    'x86:i386', 'x86:i486', 'x86:i586', 'x86:i686', 'x86:64', 'IA-64:IA-64', 'AS/400:TIMI', 'Power:Power_2.03',
    'Power:Power_2.04', 'Power:Power_2.05', 'Power:Power_2.06', 'S/390:ESA/390', 'S/390:z/Architecture',
    'S/390:z/Architecture_2', 'PA-RISC:PA-RISC_1.0', 'PA-RISC:PA-RISC_2.0', 'ARM:A32', 'ARM:A64', 'MIPS:MIPS_I',
    'MIPS:MIPS_II', 'MIPS:MIPS_III', 'MIPS:MIPS_IV', 'MIPS:MIPS_V', 'MIPS:MIPS32', 'MIPS64:MIPS64', 'Alpha:Alpha',
    'SPARC:SPARC_V7', 'SPARC:SPARC_V8', 'SPARC:SPARC_V9', 'SPARC:SPARC_JPS1', 'SPARC:UltraSPARC2005',
    'SPARC:UltraSPARC2007', '68k:68000', '68k:68010', '68k:68020', '68k:68030', '68k:68040', '68k:68060',
  ]),
  InstructionSetExtensionName: new Set([
    'x86:3DNow', 'x86:3DNowExt', 'x86:ABM', 'x86:AES', 'x86:AVX', 'x86:AVX2', 'x86:BMI', 'x86:CX16', 'x86:F16C',
    'x86:FSGSBASE', 'x86:LWP', 'x86:MMX', 'x86:PCLMUL', 'x86:RDRND', 'x86:SSE2', 'x86:SSE3', 'x86:SSSE3',
    'x86:SSE4A', 'x86:SSE41', 'x86:SSE42', 'x86:FMA3', 'x86:FMA4', 'x86:XOP', 'x86:TBM', 'x86:VT-d', 'x86:VT-x',
    'x86:EPT', 'x86:SVM', 'PA-RISC:MAX', 'PA-RISC:MAX2', 'ARM:DSP', 'ARM:Jazelle-DBX', 'ARM:Thumb', 'ARM:Thumb-2',
    'ARM:ThumbEE)', 'ARM:VFP', 'ARM:NEON', 'ARM:TrustZone', 'MIPS:MDMX', 'MIPS:MIPS-3D', 'Alpha:BWX', 'Alpha:FIX',
    'Alpha:CIX', 'Alpha:MVI',
  ]),
};

// ---------------------------------------------------------------------------------------
// Containers

/** Glance's `container_format` for "the disk is inside something" with no finer name. */
export const GLANCE_GENERIC_CONTAINER_FORMAT: GlanceContainerFormat = 'compressed';

/**
 * `container_format` from the layers around the disk (`info.containers`, outermost first)
 * and what each layer's module declares (`ContainerModule.glance.containerFormat`):
 *
 * | layers | `container_format` |
 * | --- | --- |
 * | none | `bare` |
 * | a layer whose module declares a specific format (the OVA module: `ova`) | that format, wherever the layer is (Glance's `ovf_process` and Horizon take an OVA as container `ova`, disk `vmdk`) |
 * | only layers declaring `compressed` (gzip, xz, zstd, bzip2, zip, tar), or undeclared ones | `compressed` (Glance's name for "the disk is inside something"; it has no finer one) |
 */
export function containerFormatOf(
  containers: ReadonlyArray<{ format: string }> | undefined,
  modules: ReadonlyArray<{ name: string; glance?: { containerFormat: string } }>,
): GlanceContainerFormat {
  if (containers === undefined || containers.length === 0) return 'bare';
  for (const layer of containers) {
    const declared = modules.find((module) => module.name === layer.format)?.glance?.containerFormat;
    if (declared !== undefined && declared !== GLANCE_GENERIC_CONTAINER_FORMAT && (GLANCE_CONTAINER_FORMATS as readonly string[]).includes(declared)) return declared as GlanceContainerFormat;
  }
  return GLANCE_GENERIC_CONTAINER_FORMAT;
}
