/** vhd and `qemu-img info` (block/vpc.c), which calls the format "vpc". */
import type { vhd } from '../../formats/vhd.js';
import type { InfoFor } from '../../src/index.js';
import type { Correspondence } from '../helpers/qemu-correspondence.js';

type VhdInfo = InfoFor<typeof vhd>;

export const vhdCorrespondence: Correspondence<VhdInfo> = {
  qemuFormat: 'vpc',
  fields: [
    { qemu: 'virtual-size', ours: 'virtualSize' },
    { qemu: 'cluster-size', ours: 'details.blockSize', why: 'vpc_get_info gives a cluster size for every disk whose footer type is not fixed' },
    { qemu: 'dirty-flag', is: false },
  ],
  qemuOpensUnprobed: {
    why: "a fixed disk's footer is at its end, which qemu's probe does not read: qemu names it vpc only when run with -f vpc (as the fixed fixtures are recorded)",
    when: (info) => info.details.diskType === 'fixed',
  },
  refused: {
    'bad-checksum.vhd': { why: 'qemu refuses a wrong footer checksum; we read the disk and say so', warning: /the footer checksum is wrong/ },
  },
};
