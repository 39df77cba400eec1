/**
 * The guest disk behind every format's tables, compared with the raw disk it was made from
 * and with `qemu-img convert -O raw` of the image (the oracle): at the start, at random
 * offsets and lengths, across cluster, grain, block and table boundaries, in holes and in
 * zero ranges, and whole.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasQemuImg, qemuImg, qemuMissing } from '../helpers/qemu.js';
import { SOURCE_RANGES, SOURCE_SIZE, fileSource, guestOf, openGuest, randomBytes, readWhole, writeSourceDisk } from './guest-disk-fixtures.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const work = mkdtempSync(join(tmpdir(), 'image-introspect-guest-disk-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Every conversion of the source disk: qemu-img's output format and options. */
const conversions: ReadonlyArray<{ name: string; format: string; expect: string; options?: string[] }> = [
  { name: 'qcow2 v2', format: 'qcow2', expect: 'qcow2', options: ['-o', 'compat=0.10'] },
  { name: 'qcow2 v3', format: 'qcow2', expect: 'qcow2' },
  { name: 'qcow2 v3, 512-byte clusters (64 entries per L2 table)', format: 'qcow2', expect: 'qcow2', options: ['-o', 'cluster_size=512'] },
  { name: 'qcow2 v3, 4 KiB clusters', format: 'qcow2', expect: 'qcow2', options: ['-o', 'cluster_size=4096'] },
  { name: 'qcow2 v2 compressed (zlib)', format: 'qcow2', expect: 'qcow2', options: ['-c', '-o', 'compat=0.10'] },
  { name: 'qcow2 v3 compressed (zlib), 4 KiB clusters', format: 'qcow2', expect: 'qcow2', options: ['-c', '-o', 'compression_type=zlib,cluster_size=4096'] },
  { name: 'qcow2 v3 compressed (zstd)', format: 'qcow2', expect: 'qcow2', options: ['-c', '-o', 'compression_type=zstd'] },
  { name: 'qcow2 v3 extended L2', format: 'qcow2', expect: 'qcow2', options: ['-o', 'extended_l2=on'] },
  { name: 'qcow2 v3 extended L2 compressed (zstd)', format: 'qcow2', expect: 'qcow2', options: ['-c', '-o', 'extended_l2=on,compression_type=zstd'] },
  { name: 'raw', format: 'raw', expect: 'raw' },
  { name: 'VDI dynamic', format: 'vdi', expect: 'vdi' },
  { name: 'VDI static', format: 'vdi', expect: 'vdi', options: ['-o', 'static=on'] },
  { name: 'VHD dynamic', format: 'vpc', expect: 'vhd' },
  { name: 'VHD dynamic, current size', format: 'vpc', expect: 'vhd', options: ['-o', 'force_size=on'] },
  { name: 'VHD fixed', format: 'vpc', expect: 'vhd', options: ['-o', 'subformat=fixed,force_size=on'] },
  { name: 'VHDX dynamic', format: 'vhdx', expect: 'vhdx' },
  { name: 'VHDX dynamic, 1 MiB blocks', format: 'vhdx', expect: 'vhdx', options: ['-o', 'block_size=1M'] },
  { name: 'VHDX fixed', format: 'vhdx', expect: 'vhdx', options: ['-o', 'subformat=fixed'] },
  { name: 'VMDK monolithicSparse', format: 'vmdk', expect: 'vmdk' },
  { name: 'VMDK monolithicSparse, zeroed grains', format: 'vmdk', expect: 'vmdk', options: ['-o', 'zeroed_grain=on'] },
  { name: 'VMDK streamOptimized', format: 'vmdk', expect: 'vmdk', options: ['-o', 'subformat=streamOptimized'] },
];

let source: Uint8Array;
const sourcePath = join(work, 'source.raw');

beforeAll(() => {
  source = writeSourceDisk(sourcePath);
});

/** Reads `[offset, offset + length)` of the guest and of the expected bytes, and compares. */
async function expectRange(reader: { read(offset: number, length: number, field: string): Promise<Uint8Array> }, expected: Uint8Array, offset: number, length: number): Promise<void> {
  const got = await reader.read(offset, length, 'test');
  const want = expected.subarray(offset, offset + length);
  if (!Buffer.from(got).equals(Buffer.from(want))) {
    let first = 0;
    while (got[first] === want[first]) first += 1;
    expect.fail(`guest bytes ${offset}..${offset + length} differ first at ${offset + first}: got ${got[first]}, want ${want[first]}`);
  }
}

/** Offsets worth reading: the start, every range's edges, boundaries of common cluster and block sizes. */
function interestingOffsets(size: number): number[] {
  const offsets = new Set<number>([0, size - 1]);
  for (const range of SOURCE_RANGES) for (const edge of [range.offset, range.offset + range.length]) for (const delta of [-1, 0, 1]) offsets.add(edge + delta);
  for (const unit of [512, 4 * KiB, 64 * KiB, MiB, 2 * MiB]) for (let edge = unit; edge < size; edge += unit * 7) for (const delta of [-2, 0]) offsets.add(edge + delta);
  return [...offsets].filter((offset) => offset >= 0 && offset < size).sort((a, b) => a - b);
}

describe.skipIf(!hasQemuImg)('guest disk of qemu-img conversions', () => {
  if (!hasQemuImg) it.skip(qemuMissing, () => undefined);

  for (const conversion of conversions) {
    describe(conversion.name, () => {
      const path = join(work, `${conversion.name.replace(/[^a-z0-9]+/gi, '-')}.img`);
      let oracle: Uint8Array;

      beforeAll(() => {
        qemuImg(['convert', '-f', 'raw', '-O', conversion.format, ...(conversion.options ?? []), sourcePath, path]);
        const oraclePath = `${path}.oracle.raw`;
        // -f: qemu probes a fixed VHD as raw.
        qemuImg(['convert', '-f', conversion.format, '-O', 'raw', path, oraclePath]);
        oracle = new Uint8Array(readFileSync(oraclePath));
      });

      it('reads like the raw disk and like qemu-img convert -O raw, whole and in pieces', async () => {
        const file = fileSource(path);
        try {
          const opened = await openGuest(file);
          expect(opened.format).toBe(conversion.expect);
          const guest = guestOf(opened);
          expect(guest.size).toBe(oracle.byteLength);
          // The raw disk's bytes, then whatever the format rounded the size up with (zeros).
          expect(Buffer.from(oracle.subarray(0, SOURCE_SIZE)).equals(Buffer.from(source))).toBe(true);
          const whole = await readWhole(guest.reader, guest.size);
          expect(Buffer.from(whole).equals(Buffer.from(oracle))).toBe(true);
          // Compressed conversions went through decoded units, the others never.
          const compressed = (conversion.options ?? []).some((option) => option === '-c' || option.includes('streamOptimized'));
          if (compressed) expect(guest.unitsDecoded).toBeGreaterThan(0);
          else expect(guest.unitsDecoded).toBe(0);
          for (const offset of interestingOffsets(guest.size)) {
            await expectRange(guest.reader, oracle, offset, Math.min(guest.size - offset, 3000));
          }
          const lengths = randomBytes(400, 99);
          for (let index = 0; index < 100; index += 1) {
            const offset = Math.floor(((lengths[index * 4] as number) * 256 + (lengths[index * 4 + 1] as number)) / 65536 * guest.size);
            const length = Math.min(guest.size - offset, 1 + ((lengths[index * 4 + 2] as number) << 10) + (lengths[index * 4 + 3] as number) * 37);
            await expectRange(guest.reader, oracle, offset, length);
          }
          expect(opened.warnings).toEqual([]);
        } finally {
          file.close();
        }
      });

      it('reads a few KiB far into the disk by reading little more of the image', async () => {
        const file = fileSource(path);
        try {
          const guest = guestOf(await openGuest(file));
          const before = guest.bytesRead;
          const decodedBefore = guest.unitsDecoded;
          await expectRange(guest.reader, oracle, 3 * MiB + 5000, 4 * KiB);
          const taken = guest.bytesRead - before;
          const decoded = guest.unitsDecoded - decodedBefore;
          // The data (or the compressed units holding it: 64 KiB each at most, with a sector of
          // framing), and the entries of each table on the way, not whole tables: 4 to 16 bytes
          // for each of the (up to 9, with 512-byte clusters) units the read crosses, and the
          // upper table's.
          const entries = 16 * (4 * KiB / 512 + 1) + 16;
          expect(taken).toBeGreaterThan(0);
          expect(taken).toBeLessThanOrEqual(decoded === 0 ? 4 * KiB + entries : decoded * (64 * KiB + 512) + entries);
        } finally {
          file.close();
        }
      });
    });
  }
});


/**
 * Where guest LBA 0's grain is in a streamOptimized VMDK, read from the file by hand (VMware
 * "Virtual Disk Format 1.1", stream-optimized extents): the sparse header's `overHead`
 * (sectors, at byte 64) is where the grains start, and qemu-img writes them in guest order,
 * each as a marker (8-byte LBA, 4-byte compressed size) and its zlib stream.
 */
function firstGrain(file: Uint8Array): { at: number; size: number } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const at = Number(view.getBigUint64(64, true)) * 512;
  expect(view.getBigUint64(at, true)).toBe(0n);
  return { at: at + 12, size: view.getUint32(at + 8, true) };
}

describe.skipIf(!hasQemuImg)('streamOptimized grains, decoded as far as the reads into them go', () => {
  if (!hasQemuImg) it.skip(qemuMissing, () => undefined);
  const path = join(work, 'stream-steps.vmdk');
  let file: Uint8Array;
  let oracle: Uint8Array;

  beforeAll(() => {
    qemuImg(['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', sourcePath, path]);
    qemuImg(['convert', '-f', 'vmdk', '-O', 'raw', path, `${path}.oracle.raw`]);
    file = new Uint8Array(readFileSync(path));
    oracle = new Uint8Array(readFileSync(`${path}.oracle.raw`));
  });

  it('reads the start of a grain by reading the start of its stream, and the rest when asked for', async () => {
    // Grain 0 holds 64 KiB of random bytes: its stream is about as long (stored deflate blocks).
    const grain = firstGrain(file);
    expect(grain.size).toBeGreaterThan(64 * KiB);
    const guest = guestOf(await openGuest(file));
    const before = guest.bytesRead;
    await expectRange(guest.reader, oracle, 0, 4 * KiB);
    const start = guest.bytesRead - before;
    // A little over 4 KiB of stream for 4 KiB of data, plus table entries and the marker.
    expect(start).toBeLessThan(12 * KiB);
    await expectRange(guest.reader, oracle, 64 * KiB - 100, 100);
    expect(guest.bytesRead - before).toBeGreaterThanOrEqual(grain.size);
    expect(guest.unitsDecoded).toBe(1);
  });

  it('checks the Adler-32 at the end of the stream once a read reaches it', async () => {
    const grain = firstGrain(file);
    const damaged = file.slice();
    const last = grain.at + grain.size - 1;
    damaged[last] = (damaged[last] as number) ^ 0x5a;
    const guest = guestOf(await openGuest(damaged));
    // The stream's start decodes as before: the checksum covers the data up to its end.
    await expectRange(guest.reader, oracle, 0, 4 * KiB);
    const error = await guest.reader.read(64 * KiB - 100, 100, 'test').then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'CORRUPT' });
    expect(String((error as Error).message)).toMatch(/checksum/);
    // Read whole, the grain is refused the same way.
    const fresh = guestOf(await openGuest(damaged));
    await expect(fresh.reader.read(0, 64 * KiB, 'test')).rejects.toMatchObject({ code: 'CORRUPT' });
  });
});
