/**
 * Images that span several files: the extents a VMDK descriptor names, and backing chains
 * (`qemu-img info --backing-chain`), walked generically from what each format module
 * declares as data (`FormatModule.references`).
 *
 * | what | when | result |
 * | --- | --- | --- |
 * | extents | whenever a resolver is given (`introspectFile` and `introspectUrl` always have one) | each extent's own facts in its entry; fields folded from the first extent into the image's details; a missing extent is a warning and fails `parse_error` |
 * | backing chain | `backingChain: true` | `info.backingChain`, nearest backing image first, each with `filename`; the walk stops (with a warning) at a file that is missing or refused, and rejects `CORRUPT` on a loop, naming it |
 *
 * Files are supplied by a {@link ReferenceResolver}: the caller's (`resolve`), or the file
 * and URL helpers' defaults, which stay inside the image's folder or base URL. The top
 * image is judged as an upload of it alone would be: what its references contain never
 * makes it safer.
 *
 * Platform-neutral.
 *
 * @module
 */
import { stringAt, valuesAt } from './details-path.js';
import { IntrospectionError } from './errors.js';
import type { AnyFormatModule, ExtentFacts, ExtentReferences } from './format-module.js';
import type { ImageInfoOf } from './image-info.js';
import { introspectSource } from './introspect.js';
import { type ResolvedOptions, takeOptions } from './options.js';
import { releaseUnopened } from './reading/chunks.js';
import { type ImageSource, sortSource } from './reading/open.js';
import { verdict } from './safety.js';

type Info = ImageInfoOf<string, unknown>;

/** The longest backing chain walked; longer is `LIMIT_EXCEEDED` (qemu has no limit; a chain of snapshots this long is not an image anyone runs). */
export const MAX_BACKING_CHAIN_DEPTH = 64;
/** The most files one introspection opens for extents and backing images (a 2 TiB twoGbMaxExtentSparse disk has 1024 extents). */
export const MAX_REFERENCED_FILES = 2048;

/** What a resolver is told about a name an image stores. */
export interface Referrer {
  /** The image that names it, as its `filename` (a path, a URL, the caller's own name). */
  readonly filename: string;
  /** That image's format. */
  readonly format: string;
  /** `backing`: an image this one is a delta of; `extent`: a file holding part of this image's data. */
  readonly role: 'backing' | 'extent';
  /** `path`: a file name (relative to the referrer unless absolute); `uuid`: the referenced image's UUID (VDI). */
  readonly by: 'path' | 'uuid';
  /** `image`: the file is read as an image; `size`: only its length is needed (a flat extent). */
  readonly want: 'image' | 'size';
}

/** A file a resolver supplies. */
export interface ReferencedFile {
  /** Its name in results (`filename`), and what names it stores are relative to. */
  readonly filename: string;
  /** Its bytes: anything `introspect` reads. */
  readonly source: ImageSource;
  /** Its identity, for finding loops (a real path, an object ID). Default: `filename`. */
  readonly key?: string;
  /** Called when the walk is done with it. */
  close?(): void | Promise<void>;
}

/**
 * Supplies a file an image names: `undefined` when there is no such file. Throwing refuses
 * the name (its message says why: {@link refuseReference}).
 */
export type ReferenceResolver = (name: string, referrer: Referrer) => ReferencedFile | undefined | Promise<ReferencedFile | undefined>;

/** Options for images that span files. */
export interface ReferenceOptions {
  /** Read the backing chain into `info.backingChain` (each backing image's own result, nearest first). */
  backingChain?: boolean;
  /** Supplies the files the image names (a browser's `FileList`, an object store...). Replaces the file and URL helpers' defaults. */
  resolve?: ReferenceResolver;
  /**
   * Let the file and URL helpers' default resolvers follow names that leave the image's
   * folder or base URL: `../`, absolute paths, other hosts. Default false (such a name is
   * refused, with a warning).
   */
  allowOutsideReferences?: boolean;
}

/** A resolver's refusal: the walk records the reason and goes on without the file. */
export class ReferenceRefused extends Error {
  override readonly name = 'ReferenceRefused';
}

/** Refuses a name, saying why (for resolvers). */
export function refuseReference(reason: string): never {
  throw new ReferenceRefused(reason);
}

/**
 * A resolved file that can introspect itself better than through its `source` (a URL read
 * by ranges, a flat extent's size from one small request). Internal to the helpers.
 */
export interface OpenedFile extends ReferencedFile {
  introspect?(options: ResolvedOptions): Promise<Info>;
  size?(): Promise<number | undefined>;
}

const REFERENCE_KEYS = ['backingChain', 'resolve', 'allowOutsideReferences'] as const;

/** Takes the reference options out of an options object (validated: `INVALID_ARGUMENT`), leaving the rest for the core. */
export function splitReferenceOptions<Rest>(options: Rest): { references: ReferenceOptions; rest: Rest } {
  const { taken, rest } = takeOptions(options, REFERENCE_KEYS);
  for (const [key, value] of Object.entries(taken)) {
    if (key === 'resolve' ? typeof value !== 'function' : typeof value !== 'boolean') {
      throw new IntrospectionError('INVALID_ARGUMENT', `options.${key} must be ${key === 'resolve' ? 'a function' : 'true or false'}`, { field: 'options' });
    }
  }
  return { references: taken as ReferenceOptions, rest };
}

/** What a walk needs. */
export interface Walk {
  resolve: ReferenceResolver;
  backingChain: boolean;
  /** The top image's options (its formats, budgets, signal, safety options). */
  options: ResolvedOptions;
}

/** Counts what one introspection opens. */
interface Budget {
  files: number;
}

/**
 * Completes the result for `top`, read from `topFile`: its extents, and its backing chain
 * when asked for.
 */
export async function followReferences(top: Info, topFile: { filename: string; key?: string }, walk: Walk): Promise<Info> {
  const budget: Budget = { files: 0 };
  await readExtents(top, topFile.filename, walk, budget);
  if (!walk.backingChain) return top;
  top.filename = topFile.filename;
  const chain: Info[] = [];
  const visited = [{ key: topFile.key ?? topFile.filename, filename: topFile.filename }];
  let current = top;
  for (;;) {
    const next = await openBacking(current, visited[visited.length - 1]?.filename as string, walk, budget);
    if (next === undefined) break;
    const key = next.file.key ?? next.file.filename;
    const loop = visited.findIndex((seen) => seen.key === key);
    if (loop !== -1) {
      await next.file.close?.();
      const names = [...visited.slice(loop).map((seen) => seen.filename), next.file.filename];
      throw new IntrospectionError('CORRUPT', `the backing chain loops: ${names.join(' -> ')}`, { field: 'backingChain' });
    }
    if (chain.length >= MAX_BACKING_CHAIN_DEPTH) {
      await next.file.close?.();
      throw new IntrospectionError('LIMIT_EXCEEDED', `the backing chain is longer than ${MAX_BACKING_CHAIN_DEPTH} images`, { field: 'backingChain' });
    }
    const options = nestedOptions(walk.options, next.declaredFormat, current);
    const info = await introspectOpened(next.file, options);
    info.filename = next.file.filename;
    await readExtents(info, next.file.filename, walk, budget);
    chain.push(info);
    visited.push({ key, filename: next.file.filename });
    current = info;
  }
  top.backingChain = chain;
  return top;
}

/** The first of an image's backing names that resolves, with its declared format; `undefined` at the end of the chain (warnings say why a named file was not read). */
async function openBacking(info: Info, filename: string, walk: Walk, budget: Budget): Promise<{ file: OpenedFile; declaredFormat: string | undefined } | undefined> {
  const module = moduleOf(walk.options, info.format);
  const declared = module?.references?.backing ?? [];
  const problems: string[] = [];
  let named = false;
  for (const reference of declared) {
    for (const value of valuesAt(info.details, reference.name)) {
      if (typeof value !== 'string' || value === '') continue;
      named = true;
      const name = reference.windowsPath === true ? value.replace(/\\/g, '/') : value;
      const referrer: Referrer = { filename, format: info.format, role: 'backing', by: reference.by ?? 'path', want: 'image' };
      const outcome = await resolveOne(walk.resolve, name, referrer, budget);
      if ('problem' in outcome) {
        problems.push(`"${value}" ${outcome.problem}`);
        continue;
      }
      return { file: outcome.file, declaredFormat: reference.format === undefined ? undefined : stringAt(info.details, reference.format) };
    }
  }
  if (named) warn(info, `the backing file was not read: ${problems.join('; ')}`);
  return undefined;
}

/** Reads the extents an image declares, and folds the first one's facts into its details. */
async function readExtents(info: Info, filename: string, walk: Walk, budget: Budget): Promise<void> {
  const module = moduleOf(walk.options, info.format);
  const declared = module?.references?.extents;
  if (module === undefined || declared === undefined) return;
  if (declared.when !== undefined && stringAt(info.details, declared.when.field) !== declared.when.equals) return;
  const extents = valuesAt(info.details, declared.list)[0];
  if (!Array.isArray(extents)) return;
  const problems: string[] = [];
  const named = (extents as Array<Record<string, unknown>>).filter((extent) => typeof extent[declared.name] === 'string' && extent[declared.name] !== '');
  for (const [index, extent] of named.entries()) {
    // Like qemu, stop at the first extent that cannot be read (each further one costs a request over HTTP).
    if (problems.length > 0) {
      problems.push(`the other ${named.length - index} were not looked for`);
      break;
    }
    const name = extent[declared.name] as string;
    const isImage = declared.imageTypes.includes(String(extent[declared.type]));
    const referrer: Referrer = { filename, format: info.format, role: 'extent', by: 'path', want: isImage ? 'image' : 'size' };
    const outcome = await resolveOne(walk.resolve, name, referrer, budget);
    if ('problem' in outcome) {
      problems.push(`"${name}" ${outcome.problem}`);
      continue;
    }
    try {
      extent[declared.facts] = isImage ? await imageFacts(outcome.file, module, walk.options) : await sizeFacts(outcome.file);
    } catch (error) {
      problems.push(`"${name}" could not be read: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (problems.length > 0) {
    failParseError(info, `not every extent file could be read: ${problems.join('; ')}`, walk.options.safety.allowChecks);
    return;
  }
  fold(info, extents as Array<Record<string, unknown>>, declared);
}

/** What a resolver gave for one name, or why there is nothing to read. */
async function resolveOne(resolve: ReferenceResolver, name: string, referrer: Referrer, budget: Budget): Promise<{ file: OpenedFile } | { problem: string }> {
  if (budget.files >= MAX_REFERENCED_FILES) {
    throw new IntrospectionError('LIMIT_EXCEEDED', `the image names more than ${MAX_REFERENCED_FILES} files`, { field: referrer.role === 'extent' ? 'extents' : 'backingChain' });
  }
  budget.files += 1;
  let file: OpenedFile | undefined;
  try {
    file = await resolve(name, referrer);
  } catch (error) {
    if (error instanceof ReferenceRefused) return { problem: `is refused: ${error.message}` };
    if (error instanceof IntrospectionError && error.code === 'ABORTED') throw error;
    return { problem: `could not be opened: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (file === undefined) return { problem: referrer.by === 'uuid' ? 'names its parent by UUID; no resolver supplied it' : 'is missing' };
  return { file };
}

/** An extent read as an image of its descriptor's format. */
async function imageFacts(file: OpenedFile, module: AnyFormatModule, options: ResolvedOptions): Promise<ExtentFacts> {
  const info = await introspectOpened(file, { ...options, formats: [module], containers: [], expectedFormat: undefined, allowedFormats: undefined });
  const facts: ExtentFacts = { filename: file.filename, format: info.format, virtualSize: info.virtualSize, details: info.details };
  if (info.warnings.length > 0) facts.warnings = info.warnings;
  return facts;
}

/** A data extent: only its length. */
async function sizeFacts(file: OpenedFile): Promise<ExtentFacts> {
  try {
    const size = file.size !== undefined ? await file.size() : sizeOfSource(file.source);
    return size === undefined ? { filename: file.filename } : { filename: file.filename, size };
  } finally {
    await file.close?.();
  }
}

function sizeOfSource(source: ImageSource): number | undefined {
  const sorted = sortSource(source);
  if (sorted.kind === 'random') return sorted.size;
  releaseUnopened(source);
  return undefined;
}

/** Introspects a resolved file (closed afterwards whatever happens). */
async function introspectOpened(file: OpenedFile, options: ResolvedOptions): Promise<Info> {
  try {
    return file.introspect !== undefined ? await file.introspect(options) : await introspectSource(file.source, options);
  } finally {
    await file.close?.();
  }
}

/**
 * The options for a backing image: the top image's, without its format expectations, and
 * with the declared format when the image names one (qemu opens the backing file as that
 * format, without probing); no layers (qemu reads no archive as a backing file).
 */
function nestedOptions(options: ResolvedOptions, declared: string | undefined, referrer: Info): ResolvedOptions {
  const module = declared === undefined ? undefined : options.formats.find((format) => format.name === declared || (format.aliases ?? []).includes(declared));
  if (declared !== undefined && module === undefined) warn(referrer, `the backing file's declared format "${declared}" is not one of the formats considered: its format is detected instead`);
  return { ...options, formats: module === undefined ? options.formats : [module], containers: [], expectedFormat: undefined, allowedFormats: undefined };
}

/** Copies the declared fields from the first extent's details when every extent agrees with it (else qemu reports none of them, and neither do we). */
function fold(info: Info, extents: Array<Record<string, unknown>>, declared: ExtentReferences): void {
  const detailsOf = (extent: Record<string, unknown> | undefined) => (extent?.[declared.facts] as ExtentFacts | undefined)?.details as Record<string, unknown> | undefined;
  // A data extent (read for its size only) has none of the fields: it differs from an image extent.
  const read = extents.filter((extent) => extent[declared.facts] !== undefined);
  const first = detailsOf(read[0]);
  const disagreeing = declared.agreeOn.filter((field) => read.some((extent) => detailsOf(extent)?.[field] !== first?.[field]));
  if (disagreeing.length > 0) {
    warn(info, `the extents differ in ${disagreeing.join(', ')}: the image's ${disagreeing.join(', ')} is not given (qemu reports no cluster size either)`);
    return;
  }
  if (first === undefined) return;
  const details = info.details as Record<string, unknown>;
  for (const field of declared.foldFromFirst) details[field] = first[field];
}

function moduleOf(options: ResolvedOptions, format: string): AnyFormatModule | undefined {
  return options.formats.find((module) => module.name === format);
}

function warn(info: Info, message: string): void {
  if (!info.warnings.includes(message)) info.warnings.push(message);
}

/** Records structures that could not be read: a warning, and `parse_error` fails (waived if the caller allows it). */
function failParseError(info: Info, reason: string, allowChecks: readonly string[]): void {
  warn(info, reason);
  const results = info.safety.checks.map((check) => {
    if (check.name !== 'parse_error') return { name: check.name, passed: check.passed, ...(check.reason === undefined ? {} : { reason: check.reason }) };
    return { name: check.name, passed: false, reason: check.passed || check.reason === undefined ? reason : `${check.reason}; ${reason}` };
  });
  if (!results.some((check) => check.name === 'parse_error')) results.push({ name: 'parse_error', passed: false, reason });
  info.safety = verdict(results, allowChecks);
  if (allowChecks.includes('parse_error')) warn(info, `safety check parse_error failed (allowed): ${reason}`);
}
