/** luks and `qemu-img info` (block/crypto.c, crypto/block-luks.c), which opens LUKS1 only. */
import type { luks } from '../../formats/luks.js';
import type { InfoFor } from '../../src/index.js';
import type { Correspondence } from '../helpers/qemu-correspondence.js';

type LuksInfo = InfoFor<typeof luks>;
type QemuSlot = { active: boolean; iters?: number; 'key-offset': number; stripes?: number };

/** qemu splits our cipher mode (`xts-plain64`, `cbc-essiv:sha256`) into mode, IV generator and its hash. */
function modeParts(info: LuksInfo): { mode: string; ivAlgorithm: string | undefined; ivHash: string | undefined } {
  const [mode = '', ivGenerator = ''] = info.details.cipherMode.split(/-(.*)/s);
  const [ivAlgorithm, ivHash] = ivGenerator.split(':');
  return { mode, ivAlgorithm, ivHash };
}

export const luksCorrespondence: Correspondence<LuksInfo> = {
  fields: [
    { qemu: 'virtual-size', ours: 'virtualSize', sectors: 'up', why: "qemu's size is the file's rounded up to 512, less the payload offset; ours is exact" },
    { qemu: 'encrypted', is: true },
    { qemu: 'dirty-flag', is: false },
    {
      qemu: 'format-specific.data.cipher-alg',
      ours: (info) => `${info.details.cipherName}-${((info.details.keyBytes ?? 0) * 8) / (modeParts(info).mode === 'xts' ? 2 : 1)}`,
      why: 'qemu names the cipher by its key bits (half the key for XTS)',
    },
    { qemu: 'format-specific.data.cipher-mode', ours: (info) => modeParts(info).mode },
    { qemu: 'format-specific.data.ivgen-alg', ours: (info) => modeParts(info).ivAlgorithm },
    { qemu: 'format-specific.data.ivgen-hash-alg', ours: (info) => modeParts(info).ivHash },
    { qemu: 'format-specific.data.hash-alg', ours: 'details.hashSpec' },
    { qemu: 'format-specific.data.uuid', ours: 'details.uuid' },
    { qemu: 'format-specific.data.payload-offset', ours: 'details.payloadOffset' },
    { qemu: 'format-specific.data.master-key-iters', ours: 'details.masterKeyDigestIterations' },
    {
      qemu: 'format-specific.data.slots',
      ours: (info) =>
        info.details.keySlots.map((slot): QemuSlot => ({
          active: slot.active,
          ...(slot.active ? { iters: slot.iterations } : {}),
          'key-offset': slot.keyMaterialOffset,
          ...(slot.active ? { stripes: slot.stripes } : {}),
        })),
    },
    {
      qemu: 'format-specific.data.slots',
      qemuAs: (slots) => (slots as QemuSlot[]).flatMap((slot, index) => (slot.active ? [index] : [])),
      ours: 'details.activeKeySlots',
    },
  ],
  refused: {
    'cryptsetup-luks1-detached.hdr': {
      why: 'qemu refuses a detached header ("LUKS payload is overlapping with the header"); we read it, payload offset 0',
      warning: /payload offset 0: a detached header/,
    },
  },
};
