/**
 * The same answer whatever the source: registers, inside the current `describe`, one test
 * per kind of source and one property test over random chunkings, each comparing with the
 * answer from a plain byte array (a result, or the error's code and field).
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { introspect, isIntrospectionError, type ImageSource } from '../../src/index.js';
import { chunksOfSizes, comparable, makeSource, sourceKinds } from './sources.js';

/** The comparable part of a result, or of the error an image gives. */
async function outcome(source: ImageSource): Promise<unknown> {
  return introspect(source).then(comparable, (error: unknown) =>
    isIntrospectionError(error) ? { code: error.code, format: error.format, field: error.field } : String(error),
  );
}

/** Registers the tests: every kind of source, then `numRuns` random chunkings. */
export function itGivesTheSameResultFromEverySource(bytes: Uint8Array, numRuns = 25): void {
  for (const kind of sourceKinds) {
    it(`gives the same result from a ${kind} source`, async () => {
      expect(await outcome(makeSource(kind, bytes))).toEqual(await outcome(bytes));
    });
  }
  it('gives the same result under random chunkings', async () => {
    const reference = await outcome(bytes);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 20 }), async (sizes) => {
        expect(await outcome(chunksOfSizes(bytes, sizes))).toEqual(reference);
      }),
      { numRuns },
    );
  });
}
