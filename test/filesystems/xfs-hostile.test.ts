/**
 * The XFS driver on damaged and crafted volumes: every outcome is a result or an
 * IntrospectionError with the right code, never another exception or a hang. Structures
 * are located with xfs_db (`convert`, `bmap`), then changed in a copy of the image bytes.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FileSystem, readFileAt, resolvePath } from '../../filesystems/file-system.js';
import { xfs } from '../../filesystems/xfs.js';
import { crc32c } from '../../src/bytes.js';
import { isIntrospectionError } from '../../src/errors.js';
import { rejectionOf } from '../helpers/errors.js';
import { volumeOfBytes } from '../helpers/volume.js';
import { exerciseFileSystem, expectContractRefusals, expectTruncatedRead } from './ext-xfs-exercise.js';
import { hasTool, pseudoRandomBytes, run, xfsPrototype } from './ext-xfs-tree.js';
import { type XfsExtent, freeBlocksAtEnd, rewriteAsBtree, xfsBlockByte, xfsBmap, xfsDb, xfsInodeNumber } from './xfs-craft.js';

const hasXfsprogs = hasTool('mkfs.xfs') && hasTool('xfs_db');
const missing = 'xfsprogs (mkfs.xfs, xfs_db) are needed to build the images';

let work = '';
let imagePath = '';
/** A small v5 image; /var/big is a two-level bmap btree. */
let image: Uint8Array;
const SECTOR = 512;

beforeAll(() => {
  if (!hasXfsprogs) return;
  work = mkdtempSync(join(tmpdir(), 'xfs-hostile-'));
  const tree = join(work, 'tree');
  for (const dir of ['etc/block', 'etc/leaf', 'var']) mkdirSync(join(tree, dir), { recursive: true });
  writeFileSync(join(tree, 'etc', 'os-release'), 'ID=fedora\nVERSION_ID=40\n');
  writeFileSync(join(tree, 'etc', 'hostname'), 'hostile\n');
  for (let index = 0; index < 30; index += 1) writeFileSync(join(tree, 'etc', 'block', `name-${index}`), `${index}\n`);
  for (let index = 0; index < 300; index += 1) writeFileSync(join(tree, 'etc', 'leaf', `a-longer-name-${index}`), `${index}\n`);
  symlinkSync('../etc/os-release', join(tree, 'var', 'link'));
  writeFileSync(join(tree, 'var', 'big'), pseudoRandomBytes(200 * 1024, 3));
  writeFileSync(join(work, 'prototype'), xfsPrototype(tree));
  imagePath = join(work, 'hostile.img');
  run('truncate', ['-s', String(32 << 20), imagePath]);
  run('mkfs.xfs', ['-q', '-f', '-p', join(work, 'prototype'), imagePath], { TEST_DIR: '1', TEST_DEV: '1', QA_CHECK_FS: '1' });
  const [whole] = xfsBmap(imagePath, '/var/big') as [XfsExtent];
  const extents: XfsExtent[] = [];
  for (let logical = 0; logical < whole.count; logical += 2) {
    extents.push({ startOffset: logical, startBlock: whole.startBlock + logical, count: 1, unwritten: false });
  }
  rewriteAsBtree(imagePath, '/var/big', { extents, firstLeafCount: 12, freeBlocks: freeBlocksAtEnd(imagePath, 3) as [number, number, number] });
  image = new Uint8Array(readFileSync(imagePath));
});

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

async function open(bytes: Uint8Array): Promise<FileSystem> {
  return xfs.open(volumeOfBytes(bytes).volume, { warn: () => {} });
}

/** The superblock's CRC recomputed after a change (so that the change itself is what is tested). */
function fixSuperblockCrc(bytes: Uint8Array): void {
  const sector = bytes.slice(0, SECTOR);
  sector.fill(0, 0xe0, 0xe4);
  view(bytes).setUint32(0xe0, crc32c(sector), true);
}

function inodeByte(path: string): number {
  return Number(/\((\d+)\)/.exec(xfsDb(imagePath, `convert inode ${xfsInodeNumber(imagePath, path)} byte`))?.[1]);
}

function firstBlockByte(path: string): number {
  return xfsBlockByte(imagePath, (xfsBmap(imagePath, path)[0] as XfsExtent).startBlock);
}

/** The root of /var/big's btree points (in its only pointer) to the node block; the node's first pointer to the first leaf. */
function btreeBlocks(): { node: number; leaf: number } {
  const at = inodeByte('/var/big') + 176;
  const rootCapacity = Math.floor((512 - 176 - 4) / 16);
  const nodeBlock = Number(view(image).getBigUint64(at + 4 + rootCapacity * 8));
  const node = xfsBlockByte(imagePath, nodeBlock);
  const leafBlock = Number(view(image).getBigUint64(node + 72 + Math.floor((4096 - 72) / 16) * 8));
  return { node, leaf: xfsBlockByte(imagePath, leafBlock) };
}

async function readBig(bytes: Uint8Array): Promise<Uint8Array | undefined> {
  return readFileAt(await open(bytes), '/var/big', 1 << 20);
}

describe.skipIf(!hasXfsprogs)(`XFS driver on hostile volumes${hasXfsprogs ? '' : ` (skipped: ${missing})`}`, () => {
  it('opens the undamaged image (the baseline the damage is measured against)', async () => {
    const fs = await open(image);
    expect(new TextDecoder().decode(await readFileAt(fs, '/var/link', 100))).toBe('ID=fedora\nVERSION_ID=40\n');
    expect((await readBig(image))?.byteLength).toBe(200 * 1024);
    expect(await fs.list(await resolvePath(fs, '/etc/leaf'), 1000)).toHaveLength(300);
  });

  it('does not claim a volume without the magic, and verifies the v5 superblock CRC', async () => {
    const noMagic = image.slice();
    noMagic[0] = 0x41;
    expect(await xfs.probe(volumeOfBytes(noMagic).volume)).toBe(false);
    expect((await rejectionOf(open(noMagic))).code).toBe('CORRUPT');
    const relabelled = image.slice();
    relabelled[0x6c] = 0x41;
    expect((await rejectionOf(open(relabelled))).code).toBe('CORRUPT');
    fixSuperblockCrc(relabelled);
    expect((await open(relabelled)).info.label).toBe('A');
  });

  it('refuses features it cannot read and superblocks Linux would not mount', async () => {
    const cases: Array<[string, (bytes: Uint8Array) => void, string]> = [
      ['unknown incompat', (bytes) => view(bytes).setUint32(0xd8, view(bytes).getUint32(0xd8) | (1 << 20)), 'UNSUPPORTED'],
      ['needsrepair', (bytes) => view(bytes).setUint32(0xd8, view(bytes).getUint32(0xd8) | (1 << 4)), 'UNSUPPORTED'],
      ['version 3', (bytes) => view(bytes).setUint16(0x64, (view(bytes).getUint16(0x64) & 0xfff0) | 3), 'CORRUPT'],
      ['mkfs in progress', (bytes) => (bytes[0x7e] = 1), 'CORRUPT'],
      ['block size and its log disagree', (bytes) => (bytes[0x78] = 13), 'CORRUPT'],
      ['no allocation groups', (bytes) => view(bytes).setUint32(0x58, 0), 'CORRUPT'],
      ['inode size and its log disagree', (bytes) => view(bytes).setUint16(0x68, 1024), 'CORRUPT'],
      ['data blocks beyond the groups', (bytes) => view(bytes).setBigUint64(0x08, 1n << 40n), 'CORRUPT'],
      ['directory blocks above 64 KiB', (bytes) => (bytes[0xc0] = 5), 'CORRUPT'],
    ];
    for (const [name, change, code] of cases) {
      const bytes = image.slice();
      change(bytes);
      fixSuperblockCrc(bytes);
      expect((await rejectionOf(open(bytes))).code, name).toBe(code);
    }
  });

  it('refuses inodes that are not what a directory says they are', async () => {
    const hostname = inodeByte('/etc/hostname');
    const read = async (bytes: Uint8Array) => rejectionOf((async () => readFileAt(await open(bytes), '/etc/hostname', 100))());
    const cases: Array<[string, (bytes: Uint8Array) => void]> = [
      ['magic', (bytes) => (bytes[hostname] = 0)],
      ['own number (v3)', (bytes) => view(bytes).setBigUint64(hostname + 0x98, 12345n)],
      ['version 2 in a v5 file system', (bytes) => (bytes[hostname + 4] = 2)],
      ['local format for a regular file', (bytes) => (bytes[hostname + 5] = 1)],
      ['attribute fork past the literal area', (bytes) => (bytes[hostname + 0x52] = 60)],
      ['free (mode 0)', (bytes) => view(bytes).setUint16(hostname + 2, 0)],
      ['extent outside its allocation group', (bytes) => view(bytes).setUint32(hostname + 176 + 8, 0xffffffff)],
      ['more extents than the fork holds', (bytes) => view(bytes).setUint32(hostname + 0x4c, 1000)],
    ];
    for (const [name, change] of cases) {
      const bytes = image.slice();
      change(bytes);
      expect((await read(bytes)).code, name).toBe('CORRUPT');
    }
  });

  it('refuses a bmap btree that loops, goes backwards, is too deep or belongs to another inode', async () => {
    const { node, leaf } = btreeBlocks();
    const root = inodeByte('/var/big') + 176;
    const cases: Array<[string, (bytes: Uint8Array) => void]> = [
      // The node's first pointer back to the node itself: its level (1) is not the expected 0.
      ['loop', (bytes) => view(bytes).setBigUint64(node + 72 + 251 * 8, view(bytes).getBigUint64(root + 4 + 20 * 8))],
      ['keys going backwards', (bytes) => view(bytes).setBigUint64(node + 72 + 8, 0n)],
      ['root too deep', (bytes) => view(bytes).setUint16(root, 40)],
      ['leaf of another inode', (bytes) => view(bytes).setBigUint64(leaf + 56, 99n)],
      ['leaf magic', (bytes) => (bytes[leaf] = 0)],
      ['overlapping extents', (bytes) => view(bytes).setBigUint64(leaf + 72 + 16, view(bytes).getBigUint64(leaf + 72))],
    ];
    for (const [name, change] of cases) {
      const bytes = image.slice();
      change(bytes);
      expect((await rejectionOf(readBig(bytes))).code, name).toBe('CORRUPT');
    }
  });

  it('refuses directory blocks and short-form directories that cannot be walked', async () => {
    const block = firstBlockByte('/etc/block');
    const leafData = firstBlockByte('/etc/leaf');
    const shortForm = inodeByte('/var') + 176;
    const cases: Array<[string, string, (bytes: Uint8Array) => void]> = [
      ['block magic', '/etc/block/name-3', (bytes) => (bytes[block] = 0)],
      ['block hash leaf larger than the block', '/etc/block/name-3', (bytes) => view(bytes).setUint32(block + 4096 - 8, 100000)],
      ['data block magic', '/etc/leaf/a-longer-name-7', (bytes) => (bytes[leafData] = 0)],
      ['an empty name', '/etc/leaf/a-longer-name-299', (bytes) => (bytes[leafData + 64 + 8] = 0)],
      ['free space of length 0', '/etc/leaf/a-longer-name-299', (bytes) => view(bytes).setUint32(leafData + 64, 0xffff0000)],
      ['short-form count past its end', '/var/link', (bytes) => (bytes[shortForm] = 200)],
    ];
    for (const [name, path, change] of cases) {
      const bytes = image.slice();
      change(bytes);
      expect((await rejectionOf((async () => resolvePath(await open(bytes), path))())).code, name).toBe('CORRUPT');
    }
  });

  it('refuses calls that break the driver contract with INVALID_ARGUMENT', async () => {
    await expectContractRefusals(await open(image));
  });

  it('reports a truncated volume as TRUNCATED where it reads past the end', async () => {
    const { leaf } = btreeBlocks();
    const truncated = image.slice(0, leaf);
    await expectTruncatedRead(xfs, truncated, '/var/big');
  });

  it('answers or fails with an IntrospectionError whatever bytes are changed (property)', async () => {
    const { node, leaf } = btreeBlocks();
    const regions: Array<[number, number]> = [
      [0, 256],
      [inodeByte('/etc') - 64 * 512, 128 * 512],
      [firstBlockByte('/etc/block'), 4096],
      [firstBlockByte('/etc/leaf'), 4096],
      [node, 4096],
      [leaf, 4096],
    ];
    const mutation = fc.tuple(fc.nat(regions.length - 1), fc.nat(), fc.integer({ min: 0, max: 255 }));
    const bytes = image.slice();
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 8 }), fc.boolean(), async (changes, fixCrc) => {
        // Changed in place and restored afterwards: copying 32 MiB per run would dominate the test.
        const saved = changes.map(([region, position]) => {
          const [start, length] = regions[region] as [number, number];
          const at = Math.max(0, start) + (position % length);
          return [at, bytes[at] as number] as const;
        });
        changes.forEach(([, , value], index) => (bytes[(saved[index] as readonly [number, number])[0]] = value));
        if (fixCrc) fixSuperblockCrc(bytes);
        try {
          await exerciseFileSystem(xfs, volumeOfBytes(bytes).volume);
        } catch (error) {
          if (!isIntrospectionError(error)) throw error;
        } finally {
          for (const [at, value] of [...saved].reverse()) bytes[at] = value;
          bytes.set(image.subarray(0xe0, 0xe4), 0xe0);
        }
      }),
      { numRuns: 400, seed: 16 },
    );
  });
});
