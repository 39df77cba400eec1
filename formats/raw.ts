/**
 * Raw: the fallback when no other format matches. The virtual size is the exact byte
 * count; the metadata is the disk's partition table, if it has one.
 *
 * qemu rounds a raw file's size up to whole 512-byte sectors; we report the exact byte
 * count (what OpenStack's inspector reports too). The two agree for every real disk,
 * whose size is a whole number of sectors.
 *
 * What is read, and from where:
 *
 * | structure | where | how |
 * | --- | --- | --- |
 * | MBR, GPT header and entries, APM, BSD, Sun, SGI, Atari labels | the first {@link RAW_HEAD_BYTES} bytes | kept from detection |
 * | extended boot records (logical partitions), nested BSD labels | anywhere | read in a first pass, forward only, before the end is sought |
 * | backup GPT header and entries | the end of the disk | within the last {@link RAW_TAIL_BYTES} bytes, kept when the end is reached |
 *
 * The same rule applies to every kind of source, so that a file and a stream of it give
 * the same answer: links to structures are followed forward only (a chain of extended boot
 * records that points back is reported incomplete, with a warning, from a file too).
 *
 * @module
 */
import { bytesEqual, u32le } from '../src/bytes.js';
import { isIntrospectionError } from '../src/errors.js';
import type { ByteReader, FormatModule, ParseContext } from '../src/format-module.js';
import { firmwareFromPartitionTable, firmwareProperties } from '../src/glance/vocabulary.js';
import { type SafetyCheck, fail, pass } from '../src/safety.js';
import {
  BSD_DISKLABEL_MAGIC,
  GPT_HEADER_SIGNATURE,
  matchApmDriverDescriptorMap,
  matchApmPartitionEntry,
  matchGptHeader,
  matchMbrSector,
  matchSgiVolumeHeader,
  matchSunDiskLabel,
} from './generated/partition-table.js';
import type { BootSectorFilesystem } from './shared/boot-sector.js';
import { partitionTableRows } from './shared/partition-table-summary.js';
import { type DiskBytes, type GptPartitionTable, type MbrPartitionTable, type PartitionTable, scanPartitionTables } from './shared/partition-table.js';

/** Bytes from the start of a raw disk its module needs on a stream: every table's primary structures (a 4Kn GPT's 128 entries end at 24 KiB). */
export const RAW_HEAD_BYTES = 32 * 1024;
/** Bytes from the end of a raw disk its module needs on a stream: a backup GPT (16 KiB of entries and a header of up to 4 KiB). */
export const RAW_TAIL_BYTES = 20 * 1024;

/** Raw disk metadata. */
export interface RawDetails {
  /** The image's length in bytes. */
  size: number;
  /** The partition table: GPT, MBR, Apple Partition Map, BSD, Sun, SGI or Atari (see `scheme`). */
  partitionTable: PartitionTable | undefined;
  /** Further partition tables found alongside the first (e.g. an Apple map beside an MBR). */
  otherPartitionTables: PartitionTable[];
  /**
   * `fat`, `ntfs` or `exfat` when sector 0 is that file system's boot sector (a disk formatted
   * without partitions); such a sector is never read as an MBR.
   */
  filesystem: 'fat' | 'ntfs' | 'exfat' | undefined;
  /** What the file system's boot sector says, when there is one. */
  bootSector: BootSectorFilesystem | undefined;
}

/** At most this much is read ahead of the end in the first pass (extended boot records, BSD labels, a far GPT entry array). */
export const RAW_FORWARD_READ_BYTES = 1024 * 1024;

/**
 * The first pass: reads what the partition tables point at, in ascending order only, and
 * keeps it for the second pass. Anything behind a previous read is not read (on any source).
 */
class ForwardPass {
  readonly kept = new Map<string, Uint8Array>();
  private end = 0;
  private keptBytes = 0;

  constructor(private readonly reader: ByteReader) {}

  disk(head: Uint8Array): DiskBytes {
    return {
      head,
      size: undefined,
      readBackupGpt: false,
      unreadableReason: 'not read',
      warn: () => undefined,
      read: async (offset, length, field) => {
        const kept = this.kept.get(`${offset}:${length}`);
        if (kept !== undefined) return kept;
        if (offset < this.end || this.keptBytes + length > RAW_FORWARD_READ_BYTES) return undefined;
        const bytes = await this.reader.readAvailable(offset, length, field);
        this.kept.set(`${offset}:${length}`, bytes);
        this.keptBytes += length;
        this.end = offset + length;
        return bytes;
      },
    };
  }
}

/** The second pass: the head, what the first pass kept, and the tail (the backup GPT). */
function finalDisk(reader: ByteReader, head: Uint8Array, size: number, forward: ForwardPass, context: ParseContext): DiskBytes {
  const tailStart = Math.max(0, size - RAW_TAIL_BYTES);
  return {
    head,
    size,
    readBackupGpt: true,
    unreadableReason: 'it lies before a structure read earlier (links are followed forward only, so that a file and a stream give the same answer)',
    warn: (message) => context.warn(message),
    async read(offset, length, field) {
      const kept = forward.kept.get(`${offset}:${length}`);
      if (kept !== undefined) return kept;
      if (offset < tailStart) return undefined;
      try {
        return await reader.readAvailable(offset, length, field);
      } catch (error) {
        if (isIntrospectionError(error) && error.code === 'UNSUPPORTED') return undefined;
        throw error;
      }
    },
  };
}

const SECTOR_BYTES = 512;

/**
 * The markers of the schemes the probe counts, in the first two sectors: the MBR signature
 * (also every GPT's protective MBR), a GPT header at LBA 1, Apple's driver map and map
 * entry, a BSD disklabel (sector 1 or byte 64), Sun's and SGI's label magics.
 */
function mayHoldPartitionTable(first: Uint8Array): boolean {
  const second = first.subarray(SECTOR_BYTES);
  // A little-endian BSD magic is enough here: the scan then reads the label in either order.
  const bsdMagicAt = (offset: number) => offset + 4 <= first.byteLength && u32le(first, offset) === BSD_DISKLABEL_MAGIC;
  return (
    matchMbrSector(first) !== undefined ||
    matchGptHeader(second) !== undefined ||
    (matchApmDriverDescriptorMap(first) !== undefined && matchApmPartitionEntry(second) !== undefined) ||
    bsdMagicAt(SECTOR_BYTES) ||
    bsdMagicAt(64) ||
    matchSunDiskLabel(first) !== undefined ||
    matchSgiVolumeHeader(first) !== undefined
  );
}

/** Partition schemes strong enough to count as a second reading of an image's first bytes (Atari's plausibility rules are not). */
const PROBED_SCHEMES = new Set(['mbr', 'gpt', 'apm', 'bsd', 'sun', 'sgi']);

/**
 * The fallback's probe: the head holds a partition table with at least one partition (a
 * file system's boot sector is not one). Used to tell that the bytes of another format are
 * also a partitioned disk (the `multiple_formats` check).
 */
async function probePartitionTable(reader: ByteReader): Promise<boolean> {
  // A cheap look first, so that the probe of every image reads two sectors, not 32 KiB.
  const first = await reader.readAvailable(0, 2 * SECTOR_BYTES, 'head');
  const gpt4k = await reader.readAvailable(4096, 8, 'head');
  if (!mayHoldPartitionTable(first) && !bytesEqual(gpt4k, 0, GPT_HEADER_SIGNATURE)) return false;
  const head = await reader.readAvailable(0, RAW_HEAD_BYTES, 'head');
  const scan = await scanPartitionTables({
    head,
    size: undefined,
    readBackupGpt: false,
    unreadableReason: 'not read',
    warn: () => undefined,
    read: async () => undefined,
  });
  const table = scan.partitionTable;
  return table !== undefined && PROBED_SCHEMES.has(table.scheme) && table.partitions.length > 0;
}

/** The MBR of a raw disk: sector 0 itself, or a GPT disk's protective (or hybrid) MBR. */
function mbrOf(details: RawDetails): MbrPartitionTable | undefined {
  const table = details.partitionTable;
  if (table?.scheme === 'mbr') return table;
  if (table?.scheme === 'gpt') return table.mbr;
  return undefined;
}

const PROTECTIVE_TYPE = 0xee;
const hexByte = (value: number) => `0x${value.toString(16).padStart(2, '0')}`;

/**
 * `mbr`: OpenStack's rules for a master boot record (glance-as-defender): every boot flag is
 * 0x00 or 0x80; a protective 0xEE entry starts at CHS 0/0/2 and LBA 1 and is alone in the
 * first slot; at least one entry is used. A file system's boot sector (FAT, NTFS, exFAT) is not
 * an MBR and passes (OpenStack's false alarm, nova bug 2079850).
 */
const mbrCheck: SafetyCheck<RawDetails, 'mbr'> = {
  name: 'mbr',
  description: 'an MBR that breaks the partition table rules (boot flags, protective entry, no partitions)',
  run(details) {
    if (details.filesystem !== undefined) return pass(`sector 0 is a file system boot sector (${details.filesystem}), not an MBR`);
    const mbr = mbrOf(details);
    if (mbr === undefined) return pass('no MBR');
    const badFlag = mbr.statusBytes.findIndex((status) => status !== 0x00 && status !== 0x80);
    if (badFlag !== -1) return fail(`partition entry ${badFlag + 1} has boot flag ${hexByte(mbr.statusBytes[badFlag] as number)} (only 0x00 and 0x80 are valid)`);
    if (mbr.partitions.length === 0) return fail('no partitions defined');
    const protective = mbr.partitions.find((partition) => partition.type === PROTECTIVE_TYPE);
    if (protective !== undefined) {
      const [head, sector, cylinder] = protective.startChs.bytes;
      if (head !== 0x00 || sector !== 0x02 || cylinder !== 0x00) {
        return fail(`the protective (0xEE) entry starts at CHS bytes ${protective.startChs.bytes.map(hexByte).join(' ')}, not 00 02 00`);
      }
      if (protective.startLba !== 1) return fail(`the protective (0xEE) entry starts at LBA ${protective.startLba}, not 1`);
      if (protective.slot !== 1 || mbr.partitions.length > 1) {
        return fail(`invalid extra partitions beside the protective entry (a hybrid MBR: ${mbr.partitions.map((partition) => `slot ${partition.slot} type ${hexByte(partition.type)}`).join(', ')})`);
      }
    }
    return pass(`${mbr.partitions.length} partition${mbr.partitions.length === 1 ? '' : 's'}${protective === undefined ? '' : ', protective'}`);
  },
};

function outsideUsable(table: GptPartitionTable): string | undefined {
  const outside = table.partitions.find((partition) => partition.firstLba < table.firstUsableLba || partition.lastLba > table.lastUsableLba || partition.lastLba < partition.firstLba);
  if (outside === undefined) return undefined;
  return `partition ${outside.number} (LBA ${outside.firstLba}..${outside.lastLba}) lies outside the usable LBAs ${table.firstUsableLba}..${table.lastUsableLba}`;
}

/**
 * `gpt`: a GUID partition table must check out by its CRC-32s (UEFI 2.10 section 5.3.2):
 * the primary header and the partition entry array; a table read from the backup because
 * the primary is damaged fails; every partition must lie within the usable LBAs.
 */
const gptCheck: SafetyCheck<RawDetails, 'gpt'> = {
  name: 'gpt',
  description: 'a GPT whose CRCs do not check out, or whose partitions lie outside the disk',
  run(details) {
    const table = details.partitionTable;
    if (table?.scheme !== 'gpt') return pass('no GPT');
    if (table.source !== 'primary') return fail('the primary GPT header is damaged; the partitions come from the backup');
    if (!table.headerCrcValid) return fail('the primary GPT header CRC-32 does not match');
    if (table.partitionEntryArrayCrcValid === undefined) return fail('the partition entry array could not be read');
    if (!table.partitionEntryArrayCrcValid) return fail('the partition entry array CRC-32 does not match');
    const outside = outsideUsable(table);
    if (outside !== undefined) return fail(outside);
    const backup = table.backup.status === 'valid' ? 'backup valid' : `backup ${table.backup.status}`;
    return pass(`CRCs check out, ${table.partitions.length} partition${table.partitions.length === 1 ? '' : 's'}, ${backup}`);
  },
};

/** Glance `disk_format` values that say "plain bytes, nothing to inspect" (kernel, ramdisk, machine images). */
const UNINSPECTABLE_DISK_FORMATS = new Set(['ami', 'ari', 'aki']);

/**
 * Declarations other than `raw` that a raw disk may carry: `gpt` when it holds a partition
 * table; `ami`/`ari`/`aki` only when nothing at all is recognised in it (their content
 * cannot be checked, so any structure is a reason to refuse).
 */
function declaredAsRaw(declared: string, details: RawDetails): { accept: boolean; reason: string } | undefined {
  const partitioned = details.partitionTable !== undefined && details.partitionTable !== null;
  if (declared === 'gpt') return partitioned ? { accept: true, reason: 'a raw disk with a partition table, as declared' } : undefined;
  if (UNINSPECTABLE_DISK_FORMATS.has(declared)) {
    return partitioned
      ? { accept: false, reason: `declared ${declared}, whose content cannot be checked, but the content is a partitioned disk` }
      : { accept: true, reason: `declared ${declared}: plain bytes, nothing recognised` };
  }
  return undefined;
}

/** The raw format module (the fallback). */
export const raw: FormatModule<'raw', RawDetails, 'mbr' | 'gpt'> = {
  name: 'raw',
  title: 'Raw disk image',
  declaredAs: declaredAsRaw,
  glance: { diskFormat: 'raw', properties: (details) => firmwareProperties(firmwareFromPartitionTable(details.partitionTable)) },
  signatures: [],
  fallback: true,
  headBytes: RAW_HEAD_BYTES,
  tailBytes: RAW_TAIL_BYTES,
  summarize: (details) => [...partitionTableRows(details.partitionTable, details.otherPartitionTables), ['filesystem', details.filesystem]],
  probe: probePartitionTable,
  checks: [mbrCheck, gptCheck],
  async parse(reader, context) {
    const head = await reader.readAvailable(0, RAW_HEAD_BYTES, 'head');
    // First pass: follow links forward while the stream is still before them.
    const forward = new ForwardPass(reader);
    await scanPartitionTables(forward.disk(head));
    // The size: a stream is read to its end, keeping the tail.
    const size = await reader.totalSize(RAW_TAIL_BYTES);
    // Second pass, the one reported: the same bytes on every kind of source.
    const scan = await scanPartitionTables(finalDisk(reader, head, size, forward, context));
    return {
      virtualSize: size,
      details: {
        size,
        partitionTable: scan.partitionTable,
        otherPartitionTables: scan.otherPartitionTables,
        filesystem: scan.bootSector?.filesystem,
        bootSector: scan.bootSector,
      },
    };
  },
};
