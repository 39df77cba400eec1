/**
 * The names the command line accepts, taken from the registry it runs with (the built-in
 * formats and containers by default, or the lists given to `run`): the formats and their
 * aliases, each module's safety checks and flags, and the checks every format gets.
 *
 * @module
 */
import type { AnyContainerModule } from '../container-module.js';
import { allContainers, allFormats } from '../defaults.js';
import type { AnyFormatModule } from '../format-module.js';
import { coreChecks } from '../safety.js';

/** The modules a command line knows: what `run` was given, or the built-in lists. */
export interface CliRegistry {
  readonly formats: readonly AnyFormatModule[];
  readonly containers?: readonly AnyContainerModule[] | undefined;
}

/** The built-in formats and containers. */
export const defaultRegistry: CliRegistry = { formats: allFormats, containers: allContainers };

/** Every other name a module declares (qemu's `vpc`, Glance's `ploop`), lower case, with the format it names. */
function formatAliases(registry: CliRegistry): Readonly<Record<string, string>> {
  return Object.fromEntries(registry.formats.flatMap((module) => (module.aliases ?? []).map((alias) => [alias.toLowerCase(), module.name])));
}

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
export function moduleFlags(registry: CliRegistry = defaultRegistry): ModuleFlag[] {
  return registry.formats.flatMap((module) =>
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
export function knownFormats(registry: CliRegistry = defaultRegistry): KnownFormat[] {
  const aliases = formatAliases(registry);
  return registry.formats.map((module) => ({
    name: module.name,
    title: module.title,
    aliases: Object.keys(aliases).filter((alias) => aliases[alias] === module.name),
  }));
}

/** Every safety check: the formats' and containers' own (each name once, with the modules declaring it), then the core's. */
export function knownChecks(registry: CliRegistry = defaultRegistry): KnownCheck[] {
  const checks = new Map<string, KnownCheck>();
  for (const module of [...registry.formats, ...(registry.containers ?? [])] as ReadonlyArray<{ name: string; checks?: ReadonlyArray<{ name: string; description: string }> }>) {
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
export function resolveFormatName(text: string, registry: CliRegistry = defaultRegistry): string | undefined {
  const lower = text.trim().toLowerCase();
  const name = formatAliases(registry)[lower] ?? lower;
  return registry.formats.some((module) => module.name === name) ? name : undefined;
}

/** The check `text` names (any case), or `undefined`. */
export function resolveCheckName(text: string, registry: CliRegistry = defaultRegistry): string | undefined {
  const lower = text.trim().toLowerCase();
  return knownChecks(registry).find((check) => check.name === lower)?.name;
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
