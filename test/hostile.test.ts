/**
 * Hostile input, in the regular suite (bounded so that it stays fast; `npm run fuzz` runs
 * the long version): for every fixture, random byte mutations, truncations at every
 * interesting offset, and random chunkings. Every run ends with an ImageInfo or an
 * IntrospectionError other than INTERNAL, holding no more than the budget.
 */
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { introspect, isIntrospectionError } from '../src/index.js';
import { fixtures, fixturesRoot } from './helpers/fixtures.js';
import { chunksOfSizes } from './helpers/sources.js';

// Disk-image fixture folders only (test/fixtures/ovf holds descriptors, read by test/containers).
const folders = readdirSync(fixturesRoot, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && fixtures(entry.name).length > 0)
  .map((entry) => entry.name);
/** A budget well below the default, so that an image that tries to make us hold more is caught. */
const BUDGET = 256 * 1024;

/** The outcome must be a result or a library error that is not a bug. */
async function expectControlled(source: Parameters<typeof introspect>[0], label: string): Promise<void> {
  const before = process.memoryUsage().arrayBuffers;
  const outcome = await introspect(source, { maxBufferBytes: BUDGET }).catch((error: unknown) => error);
  const grown = process.memoryUsage().arrayBuffers - before;
  if (isIntrospectionError(outcome)) {
    expect(outcome.code, `${label}: ${outcome.message}`).not.toBe('INTERNAL');
  } else {
    expect(outcome instanceof Error, `${label}: ${String(outcome)}`).toBe(false);
    expect(() => JSON.stringify(outcome), label).not.toThrow();
  }
  // Allocation by the library is bounded by the budget (garbage from earlier runs aside).
  expect(grown, label).toBeLessThan(64 * 1024 * 1024);
}

/** Offsets where a truncation cuts a structure: sector and header boundaries, and around them. */
function interestingCuts(length: number): number[] {
  const cuts = new Set<number>([0, 1, 3, 4, 7, 8, 15, 16, 63, 64, 72, 100, 104, 255, 256, 511, 512, 513, 1024, 1535, 1536, 2048, 4096, 32768, 32769, 34816, 65536, 65537, 131072, 196608]);
  for (const cut of [length - 1, length - 512, length - 513, length - 1536]) cuts.add(cut);
  return [...cuts].filter((cut) => cut >= 0 && cut < length).sort((a, b) => a - b);
}

for (const folder of folders) {
  describe(`hostile ${folder}`, () => {
    for (const fixture of fixtures(folder)) {
      const bytes = fixture.bytes();
      // Keep the mutated copies small: the headers are in the first 256 KiB and the footers at the end.
      const sample = bytes.byteLength <= 512 * 1024 ? bytes : new Uint8Array([...bytes.subarray(0, 256 * 1024), ...bytes.subarray(bytes.byteLength - 4096)]);

      it(`${fixture.name}: truncated at every interesting offset`, async () => {
        for (const cut of interestingCuts(sample.byteLength)) await expectControlled(sample.subarray(0, cut), `cut at ${cut}`);
      });

      it(`${fixture.name}: random mutations through random chunkings`, async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.record({ offset: fc.nat({ max: Math.min(sample.byteLength - 1, 70_000) }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 12 }),
            fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 8 }),
            fc.boolean(),
            async (writes, sizes, asStream) => {
              const mutated = sample.slice();
              for (const { offset, value } of writes) mutated[offset] = value;
              const label = JSON.stringify(writes);
              await expectControlled(asStream ? chunksOfSizes(mutated, sizes) : mutated, label);
            },
          ),
          { numRuns: 12 },
        );
      });
    }
  });
}
