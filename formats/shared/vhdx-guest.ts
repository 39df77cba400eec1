/**
 * The guest disk of a VHDX image ([MS-VHDX] 2.5 "BAT"; qemu 7.2 block/vhdx.c
 * `vhdx_block_translate`, `vhdx_co_readv`).
 *
 * The BAT region holds 8-byte little-endian entries: after every `chunkRatio` payload
 * block entries comes one sector bitmap entry, `chunkRatio = 2^23 * logicalSectorSize /
 * blockSize`, so payload block `i` is entry `i + floor(i / chunkRatio)`.
 *
 * | entry bits | meaning |
 * | --- | --- |
 * | 0-2 | the block's state: 0 not present, 1 undefined, 2 zero, 3 unmapped (5 in pre-1.0 files) read as zeros; 6 fully present; 7 partially present (differencing disks only) |
 * | 20-63 | where a present block starts in the file, in MiB |
 *
 * A differencing disk's blocks come partly from its parent, which is not opened here: its
 * guest disk is unavailable. So is a disk whose log must be replayed first (its tables may
 * be stale).
 *
 * @module
 */
import { u64le } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import type { VhdxDetails } from '../vhdx.js';
import { BlockMap, type BlockPlace, HostLayout, TablePages, type TableLocation, imageSizeOf, sizedGuestDisk, unavailable } from './guest-map.js';

const MiB = 1024 * 1024;
/** The header section: file type identifier, two headers, two region tables (MS-VHDX 2.2). */
const HEADER_SECTION_BYTES = MiB;
/** The sectors one sector bitmap block describes (MS-VHDX 2.5: 2^23). */
const SECTORS_PER_BITMAP_BLOCK = 2 ** 23;
const STATE_ZERO_READS = new Set([0, 1, 2, 3, 5]);
const STATE_FULLY_PRESENT = 6;
const STATE_PARTIALLY_PRESENT = 7;

/** The VHDX module's `guestDisk`. */
export const vhdxGuestDisk = sizedGuestDisk<VhdxDetails>(async (image, { details }, size) => {
  if (details.hasParent) return unavailable('a differencing disk: its blocks come partly from its parent, and parent images are not supported');
  if (details.dirty) return unavailable('the log holds entries that must be replayed before the disk is read (qemu refuses to read it too)');
  const { blockSize, logicalSectorSize } = details;
  const chunkRatio = (SECTORS_PER_BITMAP_BLOCK * logicalSectorSize) / blockSize;
  if (!Number.isSafeInteger(chunkRatio) || chunkRatio < 1) {
    throw fieldError('CORRUPT', 'metadata.fileParameters.blockSize', `a block size of ${blockSize} bytes does not divide a sector bitmap's ${SECTORS_PER_BITMAP_BLOCK} sectors of ${logicalSectorSize} bytes`);
  }
  const region = details.regionTable.entries.find((entry) => entry.name === 'bat');
  if (region === undefined) throw fieldError('CORRUPT', 'region table', 'no BAT region');
  const blocks = Math.ceil(size / blockSize);
  const entriesNeeded = blocks === 0 ? 0 : batIndex(blocks - 1, chunkRatio) + 1;
  if (entriesNeeded * 8 > region.length) {
    throw fieldError('CORRUPT', 'region table.bat', `the BAT region's ${region.length} bytes cannot hold the ${entriesNeeded} entries a ${size}-byte disk needs`);
  }
  const bat: TableLocation = { name: 'BAT', offset: region.fileOffset, length: entriesNeeded * 8 };
  const layout = new HostLayout(imageSizeOf(image)).reserve('header section', 0, HEADER_SECTION_BYTES).reserve('log', details.logOffset, details.logLength);
  for (const entry of details.regionTable.entries) layout.reserve(`${entry.name ?? entry.guid} region`, entry.fileOffset, entry.length);
  if (bat.length > 0) layout.check(bat.offset, bat.length, 'region table.bat', 'bat region');
  const tables = new TablePages(image);
  return new BlockMap({
    size,
    blockSize,
    layout,
    entryName: (block) => `BAT entry ${batIndex(block, chunkRatio)} (payload block ${block})`,
    async place(block, through): Promise<BlockPlace> {
      const index = batIndex(block, chunkRatio);
      const entry = u64le(await tables.entry(bat, index, 8, Math.min(batIndex(through, chunkRatio), entriesNeeded - 1)), 0, 'BAT entry');
      const state = Number(entry & 7n);
      if (STATE_ZERO_READS.has(state)) return { kind: 'zero' };
      const field = `BAT entry ${index} (payload block ${block})`;
      if (state === STATE_PARTIALLY_PRESENT) throw fieldError('CORRUPT', field, 'a partially present block in a disk without a parent');
      if (state !== STATE_FULLY_PRESENT) throw fieldError('CORRUPT', field, `${state} is not a payload block state`);
      return { kind: 'data', at: Number(entry >> 20n) * MiB };
    },
  });
});

/** The BAT entry of payload block `block`: a sector bitmap entry follows every `chunkRatio` payload entries. */
function batIndex(block: number, chunkRatio: number): number {
  return block + Math.floor(block / chunkRatio);
}
