/**
 * Comparisons between our results and `qemu-img info --output=json`, one function per
 * format, shared by the fixture tests (recorded JSON), the differential tests (qemu-img
 * run at test time) and the real-world tests (JSON from the manifest).
 */
import { expect } from 'vitest';
import type { ImageInfo } from '../../src/index.js';

type QemuJson = Record<string, unknown>;
type QemuVmdkExtent = { 'virtual-size': number; filename?: string; format: string; 'cluster-size'?: number; compressed?: boolean };

/** Our format name for qemu's driver name (qemu calls VHD "vpc"). */
export function ourFormatName(qemuFormat: string): string {
  return qemuFormat === 'vpc' ? 'vhd' : qemuFormat;
}

/** Checks the fields every format shares: format and virtual size. */
export function expectSameFormatAndSize(info: ImageInfo, qemu: QemuJson): void {
  expect(info.format).toBe(ourFormatName(qemu.format as string));
  expect(info.virtualSize).toBe(qemu['virtual-size']);
}

/** Everything qemu-img reports for a VMDK. */
export function expectVmdkAgrees(info: ImageInfo, qemu: QemuJson): void {
  expectSameFormatAndSize(info, qemu);
  if (info.format !== 'vmdk') return;
  const details = info.details;
  const data = (qemu['format-specific'] as { data: Record<string, unknown> }).data;
  expect(details.createType).toBe(data['create-type']);
  expect(details.cid).toBe(data.cid);
  expect(details.parentCid).toBe(data['parent-cid']);
  if (details.layout !== 'descriptor') expect(details.grainSize).toBe(qemu['cluster-size']);
  expect(details.parentFileNameHint).toBe(qemu['backing-filename']);
  if (qemu['backing-filename'] !== undefined) expect(qemu['backing-filename-format']).toBe('vmdk');

  const qemuExtents = data.extents as QemuVmdkExtent[];
  if (details.layout === 'sparse') {
    // qemu lists the sparse file itself as its one extent, with format "".
    expect(qemuExtents).toHaveLength(1);
    const [extent] = qemuExtents as [QemuVmdkExtent];
    expect(extent.format).toBe('');
    expect(extent['virtual-size']).toBe(info.virtualSize);
    expect(Boolean(extent.compressed)).toBe(details.compressed);
    expect(extent['cluster-size']).toBe(details.grainSize);
  } else {
    // A descriptor file: qemu lists its RW extents.
    const ours = details.extents.filter((extent) => extent.access === 'RW');
    expect(ours.map((extent) => ({ size: extent.sectors * 512, filename: extent.filename, format: extent.type }))).toEqual(
      qemuExtents.map((extent) => ({ size: extent['virtual-size'], filename: extent.filename, format: extent.format })),
    );
  }
}
