/**
 * Damaged tables behind the guest disk: images made by qemu-img, one table entry patched
 * (a table pointing at itself or at the header, a pointer past the end, an unknown state,
 * a count the image cannot hold). Each read of the guest disk ends in a clear
 * IntrospectionError, never a hang or a silent wrong answer. The patched positions come
 * from the formats' published layouts (qcow2 spec, VDICore.h, VHD spec, MS-VHDX, VMDK 1.1).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectionOf } from '../helpers/errors.js';
import { hasQemuImg, qemuImg, qemuMissing } from '../helpers/qemu.js';
import { guestOf, openGuest, readWhole, writeSourceDisk } from './guest-disk-fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'image-introspect-guest-hostile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const sourcePath = join(work, 'source.raw');
beforeAll(() => {
  writeSourceDisk(sourcePath);
});

function convert(format: string, options: string[] = []): Uint8Array {
  const path = join(work, `${format}-${options.join('-').replace(/[^a-z0-9]+/gi, '_')}.img`);
  qemuImg(['convert', '-f', 'raw', '-O', format, ...options, sourcePath, path]);
  return new Uint8Array(readFileSync(path));
}

const view = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Opens the patched image's guest disk and reads it whole: the error it ends in. */
async function guestFailure(bytes: Uint8Array) {
  return rejectionOf(
    (async () => {
      const guest = guestOf(await openGuest(bytes));
      await readWhole(guest.reader, guest.size, 256 * 1024);
    })(),
  );
}

describe.skipIf(!hasQemuImg)('hostile guest disk tables', () => {
  if (!hasQemuImg) it.skip(qemuMissing, () => undefined);

  it('qcow2: an L1 entry pointing at the L1 table itself, or past the end', async () => {
    const image = convert('qcow2');
    const l1 = Number(view(image).getBigUint64(40, false)); // header: l1_table_offset
    const loop = image.slice();
    view(loop).setBigUint64(l1, BigInt(l1) | (1n << 63n), false);
    const looped = await guestFailure(loop);
    expect(looped.code).toBe('CORRUPT');
    expect(looped.message).toMatch(/overlaps the L1 table/);
    const past = image.slice();
    view(past).setBigUint64(l1, 0x4000_0000_0000n | (1n << 63n), false);
    const beyond = await guestFailure(past);
    expect(beyond.code).toBe('CORRUPT');
    expect(beyond.message).toMatch(/past the end of the image/);
  });

  it('qcow2: an L2 entry pointing at its own L2 table', async () => {
    const image = convert('qcow2');
    const l1 = Number(view(image).getBigUint64(40, false));
    const l2 = Number(view(image).getBigUint64(l1, false) & 0x00ff_ffff_ffff_fe00n);
    const patched = image.slice();
    view(patched).setBigUint64(l2, BigInt(l2) | (1n << 63n), false);
    const error = await guestFailure(patched);
    expect(error.code).toBe('CORRUPT');
    expect(error.message).toMatch(/inside the L2 table it was read from/);
  });

  it('qcow2: a compressed cluster whose deflate data is damaged', async () => {
    const image = convert('qcow2', ['-c']);
    const l1 = Number(view(image).getBigUint64(40, false));
    const l2 = Number(view(image).getBigUint64(l1, false) & 0x00ff_ffff_ffff_fe00n);
    // The first compressed cluster (bit 62): a cluster of random data is stored as it is, one partly zeros is compressed.
    let entry = 0n;
    for (let index = 0; index < 8192 && (entry >> 62n) !== 1n; index += 1) entry = view(image).getBigUint64(l2 + index * 8, false);
    expect(entry >> 62n).toBe(1n);
    // 64 KiB clusters: the offset is bits 0..53 (qcow2 spec, "Compressed Clusters Descriptor").
    const at = Number(entry & ((1n << 54n) - 1n));
    const patched = image.slice();
    patched.fill(0xff, at, at + 64);
    const error = await guestFailure(patched);
    expect(error.code).toBe('CORRUPT');
  });

  it('VDI: a block map entry past the blocks the image holds', async () => {
    const image = convert('vdi');
    const blocksOffset = view(image).getUint32(340, true); // VDIHEADER1.offBlocks
    const patched = image.slice();
    view(patched).setUint32(blocksOffset, 0x7fff_fff0, true);
    const error = await guestFailure(patched);
    expect(error.code).toBe('CORRUPT');
    expect(error.message).toMatch(/past the \d+ blocks/);
  });

  it('VHD: BAT entries pointing into the headers and past the end', async () => {
    const image = convert('vpc');
    const tableOffset = Number(view(image).getBigUint64(512 + 16, false)); // dynamic header: Table Offset
    const header = image.slice();
    view(header).setUint32(tableOffset, 0, false);
    const into = await guestFailure(header);
    expect(into.code).toBe('CORRUPT');
    expect(into.message).toMatch(/overlaps the footer copy and dynamic header/);
    const past = image.slice();
    view(past).setUint32(tableOffset, 0x7fff_0000, false);
    expect((await guestFailure(past)).code).toBe('CORRUPT');
  });

  it('VHDX: a BAT entry with a reserved state, and one past the end', async () => {
    const image = convert('vhdx');
    const opened = await openGuest(image);
    const bat = (opened.details as { regionTable: { entries: Array<{ name?: string; fileOffset: number }> } }).regionTable.entries.find((entry) => entry.name === 'bat');
    if (bat === undefined) throw new Error('no BAT region');
    const reserved = image.slice();
    view(reserved).setBigUint64(bat.fileOffset, (view(image).getBigUint64(bat.fileOffset, true) & ~7n) | 4n, true);
    const state = await guestFailure(reserved);
    expect(state.code).toBe('CORRUPT');
    expect(state.message).toMatch(/not a payload block state/);
    const past = image.slice();
    view(past).setBigUint64(bat.fileOffset, (0x10_0000n << 20n) | 6n, true);
    const beyond = await guestFailure(past);
    expect(beyond.code).toBe('CORRUPT');
    expect(beyond.message).toMatch(/past the end of the image/);
  });

  it('VMDK: a grain table on the grain directory, a grain past the end, a huge capacity', async () => {
    const image = convert('vmdk');
    const gdSector = Number(view(image).getBigUint64(56, true)); // SparseExtentHeader.gdOffset
    const loop = image.slice();
    view(loop).setUint32(gdSector * 512, gdSector, true);
    const looped = await guestFailure(loop);
    expect(looped.code).toBe('CORRUPT');
    expect(looped.message).toMatch(/overlaps the grain directory/);
    const gtSector = view(image).getUint32(gdSector * 512, true);
    const past = image.slice();
    view(past).setUint32(gtSector * 512, 0x7fff_0000, true);
    const beyond = await guestFailure(past);
    expect(beyond.code).toBe('CORRUPT');
    const huge = image.slice();
    view(huge).setBigUint64(12, 1n << 50n, true); // capacity: 2^59 bytes, a directory far past the file
    const count = await guestFailure(huge);
    expect(['TRUNCATED', 'LIMIT_EXCEEDED', 'CORRUPT']).toContain(count.code);
  });

  it('streamOptimized VMDK: a grain marker claiming more than two grains', async () => {
    const image = convert('vmdk', ['-o', 'subformat=streamOptimized']);
    const gdSector = Number(view(image).getBigUint64(56, true));
    const gtSector = view(image).getUint32(gdSector * 512, true);
    const grainSector = view(image).getUint32(gtSector * 512, true);
    const patched = image.slice();
    view(patched).setUint32(grainSector * 512 + 8, 0x7fff_ffff, true);
    const error = await guestFailure(patched);
    expect(error.code).toBe('CORRUPT');
    expect(error.message).toMatch(/compressed size/);
    const damaged = image.slice();
    damaged.fill(0xff, grainSector * 512 + 12, grainSector * 512 + 40); // the zlib stream after the 12-byte marker
    expect((await guestFailure(damaged)).code).toBe('CORRUPT');
  });
});
