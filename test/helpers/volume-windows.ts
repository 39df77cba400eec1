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
import { expect } from 'vitest';
import type { FileSystem } from '../../filesystems/file-system.js';
import { isIntrospectionError } from '../../src/errors.js';
import { RandomAccessReader } from '../../src/random-access-reader.js';

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

/** A reader over bytes in memory that counts the bytes read (the same reader the library uses for files). */
export function memoryVolume(bytes: Uint8Array): RandomAccessReader {
  return new RandomAccessReader(
    { size: bytes.byteLength, read: async (offset, length) => bytes.subarray(offset, offset + length) },
    256 * 1024 * 1024,
    undefined,
  );
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

/** Deterministic pseudo-random bytes (xorshift), so that a failure can be reproduced. */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let index = 0; index < length; index += 1) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    bytes[index] = state & 0xff;
  }
  return bytes;
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

/** `mdir -/ -b`: every path on a FAT volume as mtools sees it (directories end in `/`). */
export function mtoolsPaths(image: string): string[] {
  return runText('mdir', ['-/', '-b', '-i', image, '::/'])
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
 * The path of a file built by `build(outputPath)`, cached under the system's temporary
 * directory by `key` (a hash of everything the build depends on), so that a slow build runs
 * once per machine rather than once per test run.
 */
export function cachedBuild(name: string, key: string, build: (output: string) => void): string {
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  const cacheDirectory = join(tmpdir(), 'image-introspect-test-cache');
  mkdirSync(cacheDirectory, { recursive: true });
  const path = join(cacheDirectory, `${name}-${hash}`);
  if (existsSync(path)) return path;
  const partial = `${path}.partial-${process.pid}`;
  build(partial);
  renameSync(partial, path);
  return path;
}
