/**
 * OVA manifests and a whole OVA: digests written by `sha*sum --tag` (VirtualBox's line
 * style) and rewritten in ovftool's style, compared with what those tools computed; an OVA
 * packed by GNU tar in ustar format with the descriptor first (as ovftool and VirtualBox
 * write them), walked, its descriptor parsed from the member's bytes, and its manifest
 * checked against digests of the members read at their data offsets.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OVA_MAX_MANIFEST_ENTRIES, ovaCompanions, parseOvaCertificate, parseOvaManifest } from '../../containers/shared/ova-manifest.js';
import { parseOvfDescriptor } from '../../containers/shared/ovf.js';
import { loadXmlTokenizer } from '../../containers/shared/xml-tree.js';
import { walkTar } from '../../containers/shared/tar.js';
import { rejectionOf } from '../helpers/errors.js';
import { fixturesRoot } from '../helpers/fixtures.js';
import { collect, forwardOnlyReader } from './readers.js';

// The tokenizer is loaded on first use by the OVA module; a test below calls the parser directly.
await loadXmlTokenizer();

const hasTools = ['tar', 'sha1sum', 'sha256sum', 'sha512sum'].every((tool) => spawnSync(tool, ['--version']).status === 0);
const work = mkdtempSync(join(tmpdir(), 'ova-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { cwd: work, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

describe.skipIf(!hasTools)('OVA manifests against sha*sum', () => {
  writeFileSync(join(work, 'Debian 12.ovf'), '<Envelope/>\n');
  writeFileSync(join(work, 'Debian 12-disk001.vmdk'), new Uint8Array(4096).fill(7));

  it('reads VirtualBox lines ("SHA256 (name) = hex", as sha256sum --tag writes) and ovftool lines ("SHA256(name)= hex")', () => {
    const files = ['Debian 12.ovf', 'Debian 12-disk001.vmdk'];
    for (const [tool, algorithm] of [['sha1sum', 'SHA1'], ['sha256sum', 'SHA256'], ['sha512sum', 'SHA512']] as const) {
      const tagged = run(tool, ['--tag', ...files]);
      const expected = run(tool, files)
        .trim()
        .split('\n')
        .map((line) => ({ algorithm, file: line.slice(line.indexOf('  ') + 2), digest: line.slice(0, line.indexOf('  ')) }));
      expect(parseOvaManifest(new TextEncoder().encode(tagged))).toEqual({ entries: expected, problems: [] });
      const ovftool = expected.map((entry) => `${algorithm}(${entry.file})= ${entry.digest}`).join('\n');
      expect(parseOvaManifest(new TextEncoder().encode(`${ovftool}\r\n`)).entries).toEqual(expected);
    }
  });

  it('lists lines that are not digests, and digests of the wrong length', () => {
    const manifest = parseOvaManifest(new TextEncoder().encode('SHA1(a.ovf)= 00\n\nhello\nSHA256(b.vmdk)= ' + 'ab'.repeat(32) + '\n'));
    expect(manifest.entries).toEqual([{ algorithm: 'SHA256', file: 'b.vmdk', digest: 'ab'.repeat(32) }]);
    expect(manifest.problems).toEqual([
      { line: 1, problem: 'a SHA1 digest has 40 hex digits, not 2' },
      { line: 3, problem: 'not "ALGORITHM(file)= digest"' },
    ]);
  });

  it('refuses manifests beyond the caps', async () => {
    const lines = `SHA1(x)= ${'0'.repeat(40)}\n`.repeat(OVA_MAX_MANIFEST_ENTRIES + 1);
    expect((await rejectionOf(Promise.resolve().then(() => parseOvaManifest(new TextEncoder().encode(lines))))).code).toBe('LIMIT_EXCEEDED');
  });

  it('reads the shape of a certificate file and finds the companions of a descriptor', () => {
    const cert = `SHA256(vm.mf)= ${'c0'.repeat(256)}\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n`;
    expect(parseOvaCertificate(new TextEncoder().encode(cert))).toEqual({ algorithm: 'SHA256', signedFile: 'vm.mf', signatureLength: 512, certificateCount: 1 });
    expect(ovaCompanions('vm.ovf', ['vm.ovf', './vm.mf', 'vm.cert', 'vm-disk1.vmdk'])).toEqual({ manifest: './vm.mf', certificate: 'vm.cert' });
    expect(ovaCompanions('vm.ovf', ['vm.ovf', 'other.mf'])).toEqual({});
  });
});

describe.skipIf(!hasTools)('an OVA packed by GNU tar', () => {
  it('walks to the descriptor, parses it from the member bytes, finds every file and verifies the manifest', async () => {
    copyFileSync(join(fixturesRoot, 'ovf', 'virtualbox-7.0-ovf2.0-two-disks.ovf'), join(work, 'ubuntu.ovf'));
    writeFileSync(join(work, 'ubuntu-disk001.vmdk'), new Uint8Array(70_000).map((_, index) => index & 0xff));
    writeFileSync(join(work, 'ubuntu-disk002.vmdk'), new Uint8Array(1000).fill(1));
    writeFileSync(join(work, 'ubuntu.mf'), run('sha256sum', ['--tag', 'ubuntu.ovf', 'ubuntu-disk001.vmdk', 'ubuntu-disk002.vmdk']));
    run('tar', ['-c', '--format=ustar', '--owner=vboxovf20:7', '--group=vbox_v7.0.14r161095:0', '-f', 'ubuntu.ova', 'ubuntu.ovf', 'ubuntu-disk001.vmdk', 'ubuntu-disk002.vmdk', 'ubuntu.mf']);
    const ova = new Uint8Array(readFileSync(join(work, 'ubuntu.ova')));

    const entries = await collect(walkTar(forwardOnlyReader(ova)));
    expect(entries.map((entry) => [entry.name, entry.uname, entry.format])).toEqual([
      ['ubuntu.ovf', 'vboxovf20', 'ustar'],
      ['ubuntu-disk001.vmdk', 'vboxovf20', 'ustar'],
      ['ubuntu-disk002.vmdk', 'vboxovf20', 'ustar'],
      ['ubuntu.mf', 'vboxovf20', 'ustar'],
    ]);
    const member = (name: string) => {
      const entry = entries.find((candidate) => candidate.name === name);
      if (entry === undefined) throw new Error(`no ${name}`);
      return ova.subarray(entry.dataOffset, entry.dataOffset + entry.size);
    };
    const { ovf, hazards } = parseOvfDescriptor(member('ubuntu.ovf'), { availableFiles: entries.map((entry) => entry.name) });
    expect(hazards.missingFiles).toEqual([]);
    expect(hazards.unsafeHrefs).toEqual([]);
    expect(ovf?.disks.map((disk) => disk.href)).toEqual(['ubuntu-disk001.vmdk', 'ubuntu-disk002.vmdk']);

    const companions = ovaCompanions('ubuntu.ovf', entries.map((entry) => entry.name));
    expect(companions.manifest).toBe('ubuntu.mf');
    const manifest = parseOvaManifest(member('ubuntu.mf'));
    expect(manifest.entries.map((entry) => entry.file)).toEqual(['ubuntu.ovf', 'ubuntu-disk001.vmdk', 'ubuntu-disk002.vmdk']);
    for (const entry of manifest.entries) {
      expect(createHash('sha256').update(member(entry.file)).digest('hex'), entry.file).toBe(entry.digest);
    }
  });
});
