/** iso and `qemu-img info`: qemu has no ISO driver; its probe takes every ISO for raw. */
import type { iso } from '../../formats/iso.js';
import type { InfoFor } from '../../src/index.js';
import type { Correspondence } from '../helpers/qemu-correspondence.js';

type IsoInfo = InfoFor<typeof iso>;

export const isoCorrespondence: Correspondence<IsoInfo> = {
  // qemu never names an ISO: every image is raw to it (checked against the module's qemuProbes).
  fields: [],
  invariants: [
    {
      ours: 'virtualSize',
      equals: (info, image) => (info.details.volumeSpaceSize === undefined ? image.length : info.details.volumeSpaceSize * (info.details.logicalBlockSize as number)),
      why: "the ISO 9660 volume's size; data appended after the volume is not part of it (pure UDF: the file)",
    },
    { ours: (info, image) => info.virtualSize <= image.length, is: true },
  ],
};
