/**
 * VMDK safety checks: descriptor (CVE-2022-47951), footer (bug 2073262), parent; and the
 * holes in OpenStack's inspector: a descriptor missed when it arrives in small chunks or
 * when its createType line is far down.
 */
import { describe, expect, it } from 'vitest';
import { introspect, type ImageInfo } from '../../src/index.js';
import { fixtureBytes } from '../helpers/fixtures.js';
import { expectFails, expectPasses, expectSafe } from '../helpers/safety.js';
import { chunksOfSizes, makeSource, sourceKinds } from '../helpers/sources.js';

const bytesOf = (name: string) => fixtureBytes('vmdk', name);
const text = (value: string) => new TextEncoder().encode(value);

function descriptorFile(extentLine: string, createType = 'monolithicFlat', extra = ''): Uint8Array {
  return text(`# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="${createType}"\n${extra}\n# Extent description\n${extentLine}\n\nddb.adapterType = "ide"\n`);
}

/** A qemu sparse file whose embedded descriptor is replaced by `descriptor` (same 10 KiB slot). */
function withEmbeddedDescriptor(descriptor: string): Uint8Array {
  const bytes = bytesOf('sparse-ide.vmdk');
  bytes.fill(0, 512, 512 + 10240);
  bytes.set(text(descriptor), 512);
  return bytes;
}

describe('vmdk descriptor check', () => {
  it('passes what qemu-img writes for the allowed subformats', async () => {
    for (const name of ['sparse-ide.vmdk', 'sparse-buslogic.vmdk', 'sparse-data.vmdk', 'stream.vmdk', 'sparse-hw6-zeroed.vmdk']) {
      expectSafe(await introspect(bytesOf(name)));
    }
  });

  it('fails the subformats that are not allowed by default, and passes them when allowed', async () => {
    for (const name of ['flat.vmdk', 'flat-crlf.vmdk', 'split-sparse.vmdk', 'split-flat.vmdk']) {
      const info = await introspect(bytesOf(name));
      expectFails(info, 'descriptor', /createType "\w+" is not allowed/);
      const allowed = await introspect(bytesOf(name), { vmdkAllowedTypes: ['monolithicFlat', 'twoGbMaxExtentSparse', 'twoGbMaxExtentFlat'] });
      expectPasses(allowed, 'descriptor');
    }
  });

  it('fails an extent that names a host file (CVE-2022-47951), whatever the allowed types', async () => {
    const everything = { vmdkAllowedTypes: ['monolithicFlat', 'monolithicSparse'] };
    const cases: Array<[string, RegExp]> = [
      ['RW 2048 FLAT "/etc/hosts" 0', /"RW 2048 FLAT \\"\/etc\/hosts\\" 0": the file name contains a path separator/],
      ['RW 2048 FLAT "../../etc/shadow" 0', /path separator/],
      ['RW 2048 FLAT ".." 0', /parent directory/],
      ['RW 2048 FLAT "C:\\\\Windows\\\\win.ini" 0', /path separator|absolute Windows path/],
      ['RW 2048 FLAT "C:win.ini" 0', /absolute Windows path/],
      ['RDONLY 2048 FLAT "/dev/sda" 0', /path separator/],
    ];
    for (const [line, reason] of cases) {
      expectFails(await introspect(descriptorFile(line), everything), 'descriptor', reason);
    }
  });

  it('fails a sparse file whose embedded descriptor names a host file', async () => {
    const bytes = withEmbeddedDescriptor(
      '# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType="monolithicSparse"\nRW 131072 FLAT "/etc/passwd" 0\n',
    );
    const info = await introspect(bytes);
    expect(info.format).toBe('vmdk');
    expectFails(info, 'descriptor', /\/etc\/passwd/);
  });

  it('fails lines outside the grammar, and a descriptor without extents', async () => {
    const allowFlat = { vmdkAllowedTypes: ['monolithicFlat'] };
    expectFails(await introspect(descriptorFile('RW 2048 FLAT "disk-flat.vmdk" 0', 'monolithicFlat', 'this is not a descriptor line'), allowFlat), 'descriptor', /invalid descriptor line: "this is not a descriptor line"/);
    expectFails(await introspect(descriptorFile('# no extent here'), allowFlat), 'descriptor', /no extents/);
    expectPasses(await introspect(descriptorFile('RW 2048 FLAT "disk-flat.vmdk" 0'), allowFlat), 'descriptor');
  });

  it('fails a sparse extent with no descriptor, and bare COWD extents', async () => {
    const bytes = bytesOf('sparse-ide.vmdk');
    bytes.fill(0, 512, 512 + 10240);
    expectFails(await introspect(bytes), 'descriptor', /no descriptor found/);
    const cowd = new Uint8Array(2048);
    cowd.set(text('COWD'));
    new DataView(cowd.buffer).setUint32(12, 2048, true);
    new DataView(cowd.buffer).setUint32(16, 16, true);
    expectFails(await introspect(cowd), 'descriptor', /bare COWD extent/);
  });

  it('finds a descriptor whose createType is far down, from any chunking (an OpenStack hole)', async () => {
    const comments = Array.from({ length: 20_000 }, (_, index) => `# comment line ${index}`).join('\n');
    const bytes = text(`# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n${comments}\ncreateType="monolithicFlat"\nRW 2048 FLAT "/etc/hosts" 0\n`);
    expect(bytes.byteLength).toBeGreaterThan(400_000);
    for (const size of [1, 3, 512, 4096, 65536]) {
      const info = await introspect(chunksOfSizes(bytes, [size]), { vmdkAllowedTypes: ['monolithicFlat'] });
      expect(info.format).toBe('vmdk');
      expectFails(info, 'descriptor', /\/etc\/hosts/);
    }
  });
});

describe('vmdk parent check', () => {
  it('fails a delta disk and names its parent', async () => {
    expectFails(await introspect(bytesOf('sparse-child.vmdk')), 'parent', /a delta disk of parent "sparse-base.vmdk"/);
  });

  it('fails a parent CID without a file hint', async () => {
    expectFails(await introspect(withEmbeddedDescriptor('# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=abcdef01\ncreateType="monolithicSparse"\nRW 131072 SPARSE "x.vmdk"\n')), 'parent', /parent CID abcdef01/);
  });
});

/**
 * A VMware-style streamOptimized file made from qemu's: the header says GD_AT_END and the
 * file ends with a footer marker, a footer (the header with the real grain directory) and
 * the end-of-stream marker (Virtual Disk Format 1.1).
 */
function vmwareStream(tamper?: (footer: DataView, marker: DataView, end: DataView) => void): Uint8Array {
  const original = bytesOf('stream.vmdk');
  const header = original.slice(0, 512);
  const body = original.subarray(0, original.byteLength - 512); // without qemu's end-of-stream marker
  const result = new Uint8Array(body.byteLength + 1536);
  result.set(body);
  new DataView(result.buffer).setBigUint64(56, 0xffffffffffffffffn, true); // gdOffset = GD_AT_END
  const marker = new DataView(result.buffer, body.byteLength, 512);
  marker.setBigUint64(0, 1n, true);
  marker.setUint32(12, 3, true); // type 3: footer
  result.set(header, body.byteLength + 512); // footer: the original header, with its real gdOffset
  tamper?.(new DataView(result.buffer, body.byteLength + 512, 512), marker, new DataView(result.buffer, body.byteLength + 1024, 512));
  return result;
}

describe('vmdk footer check', () => {
  const footerOf = (info: ImageInfo) => (info.format === 'vmdk' ? info.details.footer : undefined);

  it('passes a well-formed footer that agrees with the header, from every kind of source', async () => {
    for (const kind of sourceKinds) {
      const info = await introspect(makeSource(kind, vmwareStream()));
      expect(footerOf(info)?.header?.gdOffset).toBeGreaterThan(0);
      expectPasses(info, 'footer');
    }
  });

  it('fails a footer that redefines the header', async () => {
    const info = await introspect(vmwareStream((footer) => footer.setBigUint64(12, 1n << 30n, true)));
    expectFails(info, 'footer', /disagrees with the header: capacity 1073741824 \(header: 8192\)/);
  });

  it('fails a footer that points at another footer', async () => {
    expectFails(await introspect(vmwareStream((footer) => footer.setBigUint64(56, 0xffffffffffffffffn, true))), 'footer', /another footer/);
  });

  it('fails malformed markers', async () => {
    expectFails(await introspect(vmwareStream((_footer, marker) => marker.setUint32(12, 2, true))), 'footer', /footer marker is malformed/);
    expectFails(await introspect(vmwareStream((_footer, _marker, end) => end.setUint32(12, 1, true))), 'footer', /end-of-stream marker is malformed/);
  });

  it('fails when the header promises a footer that is not there', async () => {
    const bytes = bytesOf('stream.vmdk');
    new DataView(bytes.buffer).setBigUint64(56, 0xffffffffffffffffn, true);
    expectFails(await introspect(bytes), 'footer', /there is no footer/);
  });
});
