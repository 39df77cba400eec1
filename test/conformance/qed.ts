/** qed and `qemu-img info` (block/qed.c). */
import type { qed } from '../../formats/qed.js';
import type { InfoFor } from '../../src/index.js';
import type { Correspondence } from '../helpers/qemu-correspondence.js';

export const qedCorrespondence: Correspondence<InfoFor<typeof qed>> = {
  fields: [
    { qemu: 'virtual-size', ours: 'virtualSize' },
    { qemu: 'cluster-size', ours: 'details.clusterSize' },
    { qemu: 'dirty-flag', is: false, why: 'qemu 7.2 reports false even with the needs-check bit set (docs/formats/qed.md); needsCheck is the bit itself' },
    { qemu: 'backing-filename', ours: 'details.backingFile' },
    { qemu: 'backing-filename-format', ours: 'details.backingFormat' },
    { qemu: 'encrypted', is: undefined },
    { ours: 'matchedFormats', is: ['qed'] },
    { ours: 'warnings', is: [], why: 'qemu opens it without complaint, and so do we' },
  ],
  refused: {
    'table-size-1.qed': { why: 'qemu refuses a table of one cluster ("QED table offset is invalid"); we report it, with a warning', warning: /qemu 7.2 refuses to open such an image/ },
  },
};
