/**
 * The names the command line accepts, taken from the registry: the built-in formats
 * (`formats/index.ts`), each module's safety checks, and the checks every format gets.
 *
 * @module
 */
import type { AnyContainerModule } from '../container-module.js';
import { allContainers, allFormats } from '../defaults.js';
import type { AnyFormatModule } from '../format-module.js';
import { coreChecks } from '../safety.js';

const modules: readonly AnyFormatModule[] = allFormats;
const containers: readonly AnyContainerModule[] = allContainers;

/** Every other name a module declares (qemu's `vpc`, Glance's `ploop`), lower case, with the format it names. */
const formatAliases: Readonly<Record<string, string>> = Object.fromEntries(
  modules.flatMap((module) => (module.aliases ?? []).map((alias) => [alias.toLowerCase(), module.name])),
);

/** An option a format module declares for the command line: a flag whose value is a comma-separated list. */
export interface ModuleFlag {
  /** The `IntrospectOptions` key it sets. */
  key: string;
  /** The flag, e.g. `--vmdk-allowed-types`. */
  flag: string;
  description: string;
  default: readonly string[];
}

/** The flags the format modules declare (their `options` with a `cliFlag`). */
export function moduleFlags(): ModuleFlag[] {
  return modules.flatMap((module) =>
    Object.entries(module.options ?? {}).flatMap(([key, option]) =>
      option.cliFlag === undefined ? [] : [{ key, flag: option.cliFlag, description: option.description, default: option.default }],
    ),
  );
}

/** A format the command line knows: its name, title, and the other names accepted for it. */
export interface KnownFormat {
  name: string;
  title: string;
  aliases: string[];
}

/** A safety check: its name, what it stops, and the formats it applies to (`all` for the core's). */
export interface KnownCheck {
  name: string;
  description: string;
  formats: string[] | 'all';
}

/** Every built-in format, in the registry's order. */
export function knownFormats(): KnownFormat[] {
  return modules.map((module) => ({
    name: module.name,
    title: module.title,
    aliases: Object.keys(formatAliases).filter((alias) => formatAliases[alias] === module.name),
  }));
}

/** Every safety check: the formats' and containers' own (each name once, with the modules declaring it), then the core's. */
export function knownChecks(): KnownCheck[] {
  const checks = new Map<string, KnownCheck>();
  for (const module of [...modules, ...containers] as ReadonlyArray<{ name: string; checks?: ReadonlyArray<{ name: string; description: string }> }>) {
    for (const check of module.checks ?? []) {
      const known = checks.get(check.name);
      if (known === undefined) checks.set(check.name, { name: check.name, description: check.description, formats: [module.name] });
      else if (known.formats !== 'all') known.formats.push(module.name);
    }
  }
  for (const check of coreChecks) checks.set(check.name, { ...check, formats: 'all' });
  return [...checks.values()];
}

/** The format `text` names (any case, qemu's and Glance's spellings too), or `undefined`. */
export function resolveFormatName(text: string): string | undefined {
  const lower = text.trim().toLowerCase();
  const name = formatAliases[lower] ?? lower;
  return modules.some((module) => module.name === name) ? name : undefined;
}

/** The check `text` names (any case), or `undefined`. */
export function resolveCheckName(text: string): string | undefined {
  const lower = text.trim().toLowerCase();
  return knownChecks().find((check) => check.name === lower)?.name;
}

/** The known name closest to `text` (one edit apart, or the same but for `-`/`_`), for a "did you mean". */
export function closestName(text: string, names: readonly string[]): string | undefined {
  const wanted = text.toLowerCase().replace(/-/g, '_');
  return names.find((name) => name === wanted || editDistanceAtMostOne(name, wanted));
}

function editDistanceAtMostOne(left: string, right: string): boolean {
  if (Math.abs(left.length - right.length) > 1) return false;
  let i = 0;
  let j = 0;
  let edits = 0;
  while (i < left.length && j < right.length) {
    if (left[i] === right[j]) {
      i += 1;
      j += 1;
      continue;
    }
    edits += 1;
    if (edits > 1) return false;
    if (left.length > right.length) i += 1;
    else if (right.length > left.length) j += 1;
    else {
      i += 1;
      j += 1;
    }
  }
  return edits + (left.length - i) + (right.length - j) <= 1;
}
