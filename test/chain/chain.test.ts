/**
 * Images that span files: backing chains against `qemu-img info --backing-chain
 * --output=json` (images made at test time), VMDK extents against qemu's extent list and
 * cluster size, the confinement of the default resolvers (files and URLs), loops, the
 * depth cap, and a caller's `resolve`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImageInfo, type ReferenceResolver, introspect } from '../../src/index.js';
import { MAX_BACKING_CHAIN_DEPTH } from '../../src/chain.js';
import { introspectFile, introspectUrl } from '../../src/node.js';
import { rejectionOf } from '../helpers/errors.js';
import { fixtureBytes, projectRoot } from '../helpers/fixtures.js';
import { hasQemuImg, qemuImg, qemuMissing } from '../helpers/qemu.js';
import { startRangeServer } from '../helpers/range-server.mjs';

type QemuJson = Record<string, unknown>;

const work = mkdtempSync(join(tmpdir(), 'image-introspect-chain-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const at = (...parts: string[]) => join(work, ...parts);
const qemu = (...args: string[]) => qemuImg(args);

/** `qemu-img info --backing-chain --output=json`, or undefined when qemu-img refuses the image. */
function qemuChain(path: string): QemuJson[] | undefined {
  try {
    return JSON.parse(qemuImg(['info', '--backing-chain', '--output=json', path])) as QemuJson[];
  } catch {
    return undefined;
  }
}

/** The backing name and cluster size in our details, as qemu names them. */
function asQemu(info: ImageInfo): QemuJson {
  const details = info.details as unknown as Record<string, unknown>;
  const backing = info.format === 'vmdk' ? details.parentFileNameHint : details.backingFile;
  const cluster = info.format === 'vmdk' ? details.grainSize : details.clusterSize;
  return {
    filename: info.filename,
    format: info.format === 'vhd' ? 'vpc' : info.format,
    'virtual-size': info.virtualSize,
    ...(cluster === undefined ? {} : { 'cluster-size': cluster }),
    ...(backing === undefined ? {} : { 'backing-filename': backing }),
    ...(details.backingFormat === undefined || backing === undefined ? {} : { 'backing-filename-format': details.backingFormat }),
  };
}

function qemuFields(entry: QemuJson): QemuJson {
  const picked: QemuJson = {};
  for (const key of ['filename', 'format', 'virtual-size', 'cluster-size', 'backing-filename', 'backing-filename-format']) if (entry[key] !== undefined) picked[key] = entry[key];
  // qemu names a VMDK's backing format even where the image does not store one (always vmdk).
  if (entry.format === 'vmdk' && picked['backing-filename-format'] === 'vmdk') delete picked['backing-filename-format'];
  return picked;
}

/** Our chain, the image first, as qemu lists it. */
function chainAsQemu(info: ImageInfo): QemuJson[] {
  return [info, ...((info.backingChain ?? []) as ImageInfo[])].map(asQemu);
}

describe.skipIf(!hasQemuImg)(`backing chains against qemu-img info --backing-chain${hasQemuImg ? '' : ` (skipped: ${qemuMissing})`}`, () => {
  beforeAll(() => {
    mkdirSync(at('sub'), { recursive: true });
    // qcow2 <- qcow2 <- qcow2
    qemu('create', '-q', '-f', 'qcow2', at('base.qcow2'), '64M');
    qemu('create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', at('mid.qcow2'));
    qemu('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=4096', '-b', 'mid.qcow2', '-F', 'qcow2', at('top.qcow2'));
    // raw <- qcow2 <- QED
    qemu('create', '-q', '-f', 'raw', at('disk.raw'), '32M');
    qemu('create', '-q', '-f', 'qcow2', '-b', 'disk.raw', '-F', 'raw', at('over-raw.qcow2'));
    qemu('create', '-q', '-f', 'qed', '-b', 'over-raw.qcow2', '-F', 'qcow2', at('top.qed'));
    qemu('create', '-q', '-f', 'qed', '-b', 'disk.raw', '-F', 'raw', at('over-raw.qed'));
    // VMDK delta disks, and a twoGbMaxExtentSparse base under a qcow2
    qemu('create', '-q', '-f', 'vmdk', at('vbase.vmdk'), '64M');
    qemu('create', '-q', '-f', 'vmdk', '-b', 'vbase.vmdk', '-F', 'vmdk', at('vmid.vmdk'));
    qemu('create', '-q', '-f', 'vmdk', '-b', 'vmid.vmdk', '-F', 'vmdk', at('vtop.vmdk'));
    qemu('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', at('split.vmdk'), '5G');
    qemu('create', '-q', '-f', 'qcow2', '-b', 'split.vmdk', '-F', 'vmdk', at('over-split.qcow2'));
    // A loop: a -> b -> a
    qemu('create', '-q', '-f', 'qcow2', at('loop-a.qcow2'), '64M');
    qemu('create', '-q', '-f', 'qcow2', '-b', 'loop-a.qcow2', '-F', 'qcow2', at('loop-b.qcow2'));
    qemu('rebase', '-q', '-u', '-b', 'loop-b.qcow2', '-F', 'qcow2', at('loop-a.qcow2'));
    // References out of the folder: ../, an absolute path, a symbolic link out.
    qemu('create', '-q', '-f', 'qcow2', '-b', '../base.qcow2', '-F', 'qcow2', at('sub', 'up.qcow2'));
    qemu('create', '-q', '-f', 'qcow2', '-b', at('base.qcow2'), '-F', 'qcow2', at('sub', 'absolute.qcow2'));
    symlinkSync(at('base.qcow2'), at('sub', 'link.qcow2'));
    qemu('create', '-q', '-f', 'qcow2', '-b', 'link.qcow2', '-F', 'qcow2', at('sub', 'via-link.qcow2'));
    // A missing backing file.
    qemu('create', '-q', '-f', 'qcow2', '-u', '-b', 'gone.qcow2', '-F', 'qcow2', at('orphan.qcow2'), '64M');
  });

  for (const name of ['top.qcow2', 'top.qed', 'over-raw.qed', 'vtop.vmdk', 'over-split.qcow2']) {
    it(`${name}: every image of the chain agrees`, async () => {
      const expected = qemuChain(at(name));
      expect(expected).toBeDefined();
      const info = await introspectFile(at(name), { backingChain: true });
      expect(chainAsQemu(info)).toEqual((expected as QemuJson[]).map(qemuFields));
    });
  }

  it('the twoGbMaxExtentSparse base reports qemu\'s cluster size, from its first extent', async () => {
    const info = await introspectFile(at('over-split.qcow2'), { backingChain: true });
    const base = info.backingChain?.[0] as ImageInfo;
    expect(base.format).toBe('vmdk');
    expect((base.details as { grainSize?: number }).grainSize).toBe(65536);
  });

  it('a loop is CORRUPT, naming the cycle (qemu refuses it too)', async () => {
    expect(qemuChain(at('loop-b.qcow2'))).toBeUndefined();
    const error = await rejectionOf(introspectFile(at('loop-b.qcow2'), { backingChain: true }));
    expect(error.code).toBe('CORRUPT');
    expect(error.message).toContain(`${at('loop-b.qcow2')} -> ${at('loop-a.qcow2')} -> ${at('loop-b.qcow2')}`);
  });

  it('references out of the folder are refused (a warning, the chain stops); allowOutsideReferences follows them as qemu does', async () => {
    for (const name of ['up.qcow2', 'absolute.qcow2', 'via-link.qcow2']) {
      const path = at('sub', name);
      const refused = await introspectFile(path, { backingChain: true });
      expect(refused.backingChain, name).toEqual([]);
      expect(refused.warnings.join('\n'), name).toMatch(/the backing file was not read: ".*" is refused: it (is an absolute path|leads out of)/);
      // The verdict is the image's own: the backing file already fails backing_file.
      expect(refused.safety.checks.find((check) => check.name === 'parse_error')?.passed).toBe(true);
      const followed = await introspectFile(path, { backingChain: true, allowOutsideReferences: true });
      expect(chainAsQemu(followed), name).toEqual((qemuChain(path) as QemuJson[]).map(qemuFields));
    }
  });

  it('a missing backing file is a warning and the chain ends (qemu refuses the image)', async () => {
    expect(qemuChain(at('orphan.qcow2'))).toBeUndefined();
    const info = await introspectFile(at('orphan.qcow2'), { backingChain: true });
    expect(info.backingChain).toEqual([]);
    expect(info.warnings).toContain('the backing file was not read: "gone.qcow2" is missing');
  });

  it('without backingChain, no backing file is opened', async () => {
    const info = await introspectFile(at('top.qcow2'));
    expect(info.backingChain).toBeUndefined();
    expect(info.filename).toBeUndefined();
  });

  it('over HTTP: the same chain from the URL, names resolved against it; escaping names refused', async () => {
    const server = await startRangeServer();
    try {
      for (const file of readdirSync(work)) if (statSync(at(file)).isFile()) server.add(`c/${file}`, new Uint8Array(readFileSync(at(file))));
      server.add('c/sub/up.qcow2', new Uint8Array(readFileSync(at('sub', 'up.qcow2'))));
      for (const name of ['top.qcow2', 'top.qed', 'vtop.vmdk', 'over-split.qcow2']) {
        const fromFile = await introspectFile(at(name), { backingChain: true });
        const fromUrl = await introspectUrl(server.at('glance', `c/${name}`), { backingChain: true, urlFilter: 'permissive' });
        const entries = (info: ImageInfo) => [info, ...((info.backingChain ?? []) as ImageInfo[])];
        const names = (info: ImageInfo) => entries(info).map((entry) => entry.filename?.replace(/^.*[/]/, ''));
        expect(names(fromUrl)).toEqual(names(fromFile));
        const strip = (info: ImageInfo) => JSON.parse(JSON.stringify(entries(info).map((entry) => ({ ...entry, backingChain: undefined, filename: undefined, bytesRead: 0 }))));
        // Extent facts name their files: as a URL here, a path there.
        const withoutExtentNames = (value: unknown) => JSON.parse(JSON.stringify(value).replace(/"filename":"[^"]*\/([^"/]*)"/g, '"filename":"$1"'));
        expect(withoutExtentNames(strip(fromUrl))).toEqual(withoutExtentNames(strip(fromFile)));
      }
      const refused = await introspectUrl(server.at('glance', 'c/sub/up.qcow2'), { backingChain: true, urlFilter: 'permissive' });
      expect(refused.backingChain).toEqual([]);
      expect(refused.warnings.join('\n')).toMatch(/"\.\.\/base\.qcow2" is refused: it leads out of http:\/\/127\.0\.0\.1:\d+\/glance\/c\/sub\//);
    } finally {
      await server.close();
    }
  });
});

describe.skipIf(!hasQemuImg)('VMDK extents read beside the descriptor', () => {
  const folder = at('extents');
  beforeAll(() => {
    mkdirSync(folder, { recursive: true });
    qemu('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', join(folder, 'sparse.vmdk'), '5G');
    qemu('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentFlat', join(folder, 'flat.vmdk'), '3M');
    qemu('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', join(folder, 'gone.vmdk'), '5G');
    unlinkSync(join(folder, 'gone-s002.vmdk'));
    // Two kinds of extent in one descriptor: qemu reports no cluster size.
    qemu('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', join(folder, 'part.vmdk'), '1G');
    writeFileSync(
      join(folder, 'mixed.vmdk'),
      '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="twoGbMaxExtentSparse"\n\n# Extent description\nRW 6144 FLAT "flat-f001.vmdk" 0\nRW 2097152 SPARSE "part-s001.vmdk"\n\nddb.adapterType = "ide"\n',
    );
  });

  it('twoGbMaxExtentSparse: the cluster size and each extent\'s facts are qemu\'s', async () => {
    const path = join(folder, 'sparse.vmdk');
    const expected = JSON.parse(qemuImg(['info', '--output=json', path])) as QemuJson;
    const info = await introspectFile(path);
    if (info.format !== 'vmdk') throw new Error(info.format);
    expect(info.details.grainSize).toBe(expected['cluster-size']);
    expect(info.details.compressed).toBe(false);
    const extents = ((expected['format-specific'] as { data: { extents: QemuJson[] } }).data.extents);
    expect(info.details.extents.map((extent) => ({ filename: extent.filename, format: extent.type, 'virtual-size': extent.file?.virtualSize, 'cluster-size': (extent.file?.details as { grainSize?: number }).grainSize }))).toEqual(
      extents.map((extent) => ({ filename: relative(folder, extent.filename as string), format: extent.format, 'virtual-size': extent['virtual-size'], 'cluster-size': extent['cluster-size'] })),
    );
    expect(info.safety.checks.find((check) => check.name === 'parse_error')?.passed).toBe(true);
    // Still judged as an upload of the descriptor alone: twoGbMaxExtentSparse is not an allowed type.
    expect(info.safety.checks.find((check) => check.name === 'descriptor')?.passed).toBe(false);
  });

  it('twoGbMaxExtentFlat: each extent\'s size', async () => {
    const info = await introspectFile(join(folder, 'flat.vmdk'));
    if (info.format !== 'vmdk') throw new Error(info.format);
    expect(info.details.extents.map((extent) => extent.file?.size)).toEqual(info.details.extents.map((extent) => statSync(join(folder, extent.filename as string)).size));
    expect(info.details.grainSize).toBeUndefined();
  });

  it('a missing extent is a warning and fails parse_error (qemu refuses the image)', async () => {
    const path = join(folder, 'gone.vmdk');
    expect(() => qemuImg(['info', path])).toThrow();
    const info = await introspectFile(path);
    expect(info.warnings).toContain('not every extent file could be read: "gone-s002.vmdk" is missing; the other 1 were not looked for');
    const check = info.safety.checks.find((candidate) => candidate.name === 'parse_error');
    expect(check).toMatchObject({ passed: false });
    expect(info.safety.safe).toBe(false);
    const allowed = await introspectFile(path, { allowChecks: ['parse_error', 'descriptor'] });
    expect(allowed.safety.safe).toBe(true);
  });

  it('extents of two kinds: no cluster size, as qemu', async () => {
    const path = join(folder, 'mixed.vmdk');
    const expected = JSON.parse(qemuImg(['info', '--output=json', path])) as QemuJson;
    expect(expected['cluster-size']).toBeUndefined();
    const info = await introspectFile(path);
    if (info.format !== 'vmdk') throw new Error(info.format);
    expect(info.details.grainSize).toBeUndefined();
    expect(info.warnings.join('\n')).toMatch(/the extents differ in grainSize, compressed/);
  });
});

describe('a caller\'s resolve', () => {
  it('supplies files from memory (a browser FileList), with backingChain through the root introspect', async () => {
    const files: Record<string, Uint8Array> = { 'backing-raw.qcow2': fixtureBytes('qcow2', 'backing-raw.qcow2') };
    const top = files['backing-raw.qcow2'] as Uint8Array;
    const backingName = (await introspect(top)).details as { backingFile?: string };
    const calls: Array<[string, string]> = [];
    const resolve: ReferenceResolver = (name, referrer) => {
      calls.push([name, referrer.role]);
      return { filename: name, source: fixtureBytes('raw', 'empty.img') };
    };
    const info = await introspect(top, { backingChain: true, resolve });
    expect(calls).toEqual([[backingName.backingFile as string, 'backing']]);
    expect(info.backingChain?.map((entry) => [entry.filename, entry.format])).toEqual([[backingName.backingFile, 'raw']]);
  });

  it('a VDI names its parent by UUID: the resolver is told so', async () => {
    const diff = fixtureBytes('vdi', 'diff.vdi');
    const seen: Array<{ name: string; by: string }> = [];
    const info = await introspect(diff, {
      backingChain: true,
      resolve: (name, referrer) => {
        seen.push({ name, by: referrer.by });
        return { filename: `${name}.vdi`, source: fixtureBytes('vdi', 'dynamic.vdi') };
      },
    });
    if (info.format !== 'vdi') throw new Error(info.format);
    expect(seen).toEqual([{ name: info.details.parentUuid as string, by: 'uuid' }]);
    expect(info.backingChain?.map((entry) => entry.format)).toEqual(['vdi']);
  });

  it('a VHD\'s parent locators are tried in order, the relative one first', async () => {
    const child = fixtureBytes('vhd', 'differencing.vhd');
    const tried: string[] = [];
    const info = await introspect(child, { backingChain: true, resolve: (name) => void tried.push(name) });
    expect(tried.length).toBeGreaterThan(0);
    expect(info.warnings.join('\n')).toMatch(/the backing file was not read: .* is missing/);
  });

  it(`a chain longer than ${MAX_BACKING_CHAIN_DEPTH} is LIMIT_EXCEEDED`, async () => {
    const image = fixtureBytes('qcow2', 'backing-qcow2-v2.qcow2');
    let depth = 0;
    const error = await rejectionOf(introspect(image, { backingChain: true, resolve: () => ({ filename: `level-${++depth}`, source: image }) }));
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(depth).toBe(MAX_BACKING_CHAIN_DEPTH + 1);
  });

  it('without a resolver, introspect says why the backing file was not read', async () => {
    const info = await introspect(fixtureBytes('qcow2', 'backing-raw.qcow2'), { backingChain: true });
    expect(info.backingChain).toEqual([]);
    expect(info.warnings.join('\n')).toMatch(/is refused: no resolve option was given to supply it/);
  });

  it('bad options are INVALID_ARGUMENT', async () => {
    for (const options of [{ backingChain: 'yes' }, { resolve: 'x' }, { allowOutsideReferences: 1 }]) {
      expect((await rejectionOf(introspect(new Uint8Array(10), options as never))).code).toBe('INVALID_ARGUMENT');
    }
  });
});

describe.skipIf(!hasQemuImg)('CLI --backing-chain (dist/cli.js, built by npm test)', () => {
  const cli = join(projectRoot, 'dist', 'cli.js');
  const run = (args: string[]) =>
    new Promise<{ status: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [cli, ...args]);
      let stdout = '';
      child.stdout.on('data', (data: Buffer) => {
        stdout += data.toString();
      });
      child.stderr.resume();
      child.on('close', (status) => resolve({ status, stdout }));
    });

  it('--json prints an array, the image first, agreeing with qemu-img', async () => {
    const folder = at('cli');
    mkdirSync(folder, { recursive: true });
    qemu('create', '-q', '-f', 'qcow2', join(folder, 'base.qcow2'), '64M');
    qemu('create', '-q', '-f', 'qed', '-b', 'base.qcow2', '-F', 'qcow2', join(folder, 'top.qed'));
    const { status, stdout } = await run(['--json', '--backing-chain', join(folder, 'top.qed')]);
    expect(status).toBe(1);
    const printed = JSON.parse(stdout) as ImageInfo[];
    expect(printed.map(asQemu)).toEqual((qemuChain(join(folder, 'top.qed')) as QemuJson[]).map(qemuFields));
    const text = await run(['--backing-chain', join(folder, 'top.qed')]);
    expect(text.stdout).toContain(`image: ${join(folder, 'top.qed')}`);
    expect(text.stdout).toContain(`image: ${join(folder, 'base.qcow2')}`);
  });
});
