/**
 * The guest's partitions, named as libguestfs names them (the disk is `/dev/sda`, its
 * partitions `/dev/sdaN` with Linux's numbers), and which of them can hold a file system.
 *
 * The partition table is read by the one function {@link readGuestPartitionTable}, so that
 * moving to another partition-table reader is a change of one line.
 *
 * Numbering (what Linux, and so libguestfs and `/etc/fstab`, call each partition):
 *
 * | scheme | `number` |
 * | --- | --- |
 * | GPT | the entry's index in the array, from 1 |
 * | MBR | 1-4 for the primary entries (their slot), 5 on for the logical partitions, in chain order |
 * | APM, Sun, SGI, Atari | the table's own numbers |
 * | BSD disklabel | the letter's position (`a` is 1) |
 *
 * Partitions that cannot hold a file system are listed but not probed, as libguestfs's
 * `list_filesystems` skips them: MBR extended partitions, and on GPT the Windows Logical
 * Disk Manager metadata and data partitions, the Microsoft Reserved Partition and the
 * Windows snapshot partition.
 *
 * @module
 */
import type { ByteReader } from '../src/format-module.js';
import { type PartitionTable, type PartitionTableScan, scanPartitionTables } from '../formats/partitions/index.js';

/** The name libguestfs gives the guest's (first) disk. */
export const GUEST_DISK_DEVICE = '/dev/sda';
/** Most partitions of one disk inspected (GPT's usual array has 128 entries). */
export const MAX_GUEST_PARTITIONS = 128;

/** GPT partition types libguestfs never probes for a file system (`listfs.ml`). */
const GPT_TYPES_WITHOUT_FILE_SYSTEM: ReadonlySet<string> = new Set([
  '5808c8aa-7e8f-42e0-85d2-e1e90434cfb3', // Windows LDM metadata
  'af9b60a0-1431-4f62-bc68-3311714a69ad', // Windows LDM data
  'e3c9e316-0b5c-4db8-817d-f92df00215ae', // Microsoft Reserved Partition
  'caddebf1-4400-4de8-b103-12117dcf3ccf', // Windows snapshot partition
]);

/**
 * One partition of the guest's disk.
 *
 * | field | meaning |
 * | --- | --- |
 * | `number`, `device` | as Linux and libguestfs name it (`3`, `/dev/sda3`) |
 * | `offset`, `size` | where it is on the disk, in bytes |
 * | `type` | the GPT type GUID, the MBR type byte as `0x83`, or the scheme's own type |
 * | `typeName` | a readable name for well-known types |
 * | `name` | the GPT partition name (what `PARTLABEL=` refers to) |
 * | `partUuid` | what `PARTUUID=` refers to: the GPT unique GUID, or the MBR disk signature and number (`1234abcd-02`) |
 * | `bootable` | MBR: the active flag |
 * | `probed` | false where libguestfs does not look for a file system (extended, LDM, MSR) |
 */
export interface GuestPartition {
  number: number;
  device: string;
  offset: number;
  size: number;
  type: string;
  typeName?: string;
  name?: string;
  partUuid?: string;
  bootable?: boolean;
  probed: boolean;
}

/** The guest disk's partitioning. */
export interface GuestPartitioning {
  /** `gpt`, `mbr`, `apm`, `bsd`, `sun`, `sgi`, `atari`; absent for a disk without a partition table. */
  scheme?: PartitionTable['scheme'];
  /** The table as read (absent without one). */
  table?: PartitionTable;
  partitions: GuestPartition[];
}

/**
 * How much of the guest disk's start the partition-table scan reads at once: two sectors
 * (the MBR, and a GPT header, an Apple map entry or a BSD disklabel at byte 512). The
 * guest disk is read in any order, so each scheme reads what it needs beyond them where it
 * is (a GPT's entry array, a 4Kn GPT header at 4096, EBRs), not a fixed 32 KiB: an MBR
 * guest's table costs 5 KiB instead of 32 KiB, a GPT guest's 17 KiB.
 */
export const GUEST_PARTITION_HEAD_BYTES = 1024;

/**
 * Reads the partition table at the start of the guest's disk (the one place that names the
 * partition-table reader).
 */
export async function readGuestPartitionTable(disk: ByteReader, warn: (message: string) => void): Promise<PartitionTableScan> {
  // The start first: a GPT whose primary header and entry array check out is what the guest
  // boots from, and the backup (16.5 KiB at the disk's end, a third of what inspecting a
  // small guest reads) would add nothing; nor would it to another scheme's table. Otherwise
  // the scan again, with the end: a damaged primary is read through the backup, and a disk
  // with a protective MBR or no table may have a lone backup GPT.
  const headWarnings: string[] = [];
  const head = await scanPartitionTables(disk, { warn: (message) => headWarnings.push(message), readEnd: false, headBytes: GUEST_PARTITION_HEAD_BYTES });
  const table = head.partitionTable;
  const whole = table?.scheme === 'gpt' ? table.headerCrcValid && table.partitionEntryArrayCrcValid === true : table !== undefined && !protectiveMbr(table);
  if (whole) {
    for (const message of headWarnings) warn(message);
    return head;
  }
  return scanPartitionTables(disk, { warn, readEnd: true, headBytes: GUEST_PARTITION_HEAD_BYTES });
}

/** An MBR with a GPT-protective entry (type 0xEE): its GPT may live on in the backup only. */
function protectiveMbr(table: PartitionTable | undefined): boolean {
  return table?.scheme === 'mbr' && table.partitions.some((entry) => entry.type === 0xee);
}

/** Libguestfs's name of partition `number` (`/dev/sda3`). */
export function partitionDevice(number: number): string {
  return `${GUEST_DISK_DEVICE}${number}`;
}

/** The partitions of a scan, numbered and named as Linux does, capped at {@link MAX_GUEST_PARTITIONS}. */
export function guestPartitions(scan: PartitionTableScan, warn: (message: string) => void): GuestPartitioning {
  const table = scan.partitionTable;
  if (table === undefined) return { partitions: [] };
  const partitions: GuestPartition[] = [];
  const add = (partition: Omit<GuestPartition, 'device'>): void => {
    partitions.push({ ...partition, device: partitionDevice(partition.number) });
  };
  switch (table.scheme) {
    case 'gpt':
      for (const entry of table.partitions) {
        add({
          number: entry.number,
          offset: entry.offset,
          size: entry.size,
          type: entry.typeGuid,
          ...(entry.typeName === undefined ? {} : { typeName: entry.typeName }),
          ...(entry.name === '' ? {} : { name: entry.name }),
          partUuid: entry.uniqueGuid,
          probed: !GPT_TYPES_WITHOUT_FILE_SYSTEM.has(entry.typeGuid),
        });
      }
      break;
    case 'mbr': {
      const signature = table.diskSignature.replace(/^0x/, '').padStart(8, '0').toLowerCase();
      const mbr = (entry: (typeof table.partitions)[number]): void => {
        add({
          number: entry.number,
          offset: entry.offset,
          size: entry.size,
          type: `0x${entry.type.toString(16).padStart(2, '0')}`,
          ...(entry.typeName === undefined ? {} : { typeName: entry.typeName }),
          partUuid: `${signature}-${entry.number.toString(16).padStart(2, '0')}`,
          bootable: entry.bootable,
          probed: !entry.extended,
        });
      };
      for (const entry of table.partitions) {
        mbr(entry);
        for (const logical of entry.logicalPartitions ?? []) mbr(logical);
      }
      break;
    }
    case 'apm':
      for (const entry of table.partitions) add({ number: entry.number, offset: entry.offset, size: entry.size, type: entry.type, ...(entry.name === '' ? {} : { name: entry.name }), probed: entry.type !== 'Apple_partition_map' && entry.type !== 'Apple_Free' });
      break;
    case 'bsd':
      for (const entry of table.partitions) add({ number: entry.letter.charCodeAt(0) - 0x60, offset: entry.offset, size: entry.size, type: String(entry.type), ...(entry.typeName === undefined ? {} : { typeName: entry.typeName }), probed: true });
      break;
    case 'sun':
    case 'sgi':
      for (const entry of table.partitions) add({ number: entry.number, offset: entry.offset, size: entry.size, type: String(entry.type), ...(entry.typeName === undefined ? {} : { typeName: entry.typeName }), probed: true });
      break;
    case 'atari':
      for (const entry of table.partitions) add({ number: entry.number, offset: entry.offset, size: entry.size, type: entry.id, probed: !entry.extended });
      break;
  }
  partitions.sort((a, b) => a.number - b.number);
  if (partitions.length > MAX_GUEST_PARTITIONS) {
    warn(`the disk has ${partitions.length} partitions; the first ${MAX_GUEST_PARTITIONS} are inspected`);
    partitions.length = MAX_GUEST_PARTITIONS;
  }
  return { scheme: table.scheme, table, partitions };
}
