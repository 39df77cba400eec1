/**
 * The error a promise rejects with, which must be an IntrospectionError (from any copy of
 * the library): a promise that resolves, or rejects with anything else, fails the test.
 */
import { expect } from 'vitest';
import { type IntrospectionError, isIntrospectionError } from '../../src/index.js';

export async function rejectionOf(promise: Promise<unknown>): Promise<IntrospectionError> {
  const outcome = await promise.then(
    (value) => ({ resolved: value }),
    (error: unknown) => ({ error }),
  );
  if ('resolved' in outcome) expect.fail(`expected a rejection, got ${JSON.stringify(outcome.resolved)?.slice(0, 200)}`);
  expect(isIntrospectionError(outcome.error), String(outcome.error)).toBe(true);
  return outcome.error as IntrospectionError;
}
