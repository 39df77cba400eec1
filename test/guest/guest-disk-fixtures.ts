/**
 * Test inputs for the guest-disk reader, made at test time: a raw disk with known content
 * (random data in some ranges, written zeros in others, holes never written), converted by
 * qemu-img into every format; and the guest disk opened through the library's own readers
 * (the engine's parse, then `openGuestDisk` over the same source).
 */
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { allFormats } from '../../formats/index.js';
import { introspect } from '../../src/index.js';
import type { ByteReader, GuestDiskUnavailable } from '../../src/format-module.js';
import { type GuestDisk, type GuestDiskOptions, isGuestDiskUnavailable, openGuestDisk } from '../../src/reading/guest-disk.js';
import { RangeBackend, type RandomAccessSource, bytesSource } from '../../src/reading/range-backend.js';
import { Budget, Reader } from '../../src/reading/reader.js';

/** Deterministic pseudo-random bytes (xorshift32), so that a failure can be reproduced. */
export { pseudoRandomBytes as randomBytes } from '../helpers/volume-windows.js';
import { compressibleText, pseudoRandomBytes as randomBytes } from '../helpers/volume-windows.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The source disk's layout: 5 MiB + 68 KiB (a multiple of 512, not of 64 KiB or of 1 MiB).
 * Data ranges cross cluster, grain, block and table boundaries; the written zeros and the
 * holes are where formats leave clusters unallocated or mark them zero; the text range
 * compresses, so compressed formats store it compressed (qcow2 keeps random data as it is).
 */
export const SOURCE_SIZE = 5 * MiB + 68 * KiB;
export const SOURCE_RANGES: ReadonlyArray<{ offset: number; length: number; kind: 'random' | 'zeros' | 'text' }> = [
  { offset: 0, length: 64 * KiB, kind: 'random' },
  { offset: MiB - 3000, length: 70_000, kind: 'random' },
  { offset: 2 * MiB - 512, length: 1536, kind: 'random' },
  { offset: 2 * MiB + 64 * KiB, length: 512 * KiB, kind: 'zeros' },
  { offset: 3 * MiB - 100, length: MiB + 300, kind: 'random' },
  { offset: 4 * MiB + 512 * KiB + 1000, length: 300 * KiB, kind: 'text' },
  { offset: SOURCE_SIZE - 4 * KiB, length: 4 * KiB, kind: 'random' },
];

/** Writes the source disk to `path` (holes are never written: the file is sparse there) and returns its bytes. */
export function writeSourceDisk(path: string): Uint8Array {
  const bytes = new Uint8Array(SOURCE_SIZE);
  const fd = openSync(path, 'w');
  try {
    let seed = 7;
    for (const range of SOURCE_RANGES) {
      seed += 101;
      const content = range.kind === 'random' ? randomBytes(range.length, seed) : range.kind === 'text' ? compressibleText(range.length, seed) : new Uint8Array(range.length);
      bytes.set(content, range.offset);
      writeFileSyncAt(fd, content, range.offset);
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

function writeFileSyncAt(fd: number, bytes: Uint8Array, position: number): void {
  let written = 0;
  while (written < bytes.byteLength) {
    written += writeSync(fd, bytes, written, bytes.byteLength - written, position + written);
  }
}

export { fileSource } from '../helpers/file-source.js';

/** What the engine found, and the guest disk opened from it. */
export interface OpenedGuest {
  format: string;
  virtualSize: number;
  details: unknown;
  warnings: string[];
  guest: GuestDisk | GuestDiskUnavailable;
  /** The image reader the guest disk was opened from (the engine's kind: forward reads). */
  image: Reader;
}

/** A reader over a source as the engine makes one, past detection. */
export function imageReader(source: RandomAccessSource, budget = 256 * MiB, signal?: AbortSignal): Reader {
  return new Reader(new RangeBackend(source, source.size, signal), { budget: new Budget(budget), signal, probeLimit: 0, detect: false });
}

/** Introspects `source`, then opens its guest disk over a fresh reader of the same source. */
export async function openGuest(source: RandomAccessSource | Uint8Array, options: GuestDiskOptions & { budget?: number; signal?: AbortSignal } = {}): Promise<OpenedGuest> {
  const random = source instanceof Uint8Array ? bytesSource(source) : source;
  const info = await introspect(random, { formats: allFormats });
  const module = allFormats.find((candidate) => candidate.name === info.format);
  if (module === undefined) throw new Error(`no module ${info.format}`);
  const image = imageReader(random, options.budget, options.signal);
  const warnings: string[] = [];
  const guest = await openGuestDisk(image, module, info, {
    ...options,
    warn: (message) => {
      warnings.push(message);
      options.warn?.(message);
    },
  });
  return { format: info.format, virtualSize: info.virtualSize, details: info.details, warnings, guest, image };
}

/** The guest disk, or a failed test when it is unavailable. */
export function guestOf(opened: OpenedGuest): GuestDisk {
  if (isGuestDiskUnavailable(opened.guest)) throw new Error(`the guest disk is unavailable: ${opened.guest.unavailable}`);
  return opened.guest;
}

/** Reads the whole guest disk in reads of `step` bytes. */
export async function readWhole(reader: ByteReader, size: number, step = 4 * MiB): Promise<Uint8Array> {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += step) {
    bytes.set(await reader.read(offset, Math.min(step, size - offset), 'test read'), offset);
  }
  return bytes;
}

/** Writes bytes to a file (a test's patched image). */
export function writeBytes(path: string, bytes: Uint8Array): void {
  writeFileSync(path, bytes);
}
