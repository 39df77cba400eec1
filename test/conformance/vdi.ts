/** vdi and `qemu-img info` (block/vdi.c). */
import type { vdi } from '../../formats/vdi.js';
import type { InfoFor } from '../../src/index.js';
import type { Correspondence } from '../helpers/qemu-correspondence.js';

export const vdiCorrespondence: Correspondence<InfoFor<typeof vdi>> = {
  fields: [
    { qemu: 'virtual-size', ours: 'virtualSize', sectors: 'up', why: 'qemu rounds an odd declared size up to 512 (vdi_open); we report the declared size' },
    { qemu: 'cluster-size', ours: 'details.blockSize' },
    { qemu: 'dirty-flag', is: false },
    { qemu: 'encrypted', is: undefined },
  ],
  invariants: [{ ours: 'virtualSize', equals: 'details.diskSize' }],
  refused: {
    // Both are read without a warning that qemu refuses them, unlike the other formats' refusals.
    'diff.vdi': { why: 'qemu opens no differencing VDI ("unsupported VDI image (non-NULL link UUID)"); we read it', silently: true },
    'version0.vdi': { why: 'qemu reads a version 0.0 header as 1.1 and refuses its size ("Unsupported VDI image size"); we read it', silently: true },
  },
};
