/**
 * The guest disk of real images made by VMware, Windows, VirtualBox and qemu
 * (`/work/shared/real-world/`, see its MANIFEST.md), compared with qemu-img's reading of
 * the same files (`qemu-img convert -f <format> -O raw`): whole for small disks, at the
 * start and at pseudo-random ranges for large ones.
 */
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { isGuestDiskUnavailable } from '../../src/reading/guest-disk.js';
import { hasQemuImg, qemuImg, qemuMissing } from '../helpers/qemu.js';
import { fileSource, guestOf, openGuest, randomBytes } from './guest-disk-fixtures.js';

const REAL = '/work/shared/real-world';
const MiB = 1024 * 1024;
const work = mkdtempSync(join(tmpdir(), 'image-introspect-guest-real-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The image as a file under the temp dir (gunzipped when it is stored gzipped). */
function unpacked(relative: string): string {
  const path = join(REAL, relative);
  if (!relative.endsWith('.gz')) return path;
  const out = join(work, basename(relative, '.gz'));
  if (!existsSync(out)) writeFileSync(out, gunzipSync(readFileSync(path)));
  return out;
}

/** Bytes `[offset, offset + length)` of a file. */
function fileRange(path: string, offset: number, length: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const bytes = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const got = readSync(fd, bytes, filled, length - filled, offset + filled);
      if (got === 0) break;
      filled += got;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

const images: ReadonlyArray<{ file: string; qemuFormat: string; format: string; note: string }> = [
  { file: 'vmdk/mdx1__1mb.vmdk', qemuFormat: 'vmdk', format: 'vmdk', note: 'VMware vSphere streamOptimized export, grain directory at the end' },
  { file: 'vmdk/mdx1__64KiB.vmdk', qemuFormat: 'vmdk', format: 'vmdk', note: 'VMware open-vmdk streamOptimized' },
  { file: 'vhd/node-vhd__dynamic.vhd.gz', qemuFormat: 'vpc', format: 'vhd', note: 'Windows 10 dynamic VHD' },
  { file: 'vhd/dissect__dynamic.vhd.gz', qemuFormat: 'vpc', format: 'vhd', note: 'Windows 10 dynamic VHD' },
  { file: 'vhd/node-vhd__fixed.vhd.gz', qemuFormat: 'vpc', format: 'vhd', note: 'Windows 10 fixed VHD' },
  { file: 'vhd/dissect__fixed.vhd.gz', qemuFormat: 'vpc', format: 'vhd', note: 'Windows 10 fixed VHD' },
  { file: 'vhdx/dissect__fixed.vhdx.gz', qemuFormat: 'vhdx', format: 'vhdx', note: 'Windows 10 fixed VHDX' },
  { file: 'vhdx/dissect__dynamic.vhdx.gz', qemuFormat: 'vhdx', format: 'vhdx', note: 'Windows 10 dynamic VHDX, 32 MiB blocks' },
  { file: 'vdi/pyvbox__TestHD-vbox4.vdi', qemuFormat: 'vdi', format: 'vdi', note: 'VirtualBox 4 dynamic VDI, 8 GiB' },
  { file: 'vdi/pyvbox__TestHD-vbox3.vdi', qemuFormat: 'vdi', format: 'vdi', note: 'VirtualBox 3 VDI, header and block map only' },
  { file: 'vdi/dissect__basic.vdi.gz', qemuFormat: 'vdi', format: 'vdi', note: 'qemu-made VDI' },
  { file: 'qcow2/dfvfs__vsstest.qcow2', qemuFormat: 'qcow2', format: 'qcow2', note: 'qcow2 v2, 1 GiB' },
  { file: 'qcow2/dissect__basic.qcow2.gz', qemuFormat: 'qcow2', format: 'qcow2', note: 'qcow2 v3' },
  { file: 'qcow2/dissect__basic-zstd.qcow2.gz', qemuFormat: 'qcow2', format: 'qcow2', note: 'qcow2 v3, zstd' },
  { file: 'qcow2/dissect__snapshot.qcow2.gz', qemuFormat: 'qcow2', format: 'qcow2', note: 'qcow2 v3 with internal snapshots' },
  { file: 'raw/etcher-sdk__etcher-test.img.gz', qemuFormat: 'raw', format: 'raw', note: 'raw MBR disk' },
];

/** Disks up to this size are compared whole; larger ones at their start and at random ranges. */
const WHOLE_LIMIT = 64 * MiB;

describe.skipIf(!hasQemuImg || !existsSync(REAL))('guest disk of real images', () => {
  if (!hasQemuImg) it.skip(qemuMissing, () => undefined);

  for (const image of images) {
    it(`${image.file} (${image.note}) reads as qemu-img reads it`, async () => {
      const path = unpacked(image.file);
      const oraclePath = join(work, `${basename(path)}.oracle.raw`);
      qemuImg(['convert', '-f', image.qemuFormat, '-O', 'raw', path, oraclePath]);
      const oracleSize = statSync(oraclePath).size;
      const file = fileSource(path);
      try {
        const opened = await openGuest(file);
        expect(opened.format).toBe(image.format);
        const guest = guestOf(opened);
        expect(guest.size).toBe(oracleSize);
        const ranges: Array<[number, number]> = [[0, Math.min(oracleSize, oracleSize <= WHOLE_LIMIT ? oracleSize : 4 * MiB)]];
        if (oracleSize > WHOLE_LIMIT) {
          const random = randomBytes(600, 5);
          for (let index = 0; index < 200; index += 1) {
            const position = ((random[index * 3] as number) * 65536 + (random[index * 3 + 1] as number) * 256 + (random[index * 3 + 2] as number)) / 2 ** 24;
            const offset = Math.floor(position * oracleSize);
            ranges.push([offset, Math.min(oracleSize - offset, 1 + ((random[(index * 7) % 600] as number) << 9))]);
          }
        }
        for (const [offset, length] of ranges) {
          const got = await guest.reader.read(offset, length, 'test');
          const want = fileRange(oraclePath, offset, length);
          expect(Buffer.from(got).equals(Buffer.from(want)), `guest bytes ${offset}..${offset + length}`).toBe(true);
        }
        expect(opened.warnings).toEqual([]);
      } finally {
        file.close();
      }
    });
  }

  it('differencing disks (Windows VHD, Hyper-V checkpoint) say why their guest disk is unavailable', async () => {
    for (const [relative, reason] of [
      ['vhd/dfvfs__fat-differential.vhd', /differencing disk.*parent images are not supported/],
      ['vhdx/dissect__differencing.avhdx.gz', /differencing disk.*parent images are not supported/],
    ] as const) {
      const file = fileSource(unpacked(relative));
      try {
        const opened = await openGuest(file);
        expect(isGuestDiskUnavailable(opened.guest)).toBe(true);
        expect((opened.guest as { unavailable: string }).unavailable).toMatch(reason);
      } finally {
        file.close();
      }
    }
  });
});

