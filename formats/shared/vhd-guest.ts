/**
 * The guest disk of a VHD image (Microsoft "Virtual Hard Disk Image Format Specification"
 * 1.0, "Block Allocation Table and Data Blocks"; qemu 7.2 block/vpc.c `get_image_offset`).
 *
 * | disk type | where the guest's bytes are |
 * | --- | --- |
 * | fixed | the file's first bytes, before the 512-byte footer |
 * | dynamic | block `i` per BAT entry `i` (4 bytes, big-endian, at `tableOffset`): 0xFFFFFFFF is an unallocated block (zeros), any other value the sector where the block starts: a sector bitmap (one bit per sector, padded to whole sectors), then the block's data |
 * | differencing | as dynamic, but the sector bitmap says which sectors come from the parent: not read here (the parent is not opened) |
 *
 * qemu ignores a dynamic disk's sector bitmaps (every sector of an allocated block is
 * read from the block), and so does this map.
 *
 * @module
 */
import { u32be } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import type { VhdDetails } from '../vhd.js';
import { BlockMap, type BlockPlace, HostLayout, TablePages, type TableLocation, flatGuestDisk, imageSizeOf, sizedGuestDisk, unavailable } from './guest-map.js';

const SECTOR = 512;
/** An unallocated block's BAT entry. */
const UNALLOCATED = 0xffffffff;

/** The VHD module's `guestDisk`. */
export const vhdGuestDisk = sizedGuestDisk<VhdDetails>(async (image, { details }, size) => {
  if (details.diskType === 'fixed') return flatGuestDisk(image, size);
  if (details.diskType === 'differencing') {
    return unavailable(`a differencing disk: its sectors are read from the parent "${details.parentName ?? '(unnamed)'}", and parent images are not supported`);
  }
  const { blockSize, maxTableEntries, tableOffset } = details;
  if (blockSize === undefined || maxTableEntries === undefined || tableOffset === undefined) {
    throw fieldError('INTERNAL', 'dynamic header', 'a dynamic disk without its block size or table');
  }
  if (blockSize === 0 || blockSize % SECTOR !== 0) throw fieldError('CORRUPT', 'dynamic header.blockSize', `${blockSize} is not a whole number of sectors`);
  // One bit per sector, padded to whole sectors (qemu: bitmap_size).
  const bitmapBytes = Math.ceil(blockSize / SECTOR / 8 / SECTOR) * SECTOR;
  const imageSize = imageSizeOf(image);
  // Blocks past the table read as zeros (qemu), so only the entries the disk can use are needed.
  const entries = Math.min(maxTableEntries, Math.ceil(size / blockSize));
  const bat: TableLocation = { name: 'block allocation table', offset: tableOffset, length: entries * 4 };
  // The footer copy and the dynamic header (1024 bytes) come first in every writer's layout.
  const layout = new HostLayout(imageSize).reserve('footer copy and dynamic header', 0, Math.min(3 * SECTOR, tableOffset)).reserve('footer', imageSize - SECTOR, SECTOR);
  if (entries > 0) layout.check(bat.offset, bat.length, 'dynamic header.tableOffset');
  layout.reserve('block allocation table', bat.offset, bat.length);
  const tables = new TablePages(image);
  return new BlockMap({
    size,
    blockSize,
    layout,
    entryName: (index) => `BAT entry ${index}`,
    async place(index, through): Promise<BlockPlace> {
      if (index >= entries) return { kind: 'zero' };
      const sector = u32be(await tables.entry(bat, index, 4, Math.min(through, entries - 1)), 0, 'BAT entry');
      if (sector === UNALLOCATED) return { kind: 'zero' };
      return { kind: 'data', at: sector * SECTOR + bitmapBytes };
    },
  });
});
