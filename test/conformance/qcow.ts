/** qcow (version 1) and `qemu-img info` (block/qcow.c). */
import type { qcow } from '../../formats/qcow.js';
import type { InfoFor } from '../../src/index.js';
import type { Correspondence } from '../helpers/qemu-correspondence.js';

export const qcowCorrespondence: Correspondence<InfoFor<typeof qcow>> = {
  fields: [
    { qemu: 'virtual-size', ours: 'virtualSize', sectors: 'down', why: "qemu reports whole sectors; we report the header's size exactly" },
    { qemu: 'cluster-size', ours: 'details.clusterSize' },
    { qemu: 'dirty-flag', is: false },
    { qemu: 'backing-filename', ours: 'details.backingFile' },
    { qemu: 'backing-filename-format', is: undefined, why: 'qcow stores no backing format' },
    { qemu: 'encrypted', ours: (info) => (info.details.encryption === 'aes' ? true : undefined) },
    { ours: 'matchedFormats', is: ['qcow'] },
  ],
  invariants: [{ ours: 'virtualSize', equals: 'details.size' }],
};
