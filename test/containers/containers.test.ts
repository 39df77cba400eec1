/**
 * Seeing through the layers users upload (issue 11): compression, archives, OVAs and their
 * nestings, made at test time by the real tools around images made by qemu-img, compared
 * with `qemu-img info` on the extracted file, from every kind of source; OVAs from
 * descriptors in the style of VirtualBox and VMware; hostile archives and descriptors.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImageInfo, introspect, isIntrospectionError, verifyDiskFormat } from '../../src/index.js';
import { introspectFile } from '../../src/node.js';
import { rejectionOf } from '../helpers/errors.js';
import { fixturesRoot } from '../helpers/fixtures.js';
import { hasQemuImg, qemuImg, qemuInfo, qemuMissing } from '../helpers/qemu.js';
import { chunksOfSizes, makeSource, sourceKinds } from '../helpers/sources.js';

const tools = ['gzip', 'xz', 'zstd', 'bzip2', 'zip', 'tar'];
const missing = tools.filter((tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).error !== undefined);
const skipReason = !hasQemuImg ? qemuMissing : missing.length > 0 ? `missing tools: ${missing.join(', ')} (apt-get install gzip xz-utils zstd bzip2 zip tar)` : '';

let work = '';
const path = (name: string) => join(work, name);
const bytes = (name: string) => new Uint8Array(readFileSync(path(name)));

function run(command: string, args: string[], cwd = work): void {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
}

/** What qemu-img says of an image file: the facts every layer must preserve. */
function qemuFacts(name: string): { format: string; virtualSize: number } {
  const info = qemuInfo(path(name));
  const format = info.format === 'vpc' ? 'vhd' : String(info.format);
  return { format, virtualSize: Number(info['virtual-size']) };
}

/** The same answer from every kind of source (bytesRead aside). */
async function fromEverySource(data: Uint8Array): Promise<ImageInfo> {
  const reference = await introspect(data);
  for (const kind of sourceKinds) {
    const info = await introspect(makeSource(kind, data));
    expect({ format: info.format, virtualSize: info.virtualSize, containers: info.containers?.map((layer) => ({ format: layer.format, member: layer.member })), safe: info.safety.safe }, kind).toEqual({
      format: reference.format,
      virtualSize: reference.virtualSize,
      containers: reference.containers?.map((layer) => ({ format: layer.format, member: layer.member })),
      safe: reference.safety.safe,
    });
  }
  return reference;
}

describe.skipIf(skipReason !== '')('containers around images made by qemu-img', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'image-introspect-containers-'));
    // Images with data in them, so that compression has something to do.
    run('qemu-img', ['create', '-q', '-f', 'raw', 'base.raw', '8M']);
    run('sh', ['-c', 'head -c 3000000 /dev/urandom | dd of=base.raw conv=notrunc bs=1M seek=2 status=none']);
    run('sh', ['-c', 'printf "\\x55\\xaa" | dd of=base.raw bs=1 seek=510 conv=notrunc status=none']);
    qemuImg(['convert', '-f', 'raw', '-O', 'qcow2', path('base.raw'), path('disk.qcow2')]);
    qemuImg(['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', path('base.raw'), path('disk.vmdk')]);
    qemuImg(['convert', '-f', 'raw', '-O', 'vhdx', path('base.raw'), path('disk.vhdx')]);
    qemuImg(['convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=fixed', path('base.raw'), path('fixed.vhd')]);
    qemuImg(['create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', path('backing.qcow2'), '1G']);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const compressions: Array<[string, (file: string) => string]> = [
    ['gzip', (file) => (run('gzip', ['-k', '-f', file]), `${file}.gz`)],
    ['xz', (file) => (run('xz', ['-k', '-f', '-T1', file]), `${file}.xz`)],
    ['zstd', (file) => (run('zstd', ['-q', '-f', file]), `${file}.zst`)],
    ['bzip2', (file) => (run('bzip2', ['-k', '-f', file]), `${file}.bz2`)],
  ];

  for (const [codec, compress] of compressions) {
    for (const image of ['disk.qcow2', 'disk.vmdk', 'disk.vhdx', 'base.raw', 'fixed.vhd']) {
      it(`${codec} around ${image}: the inner disk as qemu-img sees the extracted file, from every source`, async () => {
        const compressed = compress(image);
        const info = await fromEverySource(bytes(compressed));
        // What the bare image gives, and where qemu-img knows the format by the same name, what qemu-img gives
        // (it reads a fixed VHD as raw; this library reads its footer: docs/formats/vhd.md).
        const bare = await introspect(bytes(image));
        expect(info.format).toBe(bare.format);
        expect(info.virtualSize).toBe(bare.virtualSize);
        expect(info.details).toEqual(bare.details);
        const expected = qemuFacts(image);
        if (expected.format === bare.format) expect(info.virtualSize).toBe(expected.virtualSize);
        expect(info.containers?.[0]?.format).toBe(codec);
        expect(info.containers).toHaveLength(1);
      });
    }
  }

  it('a compressed qcow2 is answered from its first decoded bytes: the stream is released early', async () => {
    run('sh', ['-c', 'head -c 64000000 /dev/urandom > noise.raw']);
    qemuImg(['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', path('noise.raw'), path('big.vmdk')]);
    run('gzip', ['-k', '-1', '-f', 'big.vmdk']);
    const compressed = bytes('big.vmdk.gz');
    let pulled = 0;
    const source = (async function* () {
      for (const chunk of chunksOfSizes(compressed, [65536])) {
        pulled += chunk.byteLength;
        yield chunk;
      }
    })();
    const info = await introspect(source);
    expect(info.format).toBe('vmdk');
    expect(pulled).toBeLessThan(1024 * 1024);
    expect(info.bytesRead).toBe(pulled);
  });

  it('the gzipped qcow2 with a backing file is unsafe, and "raw" is refused for it', async () => {
    const info = await introspect(bytes(compressions[0]?.[1]('backing.qcow2') ?? ''));
    expect(info.format).toBe('qcow2');
    expect(info.safety.safe).toBe(false);
    expect(info.safety.checks.find((check) => check.name === 'backing_file')?.passed).toBe(false);
    expect(verifyDiskFormat(info, 'raw').decision).toBe('reject');
    expect(verifyDiskFormat(info, 'qcow2', 'compressed').decision).toBe('reject');
    const clean = await introspect(bytes('disk.qcow2.gz'));
    expect(verifyDiskFormat(clean, 'qcow2', 'compressed').decision).toBe('accept');
    expect(verifyDiskFormat(clean, 'qcow2', 'bare').decision).toBe('reject');
    expect(verifyDiskFormat(clean, 'qcow2').decision).toBe('reject');
  });

  it('tar, sparse (GCE: disk.raw in a .tar.gz made with tar -S), and a libvirt Vagrant box', async () => {
    // A sparse file, as a real disk image mostly is: GNU tar -S stores only its data regions.
    run('sh', ['-c', 'truncate -s 8M disk.raw && dd if=base.raw of=disk.raw bs=1M skip=2 seek=2 count=3 conv=notrunc,sparse status=none && dd if=base.raw of=disk.raw bs=512 count=1 conv=notrunc status=none']);
    run('tar', ['--format=oldgnu', '-Sczf', 'gce.tar.gz', 'disk.raw']);
    const gce = await fromEverySource(bytes('gce.tar.gz'));
    expect(gce.format).toBe('raw');
    expect(gce.virtualSize).toBe(qemuFacts('disk.raw').virtualSize);
    expect(gce.containers?.map((layer) => layer.format)).toEqual(['gzip', 'tar']);
    expect(gce.containers?.[1]).toMatchObject({ member: 'disk.raw', sparse: true });

    mkdirSync(path('box'), { recursive: true });
    writeFileSync(path('box/metadata.json'), '{"provider":"libvirt","format":"qcow2","virtual_size":8}');
    writeFileSync(path('box/Vagrantfile'), 'Vagrant.configure("2") do |config| end\n');
    copyFileSync(path('disk.qcow2'), path('box/box.img'));
    run('tar', ['-czf', '../libvirt.box', 'metadata.json', 'Vagrantfile', 'box.img'], path('box'));
    const box = await fromEverySource(bytes('libvirt.box'));
    expect(box.format).toBe('qcow2');
    expect(box.containers?.[1]).toMatchObject({ format: 'tar', member: 'box.img' });
    expect((box.containers?.[1] as { entries: unknown[] }).entries).toHaveLength(3);
  });

  it('zip: stored, deflated, streamed (data descriptors) and zip64', async () => {
    run('zip', ['-q', '-0', 'stored.zip', 'disk.vhdx']);
    run('zip', ['-q', '-9', 'deflated.zip', 'README-none', 'disk.vmdk'].filter((arg) => arg !== 'README-none'));
    run('sh', ['-c', 'zip -q - disk.qcow2 > streamed.zip']);
    run('zip', ['-q', '-fz', 'zip64.zip', 'disk.qcow2']);
    for (const [name, inner] of [['stored.zip', 'disk.vhdx'], ['deflated.zip', 'disk.vmdk'], ['streamed.zip', 'disk.qcow2'], ['zip64.zip', 'disk.qcow2']] as const) {
      const info = await fromEverySource(bytes(name));
      expect(info.format, name).toBe(qemuFacts(inner).format);
      expect(info.virtualSize, name).toBe(qemuFacts(inner).virtualSize);
      expect(info.containers?.[0], name).toMatchObject({ format: 'zip', member: inner });
    }
  });

  it('zip: a raw disk in a streamed entry is decoded to its end; the largest entry is the disk when none is recognised', async () => {
    writeFileSync(path('notes.txt'), 'not a disk\n');
    run('sh', ['-c', 'zip -q - notes.txt base.raw > streamed-raw.zip']);
    const info = await fromEverySource(bytes('streamed-raw.zip'));
    expect(info.format).toBe('raw');
    expect(info.virtualSize).toBe(qemuFacts('base.raw').virtualSize);
    expect(info.containers?.[0]).toMatchObject({ member: 'base.raw' });
  });

  it('nesting: an OVA inside a zip, a gzipped tar of an xz-compressed qcow2, and the depth cap', async () => {
    mkdirSync(path('ova1'), { recursive: true });
    copyFileSync(join(fixturesRoot, 'ovf', 'vagrant-virtualbox-4.3-box.ovf'), path('ova1/box.ovf'));
    const href = /ovf:href="([^"]+)"/.exec(readFileSync(path('ova1/box.ovf'), 'utf8'))?.[1] ?? 'box-disk1.vmdk';
    copyFileSync(path('disk.vmdk'), path(`ova1/${href}`));
    run('tar', ['--format=ustar', '-cf', '../box.ova', 'box.ovf', href], path('ova1'));
    run('zip', ['-q', 'ova.zip', 'box.ova']);
    const zipped = await fromEverySource(bytes('ova.zip'));
    expect(zipped.containers?.map((layer) => layer.format)).toEqual(['zip', 'ova']);
    expect(zipped.format).toBe('vmdk');
    expect(zipped.ovf?.operatingSystem).toBeDefined();

    run('xz', ['-k', '-f', '-T1', 'disk.qcow2']);
    run('tar', ['-czf', 'nested.tar.gz', 'disk.qcow2.xz']);
    const nested = await fromEverySource(bytes('nested.tar.gz'));
    expect(nested.containers?.map((layer) => layer.format)).toEqual(['gzip', 'tar', 'xz']);
    expect(nested.format).toBe('qcow2');
    const deep = await rejectionOf(introspect(bytes('nested.tar.gz'), { maxContainerDepth: 2 }));
    expect(deep.code).toBe('LIMIT_EXCEEDED');
  });

  it('a file on disk: a stored tar member is read by random access (a few KiB of a large archive)', async () => {
    run('tar', ['-cf', 'plain.tar', 'disk.vhdx']);
    const info = await introspectFile(path('plain.tar'));
    expect(info.format).toBe('vhdx');
    expect(info.bytesRead).toBeLessThan(400 * 1024);
  });
});

/** An OVA made at test time: the descriptor first, then the disks it names (qemu-img VMDKs of the declared capacities). */
function makeOva(descriptorFixture: string, name: string, options: { capacities?: boolean } = {}): Uint8Array {
  const folder = path(`ova-${name}`);
  mkdirSync(folder, { recursive: true });
  const text = readFileSync(join(fixturesRoot, 'ovf', descriptorFixture), 'utf8');
  writeFileSync(join(folder, 'vm.ovf'), text);
  const files = [...text.matchAll(/<(?:\w+:)?File\b[^>]*?(?:ovf:)?href="([^"]+)"/g)].map((match) => match[1] as string);
  for (const file of files) {
    if (/\.vmdk$/i.test(file)) qemuImg(['create', '-q', '-f', 'vmdk', '-o', 'subformat=streamOptimized', join(folder, file), options.capacities === false ? '64M' : '64M']);
    else writeFileSync(join(folder, file), 'not a disk\n');
  }
  run('tar', ['--format=ustar', '-cf', `../${name}.ova`, 'vm.ovf', ...files], folder);
  return bytes(`${name}.ova`);
}

describe.skipIf(skipReason !== '')('OVAs in the style of the exporters', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'image-introspect-ova-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('VirtualBox 7 (OVF 1.0, EFI): its OS, CPUs, memory, firmware and disk', async () => {
    const info = await fromEverySource(makeOva('virtualbox-7.0-ovf1.0-efi.ovf', 'vbox'));
    expect(info.containers?.[0]?.format).toBe('ova');
    expect(info.format).toBe('vmdk');
    expect(info.ovf?.firmware).toBe('efi');
    expect(info.ovf?.cpus).toBeGreaterThan(0);
    expect(info.ovf?.memoryBytes).toBeGreaterThan(0);
    expect(info.ovf?.operatingSystem?.osType ?? info.ovf?.operatingSystem?.description).toBeDefined();
  });

  it('VMware vSphere 8 with two disks: both reported, in DiskSection order', async () => {
    const info = await fromEverySource(makeOva('vmware-vsphere-8.0-efi-two-disks.ovf', 'vsphere'));
    expect(info.disks).toHaveLength(2);
    expect(info.disks?.[0]?.format).toBe('vmdk');
    expect(info.ovf?.disks).toHaveLength(2);
    expect(info.ovf?.firmware).toBe('efi');
    expect(info.safety.checks.find((check) => check.name === 'other_disks')?.passed).toBe(true);
  });

  it('a two-disk OVA whose second disk has a backing file is unsafe as a whole', async () => {
    const folder = path('ova-unsafe');
    mkdirSync(folder, { recursive: true });
    const text = readFileSync(join(fixturesRoot, 'ovf', 'virtualbox-7.0-ovf2.0-two-disks.ovf'), 'utf8');
    writeFileSync(join(folder, 'vm.ovf'), text);
    const files = [...text.matchAll(/<(?:\w+:)?File\b[^>]*?(?:ovf:)?href="([^"]+)"/g)].map((match) => match[1] as string);
    qemuImg(['create', '-q', '-f', 'vmdk', join(folder, files[0] as string), '64M']);
    qemuImg(['create', '-q', '-f', 'qcow2', '-b', '/etc/shadow', '-F', 'raw', join(folder, files[1] as string), '64M']);
    run('tar', ['--format=ustar', '-cf', '../unsafe.ova', 'vm.ovf', ...files], folder);
    const info = await introspect(bytes('unsafe.ova'));
    expect(info.disks).toHaveLength(2);
    expect(info.safety.safe).toBe(false);
    expect(info.safety.checks.find((check) => check.name === 'other_disks')).toMatchObject({ passed: false });
  });
});

describe.skipIf(skipReason !== '')('hostile archives and descriptors', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'image-introspect-hostile-containers-'));
    qemuImg(['create', '-q', '-f', 'qcow2', path('disk.qcow2'), '64M']);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const checkOf = (info: ImageInfo, name: string) => info.safety.checks.find((check) => check.name === name);

  it('members with .., absolute paths, links: member_path fails', async () => {
    mkdirSync(path('t'), { recursive: true });
    copyFileSync(path('disk.qcow2'), path('t/disk.qcow2'));
    run('ln', ['-s', '/etc/passwd', 't/link']);
    run('tar', ['-cf', '../links.tar', 'link', 'disk.qcow2'], path('t'));
    const links = await introspect(bytes('links.tar'));
    expect(checkOf(links, 'member_path')).toMatchObject({ passed: false });
    run('tar', ['-P', '--transform', 's,^,../../,', '-cf', 'climb.tar', 'disk.qcow2']);
    const climb = await introspect(bytes('climb.tar'));
    expect(checkOf(climb, 'member_path')?.reason).toMatch(/climbs out/);
    run('tar', ['-P', '-cf', 'absolute.tar', path('disk.qcow2')]);
    const absolute = await introspect(bytes('absolute.tar'));
    expect(checkOf(absolute, 'member_path')?.reason).toMatch(/absolute/);
  });

  it('an OVF with a DOCTYPE (billion laughs, external entities) or hrefs out of the package is unsafe, never expanded', async () => {
    for (const [hostile, check] of [['billion-laughs.ovf', 'ovf_doctype'], ['external-entity.ovf', 'ovf_doctype'], ['unsafe-hrefs.ovf', 'ovf_href']] as const) {
      const folder = path(`h-${hostile}`);
      mkdirSync(folder, { recursive: true });
      copyFileSync(join(fixturesRoot, 'ovf', 'hostile', hostile), join(folder, 'vm.ovf'));
      copyFileSync(path('disk.qcow2'), join(folder, 'disk.qcow2'));
      run('tar', ['--format=ustar', '-cf', `../${hostile}.ova`, 'vm.ovf', 'disk.qcow2'], folder);
      const outcome: unknown = await introspect(bytes(`${hostile}.ova`)).catch((error: unknown) => error);
      if (isIntrospectionError(outcome)) expect(['CORRUPT', 'FORMAT_MISMATCH'], `${hostile}: ${outcome.message}`).toContain(outcome.code);
      else expect(checkOf(outcome as ImageInfo, check), hostile).toMatchObject({ passed: false });
    }
  });

  it('a descriptor naming a file the OVA lacks, a manifest that disagrees', async () => {
    const info = await introspect(makeOva('vmware-ovftool-4.6-workstation.ovf', 'ok'));
    expect(info.safety.safe).toBe(true);
    const folder = path('ova-missing');
    mkdirSync(folder, { recursive: true });
    copyFileSync(path('ova-ok/vm.ovf'), join(folder, 'vm.ovf'));
    writeFileSync(join(folder, 'vm.mf'), 'SHA256(other.vmdk)= 0000000000000000000000000000000000000000000000000000000000000000\n');
    run('tar', ['--format=ustar', '-cf', '../missing.ova', 'vm.ovf', 'vm.mf'], folder);
    const outcome: unknown = await introspect(bytes('missing.ova')).catch((error: unknown) => error);
    // No disk at all: nothing to describe.
    expect(isIntrospectionError(outcome) && outcome.code).toBe('FORMAT_MISMATCH');
  });

  it('bombs end in LIMIT_EXCEEDED within the decompression cap, holding no more than the budget', async () => {
    run('sh', ['-c', 'head -c 300000000 /dev/zero | gzip -1 > zeros.gz']);
    const before = process.memoryUsage().arrayBuffers;
    const error = await rejectionOf(introspect(bytes('zeros.gz'), { maxDecompressedBytes: 100_000_000 }));
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('random mutations of a gzipped OVA through random chunkings: a result or a library error, never INTERNAL', async () => {
    const ova = makeOva('vmware-ovftool-4.6-workstation.ovf', 'fuzz');
    run('sh', [`-c`, `gzip -c fuzz.ova > fuzz.ova.gz`]);
    const sample = bytes('fuzz.ova.gz');
    expect(ova.byteLength).toBeGreaterThan(0);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ offset: fc.nat({ max: sample.byteLength - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 5 }),
        async (writes, sizes) => {
          const mutated = sample.slice();
          for (const { offset, value } of writes) mutated[offset] = value;
          const outcome: unknown = await introspect(chunksOfSizes(mutated, sizes), { maxBufferBytes: 1 << 20 }).catch((error: unknown) => error);
          if (isIntrospectionError(outcome)) expect(outcome.code, outcome.message).not.toBe('INTERNAL');
          else expect(outcome instanceof Error).toBe(false);
        },
      ),
      { numRuns: 40 },
    );
  });
});
