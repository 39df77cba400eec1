/**
 * The Btrfs driver against file systems made by the real tools at test time:
 * `mkfs.btrfs --rootdir` (several node sizes, checksum algorithms and profiles) and, for
 * subvolumes, a default subvolume and compressed extents, libguestfs's appliance. Oracles:
 * `btrfs restore` (which extracts files from an unmounted image), `btrfs inspect-internal
 * dump-super` and `dump-tree`, and the files the test put in.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BtrfsFileSystem, type BtrfsNode, type BtrfsOptions, btrfsModule, openBtrfs } from '../../filesystems/btrfs.js';
import { type FileSystem, readFileAt, resolvePath } from '../../filesystems/file-system.js';
import type { BtrfsDecompressor } from '../../filesystems/shared/btrfs-compression.js';
import { decodeBtrfsLzo } from '../../filesystems/shared/btrfs-lzo.js';
import { fieldError, isIntrospectionError } from '../../src/errors.js';
import { rejectionOf } from '../helpers/errors.js';
import {
  compressibleText,
  guestfishUnavailable,
  guestImageInputs,
  guestImages,
  hasTool,
  patternBytes,
  run,
  volumeOfBytes,
  volumeOfFile,
} from '../helpers/volume-btrfs.js';

const noWarnings = { warn: () => {} };
const decoder = new TextDecoder();

/** What a tree holds, path by path: a directory, a file's contents (hex of its SHA-less bytes), a link target. */
type TreeEntry = { kind: 'directory' } | { kind: 'file'; bytes: Buffer } | { kind: 'symlink'; target: string } | { kind: 'other' } | { kind: 'unsupported'; message: string };

/** Reads a directory tree restored (or prepared) on the host. */
function hostTree(root: string): Map<string, TreeEntry> {
  const tree = new Map<string, TreeEntry>();
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      const key = `${prefix}/${name}`;
      if (stat.isSymbolicLink()) tree.set(key, { kind: 'symlink', target: readlinkSync(path) });
      else if (stat.isDirectory()) {
        tree.set(key, { kind: 'directory' });
        walk(path, key);
      } else if (stat.isFile()) tree.set(key, { kind: 'file', bytes: readFileSync(path) });
      else tree.set(key, { kind: 'other' });
    }
  };
  walk(root, '');
  return tree;
}

/** Reads the same through the driver: listings, lookups, links and whole files. */
async function driverTree(fs: FileSystem<BtrfsNode>, skip: (path: string) => boolean = () => false): Promise<Map<string, TreeEntry>> {
  const tree = new Map<string, TreeEntry>();
  const walk = async (dir: BtrfsNode, prefix: string) => {
    for (const entry of await fs.list(dir, 100_000)) {
      if (skip(`${prefix}/${entry.name}`)) continue;
      const node = await fs.lookup(dir, entry.name);
      expect(node, `${prefix}/${entry.name} is listed but not found`).toBeDefined();
      if (node === undefined) continue;
      expect(fs.kind(node), `${prefix}/${entry.name}: the listing's kind`).toBe(entry.kind);
      const key = `${prefix}/${entry.name}`;
      if (node.kind === 'directory') {
        tree.set(key, { kind: 'directory' });
        await walk(node, key);
      } else if (node.kind === 'file') {
        try {
          tree.set(key, { kind: 'file', bytes: Buffer.from(await fs.readFile(node, Number.MAX_SAFE_INTEGER)) });
        } catch (error) {
          if (!isIntrospectionError(error) || error.code !== 'UNSUPPORTED') throw error;
          tree.set(key, { kind: 'unsupported', message: error.message });
        }
      }
      else if (node.kind === 'symlink') tree.set(key, { kind: 'symlink', target: await fs.readLink(node) });
      else tree.set(key, { kind: 'other' });
    }
  };
  await walk(await fs.root(), '');
  return tree;
}

function expectSameTree(actual: Map<string, TreeEntry>, expected: Map<string, TreeEntry>, ignore: (path: string) => boolean = () => false) {
  const keys = (tree: Map<string, TreeEntry>) => [...tree.keys()].filter((key) => !ignore(key)).sort();
  expect(keys(actual)).toEqual(keys(expected));
  for (const key of keys(expected)) {
    const want = expected.get(key) as TreeEntry;
    const got = actual.get(key) as TreeEntry;
    expect(got.kind, key).toBe(want.kind);
    if (want.kind === 'file' && got.kind === 'file') expect(got.bytes.equals(want.bytes), `${key} contents`).toBe(true);
    if (want.kind === 'symlink' && got.kind === 'symlink') expect(got.target, key).toBe(want.target);
  }
}

/** `btrfs restore -S` of one subvolume into a fresh directory. */
function restore(image: string, into: string, rootId?: number): Map<string, TreeEntry> {
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  run('btrfs', ['restore', '-S', ...(rootId === undefined ? [] : ['-r', String(rootId)]), image, into]);
  return hostTree(into);
}

/** `btrfs inspect-internal dump-super` as a map of its `name value` lines. */
function dumpSuper(image: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of run('btrfs', ['inspect-internal', 'dump-super', image]).split('\n')) {
    const match = /^([a-z_.]+)\s+(.*)$/.exec(line.trim());
    if (match && !fields.has(match[1] as string)) fields.set(match[1] as string, (match[2] as string).trim());
  }
  return fields;
}

/** Node's zlib and the `zstd` tool as decoders: they check the plumbing (extent framing, offsets), not a codec of ours. */
const hostDecompress: BtrfsDecompressor = async (algorithm, compressed, decodedLength, field) => {
  try {
    if (algorithm === 'zlib') return new Uint8Array(inflateSync(compressed, { finishFlush: 2 /* Z_SYNC_FLUSH: tolerate a stream cut short */ }));
    if (algorithm === 'zstd') {
      try {
        return new Uint8Array(execFileSync('zstd', ['-d', '-c', '-q'], { input: compressed, maxBuffer: decodedLength + 1024, stdio: ['pipe', 'pipe', 'ignore'] }));
      } catch (error) {
        // btrfs pads the frame with zeros to the sector, which the zstd tool then calls a bad frame: keep what it decoded
        // (the last extent of a file decodes to less than its sector-rounded ram_bytes).
        const output = (error as { stdout?: Buffer }).stdout;
        if (output !== undefined && output.byteLength > 0) return new Uint8Array(output);
        throw error;
      }
    }
  } catch (error) {
    throw fieldError('CORRUPT', field, `the host decoder refused the extent (${String(error).slice(0, 80)})`);
  }
  throw fieldError('UNSUPPORTED', field, `the extent is ${algorithm}-compressed and the test has no host decoder for it`);
};

describe('LZO1X decoding (btrfs framing)', () => {
  it('decodes a hand-assembled stream: a literal run, an overlapping match, trailing literals, the end marker', () => {
    // 0x16: 22 - 17 = 5 literals "abcde"; 0x64 = 0b01_1_001_00 then 0x00: a match of 3 + 1 = 4 bytes at
    // distance (0 << 3) + 1 + 1 = 2, no trailing literals; 0x11 0x00 0x00: the end of the stream.
    const segment = Uint8Array.from([0x16, 0x61, 0x62, 0x63, 0x64, 0x65, 0x64, 0x00, 0x11, 0x00, 0x00]);
    const framed = new Uint8Array(8 + segment.byteLength);
    new DataView(framed.buffer).setUint32(0, framed.byteLength, true);
    new DataView(framed.buffer).setUint32(4, segment.byteLength, true);
    framed.set(segment, 8);
    expect(decoder.decode(decodeBtrfsLzo(framed, 4096, 4096, 'test'))).toBe('abcdedede');
  });

  it('ends every random input in output or CORRUPT, within the output bound (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.integer({ min: 0, max: 9000 }), (bytes, size) => {
        try {
          expect(decodeBtrfsLzo(bytes, size, 4096, 'fuzz').byteLength).toBeLessThanOrEqual(size);
        } catch (error) {
          if (!isIntrospectionError(error) || error.code !== 'CORRUPT') throw error;
        }
        const framed = new Uint8Array(bytes.byteLength + 8);
        new DataView(framed.buffer).setUint32(0, framed.byteLength, true);
        new DataView(framed.buffer).setUint32(4, bytes.byteLength, true);
        framed.set(bytes, 8);
        try {
          expect(decodeBtrfsLzo(framed, size, 4096, 'fuzz').byteLength).toBeLessThanOrEqual(size);
        } catch (error) {
          if (!isIntrospectionError(error) || error.code !== 'CORRUPT') throw error;
        }
      }),
      { numRuns: 2000, seed: 20261130 },
    );
  });
});

/**
 * Opens an image afresh and reads what guest inspection reads (os-release, hostname, fstab,
 * the ELF header of /bin/ls); returns the bytes read from the image.
 */
async function inspectionBytes(image: string, options: BtrfsOptions = {}): Promise<number> {
  const volume = volumeOfFile(image);
  try {
    const fs = await openBtrfs(volume.volume, noWarnings, options);
    for (const path of ['/etc/os-release', '/etc/hostname', '/etc/fstab']) expect(await readFileAt(fs, path, 65536), path).toBeDefined();
    expect(await readFileAt(fs, '/bin/ls', 64)).toBeDefined();
    return volume.bytesRead();
  } finally {
    volume.close();
  }
}

const btrfsMissing = hasTool('mkfs.btrfs') && hasTool('btrfs') ? undefined : 'btrfs-progs (mkfs.btrfs, btrfs) is not installed';

describe.skipIf(btrfsMissing !== undefined)('Btrfs made by mkfs.btrfs --rootdir', () => {
  let work: string;
  let source: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'image-introspect-btrfs-'));
    source = join(work, 'root');
    const file = (path: string, bytes: Uint8Array | string) => {
      mkdirSync(join(source, path, '..'), { recursive: true });
      writeFileSync(join(source, path), bytes);
    };
    file('etc/os-release', 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n');
    file('etc/hostname', 'btrfs-guest\n');
    file('etc/fstab', 'UUID=abc / btrfs defaults 0 0\n');
    cpSync('/bin/ls', join(source, 'usr/bin/ls'), { recursive: true });
    file('usr/lib/large.bin', patternBytes(5 * 1024 * 1024 + 123, 42));
    file('usr/lib/inline-2048', compressibleText(2048, 'a'));
    file('usr/lib/regular-2049', compressibleText(2049, 'b'));
    file('usr/lib/page-4096', patternBytes(4096, 9));
    file('empty', '');
    file('hé llo wörld ✓.txt', 'unicode name\n');
    const sparse = new Uint8Array(0);
    writeFileSync(join(source, 'sparse'), sparse);
    execFileSync('truncate', ['-s', '8M', join(source, 'sparse')]);
    execFileSync('dd', ['if=/dev/urandom', `of=${join(source, 'sparse')}`, 'bs=4096', 'count=3', 'seek=1024', 'conv=notrunc'], { stdio: 'ignore' });
    for (let index = 0; index < 3000; index += 1) file(`many/entry-${String(index).padStart(4, '0')}`, `${index}\n`);
    let deep = 'deep';
    for (let level = 0; level < 30; level += 1) deep += `/d${level}`;
    file(`${deep}/bottom`, 'deep file\n');
    symlinkSync('usr/bin', join(source, 'bin'));
    symlinkSync('/etc/os-release', join(source, 'os-release-absolute'));
    symlinkSync('../etc/hostname', join(source, 'usr/hostname-relative'));
    symlinkSync('nowhere/at/all', join(source, 'dangling'));
    symlinkSync('loop-b', join(source, 'loop-a'));
    symlinkSync('loop-a', join(source, 'loop-b'));
    linkSync(join(source, 'etc/hostname'), join(source, 'hostname-hardlink'));
    execFileSync('mkfifo', [join(source, 'fifo')]);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** Makes an image with `mkfs.btrfs --rootdir` and the given options. */
  function mkfs(name: string, args: string[], size = '256M'): string {
    const image = join(work, name);
    rmSync(image, { force: true });
    execFileSync('truncate', ['-s', size, image]);
    run('mkfs.btrfs', ['-q', '-f', ...args, '--rootdir', source, image]);
    return image;
  }

  const variants: Array<[string, string[]]> = [
    ['defaults (16 KiB nodes, DUP metadata, crc32c)', ['-L', 'guest-root']],
    ['4 KiB nodes (deep trees), single metadata', ['-n', '4096', '-m', 'single']],
    ['64 KiB nodes, xxhash64 checksums, DUP data', ['-n', '65536', '--csum', 'xxhash', '-d', 'dup', '-m', 'dup']],
    ['sha256 checksums', ['--csum', 'sha256']],
    ['blake2b checksums, mixed block groups', ['--csum', 'blake2', '-M']],
  ];

  describe.each(variants)('%s', (name, args) => {
    let image: string;
    let fs: BtrfsFileSystem;
    let volume: ReturnType<typeof volumeOfFile>;
    const warnings: string[] = [];

    beforeAll(async () => {
      image = mkfs(`${name.replace(/\W+/g, '-')}.img`, args);
      volume = volumeOfFile(image);
      fs = await openBtrfs(volume.volume, { warn: (message) => warnings.push(message) });
    });
    afterAll(() => volume.close());

    it('reports what dump-super says', async () => {
      const superblock = dumpSuper(image);
      expect(await btrfsModule.probe(volume.volume)).toBe(true);
      expect(fs.info.type).toBe('btrfs');
      expect(fs.info.uuid).toBe(superblock.get('fsid'));
      expect(fs.info.label).toBe(superblock.get('label') === '' ? undefined : superblock.get('label'));
      expect(fs.details.nodeSize).toBe(Number(superblock.get('nodesize')));
      expect(fs.details.sectorSize).toBe(Number(superblock.get('sectorsize')));
      expect(fs.details.generation).toBe(Number(superblock.get('generation')));
      expect(fs.details.totalBytes).toBe(Number(superblock.get('total_bytes')));
      expect(fs.details.bytesUsed).toBe(Number(superblock.get('bytes_used')));
      expect(fs.details.numDevices).toBe(Number(superblock.get('num_devices')));
      expect(fs.details.deviceId).toBe(Number(superblock.get('dev_item.devid')));
      expect(fs.details.deviceUuid).toBe(superblock.get('dev_item.uuid'));
      expect(superblock.get('csum_type')?.replace('(blake2)', '(blake2b)')).toMatch(new RegExp(`\\(${fs.details.checksum}\\)`));
      expect(fs.details.checksumsVerified).toBe(fs.details.checksum === 'crc32c');
      expect(warnings.some((warning) => warning.includes('not verified'))).toBe(!fs.details.checksumsVerified);
      expect(fs.details.defaultSubvolumeId).toBe(5);
    });

    it('holds the same tree as btrfs restore extracts, file for file', async () => {
      const restored = restore(image, join(work, 'restored'));
      const ours = await driverTree(fs);
      // btrfs restore skips FIFOs; the driver lists the FIFO as "other".
      expectSameTree(ours, restored, (path) => path === '/fifo');
      expect(ours.get('/fifo')?.kind).toBe('other');
      // And the restored tree is what the test put in (contents of the dangling and looping links aside).
      expectSameTree(hostTree(source), restored, (path) => path === '/fifo');
    });

    it('holds the same tree when its blocks are read in part (as guest inspection reads them), reading fewer bytes', async () => {
      const restored = restore(image, join(work, 'restored-in-part'));
      const whole = volumeOfFile(image);
      const inPart = volumeOfFile(image);
      try {
        const wholeFs = await openBtrfs(whole.volume, noWarnings);
        const inPartFs = await openBtrfs(inPart.volume, noWarnings, { treeBlocks: 'needed' });
        const ours = await driverTree(inPartFs);
        expectSameTree(ours, restored, (path) => path === '/fifo');
        await driverTree(wholeFs);
        // Only the items a search uses: a block read whole is never cheaper.
        expect(inPart.bytesRead()).toBeLessThan(whole.bytesRead());
        expect(inPartFs.details.checksumsVerified).toBe(false);
      } finally {
        whole.close();
        inPart.close();
      }
    });

    it('resolves paths through links as the kernel would, and stops link loops', async () => {
      expect(decoder.decode(await readFileAt(fs, '/os-release-absolute', 4096))).toContain('ID=debian');
      expect(decoder.decode(await readFileAt(fs, '/usr/hostname-relative', 4096))).toBe('btrfs-guest\n');
      const ls = await readFileAt(fs, '/bin/ls', 64);
      expect([...(ls ?? new Uint8Array(0)).subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
      expect(await readFileAt(fs, '/dangling', 10)).toBeUndefined();
      expect((await rejectionOf(resolvePath(fs, '/loop-a'))).code).toBe('CORRUPT');
      expect(await resolvePath(fs, '/etc/nonexistent')).toBeUndefined();
      expect(await resolvePath(fs, '/etc/os-release/child')).toBeUndefined();
      const many = await resolvePath(fs, '/many');
      expect((await fs.list(many as BtrfsNode, 10)).map((entry) => entry.name)).toHaveLength(10);
      expect(await fs.lookup(many as BtrfsNode, 'entry-2999')).toBeDefined();
      expect(await fs.lookup(many as BtrfsNode, 'entry-3000')).toBeUndefined();
    });

    it('reads the first bytes of a large file without reading the rest', async () => {
      const large = await resolvePath(fs, '/usr/lib/large.bin');
      const before = volume.bytesRead();
      const head = await fs.readFile(large as BtrfsNode, 100);
      expect(Buffer.from(head).equals(Buffer.from(patternBytes(5 * 1024 * 1024 + 123, 42).subarray(0, 100)))).toBe(true);
      expect(volume.bytesRead() - before).toBeLessThan(3 * 65536 + 100);
    });
  });

  it('reads an inspection\'s files from a fresh open in a few tree blocks', async () => {
    // Superblock, chunk tree, root tree, FS tree (a few 16 KiB blocks) and 64 bytes of ls.
    const image = mkfs('budget.img', []);
    const whole = await inspectionBytes(image);
    expect(whole).toBeLessThan(12 * 16384);
    // Read in part: the superblock, and of each of those blocks its header, keys and the items used.
    expect(await inspectionBytes(image, { treeBlocks: 'needed' })).toBeLessThan(whole / 2);
  });

  it('reads a file system converted from ext4 by btrfs-convert (extents shared with ext2_saved) as btrfs restore does', async () => {
    const image = join(work, 'converted.img');
    rmSync(image, { force: true });
    execFileSync('truncate', ['-s', '256M', image]);
    run('mkfs.ext4', ['-q', '-b', '4096', '-d', source, image]);
    run('btrfs-convert', [image]);
    const volume = volumeOfFile(image);
    try {
      const fs = await openBtrfs(volume.volume, noWarnings);
      expect(await fs.subvolumes(10)).toEqual([{ id: 256, parentId: 5, path: 'ext2_saved', readOnly: false }]);
      // ext2_saved holds the whole ext4 image as one file: not walked.
      const ours = await driverTree(fs, (path) => path === '/ext2_saved');
      const restored = restore(image, join(work, 'restored-converted'));
      expectSameTree(ours, restored, (path) => path === '/fifo' || path.startsWith('/ext2_saved'));
      expectSameTree(ours, hostTree(source), (path) => path === '/fifo' || path.startsWith('/lost+found'));
    } finally {
      volume.close();
    }
  });

  describe('two devices', () => {
    function twoDevices(profile: string): [string, string] {
      const a = join(work, `${profile}-a.img`);
      const b = join(work, `${profile}-b.img`);
      for (const image of [a, b]) {
        rmSync(image, { force: true });
        execFileSync('truncate', ['-s', '256M', image]);
      }
      run('mkfs.btrfs', ['-q', '-f', '-d', profile, '-m', profile, a, b]);
      return [a, b];
    }

    it('reads RAID1 metadata from either device', async () => {
      for (const image of twoDevices('raid1')) {
        const volume = volumeOfFile(image);
        const warnings: string[] = [];
        try {
          const fs = await openBtrfs(volume.volume, { warn: (message) => warnings.push(message) });
          expect(fs.details.numDevices).toBe(2);
          expect(fs.details.deviceId).toBe(Number(dumpSuper(image).get('dev_item.devid')));
          expect(await fs.list(await fs.root(), 10)).toEqual([]);
          expect(warnings.join()).toMatch(/2 devices/);
        } finally {
          volume.close();
        }
      }
    });

    it('refuses RAID0 metadata, which needs both devices', async () => {
      const [a] = twoDevices('raid0');
      const volume = volumeOfFile(a);
      try {
        const error = await rejectionOf(openBtrfs(volume.volume, noWarnings));
        expect(error.code).toBe('UNSUPPORTED');
        expect(error.message).toMatch(/RAID0/);
        expect(error.format).toBe('btrfs');
      } finally {
        volume.close();
      }
    });
  });

  describe('hostile images', () => {
    let pristine: Uint8Array;
    let nodeSize: number;

    beforeAll(() => {
      const image = mkfs('hostile.img', ['-n', '4096', '-m', 'single', '--shrink']);
      pristine = new Uint8Array(readFileSync(image));
      nodeSize = 4096;
    });

    /** CRC-32C bit by bit (independent of the library's table-driven code), for re-signing edited blocks. */
    function crc32cBitwise(bytes: Uint8Array): number {
      let crc = 0xffffffff;
      for (const byte of bytes) {
        crc ^= byte;
        for (let bit = 0; bit < 8; bit += 1) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
      }
      return (crc ^ 0xffffffff) >>> 0;
    }

    function resign(bytes: Uint8Array, start: number, length: number) {
      new DataView(bytes.buffer, bytes.byteOffset).setUint32(start, crc32cBitwise(bytes.subarray(start + 32, start + length)), true);
    }

    /** Physical offsets of the tree blocks of one tree, from dump-tree's "node"/"leaf" lines (single profile: physical = logical - chunk start + stripe offset). */
    function treeBlocks(bytes: Uint8Array): number[] {
      const blocks: number[] = [];
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      const fsid = bytes.subarray(0x10000 + 0x20, 0x10000 + 0x30);
      for (let offset = 0x20000; offset + nodeSize <= bytes.byteLength; offset += nodeSize) {
        if (Buffer.from(bytes.subarray(offset + 0x20, offset + 0x30)).equals(Buffer.from(fsid)) && view.getUint32(offset, true) === crc32cBitwise(bytes.subarray(offset + 32, offset + nodeSize))) {
          blocks.push(offset);
        }
      }
      return blocks;
    }

    async function outcome(bytes: Uint8Array, decompress?: BtrfsDecompressor): Promise<void> {
      const fs = await openBtrfs(volumeOfBytes(bytes).volume, noWarnings, decompress === undefined ? {} : { decompress });
      const root = await fs.root();
      for (const entry of await fs.list(root, 50)) {
        const node = await fs.lookup(root, entry.name);
        if (node?.kind === 'file') await fs.readFile(node, 1 << 16);
        if (node?.kind === 'directory') await fs.list(node, 50);
      }
      for (const path of ['/etc/os-release', '/bin/ls', '/many/entry-1500', '/usr/hostname-relative']) await readFileAt(fs, path, 4096).catch((error) => {
        if (!isIntrospectionError(error) || error.code === 'INTERNAL') throw error;
      });
      await fs.subvolumes(10);
    }


    it('refuses a truncated image with TRUNCATED', async () => {
      for (const length of [0x10000 + 100, 0x10000 + 4096, 1024 * 1024]) {
        const error = await rejectionOf(openBtrfs(volumeOfBytes(pristine.subarray(0, length)).volume, noWarnings));
        expect(['TRUNCATED', 'CORRUPT']).toContain(error.code);
      }
      expect((await rejectionOf(openBtrfs(volumeOfBytes(pristine.subarray(0, 0x10000 + 100)).volume, noWarnings))).code).toBe('TRUNCATED');
    });

    it('refuses a bad superblock checksum, magic or node size', async () => {
      const badSum = pristine.slice();
      badSum[0x10000 + 0x12b] = (badSum[0x10000 + 0x12b] as number) ^ 1; // the label
      expect((await rejectionOf(openBtrfs(volumeOfBytes(badSum).volume, noWarnings))).message).toMatch(/csum/);
      const badMagic = pristine.slice();
      badMagic[0x10000 + 0x40] = 0;
      expect(await btrfsModule.probe(volumeOfBytes(badMagic).volume)).toBe(false);
      expect((await rejectionOf(openBtrfs(volumeOfBytes(badMagic).volume, noWarnings))).code).toBe('CORRUPT');
      const badNode = pristine.slice();
      new DataView(badNode.buffer).setUint32(0x10000 + 0x94, 3000, true);
      resign(badNode, 0x10000, 4096);
      expect((await rejectionOf(openBtrfs(volumeOfBytes(badNode).volume, noWarnings))).message).toMatch(/nodesize/);
    });

    it('refuses a corrupted tree block by its checksum, and a re-signed impossible one by its structure', async () => {
      const blocks = treeBlocks(pristine);
      const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset);
      const owner = (offset: number) => view(pristine).getBigUint64(offset + 0x58, true);
      // The FS tree's internal node, and the leaf holding the root directory's inode (read by every open).
      const internal = blocks.find((offset) => pristine[offset + 0x64] !== 0 && owner(offset) === 5n) as number;
      const leaf = blocks.find((offset) => pristine[offset + 0x64] === 0 && owner(offset) === 5n && view(pristine).getBigUint64(offset + 101, true) === 256n) as number;
      expect(internal).toBeDefined();
      expect(leaf).toBeDefined();
      // A flipped byte: the checksum catches it wherever the walk reaches the block.
      const flipped = pristine.slice();
      flipped[internal + 200] = (flipped[internal + 200] as number) ^ 0xff;
      await expect(outcome(flipped)).rejects.toMatchObject({ code: 'CORRUPT' });
      // A child pointer aimed at the node itself (re-signed): the level check stops the cycle.
      const cycle = pristine.slice();
      const ownBytenr = view(cycle).getBigUint64(internal + 0x30, true);
      view(cycle).setBigUint64(internal + 101 + 17, ownBytenr, true);
      resign(cycle, internal, nodeSize);
      await expect(outcome(cycle)).rejects.toMatchObject({ code: 'CORRUPT' });
      // Too many items for the block (re-signed).
      const crowded = pristine.slice();
      view(crowded).setUint32(internal + 0x60, 100_000, true);
      resign(crowded, internal, nodeSize);
      await expect(outcome(crowded)).rejects.toMatchObject({ code: 'CORRUPT' });
      // Keys out of order in a leaf (re-signed).
      const unordered = pristine.slice();
      unordered.copyWithin(leaf + 101 + 25, leaf + 101 + 3 * 25, leaf + 101 + 3 * 25 + 17);
      resign(unordered, leaf, nodeSize);
      await expect(outcome(unordered)).rejects.toMatchObject({ code: 'CORRUPT' });
      // An item whose data lies outside the block (re-signed).
      const outside = pristine.slice();
      view(outside).setUint32(leaf + 101 + 17, nodeSize, true);
      resign(outside, leaf, nodeSize);
      await expect(outcome(outside)).rejects.toMatchObject({ code: 'CORRUPT' });
    });

    it('never fails other than with an IntrospectionError, and never hangs, on mutated tree blocks (property)', async () => {
      const blocks = treeBlocks(pristine);
      const bytes = pristine.slice();
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.constantFrom(...blocks, 0x10000), fc.nat(nodeSize - 1), fc.nat(255)), { minLength: 1, maxLength: 6 }),
          fc.boolean(),
          async (edits, resignBlocks) => {
            const saved = edits.map(([block, at]) => [block + at, bytes[block + at] as number] as const);
            for (const [block, at, value] of edits) bytes[block + at] = value;
            if (resignBlocks) for (const [block] of edits) resign(bytes, block, block === 0x10000 ? 4096 : nodeSize);
            try {
              await outcome(bytes, hostDecompress);
            } catch (error) {
              if (!isIntrospectionError(error) || error.code === 'INTERNAL') throw error;
            } finally {
              bytes.set(pristine.subarray(0x10000, 0x10000 + 4096), 0x10000);
              for (const [block] of edits) bytes.set(pristine.subarray(block, block + nodeSize), block);
              for (const [offset, value] of saved.reverse()) bytes[offset] = value;
            }
          },
        ),
        { numRuns: 400, seed: 20261130 },
      );
      expect(Buffer.from(bytes).equals(Buffer.from(pristine))).toBe(true);
    });
  });
});

const guestfishMissing = btrfsMissing ?? guestfishUnavailable();

describe.skipIf(guestfishMissing !== undefined)('Btrfs in openSUSE\'s layout, made in the libguestfs appliance', () => {
  let images: ReturnType<typeof guestImages>;
  let work: string;
  let volume: ReturnType<typeof volumeOfFile>;
  let fs: BtrfsFileSystem;
  const inputs = guestImageInputs();
  const text = (name: string) => decoder.decode(inputs[name]);

  beforeAll(async () => {
    images = guestImages();
    work = mkdtempSync(join(tmpdir(), 'image-introspect-btrfs-suse-'));
    volume = volumeOfFile(images.btrfs);
    fs = await openBtrfs(volume.volume, noWarnings, { decompress: hostDecompress });
  }, 1_200_000);
  afterAll(() => {
    volume?.close();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  /** The root tree's ROOT_BACKREF lines from dump-tree: subvolume id, parent id, name. */
  function backrefs(): Array<{ id: number; parent: number; name: string }> {
    const dump = run('btrfs', ['inspect-internal', 'dump-tree', '-t', 'root', images.btrfs]);
    const found: Array<{ id: number; parent: number; name: string }> = [];
    const pattern = /key \((\d+) ROOT_BACKREF (\d+)\)[^\n]*\n[^\n]*name ([^\n]+)/g;
    for (const match of dump.matchAll(pattern)) found.push({ id: Number(match[1]), parent: Number(match[2]), name: (match[3] as string).trim() });
    return found;
  }

  it('roots the guest at the default subvolume, as guestfish reports it', async () => {
    const reported = /==default==\s*\n\s*(\d+)/.exec(images.transcript);
    expect(reported).not.toBeNull();
    expect(fs.details.defaultSubvolumeId).toBe(Number(reported?.[1]));
    expect(await fs.defaultSubvolume()).toEqual({ id: 258, path: '@/.snapshots/1/snapshot' });
    expect(fs.info.label).toBe('suse-root');
    expect(decoder.decode(await readFileAt(fs, '/etc/os-release', 65536))).toBe(text('os-release'));
    expect(decoder.decode(await readFileAt(fs, '/etc/hostname', 65536))).toBe(text('hostname-v2'));
    expect(decoder.decode(await readFileAt(fs, '/etc/fstab', 65536))).toBe(text('fstab'));
    const ls = await readFileAt(fs, '/bin/ls', 64);
    expect(Buffer.from(ls ?? []).equals(readFileSync('/bin/ls').subarray(0, 64))).toBe(true);
  });

  it('lists the subvolumes with their paths, parents as dump-tree records them, and read-only flags', async () => {
    const listed = await fs.subvolumes(100);
    const refs = backrefs();
    expect(listed.map((subvolume) => [subvolume.id, subvolume.parentId]).sort()).toEqual(refs.map((ref) => [ref.id, ref.parent]).sort());
    for (const subvolume of listed) expect(subvolume.path.split('/').pop(), `${subvolume.id}`).toBe(refs.find((ref) => ref.id === subvolume.id)?.name);
    expect(Object.fromEntries(listed.map((subvolume) => [subvolume.path, subvolume.readOnly]))).toEqual({
      '@': false,
      '@/.snapshots': false,
      '@/.snapshots/1/snapshot': false,
      '@/var': false,
      '@/home': false,
      '@/.snapshots/2/snapshot': true,
      '@-snapshot': false,
    });
  });

  it('holds the same root subvolume as btrfs restore extracts (compressed files included)', async () => {
    const restored = restore(images.btrfs, join(work, 'root'), 258);
    const ours = await driverTree(fs);
    expectSameTree(ours, restored);
    // Buffer.equals rather than toEqual: deep equality walks large buffers element by element.
    const expectFile = (path: string, bytes: Uint8Array) => {
      const entry = ours.get(path);
      expect(entry?.kind, path).toBe('file');
      expect(entry?.kind === 'file' && entry.bytes.equals(Buffer.from(bytes)), path).toBe(true);
    };
    for (const algorithm of ['zlib', 'lzo', 'zstd']) {
      expectFile(`/data/${algorithm}/text`, inputs['text-300k'] as Uint8Array);
      expectFile(`/data/${algorithm}/small`, inputs['small-1800'] as Uint8Array);
      expectFile(`/data/${algorithm}/random`, inputs['random-200k'] as Uint8Array);
    }
    const sparse = new Uint8Array(8 * 1024 * 1024);
    sparse.set(new TextEncoder().encode('middle'), 4 * 1024 * 1024);
    expectFile('/data/sparse', sparse);
    expectFile('/data/prealloc', new Uint8Array(1024 * 1024));
  }, 120_000);

  it('names the algorithm of a compressed extent it has no decoder for, and decodes LZO itself', async () => {
    const plain = await openBtrfs(volume.volume, noWarnings);
    for (const algorithm of ['zlib', 'zstd']) {
      const error = await rejectionOf(readFileAt(plain, `/data/${algorithm}/text`, 1 << 20));
      expect(error.code).toBe('UNSUPPORTED');
      expect(error.message).toContain(algorithm);
    }
    for (const name of ['text', 'small']) {
      const expected = inputs[name === 'text' ? 'text-300k' : 'small-1800'] as Uint8Array;
      expect(Buffer.from((await readFileAt(plain, `/data/lzo/${name}`, 1 << 20)) ?? []).equals(Buffer.from(expected)), name).toBe(true);
    }
  });

  it('enters @/var and @/home from the top level and by subvol= paths, and shows an older snapshot\'s files', async () => {
    const top = await fs.openSubvolume({ id: 5 });
    expect(decoder.decode(await readFileAt(top as BtrfsFileSystem, '/@/var/marker', 4096))).toBe(text('var-marker'));
    const home = await fs.openSubvolume({ path: '/@/home' });
    expect(decoder.decode(await readFileAt(home as BtrfsFileSystem, '/marker', 4096))).toBe(text('home-marker'));
    const snapshot = await fs.openSubvolume({ path: '@/.snapshots/2/snapshot' });
    expect(snapshot?.subvolumeId).toBe(261n);
    expect(decoder.decode(await readFileAt(snapshot as BtrfsFileSystem, '/etc/hostname', 4096))).toBe(text('hostname'));
    expect(await fs.openSubvolume({ path: '/@/.snapshots/1' })).toBeUndefined();
    expect(await fs.openSubvolume({ path: '/nothing' })).toBeUndefined();
    expect(await fs.openSubvolume({ id: 9999 })).toBeUndefined();
  });

  it('shows the nested subvolumes of a snapshot as empty directories, as the kernel does', async () => {
    // btrfs-subvolume(8): a snapshot does not include nested subvolumes; an empty directory
    // stands in their place. (btrfs restore follows the entry into the original subvolume
    // instead, so it is the oracle only for the rest of the tree.)
    const snapshot = (await fs.openSubvolume({ path: '/@-snapshot' })) as BtrfsFileSystem;
    const ours = await driverTree(snapshot);
    const nested = ['/var', '/home', '/.snapshots'];
    for (const path of nested) {
      expect(ours.get(path)?.kind, path).toBe('directory');
      expect([...ours.keys()].filter((key) => key.startsWith(`${path}/`)), path).toEqual([]);
    }
    const top = (await fs.openSubvolume({ id: 5 })) as BtrfsFileSystem;
    expect((await readFileAt(top, '/@/var/marker', 100)) !== undefined).toBe(true);
    const restored = restore(images.btrfs, join(work, 'snapshot'), 262);
    expectSameTree(ours, restored, (path) => nested.some((prefix) => path.startsWith(`${prefix}/`)));
  });

  it('reads an inspection\'s files in openSUSE\'s layout in a few tree blocks', async () => {
    expect(await inspectionBytes(images.btrfs)).toBeLessThan(16 * 16384);
  });
});
