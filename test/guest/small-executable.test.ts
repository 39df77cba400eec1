/**
 * The architecture of a guest whose standard binary is shorter than the 4 KiB head the
 * library reads first: `file` (what libguestfs runs) names a bare 64-byte ELF header, and so
 * must inspection. The oracle is `file -b` on the same bytes.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { introspect } from '../../src/index.js';
import { isGuestInfo } from '../../src/guest-inspection.js';
import { sh } from '../helpers/guest-images.js';
import { hasTool } from '../filesystems/ext-xfs-tree.js';

const work = mkdtempSync(join(tmpdir(), 'image-introspect-small-executable-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `file -b`'s machine names and libguestfs's for them. */
const FILE_MACHINES: ReadonlyArray<[RegExp, string]> = [
  [/x86-64/, 'x86_64'],
  [/ARM aarch64/, 'aarch64'],
  [/Intel 80386/, 'i386'],
];

/** A bare ELF header (64 bytes, nothing after it): class 64, little-endian, ET_EXEC, machine `machine`. */
function elfHeader(machine: number): Uint8Array {
  const bytes = new Uint8Array(64);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  const view = new DataView(bytes.buffer);
  view.setUint16(16, 2, true);
  view.setUint16(18, machine, true);
  view.setUint32(20, 1, true);
  view.setUint16(52, 64, true);
  return bytes;
}

const missing = ['mkfs.ext4', 'file'].filter((tool) => !hasTool(tool));

describe.skipIf(missing.length > 0)(`a guest whose /bin/ls is a bare ELF header${missing.length > 0 ? ` (skipped: missing ${missing.join(', ')})` : ''}`, () => {
  for (const machine of [62, 183]) {
    it(`names the architecture file(1) names (e_machine ${machine})`, async () => {
      const root = join(work, `root-${machine}`);
      mkdirSync(join(root, 'etc'), { recursive: true });
      mkdirSync(join(root, 'bin'), { recursive: true });
      // What makes a Linux root for libguestfs: /etc/fstab beside a release file.
      writeFileSync(join(root, 'etc', 'os-release'), 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n');
      writeFileSync(join(root, 'etc', 'fstab'), '/dev/sda / ext4 defaults 0 1\n');
      writeFileSync(join(root, 'bin', 'ls'), elfHeader(machine));
      const described = sh('file', ['-b', join(root, 'bin', 'ls')]);
      const expected = FILE_MACHINES.find(([pattern]) => pattern.test(described))?.[1];
      expect(expected, `file(1) says: ${described}`).toBeDefined();
      const disk = join(work, `disk-${machine}.img`);
      sh('truncate', ['-s', '4M', disk]);
      sh('mkfs.ext4', ['-q', '-F', '-d', root, disk]);
      const info = await introspect(new Uint8Array(readFileSync(disk)), { inspectGuest: true });
      expect(isGuestInfo(info.guest) ? info.guest.os?.arch : info.guest, JSON.stringify(info.guest)).toBe(expected);
    });
  }
});
