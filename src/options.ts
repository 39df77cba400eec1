/**
 * Options shared by `introspect`, `inspect` and `introspectFile`: their types, defaults and
 * validation.
 *
 * Every option is checked: its type, and names of formats and checks against the modules
 * considered. An unknown key is refused rather than ignored, because a typo
 * (`expectedformat`) would silently switch a safety check off. Every failure is
 * `INVALID_ARGUMENT` naming the option.
 *
 * @module
 */
import { IntrospectionError } from './errors.js';
import type { AnyContainerModule, ContainerCheckNameOf } from './container-module.js';
import type { AnyFormatModule, CheckNameOf, ModuleOptionsOf } from './format-module.js';
import { type CoreCheckName, type SafetyOptions, coreCheckNames } from './safety.js';
import { type GuestInspectionSettings, type ResolvedGuestInspection, resolveGuestInspection } from './guest-inspection.js';

type UnionToIntersection<Union> = (Union extends unknown ? (value: Union) => void : never) extends (value: infer Intersection) => void ? Intersection : never;

/** The options the core itself takes, for a list of format modules. */
export interface CoreIntrospectOptions<Modules extends AnyFormatModule = AnyFormatModule, Containers extends AnyContainerModule = AnyContainerModule>
  extends SafetyOptions<CheckNameOf<Modules> | ContainerCheckNameOf<Containers> | CoreCheckName, Modules['name']> {
  /** The format modules to consider, in order of preference. Default: every built-in format. */
  formats?: readonly Modules[];
  /**
   * The container modules to see through (compression, archives, OVA), in order of
   * preference. Default from the root entry: every built-in container; from
   * `image-introspect/core`: none (a bundle that lists none pays nothing for them).
   */
  containers?: readonly Containers[];
  /** How many layers may sit around the disk (a `.tar.gz` is two). Default {@link DEFAULT_MAX_CONTAINER_DEPTH}; deeper is `LIMIT_EXCEEDED`. */
  maxContainerDepth?: number;
  /**
   * The most bytes decompression may produce in one introspection, over every layer: the
   * cap on decompression work (a bomb stops here with `LIMIT_EXCEEDED`). Default
   * {@link DEFAULT_MAX_DECOMPRESSED_BYTES}. Reading stops long before it for most images: a
   * compressed qcow2 or VMDK is answered from its first decoded bytes; only a compressed raw
   * disk (its size) or a fixed VHD (its footer) is decoded to the end.
   */
  maxDecompressedBytes?: number;
  /** Aborts the introspection at once, whatever the source is doing; the promise rejects with code `ABORTED` and the source is released. */
  signal?: AbortSignal;
  /**
   * Hard cap on the bytes the library holds at once (kept start and tail, any one read,
   * decoders' windows). Default {@link DEFAULT_MAX_BUFFER_BYTES} (16 MiB), at least 64 KiB.
   * Formats need: 64 KiB for most headers, 128 KiB for VHDX (its headers and region tables
   * span 64 KiB each), up to 1 MiB for a VMDK descriptor file with long comments, up to
   * 2 MiB for a qcow2 header cluster of the largest size; a compressed image adds its
   * decoder's window (8 MiB for `xz -6`, 64 MiB for `xz -9`). Too small a budget is
   * `LIMIT_EXCEEDED`, never a different answer. This is the memory one introspection may use
   * whatever the image or its compression ratio.
   */
  maxBufferBytes?: number;
  /**
   * How far into the image format detection may look (text descriptors are scanned this
   * far), on every kind of source. Default {@link DEFAULT_PROBE_BYTES} (1 MiB); at most
   * `maxBufferBytes` is used. When detection would need to look further to decide, the
   * introspection fails with `LIMIT_EXCEEDED` rather than guess.
   */
  probeBytes?: number;
  /**
   * The only format the caller will take (e.g. the `disk_format` a user declared). Reading
   * stops, and the promise rejects with `FORMAT_MISMATCH`, as soon as the content cannot
   * be that format: after the head for most formats, without reading the rest of an upload.
   */
  expectedFormat?: Modules['name'];
  /** Formats the caller accepts; any other rejects with `FORMAT_MISMATCH` once detected. */
  allowedFormats?: readonly Modules['name'][];
  /**
   * Look inside the guest (default off: it reads more): `info.guest` then tells its
   * partitions, file systems, operating system (type, distro, version, architecture,
   * hostname) and firmware, as libguestfs's `virt-inspector` would, or `{ unavailable }`
   * with the reason (a stream, an encrypted or not yet mapped format, the read budget spent).
   * `{ maxReadBytes }` sets the budget of distinct guest-disk bytes (default 64 MiB).
   */
  inspectGuest?: boolean | GuestInspectionSettings;
}

/**
 * Options for one introspection: the core's ({@link CoreIntrospectOptions}) and those the
 * format modules declare (e.g. VMDK's `vmdkAllowedTypes`).
 */
export type IntrospectOptions<Modules extends AnyFormatModule = AnyFormatModule, Containers extends AnyContainerModule = AnyContainerModule> = CoreIntrospectOptions<Modules, Containers> &
  Partial<UnionToIntersection<ModuleOptionsOf<Modules>>>;

/**
 * Default for {@link CoreIntrospectOptions.maxBufferBytes}: 16 MiB. A bare image needs far
 * less (a few KiB to 2 MiB); a decompressor's window counts too: `xz -6` (xz's default)
 * needs 8 MiB, zstd's default levels up to 8 MiB.
 */
export const DEFAULT_MAX_BUFFER_BYTES = 16 * 1024 * 1024;
/** Default for {@link CoreIntrospectOptions.probeBytes}: 1 MiB, qemu's limit for a VMDK descriptor file. */
export const DEFAULT_PROBE_BYTES = 1024 * 1024;
/** The smallest `maxBufferBytes` accepted: 64 KiB. */
export const MIN_MAX_BUFFER_BYTES = 64 * 1024;
/** Default for {@link CoreIntrospectOptions.maxContainerDepth}: 4 (an OVA in a zip is two; a qcow2 in an xz in a tar in a gzip three). */
export const DEFAULT_MAX_CONTAINER_DEPTH = 4;
/** Default for {@link CoreIntrospectOptions.maxDecompressedBytes}: 16 GiB, larger than the raw cloud images that ship compressed. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024 * 1024;

/** Options with defaults applied and values checked. */
export interface ResolvedOptions {
  formats: readonly AnyFormatModule[];
  containers: readonly AnyContainerModule[];
  maxContainerDepth: number;
  maxDecompressedBytes: number;
  signal: AbortSignal | undefined;
  maxBufferBytes: number;
  /** How far detection reads: `probeBytes` within `maxBufferBytes`, and at least what the signatures need. */
  probeLimit: number;
  expectedFormat: string | undefined;
  allowedFormats: readonly string[] | undefined;
  /** Guest inspection, when asked for. */
  inspectGuest: ResolvedGuestInspection | undefined;
  /** The core's safety options and every module's own, defaults applied. */
  safety: { allowChecks: readonly string[]; bannedFormats: readonly string[] } & Record<string, unknown>;
}

const CORE_KEYS = new Set([
  'formats',
  'containers',
  'signal',
  'maxBufferBytes',
  'probeBytes',
  'maxContainerDepth',
  'maxDecompressedBytes',
  'expectedFormat',
  'allowedFormats',
  'allowChecks',
  'bannedFormats',
  'inspectGuest',
]);

/**
 * Options that only some entry points take: each takes its own out ({@link takeOptions})
 * before the rest is checked here. Listed so that giving one where it does not apply
 * (`headers` to `introspect`) is refused saying where it belongs.
 */
export const ENTRY_POINT_OPTIONS: Readonly<Record<string, string>> = {
  backingChain: 'introspect, introspectFile and introspectUrl take it',
  resolve: 'introspect, introspectFile and introspectUrl take it',
  allowOutsideReferences: 'introspect, introspectFile and introspectUrl take it',
  headers: 'only introspectUrl takes it',
  fetch: 'only introspectUrl takes it',
  urlFilter: 'only introspectUrl takes it',
  blockingReads: 'only introspectFile takes it',
};

/**
 * The values of `keys` in `options` (those given), and a copy of `options` without them:
 * how an entry point takes its own options ({@link ENTRY_POINT_OPTIONS}) before the rest
 * goes to {@link resolveOptions}. Anything that is not an options object goes through
 * untouched, to be refused there.
 */
export function takeOptions<Key extends string, Rest>(options: Rest, keys: readonly Key[]): { taken: Partial<Record<Key, unknown>>; rest: Rest } {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return { taken: {}, rest: options };
  const rest = { ...(options as Record<string, unknown>) };
  const taken: Partial<Record<Key, unknown>> = {};
  for (const key of keys) {
    const value = rest[key];
    delete rest[key];
    if (value !== undefined) taken[key] = value;
  }
  return { taken, rest: rest as Rest };
}

function invalid(message: string): IntrospectionError {
  return new IntrospectionError('INVALID_ARGUMENT', message, { field: 'options' });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

/** Checks a module list: non-empty, real modules, at most one fallback, no two with the same name. */
export function checkFormats(formats: unknown): readonly AnyFormatModule[] {
  if (!Array.isArray(formats) || formats.length === 0) throw invalid('options.formats must be a non-empty list of format modules');
  const names = new Set<string>();
  for (const format of formats as unknown[]) {
    const candidate = format as Partial<AnyFormatModule> | null;
    if (typeof candidate !== 'object' || candidate === null || typeof candidate.name !== 'string' || typeof candidate.parse !== 'function' || !Array.isArray(candidate.signatures)) {
      throw invalid('options.formats contains something that is not a format module');
    }
    if (names.has(candidate.name)) throw invalid(`options.formats lists two modules named "${candidate.name}"`);
    names.add(candidate.name);
    checkSignatures(candidate.name, candidate.signatures);
  }
  if ((formats as AnyFormatModule[]).filter((format) => format.fallback).length > 1) throw invalid('options.formats may contain at most one fallback module');
  return formats as readonly AnyFormatModule[];
}

function integerOption(options: Record<string, unknown>, key: string, fallback: number, minimum: number): number {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw invalid(`options.${key} must be an integer of at least ${minimum}, not ${describe(value)}`);
  }
  return value;
}

function nameList(options: Record<string, unknown>, key: string, known: readonly string[], what: string): readonly string[] | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw invalid(`options.${key} must be a list of ${what} names, not ${describe(value)}`);
  }
  for (const item of value as string[]) {
    if (!known.includes(item)) throw invalid(`options.${key}: "${item}" is not a known ${what} (known: ${known.join(', ')})`);
  }
  return value as string[];
}

/** Every safety check the given modules and the core run, by name. */
export function knownCheckNames(formats: readonly AnyFormatModule[], containers: readonly AnyContainerModule[] = []): string[] {
  const names = new Set<string>(coreCheckNames);
  for (const format of formats) for (const check of format.checks ?? []) names.add(check.name);
  for (const container of containers) for (const check of container.checks ?? []) names.add(check.name);
  return [...names];
}

/** Checks a container list: real container modules, no two with the same name, none named as a format. */
export function checkContainers(containers: unknown, formats: readonly AnyFormatModule[]): readonly AnyContainerModule[] {
  if (containers === undefined) return [];
  if (!Array.isArray(containers)) throw invalid('options.containers must be a list of container modules');
  const names = new Set<string>(formats.map((format) => format.name));
  for (const container of containers as unknown[]) {
    const candidate = container as Partial<AnyContainerModule> | null;
    if (typeof candidate !== 'object' || candidate === null || typeof candidate.name !== 'string' || typeof candidate.open !== 'function' || !Array.isArray(candidate.signatures)) {
      throw invalid('options.containers contains something that is not a container module');
    }
    if (names.has(candidate.name)) throw invalid(`options.containers: "${candidate.name}" is already the name of another module`);
    names.add(candidate.name);
    checkSignatures(candidate.name, candidate.signatures);
  }
  return containers as readonly AnyContainerModule[];
}

function checkSignatures(name: string, signatures: readonly unknown[]): void {
  for (const signature of signatures) {
    const { offset, bytes } = (signature ?? {}) as { offset?: unknown; bytes?: unknown };
    const length = typeof bytes === 'string' ? bytes.length : bytes instanceof Uint8Array ? bytes.byteLength : 0;
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0 || length === 0) {
      throw invalid(`the module "${name}" has a signature without a valid offset and bytes`);
    }
  }
}

/** What the options are checked against, computed once per list of modules. */
interface RegistryFacts {
  formats: readonly AnyFormatModule[];
  containers: readonly AnyContainerModule[];
  moduleOptions: ReadonlyMap<string, { default: readonly string[] }>;
  formatNames: readonly string[];
  checkNames: readonly string[];
  defaultBanned: readonly string[];
  /** Detection must at least see every head signature. */
  signatureEnd: number;
}

/**
 * The lists' facts, cached by the lists' identity (a service passes the same lists on every
 * call, and validating them again cost a quarter of a millisecond per image in a batch). A
 * list whose length changed since is checked again.
 */
const registryCache = new WeakMap<object, { length: number; containers: unknown; containersLength: number; facts: RegistryFacts }>();

function registryFacts(formatList: unknown, containerList: unknown): RegistryFacts {
  const cached = typeof formatList === 'object' && formatList !== null ? registryCache.get(formatList) : undefined;
  if (
    cached !== undefined &&
    cached.length === (formatList as unknown[]).length &&
    cached.containers === containerList &&
    cached.containersLength === (Array.isArray(containerList) ? containerList.length : -1)
  ) {
    return cached.facts;
  }
  const formats = checkFormats(formatList);
  const containers = checkContainers(containerList, formats);
  const moduleOptions = new Map<string, { default: readonly string[] }>();
  for (const format of formats) for (const [name, declared] of Object.entries(format.options ?? {})) moduleOptions.set(name, declared as { default: readonly string[] });
  let signatureEnd = 0;
  for (const module of [...formats, ...containers] as ReadonlyArray<{ headBytes?: number; signatures: AnyFormatModule['signatures'] }>) {
    signatureEnd = Math.max(signatureEnd, module.headBytes ?? 0);
    for (const signature of module.signatures) {
      if (!signature.fromEnd) signatureEnd = Math.max(signatureEnd, signature.offset + (typeof signature.bytes === 'string' ? signature.bytes.length : signature.bytes.byteLength));
    }
  }
  const facts: RegistryFacts = {
    formats,
    containers,
    moduleOptions,
    formatNames: formats.map((format) => format.name),
    checkNames: knownCheckNames(formats, containers),
    defaultBanned: formats.filter((format) => format.bannedByDefault === true).map((format) => format.name),
    signatureEnd,
  };
  registryCache.set(formatList as object, { length: formats.length, containers: containerList, containersLength: Array.isArray(containerList) ? containerList.length : -1, facts });
  return facts;
}

/** Applies defaults and rejects invalid values (and unknown keys) with `INVALID_ARGUMENT`. */
export function resolveOptions(options: unknown, defaultFormats: readonly AnyFormatModule[] | undefined): ResolvedOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw invalid(`options must be an object, not ${describe(options)}`);
  }
  const given = (options ?? {}) as Record<string, unknown>;
  const { formats, containers, moduleOptions, formatNames, checkNames, defaultBanned, signatureEnd } = registryFacts(given.formats ?? defaultFormats, given.containers);
  for (const key of Object.keys(given)) {
    if (CORE_KEYS.has(key) || moduleOptions.has(key)) continue;
    const takenBy = Object.hasOwn(ENTRY_POINT_OPTIONS, key) ? ENTRY_POINT_OPTIONS[key] : undefined;
    if (takenBy !== undefined) throw invalid(`option "${key}" does not apply here (${takenBy})`);
    const near = [...CORE_KEYS, ...moduleOptions.keys(), ...Object.keys(ENTRY_POINT_OPTIONS)].find((known) => known.toLowerCase() === key.toLowerCase());
    throw invalid(`unknown option "${key}"${near === undefined ? '' : ` (did you mean "${near}"?)`}`);
  }

  const maxBufferBytes = integerOption(given, 'maxBufferBytes', DEFAULT_MAX_BUFFER_BYTES, MIN_MAX_BUFFER_BYTES);
  const probeBytes = integerOption(given, 'probeBytes', DEFAULT_PROBE_BYTES, 0);
  const maxContainerDepth = integerOption(given, 'maxContainerDepth', DEFAULT_MAX_CONTAINER_DEPTH, 0);
  const maxDecompressedBytes = integerOption(given, 'maxDecompressedBytes', DEFAULT_MAX_DECOMPRESSED_BYTES, 0);
  const signal = given.signal;
  if (signal !== undefined && (typeof signal !== 'object' || signal === null || typeof (signal as AbortSignal).aborted !== 'boolean' || typeof (signal as AbortSignal).addEventListener !== 'function')) {
    throw invalid(`options.signal must be an AbortSignal, not ${describe(signal)}`);
  }
  const expectedFormat = given.expectedFormat;
  if (expectedFormat !== undefined && (typeof expectedFormat !== 'string' || !formatNames.includes(expectedFormat))) {
    throw invalid(`options.expectedFormat ${describe(expectedFormat)} is not one of the formats considered (${formatNames.join(', ')})`);
  }
  const allowedFormats = nameList(given, 'allowedFormats', formatNames, 'format');
  const allowChecks = nameList(given, 'allowChecks', checkNames, 'safety check') ?? [];
  const bannedFormats = nameList(given, 'bannedFormats', formatNames, 'format') ?? defaultBanned;
  const safety: ResolvedOptions['safety'] = { allowChecks, bannedFormats };
  const inspectGuest = resolveGuestInspection(given.inspectGuest);
  if (typeof inspectGuest === 'string') throw invalid(inspectGuest);
  for (const [name, declared] of moduleOptions) {
    const value = given[name];
    if (value !== undefined && (!Array.isArray(value) || value.some((item) => typeof item !== 'string'))) {
      throw invalid(`options.${name} must be a list of strings, not ${describe(value)}`);
    }
    safety[name] = value ?? declared.default;
  }

  const probeLimit = Math.max(Math.min(probeBytes, maxBufferBytes), signatureEnd);
  if (probeLimit > maxBufferBytes) {
    throw invalid(`options.maxBufferBytes ${maxBufferBytes} is below the ${probeLimit} bytes detection needs`);
  }
  return {
    formats,
    containers,
    maxContainerDepth,
    maxDecompressedBytes,
    signal: signal as AbortSignal | undefined,
    maxBufferBytes,
    probeLimit,
    expectedFormat: expectedFormat as string | undefined,
    allowedFormats,
    inspectGuest,
    safety,
  };
}
