/**
 * Safety verdicts: named checks that stop the known attacks with uploaded images.
 *
 * A format module declares the checks that apply to its format (a qcow2's backing file, a
 * VMDK descriptor's extents); the core adds the checks that apply to every format
 * (`multiple_formats`, `parse_error`). Every check that applies is listed in the verdict,
 * passed or not, with a reason saying what was found. `docs/safety.md` explains each one.
 *
 * @module
 */

/** The outcome of one check. */
export interface SafetyCheckResult {
  /** The check's stable name, e.g. `backing_file`. */
  name: string;
  /** False when the image fails the check. */
  passed: boolean;
  /** What was found: the backing file's name, the offending extent line, the bit that is set. */
  reason?: string;
  /** True when the check failed but the caller asked to treat it as a warning (`allowChecks`). */
  waived?: boolean;
}

/** The verdict on one image. */
export interface SafetyVerdict {
  /** True when every check passed (or failed only where waived). */
  safe: boolean;
  /** Every check that applies to the detected format, in a stable order. */
  checks: SafetyCheckResult[];
}

/**
 * Options that change what the checks accept. Modules add their own (VMDK's
 * `vmdkAllowedTypes`): see {@link ModuleOption}.
 */
export interface SafetyOptions<CheckName extends string = string, FormatName extends string = string> {
  /**
   * Names of checks whose failure is only a warning (like Glance's
   * `gpt_safety_checks_nonfatal`): they stay in `checks`, marked `waived`, and do not make
   * the image unsafe.
   */
  allowChecks?: readonly CheckName[];
  /** Formats that are never safe. Default: the modules that say so (`bannedByDefault`: QED, which nobody runs yet qemu still probes). */
  bannedFormats?: readonly FormatName[];
}

/**
 * The checks the core runs on every format, whatever the modules declare (`other_disks`
 * only where a layer holds more than one disk).
 */
export const coreCheckNames = ['banned', 'multiple_formats', 'parse_error', 'other_disks'] as const;

/** What each core check stops, as `docs/safety.md` explains it (for `--help` and listings). */
export const coreChecks: ReadonlyArray<{ name: CoreCheckName; description: string }> = [
  { name: 'banned', description: 'the format is one that is never safe (bannedFormats; by default those their modules ban)' },
  { name: 'multiple_formats', description: 'the bytes are valid as more than one format (a "format gadget")' },
  { name: 'parse_error', description: 'a structure the format declares could not be read' },
  { name: 'other_disks', description: 'a layer holding several disks (an appliance archive) has one that is unsafe' },
];

/** The name of a check the core runs on every format. */
export type CoreCheckName = (typeof coreCheckNames)[number];

/** What a check sees besides the details. */
export interface SafetyCheckContext<Options = {}> {
  /** The caller's options with defaults applied: the core's, and the module's own. */
  readonly options: { readonly allowChecks: readonly string[]; readonly bannedFormats: readonly string[] } & Readonly<Options>;
  /** The virtual size the parser reported. */
  readonly virtualSize: number;
  /** Every format whose signature matched. */
  readonly matchedFormats: readonly string[];
  /** The fallback format's name (`raw`), which appears in `matchedFormats` when the start holds a partition table. */
  readonly fallbackName?: string | undefined;
}

/** A check's answer: passed or not, and why. */
export interface SafetyCheckOutcome {
  passed: boolean;
  reason?: string;
}

/**
 * One named check a format module declares.
 *
 * | field | meaning |
 * | --- | --- |
 * | `name` | stable, snake_case, the same name OpenStack uses where it has one |
 * | `description` | the attack it stops, one line |
 * | `run` | decides from the parsed details alone (no further reads) |
 */
export interface SafetyCheck<Details, Name extends string = string, Options = {}> {
  readonly name: Name;
  readonly description: string;
  readonly run: (details: Details, context: SafetyCheckContext<Options>) => SafetyCheckOutcome;
}

/** A passed outcome with a reason. */
export function pass(reason?: string): SafetyCheckOutcome {
  return reason === undefined ? { passed: true } : { passed: true, reason };
}

/** A failed outcome with its reason. */
export function fail(reason: string): SafetyCheckOutcome {
  return { passed: false, reason };
}

/** Builds the verdict from the outcomes, waiving the checks the caller allowed. */
export function verdict(results: Array<{ name: string } & SafetyCheckOutcome>, allowChecks: readonly string[]): SafetyVerdict {
  const checks = results.map((result): SafetyCheckResult => {
    const entry: SafetyCheckResult = { name: result.name, passed: result.passed };
    if (result.reason !== undefined) entry.reason = result.reason;
    if (!result.passed && allowChecks.includes(result.name)) entry.waived = true;
    return entry;
  });
  return { safe: checks.every((check) => check.passed || check.waived === true), checks };
}
