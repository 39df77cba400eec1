/**
 * A guest-like directory tree for the ext and XFS driver tests, written to a temp dir and
 * then put into file systems by the real tools (`mkfs.ext4 -d`, an `mkfs.xfs -p`
 * prototype). The tree on disk is the first oracle: every file, link and listing the
 * drivers read must equal what is here.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { type FileSystem, type FileSystemModule, type NodeKind, readFileAt, resolvePath } from '../../filesystems/file-system.js';
import { pseudoRandomBytes, volumeOfFile } from '../helpers/volume.js';

export { pseudoRandomBytes } from '../helpers/volume.js';

/** True when a program runs (`which` succeeds). */
export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).status === 0;
}

/** Runs a program, returning stdout as bytes; throws with stderr when it fails. */
export function run(program: string, args: string[], env: Record<string, string> = {}): Uint8Array {
  const result = spawnSync(program, args, { env: { ...process.env, ...env }, maxBuffer: 512 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${program} ${args.join(' ')} failed (${result.status}): ${result.stderr?.toString()}`);
  return new Uint8Array(result.stdout.buffer, result.stdout.byteOffset, result.stdout.byteLength);
}

/** Runs a program, returning stdout as text. */
export function runText(program: string, args: string[], env: Record<string, string> = {}): string {
  return new TextDecoder().decode(run(program, args, env));
}

/** Names of the files in the large directory, /usr/bin as in a real guest (enough for an ext htree and an XFS node directory). */
export const LARGE_DIRECTORY_ENTRIES = 3000;
/**
 * A symbolic link target too long for ext's `i_block` and for an XFS inode's literal area,
 * and longer than one 1 KiB XFS v5 block holds after its header (two remote blocks).
 */
export const LONG_LINK_TARGET = `${'long-directory-name/'.repeat(49)}target`;

/** Where the interesting parts of the tree are. */
export const treePaths = {
  osRelease: '/usr/lib/os-release',
  osReleaseLink: '/etc/os-release',
  hostname: '/etc/hostname',
  fstab: '/etc/fstab',
  ls: '/usr/bin/ls',
  binLink: '/bin',
  largeDirectory: '/usr/bin',
  mediumDirectory: '/usr/share/medium',
  blockDirectory: '/usr/share/block',
  smallDirectory: '/etc/small',
  longLink: '/etc/long-link',
  deepFile: '/a/b/c/d/e/f/g/h/deep.txt',
  sparse: '/var/sparse.img',
  random: '/var/random.bin',
  unicode: '/etc/naïve-ünïcode.txt',
  empty: '/etc/empty',
  emptyDirectory: '/srv',
  inlineSized: '/etc/inline-100',
} as const;

/** Options of {@link buildGuestTree}. */
export interface TreeOptions {
  /** Where the sparse file gets 4 KiB of data (its size ends 4 KiB after the last). */
  sparseOffsets?: readonly number[];
  /** Include the directory of {@link LARGE_DIRECTORY_ENTRIES} files (true). */
  largeDirectory?: boolean;
}

/** Writes the tree under `root` (which must not exist). */
export function buildGuestTree(root: string, options: TreeOptions = {}): void {
  const { sparseOffsets = [1 << 20, 3 << 20], largeDirectory = true } = options;
  const at = (path: string): string => join(root, path);
  for (const dir of ['etc/small', 'usr/bin', 'usr/lib', 'usr/share/medium', 'usr/share/block', 'var', 'srv', 'a/b/c/d/e/f/g/h']) {
    mkdirSync(at(dir), { recursive: true });
  }
  writeFileSync(
    at('usr/lib/os-release'),
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n',
  );
  symlinkSync('../usr/lib/os-release', at('etc/os-release'));
  symlinkSync('usr/bin', at('bin'));
  writeFileSync(at('etc/hostname'), 'testguest\n');
  writeFileSync(at('etc/fstab'), 'UUID=0000 / ext4 errors=remount-ro 0 1\n/dev/sda2 none swap sw 0 0\n');
  writeFileSync(at('etc/debian_version'), '12.5\n');
  writeFileSync(at('etc/inline-100'), 'i'.repeat(99) + '\n');
  writeFileSync(at('etc/empty'), '');
  writeFileSync(at('etc/naïve-ünïcode.txt'), 'unicode\n');
  symlinkSync(LONG_LINK_TARGET, at('etc/long-link'));
  for (let index = 0; index < 5; index += 1) writeFileSync(at(`etc/small/file-${index}`), `small ${index}\n`);
  copyFileSync(existsSync('/usr/bin/ls') ? '/usr/bin/ls' : '/bin/ls', at('usr/bin/ls'));
  for (let index = 0; largeDirectory && index < LARGE_DIRECTORY_ENTRIES; index += 1) {
    writeFileSync(at(`usr/bin/entry-with-a-longish-name-${String(index).padStart(5, '0')}`), `${index}\n`);
  }
  for (let index = 0; index < 300; index += 1) writeFileSync(at(`usr/share/medium/item-${index}`), `item ${index}\n`);
  for (let index = 0; index < 30; index += 1) writeFileSync(at(`usr/share/block/entry-${index}`), `entry ${index}\n`);
  symlinkSync('../../bin/ls', at('usr/share/medium/link-to-ls'));
  writeFileSync(at('a/b/c/d/e/f/g/h/deep.txt'), 'deep\n');
  writeFileSync(at('var/random.bin'), pseudoRandomBytes(300 * 1024 + 17, 7));
  writeSparse(at('var/sparse.img'), sparseOffsets);
}

/** A file with 4 KiB of non-zero data at each offset and holes elsewhere. */
export function writeSparse(path: string, offsets: readonly number[]): void {
  const descriptor = openSync(path, 'w');
  try {
    offsets.forEach((offset, index) => writeSync(descriptor, pseudoRandomBytes(4096, 100 + index), 0, 4096, offset));
  } finally {
    closeSync(descriptor);
  }
}

/** Every path under `root` (directories, files and links), relative and starting with `/`. */
export function treeEntries(root: string, prefix = ''): string[] {
  const paths: string[] = [];
  for (const name of readdirSync(join(root, prefix)).sort()) {
    const path = `${prefix}/${name}`;
    paths.push(path);
    const stat = lstatSync(join(root, path));
    if (stat.isDirectory()) paths.push(...treeEntries(root, path));
  }
  return paths;
}

/** The link target of a path in the tree. */
export function treeLink(root: string, path: string): string {
  return readlinkSync(join(root, path));
}

/**
 * Checks a driver's view of the whole tree against the tree on disk: every path resolves
 * (links not followed) to a node of the same kind; files read back byte for byte, links
 * name the same target, directories list the same names with the same kinds. Paths in
 * `except` are left to the caller.
 */
export async function expectSameTree<Node>(fs: FileSystem<Node>, root: string, except: readonly string[] = []): Promise<number> {
  let checked = 0;
  for (const path of treeEntries(root)) {
    if (except.includes(path)) continue;
    // The large directory's listing is compared whole; resolving each of its entries from the root would make the test quadratic.
    if (path.startsWith(`${treePaths.largeDirectory}/entry-`) && !path.endsWith('0')) continue;
    const stat = lstatSync(join(root, path));
    const node = await resolvePath(fs, path, false);
    expect(node, path).toBeDefined();
    const kind = fs.kind(node as Node);
    if (stat.isSymbolicLink()) {
      expect(kind, path).toBe('symlink');
      expect(await fs.readLink(node as Node), path).toBe(readlinkSync(join(root, path)));
    } else if (stat.isDirectory()) {
      expect(kind, path).toBe('directory');
      const listed = await fs.list(node as Node, 100_000);
      const expected = readdirSync(join(root, path)).map((name) => ({ name, kind: kindOf(join(root, path, name)) }));
      const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      expect([...listed].sort(byName), path).toEqual(expected.sort(byName));
    } else {
      expect(kind, path).toBe('file');
      expect(fs.size(node as Node), path).toBe(stat.size);
      const bytes = await fs.readFile(node as Node, stat.size);
      expect(Buffer.from(bytes).equals(readFileSync(join(root, path))), `${path} content`).toBe(true);
    }
    checked += 1;
  }
  return checked;
}

function kindOf(path: string): NodeKind {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isDirectory()) return 'directory';
  return stat.isFile() ? 'file' : 'other';
}

/**
 * An `mkfs.xfs -p` prototype of the tree under `root` (mkfs.xfs copies each file from its
 * path). The format is in mkfs.xfs(8): a dummy line, two numbers, the root directory, then
 * `name mode uid gid [source]` per entry and `$` to close each directory.
 */
export function xfsPrototype(root: string): string {
  const lines = ['image-introspect-test-tree', '0 0', 'd--755 0 0'];
  const walk = (directory: string): void => {
    for (const name of readdirSync(directory).sort()) {
      const path = join(directory, name);
      const stat = lstatSync(path);
      if (/[\s:]/.test(name)) throw new Error(`mkfs.xfs prototypes cannot name ${path}`);
      if (stat.isSymbolicLink()) lines.push(`${name} l--777 0 0 ${readlinkSync(path)}`);
      else if (stat.isDirectory()) {
        lines.push(`${name} d--755 0 0`);
        walk(path);
        lines.push('$');
      } else lines.push(`${name} ---644 0 0 ${path}`);
    }
  };
  walk(root);
  lines.push('$', '');
  return lines.join('\n');
}

/**
 * The guest tree of a driver's test file: a temporary folder made before its tests (only
 * when `available`, the driver's tools being there) with the tree built in it at `tree`,
 * then `prepare` run for what else the file needs there; removed after the tests. `work`
 * is the folder, for the images the file makes.
 */
export function guestTreeWorkspace(prefix: string, available: boolean, prepare: (work: string, tree: string) => void = () => {}): { readonly work: string; readonly tree: string } {
  const workspace = { work: '', tree: '' };
  beforeAll(() => {
    if (!available) return;
    workspace.work = mkdtempSync(join(tmpdir(), `${prefix}-`));
    workspace.tree = join(workspace.work, 'tree');
    buildGuestTree(workspace.tree);
    prepare(workspace.work, workspace.tree);
  });
  afterAll(() => {
    if (workspace.work !== '') rmSync(workspace.work, { recursive: true, force: true });
  });
  return workspace;
}

/** `blkid -p`'s answer for an image (TYPE, LABEL, UUID, ...). */
export function blkid(image: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of runText('blkid', ['-p', '-o', 'export', image]).split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) values[line.slice(0, at)] = line.slice(at + 1);
  }
  return values;
}

/** Probes and opens an image file with a driver, runs `use`, closes the file. */
export async function withFileSystem<T>(module: FileSystemModule, image: string, use: (fs: FileSystem, bytesRead: () => number) => Promise<T>): Promise<T> {
  const { volume, bytesRead, close } = volumeOfFile(image);
  try {
    expect(await module.probe(volume)).toBe(true);
    const fs = await module.open(volume, { warn: () => {} });
    return await use(fs, bytesRead);
  } finally {
    close();
  }
}

/** The driver names `image`'s type, label and UUID as `blkid -p` does; `more` checks the opened file system further. */
export async function expectBlkidIdentity(module: FileSystemModule, image: string, more: (fs: FileSystem) => void = () => {}): Promise<void> {
  const expected = blkid(image);
  await withFileSystem(module, image, async (fs) => {
    expect(fs.info).toEqual({ type: expected.TYPE, label: expected.LABEL, uuid: expected.UUID });
    more(fs);
  });
}

/** The links guest inspection follows lead where they do in the tree `tree` was built from: `/etc/os-release` (relative) and `/bin/ls` (through the `/bin` link). */
export async function expectInspectionLinks(fs: FileSystem, tree: string): Promise<void> {
  const osRelease = await readFileAt(fs, treePaths.osReleaseLink, 4096);
  expect(new TextDecoder().decode(osRelease)).toBe(readFileSync(join(tree, treePaths.osRelease), 'utf8'));
  const elf = await readFileAt(fs, '/bin/ls', 64);
  expect(Buffer.from(elf as Uint8Array).equals(readFileSync(join(tree, treePaths.ls)).subarray(0, 64))).toBe(true);
}

/**
 * Reads what libguestfs's Linux inspection reads (the release files, the hostname,
 * fstab, the ELF header of /bin/ls through the /bin link) and checks that it took under
 * 5 % of the allocated bytes (the goal of the guest-inspection issue), logging the numbers.
 */
export async function expectFrugalInspection(fs: FileSystem, bytesRead: () => number, allocated: number, label: string): Promise<void> {
  for (const path of ['/etc/os-release', '/etc/debian_version', '/etc/hostname', '/etc/fstab', '/etc/lsb-release', '/etc/redhat-release']) {
    await readFileAt(fs, path, 64 * 1024);
  }
  expect((await readFileAt(fs, '/bin/ls', 64))?.subarray(0, 4)).toEqual(new Uint8Array([0x7f, 0x45, 0x4c, 0x46]));
  const read = bytesRead();
  console.log(`${label} inspection reads: ${read} bytes of ${allocated} allocated (${((100 * read) / allocated).toFixed(2)} %)`);
  expect(read).toBeLessThan(allocated * 0.05);
}
