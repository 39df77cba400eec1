/**
 * Node-only helpers: introspecting a file by path, reading only the byte ranges needed.
 *
 * @module
 */
import { close, fstat, open, read } from 'node:fs';
import type { BuiltinFormat } from '../formats/index.js';
import { IntrospectionError } from './errors.js';
import type { AnyFormatModule } from './format-module.js';
import type { InfoFor } from './image-info.js';
import { introspect } from './index.js';
import type { IntrospectOptions } from './options.js';
import type { RandomAccessSource } from './random-access-reader.js';

/**
 * The start of a file is read with its size, in one round trip to the file system: every
 * signature (ISO's is at byte 32769) and most headers are there. This is read-ahead only:
 * `bytesRead` still counts the ranges the formats asked for.
 */
const READ_AHEAD_BYTES = 36 * 1024;

// The callback API: a round trip costs less than through a FileHandle.
const openFile = (path: string) =>
  new Promise<number>((resolve, reject) => open(path, 'r', (error, descriptor) => (error ? reject(error) : resolve(descriptor))));
const statFile = (descriptor: number) =>
  new Promise<{ isFile(): boolean; size: number }>((resolve, reject) => fstat(descriptor, (error, stats) => (error ? reject(error) : resolve(stats))));
const readFile = (descriptor: number, bytes: Uint8Array, position: number) =>
  new Promise<number>((resolve, reject) =>
    read(descriptor, bytes, 0, bytes.byteLength, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))),
  );
const closeFile = (descriptor: number) => new Promise<void>((resolve) => close(descriptor, () => resolve()));

/**
 * A {@link RandomAccessSource} over an open file. Close it with `close()` when done.
 */
export async function openFileSource(path: string): Promise<RandomAccessSource & { close(): Promise<void> }> {
  let descriptor: number;
  try {
    descriptor = await openFile(path);
  } catch (error) {
    const what = error instanceof Error ? error.message : String(error);
    throw new IntrospectionError('SOURCE_ERROR', `cannot open ${path}: ${what}`, { cause: error });
  }
  try {
    const start = new Uint8Array(READ_AHEAD_BYTES);
    const [stats, startLength] = await Promise.all([statFile(descriptor), readFile(descriptor, start, 0)]);
    if (!stats.isFile()) throw new IntrospectionError('INVALID_ARGUMENT', `${path} is not a file`);
    const known = start.subarray(0, startLength);
    let closed = false;
    return {
      size: stats.size,
      async read(offset, length) {
        if (offset + length <= known.byteLength || (offset < known.byteLength && known.byteLength === stats.size)) {
          return known.slice(offset, Math.min(offset + length, known.byteLength));
        }
        const bytes = new Uint8Array(length);
        const bytesRead = await readFile(descriptor, bytes, offset);
        return bytesRead === length ? bytes : bytes.subarray(0, bytesRead);
      },
      async close() {
        if (closed) return;
        closed = true;
        await closeFile(descriptor);
      },
    };
  } catch (error) {
    await closeFile(descriptor);
    if (error instanceof IntrospectionError) throw error;
    const what = error instanceof Error ? error.message : String(error);
    throw new IntrospectionError('SOURCE_ERROR', `cannot read ${path}: ${what}`, { cause: error });
  }
}

/**
 * Introspects the image file at `path` by random access: only the ranges the format
 * needs are read (a fixed VHD's footer without reading the disk before it).
 */
export async function introspectFile<Modules extends AnyFormatModule = BuiltinFormat>(
  path: string,
  options?: IntrospectOptions<Modules>,
): Promise<InfoFor<Modules>> {
  const source = await openFileSource(path);
  try {
    return await introspect<Modules>(source, options);
  } finally {
    // The answer does not wait for the file to be closed (one round trip less); closing a
    // file opened read-only has nothing to tell the caller.
    void source.close();
  }
}
export { introspectFiles, type IntrospectFilesOptions, type SkippedEntry, type SkipReason, type WalkOptions } from './node-files.js';
