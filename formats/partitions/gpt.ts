/**
 * GUID partition tables (UEFI 2.10 sections 5.3.1 to 5.3.3): the primary header at LBA 1
 * (byte 512, or 4096 on 4Kn disks) with its partition entry array, checked by their CRC-32s,
 * and the backup header at the last LBA with its own array. Recognised by `EFI PART`.
 *
 * Read in two steps, so that a stream is read forward: {@link gpt}'s `read` takes what the
 * start of the disk holds (the primary header, its entry array, the protective MBR); its
 * `finish`, once every scheme has read the start, reads the backup from the end of the disk
 * and judges both, reading the partitions from the backup when the primary is damaged, or
 * from a lone backup when the primary is gone (UEFI 2.10 5.3.2).
 *
 * @module
 */
import { bitsSet, bytesEqual, cutAtNul, crc32, hex, isAllZero, mixedEndianGuid, safeNumber, utf16leText } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import {
  GPT_HEADER_FIELD_OFFSETS,
  GPT_HEADER_SIGNATURE,
  GPT_HEADER_SIZE,
  GPT_PARTITION_ENTRY_SIZE,
  type GptHeader,
  decodeGptPartitionEntry,
  matchGptHeader,
} from '../generated/partition-table.js';
import { type MbrPartitionTable, readMbrSector } from './mbr.js';
import { type PartitionDisk, type PartitionScheme, SECTOR, type SchemeStart, type SectorZero } from './scheme.js';

/** Most GPT partition entries read (the UEFI minimum array is 128 entries of 128 bytes). */
export const MAX_GPT_PARTITION_ENTRIES = 4096;
/** Largest GPT partition entry accepted (128 x 2^n bytes, UEFI 2.10 table 5-5). */
export const MAX_GPT_PARTITION_ENTRY_SIZE = 4096;
/** Largest GPT partition entry array read, in bytes. */
export const MAX_GPT_PARTITION_ENTRY_ARRAY_BYTES = 1024 * 1024;

/** Logical sector sizes at which a GPT header is looked for (at LBA 1). */
export const GPT_SECTOR_SIZES = [512, 4096] as const;

// Type GUIDs: the UEFI Specification 2.10 table 5-7, the Discoverable Partitions
// Specification (Linux types), Microsoft's GPT documentation, Apple's and the BSDs' published GUIDs.

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
function gptTypeName(guid: string): string | undefined {
  return GPT_TYPE_NAMES.get(guid.toLowerCase());
}

/** GPT type GUID of Microsoft basic data partitions, whose attribute bits 60-63 have their own meaning. */
const GPT_TYPE_MICROSOFT_BASIC_DATA = 'ebd0a0a2-b9e5-4433-87c0-68b6b72699c7';

/** One used GPT partition entry. */
export interface GptPartition {
  /** 1-based index of the entry in the array (what `sgdisk -p` and Linux number it). */
  number: number;
  /** Partition type GUID, lower case. */
  typeGuid: string;
  /** A readable name for well-known type GUIDs. */
  typeName: string | undefined;
  /** Unique partition GUID, lower case. */
  uniqueGuid: string;
  firstLba: number;
  /** Inclusive. */
  lastLba: number;
  /** `firstLba` in bytes. */
  offset: number;
  /** `(lastLba - firstLba + 1)` sectors in bytes. */
  size: number;
  /** The 64-bit attribute mask as 16 hexadecimal digits. */
  attributes: string;
  /** Names of the attribute bits set (`required-partition`, `no-block-io-protocol`, `legacy-bios-bootable`, type-specific bits). */
  attributeNames: string[];
  /** The UTF-16LE name, cut at the first NUL. */
  name: string;
}

/**
 * What was found at the backup GPT header's location.
 *
 * | status | meaning |
 * | --- | --- |
 * | `valid` | signature, header CRC and entry-array CRC check out, and it points back at LBA 1 |
 * | `corrupt` | a header is there but a CRC or a back-pointer is wrong |
 * | `absent` | no `EFI PART` signature at that LBA |
 * | `beyond-end` | the location is past the end of the disk (a truncated image) |
 * | `unreadable` | it could not be read (a stream that did not keep those bytes) |
 * | `not-read` | not looked for (the ISO module does not read to the end of an image) |
 */
export interface GptBackupHeader {
  lba: number;
  status: 'valid' | 'corrupt' | 'absent' | 'beyond-end' | 'unreadable' | 'not-read';
  headerCrcValid: boolean | undefined;
  partitionEntryArrayCrcValid: boolean | undefined;
  /** True when its disk GUID, usable range and entry-array CRC equal the primary's. */
  matchesPrimary: boolean | undefined;
  /** True when it sits on the disk's last sector, where UEFI puts it (false: the disk was grown or cut). */
  atEndOfDisk: boolean | undefined;
}

/** A GUID partition table. */
export interface GptPartitionTable {
  scheme: 'gpt';
  /** Logical block size the LBAs count in: 512, or 4096 when the header was found at byte 4096. */
  sectorSize: number;
  /** Which header the partitions were read through: the primary, or the backup when the primary is damaged. */
  source: 'primary' | 'backup';
  /** The header's revision as `major.minor` (`1.0`). */
  revision: string;
  headerSize: number;
  headerCrc32: number;
  /** The header's CRC-32 over `headerSize` bytes checks out. */
  headerCrcValid: boolean;
  /** The LBA the header says it is at (1 for a primary header). */
  currentLba: number;
  /** The other header's LBA (for the primary: the backup's, the last LBA of the disk). */
  backupLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: string;
  partitionEntryLba: number;
  numberOfPartitionEntries: number;
  sizeOfPartitionEntry: number;
  partitionEntryArrayCrc32: number;
  /** The entry array's CRC-32 checks out; `undefined` when the array could not be read. */
  partitionEntryArrayCrcValid: boolean | undefined;
  /** What is at `backupLba`. */
  backup: GptBackupHeader;
  /** The MBR in sector 0 (protective, hybrid, or `undefined` when there is no 0x55 0xAA). */
  mbr: MbrPartitionTable | undefined;
  /** The used entries, in array order. */
  partitions: GptPartition[];
}

/** Attribute bits every GPT entry may have (UEFI 2.10 table 5-8). */
const GPT_COMMON_ATTRIBUTES: ReadonlyMap<number, string> = new Map([
  [0, 'required-partition'],
  [1, 'no-block-io-protocol'],
  [2, 'legacy-bios-bootable'],
]);

/** Microsoft basic data partitions give bits 60-63 these meanings. */
const MICROSOFT_BASIC_DATA_ATTRIBUTES: ReadonlyMap<number, string> = new Map([
  [60, 'read-only'],
  [61, 'shadow-copy'],
  [62, 'hidden'],
  [63, 'no-drive-letter'],
]);

function gptAttributeNames(mask: bigint, typeGuid: string): string[] {
  return bitsSet(mask).map((bit) => {
    const common = GPT_COMMON_ATTRIBUTES.get(bit);
    const specific = typeGuid === GPT_TYPE_MICROSOFT_BASIC_DATA ? MICROSOFT_BASIC_DATA_ATTRIBUTES.get(bit) : undefined;
    return common ?? specific ?? (bit >= 48 ? `type-specific-${bit}` : `reserved-${bit}`);
  });
}

/** The header's CRC-32 over its first `headerSize` bytes with the CRC field zeroed (UEFI 2.10 5.3.2). */
function gptHeaderCrc(sector: Uint8Array, headerSize: number): number {
  const copy = sector.slice(0, headerSize);
  const crcAt = GPT_HEADER_FIELD_OFFSETS.headerCrc32;
  copy.fill(0, crcAt, crcAt + 4);
  return crc32(copy);
}

/** A header read from one LBA, with what was checked. */
interface CheckedGptHeader {
  header: GptHeader;
  headerCrcValid: boolean;
}

/** Reads a header at `lba`; `'absent'` when there is no `EFI PART` there, `'unreadable'` when it cannot be read. */
async function readGptHeaderAt(disk: PartitionDisk, lba: number, sectorSize: number, which: string): Promise<CheckedGptHeader | 'unreadable' | 'absent'> {
  const sector = await disk.read(lba * sectorSize, sectorSize, `gpt ${which} header`);
  if (sector === undefined) return 'unreadable';
  const header = matchGptHeader(sector);
  if (header === undefined) return 'absent';
  const headerCrcValid =
    header.headerSize >= GPT_HEADER_SIZE && header.headerSize <= sector.byteLength && gptHeaderCrc(sector, header.headerSize) === header.headerCrc32;
  return { header, headerCrcValid };
}

/**
 * The first impossible value among a header's geometry fields, or `undefined` when they
 * are all possible. A header whose CRC vouches for an impossible value is refused at once
 * (`CORRUPT` or `LIMIT_EXCEEDED` naming the field); one with a bad CRC is only not used.
 */
function gptHeaderProblem(checked: CheckedGptHeader, sectorSize: number, which: string): string | undefined {
  const { header } = checked;
  const problems: Array<[code: 'CORRUPT' | 'LIMIT_EXCEEDED', name: string, message: string]> = [];
  if (header.headerSize < GPT_HEADER_SIZE || header.headerSize > sectorSize) {
    problems.push(['CORRUPT', 'headerSize', `${header.headerSize} bytes is not a valid header size (92 to ${sectorSize})`]);
  }
  const entrySize = header.sizeOfPartitionEntry;
  if (entrySize < GPT_PARTITION_ENTRY_SIZE || entrySize % GPT_PARTITION_ENTRY_SIZE !== 0 || (entrySize & (entrySize - 1)) !== 0) {
    problems.push(['CORRUPT', 'sizeOfPartitionEntry', `${entrySize} bytes is not 128 x 2^n`]);
  } else if (entrySize > MAX_GPT_PARTITION_ENTRY_SIZE) {
    problems.push(['LIMIT_EXCEEDED', 'sizeOfPartitionEntry', `${entrySize} bytes per entry is above the cap of ${MAX_GPT_PARTITION_ENTRY_SIZE}`]);
  }
  if (header.numberOfPartitionEntries > MAX_GPT_PARTITION_ENTRIES) {
    problems.push(['LIMIT_EXCEEDED', 'numberOfPartitionEntries', `${header.numberOfPartitionEntries} entries is above the cap of ${MAX_GPT_PARTITION_ENTRIES}`]);
  } else if (header.numberOfPartitionEntries * entrySize > MAX_GPT_PARTITION_ENTRY_ARRAY_BYTES) {
    problems.push(['LIMIT_EXCEEDED', 'numberOfPartitionEntries', `an entry array of ${header.numberOfPartitionEntries * entrySize} bytes is above the cap of ${MAX_GPT_PARTITION_ENTRY_ARRAY_BYTES}`]);
  }
  for (const name of ['myLba', 'alternateLba', 'firstUsableLba', 'lastUsableLba', 'partitionEntryLba'] as const) {
    if (header[name] * BigInt(sectorSize) > BigInt(Number.MAX_SAFE_INTEGER)) {
      problems.push(['CORRUPT', name, `LBA ${header[name]} is beyond any disk`]);
    }
  }
  const [first] = problems;
  if (first === undefined) return undefined;
  if (checked.headerCrcValid) throw fieldError(first[0], `gpt ${which} header.${first[1]}`, first[2]);
  return `${first[1]}: ${first[2]}`;
}

/** An entry array as read: its bytes, or why there are none. */
type EntryArray = { bytes: Uint8Array } | { missing: 'unreadable' | 'short'; offset: number };

/** Reads a header's entry array. */
async function readGptEntryArray(disk: PartitionDisk, header: GptHeader, sectorSize: number, which: string): Promise<EntryArray> {
  const length = header.numberOfPartitionEntries * header.sizeOfPartitionEntry;
  const offset = Number(header.partitionEntryLba) * sectorSize;
  const bytes = await disk.read(offset, length, `gpt ${which} partition entry array`);
  if (bytes === undefined) return { missing: 'unreadable', offset };
  if (bytes.byteLength < length) return { missing: 'short', offset };
  return { bytes };
}

/** The bytes of an entry array, or `undefined` with a warning saying why there are none. */
function entryArrayBytes(array: EntryArray, which: string, disk: PartitionDisk): Uint8Array | undefined {
  if ('bytes' in array) return array.bytes;
  if (array.missing === 'unreadable') disk.unreadable(`the ${which} GPT partition entry array`, array.offset);
  else disk.warn(`the ${which} GPT partition entry array at byte ${array.offset} runs past the end of the disk`);
  return undefined;
}

function gptPartitions(array: Uint8Array, header: GptHeader, sectorSize: number): GptPartition[] {
  const partitions: GptPartition[] = [];
  for (let index = 0; index < header.numberOfPartitionEntries; index += 1) {
    const start = index * header.sizeOfPartitionEntry;
    // An unused entry has an all-zero type GUID (UEFI 2.10 §5.3.3): most of a 128-entry array, not worth decoding.
    if (isAllZero(array.subarray(start, start + 16))) continue;
    const entry = decodeGptPartitionEntry(array.subarray(start, start + GPT_PARTITION_ENTRY_SIZE));
    const field = `gpt partition entry ${index + 1}`;
    const firstLba = safeNumber(entry.startingLba, `${field}.startingLba`);
    const lastLba = safeNumber(entry.endingLba, `${field}.endingLba`);
    const typeGuid = mixedEndianGuid(entry.partitionTypeGuid);
    const sectors = entry.endingLba >= entry.startingLba ? entry.endingLba - entry.startingLba + 1n : 0n;
    partitions.push({
      number: index + 1,
      typeGuid,
      typeName: gptTypeName(typeGuid),
      uniqueGuid: mixedEndianGuid(entry.uniquePartitionGuid),
      firstLba,
      lastLba,
      offset: safeNumber(entry.startingLba * BigInt(sectorSize), `${field}.startingLba`),
      size: safeNumber(sectors * BigInt(sectorSize), `${field}.endingLba`),
      attributes: hex(entry.attributes, 16),
      attributeNames: gptAttributeNames(entry.attributes, typeGuid),
      name: cutAtNul(utf16leText(entry.partitionName)),
    });
  }
  return partitions;
}

/** What the start of the disk says about a GPT. */
interface GptStart {
  /** Sector 0 as a protective (or hybrid) MBR, when it has the 0x55 0xAA signature and is no boot sector. */
  mbr: MbrPartitionTable | undefined;
  /** The primary header, found at LBA 1 for the first sector size that has one. */
  primary:
    | {
        checked: CheckedGptHeader;
        sectorSize: number;
        /** The first impossible value of a header with a bad CRC. */
        problem: string | undefined;
        /** Its entry array, read when the header is usable. */
        array: EntryArray | undefined;
      }
    | undefined;
}

/** Reads the primary header at LBA 1 (each sector size in turn) and, when usable, its entry array. */
async function readGptStart(disk: PartitionDisk, sector0: SectorZero): Promise<GptStart> {
  let primary: GptStart['primary'];
  for (const sectorSize of GPT_SECTOR_SIZES) {
    const found = await readGptHeaderAt(disk, 1, sectorSize, 'primary');
    if (typeof found !== 'object') continue;
    const problem = gptHeaderProblem(found, sectorSize, 'primary');
    const array = problem === undefined ? await readGptEntryArray(disk, found.header, sectorSize, 'primary') : undefined;
    primary = { checked: found, sectorSize, problem, array };
    break;
  }
  const mbrLike = sector0.mbrSignature && sector0.bootSector === undefined;
  const mbr = mbrLike ? await readMbrSector(disk, sector0.bytes, primary?.sectorSize ?? SECTOR, false) : undefined;
  return { mbr, primary };
}

/** When the primary header is missing, the backup may still be at the last LBA (UEFI 2.10 5.3.2). */
async function findBackupOnly(disk: PartitionDisk): Promise<{ checked: CheckedGptHeader; sectorSize: number; lba: number } | undefined> {
  if (!disk.readsEnd || disk.size === undefined) return undefined;
  for (const sectorSize of GPT_SECTOR_SIZES) {
    const lastLba = Math.floor(disk.size / sectorSize) - 1;
    if (lastLba < 2) continue;
    const found = await readGptHeaderAt(disk, lastLba, sectorSize, 'backup');
    // A backup header says where it is (MyLBA); one that is elsewhere was copied out of another disk.
    if (typeof found === 'object' && found.headerCrcValid && found.header.myLba === BigInt(lastLba)) {
      return { checked: found, sectorSize, lba: lastLba };
    }
  }
  return undefined;
}

/** The table: the primary (or the backup in its place) judged against the backup at the end of the disk. */
async function finishGpt(disk: PartitionDisk, start: GptStart): Promise<GptPartitionTable | undefined> {
  const { mbr, primary } = start;
  if (primary === undefined) {
    // An MBR without a protective entry is a plain MBR disk: no reason to look for a lone backup header.
    if (mbr !== undefined && mbr.gptProtection === 'none') return undefined;
    const backupOnly = await findBackupOnly(disk);
    if (backupOnly === undefined) {
      if (mbr?.gptProtection === 'protective') disk.warn('the MBR has a GPT protective partition but there is no GPT header, neither at LBA 1 nor at the end');
      return undefined;
    }
    disk.warn(`no primary GPT header at LBA 1; the partitions come from the backup header at LBA ${backupOnly.lba}`);
    const verdict = await judgeBackup(disk, backupOnly.checked, unjudgedBackup(disk, backupOnly.lba, backupOnly.sectorSize), undefined, backupOnly.sectorSize);
    const array = await readGptEntryArray(disk, backupOnly.checked.header, backupOnly.sectorSize, 'backup');
    return assembleGpt(disk, backupOnly.checked, backupOnly.sectorSize, 'backup', array, mbr, verdict);
  }
  const { checked, sectorSize, problem } = primary;
  if (mbr === undefined) disk.warn('a GPT header is present but sector 0 holds no MBR (UEFI requires a protective MBR)');
  else if (mbr.gptProtection === 'none') disk.warn('a GPT header is present but the MBR has no 0xEE protective partition');
  if (!checked.headerCrcValid) disk.warn('the primary GPT header CRC does not match');
  if (problem !== undefined) disk.warn(`the primary GPT header has a bad CRC and impossible values (${problem})`);
  const usable = problem === undefined;
  // A damaged primary cannot be trusted to say where the backup is: UEFI puts it on the last LBA.
  const trusted = usable && checked.headerCrcValid;
  const backupLba = trusted ? clampToSafe(checked.header.alternateLba) : lastLba(disk, sectorSize) ?? clampToSafe(checked.header.alternateLba);
  const backup = await readBackupGpt(disk, backupLba, trusted ? checked.header : undefined, sectorSize);
  if (!checked.headerCrcValid && backup.verdict.status === 'valid' && backup.checked !== undefined) {
    disk.warn(`the partitions come from the backup GPT header at LBA ${backup.verdict.lba}`);
    const array = await readGptEntryArray(disk, backup.checked.header, sectorSize, 'backup');
    return assembleGpt(disk, backup.checked, sectorSize, 'backup', array, mbr, backup.verdict);
  }
  if (primary.array === undefined) {
    return { ...headerFields(checked, sectorSize), source: 'primary', partitionEntryArrayCrcValid: undefined, backup: backup.verdict, mbr, partitions: [] };
  }
  return assembleGpt(disk, checked, sectorSize, 'primary', primary.array, mbr, backup.verdict);
}

function clampToSafe(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

/** The disk's last LBA for `sectorSize`, when its size is known. */
function lastLba(disk: PartitionDisk, sectorSize: number): number | undefined {
  return disk.size === undefined ? undefined : Math.floor(disk.size / sectorSize) - 1;
}

function headerFields(checked: CheckedGptHeader, sectorSize: number) {
  const { header } = checked;
  return {
    scheme: 'gpt' as const,
    sectorSize,
    revision: `${header.revision >>> 16}.${header.revision & 0xffff}`,
    headerSize: header.headerSize,
    headerCrc32: header.headerCrc32,
    headerCrcValid: checked.headerCrcValid,
    currentLba: clampToSafe(header.myLba),
    backupLba: clampToSafe(header.alternateLba),
    firstUsableLba: clampToSafe(header.firstUsableLba),
    lastUsableLba: clampToSafe(header.lastUsableLba),
    diskGuid: mixedEndianGuid(header.diskGuid),
    partitionEntryLba: clampToSafe(header.partitionEntryLba),
    numberOfPartitionEntries: header.numberOfPartitionEntries,
    sizeOfPartitionEntry: header.sizeOfPartitionEntry,
    partitionEntryArrayCrc32: header.partitionEntryArrayCrc32,
  };
}

function assembleGpt(
  disk: PartitionDisk,
  checked: CheckedGptHeader,
  sectorSize: number,
  source: 'primary' | 'backup',
  entryArray: EntryArray,
  mbr: MbrPartitionTable | undefined,
  backup: GptBackupHeader,
): GptPartitionTable {
  const { header } = checked;
  const array = entryArrayBytes(entryArray, source, disk);
  const partitionEntryArrayCrcValid = array === undefined ? undefined : crc32(array) === header.partitionEntryArrayCrc32;
  if (partitionEntryArrayCrcValid === false && source === 'primary') disk.warn('the primary GPT partition entry array CRC does not match');
  return {
    ...headerFields(checked, sectorSize),
    source,
    partitionEntryArrayCrcValid,
    backup,
    mbr,
    partitions: array === undefined ? [] : gptPartitions(array, header, sectorSize),
  };
}

function unjudgedBackup(disk: PartitionDisk, lba: number, sectorSize: number): GptBackupHeader {
  const last = lastLba(disk, sectorSize);
  return {
    lba,
    status: 'not-read',
    headerCrcValid: undefined,
    partitionEntryArrayCrcValid: undefined,
    matchesPrimary: undefined,
    atEndOfDisk: last === undefined ? undefined : lba === last,
  };
}

/** Checks the backup header at `lba` (UEFI 2.10 5.3.2: valid CRCs, MyLBA and AlternateLBA swapped). */
async function readBackupGpt(
  disk: PartitionDisk,
  lba: number,
  primary: GptHeader | undefined,
  sectorSize: number,
): Promise<{ verdict: GptBackupHeader; checked: CheckedGptHeader | undefined }> {
  const verdict = unjudgedBackup(disk, lba, sectorSize);
  if (!disk.readsEnd) return { verdict, checked: undefined };
  if (verdict.atEndOfDisk === false) {
    disk.warn(`the backup GPT header is at LBA ${lba}, not at the disk's last sector ${lastLba(disk, sectorSize)}`);
  }
  if (disk.size !== undefined && (lba + 1) * sectorSize > disk.size) {
    disk.warn(`the backup GPT header's LBA ${lba} is beyond the end of the disk`);
    return { verdict: { ...verdict, status: 'beyond-end' }, checked: undefined };
  }
  const found = await readGptHeaderAt(disk, lba, sectorSize, 'backup');
  if (found === 'unreadable') {
    disk.unreadable('the backup GPT header', lba * sectorSize);
    return { verdict: { ...verdict, status: 'unreadable' }, checked: undefined };
  }
  if (found === 'absent') {
    disk.warn(`there is no backup GPT header at LBA ${lba}`);
    return { verdict: { ...verdict, status: 'absent' }, checked: undefined };
  }
  return { verdict: await judgeBackup(disk, found, verdict, primary, sectorSize), checked: found };
}

async function judgeBackup(disk: PartitionDisk, found: CheckedGptHeader, verdict: GptBackupHeader, primary: GptHeader | undefined, sectorSize: number): Promise<GptBackupHeader> {
  const { header } = found;
  const pointsBack = header.myLba === BigInt(verdict.lba) && header.alternateLba === 1n;
  let partitionEntryArrayCrcValid: boolean | undefined;
  // A backup whose CRC checks out has possible values, or it is refused (gptHeaderProblem throws).
  if (found.headerCrcValid && gptHeaderProblem(found, sectorSize, 'backup') === undefined) {
    const array = entryArrayBytes(await readGptEntryArray(disk, header, sectorSize, 'backup'), 'backup', disk);
    partitionEntryArrayCrcValid = array === undefined ? undefined : crc32(array) === header.partitionEntryArrayCrc32;
  }
  const matchesPrimary =
    primary === undefined
      ? undefined
      : bytesEqual(header.diskGuid, 0, primary.diskGuid) &&
        header.firstUsableLba === primary.firstUsableLba &&
        header.lastUsableLba === primary.lastUsableLba &&
        header.partitionEntryArrayCrc32 === primary.partitionEntryArrayCrc32;
  const valid = found.headerCrcValid && pointsBack && partitionEntryArrayCrcValid !== false;
  if (!found.headerCrcValid) disk.warn('the backup GPT header CRC does not match');
  else if (!pointsBack) disk.warn(`the backup GPT header at LBA ${verdict.lba} does not point back at LBA 1`);
  if (partitionEntryArrayCrcValid === false) disk.warn('the backup GPT partition entry array CRC does not match');
  if (matchesPrimary === false) disk.warn('the backup GPT header does not match the primary');
  return {
    ...verdict,
    status: valid ? 'valid' : 'corrupt',
    headerCrcValid: found.headerCrcValid,
    partitionEntryArrayCrcValid,
    matchesPrimary,
  };
}

/** The GPT scheme. */
export const gpt: PartitionScheme<GptPartitionTable> = {
  scheme: 'gpt',
  title: 'GUID partition table',
  markers: [
    { offset: SECTOR, length: SECTOR, matches: (bytes) => matchGptHeader(bytes) !== undefined },
    { offset: GPT_SECTOR_SIZES[1], length: GPT_HEADER_SIGNATURE.length, matches: (bytes) => bytesEqual(bytes, 0, GPT_HEADER_SIGNATURE) },
  ],
  async read(disk, sector0): Promise<SchemeStart<GptPartitionTable>> {
    const start = await readGptStart(disk, sector0);
    return { found: start.primary !== undefined, finish: (end) => finishGpt(end, start) };
  },
};
