/** raw and `qemu-img info` (block/raw-format.c): the file's length, in whole sectors. */
import type { raw } from '../../formats/raw.js';
import type { InfoFor } from '../../src/index.js';
import type { Correspondence } from '../helpers/qemu-correspondence.js';

type RawInfo = InfoFor<typeof raw>;

/** A partition table with entries (an Atari table aside) makes the fallback's probe a match, which multiple_formats sees. */
const partitioned = (info: RawInfo): boolean => (info.details.partitionTable?.partitions.length ?? 0) > 0 && info.details.partitionTable?.scheme !== 'atari';

/**
 * A known gap: the probe's first look checks Apple's map at 512 bytes only, so an Apple map
 * of 2048-byte entries (a Mac OS X DVD, fragments/node-apm__mac-osx-snow-leopard.bin) is
 * parsed but not probed.
 */
const apmOf2048 = (info: RawInfo): boolean => info.details.partitionTable?.scheme === 'apm' && info.details.partitionTable.entryStride === 2048;

export const rawCorrespondence: Correspondence<RawInfo> = {
  fields: [{ qemu: 'virtual-size', ours: 'virtualSize', sectors: 'up', why: 'qemu rounds a raw file up to whole sectors; we report the exact byte count' }],
  invariants: [
    { ours: 'virtualSize', equals: (_info, image) => image.length },
    { ours: 'matchedFormats', equals: (info) => (partitioned(info) ? ['raw'] : []), when: (info) => !apmOf2048(info) },
  ],
};
