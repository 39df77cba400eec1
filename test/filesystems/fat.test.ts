/**
 * The FAT driver against mkfs.fat and mtools: volumes of each FAT width built at test time,
 * listed and read by our driver and by mtools (`mdir`, `mcopy`), identified by blkid.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fatGeometry, fatModule, type FatFileSystem, MAX_FAT_DIRECTORY_BYTES } from '../../filesystems/fat.js';
import { readFileAt, resolvePath } from '../../filesystems/file-system.js';
import { ntfsModule } from '../../filesystems/ntfs.js';
import { shortNameChecksum } from '../../filesystems/shared/fat-directory.js';
import { rejectionOf } from '../helpers/errors.js';
import {
  blkid,
  compressibleText,
  type FatVolume,
  makeFatVolume,
  memoryVolume,
  missingTools,
  mtoolsExtract,
  mtoolsPaths,
  mtoolsRead,
  pseudoRandomBytes,
  resultOrIntrospectionError,
  temporaryDirectory,
  type TreeEntry,
  walk,
  withRealWorldPartition,
} from '../helpers/volume-windows.js';

const missing = missingTools('mkfs.fat', 'mmd', 'mcopy', 'mdel', 'mdir', 'blkid');
const context = { warn: () => {} };

/** A tree with what FAT makes hard: long names, lower-case 8.3 names, a directory spanning clusters, a fragmented file. */
function testTree(): TreeEntry[] {
  const tree: TreeEntry[] = [
    { path: '/EFI' },
    { path: '/EFI/BOOT' },
    { path: '/EFI/BOOT/BOOTX64.EFI', contents: pseudoRandomBytes(70_000, 1) },
    { path: '/EFI/debian' },
    { path: '/EFI/debian/grub.cfg', contents: new TextEncoder().encode('search.fs_uuid 1234 root\n') },
    { path: '/readme.txt', contents: new TextEncoder().encode('lower-case 8.3 name, no long name entry\n') },
    { path: '/A long file name with spaces.text', contents: compressibleText(5000, 2) },
    { path: '/Ünïcødé – 名前.txt', contents: new TextEncoder().encode('unicode long name') },
    { path: '/empty.bin', contents: new Uint8Array(0) },
    { path: '/first.bin', contents: pseudoRandomBytes(9000, 3) },
    { path: '/spacer.bin', contents: pseudoRandomBytes(100, 5) },
    { path: '/first.bin', remove: true },
    { path: '/fragmented.bin', contents: pseudoRandomBytes(30_000, 6) },
    { path: '/Many' },
  ];
  for (let index = 0; index < 120; index += 1) {
    tree.push({ path: `/Many/a rather long file name number ${index}.data`, contents: new TextEncoder().encode(`file ${index}\n`) });
  }
  tree.push({ path: '/second.bin', contents: pseudoRandomBytes(3000, 4) });
  return tree;
}

describe.skipIf(missing.length > 0)('FAT driver against mtools and blkid', () => {
  let directory: string;
  const volumes = new Map<number, FatVolume>();

  beforeAll(() => {
    directory = temporaryDirectory('fat');
    const tree = testTree();
    for (const bits of [12, 16, 32] as const) volumes.set(bits, makeFatVolume(directory, bits, tree));
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  for (const bits of [12, 16, 32] as const) {
    it(`FAT${bits}: identity as blkid reports it`, async () => {
      const volume = volumes.get(bits) as FatVolume;
      const reader = memoryVolume(volume.bytes);
      expect(await fatModule.probe(reader)).toBe(true);
      expect(await ntfsModule.probe(reader)).toBe(false);
      const fs = (await fatModule.open(reader, context)) as FatFileSystem;
      const expected = blkid(volume.path);
      expect(expected.TYPE).toBe('vfat');
      expect(fs.info).toEqual({ type: 'vfat', label: expected.LABEL, uuid: expected.UUID });
      expect(fs.bootLabel).toBe(expected.LABEL_FATBOOT);
      expect(fs.geometry.fatType).toBe(`fat${bits}`);
      expect(expected.VERSION).toBe(`FAT${bits}`);
      expect(fs.info.uuid).toBe(volume.serial);
    });

    it(`FAT${bits}: every path and every file's bytes agree with mtools`, async () => {
      const volume = volumes.get(bits) as FatVolume;
      const fs = await fatModule.open(memoryVolume(volume.bytes), context);
      const ours = await walk(fs);
      const theirs = mtoolsPaths(volume.path);
      expect([...ours.keys()].sort()).toEqual([...theirs].sort());
      const extracted = join(directory, `extracted-${bits}`);
      mtoolsExtract(volume.path, extracted);
      let files = 0;
      for (const [path, node] of ours) {
        if (path.endsWith('/')) continue;
        const bytes = await fs.readFile(node, Number.MAX_SAFE_INTEGER);
        expect(Buffer.from(bytes).equals(readFileSync(join(extracted, path))), path).toBe(true);
        files += 1;
      }
      expect(files).toBeGreaterThan(120);
    });

    it(`FAT${bits}: case-insensitive lookups by long and by short name`, async () => {
      const volume = volumes.get(bits) as FatVolume;
      const fs = await fatModule.open(memoryVolume(volume.bytes), context);
      const boot = await readFileAt(fs, '/efi/boot/bootx64.efi', 1 << 20);
      expect(boot).toEqual(mtoolsRead(volume.path, '/EFI/BOOT/BOOTX64.EFI'));
      expect(await readFileAt(fs, '/a LONG file name with SPACES.TEXT', 100)).toEqual(mtoolsRead(volume.path, '/A long file name with spaces.text').subarray(0, 100));
      // The 8.3 alias mtools gave the long name: mdir prints it in its first column.
      expect(await resolvePath(fs, '/ALONGF~1.TEX')).toBeDefined();
      expect(await resolvePath(fs, '/README.TXT')).toBeDefined();
      expect(await resolvePath(fs, '/first.bin')).toBeUndefined();
      expect(await resolvePath(fs, '/EFI/./BOOT/../debian/GRUB.CFG')).toBeDefined();
      const listing = await fs.list(await fs.root(), 100);
      expect(listing.map((entry) => entry.name)).toContain('readme.txt');
      expect(listing.map((entry) => entry.name)).toContain('Ünïcødé – 名前.txt');
      expect(listing.find((entry) => entry.name === 'EFI')?.kind).toBe('directory');
      expect(await fs.list(await fs.root(), 2)).toHaveLength(2);
    });

    it(`FAT${bits}: a file read through openFile and a capped readFile`, async () => {
      const volume = volumes.get(bits) as FatVolume;
      const fs = (await fatModule.open(memoryVolume(volume.bytes), context)) as FatFileSystem;
      const node = await resolvePath(fs, '/second.bin');
      expect(node).toBeDefined();
      const expected = mtoolsRead(volume.path, '/second.bin');
      const reader = fs.openFile(node as NonNullable<typeof node>);
      expect(reader.size).toBe(3000);
      expect(await reader.read(1000, 1500, 'test')).toEqual(expected.subarray(1000, 2500));
      expect(await reader.readAvailable(2900, 500, 'test')).toEqual(expected.subarray(2900));
      expect((await rejectionOf(reader.read(2900, 500, 'test'))).code).toBe('TRUNCATED');
      expect(await fs.readFile(node as NonNullable<typeof node>, 10)).toEqual(expected.subarray(0, 10));
    });
  }

  it('reads a small share of the volume to find one file', async () => {
    const volume = volumes.get(32) as FatVolume;
    const reader = memoryVolume(volume.bytes);
    const fs = await fatModule.open(reader, context);
    expect(await readFileAt(fs, '/EFI/debian/grub.cfg', 4096)).toEqual(new TextEncoder().encode('search.fs_uuid 1234 root\n'));
    // Boot sector, a few FAT sectors, three directories of a cluster or two, one file.
    console.log(`FAT32 volume of ${volume.bytes.byteLength} bytes: ${reader.bytesRead} bytes read to open it and read /EFI/debian/grub.cfg`);
    expect(reader.bytesRead).toBeLessThan(64 * 1024);
  });
});

/** A FAT16 image, edited by hand for the hostile cases. */
describe.skipIf(missing.length > 0)('FAT driver on damaged volumes', () => {
  let directory: string;
  let pristine: FatVolume;

  beforeAll(() => {
    directory = temporaryDirectory('fat-hostile');
    pristine = makeFatVolume(directory, 16, [
      { path: '/DIR' },
      { path: '/DIR/file.txt', contents: new TextEncoder().encode('contents') },
      { path: '/Long Name Here.txt', contents: new TextEncoder().encode('long') },
      { path: '/big.bin', contents: pseudoRandomBytes(20_000, 9) },
    ], { kib: 4096, sectorsPerCluster: 1 });
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  const layout = () => fatGeometry(pristine.bytes.subarray(0, 512));

  /** The root directory's entry whose 11-byte short name is `shortName`: its offset in the image. */
  const rootEntryOffset = (bytes: Uint8Array, shortName: string): number => {
    const { rootDirectoryOffset, rootDirectoryBytes } = layout();
    for (let offset = rootDirectoryOffset; offset < rootDirectoryOffset + rootDirectoryBytes; offset += 32) {
      if (Buffer.from(bytes.subarray(offset, offset + 11)).toString('latin1') === shortName) return offset;
    }
    throw new Error(`no entry ${shortName}`);
  };

  it('the label is the root directory\'s label entry, as blkid has it; the boot sector\'s is only bootLabel', async () => {
    const bytes = pristine.bytes.slice();
    const entry = rootEntryOffset(bytes, pristine.label.padEnd(11, ' '));
    bytes[entry] = 0xe5;
    const path = join(directory, 'no-root-label.img');
    writeFileSync(path, bytes);
    const expected = blkid(path);
    const fs = (await fatModule.open(memoryVolume(bytes), context)) as FatFileSystem;
    expect(expected.LABEL).toBeUndefined();
    expect(fs.info.label).toBeUndefined();
    expect(fs.bootLabel).toBe(expected.LABEL_FATBOOT);
    expect(fs.info.uuid).toBe(expected.UUID);
  });

  it('rejects impossible boot sectors with CORRUPT', async () => {
    for (const [offset, value] of [
      [11, 0x03], // 768-byte sectors
      [13, 0x03], // 3 sectors per cluster
      [14, 0x00], // no reserved sectors
    ] as const) {
      const bytes = pristine.bytes.slice();
      bytes[offset] = value;
      if (offset === 14) bytes[15] = 0;
      expect(await fatModule.probe(memoryVolume(bytes))).toBe(false);
      expect((await rejectionOf(fatModule.open(memoryVolume(bytes), context))).code).toBe('CORRUPT');
    }
  });

  it('a directory whose cluster chain loops: CORRUPT, not a hang', async () => {
    const bytes = pristine.bytes.slice();
    const geometry = layout();
    const entry = rootEntryOffset(bytes, 'DIR        ');
    const cluster = (bytes[entry + 26] as number) | ((bytes[entry + 27] as number) << 8);
    // The directory's only cluster now points to itself, and has no end marker: free entries fill it.
    new DataView(bytes.buffer).setUint16(geometry.fatOffset + cluster * 2, cluster, true);
    const start = geometry.dataOffset + (cluster - 2) * geometry.clusterSize;
    for (let offset = start; offset < start + geometry.clusterSize; offset += 32) {
      if (bytes[offset] === 0) bytes[offset] = 0xe5;
    }
    const fs = await fatModule.open(memoryVolume(bytes), context);
    const error = await rejectionOf(resolvePath(fs, '/DIR/missing'));
    expect(error.code).toBe('CORRUPT');
    expect(error.message).toMatch(/loops/);
  });

  it('a file chain that ends early or leaves the volume: CORRUPT', async () => {
    const geometry = layout();
    const entry = rootEntryOffset(pristine.bytes, 'BIG     BIN');
    const first = (pristine.bytes[entry + 26] as number) | ((pristine.bytes[entry + 27] as number) << 8);
    const early = pristine.bytes.slice();
    new DataView(early.buffer).setUint16(geometry.fatOffset + first * 2, 0xffff, true);
    const fs = await fatModule.open(memoryVolume(early), context);
    expect((await rejectionOf(readFileAt(fs, '/big.bin', 1 << 20))).message).toMatch(/chain ends/);
    const outside = pristine.bytes.slice();
    new DataView(outside.buffer).setUint16(geometry.fatOffset + first * 2, 0xfff0, true);
    const fs2 = await fatModule.open(memoryVolume(outside), context);
    expect((await rejectionOf(readFileAt(fs2, '/big.bin', 1 << 20))).code).toBe('CORRUPT');
    const free = pristine.bytes.slice();
    new DataView(free.buffer).setUint16(geometry.fatOffset + first * 2, 0, true);
    const fs3 = await fatModule.open(memoryVolume(free), context);
    expect((await rejectionOf(readFileAt(fs3, '/big.bin', 1 << 20))).message).toMatch(/free cluster/);
  });

  it('a long name whose checksum does not match its short entry is ignored (the short name stands)', async () => {
    const bytes = pristine.bytes.slice();
    const entry = rootEntryOffset(bytes, 'LONGNA~1TXT');
    expect(bytes[entry - 32 + 13]).toBe(shortNameChecksum(bytes.subarray(entry, entry + 11)));
    const good = await fatModule.open(memoryVolume(bytes), context);
    expect((await good.list(await good.root(), 10)).map((listed) => listed.name)).toContain('Long Name Here.txt');
    bytes[entry - 32 + 13] = (bytes[entry - 32 + 13] as number) ^ 0xff;
    const fs = await fatModule.open(memoryVolume(bytes), context);
    const names = (await fs.list(await fs.root(), 10)).map((listed) => listed.name);
    expect(names).toContain('LONGNA~1.TXT');
    expect(names).not.toContain('Long Name Here.txt');
  });

  it('a truncated volume: TRUNCATED when a read reaches past its end', async () => {
    const geometry = layout();
    const bytes = pristine.bytes.subarray(0, geometry.dataOffset + 1024);
    const fs = await fatModule.open(memoryVolume(bytes), context);
    expect((await rejectionOf(readFileAt(fs, '/big.bin', 1 << 20))).code).toBe('TRUNCATED');
  });

  it(`a directory longer than ${MAX_FAT_DIRECTORY_BYTES} bytes: LIMIT_EXCEEDED`, async () => {
    const bytes = pristine.bytes.slice();
    const geometry = layout();
    const view = new DataView(bytes.buffer);
    const entry = rootEntryOffset(bytes, 'DIR        ');
    const first = view.getUint16(entry + 26, true);
    // Chain DIR's cluster through free clusters 200, 201, ... filled with free entries (no end marker).
    const clusters = MAX_FAT_DIRECTORY_BYTES / geometry.clusterSize + 8;
    expect(200 + clusters).toBeLessThan(geometry.lastCluster);
    let previous = first;
    for (let cluster = 200; cluster < 200 + clusters; cluster += 1) {
      view.setUint16(geometry.fatOffset + previous * 2, cluster, true);
      const start = geometry.dataOffset + (cluster - 2) * geometry.clusterSize;
      for (let offset = start; offset < start + geometry.clusterSize; offset += 32) bytes[offset] = 0xe5;
      previous = cluster;
    }
    view.setUint16(geometry.fatOffset + previous * 2, 0xffff, true);
    const dirStart = geometry.dataOffset + (first - 2) * geometry.clusterSize;
    for (let offset = dirStart; offset < dirStart + geometry.clusterSize; offset += 32) {
      if (bytes[offset] === 0) bytes[offset] = 0xe5;
    }
    const fs = await fatModule.open(memoryVolume(bytes), context);
    expect((await rejectionOf(resolvePath(fs, '/DIR/missing'))).code).toBe('LIMIT_EXCEEDED');
    // The entries before the cap are still found.
    expect(await resolvePath(fs, '/DIR/FILE.TXT')).toBeDefined();
  });

  it('byte mutations of the metadata end in a result or an IntrospectionError', async () => {
    const geometry = layout();
    // The boot sector, the FATs, the root directory and the first data clusters.
    const metadataEnd = geometry.dataOffset + 16 * geometry.clusterSize;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(metadataEnd - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 24 }),
        async (mutations) => {
          const bytes = pristine.bytes.slice();
          for (const [offset, value] of mutations) bytes[offset] = value;
          await resultOrIntrospectionError(async () => {
            const reader = memoryVolume(bytes);
            if (!(await fatModule.probe(reader))) return;
            const fs = await fatModule.open(reader, context);
            for (const [path, node] of await walk(fs, { maxEntries: 64, maxDepth: 8 })) {
              if (!path.endsWith('/')) await fs.readFile(node, 1 << 20);
            }
          });
        },
      ),
      { numRuns: 200, seed: 16 },
    );
  });
});

describe.skipIf(missing.length > 0)('FAT driver on a volume Windows formatted (real-world collection)', () => {
  it('node-vhd__fixed.vhd, partition 1 (FAT12 by Windows 10): identity, paths and contents agree with blkid and mtools', async (test) => {
    await withRealWorldPartition('node-vhd__fixed.vhd', (note) => test.skip(note), async (partition) => {
      const fs = await fatModule.open(memoryVolume(partition.bytes), context);
      const expected = blkid(partition.path);
      expect(fs.info).toEqual({ type: 'vfat', label: expected.LABEL, uuid: expected.UUID });
      const found = await walk(fs);
      expect([...found.keys()].sort()).toEqual(mtoolsPaths(partition.path).sort());
      expect(found.size).toBeGreaterThan(0);
      for (const [path, node] of found) {
        if (!path.endsWith('/')) expect(await fs.readFile(node, 1 << 20)).toEqual(mtoolsRead(partition.path, path));
      }
    });
  });
});
