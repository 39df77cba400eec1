/** vmdk and `qemu-img info` (block/vmdk.c vmdk_get_specific_info). */
import type { vmdk } from '../../formats/vmdk.js';
import type { InfoFor } from '../../src/index.js';
import type { Correspondence } from '../helpers/qemu-correspondence.js';

type VmdkInfo = InfoFor<typeof vmdk>;
type QemuVmdkExtent = { 'virtual-size': number; filename?: string; format: string; 'cluster-size'?: number; compressed?: boolean };

const sparse = (info: VmdkInfo): boolean => info.details.layout === 'sparse';
const descriptor = (info: VmdkInfo): boolean => info.details.layout === 'descriptor';

export const vmdkCorrespondence: Correspondence<VmdkInfo> = {
  fields: [
    { qemu: 'virtual-size', ours: 'virtualSize' },
    { qemu: 'format-specific.data.create-type', ours: 'details.createType' },
    { qemu: 'format-specific.data.cid', ours: 'details.cid' },
    { qemu: 'format-specific.data.parent-cid', ours: 'details.parentCid' },
    { qemu: 'cluster-size', ours: 'details.grainSize', when: (info) => !descriptor(info) },
    { qemu: 'backing-filename', ours: 'details.parentFileNameHint' },
    { qemu: 'backing-filename-format', ours: (info) => (info.details.parentFileNameHint === undefined ? undefined : 'vmdk') },
    {
      qemu: 'format-specific.data.extents',
      qemuAs: (extents) => (extents as QemuVmdkExtent[]).map((extent) => ({ format: extent.format, size: extent['virtual-size'], compressed: Boolean(extent.compressed), grain: extent['cluster-size'] })),
      ours: (info) => [{ format: '', size: info.virtualSize, compressed: info.details.compressed, grain: info.details.grainSize }],
      when: sparse,
      why: 'qemu lists a sparse file itself as its one extent, with format ""',
    },
    {
      qemu: 'format-specific.data.extents',
      qemuAs: (extents) => (extents as QemuVmdkExtent[]).map((extent) => ({ size: extent['virtual-size'], filename: extent.filename, format: extent.format })),
      ours: (info) => info.details.extents.filter((extent) => extent.access === 'RW').map((extent) => ({ size: extent.sectors * 512, filename: extent.filename, format: extent.type })),
      when: descriptor,
      why: 'a descriptor file: qemu lists its RW extents',
    },
  ],
};
