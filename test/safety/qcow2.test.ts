/**
 * qcow2 safety checks: backing_file, data_file (CVE-2024-32498), unknown_features,
 * corrupt, size; the legitimate features (extended L2, zstd, encryption, lazy refcounts,
 * bitmaps, snapshots) pass, unlike in OpenStack's inspector.
 */
import { rejectionOf } from '../helpers/errors.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { introspect } from '../../src/index.js';
import { fixtureBytes } from '../helpers/fixtures.js';
import { hasQemuImg, qemuImg, qemuMissing } from '../helpers/qemu.js';
import { expectFails, expectPasses, expectSafe } from '../helpers/safety.js';

const bytesOf = (name: string) => fixtureBytes('qcow2', name);

describe('qcow2 safety', () => {
  it('passes plain images and every legitimate feature', async () => {
    for (const name of ['v2-empty.qcow2', 'v3-empty.qcow2', 'converted.qcow2', 'converted-zstd.qcow2', 'extended-l2.qcow2',
      'lazy-refcounts.qcow2', 'bitmaps.qcow2', 'snapshots.qcow2', 'aes.qcow2', 'luks.qcow2', 'cluster-512.qcow2', 'cluster-2m.qcow2']) {
      const info = await introspect(bytesOf(name));
      expect(info.format, name).toBe('qcow2');
      expectSafe(info);
    }
  });

  it('extended L2 is a known feature (OpenStack rejects it)', async () => {
    const info = await introspect(bytesOf('extended-l2.qcow2'));
    expectPasses(info, 'unknown_features');
  });

  it('fails backing_file and names the file', async () => {
    const info = await introspect(bytesOf('backing-raw.qcow2'));
    expectFails(info, 'backing_file', /backing file ".+"/);
    expectPasses(info, 'data_file');
  });

  it('fails data_file for an external data file, raw or not (CVE-2024-32498)', async () => {
    for (const name of ['data-file.qcow2', 'data-file-raw.qcow2']) {
      expectFails(await introspect(bytesOf(name)), 'data_file', /external data file ".+"/);
    }
  });

  it('fails data_file when only incompatible bit 2 is set, with no name', async () => {
    const bytes = bytesOf('v3-empty.qcow2').slice();
    bytes[79] = (bytes[79] as number) | 0x04;
    expectFails(await introspect(bytes), 'data_file', /incompatible bit 2/);
  });

  it('fails unknown_features for a bit qemu does not define', async () => {
    expectFails(await introspect(bytesOf('unknown-incompatible.qcow2')), 'unknown_features', /unknown incompatible feature bits 0x/);
  });

  it('fails corrupt when qemu marked the image corrupt', async () => {
    expectFails(await introspect(bytesOf('corrupt.qcow2')), 'corrupt', /bit 1/);
  });

  it('rejects a declared size the L1 table cannot address, as qemu does ("L1 table is too small")', async () => {
    const bytes = bytesOf('v3-empty.qcow2').slice();
    // 64 MiB with 64 KiB clusters has 1 L1 entry (an L2 table maps 512 MiB); claim 1 TiB.
    new DataView(bytes.buffer).setBigUint64(24, 1n << 40n, false);
    const error = await rejectionOf(introspect(bytes));
    expect(error.code).toBe('CORRUPT');
    expect(error.field).toBe('header.l1Size');
  });

  it('fails parse_error for a header whose tables are cut off', async () => {
    const info = await introspect(bytesOf('truncated-300.qcow2'));
    expect(info.format).toBe('qcow2');
    expectFails(info, 'parse_error', /image ends before/);
  });

  it('lets the caller waive a check, which then is a warning', async () => {
    const info = await introspect(bytesOf('backing-raw.qcow2'), { allowChecks: ['backing_file'] });
    expect(info.safety.safe).toBe(true);
    const check = info.safety.checks.find((candidate) => candidate.name === 'backing_file');
    expect(check).toMatchObject({ passed: false, waived: true });
    expect(info.warnings.some((warning) => warning.startsWith('safety check backing_file failed (allowed)'))).toBe(true);
  });
});

describe.skipIf(!hasQemuImg)(`qcow2 safety with images made at test time${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'image-introspect-safety-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('a backing chain and a data file made by qemu-img are caught; extended L2 and zstd pass', async () => {
    qemuImg(['create', '-q', '-f', 'raw', join(work, 'base.raw'), '1M']);
    qemuImg(['create', '-q', '-f', 'qcow2', '-b', 'base.raw', '-F', 'raw', join(work, 'overlay.qcow2')]);
    qemuImg(['create', '-q', '-f', 'qcow2', '-o', 'data_file=host-file.bin', 'datafile.qcow2', '1M'], work);
    qemuImg(['create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on,compression_type=zstd', join(work, 'modern.qcow2'), '1G']);
    const read = (name: string) => new Uint8Array(readFileSync(join(work, name)));
    expectFails(await introspect(read('overlay.qcow2')), 'backing_file', /"base.raw" \(format raw\)/);
    expectFails(await introspect(read('datafile.qcow2')), 'data_file', /"host-file.bin"/);
    expectSafe(await introspect(read('modern.qcow2')));
  });
});
