/** vhdx and `qemu-img info` (block/vhdx.c). */
import type { vhdx } from '../../formats/vhdx.js';
import type { InfoFor } from '../../src/index.js';
import type { Correspondence } from '../helpers/qemu-correspondence.js';

export const vhdxCorrespondence: Correspondence<InfoFor<typeof vhdx>> = {
  fields: [
    { qemu: 'virtual-size', ours: 'virtualSize' },
    { qemu: 'cluster-size', ours: 'details.blockSize' },
    { qemu: 'dirty-flag', ours: 'details.dirty', why: 'always false in qemu: a file whose log needs replaying is refused instead' },
  ],
  refused: {
    'damage-region-table-1.vhdx': { why: 'qemu reads only region table 1 ("Invalid argument"); we use table 2', warning: /region table 1 is damaged/ },
    'log-to-replay.vhdx': { why: 'qemu-img info refuses a log that needs replaying on a read-only open', warning: /must be replayed/ },
    'logical-sector-4096.vhdx': { why: 'qemu 7.2 opens only 512-byte logical sectors', warning: /logical sector size 4096/ },
    'differencing.vhdx': { why: 'qemu 7.2 cannot open a differencing VHDX ("Operation not supported")', warning: /a differencing disk/ },
  },
};
