/** bochs and `qemu-img info` (block/bochs.c). */
import type { bochs } from '../../formats/bochs.js';
import type { InfoFor } from '../../src/index.js';
import type { Correspondence } from '../helpers/qemu-correspondence.js';

export const bochsCorrespondence: Correspondence<InfoFor<typeof bochs>> = {
  fields: [
    { qemu: 'virtual-size', ours: 'details.diskSize', sectors: 'down', why: 'qemu counts whole sectors of the declared size: total_sectors = disk / 512' },
    { qemu: 'cluster-size', is: undefined },
    { qemu: 'dirty-flag', is: undefined },
  ],
  invariants: [{ ours: 'virtualSize', equals: 'details.diskSize', why: 'we report the declared size exactly' }],
  qemuProbesOverstated: {
    why: "bochs declares qemuProbes true for every redolog; qemu's bochs_probe takes only the Growing subtype, so undoable and volatile ones are raw to it",
    images: ['undoable.img', 'volatile.img'],
  },
};
