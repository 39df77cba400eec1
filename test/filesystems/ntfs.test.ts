/**
 * The NTFS driver against ntfs-3g: volumes made by mkntfs, filled with ntfscp on the host
 * and, for what only a mounted ntfs-3g can make (directories, DOS names, reparse points,
 * hard links, sparse files), in libguestfs's appliance; read back by `ntfsls`, `ntfscat`,
 * `ntfsinfo`, `blkid`, and by ntfs-3g's own `readlink` inside the appliance.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fatModule } from '../../filesystems/fat.js';
import { type FileSystem, readFileAt, resolvePath } from '../../filesystems/file-system.js';
import { MAX_NTFS_ATTRIBUTE_LIST_BYTES, type NtfsFileSystem, type NtfsNode, ntfsModule } from '../../filesystems/ntfs.js';
import { ntfsGeometry } from '../../filesystems/shared/ntfs-boot.js';
import { decompressLznt1 } from '../../filesystems/shared/ntfs-lznt1.js';
import { RegistryHive, registryDword, registryText } from '../../guest/registry-hive.js';
import { rejectionOf } from '../helpers/errors.js';
import {
  blkid,
  compressibleText,
  hiveToolsMissing,
  makeNtfsImage,
  memoryVolume,
  ntfsCat,
  ntfsList,
  ntfsToolsMissing,
  ntfsWrite,
  pseudoRandomBytes,
  resultOrIntrospectionError,
  runText,
  temporaryDirectory,
  walk,
  withRealWorldPartition,
  type WindowsNtfsVolume,
  windowsNtfsVolume,
  windowsVolumeFiles,
  windowsVolumeLinks,
} from '../helpers/volume-windows.js';

const toolsMissing = ntfsToolsMissing();
const context = { warn: () => {} };

async function open(bytes: Uint8Array): Promise<NtfsFileSystem> {
  return (await ntfsModule.open(memoryVolume(bytes), context)) as NtfsFileSystem;
}

async function nodeAt(fs: FileSystem<NtfsNode>, path: string, followFinal = true): Promise<NtfsNode> {
  const node = await resolvePath(fs, path, followFinal);
  expect(node, path).toBeDefined();
  return node as NtfsNode;
}

describe('LZNT1', () => {
  it('decodes a hand-made chunk: three literals, then a back reference that overlaps its output', () => {
    // Flags 0x08: tokens 1-3 literal, token 4 a reference. At position 3 the split is 4 bits
    // of offset and 12 of length: distance 3 -> 2 << 12, length 9 -> 9 - 3 = 6.
    const chunk = new Uint8Array([0x05, 0xb0, 0x08, 0x61, 0x62, 0x63, 0x06, 0x20]);
    const output = decompressLznt1(chunk, 4096, 'test');
    expect(new TextDecoder().decode(output.subarray(0, 12))).toBe('abcabcabcabc');
    expect(output.subarray(12).every((byte) => byte === 0)).toBe(true);
  });

  it('a stored chunk, and the end marker', () => {
    const stored = new Uint8Array(2 + 4096 + 2);
    stored[0] = 0xff;
    stored[1] = 0x3f; // 0x3FFF: 4096 bytes, not compressed
    stored.fill(0x5a, 2, 4098);
    const output = decompressLznt1(stored, 8192, 'test');
    expect(output.subarray(0, 4096).every((byte) => byte === 0x5a)).toBe(true);
    expect(output.subarray(4096).every((byte) => byte === 0)).toBe(true);
  });

  it('a back reference before the start of the chunk, or a chunk past the data: CORRUPT', () => {
    expect(() => decompressLznt1(new Uint8Array([0x02, 0xb0, 0x01, 0x00, 0x10]), 4096, 'test')).toThrow(/back reference/);
    expect(() => decompressLznt1(new Uint8Array([0x10, 0xb0, 0x00, 0x61]), 4096, 'test')).toThrow(/runs past/);
  });
});

describe.skipIf(toolsMissing !== undefined)('NTFS driver on a volume ntfscp fragmented', () => {
  let directory: string;
  let image: string;
  let bytes: Uint8Array;
  const written = new Map<string, Uint8Array>();

  beforeAll(() => {
    directory = temporaryDirectory('ntfs-frag');
    image = join(directory, 'fragmented.img');
    // Fill all but a few clusters with one file, then add files: the MFT has to grow into
    // clusters away from its first run.
    const fresh = () => makeNtfsImage(image, { megabytes: 8, label: 'Fragmented' });
    let low = 0;
    let high = 2048;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      fresh();
      try {
        ntfsWrite(image, '/filler.bin', new Uint8Array(middle * 4096), directory);
        low = middle;
      } catch {
        high = middle - 1;
      }
    }
    fresh();
    const filler = pseudoRandomBytes((low - 24) * 4096, 31);
    ntfsWrite(image, '/filler.bin', filler, directory);
    written.set('/filler.bin', filler);
    for (let index = 0; index < 40; index += 1) {
      const contents = compressibleText(3000 + index, index);
      try {
        ntfsWrite(image, `/late file ${index}.txt`, contents, directory);
      } catch {
        break;
      }
      written.set(`/late file ${index}.txt`, contents);
    }
    bytes = new Uint8Array(readFileSync(image));
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('the MFT is in more than one run (ntfsinfo), and every file reads as ntfscat reads it', async () => {
    const mft = runText('ntfsinfo', ['-v', '-i', '0', image]);
    const runs = mft.slice(mft.indexOf('Runlist'), mft.indexOf('Dumping attribute $BITMAP')).trim().split('\n').length - 1;
    expect(runs).toBeGreaterThan(1);
    const fs = await open(bytes);
    const found = await walk(fs);
    // The copy that ran out of space may have left its (empty) file behind: ntfsls is the reference.
    expect([...found.keys()].sort()).toEqual(ntfsList(image, '/').map((name) => `/${name}`).sort());
    expect(written.size).toBeGreaterThan(10);
    for (const [path, node] of found) {
      const ours = await fs.readFile(node, Number.MAX_SAFE_INTEGER);
      expect(Buffer.from(ours).equals(Buffer.from(ntfsCat(image, path))), path).toBe(true);
      const expected = written.get(path);
      if (expected !== undefined) expect(Buffer.from(ours).equals(Buffer.from(expected)), path).toBe(true);
    }
  });

  it('identity as blkid reports it', async () => {
    const fs = await open(bytes);
    const expected = blkid(image);
    expect(fs.info).toEqual({ type: 'ntfs', label: expected.LABEL, uuid: expected.UUID });
    expect(await ntfsModule.probe(memoryVolume(bytes))).toBe(true);
    expect(await fatModule.probe(memoryVolume(bytes))).toBe(false);
  });

  describe('damaged volumes', () => {
    const geometry = () => ntfsGeometry(bytes.subarray(0, 512));
    /** Byte offset of MFT record `record` (the records the tests touch are in the MFT's first run). */
    const recordOffset = (record: number) => geometry().mftCluster * geometry().clusterSize + record * geometry().recordSize;
    const rootRecord = 5;

    it('impossible boot sectors are not NTFS, and open says CORRUPT', async () => {
      for (const [offset, value] of [
        [11, 0x03], // 768-byte sectors
        [13, 0x03], // 3 sectors per cluster
        [64, 0x00], // no MFT record size
        [510, 0x00], // no 55 AA
      ] as const) {
        const damaged = bytes.slice();
        damaged[offset] = value;
        expect(await ntfsModule.probe(memoryVolume(damaged))).toBe(false);
        expect((await rejectionOf(ntfsModule.open(memoryVolume(damaged), context))).code).toBe('CORRUPT');
      }
    });

    it('a torn MFT record (update sequence mismatch): CORRUPT', async () => {
      const damaged = bytes.slice();
      // The last two bytes of the root record's first 512-byte stride.
      damaged[recordOffset(rootRecord) + 510] = (damaged[recordOffset(rootRecord) + 510] as number) ^ 0xff;
      const error = await rejectionOf(open(damaged).then((fs) => fs.root()));
      expect(error.code).toBe('CORRUPT');
      expect(error.message).toMatch(/torn/);
    });

    it('a data run past the end of the volume: CORRUPT', async () => {
      const fs = await open(bytes);
      const node = await nodeAt(fs, '/filler.bin');
      const damaged = bytes.slice();
      const record = recordOffset(node.record);
      // Find the $DATA attribute (type 0x80) and make its first run's LCN huge.
      const view = new DataView(damaged.buffer);
      let attribute = record + view.getUint16(record + 20, true);
      while (view.getUint32(attribute, true) !== 0x80) attribute += view.getUint32(attribute + 4, true);
      const runs = attribute + view.getUint16(attribute + 32, true);
      const header = damaged[runs] as number;
      const lengthBytes = header & 0x0f;
      const offsetBytes = header >> 4;
      for (let index = 0; index < offsetBytes; index += 1) damaged[runs + 1 + lengthBytes + index] = index === offsetBytes - 1 ? 0x7f : 0xff;
      const error = await rejectionOf(open(damaged).then((damagedFs) => readFileAt(damagedFs, '/filler.bin', 4096)));
      expect(error.code).toBe('CORRUPT');
    });

    /** The root directory's index block, with its update sequence undone for editing, and a function writing it back. */
    const rootIndexBlock = (image: Uint8Array) => {
      const needle = Buffer.from('late file', 'utf16le');
      for (let offset = 0; offset + 4096 <= image.byteLength; offset += 4096) {
        if (Buffer.from(image.subarray(offset, offset + 4)).toString('latin1') !== 'INDX') continue;
        const block = image.slice(offset, offset + 4096);
        if (Buffer.from(block).indexOf(needle) === -1) continue;
        const view = new DataView(block.buffer);
        const arrayOffset = view.getUint16(4, true);
        const count = view.getUint16(6, true);
        const sequence = view.getUint16(arrayOffset, true);
        for (let stride = 1; stride < count; stride += 1) view.setUint16(stride * 512 - 2, view.getUint16(arrayOffset + stride * 2, true), true);
        const save = () => {
          for (let stride = 1; stride < count; stride += 1) {
            view.setUint16(arrayOffset + stride * 2, view.getUint16(stride * 512 - 2, true), true);
            view.setUint16(stride * 512 - 2, sequence, true);
          }
          image.set(block, offset);
        };
        return { block, view, save };
      }
      throw new Error('no index block of the root directory');
    };
    /** Entries of a fixed-up index block: offset, length, flags. */
    const blockEntries = (view: DataView) => {
      const entries: Array<{ offset: number; length: number; flags: number }> = [];
      let offset = 24 + view.getUint32(24, true);
      while (true) {
        const entry = { offset, length: view.getUint16(offset + 8, true), flags: view.getUint16(offset + 12, true) };
        entries.push(entry);
        if (entry.flags & 2) return entries;
        offset += entry.length;
      }
    };

    it('an index block that is its own child: CORRUPT for a lookup and for a listing, not a hang', async () => {
      const damaged = bytes.slice();
      const { view, save } = rootIndexBlock(damaged);
      const vcn = Number(view.getBigUint64(16, true));
      const last = blockEntries(view).at(-1) as { offset: number; length: number; flags: number };
      expect(last.length).toBe(16);
      // The last entry gains a child pointer (to this very block); the node now has children.
      view.setUint16(last.offset + 8, 24, true);
      view.setUint16(last.offset + 12, last.flags | 1, true);
      view.setBigUint64(last.offset + 16, BigInt(vcn), true);
      view.setUint32(24 + 4, view.getUint32(24 + 4, true) + 8, true);
      view.setUint8(24 + 12, 1);
      save();
      const fs = await open(damaged);
      expect((await rejectionOf(resolvePath(fs, '/zzz'))).message).toMatch(/own descendant/);
      expect((await rejectionOf(fs.list(await fs.root(), 1000))).message).toMatch(/reached twice/);
    });

    it("a directory entry whose sequence number is not the record's (a stale entry): CORRUPT", async () => {
      const damaged = bytes.slice();
      const { view, save } = rootIndexBlock(damaged);
      const first = blockEntries(view)[0] as { offset: number };
      const name = Buffer.from(new Uint8Array(view.buffer, first.offset + 16 + 66, view.getUint8(first.offset + 16 + 64) * 2)).toString('utf16le');
      view.setUint16(first.offset + 6, view.getUint16(first.offset + 6, true) + 1, true);
      save();
      const fs = await open(damaged);
      expect((await rejectionOf(resolvePath(fs, `/${name}`))).message).toMatch(/stale/);
    });

    it('an encrypted file: UNSUPPORTED', async () => {
      const fs = await open(bytes);
      const node = await nodeAt(fs, '/filler.bin');
      const damaged = bytes.slice();
      const view = new DataView(damaged.buffer);
      const record = recordOffset(node.record);
      let attribute = record + view.getUint16(record + 20, true);
      while (view.getUint32(attribute, true) !== 0x80) attribute += view.getUint32(attribute + 4, true);
      view.setUint16(attribute + 12, view.getUint16(attribute + 12, true) | 0x4000, true);
      const error = await rejectionOf(open(damaged).then((damagedFs) => readFileAt(damagedFs, '/filler.bin', 10)));
      expect(error.code).toBe('UNSUPPORTED');
      expect(error.message).toMatch(/encrypted/);
    });

    it('byte mutations of the boot sector and MFT end in a result or an IntrospectionError', async () => {
      const start = recordOffset(0);
      const end = recordOffset(64);
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 511 }), fc.integer({ min: start, max: end - 1 })), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 }),
          async (mutations) => {
            const damaged = bytes.slice();
            for (const [offset, value] of mutations) damaged[offset] = value;
            await resultOrIntrospectionError(async () => {
              const reader = memoryVolume(damaged);
              if (!(await ntfsModule.probe(reader))) return;
              const fs = await ntfsModule.open(reader, context);
              for (const [path, node] of await walk(fs as FileSystem<NtfsNode>, { maxEntries: 64, maxDepth: 6 })) {
                if (!path.endsWith('/') && fs.kind(node) === 'file') await fs.readFile(node, 1 << 20);
              }
            });
          },
        ),
        { numRuns: 150, seed: 5 },
      );
    });
  });
});

describe.skipIf(toolsMissing !== undefined || hiveToolsMissing() !== undefined)('NTFS driver on a Windows-like volume (libguestfs appliance)', () => {
  let volume: WindowsNtfsVolume | undefined;
  let unavailable = '';
  let bytes: Uint8Array;

  beforeAll(() => {
    try {
      volume = windowsNtfsVolume();
      bytes = new Uint8Array(readFileSync(volume.path));
    } catch (error) {
      unavailable = `the libguestfs appliance could not build the volume: ${String(error).slice(0, 300)}`;
    }
  }, 900_000);

  const skipUnlessBuilt = (context: { skip: (note?: string) => void }) => {
    if (volume === undefined) context.skip(unavailable);
  };

  it('identity as blkid reports it; NTFS 3.1', async (test) => {
    skipUnlessBuilt(test);
    const fs = await open(bytes);
    const expected = blkid((volume as WindowsNtfsVolume).path);
    expect(fs.info).toEqual({ type: 'ntfs', label: 'Windows', uuid: expected.UUID });
    expect(expected.LABEL).toBe('Windows');
    expect(fs.version).toBe('3.1');
  });

  it('every directory lists what ntfsls lists; list and lookup agree on kinds', async (test) => {
    skipUnlessBuilt(test);
    const fs = await open(bytes);
    const image = (volume as WindowsNtfsVolume).path;
    const found = await walk(fs);
    const directories = ['/', ...[...found.keys()].filter((path) => path.endsWith('/'))];
    for (const directory of directories) {
      const node = directory === '/' ? await fs.root() : (found.get(directory) as NtfsNode);
      const listed = await fs.list(node, 10_000);
      expect(listed.map((entry) => entry.name).sort(), directory).toEqual(ntfsList(image, directory).sort());
      for (const entry of listed) expect(fs.kind((await fs.lookup(node, entry.name)) as NtfsNode), `${directory}${entry.name}`).toBe(entry.kind);
    }
    expect(directories).toContain('/Many/');
    expect((await fs.list(await nodeAt(fs, '/Many'), 10_000)).length).toBe(600);
  });

  it('file contents agree with ntfscat: plain, compressed (LZNT1), sparse, resident, hives', async (test) => {
    skipUnlessBuilt(test);
    const fs = await open(bytes);
    const image = (volume as WindowsNtfsVolume).path;
    const paths = [
      ...windowsVolumeFiles()
        .map((file) => file.path)
        .filter((path) => !path.startsWith('/Many/') || path.endsWith('-1.txt') || path.endsWith('-600.txt')),
      '/Windows/System32/config/SOFTWARE',
      '/Windows/System32/config/SYSTEM',
      '/sparse.bin',
      '/Links/target.bin',
      '/Links/a-hard-link-with-a-rather-long-name-17.bin',
    ];
    for (const path of paths) {
      const node = await nodeAt(fs, path);
      expect(fs.kind(node), path).toBe('file');
      const ours = await fs.readFile(node, Number.MAX_SAFE_INTEGER);
      expect(ours.byteLength, path).toBe(fs.size(node));
      expect(Buffer.from(ours).equals(Buffer.from(ntfsCat(image, path))), path).toBe(true);
    }
    // The files under /Compressed really are compressed, and sparse.bin really is sparse.
    expect(runText('ntfsinfo', ['-F', '/Compressed/text.txt', image])).toMatch(/Attribute flags:\s+0x0001/);
    expect(runText('ntfsinfo', ['-v', '-F', '/sparse.bin', image])).toMatch(/<HOLE>/);
  });

  it('hard links beyond one record: the names sit behind an $ATTRIBUTE_LIST', async (test) => {
    skipUnlessBuilt(test);
    const image = (volume as WindowsNtfsVolume).path;
    expect(runText('ntfsinfo', ['-F', '/Links/target.bin', image])).toMatch(/\$ATTRIBUTE_LIST/);
    const fs = await open(bytes);
    const target = await nodeAt(fs, '/Links/target.bin');
    for (let index = 1; index <= 30; index += 1) expect((await nodeAt(fs, `/links/A-HARD-LINK-WITH-A-RATHER-LONG-NAME-${index}.BIN`)).record).toBe(target.record);
    expect(MAX_NTFS_ATTRIBUTE_LIST_BYTES).toBeGreaterThanOrEqual(256 * 1024);
  });

  it('names: case-insensitive lookups through $UpCase, DOS aliases found but not listed, Unicode', async (test) => {
    skipUnlessBuilt(test);
    const fs = await open(bytes);
    expect((await nodeAt(fs, '/PROGRA~1/common files/README.TXT')).kind).toBe('file');
    expect((await nodeAt(fs, '/program files')).record).toBe((await nodeAt(fs, '/PROGRA~1')).record);
    const root = await fs.list(await fs.root(), 1000);
    expect(root.map((entry) => entry.name)).toContain('Program Files');
    expect(root.map((entry) => entry.name)).not.toContain('PROGRA~1');
    expect(root.map((entry) => entry.name)).not.toContain('$MFT');
    expect(await resolvePath(fs, '/$MFT')).toBeDefined();
    expect(await readFileAt(fs, '/ÜNÏCØDÉ – 名前.TXT', 100)).toEqual(new TextEncoder().encode('unicode name\n'));
    expect(await resolvePath(fs, '/Many/FILE-NUMBER-377.TXT')).toBeDefined();
    expect(await resolvePath(fs, '/Many/file-number-601.txt')).toBeUndefined();
  });

  it('links: junction, relative and absolute symbolic links, Interix links; the UNC link is refused', async (test) => {
    skipUnlessBuilt(test);
    const fs = await open(bytes);
    const links = (volume as WindowsNtfsVolume).ntfs3gLinks;
    const target = async (name: string) => fs.readLink(await nodeAt(fs, `/${name}`, false));
    // Absolute targets (\??\C:\...) are this volume's root; ntfs-3g answers with the same path under its mount point.
    expect(await target('Documents and Settings')).toBe('/Users');
    expect(await target('abs-dirlink')).toBe('/Windows/System32/config');
    expect(links['Documents and Settings']).toBe('/sysroot/Users');
    expect(links['abs-dirlink']).toBe('/sysroot/Windows/System32/config');
    // ntfs-3g's own `ln -s` (an Interix link): as ntfs-3g reads it.
    expect(await target('sys32link')).toBe(links.sys32link);
    // ntfs-3g does not follow symbolic-link reparse points on files (it says "unsupported reparse tag"), so the
    // reference is the target written into the reparse data (by the same builder as abs-dirlink's), \ turned into /.
    expect(links['rel-symlink']).toMatch(/unsupported reparse tag/);
    expect(await target('rel-symlink')).toBe(windowsVolumeLinks['rel-symlink'].ntTarget.replaceAll('\\', '/'));
    expect((await rejectionOf(target('unc-link'))).code).toBe('UNSUPPORTED');
    for (const name of ['rel-symlink', 'sys32link', 'Documents and Settings', 'abs-dirlink', 'unc-link']) expect(fs.kind(await nodeAt(fs, `/${name}`, false)), name).toBe('symlink');
    // Followed by the shared path walker.
    const cmd = await readFileAt(fs, '/Windows/System32/cmd.exe', 1 << 20);
    expect(Buffer.from((await readFileAt(fs, '/rel-symlink', 1 << 20)) as Uint8Array).equals(Buffer.from(cmd as Uint8Array))).toBe(true);
    expect(Buffer.from((await readFileAt(fs, '/sys32link/cmd.exe', 1 << 20)) as Uint8Array).equals(Buffer.from(cmd as Uint8Array))).toBe(true);
    // A Windows Overlay Filter (CompactOS) file is refused, not read as its empty unnamed stream.
    const wof = await nodeAt(fs, '/wof.bin');
    expect(fs.kind(wof)).toBe('file');
    expect((await rejectionOf(fs.readFile(wof, 100))).code).toBe('UNSUPPORTED');
    expect(await readFileAt(fs, '/Documents and Settings/Public/desktop.ini', 100)).toEqual(new TextEncoder().encode('[.ShellClassInfo]\r\n'));
    expect(await readFileAt(fs, '/abs-dirlink/SYSTEM', 4)).toEqual(new TextEncoder().encode('regf'));
  });

  it('the SOFTWARE and SYSTEM hives read through openFile, a few cells at a time', async (test) => {
    skipUnlessBuilt(test);
    const reader = memoryVolume(bytes);
    const fs = (await ntfsModule.open(reader, context)) as NtfsFileSystem;
    const software = await nodeAt(fs, '/Windows/System32/config/SOFTWARE');
    const hive = await RegistryHive.open(fs.openFile(software));
    const currentVersion = await hive.openKey('Microsoft\\Windows NT\\CurrentVersion');
    expect(currentVersion).toBeDefined();
    const key = currentVersion as NonNullable<typeof currentVersion>;
    const value = async (name: string) => (await hive.value(key, name)) as NonNullable<Awaited<ReturnType<typeof hive.value>>>;
    expect(registryText(await value('ProductName'))).toBe('Windows Server 2022 Datacenter');
    expect(registryDword(await value('CurrentMajorVersionNumber'))).toBe(10);
    expect(registryText(await value('InstallationType'))).toBe('Server');
    const system = await RegistryHive.open(fs.openFile(await nodeAt(fs, '/windows/system32/CONFIG/system')));
    const computerName = (await system.openKey('ControlSet001\\Control\\ComputerName\\ComputerName')) as NonNullable<Awaited<ReturnType<typeof system.openKey>>>;
    expect(registryText((await system.value(computerName, 'ComputerName')) as NonNullable<Awaited<ReturnType<typeof system.value>>>)).toBe('WIN-INSPECTED');
    const softwareSize = fs.size(software);
    console.log(`NTFS volume of ${bytes.byteLength} bytes, SOFTWARE hive of ${softwareSize} bytes: ${reader.bytesRead} bytes read to open the volume, find both hives and read three values and a computer name`);
    expect(reader.bytesRead).toBeLessThan(softwareSize);
  });
});

describe.skipIf(toolsMissing !== undefined)('NTFS driver on a volume Windows formatted (real-world collection)', () => {
  it('dissect__fixed.vhd, partition 1 (NTFS by Windows 10): identity and listing agree with blkid and ntfsls; the metadata files read as ntfscat reads them', async (test) => {
    await withRealWorldPartition('dissect__fixed.vhd', (note) => test.skip(note), async (partition) => {
      const fs = await open(partition.bytes);
      const expected = blkid(partition.path);
      expect(fs.info).toEqual({ type: 'ntfs', label: expected.LABEL, uuid: expected.UUID });
      expect((await fs.list(await fs.root(), 1000)).map((entry) => entry.name).sort()).toEqual(ntfsList(partition.path, '/').sort());
      // Windows' own metadata files are hidden from listings but found by name. ($MFT and $MFTMirr are left out:
      // ntfscat hands them out with the update sequences applied, not as stored.)
      for (const name of ['$UpCase', '$AttrDef', '$Boot', '$Volume']) {
        const node = await nodeAt(fs, `/${name.toLowerCase()}`);
        if (fs.kind(node) !== 'file') continue;
        expect(Buffer.from(await fs.readFile(node, 1 << 20)).equals(Buffer.from(ntfsCat(partition.path, `/${name}`))), name).toBe(true);
      }
      expect(fs.version).toBe('3.1');
    });
  });
});
