/**
 * A file's block map as runs, and reading a byte range of a file through it.
 *
 * Each driver turns its own mapping structure (ext extent trees and indirect blocks, the
 * XFS bmap btree) into {@link BlockRun}s in logical order; {@link appendRun} refuses runs
 * that overlap or go backwards, so a hostile map cannot make one logical block mean two
 * things, and {@link readRuns} assembles the bytes: holes and unwritten (preallocated)
 * extents read as zeros, as the kernel returns them.
 *
 * @module
 */
import { fieldError } from '../../src/errors.js';
import type { ByteReader } from '../../src/format-module.js';

/**
 * Contiguous logical blocks of a file and where they are.
 *
 * | field | meaning |
 * | --- | --- |
 * | `logical` | the first logical block (in file-system blocks from the start of the file) |
 * | `count` | how many blocks |
 * | `byteOffset` | where the first block is in the volume, in bytes; `undefined` for blocks that read as zeros (a hole, an unwritten extent) |
 */
export interface BlockRun {
  logical: number;
  count: number;
  byteOffset: number | undefined;
}

/** Bytes read from the volume in one request while assembling a file: big enough to be cheap, small enough to keep memory flat. */
export const MAX_RUN_READ_BYTES = 4 * 1024 * 1024;

/**
 * Appends `run` to `runs` (kept in logical order), merging it with the previous run when
 * they continue each other. Throws `CORRUPT` when it starts before the previous run ends:
 * mapping structures are sorted by logical block, and an overlap would give one block two
 * places.
 */
export function appendRun(runs: BlockRun[], run: BlockRun, blockSize: number, field: string): void {
  if (run.count <= 0) return;
  const last = runs[runs.length - 1];
  if (last !== undefined) {
    const lastEnd = last.logical + last.count;
    if (run.logical < lastEnd) {
      throw fieldError('CORRUPT', field, `the mapping of logical block ${run.logical} overlaps or precedes the previous one (which ends at ${lastEnd})`);
    }
    const contiguous =
      run.logical === lastEnd &&
      (last.byteOffset === undefined
        ? run.byteOffset === undefined
        : run.byteOffset === last.byteOffset + last.count * blockSize);
    if (contiguous) {
      last.count += run.count;
      return;
    }
  }
  runs.push({ ...run });
}

/**
 * One walk over a mapping structure (an extent tree, indirect blocks, a bmap btree) for
 * the logical blocks before `endBlock`: the runs found so far, in order, and a count of the
 * mapping blocks read, capped.
 */
export class RunCollector {
  /** The runs found, in logical order. */
  readonly runs: BlockRun[] = [];
  private blocksRead = 0;

  /**
   * @param endBlock - the first logical block not wanted
   * @param blockSize - bytes per block
   * @param field - what is being mapped, for error messages
   * @param maxMappingBlocks - most mapping blocks this walk may read
   */
  constructor(
    readonly endBlock: number,
    readonly blockSize: number,
    readonly field: string,
    private readonly maxMappingBlocks: number,
  ) {}

  /** Adds a run (see {@link appendRun}); `where` names the structure that mapped it. */
  add(run: BlockRun, where: string): void {
    appendRun(this.runs, run, this.blockSize, where);
  }

  /** Counts one mapping block about to be read; `LIMIT_EXCEEDED` past the cap (a crafted structure sharing subtrees). */
  countMappingBlock(): void {
    this.blocksRead += 1;
    if (this.blocksRead > this.maxMappingBlocks) {
      throw fieldError('LIMIT_EXCEEDED', this.field, `more than ${this.maxMappingBlocks} mapping blocks read for one request`);
    }
  }
}

/**
 * Bytes `start .. start + length` of a file mapped by `runs` (in logical order, as
 * {@link appendRun} builds them); what no run maps, or a run without a place, reads as
 * zeros. Throws `LIMIT_EXCEEDED` when `length` is over the reader's buffer budget.
 */
export async function readRuns(
  volume: ByteReader,
  runs: readonly BlockRun[],
  blockSize: number,
  start: number,
  length: number,
  field: string,
): Promise<Uint8Array> {
  if (length > volume.maxReadLength) {
    throw fieldError('LIMIT_EXCEEDED', field, `reading ${length} bytes would exceed the buffer budget (${volume.maxReadLength} bytes)`);
  }
  const bytes = new Uint8Array(length);
  const end = start + length;
  for (const run of runs) {
    const runStart = run.logical * blockSize;
    const runEnd = runStart + run.count * blockSize;
    if (runStart >= end) break;
    if (runEnd <= start || run.byteOffset === undefined) continue;
    const from = Math.max(start, runStart);
    const to = Math.min(end, runEnd);
    for (let at = from; at < to; ) {
      const piece = Math.min(to - at, MAX_RUN_READ_BYTES);
      const data = await volume.read(run.byteOffset + (at - runStart), piece, field);
      bytes.set(data, at - start);
      at += piece;
    }
  }
  return bytes;
}

/**
 * How many bytes `readFile(file, maxBytes)` returns: `min(size, maxBytes)`. `maxBytes` comes
 * from the caller, so anything but a non-negative safe integer is `INVALID_ARGUMENT`.
 */
export function requestedLength(size: number, maxBytes: number, field: string): number {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw fieldError('INVALID_ARGUMENT', field, `maxBytes ${maxBytes} is not a byte count`);
  }
  return Math.min(size, maxBytes);
}
