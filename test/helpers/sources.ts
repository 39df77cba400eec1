/**
 * Every kind of source the library accepts, built over the same bytes, and hostile
 * chunkings of streams.
 */
import { Readable } from 'node:stream';
import type { ImageInfoOf, ImageSource } from '../../src/index.js';

/** A name for each way a test feeds bytes to `introspect`. */
export type SourceKind =
  | 'uint8array'
  | 'arraybuffer'
  | 'blob'
  | 'random-access'
  | 'async-iterable'
  | 'web-stream'
  | 'node-readable'
  | 'one-byte-chunks';

export const sourceKinds: readonly SourceKind[] = [
  'uint8array',
  'arraybuffer',
  'blob',
  'random-access',
  'async-iterable',
  'web-stream',
  'node-readable',
  'one-byte-chunks',
];

/** Splits `bytes` into chunks whose sizes cycle through `sizes` (all > 0). */
export function* chunksOfSizes(bytes: Uint8Array, sizes: readonly number[]): Generator<Uint8Array> {
  let offset = 0;
  let index = 0;
  while (offset < bytes.byteLength) {
    const size = Math.max(1, sizes[index % sizes.length] ?? 1);
    yield bytes.subarray(offset, Math.min(bytes.byteLength, offset + size));
    offset += size;
    index += 1;
  }
}

/** An async iterable over chunks of the given sizes, recording whether it was stopped early. */
export function trackedStream(bytes: Uint8Array, sizes: readonly number[]): AsyncIterable<Uint8Array> & { pulled: number; returned: boolean } {
  const state = {
    pulled: 0,
    returned: false,
    async *[Symbol.asyncIterator]() {
      try {
        for (const chunk of chunksOfSizes(bytes, sizes)) {
          state.pulled += chunk.byteLength;
          yield chunk;
        }
      } finally {
        state.returned = true;
      }
    },
  };
  return state;
}

/**
 * One-byte chunks are the most hostile chunking; beyond the first 256 KiB (more than any
 * header needs) the rest comes in 64 KiB chunks so that large images stay fast.
 */
function oneByteThenLarge(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      const head = Math.min(bytes.byteLength, 256 * 1024);
      for (let offset = 0; offset < head; offset += 1) yield bytes.subarray(offset, offset + 1);
      yield* chunksOfSizes(bytes.subarray(head), [65536]);
    },
  };
}

/** The same bytes as a source of the given kind. */
export function makeSource(kind: SourceKind, bytes: Uint8Array): ImageSource {
  switch (kind) {
    case 'uint8array':
      return bytes;
    case 'arraybuffer':
      return bytes.slice().buffer;
    case 'blob':
      return new Blob([bytes as Uint8Array<ArrayBuffer>]);
    case 'random-access':
      return {
        size: bytes.byteLength,
        read: async (offset: number, length: number) => bytes.slice(offset, offset + length),
      };
    case 'async-iterable':
      return trackedStream(bytes, [65536]);
    case 'web-stream': {
      const chunks = chunksOfSizes(bytes, [4000, 70000, 13]);
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = chunks.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
      });
    }
    case 'node-readable':
      return Readable.from(chunksOfSizes(bytes, [16384]), { objectMode: false });
    case 'one-byte-chunks':
      return oneByteThenLarge(bytes);
  }
}

/**
 * The parts of a result that must not depend on the kind of source or the budget: everything
 * but the work done, the verdict included. Work done is `bytesRead` and a compressed layer's
 * `decodedBytes` (how far decoding went before the answer came, which follows the reads'
 * sizes, and so the budget).
 */
export function comparable(info: ImageInfoOf<string, unknown>): unknown {
  return {
    format: info.format,
    virtualSize: info.virtualSize,
    virtualSizeExact: info.virtualSizeExact,
    details: info.details,
    warnings: info.warnings,
    matchedFormats: info.matchedFormats,
    safety: info.safety,
    containers: info.containers?.map((layer) => {
      const { decodedBytes: _workDone, ...rest } = layer as { decodedBytes?: number };
      return rest;
    }),
    // The first disk may be the result itself.
    disks: info.disks?.map((disk) => (disk === info ? 'this result' : comparable(disk))),
  };
}
