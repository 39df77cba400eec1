/**
 * The ext driver on file systems made outside this project: dfvfs's `mbr.raw` (util-linux
 * fdisk, mke2fs: an ext2 and an ext4 partition, the second inside an extended partition).
 * Partitions come from `sfdisk -J`, the identity from `blkid -p -O`, every directory,
 * file and link from `debugfs` on the partition's bytes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ext } from '../../filesystems/ext.js';
import { type FileSystem, resolvePath } from '../../filesystems/file-system.js';
import { loadBytes, realWorldRoot } from '../helpers/fixtures.js';
import { volumeOfBytes } from '../helpers/volume.js';
import { hasTool, run, runText } from './ext-xfs-tree.js';

const root = realWorldRoot();
const image = root === undefined ? undefined : join(root, 'raw', 'dfvfs__mbr.raw.gz');
const hasTools = hasTool('debugfs') && hasTool('sfdisk') && hasTool('blkid');
const skip = root === undefined ? 'the real-world images are not here' : !hasTools ? 'debugfs, sfdisk and blkid are needed' : '';

const work = mkdtempSync(join(tmpdir(), 'ext-real-world-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** debugfs `ls -p` of a directory: each used entry's name and mode. */
function debugfsListing(partition: string, path: string): Array<{ name: string; mode: number }> {
  return runText('debugfs', ['-R', `ls -p "${path}"`, partition])
    .split('\n')
    .filter((line) => line.startsWith('/'))
    .map((line) => line.split('/'))
    // debugfs also prints unused records (inode 0, no name), as lost+found's preallocated blocks hold.
    .filter((parts) => parts[1] !== '0')
    .map((parts) => ({ name: parts[5] as string, mode: Number.parseInt(parts[2] as string, 8) }))
    .filter((entry) => entry.name !== '.' && entry.name !== '..');
}

async function compareDirectory(fs: FileSystem, partition: string, path: string): Promise<number> {
  const directory = await resolvePath(fs, path);
  const ours = await fs.list(directory, 10_000);
  const theirs = debugfsListing(partition, path);
  expect(ours.map((entry) => entry.name).sort(), path).toEqual(theirs.map((entry) => entry.name).sort());
  let compared = 0;
  for (const entry of theirs) {
    const child = `${path === '/' ? '' : path}/${entry.name}`;
    const type = entry.mode & 0o170000;
    const node = await resolvePath(fs, child, false);
    if (type === 0o040000) {
      compared += await compareDirectory(fs, partition, child);
    } else if (type === 0o100000) {
      expect(Buffer.from(await fs.readFile(node, 1 << 20)).equals(Buffer.from(run('debugfs', ['-R', `cat "${child}"`, partition]))), child).toBe(true);
    } else if (type === 0o120000) {
      const stat = runText('debugfs', ['-R', `stat "${child}"`, partition]);
      expect(await fs.readLink(node), child).toBe(/Fast link dest: "(.*)"/.exec(stat)?.[1]);
    }
    compared += 1;
  }
  return compared;
}

describe.skipIf(skip !== '')(`ext driver on real-world images${skip === '' ? '' : ` (skipped: ${skip})`}`, () => {
  it('reads both partitions of dfvfs mbr.raw as blkid and debugfs do', async () => {
    const bytes = loadBytes(image as string);
    const disk = join(work, 'mbr.raw');
    writeFileSync(disk, bytes);
    const table = JSON.parse(runText('sfdisk', ['-J', disk])) as { partitiontable: { partitions: Array<{ start: number; size: number; type: string }> } };
    const linux = table.partitiontable.partitions.filter((partition) => partition.type === '83');
    expect(linux).toHaveLength(2);
    const types: string[] = [];
    for (const { start, size } of linux) {
      const slice = bytes.subarray(start * 512, (start + size) * 512);
      const partition = join(work, `partition-${start}.img`);
      writeFileSync(partition, slice);
      const expected = Object.fromEntries(
        runText('blkid', ['-p', '-o', 'export', partition])
          .split('\n')
          .filter((line) => line.includes('='))
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      const { volume } = volumeOfBytes(slice);
      expect(await ext.probe(volume)).toBe(true);
      const fs = await ext.open(volume, { warn: () => {} });
      expect(fs.info).toEqual({ type: expected.TYPE, label: expected.LABEL, uuid: expected.UUID });
      types.push(fs.info.type);
      expect(await compareDirectory(fs, partition, '/')).toBeGreaterThan(4);
    }
    expect(types).toEqual(['ext2', 'ext4']);
  });
});
