/**
 * The XFS driver against file systems built at test time by mkfs.xfs from a prototype
 * file (no mounting), with xfsprogs as the oracle: `blkid` for the identity, `xfs_db -r`
 * for listings, formats and block maps, and the source tree itself for contents.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type FileSystem, readFileAt, resolvePath } from '../../filesystems/file-system.js';
import { xfs } from '../../filesystems/xfs.js';
import { rejectionOf } from '../helpers/errors.js';
import { type XfsExtent, contentFromBmap, freeBlocksAtEnd, rewriteAsBtree, rewriteExtentList, writeSymlinkBlocks, xfsBmap, xfsDb, xfsGeometry } from './xfs-craft.js';
import {
  LARGE_DIRECTORY_ENTRIES,
  LONG_LINK_TARGET,
  expectBlkidIdentity,
  expectFrugalInspection,
  expectInspectionLinks,
  expectSameTree,
  guestTreeWorkspace,
  hasTool,
  run,
  treePaths,
  withFileSystem,
  xfsPrototype,
} from './ext-xfs-tree.js';

const hasXfsprogs = hasTool('mkfs.xfs') && hasTool('xfs_db') && hasTool('blkid');
const missing = 'xfsprogs (mkfs.xfs, xfs_db) and blkid are needed to build and check XFS images';
/** mkfs.xfs 6.x refuses file systems under 300 MB unless it believes fstests runs it; small images keep the tests light. */
export const SMALL_XFS_ENVIRONMENT = { TEST_DIR: '1', TEST_DEV: '1', QA_CHECK_FS: '1' };

interface Variant {
  name: string;
  args: string[];
  size: number;
  /** ascii-ci: names compare case-insensitively. */
  caseInsensitive?: boolean;
}

const variants: Variant[] = [
  { name: 'v5 (defaults)', args: [], size: 128 << 20 },
  { name: 'v5, 1 KiB blocks', args: ['-b', 'size=1024'], size: 128 << 20 },
  { name: 'v5, 8 KiB directory blocks', args: ['-n', 'size=8192'], size: 128 << 20 },
  { name: 'v5, 64-bit extent counters', args: ['-i', 'nrext64=1'], size: 128 << 20 },
  { name: 'v4, 256-byte inodes, no ftype', args: ['-m', 'crc=0', '-i', 'size=256', '-n', 'ftype=0'], size: 128 << 20 },
  { name: 'v4, ascii-ci', args: ['-m', 'crc=0', '-n', 'version=ci'], size: 128 << 20, caseInsensitive: true },
];

const workspace = guestTreeWorkspace('xfs-test', hasXfsprogs, (work, tree) => writeFileSync(join(work, 'prototype'), xfsPrototype(tree)));
/** The mkfs.xfs prototype file describing the tree. */
const prototype = (): string => join(workspace.work, 'prototype');

/** Builds an image with mkfs.xfs -p from the tree. */
export function makeXfsImage(directory: string, name: string, args: string[], size: number, proto: string): string {
  const image = join(directory, `${name.replace(/[^a-z0-9]+/gi, '-')}.img`);
  writeFileSync(image, '');
  run('truncate', ['-s', String(size), image]);
  run('mkfs.xfs', ['-q', '-f', '-L', 'guestroot', '-p', proto, ...args, image], SMALL_XFS_ENVIRONMENT);
  return image;
}


function withXfs<T>(image: string, use: (fs: FileSystem, bytesRead: () => number) => Promise<T>): Promise<T> {
  return withFileSystem(xfs, image, use);
}

/** The directory format xfs_db reports: shortform (local), block, leaf or node (from where its blocks are). */
function directoryFormat(image: string, path: string, directoryBlockSize: number, blockSize: number): string {
  const output = xfsDb(image, `path ${path}`, 'print core.format core.size', 'bmap');
  if (/core\.format = 1/.test(output)) return 'shortform';
  const offsets = [...output.matchAll(/data offset (\d+)/g)].map((match) => Number(match[1]) * blockSize);
  const leafSpace = 2 ** 35;
  if (offsets.some((offset) => offset >= 2 * leafSpace)) return 'node';
  if (offsets.some((offset) => offset >= leafSpace)) return 'leaf';
  return Number(/core\.size = (\d+)/.exec(output)?.[1]) === directoryBlockSize ? 'block' : 'unknown';
}

describe.skipIf(!hasXfsprogs)(`XFS driver against xfsprogs${hasXfsprogs ? '' : ` (skipped: ${missing})`}`, () => {
  for (const variant of variants) {
    describe(variant.name, () => {
      let image = '';
      beforeAll(() => {
        image = makeXfsImage(workspace.work, variant.name, variant.args, variant.size, prototype());
      });

      it('names the type, label and UUID as blkid does', async () => {
        await expectBlkidIdentity(xfs, image, (fs) => expect(fs.caseInsensitive).toBe(variant.caseInsensitive === true));
      });

      it('reads every file, link and directory of the tree it was built from', async () => {
        // The long link is checked by the next test (mkfs.xfs 6.1 writes it wrong on v5).
        const checked = await withXfs(image, (fs) => expectSameTree(fs, workspace.tree, [treePaths.longLink]));
        expect(checked).toBeGreaterThan(30 + LARGE_DIRECTORY_ENTRIES / 10);
      });

      it('lists directories of every format as xfs_db ls does', async () => {
        const geometry = xfsDb(image, 'sb 0', 'print blocksize dirblklog');
        const blockSize = Number(/blocksize = (\d+)/.exec(geometry)?.[1]);
        const directoryBlockSize = blockSize * 2 ** Number(/dirblklog = (\d+)/.exec(geometry)?.[1]);
        const formats = new Set<string>();
        await withXfs(image, async (fs) => {
          for (const path of ['/etc/small', '/etc', treePaths.blockDirectory, treePaths.mediumDirectory, treePaths.largeDirectory]) {
            formats.add(directoryFormat(image, path, directoryBlockSize, blockSize));
            // xfs_db ls: offset, inode, type, hash, name length, name, "(good)".
            const theirs = xfsDb(image, `path ${path}`, 'ls')
              .split('\n')
              .map((line) => line.trim().split(/\s+/))
              .filter((parts) => parts.length >= 7 && parts[5] !== '.' && parts[5] !== '..')
              .map((parts) => parts[5] as string);
            const ours = await fs.list(await resolvePath(fs, path), 100_000);
            expect(ours.map((entry) => entry.name).sort(), path).toEqual(theirs.sort());
          }
        });
        expect([...formats].sort()).toEqual(['block', 'leaf', 'node', 'shortform']);
      });

      it('reads links in the inode and in blocks as xfs_db does', async () => {
        const v5 = !variant.args.includes('crc=0');
        await withXfs(image, async (fs) => {
          const local = xfsDb(image, `path ${treePaths.osReleaseLink}`, 'print');
          expect(local).toMatch(/core\.format = 1 \(local\)/);
          const target = await fs.readLink(await resolvePath(fs, treePaths.osReleaseLink, false));
          expect(/u3?\.symlink = "(.*)"/.exec(local)?.[1]).toBe(target);
          expect(xfsDb(image, `path ${treePaths.longLink}`, 'print core.format')).toMatch(/core\.format = 2 \(extents\)/);
          const remote = await resolvePath(fs, treePaths.longLink, false);
          if (v5) {
            // mkfs.xfs 6.1's prototype code writes a long target without the XSLM header v5 blocks need:
            // xfs_db finds a bad CRC there, Linux refuses the link, and so does this driver.
            expect(xfsDb(image, `path ${treePaths.longLink}`, 'dblock 0', 'type symlink', 'print')).toMatch(/crc = 0x[0-9a-f]+ \(bad\)/);
            expect((await rejectionOf(fs.readLink(remote))).code).toBe('CORRUPT');
          } else {
            expect(await fs.readLink(remote)).toBe(LONG_LINK_TARGET);
          }
        });
      });

      it('follows links and folds case as guest inspection needs', async () => {
        await withXfs(image, async (fs) => {
          await expectInspectionLinks(fs, workspace.tree);
          const upper = await readFileAt(fs, '/ETC/HOSTNAME', 100);
          expect(upper === undefined ? undefined : new TextDecoder().decode(upper)).toBe(variant.caseInsensitive ? 'testguest\n' : undefined);
        });
      });
    });
  }

  it('reads remote links through their v5 headers, in one block and in two (written by hand, checked by xfs_db)', async () => {
    // 4 KiB blocks: the target fits one block after its header.
    const image = makeXfsImage(workspace.work, 'remote link', [], 128 << 20, prototype());
    writeSymlinkBlocks(image, treePaths.longLink, LONG_LINK_TARGET);
    // 1 KiB blocks: 968 bytes per block after the header, so the 986-byte target needs a second block.
    const small = makeXfsImage(workspace.work, 'remote link 1k', ['-b', 'size=1024'], 128 << 20, prototype());
    const [first] = xfsBmap(small, treePaths.longLink) as [XfsExtent];
    const [spare] = freeBlocksAtEnd(small, 1) as [number];
    rewriteExtentList(small, treePaths.longLink, [first, { startOffset: 1, startBlock: spare, count: 1, unwritten: false }], 1);
    writeSymlinkBlocks(small, treePaths.longLink, LONG_LINK_TARGET);
    for (const [file, blocks] of [[image, 1], [small, 2]] as const) {
      for (let index = 0; index < blocks; index += 1) {
        const block = xfsDb(file, `path ${treePaths.longLink}`, `dblock ${index}`, 'type symlink', 'print');
        expect(block).toMatch(/magic = 0x58534c4d/);
        expect(block).toMatch(/crc = 0x[0-9a-f]+ \(correct\)/);
      }
      await withXfs(file, async (fs) => {
        expect(await fs.readLink(await resolvePath(fs, treePaths.longLink, false))).toBe(LONG_LINK_TARGET);
      });
    }
  });

  it('reads a file whose data fork is a two-level bmap btree with holes and unwritten extents, as xfs_db maps it', async () => {
    const image = makeXfsImage(workspace.work, 'btree', [], 128 << 20, prototype());
    const original = xfsBmap(image, treePaths.random);
    expect(original).toHaveLength(1);
    const [whole] = original as [XfsExtent];
    // Two blocks mapped, one left as a hole, every fifth piece unwritten: more extents than the
    // inode holds (21), as a btree fork must have (xfs_dinode_verify refuses fewer).
    const extents: XfsExtent[] = [];
    for (let logical = 0; logical < whole.count; logical += 3) {
      const count = Math.min(2, whole.count - logical);
      extents.push({ startOffset: logical, startBlock: whole.startBlock + logical, count, unwritten: extents.length % 5 === 4 });
    }
    expect(extents.length).toBeGreaterThan(21);
    rewriteAsBtree(image, treePaths.random, { extents, firstLeafCount: 10, freeBlocks: freeBlocksAtEnd(image, 3) as [number, number, number] });
    // The oracle: xfs_db walks the btree and maps the same extents.
    expect(xfsDb(image, `path ${treePaths.random}`, 'print core.format')).toMatch(/core\.format = 3 \(btree\)/);
    expect(xfsBmap(image, treePaths.random)).toEqual(extents);
    const size = readFileSync(join(workspace.tree, treePaths.random)).byteLength;
    const expected = contentFromBmap(image, treePaths.random, size, xfsGeometry(image).blockSize);
    await withXfs(image, async (fs, bytesRead) => {
      const file = await resolvePath(fs, treePaths.random);
      const before = bytesRead();
      const head = await fs.readFile(file, 100);
      expect(Buffer.from(head).equals(Buffer.from(expected.subarray(0, 100)))).toBe(true);
      // The first 100 bytes need the root, the node, the first leaf and one data block.
      expect(bytesRead() - before).toBeLessThanOrEqual(3 * xfsGeometry(image).blockSize);
      expect(Buffer.from(await fs.readFile(file, size)).equals(Buffer.from(expected))).toBe(true);
    });
  });

  it('reads a small part of the volume for what guest inspection asks', async () => {
    const image = makeXfsImage(workspace.work, 'inspection', [], 512 << 20, prototype());
    const counts = xfsDb(image, 'sb 0', 'print dblocks fdblocks blocksize');
    const number = (name: string): number => Number(new RegExp(`${name} = (\\d+)`).exec(counts)?.[1]);
    const allocated = (number('dblocks') - number('fdblocks')) * number('blocksize');
    await withXfs(image, (fs, bytesRead) => expectFrugalInspection(fs, bytesRead, allocated, 'xfs'));
  });
});
