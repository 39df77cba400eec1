/**
 * Node-only helpers: introspecting a file by path, reading only the byte ranges needed.
 *
 * @module
 */
import { open } from 'node:fs/promises';
import { introspect } from './index.js';
import type { AnyFormatModule } from './format-module.js';
import type { InfoFor } from './image-info.js';
import type { IntrospectOptions } from './options.js';
import { IntrospectionError } from './errors.js';
import type { RandomAccessSource } from './random-access-reader.js';
import type { BuiltinFormat } from '../formats/index.js';

/**
 * The first bytes of a file are read together with its size: every format's signature and
 * most headers are there, so one round trip to the file system serves most introspections.
 */
const PREFETCH_BYTES = 4 * 1024 + 8;

/**
 * A {@link RandomAccessSource} over an open file. Close it with `close()` when done.
 */
export async function openFileSource(path: string): Promise<RandomAccessSource & { close(): Promise<void> }> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const what = error instanceof Error ? error.message : String(error);
    throw new IntrospectionError('SOURCE_ERROR', `cannot open ${path}: ${what}`, { cause: error });
  }
  try {
    let closed = false;
    const start = new Uint8Array(PREFETCH_BYTES);
    const [stats, prefetched] = await Promise.all([handle.stat(), handle.read(start, 0, PREFETCH_BYTES, 0)]);
    if (!stats.isFile()) {
      throw new IntrospectionError('INVALID_ARGUMENT', `${path} is not a file`);
    }
    const known = start.subarray(0, prefetched.bytesRead);
    return {
      size: stats.size,
      async read(offset, length) {
        if (offset + length <= known.byteLength) return known.slice(offset, offset + length);
        const bytes = new Uint8Array(length);
        const { bytesRead } = await handle.read(bytes, 0, length, offset);
        return bytesRead === length ? bytes : bytes.subarray(0, bytesRead);
      },
      close: async () => {
        if (closed) return;
        closed = true;
        await handle.close();
      },
    };
  } catch (error) {
    await handle.close();
    throw error;
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
    // The answer does not wait for the file to be closed (one round trip less); a failure to
    // close a file opened read-only has nothing to tell the caller.
    Promise.resolve(source.close()).catch(() => undefined);
  }
}
