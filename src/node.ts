/**
 * Node-only helpers: introspecting a file by path, reading only the byte ranges needed.
 *
 * | what the path is | read how |
 * | --- | --- |
 * | a regular file | by random access: only the ranges the format needs |
 * | a block device (`/dev/loop0`, as qemu reads them) | by random access, its size from `/sys/dev/block`; as a stream where that is unknown |
 * | a FIFO, a socket, a pipe (`<(cat x.iso)`, `/dev/stdin`) | as a stream, through non-blocking I/O: a FIFO with no writer waits without holding one of libuv's threads, and an abort releases it at once |
 * | a character device | as a stream |
 * | a directory | `INVALID_ARGUMENT` |
 *
 * The files an image names are read beside it (a VMDK descriptor's extents; the backing
 * chain with `backingChain`), confined to its folder (`node-file-resolver.ts`). `introspectUrl`
 * here is the root one with Node's transport: names resolved once, every address judged by
 * the URL filter, connections pinned (`node-transport.ts`).
 *
 * @module
 */
import { close, closeSync, constants, createReadStream, fstat, fstatSync, open, openSync, read, readFile, readSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { Socket } from 'node:net';
import type { BuiltinContainer } from '../containers/index.js';
import type { BuiltinFormat } from '../formats/index.js';
import type { AnyContainerModule } from './container-module.js';
import { allFormats, withDefaults } from './defaults.js';
import type { InfoWith } from './index.js';
import { IntrospectionError } from './errors.js';
import type { AnyFormatModule } from './format-module.js';
import { type ReferenceOptions, followReferences, splitReferenceOptions } from './chain.js';
import { fileResolver } from './node-file-resolver.js';
import type { ImageInfoOf } from './image-info.js';
import { type UrlIntrospectOptions, introspectUrlWith } from './remote/introspect-url.js';
import { nodeTransport } from './node-transport.js';
import { introspectSource } from './introspect.js';
import { type IntrospectOptions, resolveOptions } from './options.js';
import { throwIfAborted } from './reading/chunks.js';
import type { RandomAccessSource } from './reading/range-backend.js';

/**
 * The start of a file is read with its size, in one round trip to the file system: every
 * signature (ISO's is at byte 32769) and most headers are there. This is read-ahead only:
 * `bytesRead` still counts the ranges the formats asked for.
 */
const READ_AHEAD_BYTES = 36 * 1024;

/** Widened reads a file source keeps (4 × 128 KiB): enough for a format that alternates between a table and the structures it points to. */
const MAX_READ_AHEAD_WINDOWS = 4;

/**
 * A read near a file's end covers at least its last 32 KiB: a backup GPT (its header in
 * the last sector, 16 KiB of entries before it, 4 KiB sectors included) in one read.
 */
const TAIL_READ_AHEAD_BYTES = 32 * 1024;

/** What a thread-pool read shorter than this is widened to (see {@link FileCalls.readAheadBytes}). */
const WIDENED_READ_BYTES = 128 * 1024;

/**
 * Buffers of one size that closed files leave for the next ones (per thread): a batch opens
 * thousands of files, and a fresh buffer each (a 36 KiB start, a 128 KiB widened read) is an
 * allocation, zero-filled, and garbage to collect, costing more than the read it serves (a
 * few per cent of the corpus's time with the default reads, measured alternating in one
 * process). A few cover the files a batch has open at once. A source hands out copies only,
 * so a buffer given back is no longer seen by anyone.
 */
class SpareBuffers {
  private readonly spare: Uint8Array[] = [];

  constructor(
    readonly bytes: number,
    private readonly most: number,
  ) {}

  /** A buffer of {@link bytes}: a spare one when there is one. */
  take(): Uint8Array {
    return this.spare.pop() ?? new Uint8Array(this.bytes);
  }

  /** Keeps `buffer` for a later file, if it has the pool's size and the pool has room. */
  give(buffer: Uint8Array): void {
    if (buffer.byteLength === this.bytes && this.spare.length < this.most) this.spare.push(buffer);
  }
}

const spareStarts = new SpareBuffers(READ_AHEAD_BYTES, 4);
const spareWindows = new SpareBuffers(WIDENED_READ_BYTES, 2 * MAX_READ_AHEAD_WINDOWS);

interface FileStats {
  isFile(): boolean;
  isDirectory(): boolean;
  isBlockDevice(): boolean;
  isCharacterDevice(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  size: number;
  rdev: number;
}

/** The four file-system calls a file source makes, through libuv's thread pool or directly. */
interface FileCalls {
  /**
   * Bytes a small read is widened to (0: read what is asked). Through the thread pool a
   * read costs a round trip whatever its size, and formats read small structures one after
   * another (a VHDX's two headers and region table, its metadata items; UDF's descriptor
   * sequence, sector by sector), so one wider read serves the next few from memory.
   * Synchronous calls cost little per call and are not widened.
   */
  readAheadBytes: number;
  open(path: string, flags: number): Promise<number>;
  stat(descriptor: number): Promise<FileStats>;
  read(descriptor: number, bytes: Uint8Array, position: number): Promise<number>;
  close(descriptor: number): Promise<void>;
}

// The callback API: a round trip costs less than through a FileHandle.
const threadPoolCalls: FileCalls = {
  readAheadBytes: WIDENED_READ_BYTES,
  open: (path, flags) => new Promise<number>((resolve, reject) => open(path, flags, (error, descriptor) => (error ? reject(error) : resolve(descriptor)))),
  stat: (descriptor) => new Promise<FileStats>((resolve, reject) => fstat(descriptor, (error, stats) => (error ? reject(error) : resolve(stats)))),
  read: (descriptor, bytes, position) =>
    new Promise<number>((resolve, reject) => read(descriptor, bytes, 0, bytes.byteLength, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)))),
  close: (descriptor) => new Promise<void>((resolve) => close(descriptor, () => resolve())),
};

/**
 * The same calls made synchronously: no thread-pool round trip (each costs tens of
 * microseconds, most of a small image's time), but each blocks the event loop while it
 * runs. For command-line tools and batch jobs on local disks, not for a server reading from
 * network storage.
 */
const blockingCalls: FileCalls = {
  readAheadBytes: 0,
  open: async (path, flags) => openSync(path, flags),
  stat: async (descriptor) => fstatSync(descriptor),
  read: async (descriptor, bytes, position) => readSync(descriptor, bytes, 0, bytes.byteLength, position),
  close: async (descriptor) => closeSync(descriptor),
};

/** A Node file-system error as a sentence without Node's own copy of the path. */
function systemErrorText(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  // Node's messages read "ENOENT: no such file or directory, open 'x'": keep the middle.
  const match = /^[A-Z]+: (.*?), [a-z]+ '.*'$/.exec(message);
  const text = match?.[1] ?? message;
  return typeof code === 'string' ? `${text} (${code})` : text;
}

function openError(error: unknown, path: string): IntrospectionError {
  if (error instanceof IntrospectionError) return error;
  return new IntrospectionError('SOURCE_ERROR', `cannot open ${path}: ${systemErrorText(error)}`, { cause: error });
}

/**
 * A {@link RandomAccessSource} over an open file or block device. Close it with `close()`
 * when done; closing waits for reads in flight, so that the descriptor is never reused
 * under them.
 */
function fileSource(descriptor: number, size: number, known: Uint8Array, calls: FileCalls, readAhead: Uint8Array): RandomAccessSource & { close(): Promise<void> } {
  let closed = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  // The start read with the size, then the last few widened reads (see
  // FileCalls.readAheadBytes), newest last. What a format counts as read is decided above
  // this source (the backend records the ranges it asked for), so widening changes no
  // `bytesRead`. Every read hands out a copy: the start's and the windows' buffers are reused once closed.
  const windows: Array<{ offset: number; bytes: Uint8Array; buffer?: Uint8Array }> = [{ offset: 0, bytes: known }];
  const fromHeld = (offset: number, length: number): Uint8Array | undefined => {
    for (const window of windows) {
      const end = window.offset + window.bytes.byteLength;
      // A range running past the file's end is served short, as a read would be.
      if (offset >= window.offset && (offset + length <= end || (end === size && offset < end))) {
        return window.bytes.slice(offset - window.offset, Math.min(offset + length, end) - window.offset);
      }
    }
    return undefined;
  };
  /**
   * The read that serves `length` bytes at `offset` (shorter than the read-ahead), widened
   * to {@link FileCalls.readAheadBytes} forward; or, when that would reach the file's end,
   * the rest of the file from {@link TAIL_READ_AHEAD_BYTES} before its end: formats read
   * the last sector first and then what lies before it (a backup GPT header, then its
   * table), and each read saved is a thread-pool round trip.
   */
  const widen = (offset: number, length: number): { from: number; bytes: number } => {
    if (offset + calls.readAheadBytes < size) return { from: offset, bytes: calls.readAheadBytes };
    const from = Math.max(0, Math.min(offset, size - TAIL_READ_AHEAD_BYTES));
    return { from, bytes: Math.max(offset + length, size) - from };
  };
  return {
    size,
    async read(offset, length) {
      if (closed) throw new IntrospectionError('SOURCE_ERROR', 'the file was closed');
      const held = fromHeld(offset, length);
      if (held !== undefined) return held;
      const widened = length < calls.readAheadBytes;
      const window = widened ? widen(offset, length) : { from: offset, bytes: length };
      // A widened read's buffer stays here (it hands out copies) and can be reused; another is the caller's.
      const bytes = widened && window.bytes === spareWindows.bytes ? spareWindows.take() : new Uint8Array(window.bytes);
      inFlight += 1;
      try {
        const bytesRead = await calls.read(descriptor, bytes, window.from);
        if (!widened) return bytesRead === length ? bytes : bytes.subarray(0, bytesRead);
        windows.push({ offset: window.from, bytes: bytes.subarray(0, bytesRead), buffer: bytes });
        // The start stays; the oldest widened read goes.
        if (windows.length > MAX_READ_AHEAD_WINDOWS + 1) {
          const [oldest] = windows.splice(1, 1);
          if (oldest?.buffer !== undefined) spareWindows.give(oldest.buffer);
        }
        return bytes.slice(offset - window.from, Math.min(offset - window.from + length, bytesRead));
      } finally {
        inFlight -= 1;
        if (inFlight === 0) drained?.();
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      spareStarts.give(readAhead);
      for (const window of windows) if (window.buffer !== undefined) spareWindows.give(window.buffer);
      windows.length = 0;
      await calls.close(descriptor);
    },
  };
}

/** A block device's size from sysfs (`/sys/dev/block/MAJOR:MINOR/size`, in 512-byte sectors), if Linux says. */
function blockDeviceSize(rdev: number): Promise<number | undefined> {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | ((Math.floor(rdev / 0x100000) & 0xfff) << 8);
  return new Promise((resolve) =>
    readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8', (error, text) => {
      const sectors = error ? Number.NaN : Number(text.trim());
      resolve(Number.isSafeInteger(sectors) && sectors >= 0 ? sectors * 512 : undefined);
    }),
  );
}

/** What a path turned out to be once opened. */
type Opened =
  | { kind: 'random'; source: RandomAccessSource & { close(): Promise<void> } }
  | { kind: 'pipe'; socket: Socket }
  | { kind: 'stream'; reopen: true };

/**
 * Opens `path` without blocking (a FIFO with no writer opens at once with `O_NONBLOCK`,
 * which regular files and block devices ignore), finds out what it is and reads its start,
 * in one round trip to the file system.
 */
async function openPath(path: string, calls: FileCalls = threadPoolCalls): Promise<Opened> {
  let descriptor: number;
  try {
    descriptor = await calls.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw openError(error, path);
  }
  try {
    const start = spareStarts.take();
    const [statted, startRead] = await Promise.allSettled([calls.stat(descriptor), calls.read(descriptor, start, 0)]);
    if (statted.status === 'rejected') throw statted.reason;
    const stats = statted.value;
    if (stats.isDirectory()) throw new IntrospectionError('INVALID_ARGUMENT', `${path} is a directory, not an image`);
    if (stats.isFIFO() || stats.isSocket()) return { kind: 'pipe', socket: new Socket({ fd: descriptor, readable: true, writable: false }) };
    let size = stats.size;
    if (stats.isBlockDevice()) {
      const deviceSize = await blockDeviceSize(stats.rdev);
      if (deviceSize === undefined) {
        await calls.close(descriptor);
        return { kind: 'stream', reopen: true };
      }
      size = deviceSize;
    } else if (!stats.isFile()) {
      await calls.close(descriptor);
      return { kind: 'stream', reopen: true };
    }
    if (startRead.status === 'rejected') throw startRead.reason;
    return { kind: 'random', source: fileSource(descriptor, size, start.subarray(0, Math.min(startRead.value, size)), calls, start) };
  } catch (error) {
    await calls.close(descriptor);
    throw openError(error, path);
  }
}

/**
 * A {@link RandomAccessSource} over the file (or block device) at `path`. Close it with
 * `close()` when done. Throws `SOURCE_ERROR` when it cannot be opened, `INVALID_ARGUMENT`
 * when it cannot be read by random access (a directory, a pipe).
 */
export async function openFileSource(path: string): Promise<RandomAccessSource & { close(): Promise<void> }> {
  const opened = await openPath(path);
  if (opened.kind === 'random') return opened.source;
  if (opened.kind === 'pipe') opened.socket.destroy();
  throw new IntrospectionError('INVALID_ARGUMENT', 'cannot be read by random access (a pipe or a device of unknown size); read it as a stream');
}

/** Options of {@link introspectFile}: those of `introspect`, and how the file is read. */
export type IntrospectFileOptions<Modules extends AnyFormatModule = BuiltinFormat, Containers extends AnyContainerModule = BuiltinContainer> = IntrospectOptions<Modules, Containers> & {
  /**
   * Read the file with synchronous system calls (default false): several times less time
   * per image on a local disk (no round trip through libuv's thread pool), but each call
   * blocks the event loop while it runs. For command-line tools and batch jobs on local
   * storage; a server reading from network storage should keep the default.
   */
  blockingReads?: boolean;
};

/**
 * Introspects the image at `path`: a regular file or a block device by random access (only
 * the ranges the format needs are read: a fixed VHD's footer without the disk before it),
 * a FIFO, pipe or character device as a stream. The file is closed on every way out; an
 * abort releases it at once.
 */
export async function introspectFile<Modules extends AnyFormatModule = BuiltinFormat, Containers extends AnyContainerModule = BuiltinContainer>(
  path: string,
  options?: IntrospectFileOptions<Modules, Containers> & ReferenceOptions,
): Promise<InfoWith<Modules, Containers>> {
  const { references, rest } = splitReferenceOptions(options);
  const { blockingReads, ...introspectOptions } = (rest ?? {}) as IntrospectFileOptions<Modules, Containers>;
  if (blockingReads !== undefined && typeof blockingReads !== 'boolean') throw new IntrospectionError('INVALID_ARGUMENT', 'options.blockingReads must be a boolean', { field: 'options' });
  const resolved = resolveOptions(withDefaults(rest === undefined ? undefined : introspectOptions), undefined);
  if (typeof path !== 'string' || path === '') throw new IntrospectionError('INVALID_ARGUMENT', 'introspectFile needs a path');
  throwIfAborted(resolved.signal);
  const calls = blockingReads === true ? blockingCalls : threadPoolCalls;
  const opened = await openPath(path, calls);
  let info: ImageInfoOf<string, unknown>;
  if (opened.kind === 'pipe') info = await introspectSource(opened.socket, resolved);
  else if (opened.kind === 'stream') info = await introspectSource(createReadStream(path), resolved);
  else {
    const { source } = opened;
    // The answer does not wait for the file to be closed (one round trip less).
    info = await introspectSource(source, resolved, () => {
      void source.close();
    });
  }
  // A VMDK descriptor's extents are read beside it; the backing chain when asked for.
  const resolve = references.resolve ?? fileResolver(path, references.allowOutsideReferences === true, (file) => openFileSource(file));
  // The real path tells a loop in the chain (a link to an image already read); extents need no identity.
  const key = references.backingChain === true ? await realpath(path).catch(() => path) : path;
  return (await followReferences(info, { filename: path, key }, { resolve, backingChain: references.backingChain === true, options: resolved })) as InfoWith<Modules, Containers>;
}

/**
 * `introspectUrl` of the root entry, in Node: each name is resolved once, every address
 * it has is judged by the URL filter, and the connection goes to an address that passed
 * (DNS rebinding has nothing to change), redirects judged one by one. With the default
 * filter (`'service'`) no loopback, private, link-local or other special-purpose address is
 * reached, whatever the URL, its redirects or its DNS say.
 */
export function introspectUrl<Modules extends AnyFormatModule = BuiltinFormat, Containers extends AnyContainerModule = BuiltinContainer>(
  url: string | URL,
  options?: UrlIntrospectOptions<Modules, Containers>,
): Promise<InfoWith<Modules, Containers>> {
  return introspectUrlWith(url, withDefaults(options), allFormats, { transport: (filter) => nodeTransport(filter) }) as Promise<unknown> as Promise<InfoWith<Modules, Containers>>;
}
export { introspectFiles, type IntrospectFilesOptions, type SkippedEntry, type SkipReason, type WalkOptions } from './node-files.js';
