/** dmg and `qemu-img info` (block/dmg.c), which finds a DMG by its file name and reports its format and size only. */
import type { dmg } from '../../formats/dmg.js';
import type { InfoFor } from '../../src/index.js';
import type { Correspondence } from '../helpers/qemu-correspondence.js';

type DmgInfo = InfoFor<typeof dmg>;

/** Where the trailer says 0 sectors but the block tables say more, we report what the tables cover. */
const sizedByTables = (info: DmgInfo): boolean => info.details.sectorCount === 0 && (info.details.partitions?.length ?? 0) > 0;

export const dmgCorrespondence: Correspondence<DmgInfo> = {
  fields: [
    { qemu: 'virtual-size', ours: (info) => info.details.sectorCount * 512, why: "qemu reports the koly trailer's sector count x 512" },
    { qemu: 'virtual-size', ours: 'virtualSize', when: (info) => !sizedByTables(info) },
    { ours: (info) => info.virtualSize > 0, is: true, when: sizedByTables, why: 'a trailer of 0 sectors: the block tables give the size' },
    { qemu: 'cluster-size', is: undefined },
    { qemu: 'dirty-flag', is: undefined },
  ],
  qemuOpensUnprobed: { why: "qemu has no probe for DMG: it opens a file by its .dmg name (block/dmg.c dmg_probe)", when: () => true },
};
