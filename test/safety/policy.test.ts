/**
 * What an image service does with the verdict: expectedFormat's early abort (OpenStack's
 * "abort before we've read tons of traffic only to reject the image"), allowedFormats,
 * verifyDiskFormat (Glance's decision on a declared disk_format, the format-confusion
 * attack rejected), and the command line's exit status.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IntrospectionError, introspect, verifyDiskFormat } from '../../src/index.js';
import { rejectionOf } from '../helpers/errors.js';
import { fixtureBytes, projectRoot } from '../helpers/fixtures.js';
import { trackedStream } from '../helpers/sources.js';

const bytesOf = fixtureBytes;

/** A large image as a stream: the given head, then zeros, `total` bytes in all, 64 KiB chunks. */
function largeStream(head: Uint8Array, total: number) {
  let pulled = 0;
  let released = false;
  const iterable = {
    async *[Symbol.asyncIterator]() {
      try {
        for (let offset = 0; offset < total; offset += 65536) {
          const chunk = new Uint8Array(Math.min(65536, total - offset));
          if (offset < head.byteLength) chunk.set(head.subarray(offset, offset + chunk.byteLength));
          pulled += chunk.byteLength;
          yield chunk;
        }
      } finally {
        released = true;
      }
    },
  };
  return { iterable, pulled: () => pulled, released: () => released };
}

const mismatchOf = async (promise: Promise<unknown>) => {
  const error = await rejectionOf(promise);
  expect(error.code).toBe('FORMAT_MISMATCH');
  return error;
};

describe('expectedFormat: stop as soon as the content cannot be that format', () => {
  it('a qcow2 upload declared raw is rejected after its head, not after 1 GiB', async () => {
    const stream = largeStream(bytesOf('qcow2', 'v3-empty.qcow2').subarray(0, 65536), 1024 ** 3);
    const error = await mismatchOf(introspect(stream.iterable, { expectedFormat: 'raw' }));
    expect(error.message).toMatch(/the content is qcow2, not the expected raw/);
    expect(stream.pulled()).toBeLessThanOrEqual(128 * 1024);
    expect(stream.released()).toBe(true);
  });

  it('raw bytes declared qcow2 are rejected after the head', async () => {
    const stream = largeStream(new Uint8Array(0), 1024 ** 3);
    await mismatchOf(introspect(stream.iterable, { expectedFormat: 'qcow2' }));
    expect(stream.pulled()).toBeLessThanOrEqual(128 * 1024);
  });

  it('a VHD is recognised by its end, so a stream declared vhd is read to its end before it can be rejected', async () => {
    const stream = largeStream(new Uint8Array(0), 8 * 1024 * 1024);
    await mismatchOf(introspect(stream.iterable, { expectedFormat: 'vhd' }));
    expect(stream.pulled()).toBe(8 * 1024 * 1024);
  });

  it('accepts the expected format and answers as usual', async () => {
    const info = await introspect(trackedStream(bytesOf('vmdk', 'stream.vmdk'), [4096]), { expectedFormat: 'vmdk' });
    expect(info.format).toBe('vmdk');
    const raw = await introspect(bytesOf('raw', 'gpt.img'), { expectedFormat: 'raw' });
    expect(raw.format).toBe('raw');
  });

  it('allowedFormats rejects anything else once detected', async () => {
    await mismatchOf(introspect(bytesOf('vmdk', 'stream.vmdk'), { allowedFormats: ['qcow2', 'raw'] }));
    expect((await introspect(bytesOf('vmdk', 'stream.vmdk'), { allowedFormats: ['vmdk'] })).format).toBe('vmdk');
  });

  it('an expected format that is not considered is a caller error', async () => {
    // @ts-expect-error: a name that is not a format fails to compile, and at run time
    const error = await introspect(bytesOf('vmdk', 'stream.vmdk'), { expectedFormat: 'floppy' }).catch((caught: unknown) => caught);
    expect((error as IntrospectionError).code).toBe('INVALID_ARGUMENT');
  });
});

describe('verifyDiskFormat (Glance\'s decision on a declared disk_format)', () => {
  const decide = async (folder: string, name: string, claimed: string) => verifyDiskFormat(await introspect(bytesOf(folder, name)), claimed);

  it('accepts content that is what was declared', async () => {
    expect(await decide('qcow2', 'v3-empty.qcow2', 'qcow2')).toMatchObject({ decision: 'accept', detected: 'qcow2' });
    expect(await decide('vmdk', 'stream.vmdk', 'vmdk')).toMatchObject({ decision: 'accept' });
    expect(await decide('vhd', 'dynamic-64M.vhd', 'vhd')).toMatchObject({ decision: 'accept' });
    expect(await decide('vhd', 'dynamic-64M.vhd', 'vpc')).toMatchObject({ decision: 'accept' });
    expect(await decide('parallels', 'default.hds', 'ploop')).toMatchObject({ decision: 'accept' });
    expect(await decide('raw', 'gpt.img', 'raw')).toMatchObject({ decision: 'accept' });
  });

  it('rejects a "raw" upload that qemu would open as qcow2 or VMDK: the format-confusion attack', async () => {
    for (const [folder, name] of [['qcow2', 'v3-empty.qcow2'], ['vmdk', 'sparse-ide.vmdk'], ['vmdk', 'flat.vmdk'], ['vdi', 'converted.vdi'], ['vhd', 'dynamic-64M.vhd'], ['qed', 'cluster-4k-table-16.qed']] as const) {
      const decision = await decide(folder, name, 'raw');
      expect(decision.decision, `${folder}/${name}`).toBe('reject');
      expect(decision.reason).toMatch(/CVE-2024-40767/);
    }
  });

  it('accepts with a warning a "raw" upload that qemu reads as raw anyway (ISO, fixed VHD)', async () => {
    expect(await decide('iso', 'genisoimage-plain.iso', 'raw')).toMatchObject({ decision: 'accept-with-warning', detected: 'iso' });
    expect(await decide('vhd', 'fixed-1M.vhd', 'raw')).toMatchObject({ decision: 'accept-with-warning', detected: 'vhd' });
  });

  it('an ISO that is also a GPT disk is an ISO; a GPT disk may be declared gpt', async () => {
    expect(await decide('iso', 'xorriso-hybrid-gpt.iso', 'iso')).toMatchObject({ decision: 'accept' });
    expect(await decide('raw', 'gpt.img', 'gpt')).toMatchObject({ decision: 'accept' });
  });

  it('uninspectable declarations (ami) take plain bytes only', async () => {
    expect(await decide('raw', 'empty.img', 'ami')).toMatchObject({ decision: 'accept' });
    expect(await decide('raw', 'gpt.img', 'ami')).toMatchObject({ decision: 'reject' });
    expect(await decide('qcow2', 'v3-empty.qcow2', 'aki')).toMatchObject({ decision: 'reject' });
  });

  it('rejects a mismatch, and an unsafe image of the declared format', async () => {
    expect(await decide('vmdk', 'stream.vmdk', 'qcow2')).toMatchObject({ decision: 'reject', reason: 'declared qcow2, but the content is vmdk' });
    const unsafe = await decide('qcow2', 'backing-raw.qcow2', 'qcow2');
    expect(unsafe.decision).toBe('reject');
    expect(unsafe.reason).toMatch(/failed safety checks: backing_file \(backing file "/);
    const flat = await decide('vmdk', 'flat.vmdk', 'vmdk');
    expect(flat).toMatchObject({ decision: 'reject' });
    expect(flat.reason).toMatch(/descriptor \(createType "monolithicFlat" is not allowed/);
  });
});

describe('command line: exit status for safety', () => {
  const work = mkdtempSync(join(tmpdir(), 'image-introspect-cli-safety-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const cli = join(projectRoot, 'dist', 'cli.js');
  const file = (name: string, bytes: Uint8Array) => {
    const path = join(work, name);
    writeFileSync(path, bytes);
    return path;
  };
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

  it('exits 1 when a file fails a check, showing the check; 0 when it is allowed', () => {
    const backing = file('backing.qcow2', bytesOf('qcow2', 'backing-raw.qcow2'));
    const unsafe = run(backing);
    expect(unsafe.status).toBe(1);
    expect(unsafe.stdout).toMatch(/safety: UNSAFE \(backing_file\)/);
    expect(unsafe.stdout).toMatch(/failed check backing_file: backing file "/);
    const json = JSON.parse(run('--json', backing).stdout) as { safety: { safe: boolean } };
    expect(json.safety.safe).toBe(false);
    expect(run('--allow-check', 'backing_file', backing).status).toBe(0);
  });

  it('exits 1 for --expect with content of another format, 0 when it matches', () => {
    const vmdk = file('disk.vmdk', bytesOf('vmdk', 'stream.vmdk'));
    const wrong = run('--expect', 'qcow2', vmdk);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/the content is vmdk, not the expected qcow2/);
    expect(run('--expect', 'vmdk', vmdk).status).toBe(0);
  });

  it('--vmdk-allowed-types relaxes the descriptor check', () => {
    const flat = file('flat.vmdk', bytesOf('vmdk', 'flat.vmdk'));
    // The descriptor's extent file is read beside it: absent, parse_error fails (qemu refuses such a descriptor).
    const missing = run('--vmdk-allowed-types', 'monolithicFlat', flat);
    expect(missing.status).toBe(1);
    expect(missing.stdout).toMatch(/safety: UNSAFE \(parse_error\)/);
    file('flat-flat.vmdk', new Uint8Array(2048 * 512));
    expect(run(flat).status).toBe(1);
    expect(run('--vmdk-allowed-types', 'monolithicFlat', flat).status).toBe(0);
  });
});
