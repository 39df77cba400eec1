/**
 * The same answer however the bytes are asked for: from every kind of source, under random
 * hostile chunkings, and under every buffer budget (`maxBufferBytes`) and detection reach
 * (`probeBytes`), where a budget too small to decide may only say so (`LIMIT_EXCEEDED`),
 * never give another answer (issue 9).
 *
 * An answer is compared whole: the result without `bytesRead` (the verdict included), or
 * the error's code, format and field.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { type ImageSource, type IntrospectOptions, introspect, isIntrospectionError } from '../../src/index.js';
import { chunksOfSizes, comparable, makeSource, type SourceKind, sourceKinds } from './sources.js';

/** What an introspection came to, in a form that must not depend on how the bytes were read. */
export type Answer = { result: unknown } | { error: { code: string; format: string | undefined; field: string | undefined } };

/** Options to introspect with: which formats, and anything else (budgets are the property's). */
export type AnswerOptions = IntrospectOptions;

/** The answer for `source`: the comparable result, or the error. */
export async function answerOf(source: ImageSource, options: AnswerOptions = {}): Promise<Answer> {
  return introspect(source, options).then(
    (info) => ({ result: comparable(info) }),
    (error: unknown) => {
      if (!isIntrospectionError(error)) throw error;
      return { error: { code: error.code, format: error.format, field: error.field } };
    },
  );
}

/** Budgets from the smallest accepted to well past any header, most of them small. */
const maxBufferBytes = fc.oneof(fc.constantFrom(65536, 98304, 131072, 262144, 1 << 20, 4 << 20), fc.integer({ min: 65536, max: 8 << 20 }));
/** Detection reaches from nothing (the signatures' own bytes) to beyond the default. */
const probeBytes = fc.oneof(fc.constantFrom(0, 512, 4096, 65536, 1 << 20), fc.integer({ min: 0, max: 2 << 20 }));

/** A budget as the property draws it: either option may be left to its default. */
const budgets = fc.record({ maxBufferBytes: fc.option(maxBufferBytes, { nil: undefined }), probeBytes: fc.option(probeBytes, { nil: undefined }) });

/** Leaves out the options that are `undefined`, so that they take their defaults. */
function defined(options: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

/** How many runs of each property: few, because the loop runs them for every fixture. */
export interface SourceRuns {
  /** Random chunkings of a stream. */
  chunkings: number;
  /** Random budgets, each from a random kind of source. */
  budgets: number;
}

/**
 * Registers, in the current `describe`, one test per kind of source, one property over
 * random chunkings and one over budgets and kinds of source, each against the answer from
 * a byte array.
 */
export function itGivesTheSameAnswerFromEverySource(image: Uint8Array | (() => Uint8Array), runs: SourceRuns, options: AnswerOptions = {}): void {
  // A loader keeps a large image out of memory until its tests run.
  const load = typeof image === 'function' ? image : () => image;
  // The answer with room for everything: what every other way of asking must give (or LIMIT_EXCEEDED).
  const generous = { ...options, maxBufferBytes: 64 << 20, probeBytes: 64 << 20 };
  let reference: { bytes: Uint8Array; answer: Promise<Answer> } | undefined;
  const expected = () => {
    const bytes = load();
    if (reference?.bytes !== bytes) reference = { bytes, answer: answerOf(bytes, options) };
    return reference.answer;
  };

  for (const kind of sourceKinds) {
    it(`gives the same answer from a ${kind} source`, async () => {
      expect(await answerOf(makeSource(kind, load()), options)).toEqual(await expected());
    });
  }

  it('gives the same answer under random chunkings', async () => {
    const answer = await expected();
    const bytes = load();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 20 }), async (sizes) => {
        expect(await answerOf(chunksOfSizes(bytes, sizes), options)).toEqual(answer);
      }),
      { numRuns: runs.chunkings, endOnFailure: true },
    );
  });

  it('gives the same answer under every budget, or says the budget is too small (LIMIT_EXCEEDED)', async () => {
    const bytes = load();
    const answer = await answerOf(bytes, generous);
    // The default budget is one of them.
    expect(await expected(), 'the default budget').toSatisfy((given: Answer) => sameOrBudgetTooSmall(given, answer));
    await fc.assert(
      fc.asyncProperty(budgets, fc.constantFrom<SourceKind>(...sourceKinds), async (budget, kind) => {
        const given = await answerOf(makeSource(kind, bytes), { ...options, ...defined(budget) });
        if (!sameOrBudgetTooSmall(given, answer)) expect(given).toEqual(answer);
      }),
      { numRuns: runs.budgets, endOnFailure: true },
    );
  });
}

/** True when `given` is `expected`, or the refusal of a budget too small to decide. */
function sameOrBudgetTooSmall(given: Answer, expected: Answer): boolean {
  return ('error' in given && given.error.code === 'LIMIT_EXCEEDED') || isDeepStrictEqual(given, expected);
}
