/**
 * The safety verdict on one parsed image: the format's own checks, then the checks every
 * format gets (`banned`, `multiple_formats`, `parse_error`). See docs/safety.md.
 *
 * @module
 */
import type { AnyFormatModule } from './format-module.js';
import { type SafetyCheckContext, type SafetyCheckOutcome, type SafetyVerdict, fail, pass, verdict } from './safety.js';

/** Runs the format's checks and the checks every format gets. */
export function judge(module: AnyFormatModule, details: unknown, context: SafetyCheckContext, incomplete: readonly string[]): SafetyVerdict {
  const results: Array<{ name: string } & SafetyCheckOutcome> = [];
  if (context.options.bannedFormats.includes(module.name)) {
    results.push({ name: 'banned', ...fail(`${module.name} images are not allowed`) });
  }
  for (const check of module.checks ?? []) {
    let outcome: SafetyCheckOutcome;
    try {
      outcome = check.run(details, context);
    } catch (error) {
      // A check that cannot decide is a failed check, never a crash.
      outcome = fail(`the check could not run: ${error instanceof Error ? error.message : String(error)}`);
    }
    results.push({ name: check.name, ...outcome });
  }
  results.push({ name: 'multiple_formats', ...multipleFormats(module, details, context.matchedFormats, context.fallbackName) });
  results.push({
    name: 'parse_error',
    ...(incomplete.length === 0 ? pass() : fail(`not every ${module.name} structure could be read: ${incomplete.join('; ')}`)),
  });
  return verdict(results, context.options.allowChecks);
}

/**
 * More than one reading of the same bytes is the "format gadget" attack, with one
 * exception: a format whose guest data starts at byte 0 (an ISO's system area, a fixed
 * VHD, a DMG's data fork) naturally shows the guest's partition table there.
 */
function multipleFormats(module: AnyFormatModule, details: unknown, matched: readonly string[], fallbackName: string | undefined): SafetyCheckOutcome {
  const others = matched.filter((name) => name !== module.name);
  if (others.length === 0) return pass();
  const guestAtStart = typeof module.guestDataAtStart === 'function' ? module.guestDataAtStart(details) : module.guestDataAtStart === true;
  if (guestAtStart && others.length === 1 && others[0] === fallbackName) {
    return pass(`the partition table at the start belongs to the ${module.name} image's contents`);
  }
  return fail(`the bytes are also a valid ${others.map((name) => (name === fallbackName ? `${name} disk (a partition table at the start)` : name)).join(', ')}${others.length > 1 ? '' : ' image'}`);
}

