/**
 * Readable names for partition type codes: MBR type bytes, GPT type GUIDs, and the type
 * codes of the Sun, SGI and BSD labels. Only well-known values are named; anything else
 * gets `undefined` and the caller reports the raw code.
 *
 * Sources: the UEFI Specification 2.10 table 5-7 (EFI System, legacy MBR), the Discoverable
 * Partitions Specification (Linux types), Microsoft's GPT documentation (basic data,
 * reserved, recovery, LDM), Apple's and the BSDs' published GUIDs; MBR type bytes as
 * catalogued by Andries Brouwer's partition type list and used by fdisk.
 *
 * @module
 */

/** Names of MBR partition type bytes. */
const MBR_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, 'Empty'],
  [0x01, 'FAT12'],
  [0x04, 'FAT16 <32M'],
  [0x05, 'Extended'],
  [0x06, 'FAT16'],
  [0x07, 'HPFS/NTFS/exFAT'],
  [0x0b, 'W95 FAT32'],
  [0x0c, 'W95 FAT32 (LBA)'],
  [0x0e, 'W95 FAT16 (LBA)'],
  [0x0f, "W95 Ext'd (LBA)"],
  [0x11, 'Hidden FAT12'],
  [0x12, 'Compaq diagnostics'],
  [0x14, 'Hidden FAT16 <32M'],
  [0x16, 'Hidden FAT16'],
  [0x17, 'Hidden HPFS/NTFS'],
  [0x1b, 'Hidden W95 FAT32'],
  [0x1c, 'Hidden W95 FAT32 (LBA)'],
  [0x1e, 'Hidden W95 FAT16 (LBA)'],
  [0x27, 'Hidden NTFS WinRE'],
  [0x39, 'Plan 9'],
  [0x41, 'PPC PReP Boot'],
  [0x42, 'SFS'],
  [0x63, 'GNU HURD or SysV'],
  [0x81, 'Minix / old Linux'],
  [0x82, 'Linux swap / Solaris'],
  [0x83, 'Linux'],
  [0x84, 'OS/2 hidden or Intel hibernation'],
  [0x85, 'Linux extended'],
  [0x86, 'NTFS volume set'],
  [0x87, 'NTFS volume set'],
  [0x8e, 'Linux LVM'],
  [0xa0, 'IBM Thinkpad hibernation'],
  [0xa5, 'FreeBSD'],
  [0xa6, 'OpenBSD'],
  [0xa8, 'Darwin UFS'],
  [0xa9, 'NetBSD'],
  [0xab, 'Darwin boot'],
  [0xaf, 'HFS / HFS+'],
  [0xb7, 'BSDI fs'],
  [0xbe, 'Solaris boot'],
  [0xbf, 'Solaris'],
  [0xda, 'Non-FS data'],
  [0xde, 'Dell Utility'],
  [0xea, 'Linux extended boot'],
  [0xeb, 'BeOS fs'],
  [0xee, 'GPT'],
  [0xef, 'EFI (FAT-12/16/32)'],
  [0xfb, 'VMware VMFS'],
  [0xfc, 'VMware VMKCORE'],
  [0xfd, 'Linux raid autodetect'],
]);

/** MBR type bytes of extended partitions, whose space holds a chain of extended boot records. */
export const MBR_EXTENDED_TYPES: ReadonlySet<number> = new Set([0x05, 0x0f, 0x85]);

/** MBR type byte of the GPT protective partition (UEFI 2.10 section 5.2.3). */
export const MBR_TYPE_GPT_PROTECTIVE = 0xee;

/** MBR type bytes of BSD slices, which carry a nested BSD disklabel in their second sector. */
export const MBR_BSD_TYPES: ReadonlySet<number> = new Set([0xa5, 0xa6, 0xa9]);

/** The readable name of an MBR partition type byte, if it is a well-known one. */
export function mbrTypeName(type: number): string | undefined {
  return MBR_TYPE_NAMES.get(type);
}

/** Names of GPT partition type GUIDs (lower case, dashed). */
const GPT_TYPE_NAMES: ReadonlyMap<string, string> = new Map([
  ['00000000-0000-0000-0000-000000000000', 'Unused entry'],
  ['c12a7328-f81f-11d2-ba4b-00a0c93ec93b', 'EFI System'],
  ['024dee41-33e7-11d3-9d69-0008c781f39f', 'MBR partition scheme'],
  ['21686148-6449-6e6f-744e-656564454649', 'BIOS boot'],
  ['d3bfe2de-3daf-11df-ba40-e3a556d89593', 'Intel Fast Flash'],
  ['f4019732-066e-4e12-8273-346c5641494f', 'Sony boot partition'],
  ['bfbfafe7-a34f-448a-9a5b-6213eb736c22', 'Lenovo boot partition'],
  ['e3c9e316-0b5c-4db8-817d-f92df00215ae', 'Microsoft reserved'],
  ['ebd0a0a2-b9e5-4433-87c0-68b6b72699c7', 'Microsoft basic data'],
  ['5808c8aa-7e8f-42e0-85d2-e1e90434cfb3', 'Microsoft LDM metadata'],
  ['af9b60a0-1431-4f62-bc68-3311714a69ad', 'Microsoft LDM data'],
  ['de94bba4-06d1-4d40-a16a-bfd50179d6ac', 'Windows recovery environment'],
  ['e75caf8f-f680-4cee-afa3-b001e56efc2d', 'Microsoft Storage Spaces'],
  ['0fc63daf-8483-4772-8e79-3d69d8477de4', 'Linux filesystem'],
  ['0657fd6d-a4ab-43c4-84e5-0933c84b4f4f', 'Linux swap'],
  ['e6d6d379-f507-44c2-a23c-238f2a3df928', 'Linux LVM'],
  ['a19d880f-05fc-4d3b-a006-743f0f84911e', 'Linux RAID'],
  ['933ac7e1-2eb4-4f13-b844-0e14e2aef915', 'Linux home'],
  ['3b8f8425-20e0-4f3b-907f-1a25a76f98e8', 'Linux server data'],
  ['8da63339-0007-60c0-c436-083ac8230908', 'Linux reserved'],
  ['bc13c2ff-59e6-4262-a352-b275fd6f7172', 'Linux extended boot'],
  ['4d21b016-b534-45c2-a9fb-5c16e091fd2d', 'Linux variable data'],
  ['7ec6f557-3bc5-4aca-b293-16ef5df639d1', 'Linux temporary data'],
  ['ca7d7ccb-63ed-4c53-861c-1742536059cc', 'Linux LUKS'],
  ['7ffec5c9-2d00-49b7-8941-3ea10a5586b7', 'Linux dm-crypt'],
  ['44479540-f297-41b2-9af7-d131d5f0458a', 'Linux root (x86)'],
  ['4f68bce3-e8cd-4db1-96e7-fbcaf984b709', 'Linux root (x86-64)'],
  ['69dad710-2ce4-4e3c-b16c-21a1d49abed3', 'Linux root (ARM)'],
  ['b921b045-1df0-41c3-af44-4c6f280d3fae', 'Linux root (ARM-64)'],
  ['993d8d3d-f80e-4225-855a-9daf8ed7ea97', 'Linux root (IA-64)'],
  ['72ec70a6-cf74-40e6-bd49-4bda08e8f224', 'Linux root (RISC-V-64)'],
  ['75250d76-8cc6-458e-bd66-bd47cc81a812', 'Linux /usr (x86)'],
  ['8484680c-9521-48c6-9c11-b0720656f69e', 'Linux /usr (x86-64)'],
  ['b0e01050-ee5f-4390-949a-9101b17104e9', 'Linux /usr (ARM-64)'],
  ['48465300-0000-11aa-aa11-00306543ecac', 'Apple HFS/HFS+'],
  ['7c3457ef-0000-11aa-aa11-00306543ecac', 'Apple APFS'],
  ['55465300-0000-11aa-aa11-00306543ecac', 'Apple UFS'],
  ['52414944-0000-11aa-aa11-00306543ecac', 'Apple RAID'],
  ['426f6f74-0000-11aa-aa11-00306543ecac', 'Apple boot'],
  ['4c616265-6c00-11aa-aa11-00306543ecac', 'Apple label'],
  ['5265636f-7665-11aa-aa11-00306543ecac', 'Apple TV recovery'],
  ['53746f72-6167-11aa-aa11-00306543ecac', 'Apple Core storage'],
  ['6a898cc3-1dd2-11b2-99a6-080020736631', 'Solaris /usr & Apple ZFS'],
  ['6a82cb45-1dd2-11b2-99a6-080020736631', 'Solaris boot'],
  ['6a85cf4d-1dd2-11b2-99a6-080020736631', 'Solaris root'],
  ['83bd6b9d-7f41-11dc-be0b-001560b84f0f', 'FreeBSD boot'],
  ['516e7cb4-6ecf-11d6-8ff8-00022d09712b', 'FreeBSD data'],
  ['516e7cb5-6ecf-11d6-8ff8-00022d09712b', 'FreeBSD swap'],
  ['516e7cb6-6ecf-11d6-8ff8-00022d09712b', 'FreeBSD UFS'],
  ['516e7cb8-6ecf-11d6-8ff8-00022d09712b', 'FreeBSD Vinum'],
  ['516e7cba-6ecf-11d6-8ff8-00022d09712b', 'FreeBSD ZFS'],
  ['824cc7a0-36a8-11e3-890a-952519ad3f61', 'OpenBSD data'],
  ['49f48d32-b10e-11dc-b99b-0019d1879648', 'NetBSD swap'],
  ['49f48d5a-b10e-11dc-b99b-0019d1879648', 'NetBSD FFS'],
  ['fe3a2a5d-4f32-41a7-b725-accc3285a309', 'ChromeOS kernel'],
  ['3cb8e202-3b7e-47dd-8a3c-7ff2a13cfcec', 'ChromeOS root fs'],
  ['2e0a753d-9e48-43b0-8337-b15192cb1b5e', 'ChromeOS reserved'],
  ['aa31e02a-400f-11db-9590-000c2911d1b8', 'VMware VMFS'],
  ['9198effc-31c0-11db-8f78-000c2911d1b8', 'VMware reserved'],
  ['9d275380-40ad-11db-bf97-000c2911d1b8', 'VMware kcore crash protection'],
]);

/** The readable name of a GPT partition type GUID (lower case, dashed), if it is a well-known one. */
export function gptTypeName(guid: string): string | undefined {
  return GPT_TYPE_NAMES.get(guid.toLowerCase());
}

/** GPT type GUID of Microsoft basic data partitions, whose attribute bits 60-63 have their own meaning. */
export const GPT_TYPE_MICROSOFT_BASIC_DATA = 'ebd0a0a2-b9e5-4433-87c0-68b6b72699c7';

/** Names of Sun VTOC partition tags. */
const SUN_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, 'Unassigned'],
  [0x01, 'Boot'],
  [0x02, 'SunOS root'],
  [0x03, 'SunOS swap'],
  [0x04, 'SunOS usr'],
  [0x05, 'Whole disk'],
  [0x06, 'SunOS stand'],
  [0x07, 'SunOS var'],
  [0x08, 'SunOS home'],
  [0x09, 'SunOS alt sectors'],
  [0x0a, 'SunOS cachefs'],
  [0x0b, 'SunOS reserved'],
  [0x82, 'Linux swap'],
  [0x83, 'Linux native'],
  [0x8e, 'Linux LVM'],
  [0xfd, 'Linux raid autodetect'],
]);

/** The readable name of a Sun VTOC partition tag. */
export function sunTypeName(type: number): string | undefined {
  return SUN_TYPE_NAMES.get(type);
}

/** Names of SGI volume header partition types. */
const SGI_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, 'SGI volhdr'],
  [0x01, 'SGI trkrepl'],
  [0x02, 'SGI secrepl'],
  [0x03, 'SGI raw'],
  [0x04, 'SGI bsd'],
  [0x05, 'SGI sysv'],
  [0x06, 'SGI volume'],
  [0x07, 'SGI efs'],
  [0x08, 'SGI lvol'],
  [0x09, 'SGI rlvol'],
  [0x0a, 'SGI xfs'],
  [0x0b, 'SGI xfslog'],
  [0x0c, 'SGI xlv'],
  [0x0d, 'SGI xvm'],
  [0x82, 'Linux swap'],
  [0x83, 'Linux native'],
  [0x8e, 'Linux LVM'],
  [0xfd, 'Linux RAID'],
]);

/** The readable name of an SGI partition type. */
export function sgiTypeName(type: number): string | undefined {
  return SGI_TYPE_NAMES.get(type);
}

/** Names of BSD disklabel file system types (`p_fstype`), as 4.4BSD numbered them. */
const BSD_TYPE_NAMES: readonly string[] = [
  'unused',
  'swap',
  'Version 6',
  'Version 7',
  'System V',
  '4.1BSD',
  'Eighth Edition',
  '4.2BSD',
  'MS-DOS',
  '4.4LFS',
  'unknown',
  'HPFS',
  'ISO-9660',
  'boot',
  'ADOS',
  'HFS',
  'AdvFS',
];

/** The readable name of a BSD disklabel file system type. */
export function bsdTypeName(type: number): string | undefined {
  return BSD_TYPE_NAMES[type];
}
