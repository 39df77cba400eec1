/**
 * Table entries qemu-img convert never writes, made with qemu-io: qcow2 zero clusters (over
 * allocated and unallocated clusters), extended L2 zero and unallocated subclusters, VMDK
 * zeroed grains, and a qcow2 overlay whose unallocated clusters come from its backing
 * file. Each guest disk is compared with `qemu-img convert -O raw` of the same image.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasQemuImg, qemuImg, qemuMissing } from '../helpers/qemu.js';
import { fileSource, guestOf, openGuest, readWhole } from './guest-disk-fixtures.js';

const hasQemuIo = spawnSync('qemu-io', ['--version'], { stdio: 'ignore' }).status === 0;
const work = mkdtempSync(join(tmpdir(), 'image-introspect-guest-qemu-io-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function qemuIo(format: string, path: string, commands: string[]): void {
  const result = spawnSync('qemu-io', ['-f', format, ...commands.flatMap((command) => ['-c', command]), path], { encoding: 'utf8' });
  if (result.status !== 0 || /error|failed/i.test(result.stdout + result.stderr)) throw new Error(`qemu-io ${commands.join('; ')}: ${result.stdout}${result.stderr}`);
}

function oracle(format: string, path: string): Uint8Array {
  qemuImg(['convert', '-f', format, '-O', 'raw', path, `${path}.raw`]);
  return new Uint8Array(readFileSync(`${path}.raw`));
}

async function expectGuestLike(path: string, format: string, options: Parameters<typeof openGuest>[1] = {}): Promise<string[]> {
  const want = oracle(format, path);
  const file = fileSource(path);
  try {
    const opened = await openGuest(file, options);
    const guest = guestOf(opened);
    expect(guest.size).toBe(want.byteLength);
    const got = await readWhole(guest.reader, guest.size, 96 * 1024);
    expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
    return opened.warnings;
  } finally {
    file.close();
  }
}

/** Writes of patterns, then zero writes over some of them and over never-written ranges. */
const WRITES = ['write -P 0xa5 0 1M', 'write -P 0x5a 1536k 100k', 'write -z 256k 128k', 'write -z 2M 64k', 'write -P 0x33 3M 3k', 'write -z 3M 1k'];

describe.skipIf(!hasQemuImg || !hasQemuIo)('guest disk of qemu-io writes', () => {
  if (!hasQemuImg || !hasQemuIo) it.skip(`${qemuMissing}; qemu-io too`, () => undefined);

  it('qcow2 v3 zero clusters, over data and over holes', async () => {
    const path = join(work, 'zero.qcow2');
    qemuImg(['create', '-f', 'qcow2', path, '4M']);
    qemuIo('qcow2', path, WRITES);
    expect(await expectGuestLike(path, 'qcow2')).toEqual([]);
  });

  it('qcow2 extended L2: zero, allocated and unallocated subclusters in one cluster', async () => {
    const path = join(work, 'subclusters.qcow2');
    qemuImg(['create', '-f', 'qcow2', '-o', 'extended_l2=on', path, '4M']);
    qemuIo('qcow2', path, [...WRITES, 'write -P 0x77 3136k 2k', 'write -z 3140k 4k']);
    expect(await expectGuestLike(path, 'qcow2')).toEqual([]);
  });

  it('VMDK zeroed grains', async () => {
    const path = join(work, 'zeroed.vmdk');
    qemuImg(['create', '-f', 'vmdk', '-o', 'zeroed_grain=on', path, '4M']);
    qemuIo('vmdk', path, WRITES);
    expect(await expectGuestLike(path, 'vmdk')).toEqual([]);
  });

  it('a qcow2 overlay reads its backing file where it has no cluster, given the backing guest disk', async () => {
    const base = join(work, 'base.qcow2');
    const overlay = join(work, 'overlay.qcow2');
    qemuImg(['create', '-f', 'qcow2', base, '4M']);
    qemuIo('qcow2', base, ['write -P 0x11 0 4M']);
    qemuImg(['create', '-f', 'qcow2', '-F', 'qcow2', '-b', 'base.qcow2', overlay]);
    qemuIo('qcow2', overlay, WRITES);
    const baseFile = fileSource(base);
    try {
      const backing = guestOf(await openGuest(baseFile));
      expect(await expectGuestLike(overlay, 'qcow2', { backing: backing.reader })).toEqual([]);
    } finally {
      baseFile.close();
    }
  });

  it('without its backing guest disk, an overlay reads zeros there and says so once', async () => {
    const overlay = join(work, 'lonely.qcow2');
    // qemu-io opens the backing file, so it exists while the overlay is written, and not after.
    qemuImg(['create', '-f', 'raw', join(work, 'missing.raw'), '4M']);
    qemuImg(['create', '-f', 'qcow2', '-F', 'raw', '-b', 'missing.raw', overlay, '4M']);
    qemuIo('qcow2', overlay, ['write -P 0x42 64k 64k']);
    rmSync(join(work, 'missing.raw'));
    const file = fileSource(overlay);
    try {
      const opened = await openGuest(file);
      const guest = guestOf(opened);
      const bytes = await readWhole(guest.reader, guest.size, 64 * 1024);
      expect(bytes.subarray(64 * 1024, 128 * 1024).every((byte) => byte === 0x42)).toBe(true);
      expect(bytes.subarray(0, 64 * 1024).every((byte) => byte === 0)).toBe(true);
      expect(bytes.subarray(128 * 1024).every((byte) => byte === 0)).toBe(true);
      expect(opened.warnings).toHaveLength(1);
      expect(opened.warnings[0]).toMatch(/backing image "missing.raw", which was not opened: they read as zeros/);
    } finally {
      file.close();
    }
  });
});
