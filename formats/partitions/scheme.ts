/**
 * The contract between the partition-table scan (`scan.ts`) and a scheme module (`mbr.ts`,
 * `gpt.ts`, `apm.ts`, `bsd.ts`, `sun.ts`, `sgi.ts`, `atari.ts`).
 *
 * A scheme module declares:
 *
 * | member | what |
 * | --- | --- |
 * | `scheme` | the `scheme` of the tables it returns (`'gpt'`) |
 * | `title` | a one-line human name |
 * | `markers` | where its magic numbers are near the start of the disk, each tested by the scheme's own matcher: a cheap look that decides whether a scan is worth it (none for Atari, which has no magic number, and is then never taken for a second reading of another format's bytes) |
 * | `alone` | true when it is looked for only if no scheme before it in the list found a table (MBR, BSD, Atari: a disk has one of them) |
 * | `read` | reads its structures from the start of the disk through a {@link PartitionDisk} (links followed forward only) and returns a {@link SchemeStart} |
 *
 * and returns a {@link SchemeStart}: whether the start of the disk shows its table, and
 * `finish`, which gives the table once every scheme has read the start of the disk, reading
 * the end of the disk where the scheme keeps a copy there (GPT's backup header). The scan
 * reads the schemes in the order of the list, then the end, then applies precedence: the
 * first table found is the disk's partition table, any others are listed beside it.
 *
 * @module
 */
import type { BootSectorFilesystem } from '../shared/boot-sector.js';
import type { PartitionTable } from './index.js';

/** Bytes per sector of every scheme's first structures (and of the MBR, BSD, Sun and Atari labels). */
export const SECTOR = 512;

/** Where a partition of a disk label lies (BSD, Sun, SGI): in the label's sectors and in bytes. */
export interface SectorRun {
  /** First sector. */
  startSector: number;
  /** Sectors in the partition. */
  sectorCount: number;
  /** Byte offset from the start of the disk. */
  offset: number;
  /** Bytes in the partition. */
  size: number;
}

/** Bytes near the start of a disk that mark a scheme, tested by the scheme's own matcher. */
export interface PartitionMarker {
  /** Where the bytes are, from the start of the disk. */
  readonly offset: number;
  /** How many bytes the test needs. */
  readonly length: number;
  /** True when the bytes carry the scheme's magic number. */
  readonly matches: (bytes: Uint8Array) => boolean;
}

/** What sector 0 is, for every scheme to see. */
export interface SectorZero {
  /** Its 512 bytes. */
  readonly bytes: Uint8Array;
  /** 0x55 0xAA at 510 (an MBR, or a boot sector). */
  readonly mbrSignature: boolean;
  /** A FAT, NTFS or exFAT boot sector: the disk is a file system, and sector 0 is no MBR. */
  readonly bootSector: BootSectorFilesystem | undefined;
}

/**
 * How a scheme module reaches the disk's bytes. `head` (the first 32 KiB) is always at hand;
 * `read` serves anything else it can, and answers `undefined` when it cannot: the range lies
 * behind bytes already read (links are followed forward only, the same on every kind of
 * source), or outside the part of the reader that is the disk (an ISO's system area). A
 * scheme records such a range with `unreadable`, never guesses it.
 */
export interface PartitionDisk {
  /** Bytes from the start of the disk. */
  readonly head: Uint8Array;
  /** The disk's length in bytes: known when the end is read (and from the start on a reader in any order). */
  readonly size: number | undefined;
  /** Whether the end of the disk is read (the backup GPT): false for a probe and for an ISO's system area. */
  readonly readsEnd: boolean;
  /** Bytes at `offset` (fewer at the end of the disk, none past it), or `undefined` when they cannot be read. */
  read(offset: number, length: number, field: string): Promise<Uint8Array | undefined>;
  /** Records a soft problem. */
  warn(message: string): void;
  /** Records, with a warning giving the reason, that `what` at byte `offset` could not be read. */
  unreadable(what: string, offset: number): void;
}

/** What a scheme found at the start of the disk. */
export interface SchemeStart<Table extends PartitionTable> {
  /** True when the start of the disk shows the scheme's table: schemes read `alone` after it are then not looked for. */
  readonly found: boolean;
  /** The table (or none), read to its end: `disk` now knows the disk's size when the end is read. */
  finish(disk: PartitionDisk): Promise<Table | undefined>;
}

/** One partition table scheme (see the module comment). */
export interface PartitionScheme<Table extends PartitionTable = PartitionTable> {
  readonly scheme: Table['scheme'];
  readonly title: string;
  readonly markers: readonly PartitionMarker[];
  readonly alone?: boolean;
  readonly read: (disk: PartitionDisk, sector0: SectorZero) => Promise<SchemeStart<Table>>;
}

/** The start of a scheme whose table is complete once the start of the disk is read (every scheme but GPT). */
export function startOf<Table extends PartitionTable>(table: Table | undefined): SchemeStart<Table> {
  return { found: table !== undefined, finish: async () => table };
}
