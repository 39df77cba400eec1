/**
 * Test volumes for the FAT and NTFS drivers and the registry-hive reader, built at test
 * time with the real tools (mkfs.fat and mtools, mkntfs and ntfs-3g's tools, libguestfs,
 * Samba's and hivex's registry writers), and small helpers shared by their tests.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect } from 'vitest';
import type { FileSystem } from '../../filesystems/file-system.js';
import { isIntrospectionError } from '../../src/errors.js';
import { realWorldMissing, realWorldRoot } from './fixtures.js';
import { randomAccessReader } from './readers.js';
import { pseudoRandomBytes } from './volume.js';
import type { ByteReader } from '../../src/format-module.js';
import { concat } from '../../src/reading/tail-window.js';

export { pseudoRandomBytes } from './volume.js';

/** True when `command` runs (found on PATH). */
export function hasTool(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** The tools of `commands` that are missing, for a skip message. */
export function missingTools(...commands: string[]): string[] {
  return commands.filter((command) => !hasTool(command));
}

/** Runs a command and returns its standard output as bytes; throws with its standard error on failure. */
export function run(command: string, args: readonly string[], options: { input?: string | Uint8Array; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Uint8Array {
  const result = spawnSync(command, args, {
    input: options.input,
    env: { ...process.env, LC_ALL: 'C.UTF-8', ...options.env },
    cwd: options.cwd,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr?.toString()}`);
  }
  return new Uint8Array(result.stdout.buffer, result.stdout.byteOffset, result.stdout.byteLength);
}

/** Standard output of a command as UTF-8 text. */
export function runText(command: string, args: readonly string[], options: { input?: string | Uint8Array; env?: NodeJS.ProcessEnv } = {}): string {
  return new TextDecoder().decode(run(command, args, options));
}

/** A fresh temporary directory. */
export function temporaryDirectory(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `image-introspect-${prefix}-`));
}

/** A random-access reader over a volume's bytes in memory, counting the bytes read (each byte once). */
export interface MemoryVolume extends ByteReader {
  readonly size: number;
  readonly bytesRead: number;
}

/** The library's reader over bytes in memory, in any order (file systems are walked), with its size known. */
export function memoryVolume(bytes: Uint8Array): MemoryVolume {
  return randomAccessReader(bytes, 256 * 1024 * 1024, false) as MemoryVolume;
}

/** `blkid -p -o export`'s fields for an image file. */
export function blkid(path: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of runText('blkid', ['-p', '-o', 'export', path]).split('\n')) {
    const equals = line.indexOf('=');
    // Values are shell-escaped (a backslash before spaces and other special characters).
    if (equals > 0) fields[line.slice(0, equals)] = line.slice(equals + 1).replace(/\\(.)/g, '$1');
  }
  return fields;
}

/** Every path under `/` of a file system (directories end in `/`), depth first, as the drivers list them. */
export async function walk<Node>(fs: FileSystem<Node>, options: { maxEntries?: number; maxDepth?: number } = {}): Promise<Map<string, Node>> {
  const maxEntries = options.maxEntries ?? 100_000;
  const maxDepth = options.maxDepth ?? 32;
  const found = new Map<string, Node>();
  const visit = async (directory: Node, path: string, depth: number): Promise<void> => {
    if (depth > maxDepth) return;
    for (const entry of await fs.list(directory, maxEntries)) {
      if (found.size >= maxEntries) return;
      const node = await fs.lookup(directory, entry.name);
      expect(node, `lookup of ${path}${entry.name}`).toBeDefined();
      const isDirectory = fs.kind(node as Node) === 'directory';
      const child = `${path}${entry.name}${isDirectory ? '/' : ''}`;
      found.set(child, node as Node);
      if (isDirectory) await visit(node as Node, child, depth + 1);
    }
  };
  await visit(await fs.root(), '/', 0);
  return found;
}

/**
 * Runs `attempt` and returns its value, or the IntrospectionError it threw; anything else
 * thrown fails the test (the property every hostile input must keep).
 */
export async function resultOrIntrospectionError<T>(attempt: () => Promise<T>): Promise<{ value?: T; error?: unknown }> {
  try {
    return { value: await attempt() };
  } catch (error) {
    expect(isIntrospectionError(error), `not an IntrospectionError: ${String(error)} ${(error as Error)?.stack ?? ''}`).toBe(true);
    return { error };
  }
}

/** Text that compresses well but not trivially (for NTFS compression and LFN-heavy directories). */
export function compressibleText(length: number, seed: number): Uint8Array {
  const words = ['registry', 'volume', 'cluster', 'Windows', 'System32', 'kernel', 'boot', 'index', 'record', 'attribute'];
  const random = pseudoRandomBytes(length, seed);
  let text = '';
  for (let index = 0; text.length < length; index += 1) text += `${words[(random[index % length] as number) % words.length]} ${index % 977}\n`;
  return new TextEncoder().encode(text.slice(0, length));
}

// ---------------------------------------------------------------------------------------
// FAT volumes: mkfs.fat and mtools.

/** One step in filling a test volume: a directory, a file, or the removal of an earlier file. */
export interface TreeEntry {
  path: string;
  /** File contents; `undefined` for a directory. */
  contents?: Uint8Array;
  /** Remove the file at `path` instead (it frees clusters that later files fill: they fragment). */
  remove?: boolean;
}

/** What the FAT tests build: the image file and what went into it. */
export interface FatVolume {
  path: string;
  bytes: Uint8Array;
  label: string;
  serial: string;
}

/**
 * Makes a FAT volume of `fatBits` (12, 16 or 32) with mkfs.fat and fills it with mtools
 * (`mmd`, `mcopy`, `mdel`), as a user would, step by step in the order of `tree`.
 */
export function makeFatVolume(directory: string, fatBits: 12 | 16 | 32, tree: readonly TreeEntry[], options: { kib?: number; sectorsPerCluster?: number } = {}): FatVolume {
  const path = join(directory, `fat${fatBits}.img`);
  const kib = options.kib ?? (fatBits === 12 ? 4096 : fatBits === 16 ? 32768 : 65536);
  const sectorsPerCluster = options.sectorsPerCluster ?? (fatBits === 32 ? 1 : undefined);
  const label = `TEST FAT${fatBits}`;
  const serial = fatBits === 12 ? '12ab34cd' : fatBits === 16 ? '0000beef' : 'f00dcafe';
  rmSync(path, { force: true });
  run('mkfs.fat', ['-C', '-F', String(fatBits), '-n', label, '-i', serial, ...(sectorsPerCluster === undefined ? [] : ['-s', String(sectorsPerCluster)]), path, String(kib)]);
  const staging = join(directory, `staging-${fatBits}`);
  mkdirSync(staging, { recursive: true });
  let fileNumber = 0;
  for (const entry of tree) {
    if (entry.remove === true) {
      run('mdel', ['-i', path, `::${entry.path}`]);
    } else if (entry.contents === undefined) {
      run('mmd', ['-i', path, `::${entry.path}`]);
    } else {
      const source = join(staging, `file${fileNumber++}`);
      writeFileSync(source, entry.contents);
      run('mcopy', ['-i', path, source, `::${entry.path}`]);
    }
  }
  const bytes = new Uint8Array(readFileSync(path));
  return { path, bytes, label, serial: `${serial.slice(0, 4)}-${serial.slice(4)}`.toUpperCase() };
}

/** `mdir -/ -a -b`: every path on a FAT volume as mtools sees it, hidden ones too (directories end in `/`). */
export function mtoolsPaths(image: string): string[] {
  return runText('mdir', ['-/', '-a', '-b', '-i', image, '::/'])
    .split('\n')
    .filter((line) => line.startsWith('::/'))
    .map((line) => line.slice(2));
}

/** A file's bytes as mtools reads them (`mcopy` to standard output, no conversion). */
export function mtoolsRead(image: string, path: string): Uint8Array {
  return run('mcopy', ['-n', '-i', image, `::${path}`, '-']);
}

/** Copies every file of a FAT volume into `destination` with `mcopy -s` (one process for the whole tree). */
export function mtoolsExtract(image: string, destination: string): void {
  mkdirSync(destination, { recursive: true });
  run('mcopy', ['-s', '-n', '-i', image, '::/', destination]);
}

// ---------------------------------------------------------------------------------------
// Cached builds (the libguestfs appliance takes a minute or two to boot under TCG).

/**
 * A directory of files made by `build(directory)`, cached under the system's temporary
 * directory by `key` (a hash of everything the build depends on), so that a slow build runs
 * once per machine rather than once per test run.
 */
export function cachedBuild(name: string, key: string, build: (directory: string) => void): string {
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  const cacheDirectory = join(tmpdir(), 'image-introspect-test-cache');
  mkdirSync(cacheDirectory, { recursive: true });
  const path = join(cacheDirectory, `${name}-${hash}`);
  if (existsSync(path)) return path;
  const partial = `${path}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial);
  try {
    build(partial);
    // Another test process may have built it meanwhile (test files run in parallel): keep theirs.
    try {
      renameSync(partial, path);
    } catch (error) {
      if (!existsSync(path)) throw error;
    }
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  return path;
}

// ---------------------------------------------------------------------------------------
// Registry hives: Samba creates an empty one, hivex merges .reg text into it.

/** Where Samba's registry library is (Debian's `registry-tools` / `samba-libs`), if installed. */
export function sambaRegistryLibrary(): string | undefined {
  const result = spawnSync('sh', ['-c', 'ls /usr/lib/*/samba/libregistry-samba4.so.0 2>/dev/null | head -1']);
  const path = result.stdout.toString().trim();
  return path === '' ? undefined : path;
}

/** Why hives cannot be made here, or undefined when they can. */
export function hiveToolsMissing(): string | undefined {
  const missing = missingTools('python3', 'hivexregedit', 'hivexsh', 'hivexget');
  if (sambaRegistryLibrary() === undefined) missing.push("Samba's libregistry-samba4 (package registry-tools)");
  return missing.length === 0 ? undefined : `missing: ${missing.join(', ')}`;
}

/**
 * An empty hive made by Samba's registry library (`reg_create_regf_file`, what Samba's own
 * tests use), called through Python's ctypes: neither hivex nor any Debian tool creates a
 * hive from nothing. Samba 4.17 writes the base block's hive-bins size counted from the
 * start of the file (8192 for one 4096-byte bin); Windows and hivex count from the first bin,
 * and hivex would append its new bins after a gap. That one field is corrected (and the
 * checksum recomputed) before hivex writes into the hive.
 */
export function makeEmptyHive(path: string): void {
  const library = sambaRegistryLibrary();
  if (library === undefined) throw new Error('no libregistry-samba4');
  const script = `
import ctypes, struct, sys
library = ctypes.CDLL(sys.argv[1])
library.reg_create_regf_file.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p)]
library.reg_create_regf_file.restype = ctypes.c_uint32
key = ctypes.c_void_p()
status = library.reg_create_regf_file(None, sys.argv[2].encode(), 5, ctypes.byref(key))
if status != 0: sys.exit('reg_create_regf_file: WERROR 0x%x' % status)
library.hive_key_flush.argtypes = [ctypes.c_void_p]
library.hive_key_flush(key)
`;
  run('python3', ['-c', script, library, path]);
  const bytes = new Uint8Array(readFileSync(path));
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(40, bytes.byteLength - 4096, true);
  writeFileSync(path, withHiveChecksum(bytes));
}

/** Recomputes a hive's base-block checksum (the XOR of its first 127 32-bit words) in place, after a test edits it. */
export function withHiveChecksum(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let checksum = 0;
  for (let offset = 0; offset < 508; offset += 4) checksum ^= view.getUint32(offset, true);
  view.setUint32(508, checksum >>> 0, true);
  return bytes;
}

/** Merges `.reg` text (Windows Registry Editor Version 5.00 format) into a hive with `hivexregedit --merge`. */
export function mergeIntoHive(hive: string, regText: string): void {
  const regFile = `${hive}.merge.reg`;
  writeFileSync(regFile, regText);
  run('hivexregedit', ['--merge', hive, regFile]);
  rmSync(regFile, { force: true });
}

/** A new hive holding `regText`: an empty Samba hive with the text merged in by hivex. */
export function makeHive(path: string, regText: string): Uint8Array {
  makeEmptyHive(path);
  mergeIntoHive(path, regText);
  return new Uint8Array(readFileSync(path));
}

/** One `.reg` key section: its path and values (already in .reg syntax: `"name"=...` or `@=...`). */
export function regSection(path: string, values: readonly string[] = []): string {
  return `[${path}]\n${values.map((value) => `${value}\n`).join('')}\n`;
}

/** `hex(N):` data in .reg syntax for raw bytes of type N. */
export function regHex(type: number | undefined, bytes: Uint8Array): string {
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(',');
  return type === undefined ? `hex:${hex}` : `hex(${type.toString(16)}):${hex}`;
}

/** UTF-16LE bytes of a string (for REG_SZ and REG_MULTI_SZ data written as hex). */
export function utf16le(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length * 2);
  for (let index = 0; index < text.length; index += 1) {
    bytes[index * 2] = text.charCodeAt(index) & 0xff;
    bytes[index * 2 + 1] = text.charCodeAt(index) >> 8;
  }
  return bytes;
}

/** The `SOFTWARE` hive of the Windows test volume: what guest inspection reads. */
export const windowsSoftwareReg = `Windows Registry Editor Version 5.00

${regSection('\\Microsoft')}${regSection('\\Microsoft\\Windows NT')}${regSection('\\Microsoft\\Windows NT\\CurrentVersion', [
  '"ProductName"="Windows Server 2022 Datacenter"',
  '"CurrentVersion"="6.3"',
  '"CurrentBuild"="20348"',
  '"CurrentBuildNumber"="20348"',
  '"EditionID"="ServerDatacenter"',
  '"InstallationType"="Server"',
  '"CurrentMajorVersionNumber"=dword:0000000a',
  '"CurrentMinorVersionNumber"=dword:00000000',
  '"SystemRoot"="C:\\\\Windows"',
  `"InstallTime"=${regHex(11, new Uint8Array([0x00, 0x7c, 0x3f, 0x2a, 0x4b, 0x58, 0xd9, 0x01]))}`,
])}${regSection('\\Classes')}${Array.from({ length: 200 }, (_, index) => regSection(`\\Classes\\.ext${index}`, [`@="File type ${index}"`])).join('')}`;

/** The `SYSTEM` hive of the Windows test volume. */
export const windowsSystemReg = `Windows Registry Editor Version 5.00

${regSection('\\Select', ['"Current"=dword:00000001', '"Default"=dword:00000001'])}${regSection('\\ControlSet001')}${regSection('\\ControlSet001\\Control')}${regSection('\\ControlSet001\\Control\\ComputerName')}${regSection('\\ControlSet001\\Control\\ComputerName\\ComputerName', ['"ComputerName"="WIN-INSPECTED"'])}`;

// ---------------------------------------------------------------------------------------
// NTFS volumes: mkntfs and ntfscp on the host; what only a mounted ntfs-3g can do (directories,
// DOS names, reparse points, hard links, sparse files, the compression flag of a directory)
// in libguestfs's appliance, which boots under TCG here in a minute or two.

/** Why NTFS volumes cannot be made here at all, or undefined. */
export function ntfsToolsMissing(): string | undefined {
  const missing = missingTools('mkntfs', 'ntfscp', 'ntfsls', 'ntfscat', 'ntfsinfo', 'blkid');
  return missing.length === 0 ? undefined : `missing: ${missing.join(', ')}`;
}

/** A fresh NTFS volume made by mkntfs. */
export function makeNtfsImage(path: string, options: { megabytes: number; label?: string; clusterSize?: number }): void {
  rmSync(path, { force: true });
  run('truncate', ['-s', `${options.megabytes}M`, path]);
  run('mkntfs', ['-F', '-Q', '-s', '512', '-c', String(options.clusterSize ?? 4096), ...(options.label === undefined ? [] : ['-L', options.label]), path]);
}

/** Copies `contents` into the volume at `path` (its directory must exist) with ntfscp, no mounting. */
export function ntfsWrite(image: string, path: string, contents: Uint8Array, scratch: string): void {
  const source = join(scratch, 'ntfscp-source');
  writeFileSync(source, contents);
  run('ntfscp', ['-q', image, source, path]);
}

/** A file's bytes as ntfs-3g's library reads them (`ntfscat`). */
export function ntfsCat(image: string, path: string): Uint8Array {
  return run('ntfscat', [image, path]);
}

/** The names `ntfsls` lists in a directory (metadata files and DOS aliases left out, as its defaults do). */
export function ntfsList(image: string, path: string): string[] {
  return runText('ntfsls', ['-p', path, image])
    .split('\n')
    .filter((line) => line !== '' && line !== '.' && line !== '..');
}

/** Reparse data for a symbolic link ([MS-FSCC] 2.1.2.4), as `system.ntfs_reparse_data` takes it. */
export function symlinkReparseData(substituteName: string, printName: string, relative: boolean): Uint8Array {
  return reparseData(0xa000000c, substituteName, printName, relative ? 1 : 0);
}

/** Reparse data for a junction ([MS-FSCC] 2.1.2.5): NUL-terminated names, no flags word. */
export function junctionReparseData(substituteName: string, printName: string): Uint8Array {
  return reparseData(0xa0000003, substituteName, printName, undefined);
}

function reparseData(tag: number, substituteName: string, printName: string, flags: number | undefined): Uint8Array {
  const terminator = flags === undefined ? 2 : 0;
  const substitute = utf16le(substituteName);
  const print = utf16le(printName);
  const header = flags === undefined ? 8 : 12;
  const dataLength = header + substitute.byteLength + terminator + print.byteLength + terminator;
  const bytes = new Uint8Array(8 + dataLength);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, tag, true);
  view.setUint16(4, dataLength, true);
  view.setUint16(8, 0, true);
  view.setUint16(10, substitute.byteLength, true);
  view.setUint16(12, substitute.byteLength + terminator, true);
  view.setUint16(14, print.byteLength, true);
  if (flags !== undefined) view.setUint32(16, flags, true);
  bytes.set(substitute, 8 + header);
  bytes.set(print, 8 + header + substitute.byteLength + terminator);
  return bytes;
}

/** A 16-bit little-endian integer's bytes. */
export function u16Bytes(value: number): Uint8Array {
  return new Uint8Array([value & 0xff, (value >> 8) & 0xff]);
}

/** A 32-bit little-endian integer's bytes. */
export function u32Bytes(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value >>> 0, true);
  return bytes;
}

/** The parts one after another. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return concat(parts);
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The links of the Windows test volume: name in the root, reparse data (or undefined for ntfs-3g's own `ln -s`). */
export const windowsVolumeLinks = {
  'Documents and Settings': { kind: 'junction', ntTarget: '\\??\\C:\\Users' },
  'rel-symlink': { kind: 'file-symlink', ntTarget: 'Windows\\System32\\cmd.exe' },
  'abs-dirlink': { kind: 'directory-symlink', ntTarget: '\\??\\C:\\Windows\\System32\\config' },
  'unc-link': { kind: 'file-symlink', ntTarget: '\\??\\UNC\\server\\share\\file.txt' },
  sys32link: { kind: 'interix', ntTarget: 'Windows/System32' },
} as const;

/** What the Windows test volume holds besides its links, for the tests to compare with. */
export interface WindowsNtfsVolume {
  path: string;
  /** `readlink` of each root link as ntfs-3g (mounted in the appliance) answered it. */
  ntfs3gLinks: Record<string, string>;
}

function windowsVolumeScript(): string {
  const setReparse = Object.entries(windowsVolumeLinks)
    .filter(([, link]) => link.kind !== 'interix')
    .map(([name, link]) => {
      const bytes =
        link.kind === 'junction'
          ? junctionReparseData(link.ntTarget, link.ntTarget.replace('\\??\\', ''))
          : symlinkReparseData(link.ntTarget, link.ntTarget.replace('\\??\\', ''), !link.ntTarget.startsWith('\\'));
      return `setfattr -h -n system.ntfs_reparse_data -v 0x${hex(bytes)} "${name}"`;
    });
  return [
    'set -e',
    'cd /sysroot',
    'setfattr -h -n system.ntfs_dos_name -v PROGRA~1 "Program Files"',
    // Directory and compressed: files ntfscp creates in it later are compressed (LZNT1).
    'setfattr -h -n system.ntfs_attrib_be -v 0x00000810 Compressed',
    ...setReparse,
    // A file the Windows Overlay Filter would have compressed (CompactOS): WOF_EXTERNAL_INFO (version 1, file provider) and
    // FILE_PROVIDER_EXTERNAL_INFO_V1 (version 1, XPRESS4K) after the reparse header.
    `setfattr -h -n system.ntfs_reparse_data -v 0x${hex(concatBytes(u32Bytes(0x80000017), u32Bytes(16), u32Bytes(1), u32Bytes(2), u32Bytes(1), u32Bytes(0)))} wof.bin`,
    'head -c 5000 /dev/urandom > Links/target.bin',
    // Thirty names on one record overflow it: the names move to extension records behind an $ATTRIBUTE_LIST.
    'for i in $(seq 1 30); do ln Links/target.bin "Links/a-hard-link-with-a-rather-long-name-$i.bin"; done',
    'dd if=/dev/urandom of=sparse.bin bs=4096 seek=100 count=2 2>/dev/null',
    ...Object.keys(windowsVolumeLinks).map((name) => `echo "LINK ${name} -> $(readlink "${name}")"`),
  ].join('\n');
}

function guestfishScript(image: string, shellScript: string): string {
  return [
    `add ${image} format:raw`,
    'run',
    'mount-vfs "" ntfs-3g /dev/sda /',
    'mkdir-p /Windows/System32/config',
    'mkdir-p "/Program Files/Common Files"',
    'mkdir-p /Users/Public',
    'mkdir /Many',
    'mkdir /Compressed',
    'mkdir /Links',
    'mkdir "/Documents and Settings"',
    'mkdir /abs-dirlink',
    'touch /rel-symlink',
    'touch /unc-link',
    'touch /wof.bin',
    `ln-s ${windowsVolumeLinks.sys32link.ntTarget} /sys32link`,
    `upload ${shellScript} /build.sh`,
    'debug sh "sh /sysroot/build.sh"',
    'rm /build.sh',
    'umount-all',
    '',
  ].join('\n');
}

/** The files ntfscp writes into the Windows test volume after the appliance made its directories. */
export function windowsVolumeFiles(): TreeEntry[] {
  const files: TreeEntry[] = [
    { path: '/Windows/System32/cmd.exe', contents: pseudoRandomBytes(300_000, 11) },
    { path: '/Program Files/Common Files/readme.txt', contents: new TextEncoder().encode('common files\n') },
    { path: '/Users/Public/desktop.ini', contents: new TextEncoder().encode('[.ShellClassInfo]\r\n') },
    { path: '/Compressed/text.txt', contents: compressibleText(600_000, 12) },
    { path: '/Compressed/random.bin', contents: pseudoRandomBytes(200_000, 13) },
    { path: '/Compressed/small.txt', contents: new TextEncoder().encode('small and resident\n') },
    { path: '/Ünïcødé – 名前.txt', contents: new TextEncoder().encode('unicode name\n') },
  ];
  for (let index = 1; index <= 600; index += 1) files.push({ path: `/Many/file-number-${index}.txt`, contents: new TextEncoder().encode(`file ${index}\n`) });
  return files;
}

/**
 * The Windows-like test volume (64 MiB, 4 KiB clusters, 1 KiB records), built once per
 * machine and cached: a SOFTWARE and a SYSTEM hive, a `cmd.exe`, LZNT1-compressed files,
 * a directory large enough for a two-level index, DOS names, junctions and symbolic links,
 * hard links spilling into an attribute list, a sparse file. Throws when the appliance does
 * not start (the caller skips).
 */
export function windowsNtfsVolume(): WindowsNtfsVolume {
  // Two cached stages: the appliance's work (slow), then what ntfscp and hivex add (fast).
  const applianceKey = ['windows-ntfs-appliance-v1', windowsVolumeScript(), guestfishScript('IMAGE', 'SCRIPT')].join('\n');
  const applianceDirectory = cachedBuild('windows-ntfs-appliance', applianceKey, (output) => {
    const scratch = temporaryDirectory('ntfs-build');
    try {
      const image = join(output, 'volume.img');
      makeNtfsImage(image, { megabytes: 64, label: 'Windows' });
      const shellScript = join(scratch, 'build.sh');
      writeFileSync(shellScript, windowsVolumeScript());
      const gf = join(scratch, 'build.gf');
      writeFileSync(gf, guestfishScript(image, shellScript));
      const transcript = runText('guestfish', ['-f', gf], { env: { LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' } });
      const links: Record<string, string> = {};
      for (const match of transcript.matchAll(/^LINK (.+?) -> (.*)$/gm)) links[match[1] as string] = match[2] as string;
      writeFileSync(join(output, 'links.json'), JSON.stringify(links));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
  const key = [applianceKey, windowsSoftwareReg, windowsSystemReg, JSON.stringify(windowsVolumeFiles().map((file) => [file.path, file.contents?.byteLength]))].join('\n');
  const directory = cachedBuild('windows-ntfs', key, (output) => {
    const scratch = temporaryDirectory('ntfs-build');
    try {
      const image = join(output, 'volume.img');
      writeFileSync(image, readFileSync(join(applianceDirectory, 'volume.img')));
      for (const file of windowsVolumeFiles()) ntfsWrite(image, file.path, file.contents as Uint8Array, scratch);
      ntfsWrite(image, '/Windows/System32/config/SOFTWARE', makeHive(join(scratch, 'SOFTWARE'), windowsSoftwareReg), scratch);
      ntfsWrite(image, '/Windows/System32/config/SYSTEM', makeHive(join(scratch, 'SYSTEM'), windowsSystemReg), scratch);
      writeFileSync(join(output, 'links.json'), readFileSync(join(applianceDirectory, 'links.json')));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
  return { path: join(directory, 'volume.img'), ntfs3gLinks: JSON.parse(readFileSync(join(directory, 'links.json'), 'utf8')) as Record<string, string> };
}

/**
 * The first partition of a fixed VHD from the real-world collection (Windows-formatted
 * volumes), extracted at test time into `directory` (never copied into the repository):
 * its bytes and the path of the extracted file for the reference tools, or undefined when
 * the collection is not there.
 */
export function realWorldPartition(root: string | undefined, name: string, directory: string): { path: string; bytes: Uint8Array } | undefined {
  if (root === undefined) return undefined;
  const source = join(root, 'vhd', `${name}.gz`);
  if (!existsSync(source)) return undefined;
  const disk = new Uint8Array(gunzipSync(readFileSync(source)));
  const view = new DataView(disk.buffer, disk.byteOffset, disk.byteLength);
  // MBR partition entry 1: first sector at 0x1C6, sector count at 0x1CA.
  const start = view.getUint32(0x1c6, true) * 512;
  const bytes = disk.slice(start, start + view.getUint32(0x1ca, true) * 512);
  const path = join(directory, `${name}.partition1.img`);
  writeFileSync(path, bytes);
  return { path, bytes };
}

/**
 * Runs `use` on the first partition of the real-world fixed VHD `name` (see
 * {@link realWorldPartition}), extracted into a temporary directory that is removed
 * afterwards; calls `skip` (the test context's) when the collection is not there.
 */
export async function withRealWorldPartition(
  name: string,
  skip: (note: string) => void,
  use: (partition: { path: string; bytes: Uint8Array }) => Promise<void>,
): Promise<void> {
  const directory = temporaryDirectory('real-world');
  try {
    const partition = realWorldPartition(realWorldRoot(), name, directory);
    if (partition === undefined) return skip(realWorldMissing);
    await use(partition);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
