/**
 * The partition-table scan: every scheme module of a list (`index.ts`) reads the disk
 * through one {@link PartitionDisk} built on a {@link ByteReader}, in three steps that read
 * any source forward:
 *
 * | step | reads | where |
 * | --- | --- | --- |
 * | start | each scheme's primary structures, in list order, and the links they follow (EBR chains, nested BSD labels, a far GPT entry array) | the first {@link PARTITION_TABLE_HEAD_BYTES} bytes, then forward only (`reader.tryRead`): a link behind bytes already read is recorded as unreadable, the same on every kind of source |
 * | end | GPT's backup header and entries | the last {@link PARTITION_TABLE_TAIL_BYTES} bytes, kept by `reader.totalSize` (on a reader in any order, anywhere) |
 * | precedence | nothing | the first table found in list order is the disk's partition table, the others are listed beside it; a scheme read `alone` counts only when none before it found a table |
 *
 * Warnings are gathered per scheme and given in list order, as if each scheme had been read
 * whole in turn. A start made with `headOnly` (a probe, during detection) reads nothing
 * beyond the head; {@link continuePartitionScan} later reads again only the schemes that
 * asked for more, so that the start of a disk is scanned once.
 *
 * @module
 */
import type { ByteReader } from '../../src/format-module.js';
import { recogniseBootSector } from '../shared/boot-sector.js';
import type { PartitionTable, PartitionTableScan } from './index.js';
import { hasMbrSignature, warnAboutStatusBytes } from './mbr.js';
import { type PartitionDisk, type PartitionScheme, SECTOR, type SchemeStart, type SectorZero } from './scheme.js';

/** Bytes from the start of a disk the scan keeps at hand: every scheme's primary structures (a 4Kn GPT's 128 entries end at 24 KiB). */
export const PARTITION_TABLE_HEAD_BYTES = 32 * 1024;
/** Bytes from the end of a disk the scan needs: a backup GPT (16 KiB of entries and a header of up to 4 KiB). */
export const PARTITION_TABLE_TAIL_BYTES = 20 * 1024;

/** Why a link behind bytes already read is not followed. */
const BEHIND = 'it lies before a structure read earlier (links are followed forward only, so that a file and a stream give the same answer)';

/** How a scan reads the disk. */
export interface PartitionScanOptions {
  /** Receives the warnings (a damaged GPT, a broken EBR chain, an unreadable structure), in order. */
  readonly warn?: (message: string) => void;
  /** Only the first `bytes` of the reader are the disk's to read (an ISO's system area): anything else is unreadable, for `reason`. */
  readonly within?: { readonly bytes: number; readonly reason: string };
  /** Whether to read the end of the disk (the backup GPT). Default true; on a stream this reads it to its end. */
  readonly readEnd?: boolean;
  /**
   * How much of the start to read at once (default {@link PARTITION_TABLE_HEAD_BYTES}, at
   * least a sector): the schemes read anything beyond it where it is. A reader in any order
   * (a guest disk) reads less with a small head: an MBR disk needs its first sectors, not
   * 32 KiB; a reader in order needs the whole head, since it cannot go back.
   */
  readonly headBytes?: number;
}

/** One scheme's part of a scan. */
interface SchemeRun {
  readonly scheme: PartitionScheme;
  /** `undefined`: not looked for (a scheme read `alone`, after one that found a table). */
  readonly start: SchemeStart<PartitionTable> | undefined;
  readonly warnings: readonly string[];
  /** True when it asked for bytes it could not have. */
  readonly refused: boolean;
}

/** What the start of a disk holds, scheme by scheme (see {@link startPartitionScan}). */
export interface StartedPartitionScan {
  readonly head: Uint8Array;
  /** `undefined` when the disk is shorter than a sector. */
  readonly sector0: SectorZero | undefined;
  readonly runs: readonly SchemeRun[];
  /** What the schemes may read (`headOnly`: the head). */
  readonly within: PartitionScanOptions['within'];
  /** True when started with `headOnly`: {@link continuePartitionScan} follows the links. */
  readonly headOnly: boolean;
}

/** The disk as one scheme sees it. */
function diskOver(
  reader: ByteReader,
  started: Pick<StartedPartitionScan, 'head' | 'within'>,
  size: number | undefined,
  readsEnd: boolean,
  warnings: string[],
  refusals: { refused: boolean },
): PartitionDisk {
  const { head, within } = started;
  const reason = within?.reason ?? BEHIND;
  return {
    head,
    size,
    readsEnd,
    async read(offset, length, field) {
      if (offset + length <= head.byteLength) return head.subarray(offset, offset + length);
      if (size !== undefined && offset >= size) return new Uint8Array(0);
      const bytes = within !== undefined && offset + length > within.bytes ? undefined : await reader.tryRead(offset, length, field);
      if (bytes === undefined) refusals.refused = true;
      return bytes;
    },
    warn: (message) => warnings.push(message),
    unreadable: (what, offset) => warnings.push(`${what} at byte ${offset} could not be read: ${reason}`),
  };
}

async function runScheme(reader: ByteReader, started: Pick<StartedPartitionScan, 'head' | 'within'>, scheme: PartitionScheme, sector0: SectorZero): Promise<SchemeRun> {
  const warnings: string[] = [];
  const refusals = { refused: false };
  const start = await scheme.read(diskOver(reader, started, reader.size, false, warnings, refusals), sector0);
  return { scheme, start, warnings, refused: refusals.refused };
}

/**
 * Reads the start of the disk: each scheme in list order, following links forward. With
 * `headOnly`, nothing beyond the first {@link PARTITION_TABLE_HEAD_BYTES} is read (a probe
 * during detection), and {@link continuePartitionScan} completes the scan later.
 */
export async function startPartitionScan(
  reader: ByteReader,
  schemes: readonly PartitionScheme[],
  options: Pick<PartitionScanOptions, 'within' | 'headBytes'> & { readonly headOnly?: boolean } = {},
): Promise<StartedPartitionScan> {
  const headOnly = options.headOnly === true;
  const within = headOnly ? { bytes: PARTITION_TABLE_HEAD_BYTES, reason: 'not read' } : options.within;
  const headBytes = headOnly ? PARTITION_TABLE_HEAD_BYTES : Math.max(SECTOR, Math.min(PARTITION_TABLE_HEAD_BYTES, options.headBytes ?? PARTITION_TABLE_HEAD_BYTES));
  const head = await reader.readAvailable(0, Math.min(headBytes, within?.bytes ?? headBytes), 'head');
  if (head.byteLength < SECTOR) return { head, sector0: undefined, runs: [], within, headOnly };
  const bytes = head.subarray(0, SECTOR);
  const sector0: SectorZero = { bytes, mbrSignature: hasMbrSignature(bytes), bootSector: recogniseBootSector(bytes) };
  const runs: SchemeRun[] = [];
  let found = false;
  for (const scheme of schemes) {
    if (scheme.alone === true && found) {
      runs.push({ scheme, start: undefined, warnings: [], refused: false });
      continue;
    }
    const run = await runScheme(reader, { head, within }, scheme, sector0);
    runs.push(run);
    if (run.start?.found === true) found = true;
  }
  return { head, sector0, runs, within, headOnly };
}

/**
 * Completes a start made with `headOnly`: the schemes that asked for bytes beyond the head
 * read again, in list order, following links forward; the others keep what they found
 * (they read nothing beyond the head, so a full start would find the same).
 */
export async function continuePartitionScan(reader: ByteReader, started: StartedPartitionScan): Promise<StartedPartitionScan> {
  if (!started.headOnly) return started;
  const linked = { ...started, within: undefined, headOnly: false };
  const { sector0 } = started;
  if (sector0 === undefined) return linked;
  const runs: SchemeRun[] = [];
  for (const run of started.runs) runs.push(run.refused ? await runScheme(reader, linked, run.scheme, sector0) : run);
  return { ...linked, runs };
}

/** Reads the end of the disk for the schemes that keep a copy there, and applies precedence. */
export async function finishPartitionScan(reader: ByteReader, started: StartedPartitionScan, options: Omit<PartitionScanOptions, 'within'> = {}): Promise<PartitionTableScan> {
  const { sector0 } = started;
  if (sector0 === undefined) return { partitionTable: undefined, otherPartitionTables: [], bootSector: undefined };
  // A disk limited to part of the reader (an ISO's system area, a probe's head) has no end to read.
  const readsEnd = options.readEnd !== false && started.within === undefined;
  const size = readsEnd ? (reader.size ?? (await reader.totalSize(PARTITION_TABLE_TAIL_BYTES))) : reader.size;
  const found: PartitionTable[] = [];
  const warnings: string[] = [];
  for (const run of started.runs) {
    // A scheme read alone is not looked for once a scheme before it has a table.
    if (run.start === undefined || (run.scheme.alone === true && found.length > 0)) continue;
    const own = [...run.warnings];
    const table = await run.start.finish(diskOver(reader, started, size, readsEnd, own, { refused: false }));
    warnings.push(...own);
    if (table !== undefined) found.push(table);
  }
  const partitionTable = found[0];
  const mbr = partitionTable?.scheme === 'mbr' ? partitionTable : partitionTable?.scheme === 'gpt' ? partitionTable.mbr : undefined;
  if (mbr !== undefined) warnAboutStatusBytes(mbr, (message) => warnings.push(message));
  if (options.warn !== undefined) for (const warning of warnings) options.warn(warning);
  return { partitionTable, otherPartitionTables: found.slice(1), bootSector: sector0.bootSector };
}
