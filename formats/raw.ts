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
import { isIntrospectionError } from '../src/errors.js';
import type { ByteReader, FormatModule, ParseContext } from '../src/format-module.js';
import type { BootSectorFilesystem } from './shared/boot-sector.js';
import { type DiskBytes, type PartitionTable, scanPartitionTables } from './shared/partition-table.js';

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

/** Partition schemes strong enough to count as a second reading of an image's first bytes (Atari's plausibility rules are not). */
const PROBED_SCHEMES = new Set(['mbr', 'gpt', 'apm', 'bsd', 'sun', 'sgi']);

/**
 * The fallback's probe: the head holds a partition table with at least one partition (a
 * file system's boot sector is not one). Used to tell that the bytes of another format are
 * also a partitioned disk (the `multiple_formats` check).
 */
async function probePartitionTable(reader: ByteReader): Promise<boolean> {
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

/** The raw format module (the fallback). */
export const raw: FormatModule<'raw', RawDetails> = {
  name: 'raw',
  title: 'Raw disk image',
  signatures: [],
  fallback: true,
  headBytes: RAW_HEAD_BYTES,
  tailBytes: RAW_TAIL_BYTES,
  summarize: (details) => [
    ['partition table', details.partitionTable?.scheme],
    ['partitions', details.partitionTable?.partitions.length],
    ['filesystem', details.filesystem],
  ],
  probe: probePartitionTable,
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
