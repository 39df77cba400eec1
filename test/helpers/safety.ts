/**
 * Helpers for safety tests: the outcome of one named check in a verdict.
 */
import { expect } from 'vitest';
import type { ImageInfoOf } from '../../src/index.js';

/** The named check, which must be listed. */
export function checkOf(info: ImageInfoOf<string, unknown>, name: string) {
  const check = info.safety.checks.find((candidate) => candidate.name === name);
  expect(check, `check ${name} in ${info.safety.checks.map((candidate) => candidate.name).join(', ')}`).toBeDefined();
  return check as NonNullable<typeof check>;
}

/** Asserts that the check failed, that the verdict is unsafe, and that the reason matches. */
export function expectFails(info: ImageInfoOf<string, unknown>, name: string, reason: RegExp): void {
  const check = checkOf(info, name);
  expect(check.passed, `${name}: ${check.reason}`).toBe(false);
  expect(check.reason).toMatch(reason);
  expect(info.safety.safe).toBe(false);
}

/** Asserts that the check passed. */
export function expectPasses(info: ImageInfoOf<string, unknown>, name: string): void {
  const check = checkOf(info, name);
  expect(check.passed, `${name}: ${check.reason}`).toBe(true);
}

/** Asserts that every check passed. */
export function expectSafe(info: ImageInfoOf<string, unknown>): void {
  const failed = info.safety.checks.filter((check) => !check.passed);
  expect(failed, JSON.stringify(failed)).toEqual([]);
  expect(info.safety.safe).toBe(true);
}
