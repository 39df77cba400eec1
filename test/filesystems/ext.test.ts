/**
 * The ext2/3/4 driver against file systems built at test time by mke2fs (`-d` populates
 * them from a tree, no mounting), with e2fsprogs as the oracle: `blkid` for the identity,
 * `debugfs` for contents and listings, and the source tree itself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ext } from '../../filesystems/ext.js';
import { type FileSystem, readFileAt, resolvePath } from '../../filesystems/file-system.js';
import { rejectionOf } from '../helpers/errors.js';
import { LARGE_DIRECTORY_ENTRIES, buildGuestTree, expectBlkidIdentity, expectFrugalInspection, expectInspectionLinks, expectSameTree, guestTreeWorkspace, hasTool, run, runText, treePaths, withFileSystem } from './ext-xfs-tree.js';

const hasE2fsprogs = hasTool('mke2fs') && hasTool('debugfs') && hasTool('e2fsck') && hasTool('blkid');
const missing = 'e2fsprogs (mke2fs, debugfs, e2fsck) and blkid are needed to build and check ext images';

/** One way of making an ext file system. */
interface Variant {
  name: string;
  args: string[];
  size: string;
  /** Build from the tree without the large directory (for big blocks). */
  small?: boolean;
}

const variants: Variant[] = [
  { name: 'ext4 (defaults)', args: ['-t', 'ext4'], size: '64M' },
  { name: 'ext4, 1 KiB blocks', args: ['-t', 'ext4', '-b', '1024'], size: '64M' },
  // 256-block groups of 32 inodes: the tree's inodes reach groups whose descriptors are in later meta groups.
  { name: 'ext4, 64bit and meta_bg', args: ['-t', 'ext4', '-O', '64bit,meta_bg,^resize_inode', '-b', '1024', '-g', '256', '-N', '8192'], size: '64M' },
  { name: 'ext4, inline_data', args: ['-t', 'ext4', '-O', 'inline_data'], size: '64M' },
  { name: 'ext4 without extents (block maps)', args: ['-t', 'ext4', '-O', '^extents,^64bit'], size: '64M' },
  { name: 'ext4, bigalloc', args: ['-t', 'ext4', '-O', 'bigalloc', '-C', '16384'], size: '128M' },
  { name: 'ext4, 128-byte inodes, no metadata_csum', args: ['-t', 'ext4', '-I', '128', '-O', '^metadata_csum'], size: '64M' },
  { name: 'ext4, 64 KiB blocks', args: ['-t', 'ext4', '-b', '65536', '-N', '512'], size: '128M', small: true },
  { name: 'ext3', args: ['-t', 'ext3'], size: '64M' },
  { name: 'ext2, 1 KiB blocks', args: ['-t', 'ext2', '-b', '1024'], size: '64M' },
];

const workspace = guestTreeWorkspace('ext-test', hasE2fsprogs, (work) => buildGuestTree(join(work, 'small-tree'), { largeDirectory: false }));
const fullTree = (): string => workspace.tree;
const smallTree = (): string => join(workspace.work, 'small-tree');

/** Builds an image with mke2fs -d, then has e2fsck index every directory (-D builds the htrees). */
function makeImage(name: string, args: string[], size: string, tree: string): string {
  const image = join(workspace.work, `${name.replace(/[^a-z0-9]+/gi, '-')}.img`);
  run('mke2fs', ['-q', '-F', '-L', 'guest-root', '-d', tree, ...args, image, size]);
  const fsck = spawnE2fsck(image);
  if (fsck > 2) throw new Error(`e2fsck -fyD ${image} exited ${fsck}`);
  return image;
}

function spawnE2fsck(image: string): number {
  try {
    run('e2fsck', ['-fyD', image]);
    return 0;
  } catch (error) {
    // Exit 1 (errors corrected: the directories it optimised) is what -D reports.
    const match = /failed \((\d+)\)/.exec(String(error));
    return match ? Number(match[1]) : 8;
  }
}


function debugfs(image: string, request: string): Uint8Array {
  return run('debugfs', ['-R', request, image]);
}

function withExt<T>(image: string, use: (fs: FileSystem, bytesRead: () => number) => Promise<T>): Promise<T> {
  return withFileSystem(ext, image, use);
}

describe.skipIf(!hasE2fsprogs)(`ext driver against e2fsprogs${hasE2fsprogs ? '' : ` (skipped: ${missing})`}`, () => {
  for (const variant of variants) {
    describe(variant.name, () => {
      let image = '';
      let tree = '';
      beforeAll(() => {
        tree = variant.small ? smallTree() : fullTree();
        image = makeImage(variant.name, variant.args, variant.size, tree);
      });

      it('names the type, label and UUID as blkid does', async () => {
        await expectBlkidIdentity(ext, image);
      });

      it('reads every file, link and directory of the tree it was built from', async () => {
        const checked = await withExt(image, (fs) => expectSameTree(fs, tree));
        expect(checked).toBeGreaterThan(variant.small ? 30 : 30 + LARGE_DIRECTORY_ENTRIES / 10);
      });

      it('reads files and lists /etc as debugfs does', async () => {
        await withExt(image, async (fs) => {
          for (const path of [treePaths.osRelease, treePaths.ls, treePaths.sparse, treePaths.random, treePaths.inlineSized, treePaths.unicode]) {
            const ours = await readFileAt(fs, path, 1 << 30);
            expect(ours, path).toBeDefined();
            const size = Number(/\bSize: (\d+)/.exec(new TextDecoder().decode(debugfs(image, `stat "${path}"`)))?.[1]);
            expect(ours?.byteLength, path).toBe(size);
            // debugfs 1.47 cats an inline file shorter than i_block as all 60 bytes of i_block: compare its first `size`.
            const theirs = Buffer.from(debugfs(image, `cat "${path}"`)).subarray(0, size);
            expect(Buffer.from(ours as Uint8Array).equals(theirs), path).toBe(true);
          }
          // debugfs ls -p: /inode/mode/uid/gid/name/size/ per entry.
          const listing = new TextDecoder()
            .decode(debugfs(image, 'ls -p /etc'))
            .split('\n')
            .filter((line) => line.startsWith('/'))
            .map((line) => line.split('/'))
            .filter((parts) => parts[5] !== '.' && parts[5] !== '..')
            .map((parts) => ({ name: parts[5] as string, kind: kindOfOctalMode(parts[2] as string) }));
          const etc = await resolvePath(fs, '/etc');
          const ours = await fs.list(etc, 1000);
          expect(new Set(ours.map((entry) => `${entry.name} ${entry.kind}`))).toEqual(new Set(listing.map((entry) => `${entry.name} ${entry.kind}`)));
        });
      });

      it('follows links the way guest inspection needs (/etc/os-release, /bin/ls)', async () => {
        await withExt(image, async (fs) => {
          await expectInspectionLinks(fs, tree);
          expect(await readFileAt(fs, '/etc/missing', 10)).toBeUndefined();
          expect(await readFileAt(fs, '/etc', 10)).toBeUndefined();
        });
      });
    });
  }

  it('built the structures the variants are meant to cover', () => {
    // Preconditions checked with debugfs, so that a change in mke2fs defaults cannot silently empty a variant.
    const image = makeImage('coverage ext4', ['-t', 'ext4', '-O', 'inline_data'], '64M', fullTree());
    const many = new TextDecoder().decode(debugfs(image, `stat "${treePaths.largeDirectory}"`));
    expect(many).toMatch(/Flags: 0x[0-9a-f]*1[0-9a-f]{3}\b/); // EXT2_INDEX_FL 0x1000: an htree
    expect(new TextDecoder().decode(debugfs(image, `stat "${treePaths.hostname}"`))).toMatch(/Flags: 0x10000000[^]*system\.data \(0\)/);
    expect(new TextDecoder().decode(debugfs(image, `stat "${treePaths.inlineSized}"`))).toMatch(/system\.data \(40\)/);
    const sparse = new TextDecoder().decode(debugfs(image, `stat "${treePaths.sparse}"`));
    expect(sparse).toMatch(/\(1024-1027\)/); // a hole before block 1024
    const metaGroups = makeImage('coverage meta_bg', ['-t', 'ext4', '-O', '64bit,meta_bg,^resize_inode', '-b', '1024', '-g', '256', '-N', '8192'], '64M', fullTree());
    // Group 16 starts the second meta group: its descriptor block is its own first block (1 + 16 × 256).
    expect(runText('dumpe2fs', [metaGroups])).toMatch(/Group 16: \(Blocks 4097-4352\)[^\n]*\n\s+Group descriptor at 4097\n/);
    expect(new TextDecoder().decode(debugfs(metaGroups, `imap "${treePaths.largeDirectory}/entry-with-a-longish-name-02999"`))).toMatch(/block group (\d{2,})/);
    const blockMapped = makeImage('coverage ext2', ['-t', 'ext2', '-b', '1024'], '64M', fullTree());
    // 300 KiB in 1 KiB blocks needs the double indirect block (12 + 256 blocks are mapped before it).
    expect(new TextDecoder().decode(debugfs(blockMapped, `stat "${treePaths.random}"`))).toMatch(/\(DIND\)/);
  });

  it('folds case in casefold directories and refuses encrypted files (flags set with debugfs -w)', async () => {
    const image = makeImage('flags', ['-t', 'ext4', '-O', 'casefold', '-E', 'encoding=utf8'], '64M', smallTree());
    const flags = (path: string): number => Number(/Flags: (0x[0-9a-f]+)/.exec(new TextDecoder().decode(debugfs(image, `stat "${path}"`)))?.[1]);
    run('debugfs', ['-w', '-R', `set_inode_field /etc flags 0x${(flags('/etc') | 0x40000000).toString(16)}`, image]);
    run('debugfs', ['-w', '-R', `set_inode_field ${treePaths.fstab} flags 0x${(flags(treePaths.fstab) | 0x800).toString(16)}`, image]);
    expect(flags('/etc') & 0x40000000).not.toBe(0);
    await withExt(image, async (fs) => {
      const hostname = readFileSync(join(smallTree(), treePaths.hostname));
      expect(Buffer.from((await readFileAt(fs, '/etc/HOSTNAME', 100)) as Uint8Array).equals(hostname)).toBe(true);
      expect(await readFileAt(fs, '/etc/NAÏVE-ÜNÏCODE.TXT', 100)).toBeDefined();
      // Only /etc folds case: the root does not.
      expect(await readFileAt(fs, '/ETC/hostname', 100)).toBeUndefined();
      expect((await rejectionOf(readFileAt(fs, treePaths.fstab, 100))).code).toBe('UNSUPPORTED');
    });
  });

  it('reads a sparse ext2 file through its triple indirect block', async () => {
    // With 1 KiB blocks, logical blocks from 12 + 256 + 65536 on are mapped through i_block[14].
    const tree = join(workspace.work, 'triple');
    buildGuestTree(tree, { largeDirectory: false, sparseOffsets: [1 << 20, 70 << 20] });
    const image = makeImage('triple', ['-t', 'ext2', '-b', '1024'], '64M', tree);
    expect(new TextDecoder().decode(debugfs(image, `stat "${treePaths.sparse}"`))).toMatch(/\(TIND\)/);
    await withExt(image, async (fs) => {
      const bytes = await readFileAt(fs, treePaths.sparse, 1 << 30);
      expect(Buffer.from(bytes as Uint8Array).equals(readFileSync(join(tree, treePaths.sparse)))).toBe(true);
    });
  });

  it('reads a small part of the volume for what guest inspection asks', async () => {
    const image = makeImage('inspection', ['-t', 'ext4'], '256M', fullTree());
    const header = runText('dumpe2fs', ['-h', image]);
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(header)?.[1]);
    const allocated = (field('Block count') - field('Free blocks')) * field('Block size');
    await withExt(image, (fs, bytesRead) => expectFrugalInspection(fs, bytesRead, allocated, 'ext4'));
  });
});

function kindOfOctalMode(mode: string): string {
  const type = Number.parseInt(mode, 8) & 0o170000;
  if (type === 0o040000) return 'directory';
  if (type === 0o120000) return 'symlink';
  return type === 0o100000 ? 'file' : 'other';
}
