/**
 * Hostile guests: each test guest (`test/helpers/guest-images.ts`) is inspected once to learn
 * which byte ranges inspection reads (partition table, LVM metadata, superblocks, inodes,
 * directories, the registry hive), then inspected again many times with those very bytes
 * damaged (seeded, reproducible: bytes set to 0x00, 0xff, small and huge integers, random
 * runs). Every run must settle (the test's timeout is the hang guard) with either an
 * `IntrospectionError` that is not `INTERNAL`, or a result whose `guest` is an inspection
 * (damage reported in `warnings`) or `{ unavailable: reason }`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { introspect, isIntrospectionError } from '../../src/index.js';
import type { RandomAccessSource } from '../../src/reading/range-backend.js';
import { isGuestInfo } from '../../src/guest-inspection.js';
import { openFileSource } from '../../src/node.js';
import { GUESTS, guestDisk } from '../helpers/guest-images.js';
import { xorshift32 } from '../helpers/volume.js';

/** Damaged inspections per guest. */
const MUTATIONS_PER_GUEST = 60;

/** A file source that records what was read and overlays patches on it. */
function patchedSource(file: RandomAccessSource, patches: ReadonlyArray<{ offset: number; bytes: Uint8Array }>, reads?: Array<[number, number]>): RandomAccessSource {
  return {
    size: file.size,
    async read(offset, length) {
      const bytes = new Uint8Array(await file.read(offset, length));
      reads?.push([offset, bytes.byteLength]);
      for (const patch of patches) {
        const from = Math.max(offset, patch.offset);
        const to = Math.min(offset + bytes.byteLength, patch.offset + patch.bytes.byteLength);
        for (let at = from; at < to; at += 1) bytes[at - offset] = patch.bytes[at - patch.offset] ?? 0;
      }
      return bytes;
    },
  };
}

/** xorshift32 as a fraction in [0, 1): the same damage on every run. */
function random(seed: number): () => number {
  const next = xorshift32(seed);
  return () => next() / 0x1_0000_0000;
}

const INTERESTING: ReadonlyArray<readonly number[]> = [
  [0x00, 0x00, 0x00, 0x00],
  [0xff, 0xff, 0xff, 0xff],
  [0xff, 0xff, 0xff, 0x7f],
  [0x01, 0x00, 0x00, 0x00],
  [0x00, 0x00, 0x00, 0x80],
  [0x00, 0x00, 0x01, 0x00],
  [0x2e, 0x2e, 0x00, 0x00], // ".." in a directory entry's name
];

/** One piece of damage inside a range inspection read. */
function damage(next: () => number, reads: ReadonlyArray<[number, number]>): Array<{ offset: number; bytes: Uint8Array }> {
  const count = 1 + Math.floor(next() * 4);
  return Array.from({ length: count }, () => {
    const [start, length] = reads[Math.floor(next() * reads.length)] ?? [0, 512];
    // Word-aligned: the fields of every structure read here are.
    const offset = start + Math.floor((next() * Math.max(1, length - 8)) / 4) * 4;
    const kind = next();
    if (kind < 0.7) return { offset, bytes: Uint8Array.from(INTERESTING[Math.floor(next() * INTERESTING.length)] ?? [0]) };
    return { offset, bytes: Uint8Array.from({ length: 4 + Math.floor(next() * 60) }, () => Math.floor(next() * 256)) };
  });
}

for (const spec of GUESTS) {
  const why = spec.unavailable();
  describe.skipIf(why !== undefined)(`damaged guest ${spec.name}${why === undefined ? '' : ` (skipped: ${why})`}`, () => {
    let disk = '';
    beforeAll(() => {
      disk = guestDisk(spec);
    }, 1_800_000);

    it(`ends every one of ${MUTATIONS_PER_GUEST} damaged inspections in an answer or a clear error`, async () => {
      const file = await openFileSource(disk);
      try {
        const reads: Array<[number, number]> = [];
        const clean = await introspect(patchedSource(file, [], reads), { inspectGuest: true });
        expect(isGuestInfo(clean.guest) && clean.guest.os !== undefined, 'the undamaged guest is identified').toBe(true);
        // Past the first 64 KiB too: the file systems' own structures, not only the partition table.
        expect(reads.some(([offset]) => offset >= 65536)).toBe(true);
        const next = random(spec.name.length * 7919 + 17);
        const outcomes = { identified: 0, warned: 0, unavailable: 0, rejected: 0 };
        for (let round = 0; round < MUTATIONS_PER_GUEST; round += 1) {
          const patches = damage(next, reads);
          try {
            const info = await introspect(patchedSource(file, patches), { inspectGuest: true });
            const guest = info.guest;
            expect(guest, `round ${round}`).toBeDefined();
            if (isGuestInfo(guest)) {
              expect(Array.isArray(guest.warnings)).toBe(true);
              if (guest.warnings.length > 0) outcomes.warned += 1;
              else outcomes.identified += 1;
            } else {
              expect(typeof guest?.unavailable, `round ${round}`).toBe('string');
              outcomes.unavailable += 1;
            }
            // The result stays JSON-safe whatever the damage.
            expect(() => JSON.stringify(info)).not.toThrow();
          } catch (error) {
            expect(isIntrospectionError(error), `round ${round}: ${String(error)}`).toBe(true);
            if (isIntrospectionError(error)) expect(error.code, `round ${round}: ${error.message}`).not.toBe('INTERNAL');
            outcomes.rejected += 1;
          }
        }
        console.log(`${spec.name}: ${JSON.stringify(outcomes)} over ${reads.length} ranges read`);
        expect(outcomes.identified + outcomes.warned + outcomes.unavailable + outcomes.rejected).toBe(MUTATIONS_PER_GUEST);
      } finally {
        await file.close();
      }
    }, 600_000);
  });
}
