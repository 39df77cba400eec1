/**
 * The guest disk of a VDI image: its block map, read as VirtualBox (VDICore.h, VD.cpp
 * `vdiBlockGetOffset`) and qemu 7.2 (block/vdi.c `vdi_co_preadv`) read it.
 *
 * | structure | entry | meaning |
 * | --- | --- | --- |
 * | block map (`blocksOffset`, `blocksInImage` entries of 4 bytes, little-endian) | 0xFFFFFFFF | the block is free: zeros (a differencing image's free blocks are its parent's: such images are not read here, as qemu does not open them) |
 * | | 0xFFFFFFFE | the block reads as zeros |
 * | | any other `n` | the block is the `n`-th in the data area: at `dataOffset + n * (blockExtraSize + blockSize) + blockExtraSize` |
 *
 * @module
 */
import { u32le } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import type { VdiDetails } from '../vdi.js';
import { BlockMap, type BlockPlace, HostLayout, TablePages, type TableLocation, imageSizeOf, sizedGuestDisk, unavailable } from './guest-map.js';

/** A free block (VDI_IMAGE_BLOCK_FREE). */
const BLOCK_FREE = 0xffffffff;
/** A block that reads as zeros (VDI_IMAGE_BLOCK_ZERO). */
const BLOCK_ZERO = 0xfffffffe;

/** The VDI module's `guestDisk`. */
export const vdiGuestDisk = sizedGuestDisk<VdiDetails>(async (image, { details }, size) => {
  const blocksNeeded = Math.ceil(size / details.blockSize);
  if (blocksNeeded > details.blocksInImage) {
    throw fieldError('CORRUPT', 'header.blocksInImage', `${details.blocksInImage} blocks of ${details.blockSize} bytes cannot hold a ${size}-byte disk`);
  }
  if (details.imageType === 'diff' || details.imageType === 'undo' || details.parentUuid !== undefined) {
    // qemu opens only dynamic and static VDIs ("unsupported VDI image").
    return unavailable(`a ${details.imageType} image: its free blocks come from the parent ${details.parentUuid ?? '(unnamed)'}, and parent images are not supported`);
  }
  const layout = new HostLayout(imageSizeOf(image)).reserve('header', 0, Math.min(details.blocksOffset, details.dataOffset, 512));
  // Only the entries the disk needs are read; they must be in the image.
  const blockMap: TableLocation = { name: 'block map', offset: details.blocksOffset, length: blocksNeeded * 4 };
  layout.check(blockMap.offset, blockMap.length, 'header.blocksOffset');
  layout.reserve('block map', blockMap.offset, blockMap.length);
  const tables = new TablePages(image);
  const stride = details.blockExtraSize + details.blockSize;
  return new BlockMap({
    size,
    blockSize: details.blockSize,
    layout,
    entryName: (index) => `block map entry ${index}`,
    async place(index, through): Promise<BlockPlace> {
      const entry = u32le(await tables.entry(blockMap, index, 4, Math.min(through, blocksNeeded - 1)), 0, 'block map entry');
      if (entry === BLOCK_FREE || entry === BLOCK_ZERO) return { kind: 'zero' };
      if (entry >= details.blocksInImage) {
        // VirtualBox: "block pointer ... is out of range"; qemu's check says the same.
        throw fieldError('CORRUPT', `block map entry ${index}`, `block ${entry} is past the ${details.blocksInImage} blocks the image holds`);
      }
      return { kind: 'data', at: details.dataOffset + entry * stride + details.blockExtraSize };
    },
  });
});
