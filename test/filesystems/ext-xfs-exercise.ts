/**
 * Drives a file-system driver over a (possibly damaged) volume the way guest inspection
 * would, and further: probe, open, the usual files, then a bounded walk of the whole tree
 * reading every file and link. Every operation may fail, but only with an
 * IntrospectionError; anything else is rethrown for the property test to report.
 */
import { type FileSystem, type FileSystemModule, readFileAt, resolvePath } from '../../filesystems/file-system.js';
import { isIntrospectionError } from '../../src/errors.js';
import type { ByteReader } from '../../src/format-module.js';
import { expect } from 'vitest';
import { rejectionOf } from '../helpers/errors.js';
import { volumeOfBytes } from '../helpers/volume.js';

/** Most nodes visited per volume (a damaged directory may name its own ancestor). */
const MAX_NODES = 400;
const MAX_DEPTH = 8;

async function attempt<T>(operation: () => Promise<T>): Promise<T | undefined> {
  try {
    return await operation();
  } catch (error) {
    if (isIntrospectionError(error)) return undefined;
    throw error;
  }
}

/** Probes, opens and reads everything reachable, swallowing only IntrospectionErrors. */
export async function exerciseFileSystem(module: FileSystemModule, volume: ByteReader): Promise<void> {
  if (!(await attempt(() => module.probe(volume)))) return;
  const fs = await attempt(() => module.open(volume, { warn: () => {} }));
  if (fs === undefined) return;
  for (const path of ['/etc/os-release', '/etc/hostname', '/var/link', '/bin/ls']) {
    await attempt(() => readFileAt(fs, path, 4096));
    await attempt(() => resolvePath(fs, path, false));
  }
  const root = await attempt(() => fs.root());
  if (root !== undefined) await walk(fs, root, 0, { visited: 0 });
}

async function walk<Node>(fs: FileSystem<Node>, node: Node, depth: number, state: { visited: number }): Promise<void> {
  state.visited += 1;
  if (state.visited > MAX_NODES || depth > MAX_DEPTH) return;
  const kind = fs.kind(node);
  fs.size(node);
  if (kind === 'file') await attempt(() => fs.readFile(node, 64 * 1024));
  if (kind === 'symlink') await attempt(() => fs.readLink(node));
  if (kind !== 'directory') return;
  const entries = (await attempt(() => fs.list(node, 100))) ?? [];
  for (const entry of entries) {
    const child = await attempt(() => fs.lookup(node, entry.name));
    if (child !== undefined) await walk(fs, child, depth + 1, state);
  }
}

/**
 * Checks, on a volume holding the tree of `buildGuestTree`, that calls breaking the driver
 * contract (reading a directory or a link, a link from a file, a negative or fractional
 * length) fail with INVALID_ARGUMENT, and that asking a file for entries answers nothing.
 */
export async function expectContractRefusals(fs: FileSystem): Promise<void> {
  const file = await resolvePath(fs, '/etc/hostname');
  const directory = await resolvePath(fs, '/etc');
  const link = await resolvePath(fs, '/var/link', false);
  for (const call of [() => fs.readFile(directory, 10), () => fs.readFile(link, 10), () => fs.readLink(file), () => fs.readFile(file, -1), () => fs.readFile(file, 1.5)]) {
    expect((await rejectionOf(call())).code).toBe('INVALID_ARGUMENT');
  }
  expect(await fs.lookup(file, 'x')).toBeUndefined();
  expect(await fs.list(file, 10)).toEqual([]);
  expect(fs.size(directory)).toBe(0);
}

/**
 * Opens `truncated` (a volume cut short) with `module`: the driver warns that the volume
 * holds fewer bytes than the file system claims, and reading `path`, which lies past the
 * cut, fails TRUNCATED.
 */
export async function expectTruncatedRead(module: FileSystemModule, truncated: Uint8Array, path: string): Promise<void> {
  const warnings: string[] = [];
  const fs = await module.open(volumeOfBytes(truncated).volume, { warn: (message) => warnings.push(message) });
  expect(warnings.join()).toMatch(/holds \d+ bytes of the file system's/);
  expect((await rejectionOf(readFileAt(fs, path, 1 << 20))).code).toBe('TRUNCATED');
}
