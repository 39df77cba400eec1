/**
 * Node-only: many image files at once, by path or by directory.
 *
 * @module
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import type { BuiltinContainer } from '../containers/index.js';
import type { InfoWith } from './index.js';
import type { BuiltinFormat } from '../formats/index.js';
import { IntrospectionError } from './errors.js';
import type { AnyFormatModule } from './format-module.js';
import { type IntrospectManyOptions, type ManyResult, type PoolOptions, introspectMany } from './many.js';
import { type IntrospectFileOptions, introspectFile } from './node.js';
import type { IntrospectOptions } from './options.js';

/**
 * Why a directory entry was left out.
 *
 * | reason | the entry is |
 * | --- | --- |
 * | `directory` | a subdirectory, and the walk is not recursive |
 * | `special-file` | neither a regular file nor a directory (a FIFO, a socket, a device): reading it could block |
 * | `loop` | a directory that contains itself through a symbolic link |
 * | `revisited` | a directory already walked through another path (symbolic links) |
 * | `dangling-link` | a symbolic link to nothing, or to something that cannot be looked at |
 */
export type SkipReason = 'directory' | 'special-file' | 'loop' | 'revisited' | 'dangling-link';

/** A directory entry the walk left out, and why. */
export interface SkippedEntry {
  path: string;
  reason: SkipReason;
  /** The reason in words, e.g. `a directory (not recursive)`. */
  message: string;
}

/** How directories are expanded. */
export interface WalkOptions {
  /** Descend into subdirectories (default false: only the files directly in a directory given). */
  recursive?: boolean;
  /** Told about every entry left out (default: nothing is said). */
  onSkip?: (skipped: SkippedEntry) => void;
}

/** A path to introspect, or a directory that could not be listed (its `error`). */
export interface WalkEntry {
  path: string;
  error?: IntrospectionError;
}

/** `no such file or directory (ENOENT)`: a Node system error in words, without the path it names. */
export function describeSystemError(error: unknown): string | undefined {
  const system = error as { code?: unknown; errno?: unknown } | null;
  if (typeof system !== 'object' || system === null || typeof system.code !== 'string') return undefined;
  const described = typeof system.errno === 'number' ? getSystemErrorMap().get(system.errno)?.[1] : undefined;
  return described === undefined ? system.code : `${described} (${system.code})`;
}

/**
 * Expands paths into the files to introspect, lazily, in a stable order (each directory's
 * entries sorted by name).
 *
 * A path named explicitly is kept whatever it is (a file, a FIFO, a device, a path that
 * does not exist: introspecting it says what is wrong); a directory stands for the
 * regular files in it, dot-files included (an upload may be called `.x`). Symbolic links
 * are followed; a directory is walked once, and a link back to a directory being walked
 * is a loop (both by device and inode). What is left out is reported to `onSkip`.
 */
export class PathWalker {
  /** Directories walked so far, by `device:inode`. */
  private readonly visited = new Set<string>();

  constructor(private readonly options: WalkOptions = {}) {}

  /** The entries for one path given by the caller. */
  async *walk(path: string): AsyncGenerator<WalkEntry, void, undefined> {
    let stats: Awaited<ReturnType<typeof stat>>;
    try {
      stats = await stat(path);
    } catch {
      // Introspecting it reports the problem (no such file, permission denied) as its result.
      yield { path };
      return;
    }
    if (!stats.isDirectory()) {
      yield { path };
      return;
    }
    yield* this.directory(path, `${stats.dev}:${stats.ino}`, new Set());
  }

  private async *directory(path: string, key: string, ancestors: Set<string>): AsyncGenerator<WalkEntry, void, undefined> {
    if (ancestors.has(key)) {
      this.skip(path, 'loop', 'a symbolic link loop (the directory contains itself)');
      return;
    }
    if (this.visited.has(key)) {
      this.skip(path, 'revisited', 'a directory already included through another path');
      return;
    }
    this.visited.add(key);
    let entries: Dirent[];
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch (error) {
      const what = describeSystemError(error) ?? (error instanceof Error ? error.message : String(error));
      yield { path, error: new IntrospectionError('SOURCE_ERROR', `cannot list the directory: ${what}`, { cause: error }) };
      return;
    }
    entries.sort((left, right) => (left.name < right.name ? -1 : left.name > right.name ? 1 : 0));
    const inside = new Set(ancestors).add(key);
    for (const entry of entries) {
      const child = join(path, entry.name);
      // readdir's type saves a stat for the common case; links (and unknown types) are followed.
      if (entry.isFile()) {
        yield { path: child };
        continue;
      }
      let stats: Awaited<ReturnType<typeof stat>>;
      try {
        stats = await stat(child);
      } catch (error) {
        this.skip(child, 'dangling-link', `a symbolic link to nothing usable: ${describeSystemError(error) ?? String(error)}`);
        continue;
      }
      if (stats.isFile()) yield { path: child };
      else if (!stats.isDirectory()) this.skip(child, 'special-file', 'not a regular file (a FIFO, socket or device)');
      else if (this.options.recursive !== true) this.skip(child, 'directory', 'a directory (not recursive)');
      else yield* this.directory(child, `${stats.dev}:${stats.ino}`, inside);
    }
  }

  private skip(path: string, reason: SkipReason, message: string): void {
    this.options.onSkip?.({ path, reason, message });
  }
}

/** Introspects the file a walk found, or fails with the walk's error for it (a directory that could not be listed). */
export function introspectEntry<Modules extends AnyFormatModule = BuiltinFormat>(entry: WalkEntry, options: IntrospectFileOptions<Modules, BuiltinContainer>): Promise<InfoWith<Modules, BuiltinContainer>> {
  return entry.error === undefined ? introspectFile<Modules, BuiltinContainer>(entry.path, options) : Promise.reject(entry.error);
}

/** Options of {@link introspectFiles}: those of `introspectMany` (but `introspect`) and the walk's. */
export type IntrospectFilesOptions<Modules extends AnyFormatModule = BuiltinFormat> = IntrospectOptions<Modules, BuiltinContainer> & Pick<PoolOptions<Modules, string>, 'concurrency'> & WalkOptions;

/**
 * Introspects image files by path: `paths` is one path or an iterable (or async
 * iterable) of paths, each a file or a directory. A path named is introspected whatever
 * it is; a directory stands for its regular files in name order (dot-files included,
 * symbolic links followed, subdirectories with `recursive`, a link back to a directory
 * being walked reported as a loop). What a walk leaves out goes to `onSkip`.
 *
 * Built on `introspectMany` and `introspectFile`: at most `concurrency` files open at
 * once, results in completion order with `source` the file's path, failures as results
 * (a directory that cannot be listed is one too), one `signal` for all.
 *
 * ```ts
 * for await (const { source, info, error } of introspectFiles('/srv/images', { recursive: true, concurrency: 8 })) {
 *   console.log(source, error?.code ?? (info.safety.safe ? 'safe' : 'UNSAFE'));
 * }
 * ```
 */
export async function* introspectFiles<Modules extends AnyFormatModule = BuiltinFormat>(
  paths: string | Iterable<string> | AsyncIterable<string>,
  options: IntrospectFilesOptions<Modules> = {},
): AsyncGenerator<ManyResult<InfoWith<Modules, BuiltinContainer>, string>, void, undefined> {
  const { recursive, onSkip, concurrency, ...introspectOptions } = options;
  const walker = new PathWalker({ recursive, onSkip });
  const list = typeof paths === 'string' ? [paths] : paths;
  async function* entries(): AsyncGenerator<WalkEntry, void, undefined> {
    for await (const path of list) {
      if (typeof path !== 'string') throw new IntrospectionError('INVALID_ARGUMENT', 'introspectFiles takes paths (strings)');
      yield* walker.walk(path);
    }
  }
  const pool: IntrospectManyOptions<Modules, WalkEntry> = { ...(introspectOptions as IntrospectOptions<Modules, BuiltinContainer>), concurrency, introspect: introspectEntry };
  const results = introspectMany<Modules, WalkEntry>(entries(), pool);
  for await (const result of results) {
    const entry = result.source as WalkEntry;
    yield result.error === undefined ? { index: result.index, source: entry.path, info: result.info } : { index: result.index, source: entry.path, error: result.error };
  }
}
