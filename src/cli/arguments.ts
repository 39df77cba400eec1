/**
 * The command line's arguments: a table of options (so that format modules can declare
 * options of their own as data), a parser for the usual forms (`--name value`,
 * `--name=value`, `-j4`, `-rj 4`, `--` ending the options, `-` for standard input), and
 * the help text built from the table and the registry.
 *
 * @module
 */
import { availableParallelism } from 'node:os';
import type { BuiltinFormat } from '../../formats/index.js';
import type { IntrospectOptions } from '../options.js';
import { parseHeaderArgument } from './remote.js';
import { type CliRegistry, type ModuleFlag, closestName, defaultRegistry, knownChecks, knownFormats, moduleFlags, resolveCheckName, resolveFormatName } from './names.js';

/** How results are printed. */
export type OutputMode = 'text' | 'json' | 'ndjson' | 'glance';

/**
 * The most images introspected at once from the command line: each holds an open file
 * and up to `maxBufferBytes` (16 MiB) of memory, and the usual soft limit on open files
 * is 1024.
 */
export const MAX_JOBS = 512;

/** What the command line asks for. */
export interface Settings {
  /** Paths as given (directories expanded later), `-` for standard input. */
  files: string[];
  output: OutputMode;
  /** How the output mode was asked for, to name it if another option contradicts it. */
  outputOption: string | undefined;
  jobs: number;
  recursive: boolean;
  /** Options for every introspection: the command's, and those the format modules declare. */
  introspect: Pick<IntrospectOptions<BuiltinFormat>, 'expectedFormat' | 'allowChecks' | 'inspectGuest'> & { backingChain?: boolean } & Record<string, unknown>;
  /** Headers sent with every request to a URL argument (`--header`), by name. */
  headers: Record<string, string>;
  help: boolean;
  version: boolean;
  /** The modules this command line knows (names, checks, flags), passed to every introspection. */
  registry: CliRegistry;
}

/** A mistake in the arguments: printed as one line, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * One option. `value` names its argument (`N`, `FORMAT`); without it the option is a flag.
 * `apply` stores what it means in the settings, throwing {@link UsageError} for a bad value.
 */
export interface CliOption {
  long: string;
  short?: string;
  value?: string;
  description: string;
  apply(settings: Settings, value: string, spelled: string): void;
}

function setOutput(settings: Settings, mode: OutputMode, spelled: string): void {
  if (settings.outputOption !== undefined && settings.output !== mode) {
    throw new UsageError(`${spelled} contradicts ${settings.outputOption}: choose one output format`);
  }
  settings.output = mode;
  settings.outputOption = spelled;
}

function positiveInteger(text: string, spelled: string, maximum: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > maximum) {
    throw new UsageError(`${spelled} needs a whole number from 1 to ${maximum}, not "${text}"`);
  }
  return value;
}

function commaList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** Refuses a name that is not one of `names`, listing them (and the nearest one, for a typo). */
function unknownName(spelled: string, what: string, value: string, names: readonly string[]): never {
  const guess = closestName(value, names);
  throw new UsageError(`${spelled}: unknown ${what} "${value}"${guess === undefined ? '' : ` (did you mean ${guess}?)`}; the ${what}s are ${names.join(', ')}`);
}

/** The command's own options. */
const commandOptions: CliOption[] = [
  { long: 'json', description: 'print JSON: one object for one image, an array (in input order) for several', apply: (settings, _value, spelled) => setOutput(settings, 'json', spelled) },
  { long: 'ndjson', description: 'print one JSON object per line, as each image finishes', apply: (settings, _value, spelled) => setOutput(settings, 'ndjson', spelled) },
  {
    long: 'glance',
    description: 'print the OpenStack Glance image properties the content proves, as JSON (see also: image-introspect glance --help)',
    apply: (settings, _value, spelled) => setOutput(settings, 'glance', spelled),
  },
  {
    long: 'output',
    value: 'FMT',
    description: "qemu-img's spelling: human (the default text), json, or ndjson",
    apply(settings, value, spelled) {
      const mode = ({ human: 'text', text: 'text', json: 'json', ndjson: 'ndjson' } as const)[value.toLowerCase() as 'human'];
      if (mode === undefined) throw new UsageError(`${spelled} must be human, json or ndjson, not "${value}"`);
      setOutput(settings, mode, `${spelled}=${value}`);
    },
  },
  {
    long: 'expect',
    value: 'FORMAT',
    description: 'fail an image whose content is not FORMAT (reading stops as soon as it cannot be)',
    apply(settings, value, spelled) {
      const name = resolveFormatName(value, settings.registry) ?? unknownName(spelled, 'format', value, knownFormats(settings.registry).flatMap((format) => [format.name, ...format.aliases]));
      settings.introspect.expectedFormat = name as Settings['introspect']['expectedFormat'];
    },
  },
  {
    long: 'allow-check',
    value: 'CHECK',
    description: 'treat a failed safety check CHECK as a warning (repeatable)',
    apply(settings, value, spelled) {
      const name = resolveCheckName(value, settings.registry) ?? unknownName(spelled, 'check', value, knownChecks(settings.registry).map((check) => check.name));
      settings.introspect.allowChecks = [...(settings.introspect.allowChecks ?? []), name] as Settings['introspect']['allowChecks'];
    },
  },
  {
    long: 'inspect-guest',
    description: 'look inside the guest: its partitions, file systems, operating system, architecture, hostname and firmware (reads more of each image)',
    apply: (settings) => {
      settings.introspect.inspectGuest = true;
    },
  },
  {
    long: 'backing-chain',
    description: 'also read each backing image, as qemu-img info --backing-chain (--json: an array per image, the image first)',
    apply: (settings) => {
      settings.introspect.backingChain = true;
    },
  },
  {
    long: 'header',
    value: "'NAME: VALUE'",
    description: 'send this header with every request to a URL argument (a token; repeatable)',
    apply(settings, value) {
      const header = parseHeaderArgument(value);
      if ('error' in header) throw new UsageError(header.error);
      settings.headers[header.name] = header.value;
    },
  },
  {
    long: 'jobs',
    short: 'j',
    value: 'N',
    description: 'introspect N images at once (default: the number of CPUs)',
    apply: (settings, value, spelled) => {
      settings.jobs = positiveInteger(value, spelled, MAX_JOBS);
    },
  },
  {
    long: 'recursive',
    short: 'r',
    description: 'descend into the subdirectories of a directory',
    apply: (settings) => {
      settings.recursive = true;
    },
  },
  {
    long: 'help',
    short: 'h',
    description: 'show this help',
    apply: (settings) => {
      settings.help = true;
    },
  },
  {
    long: 'version',
    description: 'print the version',
    apply: (settings) => {
      settings.version = true;
    },
  },
];

/** A format module's flag as a command-line option: a comma-separated list for its `IntrospectOptions` key. */
function flagOption(flag: ModuleFlag): CliOption {
  return {
    long: flag.flag.replace(/^--/, ''),
    value: 'LIST',
    description: `${flag.description} (comma-separated; default ${flag.default.join(',')})`,
    apply(settings, value, spelled) {
      const list = commaList(value);
      if (list.length === 0) throw new UsageError(`${spelled} needs at least one value`);
      settings.introspect[flag.key] = list;
    },
  };
}

/** Every option of a command line with these modules, in the order `--help` lists them: the command's, then the flags the format modules declare (VMDK's allowed create types). */
export function cliOptionsFor(registry: CliRegistry): readonly CliOption[] {
  return [...commandOptions, ...moduleFlags(registry).map(flagOption)];
}

/** Every option of the command line with the built-in modules. */
export const cliOptions: readonly CliOption[] = cliOptionsFor(defaultRegistry);

function defaultSettings(registry: CliRegistry): Settings {
  return { files: [], output: 'text', outputOption: undefined, jobs: availableParallelism(), recursive: false, introspect: {}, headers: {}, help: false, version: false, registry };
}

/**
 * Parses the arguments (without `node` and the script).
 *
 * @throws {@link UsageError} for an unknown option, a missing or bad value, standard input
 *   named twice.
 */
export function parseArguments(argv: readonly string[], registry: CliRegistry = defaultRegistry): Settings {
  const options = registry === defaultRegistry ? cliOptions : cliOptionsFor(registry);
  const settings = defaultSettings(registry);
  const byLong = new Map(options.map((option) => [option.long, option]));
  const byShort = new Map(options.filter((option) => option.short !== undefined).map((option) => [option.short as string, option]));
  let index = 0;
  const nextValue = (spelled: string): string => {
    index += 1;
    const value = argv[index];
    if (value === undefined) throw new UsageError(`${spelled} needs a value`);
    return value;
  };
  for (; index < argv.length; index += 1) {
    const argument = argv[index] as string;
    if (argument === '--') {
      settings.files.push(...argv.slice(index + 1));
      break;
    }
    if (argument === '-' || !argument.startsWith('-')) {
      settings.files.push(argument);
    } else if (argument.startsWith('--')) {
      const equals = argument.indexOf('=');
      const spelled = equals === -1 ? argument : argument.slice(0, equals);
      const option = byLong.get(spelled.slice(2));
      if (option === undefined) throw new UsageError(`unknown option ${spelled}`);
      if (option.value === undefined) {
        if (equals !== -1) throw new UsageError(`${spelled} takes no value`);
        option.apply(settings, '', spelled);
      } else {
        const value = equals === -1 ? nextValue(spelled) : argument.slice(equals + 1);
        if (value === '') throw new UsageError(`${spelled} needs a value`);
        option.apply(settings, value, spelled);
      }
    } else {
      // Short options: flags may be grouped (-rh); one taking a value takes the rest of the
      // word (-j4) or the next argument (-j 4).
      for (let position = 1; position < argument.length; position += 1) {
        const spelled = `-${argument[position]}`;
        const option = byShort.get(argument[position] as string);
        if (option === undefined) throw new UsageError(`unknown option ${spelled}`);
        if (option.value === undefined) {
          option.apply(settings, '', spelled);
          continue;
        }
        const rest = argument.slice(position + 1);
        option.apply(settings, rest === '' ? nextValue(spelled) : rest, spelled);
        break;
      }
    }
  }
  if (settings.files.filter((file) => file === '-').length > 1) {
    throw new UsageError('standard input (-) can be read only once: name it once');
  }
  return settings;
}

/** The `--help` text: usage, the options from the table, the formats and checks from the registry. */
export function helpText(registry: CliRegistry = defaultRegistry): string {
  const options = registry === defaultRegistry ? cliOptions : cliOptionsFor(registry);
  const spelled = (option: CliOption) =>
    `${option.short === undefined ? '    ' : `-${option.short}, `}--${option.long}${option.value === undefined ? '' : ` ${option.value}`}`;
  const width = Math.max(...options.map((option) => spelled(option).length)) + 2;
  const optionLines = options.map((option) => `  ${spelled(option).padEnd(width)}${option.description}`);
  const formats = knownFormats(registry);
  const formatWidth = Math.max(...formats.map((format) => format.name.length)) + 2;
  const formatLines = formats.map(
    (format) => `  ${format.name.padEnd(formatWidth)}${format.title}${format.aliases.length === 0 ? '' : ` (also: ${format.aliases.join(', ')})`}`,
  );
  const checks = knownChecks(registry);
  const checkWidth = Math.max(...checks.map((check) => check.name.length)) + 2;
  const checkLines = checks.map(
    (check) => `  ${check.name.padEnd(checkWidth)}${check.description} [${check.formats === 'all' ? 'every format' : check.formats.join(', ')}]`,
  );
  return `Usage: image-introspect [options] [--] FILE|DIRECTORY|URL|- ...

Reads the metadata inside virtual-machine disk images, as qemu-img info prints it, with a
safety verdict. A directory stands for the files in it (symbolic links followed, dot-files
included; subdirectories with -r); an http:// or https:// URL is read by range requests;
- reads standard input as a stream (curl --fail URL | image-introspect -).

Options:
${optionLines.join('\n')}

Formats (--expect takes these names, in any case):
${formatLines.join('\n')}

Safety checks (--allow-check takes these names):
${checkLines.join('\n')}

Exit status: 0 when every image was introspected and is safe, 1 when an image failed a
safety check or was not the expected format, 2 when an image could not be introspected or
the arguments were wrong, 130 when interrupted (what finished is printed).`;
}
