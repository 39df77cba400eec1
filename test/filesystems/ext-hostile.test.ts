/**
 * The ext driver on damaged and crafted volumes: every outcome is a result or an
 * IntrospectionError with the right code, never another exception or a hang. Structures
 * are located with debugfs and dumpe2fs (hand-checked offsets into a mke2fs image), then
 * changed in a copy of its bytes.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ext } from '../../filesystems/ext.js';
import { type FileSystem, readFileAt, resolvePath } from '../../filesystems/file-system.js';
import { crc32c } from '../../src/bytes.js';
import { isIntrospectionError } from '../../src/errors.js';
import { rejectionOf } from '../helpers/errors.js';
import { volumeOfBytes } from '../helpers/volume.js';
import { exerciseFileSystem, expectContractRefusals, expectTruncatedRead } from './ext-xfs-exercise.js';
import { hasTool, run, runText, writeSparse } from './ext-xfs-tree.js';

const hasE2fsprogs = hasTool('mke2fs') && hasTool('debugfs') && hasTool('dumpe2fs');
const missing = 'e2fsprogs (mke2fs, debugfs, dumpe2fs) are needed to build the images';

let work = '';
/** A small ext4 image with 1 KiB blocks and no metadata checksums (so that damage reaches the structures past the superblock). */
let plain: Uint8Array;
let plainPath = '';
/** The same tree with metadata_csum. */
let checksummed: Uint8Array;

beforeAll(() => {
  if (!hasE2fsprogs) return;
  work = mkdtempSync(join(tmpdir(), 'ext-hostile-'));
  const tree = join(work, 'tree');
  mkdirSync(join(tree, 'etc', 'many'), { recursive: true });
  mkdirSync(join(tree, 'var'), { recursive: true });
  writeFileSync(join(tree, 'etc', 'os-release'), 'ID=debian\nVERSION_ID=12\n');
  writeFileSync(join(tree, 'etc', 'hostname'), 'hostile\n');
  for (let index = 0; index < 40; index += 1) writeFileSync(join(tree, 'etc', 'many', `name-${index}`), `${index}\n`);
  symlinkSync('../etc/os-release', join(tree, 'var', 'link'));
  symlinkSync('loop-b', join(tree, 'var', 'loop-a'));
  symlinkSync('loop-a', join(tree, 'var', 'loop-b'));
  // Six separate 1 KiB pieces: more extents than i_block holds, so the tree has a leaf block.
  writeSparse(join(tree, 'var', 'sparse'), [0, 100, 200, 300, 400, 500].map((kib) => kib * 1024));
  plainPath = join(work, 'plain.img');
  run('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '1024', '-O', '^metadata_csum', '-d', tree, plainPath, '2M']);
  plain = new Uint8Array(readFileSync(plainPath));
  const checksummedPath = join(work, 'checksummed.img');
  run('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '1024', '-d', tree, checksummedPath, '2M']);
  checksummed = new Uint8Array(readFileSync(checksummedPath));
});

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

const SUPERBLOCK = 1024;
const BLOCK = 1024;

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

async function open(bytes: Uint8Array): Promise<FileSystem> {
  return ext.open(volumeOfBytes(bytes).volume, { warn: () => {} });
}

/** Where debugfs says the inode of `path` is. */
function inodeOffset(path: string): number {
  const output = runText('debugfs', ['-R', `imap ${path}`, plainPath]);
  const match = /located at block (\d+), offset 0x([0-9a-f]+)/.exec(output);
  return Number(match?.[1]) * BLOCK + Number.parseInt(match?.[2] ?? '', 16);
}

/** The physical block debugfs maps logical block `logical` of `path` to. */
function physicalBlock(path: string, logical: number): number {
  return Number(runText('debugfs', ['-R', `bmap ${path} ${logical}`, plainPath]).trim());
}

/** The extent tree leaf block of `path` (debugfs prints it as `(ETB0):N`). */
function extentLeafBlock(path: string): number {
  return Number(/\(ETB0\):(\d+)/.exec(runText('debugfs', ['-R', `stat ${path}`, plainPath]))?.[1]);
}

/** Sets the header of the extent node at byte `node`: `eh_entries` (+2) and `eh_depth` (+6). */
function setExtentHeader(bytes: Uint8Array, node: number, header: { entries?: number; depth?: number }): void {
  if (header.entries !== undefined) view(bytes).setUint16(node + 2, header.entries, true);
  if (header.depth !== undefined) view(bytes).setUint16(node + 6, header.depth, true);
}

/**
 * Writes index entry `slot` of the extent node at byte `node` (12-byte entries after the
 * 12-byte header): `ei_block`, the first logical block it maps, then `ei_leaf_lo` and
 * `ei_leaf_hi`, the child node's block.
 */
function setExtentIndex(bytes: Uint8Array, node: number, slot: number, firstLogical: number, childBlock: number): void {
  const at = node + 12 + slot * 12;
  view(bytes).setUint32(at, firstLogical, true);
  view(bytes).setUint32(at + 4, childBlock, true);
  view(bytes).setUint16(at + 8, 0, true);
}

/** The offset of the directory record naming `name` in a directory block. */
function recordOffset(block: Uint8Array, name: string): number {
  const wanted = new TextEncoder().encode(name);
  for (let at = 0; at + 8 < block.byteLength; ) {
    const length = view(block).getUint16(at + 4, true);
    if (block[at + 6] === wanted.byteLength && Buffer.from(block.subarray(at + 8, at + 8 + wanted.byteLength)).equals(Buffer.from(wanted))) return at;
    if (length === 0) break;
    at += length;
  }
  throw new Error(`no record ${name}`);
}

describe.skipIf(!hasE2fsprogs)(`ext driver on hostile volumes${hasE2fsprogs ? '' : ` (skipped: ${missing})`}`, () => {
  it('opens the undamaged images (the baseline the damage is measured against)', async () => {
    for (const bytes of [plain, checksummed]) {
      const fs = await open(bytes);
      expect(new TextDecoder().decode(await readFileAt(fs, '/var/link', 100))).toBe('ID=debian\nVERSION_ID=12\n');
      expect((await readFileAt(fs, '/var/sparse', 1 << 20))?.byteLength).toBe(504 * 1024); // writeSparse writes 4 KiB at 500 KiB
    }
  });

  it('does not claim a volume without the magic, or an external journal', async () => {
    const noMagic = plain.slice();
    view(noMagic).setUint16(SUPERBLOCK + 0x38, 0x1234, true);
    expect(await ext.probe(volumeOfBytes(noMagic).volume)).toBe(false);
    expect((await rejectionOf(open(noMagic))).code).toBe('CORRUPT');
    const journal = plain.slice();
    view(journal).setUint32(SUPERBLOCK + 0x60, view(journal).getUint32(SUPERBLOCK + 0x60, true) | 0x8, true);
    expect(await ext.probe(volumeOfBytes(journal).volume)).toBe(false);
    expect((await rejectionOf(open(journal))).code).toBe('UNSUPPORTED');
  });

  it('refuses impossible geometry', async () => {
    const cases: Array<[number, number]> = [
      [0x18, 20], // s_log_block_size: 1 GiB blocks
      [0x28, 0], // s_inodes_per_group
      [0x00, 12345], // s_inodes_count that is not groups × inodes per group
      [0x20, 0], // s_blocks_per_group
      [0x04, 0], // s_blocks_count
    ];
    for (const [offset, value] of cases) {
      const bytes = plain.slice();
      view(bytes).setUint32(SUPERBLOCK + offset, value, true);
      expect((await rejectionOf(open(bytes))).code, `superblock field 0x${offset.toString(16)}`).toBe('CORRUPT');
    }
  });

  it('refuses incompatible features it cannot read, by name, as Linux does', async () => {
    for (const [bit, name] of [
      [0x1, 'compression'],
      [0x1000, 'dirdata'],
      [0x40000000, 'unknown 0x40000000'],
    ] as const) {
      const bytes = plain.slice();
      view(bytes).setUint32(SUPERBLOCK + 0x60, view(bytes).getUint32(SUPERBLOCK + 0x60, true) | bit, true);
      const error = await rejectionOf(open(bytes));
      expect(error.code).toBe('UNSUPPORTED');
      expect(error.message).toContain(name);
    }
  });

  it('verifies the metadata_csum superblock checksum', async () => {
    const bytes = checksummed.slice();
    bytes[SUPERBLOCK + 0x78] = 0x41; // the label, outside any other check
    expect((await rejectionOf(open(bytes))).code).toBe('CORRUPT');
    // Recomputed as Linux computes it (raw crc32c, seed ~0, no final inversion), the same change is accepted.
    view(bytes).setUint32(SUPERBLOCK + 0x3fc, ~crc32c(bytes.subarray(SUPERBLOCK, SUPERBLOCK + 0x3fc)) >>> 0, true);
    expect((await open(bytes)).info.label).toBe('A');
  });

  it('refuses an extent tree that loops, shares a leaf, is too deep or points outside the file system', async () => {
    const inode = inodeOffset('/var/sparse');
    const iBlock = inode + 0x28;
    const leaf = extentLeafBlock('/var/sparse') * BLOCK;
    const read = async (bytes: Uint8Array) => rejectionOf((async () => readFileAt(await open(bytes), '/var/sparse', 1 << 20))());

    // The leaf turned into an index node pointing to itself: its depth says 1 where 0 is due.
    const loop = plain.slice();
    setExtentHeader(loop, leaf, { entries: 1, depth: 1 });
    setExtentIndex(loop, leaf, 0, 0, leaf / BLOCK);
    expect((await read(loop)).code).toBe('CORRUPT');

    // The root indexes the same leaf twice: the second visit maps logical blocks already mapped.
    const shared = plain.slice();
    setExtentHeader(shared, iBlock, { entries: 2 });
    setExtentIndex(shared, iBlock, 1, 450, leaf / BLOCK);
    expect((await read(shared)).code).toBe('CORRUPT');

    const deep = plain.slice();
    setExtentHeader(deep, iBlock, { depth: 6 });
    expect((await read(deep)).code).toBe('CORRUPT');

    const outside = plain.slice();
    view(outside).setUint32(leaf + 12 + 8, 0x7fffffff, true);
    expect((await read(outside)).code).toBe('CORRUPT');

    const overlapping = plain.slice();
    view(overlapping).setUint32(leaf + 24, 0, true);
    expect((await read(overlapping)).code).toBe('CORRUPT');
  });

  it('refuses directory records that cannot be walked or name impossible inodes', async () => {
    const etc = physicalBlock('/etc', 0) * BLOCK;
    const block = plain.subarray(etc, etc + BLOCK);
    const hostname = etc + recordOffset(block, 'hostname');
    const lookup = async (bytes: Uint8Array) => rejectionOf((async () => readFileAt(await open(bytes), '/etc/os-release', 100))());

    const zeroLength = plain.slice();
    view(zeroLength).setUint16(hostname + 4, 0, true);
    expect((await lookup(zeroLength)).code).toBe('CORRUPT');

    const pastBlock = plain.slice();
    view(pastBlock).setUint16(hostname + 4, 2048, true);
    expect((await lookup(pastBlock)).code).toBe('CORRUPT');

    const inodeCount = view(plain).getUint32(SUPERBLOCK, true);
    const impossible = plain.slice();
    view(impossible).setUint32(hostname, inodeCount + 1, true);
    expect((await lookup(impossible)).code).toBe('CORRUPT');

    // An inode that exists but is free (never allocated in this small image).
    const free = plain.slice();
    view(free).setUint32(hostname, inodeCount - 1, true);
    expect((await rejectionOf((async () => readFileAt(await open(free), '/etc/hostname', 100))())).code).toBe('CORRUPT');
  });

  it('caps the directory size it searches', async () => {
    const bytes = plain.slice();
    view(bytes).setUint32(inodeOffset('/etc') + 0x04, 0xfffff000, true);
    expect((await rejectionOf((async () => readFileAt(await open(bytes), '/etc/hostname', 100))())).code).toBe('LIMIT_EXCEEDED');
  });

  it('ends a link loop with CORRUPT', async () => {
    expect((await rejectionOf((async () => resolvePath(await open(plain), '/var/loop-a'))())).code).toBe('CORRUPT');
  });

  it('refuses calls that break the driver contract with INVALID_ARGUMENT', async () => {
    await expectContractRefusals(await open(plain));
  });

  it('reports a truncated volume as TRUNCATED where it reads past the end', async () => {
    const sparseLeaf = extentLeafBlock('/var/sparse') * BLOCK;
    const truncated = plain.slice(0, sparseLeaf);
    await expectTruncatedRead(ext, truncated, '/var/sparse');
  });

  it('answers or fails with an IntrospectionError whatever bytes are changed (property)', async () => {
    // Damage lands in the superblock, the group descriptors, the inode table and the first directory and extent blocks.
    const inodeTable = Number(/Inode table at (\d+)/.exec(runText('dumpe2fs', [plainPath]))?.[1]) * BLOCK;
    const regions: Array<[number, number]> = [
      [SUPERBLOCK, 1024],
      [2 * BLOCK, BLOCK],
      [inodeTable, 32 * 256],
      [physicalBlock('/etc', 0) * BLOCK, BLOCK],
      [physicalBlock('/etc/many', 0) * BLOCK, BLOCK],
      [extentLeafBlock('/var/sparse') * BLOCK, BLOCK],
    ];
    const mutation = fc.tuple(fc.nat(regions.length - 1), fc.nat(), fc.integer({ min: 0, max: 255 }));
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 8 }), async (changes) => {
        const bytes = plain.slice();
        for (const [region, position, value] of changes) {
          const [start, length] = regions[region] as [number, number];
          bytes[start + (position % length)] = value;
        }
        try {
          await exerciseFileSystem(ext, volumeOfBytes(bytes).volume);
        } catch (error) {
          if (!isIntrospectionError(error)) throw error;
        }
      }),
      { numRuns: 400, seed: 16 },
    );
  });
});
