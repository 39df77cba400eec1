import { describe, expect, it } from 'vitest';
import { ReadQueue } from '../../src/reading/read-queue.js';
import { randomAccessReader, streamReader } from '../helpers/readers.js';

/** Bytes whose value is their offset modulo 251, so that any slice can be checked by hand. */
function numbered(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, index) => index % 251);
}

const readers = {
  'random access': (bytes: Uint8Array) => randomAccessReader(bytes),
  'a stream in 7-byte chunks': (bytes: Uint8Array) => streamReader(bytes, [7]),
};

describe('ReadQueue', () => {
  for (const [kind, open] of Object.entries(readers)) {
    it(`delivers in ascending order, scheduled reads included, and a read behind as undefined (${kind})`, async () => {
      const bytes = numbered(4096);
      const reader = open(bytes);
      const queue = new ReadQueue(reader);
      const seen: Array<[number, number[] | undefined]> = [];
      const add = (offset: number, length: number, then?: () => void) =>
        queue.add({
          offset,
          length,
          field: `at ${offset}`,
          deliver: (got) => {
            seen.push([offset, got === undefined ? undefined : [...got]]);
            then?.();
          },
        });
      add(1000, 4, () => {
        add(2000, 2);
        add(10, 2); // behind what was read
      });
      add(100, 3);
      await queue.run();
      expect(seen).toEqual([
        [100, [100, 101, 102]],
        [1000, [1000 % 251, 1001 % 251, 1002 % 251, 1003 % 251]],
        [10, undefined],
        [2000, [2000 % 251, 2001 % 251]],
      ]);
    });

    it(`continues a window inside a read stretched by a longer range (${kind})`, async () => {
      const bytes = numbered(300);
      const reader = open(bytes);
      const queue = new ReadQueue(reader);
      const windows: number[][] = [];
      const window = (offset: number) =>
        queue.add({
          offset,
          length: 50,
          field: 'window',
          deliver: (got) => {
            windows.push(got === undefined ? [] : [got[0] as number, got.byteLength]);
            if (offset + 50 < 300) window(offset + 50);
          },
        });
      window(0);
      // Starts inside the first window and ends inside the third: the second window starts behind the reader's position.
      queue.add({ offset: 40, length: 80, field: 'long', deliver: () => undefined });
      await queue.run();
      expect(windows).toEqual([
        [0, 50],
        [50, 50],
        [100, 50],
        [150, 50],
        [200, 50],
        [250, 50],
      ]);
    });
  }
});
