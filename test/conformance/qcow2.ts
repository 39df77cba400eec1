/** qcow2 and `qemu-img info` (block/qcow2.c qcow2_get_specific_info, qapi ImageInfoSpecificQCow2). */
import type { Qcow2Details, qcow2 } from '../../formats/qcow2.js';
import type { InfoFor } from '../../src/index.js';
import type { Correspondence } from '../helpers/qemu-correspondence.js';

type Qcow2Info = InfoFor<typeof qcow2>;

/** Seconds and nanoseconds back out of our ISO 8601 date with nine fraction digits. */
function dateParts(iso: string): { seconds: number; nanoseconds: number } {
  const match = /^(.*T\d\d:\d\d:\d\d)\.(\d{9})Z$/.exec(iso);
  if (!match) throw new Error(`not an ISO date with nanoseconds: ${iso}`);
  return { seconds: Date.parse(`${match[1]}Z`) / 1000, nanoseconds: Number(match[2]) };
}

/** One snapshot as qemu prints it (qapi SnapshotInfo). */
function snapshotAsQemu(snapshot: Qcow2Details['snapshots'][number]): Record<string, unknown> {
  const { seconds, nanoseconds } = dateParts(snapshot.date);
  return {
    id: snapshot.id,
    name: snapshot.name,
    'date-sec': seconds,
    'date-nsec': nanoseconds,
    'vm-clock-sec': Math.floor(snapshot.vmClockNs / 1e9),
    'vm-clock-nsec': snapshot.vmClockNs % 1e9,
    'vm-state-size': snapshot.vmStateSize,
    ...(snapshot.icount === undefined ? {} : { icount: snapshot.icount }),
  };
}

const version3 = (info: Qcow2Info): boolean => info.details.version === 3;

export const qcow2Correspondence: Correspondence<Qcow2Info> = {
  fields: [
    { qemu: 'virtual-size', ours: 'virtualSize', sectors: 'down', why: "qemu reports whole sectors; we report the header's size exactly" },
    { qemu: 'cluster-size', ours: 'details.clusterSize' },
    { qemu: 'dirty-flag', ours: 'details.dirty' },
    { qemu: 'backing-filename', ours: 'details.backingFile' },
    { qemu: 'backing-filename-format', ours: (info) => (info.details.backingFile === undefined ? undefined : info.details.backingFormat) },
    { qemu: 'encrypted', ours: (info) => (info.details.encryption !== 'none' ? true : undefined) },
    { qemu: 'format-specific.data.compat', ours: 'details.compat' },
    { qemu: 'format-specific.data.compression-type', ours: 'details.compressionType' },
    { qemu: 'format-specific.data.refcount-bits', ours: 'details.refcountBits' },
    { qemu: 'format-specific.data.lazy-refcounts', ours: 'details.lazyRefcounts', when: version3 },
    { qemu: 'format-specific.data.corrupt', ours: 'details.corrupt', when: version3 },
    { qemu: 'format-specific.data.extended-l2', ours: 'details.extendedL2', when: version3 },
    { qemu: 'format-specific.data.lazy-refcounts', is: undefined, when: (info) => !version3(info), why: 'version 2 has no feature bits' },
    { qemu: 'format-specific.data.data-file', ours: 'details.dataFile' },
    { qemu: 'format-specific.data.data-file-raw', ours: 'details.dataFileRaw' },
    { qemu: 'format-specific.data.bitmaps', qemuAbsent: [], ours: 'details.bitmaps' },
    { qemu: 'format-specific.data.encrypt.format', ours: (info) => (info.details.encryption === 'none' ? undefined : info.details.encryption) },
    { qemu: 'snapshots', qemuAbsent: [], ours: (info) => info.details.snapshots.map(snapshotAsQemu) },
    { ours: 'matchedFormats', is: ['qcow2'] },
  ],
  invariants: [
    {
      ours: (info) => info.virtualSize % 512 === 0 || /not a multiple of 512/.test(info.warnings.join('\n')),
      is: true,
      why: 'a size that is not whole sectors is warned about (qemu floors it)',
    },
  ],
  refused: {
    'unknown-incompatible.qcow2': { why: 'qemu 7.2 refuses unknown incompatible feature bits; we read the image and say so', warning: /unknown incompatible feature bits 0x100000: qemu 7.2 refuses/ },
    'version-4.qcow2': { why: 'no qcow2 version 4 exists: neither qemu nor we read it', error: { code: 'UNSUPPORTED', field: 'header.version' } },
  },
};
