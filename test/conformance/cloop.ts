/** cloop and `qemu-img info` (block/cloop.c). */
import type { cloop } from '../../formats/cloop.js';
import type { InfoFor } from '../../src/index.js';
import type { Correspondence } from '../helpers/qemu-correspondence.js';

export const cloopCorrespondence: Correspondence<InfoFor<typeof cloop>> = {
  fields: [
    { qemu: 'virtual-size', ours: 'virtualSize' },
    { qemu: 'cluster-size', is: undefined },
  ],
  invariants: [{ ours: 'virtualSize', equals: (info) => info.details.blockCount * info.details.blockSize, why: 'blocks x block size, as qemu computes it' }],
  qemuProbesOverstated: {
    why: "cloop declares qemuProbes true for every V2.0 preamble; qemu's cloop_probe compares the whole shell preamble it writes, so another command line (insmod) is raw to it",
    images: ['insmod.cloop'],
  },
};
