/**
 * judgeImage: what the audit calls a problem, a proposal or a note, for image records set
 * against images made by qemu-img and xorriso (no service needed; the audit against a real
 * Glance is in services.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { GlanceImage } from '../../src/glance/client.js';
import { judgeImage } from '../../src/glance/audit.js';
import { introspectFile } from '../../src/node.js';
import { hasQemuImg, qemuImg, qemuMissing } from '../helpers/qemu.js';
import { makeIso, xorrisoMissing } from './oracles.js';

const dir = mkdtempSync(join(tmpdir(), 'glance-judge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stored image record as Glance 25 returns it, with these fields. */
function record(fields: Partial<GlanceImage> & Record<string, unknown>): GlanceImage {
  return {
    id: 'id',
    name: 'name',
    status: 'active',
    disk_format: 'raw',
    container_format: 'bare',
    size: 1,
    virtual_size: null,
    checksum: null,
    os_hash_algo: 'sha512',
    os_hash_value: 'x',
    min_disk: 0,
    min_ram: 0,
    visibility: 'shared',
    protected: false,
    ...fields,
  };
}

describe.skipIf(!hasQemuImg)('judgeImage on a VMDK (LSI Logic, streamOptimized, 3 GiB)', () => {
  const path = join(dir, 'lsi.vmdk');
  const info = async () => {
    qemuImg(['create', '-f', 'vmdk', '-o', 'subformat=streamOptimized,adapter_type=lsilogic', path, '3G']);
    return introspectFile(path);
  };

  it('a correct record with nothing missing: no problem, nothing proposed', async () => {
    const verdict = judgeImage(record({ disk_format: 'vmdk', min_disk: 3, vmware_disktype: 'streamOptimized', vmware_adaptertype: 'lsiLogic' }), await info());
    expect(verdict).toEqual({ problems: [], proposed: {}, notes: [] });
  });

  it('missing properties are proposed; min_disk 0 means unset', async () => {
    expect(judgeImage(record({ disk_format: 'vmdk' }), await info())).toEqual({
      problems: [],
      proposed: { min_disk: 3, vmware_disktype: 'streamOptimized', vmware_adaptertype: 'lsiLogic' },
      notes: [],
    });
  });

  it('contradictions are problems; lsiLogicsas and paraVirtual agree with a descriptor that says lsilogic', async () => {
    const image = await info();
    const problems = judgeImage(record({ disk_format: 'raw', container_format: 'ova', min_disk: 2, vmware_adaptertype: 'ide' }), image).problems;
    expect(problems).toEqual([
      expect.stringMatching(/^disk_format: declared raw, but the content is a vmdk image .*format confusion/),
      'container_format: declared ova, but the content is a bare disk',
      'min_disk: 2 GiB is less than the virtual size (3 GiB)',
      'vmware_adaptertype: declared ide, but the content shows lsiLogic',
    ]);
    for (const adapter of ['lsiLogicsas', 'paraVirtual']) {
      expect(judgeImage(record({ disk_format: 'vmdk', min_disk: 3, vmware_adaptertype: adapter, vmware_disktype: 'streamOptimized' }), image).problems).toEqual([]);
    }
    expect(judgeImage(record({ disk_format: 'vmdk', min_disk: 40 }), image).problems).toEqual([]);
  });
});

describe.skipIf(!hasQemuImg)('judgeImage on unsafe content', () => {
  it('a backing file is a problem whatever was declared', async () => {
    const path = join(dir, 'backed.qcow2');
    qemuImg(['create', '-f', 'qcow2', '-u', '-b', '/etc/shadow', '-F', 'raw', path, '1G']);
    const { problems } = judgeImage(record({ disk_format: 'qcow2', min_disk: 1 }), await introspectFile(path));
    expect(problems).toEqual([expect.stringMatching(/^unsafe: backing_file \(.*\/etc\/shadow/)]);
  });
});

describe.skipIf(xorrisoMissing !== undefined)('judgeImage on an installer ISO', () => {
  it('os_distro in either vocabulary, a finer os_version, another spelling of the architecture', async () => {
    const path = makeIso(dir, 'ubuntu', { volumeId: 'Ubuntu-Server 22.04.3 LTS amd64', bios: true, efi: true });
    const image = await introspectFile(path);
    const agreeing = { disk_format: 'iso', min_disk: 1, os_type: 'linux', os_version: '22.04.3', architecture: 'amd64' };
    expect(judgeImage(record({ ...agreeing, os_distro: 'ubuntu' }), image)).toEqual({ problems: [], proposed: {}, notes: [] });
    expect(judgeImage(record({ ...agreeing, os_distro: 'ubuntu22.04' }), image).problems).toEqual([]);
    expect(judgeImage(record({ ...agreeing, os_distro: 'debian', os_type: 'windows', architecture: 'aarch64' }), image).problems).toEqual([
      'os_type: declared windows, but the content shows linux',
      'os_distro: declared debian, but the content shows ubuntu',
      'architecture: declared aarch64, but the content shows x86_64',
    ]);
  });

  it('an ISO declared raw is a note, not a problem (qemu reads it as raw)', async () => {
    const path = makeIso(dir, 'data', { volumeId: 'DATA' });
    const verdict = judgeImage(record({ disk_format: 'raw', min_disk: 1 }), await introspectFile(path));
    expect(verdict.problems).toEqual([]);
    expect(verdict.notes).toEqual([expect.stringMatching(/^disk_format: declared raw, but the content is an iso image; qemu reads it as raw/)]);
  });
});

if (!hasQemuImg || xorrisoMissing) describe('judgeImage', () => it.skip(`skipped: ${hasQemuImg ? xorrisoMissing : qemuMissing}`, () => undefined));
