/** parallels and `qemu-img info` (block/parallels.c), which reports the format and the virtual size only. */
import type { parallels } from '../../formats/parallels.js';
import type { InfoFor } from '../../src/index.js';
import type { Correspondence } from '../helpers/qemu-correspondence.js';

export const parallelsCorrespondence: Correspondence<InfoFor<typeof parallels>> = {
  fields: [
    { qemu: 'virtual-size', ours: 'virtualSize' },
    { qemu: 'cluster-size', is: undefined },
    { qemu: 'dirty-flag', is: undefined },
  ],
  invariants: [{ ours: 'virtualSize', equals: (info) => info.details.sectors * 512 }],
};
