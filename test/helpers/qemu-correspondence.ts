/**
 * How our result corresponds to `qemu-img info --output=json`, as data: each format's table
 * (`test/conformance/<format>.ts`) says which of our fields match which of qemu's and how
 * (whole sectors, another name, `format-specific.data.*`); {@link expectAgreesWithQemu}
 * applies any table. The conformance loop applies it to the fixtures' recorded JSON, the
 * differential tests to qemu-img run at test time, the real-world tests to the manifest's.
 *
 * What qemu's probe recognises is not in the tables: the format module declares it
 * (`qemuProbes`, which `verifyDiskFormat` relies on), and the comparison checks the
 * declaration against qemu. Where qemu took content we call X for raw, X's `qemuProbes`
 * must say false and qemu's size is the file's, rounded up to sectors (its raw driver).
 */
import { expect } from 'vitest';
import { allFormats } from '../../formats/index.js';
import type { AnyFormatModule, ImageInfoOf } from '../../src/index.js';

/** What `qemu-img info --output=json` printed (`{}` where it refused the image). */
export type QemuJson = Record<string, unknown>;

/** What a comparison knows of the image besides our result. */
export interface ImageFacts {
  /** The file's name (a fixture's, without `.gz`), to look up the table's refusals. */
  readonly name: string;
  /** The image's length in bytes. */
  readonly length: number;
}

/**
 * One of our values: a dotted path into the result (`virtualSize`, `details.clusterSize`)
 * or a function of the result and the image.
 */
export type Ours<Info> = string | ((info: Info, image: ImageFacts) => unknown);

/**
 * One correspondence. The left side is `qemu` (a field of qemu's JSON) or `ours`; the right
 * side is `ours`, `equals` (another of our values) or `is` (a constant; `is: undefined`
 * says the field is absent).
 *
 * | left + right | checks |
 * | --- | --- |
 * | `qemu` + `ours` | our value (in `sectors` if given) equals qemu's field (`qemuAs` applied, `qemuAbsent` where qemu leaves it out) |
 * | `qemu` + `is` | qemu's field is always this for the format (its dirty flag, a field it never prints) |
 * | `ours` + `is` / `equals` | a fact about our result alone (an invariant, or where qemu opened the image) |
 */
export interface Rule<Info> {
  /** Why the values correspond (the reference tool's source, the spec), shown when the rule fails. */
  readonly why?: string;
  readonly qemu?: string;
  /** Projects qemu's value before comparing (e.g. the fields of its extent list we report). */
  readonly qemuAs?: (value: unknown) => unknown;
  /** What an absent qemu field stands for (qemu leaves out an empty snapshot list). */
  readonly qemuAbsent?: unknown;
  readonly ours?: Ours<Info>;
  /** Our value in whole 512-byte sectors, as qemu counts them: rounded down or up. */
  readonly sectors?: 'down' | 'up';
  readonly equals?: Ours<Info>;
  readonly is?: unknown;
  /** The rule applies only where this holds. */
  when?(info: Info): boolean;
}

/**
 * What we do with an image that qemu-img refuses to open (recorded as `{}`), and why: read
 * it with a warning saying so, reject it with an error, or (a gap to close) read it without
 * a word.
 */
export type Refusal = { readonly why: string } & (
  | { readonly warning: RegExp }
  | { readonly error: { readonly code: string; readonly field: string } }
  | { readonly silently: true }
);

/**
 * One format's correspondence with qemu-img.
 *
 * | field | meaning |
 * | --- | --- |
 * | `qemuFormat` | qemu's name for the format where it is not ours (`vpc` for `vhd`) |
 * | `fields` | where qemu opened the image as this format: how its fields match ours; one rule must be about `virtual-size` |
 * | `invariants` | what holds of every result, whatever qemu said (relations between our own fields) |
 * | `refused` | the fixtures qemu refuses (`{}` recorded), each with what we do instead |
 * | `qemuOpensUnprobed` | where qemu names the format although its probe would not (by the file's name, or run with `-f`) |
 * | `qemuProbesOverstated` | images qemu takes for raw although the module declares `qemuProbes` true: a known gap in the module's declaration, checked to still exist so that the entry goes once the module is fixed |
 */
export interface Correspondence<Info> {
  readonly qemuFormat?: string;
  readonly fields: readonly Rule<Info>[];
  readonly invariants?: readonly Rule<Info>[];
  readonly refused?: Readonly<Record<string, Refusal>>;
  readonly qemuOpensUnprobed?: { readonly why: string; when(info: Info): boolean };
  readonly qemuProbesOverstated?: { readonly why: string; readonly images: readonly string[] };
}

/** Any format's result. */
export type AnyInfo = ImageInfoOf<string, unknown>;

/** The value at a dotted path (`format-specific.data.cid`), or `undefined`. */
export function valueAt(object: unknown, path: string): unknown {
  let value = object;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function ours<Info>(value: Ours<Info>, info: Info, image: ImageFacts): unknown {
  return typeof value === 'function' ? value(info, image) : valueAt(info, value);
}

function inSectors(value: unknown, sectors: Rule<unknown>['sectors']): unknown {
  if (sectors === undefined || typeof value !== 'number') return value;
  return (sectors === 'down' ? Math.floor(value / 512) : Math.ceil(value / 512)) * 512;
}

function describeRule(rule: Rule<unknown>): string {
  const left = rule.qemu === undefined ? `ours ${typeof rule.ours === 'string' ? rule.ours : '(computed)'}` : `qemu ${rule.qemu}`;
  return `${left}${rule.why === undefined ? '' : ` (${rule.why})`}`;
}

/** Applies rules to a result (and qemu's JSON, for the rules that name a qemu field). */
export function applyRules<Info>(rules: readonly Rule<Info>[], info: Info, qemu: QemuJson, image: ImageFacts): void {
  for (const rule of rules) {
    if (rule.when !== undefined && !rule.when(info)) continue;
    const message = describeRule(rule as Rule<unknown>);
    const hasConstant = Object.hasOwn(rule, 'is');
    if (rule.qemu !== undefined) {
      const raw = valueAt(qemu, rule.qemu);
      const theirs = (rule.qemuAs ?? ((value: unknown) => value))(raw === undefined ? rule.qemuAbsent : raw);
      if (rule.ours !== undefined) expect(inSectors(ours(rule.ours, info, image), rule.sectors), message).toEqual(theirs);
      else if (hasConstant) expect(theirs, message).toEqual(rule.is);
      else throw new Error(`a rule on qemu's ${rule.qemu} says neither ours nor is`);
    } else if (rule.ours !== undefined) {
      const value = inSectors(ours(rule.ours, info, image), rule.sectors);
      if (rule.equals !== undefined) expect(value, message).toEqual(ours(rule.equals, info, image));
      else if (hasConstant) expect(value, message).toEqual(rule.is);
      else throw new Error('a rule on our own value says neither equals nor is');
    } else {
      throw new Error('a rule names neither a qemu field nor one of ours');
    }
  }
}

/** True where the module declares that qemu's probe recognises this content as its format. */
export function declaredQemuProbes(module: AnyFormatModule, details: unknown): boolean {
  const probes = module.qemuProbes;
  return typeof probes === 'function' ? probes(details) : probes === true;
}

/** Our name for a format qemu names (`vpc` is `vhd`): a module's name or one of its aliases. */
export function ourFormatName(qemuFormat: string, formats: readonly AnyFormatModule[] = allFormats): string {
  return formats.find((module) => module.name === qemuFormat || (module.aliases ?? []).includes(qemuFormat))?.name ?? qemuFormat;
}

/**
 * Checks a result against what qemu-img printed for the same image (not `{}`: see
 * {@link expectRefusalDocumented}), with the format's table and module:
 *
 * 1. qemu says raw for content we call another format: the module's `qemuProbes` must say
 *    false for it, and qemu's size is the file's in whole sectors;
 * 2. qemu names our format: the table's `fields` hold, and where the module says qemu would
 *    not probe it, the table must say how qemu opened it anyway (`qemuOpensUnprobed`);
 * 3. always: the table's `invariants`.
 */
export function expectAgreesWithQemu<Info extends AnyInfo>(
  result: AnyInfo,
  qemu: QemuJson,
  image: ImageFacts,
  correspondence: Correspondence<Info>,
  module: AnyFormatModule,
): void {
  const info = result as Info;
  expect(Object.keys(qemu), `${image.name}: qemu-img refused this image; document it in the table's refused`).not.toHaveLength(0);
  expect(module.name).toBe(info.format);
  const probes = declaredQemuProbes(module, info.details);
  const overstated = correspondence.qemuProbesOverstated?.images.includes(image.name) === true;
  if (qemu.format === 'raw' && module.fallback !== true) {
    expect(qemu['virtual-size'], `${image.name}: qemu's raw driver reports the file's length in whole sectors`).toBe(Math.ceil(image.length / 512) * 512);
    if (overstated) {
      expect(probes, `${image.name} is listed in qemuProbesOverstated, but the module now declares qemuProbes false for it: remove the entry`).toBe(true);
    } else {
      expect(probes, `${image.name}: qemu's probe takes this ${info.format} image for raw, so ${info.format}'s qemuProbes must say false`).toBe(false);
    }
  } else {
    expect([module.name, ...(module.aliases ?? [])], `qemu names it ${String(qemu.format)}`).toContain(qemu.format);
    if (correspondence.qemuFormat !== undefined) expect(qemu.format).toBe(correspondence.qemuFormat);
    if (!probes && module.fallback !== true) {
      expect(
        correspondence.qemuOpensUnprobed?.when(info) ?? false,
        `${image.name}: qemu named it ${String(qemu.format)} though ${info.format}'s qemuProbes says its probe would not; say how in qemuOpensUnprobed`,
      ).toBe(true);
    }
    expect(correspondence.fields.some((rule) => rule.qemu === 'virtual-size'), `the ${info.format} table says how qemu's virtual-size corresponds`).toBe(true);
    applyRules(correspondence.fields, info, qemu, image);
  }
  applyRules(correspondence.invariants ?? [], info, qemu, image);
}

/**
 * For an image qemu-img refused (`{}` recorded): the table must say what we do instead, and
 * we must do it: read it with the warning named, or reject it with the code and field named.
 */
export function expectRefusalDocumented<Info>(
  outcome: { info: AnyInfo } | { error: { code: string; field: string | undefined } },
  image: ImageFacts,
  correspondence: Correspondence<Info>,
): void {
  const refusal = correspondence.refused?.[image.name];
  expect(refusal, `${image.name}: qemu-img refuses it; the table's refused must say what we do instead`).toBeDefined();
  if (refusal === undefined) return;
  if ('warning' in refusal) {
    if (!('info' in outcome)) expect.fail(`${image.name}: ${refusal.why}; we rejected it instead: ${JSON.stringify(outcome.error)}`);
    expect(outcome.info.warnings.join('\n'), `${image.name}: ${refusal.why}`).toMatch(refusal.warning);
  } else if ('error' in refusal) {
    if (!('error' in outcome)) expect.fail(`${image.name}: ${refusal.why}; we read it instead`);
    expect(outcome.error, `${image.name}: ${refusal.why}`).toMatchObject(refusal.error);
  } else {
    if (!('info' in outcome)) expect.fail(`${image.name}: ${refusal.why}; we rejected it instead: ${JSON.stringify(outcome.error)}`);
    expect(outcome.info.warnings, `${image.name}: ${refusal.why}; we have a warning now: say which in the table`).toEqual([]);
  }
}
