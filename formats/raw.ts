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
 * | MBR, GPT header and entries, APM, BSD, Sun, SGI, Atari labels | the first {@link RAW_HEAD_BYTES} bytes | kept from detection (the probe scans them there) |
 * | extended boot records (logical partitions), nested BSD labels, a far GPT entry array | anywhere | forward only (`reader.tryRead`), before the end is sought |
 * | backup GPT header and entries | the end of the disk | within the last {@link RAW_TAIL_BYTES} bytes, kept when the end is reached |
 *
 * The partition tables are read by the scheme modules of `formats/partitions/`, in one
 * scan: the probe starts it on the head during detection, the parse follows the links
 * the probe could not, then reads the end.
 *
 * The same rule applies to every kind of source, so that a file and a stream of it give
 * the same answer: links to structures are followed forward only (a chain of extended boot
 * records that points back is reported incomplete, with a warning, from a file too).
 *
 * @module
 */
import type { ByteReader, FormatModule } from '../src/format-module.js';
import { firmwareFromPartitionTable, firmwareProperties } from '../src/glance/vocabulary.js';
import { type SafetyCheck, fail, pass } from '../src/safety.js';
import {
  type GptPartitionTable,
  type MbrPartitionTable,
  PARTITION_TABLE_HEAD_BYTES,
  PARTITION_TABLE_TAIL_BYTES,
  type PartitionTable,
  type StartedPartitionScan,
  continuePartitionScan,
  finishPartitionScan,
  hasMarkers,
  startHeadScan,
  startPartitionScan,
  partitionSchemes,
} from './partitions/index.js';
import { MBR_TYPE_GPT_PROTECTIVE } from './partitions/mbr.js';
import { partitionTableRows } from './partitions/summary.js';
import type { BootSectorFilesystem } from './shared/boot-sector.js';
import { rawGuestDisk } from './shared/guest-map.js';

/** Bytes from the start of a raw disk its module needs on a stream: every table's primary structures (a 4Kn GPT's 128 entries end at 24 KiB). */
export const RAW_HEAD_BYTES = PARTITION_TABLE_HEAD_BYTES;
/** Bytes from the end of a raw disk its module needs on a stream: a backup GPT (16 KiB of entries and a header of up to 4 KiB). */
export const RAW_TAIL_BYTES = PARTITION_TABLE_TAIL_BYTES;

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

/**
 * What the probe saw of each image's head, for the parse to go on from (the probe runs
 * during detection, which may not read past the head): so the start of a disk is scanned
 * once, and again only for the schemes whose links lead beyond the head.
 */
const headScans = new WeakMap<ByteReader, StartedPartitionScan>();

/**
 * The fallback's probe: the head holds a partition table with at least one partition (a
 * file system's boot sector is not one), of a scheme with a magic number. Used to tell that
 * the bytes of another format are also a partitioned disk (the `multiple_formats` check).
 */
async function probePartitionTable(reader: ByteReader): Promise<boolean> {
  // A cheap look first (two sectors), so that the probe of every image does not read 32 KiB.
  const started = await startHeadScan(reader);
  if (started === undefined) return false;
  headScans.set(reader, started);
  const table = (await finishPartitionScan(reader, started, { readEnd: false })).partitionTable;
  return table !== undefined && hasMarkers(table) && table.partitions.length > 0;
}

/** The MBR of a raw disk: sector 0 itself, or a GPT disk's protective (or hybrid) MBR. */
function mbrOf(details: RawDetails): MbrPartitionTable | undefined {
  const table = details.partitionTable;
  if (table?.scheme === 'mbr') return table;
  if (table?.scheme === 'gpt') return table.mbr;
  return undefined;
}

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
    const protective = mbr.partitions.find((partition) => partition.type === MBR_TYPE_GPT_PROTECTIVE);
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
  guestDisk: rawGuestDisk,
  async parse(reader, context) {
    // The start of the disk (what the probe saw, with the links it could not follow), then its end.
    const probed = headScans.get(reader);
    headScans.delete(reader);
    const started = probed === undefined ? await startPartitionScan(reader, partitionSchemes) : await continuePartitionScan(reader, probed);
    const scan = await finishPartitionScan(reader, started, { warn: (message) => context.warn(message) });
    // The size: a stream was read to its end by the scan, keeping the tail.
    const size = await reader.totalSize(RAW_TAIL_BYTES);
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
