/**
 * The introspection engine: a source becomes a reader, detection picks a format module,
 * the module parses, the verdict is given, the source is released as soon as the answer is
 * known (and on every other way out).
 *
 * This module knows no format; the caller passes the list.
 *
 * @module
 */
import type { AnyContainerModule, ContainerContext, ContainerContents } from './container-module.js';
import { type Detectable, detectAtEnd, detectAtHead, endFormats, headSignatureBytes, mismatch, tailBytesNeeded } from './detect.js';
import { IntrospectionError, toIntrospectionError } from './errors.js';
import type { AnyFormatModule, ParseContext, ParsedImage } from './format-module.js';
import type { ImageInfoOf } from './image-info.js';
import type { ResolvedOptions } from './options.js';
import { raceAbort, releaseUnopened, throwIfAborted } from './reading/chunks.js';
import type { Backend } from './reading/backend.js';
import { openBackend } from './reading/open.js';
import { decodedBackend, mappedBackend, sliceBackend } from './reading/layers.js';
import { Budget, Reader } from './reading/reader.js';
import { type SafetyCheckOutcome, type SafetyCheckResult, verdict } from './safety.js';
import { judge } from './verdict.js';
import { inspectImageGuest } from './guest-inspection.js';

/**
 * Introspects any source (see `reading/open.ts` for the kinds), releasing it whatever
 * happens. An abort rejects at once, even while the source is stalled.
 */
export async function introspectSource(source: unknown, options: ResolvedOptions, onRelease?: () => Promise<void> | void): Promise<ImageInfoOf<string, unknown>> {
  let backend: Backend;
  try {
    throwIfAborted(options.signal);
    backend = openBackend(source, { signal: options.signal, headHint: headSignatureBytes(options.formats), onRelease });
  } catch (error) {
    releaseUnopened(source);
    await onRelease?.();
    throw error;
  }
  return introspectBackend(backend, options);
}

/** Introspects what a backend serves (the pass-through's feed, a layer), releasing it whatever happens. */
export async function introspectBackend(backend: Backend, options: ResolvedOptions): Promise<ImageInfoOf<string, unknown>> {
  const budget = new Budget(options.maxBufferBytes);
  const reader = new Reader(backend, { budget, signal: options.signal, probeLimit: options.probeLimit });
  const scope: Scope = { options, budget, depth: 0, decoded: { total: 0 } };
  try {
    const info = await raceAbort(runLevel(reader, scope), options.signal);
    // Bytes are counted where they are taken: at the outermost source, whatever the layers.
    return withBytesRead(info, reader.bytesRead);
  } finally {
    await reader.release();
  }
}

/** What every level of one introspection shares: the options, the budget, how deep the layers go. */
interface Scope {
  options: ResolvedOptions;
  budget: Budget;
  depth: number;
  /** Decoded bytes across every decoded layer (the cap on decompression work is for the whole introspection). */
  decoded: { total: number };
}

function withBytesRead(info: ImageInfoOf<string, unknown>, bytesRead: number): ImageInfoOf<string, unknown> {
  info.bytesRead = bytesRead;
  for (const disk of info.disks ?? []) if (disk !== info) disk.bytesRead = bytesRead;
  return info;
}

/** Warnings and incomplete structures recorded while one module parses. */
export class ParseLog {
  readonly warnings: string[] = [];
  readonly incomplete: string[] = [];

  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  context(signal: AbortSignal | undefined): ParseContext {
    return {
      warn: (message) => this.warn(message),
      incomplete: (reason) => {
        this.warn(reason);
        if (!this.incomplete.includes(reason)) this.incomplete.push(reason);
      },
      signal,
    };
  }
}

interface Parse {
  module: AnyFormatModule;
  parsed: ParsedImage<unknown>;
  log: ParseLog;
}

async function parseWith(module: AnyFormatModule, reader: Reader, options: ResolvedOptions): Promise<Parse> {
  const log = new ParseLog();
  let parsed: ParsedImage<unknown>;
  try {
    parsed = await module.parse(reader, log.context(options.signal));
  } catch (error) {
    throw toIntrospectionError(error, module.name);
  }
  throwIfAborted(options.signal);
  exactSize(parsed.virtualSize, module.name);
  const available = reader.size ?? (reader.randomAccess ? reader.backend.size : undefined);
  if (parsed.declaredSize !== undefined && available !== undefined && available < parsed.declaredSize) {
    log.context(options.signal).incomplete(`the image declares ${parsed.declaredSize} bytes, but the file ends at ${available}: it is truncated`);
  }
  return { module, parsed, log };
}

/** What one level found: a parsed format, or an opened layer. */
type Found =
  | { kind: 'format'; chosen: Parse; matched: Detectable[]; fallbackMatched: boolean }
  | { kind: 'container'; module: AnyContainerModule; contents: ContainerContents<object>; log: ParseLog; matched: Detectable[] };

/**
 * Detection and parsing, in the one order that reads every source the same way: the head
 * decides (a format, else a container, whose inside is introspected in turn); when only the
 * fallback (raw) is left and some format can be recognised by its end, the fallback parses
 * first (reading forward to the end, keeping the tail), then the end signatures are checked
 * and, if one matches, that format parses from the kept tail.
 */
async function detectAndParse(reader: Reader, scope: Scope): Promise<Found> {
  const { options } = scope;
  const { formats, expectedFormat } = options;
  const detectable: readonly Detectable[] = options.containers.length === 0 ? formats : detectionList(formats, options.containers);
  const fallback = formats.find((format) => format.fallback);
  const head = await detectAtHead(detectable, reader);
  await reader.endDetection(headSignatureBytes(detectable));
  const enders = endFormats(formats);
  const expectedModule = formats.find((format) => format.name === expectedFormat);
  const firstFormat = head.matched.find((module) => isFormat(module, formats));
  const firstContainer = head.matched.find((module) => !isFormat(module, formats)) as AnyContainerModule | undefined;
  if (expectedFormat !== undefined) {
    const atHead = head.matched.some((format) => format.name === expectedFormat);
    const couldBeLater =
      (firstFormat === undefined && firstContainer !== undefined) ||
      (head.matched.length === 0 && (expectedModule === fallback || (expectedModule !== undefined && enders.includes(expectedModule))));
    if (!atHead && !couldBeLater) throw mismatch(expectedFormat, head.matched[0]?.name ?? 'not recognisable at its start');
  }
  if (firstFormat !== undefined) {
    return { kind: 'format', chosen: await parseWith(firstFormat as AnyFormatModule, reader, options), matched: [...head.matched], fallbackMatched: head.fallbackMatched };
  }
  if (firstContainer !== undefined) {
    const opened = await openContainer(firstContainer, reader, scope, [...head.matched]);
    // A layer that ended before its bytes did may have been a misreading of a format known by its end.
    if (opened.kind === 'container' && opened.contents.endsEarly === true && enders.length > 0) {
      reader.keepTailAtLeast(tailBytesNeeded(formats));
      const atEnd = await detectAtEnd(formats, reader);
      const endFirst = atEnd[0];
      if (endFirst !== undefined && (expectedFormat === undefined || endFirst.name === expectedFormat)) {
        return { kind: 'format', chosen: await parseWith(endFirst, reader, options), matched: atEnd, fallbackMatched: false };
      }
    }
    return opened;
  }

  if (enders.length === 0) {
    if (fallback === undefined) throw noneMatched(formats);
    return { kind: 'format', chosen: await parseWith(fallback, reader, options), matched: [], fallbackMatched: head.fallbackMatched };
  }
  // Only the fallback is left at the head. Let it read (forward) first; then look at the end.
  reader.keepTailAtLeast(tailBytesNeeded(formats));
  let fallbackParse: Parse | undefined;
  if (fallback !== undefined && (expectedFormat === undefined || expectedModule === fallback)) {
    fallbackParse = await parseWith(fallback, reader, options);
  }
  const atEnd = await detectAtEnd(formats, reader);
  const endFirst = atEnd[0];
  if (endFirst !== undefined) {
    if (expectedFormat !== undefined && endFirst.name !== expectedFormat) throw mismatch(expectedFormat, endFirst.name);
    return { kind: 'format', chosen: await parseWith(endFirst, reader, options), matched: atEnd, fallbackMatched: head.fallbackMatched };
  }
  if (fallbackParse === undefined) {
    if (expectedFormat !== undefined) throw mismatch(expectedFormat, fallback?.name ?? 'none of the formats considered');
    throw noneMatched(formats);
  }
  return { kind: 'format', chosen: fallbackParse, matched: [], fallbackMatched: head.fallbackMatched };
}

/** Formats first (their order), then containers, the fallback last: one list for head detection. */
const detectionLists = new WeakMap<readonly AnyFormatModule[], WeakMap<readonly AnyContainerModule[], readonly Detectable[]>>();
function detectionList(formats: readonly AnyFormatModule[], containers: readonly AnyContainerModule[]): readonly Detectable[] {
  let byContainers = detectionLists.get(formats);
  if (byContainers === undefined) {
    byContainers = new WeakMap();
    detectionLists.set(formats, byContainers);
  }
  let list = byContainers.get(containers);
  if (list === undefined) {
    list = [...formats.filter((format) => !format.fallback), ...containers, ...formats.filter((format) => format.fallback)];
    byContainers.set(containers, list);
  }
  return list;
}

function isFormat(module: Detectable, formats: readonly AnyFormatModule[]): boolean {
  return (formats as readonly Detectable[]).includes(module) && module.fallback !== true;
}

/** Opens a layer: the module reads its structures and hands the core each image inside. */
async function openContainer(module: AnyContainerModule, reader: Reader, scope: Scope, matched: Detectable[]): Promise<Found> {
  const { options, budget } = scope;
  if (scope.depth >= options.maxContainerDepth) {
    throw new IntrospectionError('LIMIT_EXCEEDED', `layers nested more than ${options.maxContainerDepth} deep (maxContainerDepth)`, { format: module.name, field: 'containers' });
  }
  const log = new ParseLog();
  const inner = (backend: Backend): Reader => new Reader(backend, { budget, signal: options.signal, probeLimit: options.probeLimit });
  const made = new Set<Reader>();
  const context: ContainerContext = {
    ...log.context(options.signal),
    slice(offset, length) {
      const child = inner(sliceBackend(reader, offset, length));
      made.add(child);
      return child;
    },
    mapped(extents, size) {
      const child = inner(mappedBackend(reader, extents, size));
      made.add(child);
      return child;
    },
    decoded(offset, length, makeDecoder) {
      const before = scope.decoded.total;
      // The declared window is checked against the whole budget; what the decoder really allocates (windows grow as data fills them) is charged to it as it grows.
      const layer = decodedBackend(reader, offset, length, () => makeDecoder({ maxWindowBytes: budget.limit, signal: options.signal }), {
        budget,
        field: module.name,
        maxDecodedBytes: Math.max(0, options.maxDecompressedBytes - before),
      });
      const child = inner(layer.backend);
      made.add(child);
      return {
        reader: child,
        stats: () => {
          const stats = layer.stats();
          scope.decoded.total = before + stats.decodedBytes;
          return stats;
        },
      };
    },
    async introspect(child) {
      const own = child as Reader;
      if (!made.has(own)) throw new IntrospectionError('INTERNAL', 'a container introspected a reader it did not get from its context', { format: module.name });
      try {
        return await runLevel(own, { ...scope, depth: scope.depth + 1 });
      } finally {
        made.delete(own);
        await own.release();
      }
    },
    async recognises(child) {
      const head = await detectAtHead(detectionList(options.formats, options.containers), child);
      return head.matched.length > 0;
    },
  };
  let contents: ContainerContents<object>;
  try {
    contents = await module.open(reader, context);
  } catch (error) {
    throw toIntrospectionError(error, module.name);
  } finally {
    for (const child of made) await child.release();
  }
  if (contents.images.length === 0) {
    throw new IntrospectionError('FORMAT_MISMATCH', 'no disk image inside', { format: module.name });
  }
  return { kind: 'container', module, contents, log, matched };
}

function noneMatched(formats: readonly AnyFormatModule[]): IntrospectionError {
  return new IntrospectionError(
    'FORMAT_MISMATCH',
    `the content matches none of the formats considered (${formats.map((format) => format.name).join(', ')})`,
  );
}

/** One level: a format parsed and judged, or a layer opened and the image inside it judged with the layer's own checks. */
async function runLevel(reader: Reader, scope: Scope): Promise<ImageInfoOf<string, unknown>> {
  const { options } = scope;
  let format: string | undefined;
  try {
    throwIfAborted(options.signal);
    const found = await detectAndParse(reader, scope);
    if (found.kind === 'container') return layered(found, scope);
    const { chosen, matched, fallbackMatched } = found;
    format = chosen.module.name;
    if (options.allowedFormats !== undefined && !options.allowedFormats.includes(format)) {
      throw new IntrospectionError('FORMAT_MISMATCH', `the content is ${format}, which is not an allowed format (${options.allowedFormats.join(', ')})`);
    }
    const fallback = options.formats.find((module) => module.fallback);
    const matchedFormats = matched.map((module) => module.name);
    if (fallbackMatched && fallback !== undefined) matchedFormats.push(fallback.name);
    const { parsed, log } = chosen;
    const safety = judge(chosen.module, parsed.details, {
      options: options.safety,
      virtualSize: Number(parsed.virtualSize),
      matchedFormats,
      fallbackName: fallback?.name,
    }, log.incomplete);
    for (const check of safety.checks) {
      if (check.waived) log.warn(`safety check ${check.name} failed (allowed): ${check.reason ?? ''}`.trim());
    }
    const size = exactSize(parsed.virtualSize, format);
    if (size.exact !== undefined) {
      log.warn(`the virtual size ${size.exact} is above 2^53: virtualSize holds the nearest number, virtualSizeExact the exact value`);
    }
    const info: ImageInfoOf<string, unknown> = {
      format,
      virtualSize: size.virtualSize,
      ...(size.exact === undefined ? {} : { virtualSizeExact: size.exact }),
      details: parsed.details,
      warnings: log.warnings,
      bytesRead: reader.bytesRead,
      matchedFormats,
      safety,
    };
    // Look inside the guest when asked (never fails the result: `{ unavailable }` instead).
    if (options.inspectGuest !== undefined) {
      info.guest = await inspectImageGuest({ module: chosen.module, details: parsed.details, virtualSize: size.virtualSize }, reader, options.inspectGuest, options.signal);
      info.bytesRead = reader.bytesRead;
    }
    return info;
  } catch (error) {
    throw toIntrospectionError(error, format);
  }
}

/**
 * The result for an image inside a layer: the image's own result, with the layer named
 * first in `containers`, the layer's warnings, and the layer's safety checks added to the
 * verdict (with more than one image inside, the verdict covers every one).
 */
function layered(found: Extract<Found, { kind: 'container' }>, scope: Scope): ImageInfoOf<string, unknown> {
  const { module, contents, log } = found;
  const first = contents.images[0] as ImageInfoOf<string, unknown>;
  const layerChecks: Array<{ name: string } & SafetyCheckOutcome> = [];
  for (const check of module.checks ?? []) {
    let outcome: SafetyCheckOutcome;
    try {
      outcome = check.run(contents.layer, { options: scope.options.safety, virtualSize: first.virtualSize, matchedFormats: found.matched.map((m) => m.name) });
    } catch (error) {
      outcome = { passed: false, reason: `the check could not run: ${error instanceof Error ? error.message : String(error)}` };
    }
    layerChecks.push({ name: check.name, ...outcome });
  }
  if (log.incomplete.length > 0) layerChecks.push({ name: 'parse_error', passed: false, reason: `not every ${module.name} structure could be read: ${log.incomplete.join('; ')}` });
  const others = contents.images.slice(1);
  const unsafeOthers = others.filter((image) => !image.safety.safe);
  if (others.length > 0) {
    layerChecks.push({
      name: 'other_disks',
      passed: unsafeOthers.length === 0,
      ...(unsafeOthers.length === 0
        ? { reason: `${others.length} more disk${others.length === 1 ? '' : 's'}, all safe` }
        : { reason: unsafeOthers.map((image) => `disk ${contents.images.indexOf(image) + 1} (${String(image.containers?.[0]?.member ?? image.format)}) fails ${image.safety.checks.filter((c) => !c.passed && c.waived !== true).map((c) => c.name).join(', ')}`).join('; ') }),
    });
  }
  const layerVerdict = verdict(layerChecks, scope.options.safety.allowChecks);
  const checks = mergeChecks(first.safety.checks, layerVerdict.checks);
  for (const check of layerVerdict.checks) {
    if (check.waived) log.warn(`safety check ${check.name} failed (allowed): ${check.reason ?? ''}`.trim());
  }
  const layer = { format: module.name, ...contents.layer };
  const info: ImageInfoOf<string, unknown> = {
    ...first,
    ...(contents.extra ?? {}),
    containers: [layer, ...(first.containers ?? [])],
    warnings: [...log.warnings, ...first.warnings.filter((warning) => !log.warnings.includes(warning))],
    safety: { safe: checks.every((check) => check.passed || check.waived === true), checks },
  };
  if (contents.images.length > 1) info.disks = contents.images;
  return info;
}

/**
 * The checks of an image and of the layer around it, one entry per name: a name both have
 * (a parse error, a member path in nested archives) fails if either failed, with both reasons.
 */
function mergeChecks(inner: readonly SafetyCheckResult[], outer: readonly SafetyCheckResult[]): SafetyCheckResult[] {
  const merged = inner.map((check) => ({ ...check }));
  for (const check of outer) {
    const same = merged.find((existing) => existing.name === check.name);
    if (same === undefined) {
      merged.push({ ...check });
      continue;
    }
    const failing = [same, check].filter((candidate) => !candidate.passed);
    same.passed = failing.length === 0;
    const reasons = (failing.length > 0 ? failing : [same, check]).map((candidate) => candidate.reason).filter((reason): reason is string => reason !== undefined);
    if (reasons.length > 0) same.reason = [...new Set(reasons)].join('; ');
    else delete same.reason;
    if (failing.length > 0) {
      if (failing.every((candidate) => candidate.waived === true)) same.waived = true;
      else delete same.waived;
    }
  }
  return merged;
}

/** A module's virtual size as a JSON-safe number, with the exact decimal where a number cannot hold it. */
function exactSize(size: number | bigint, format: string): { virtualSize: number; exact?: string } {
  if (typeof size === 'bigint') {
    if (size < 0n) throw new IntrospectionError('INTERNAL', `the parser returned ${size} as the virtual size`, { format, field: 'virtualSize' });
    if (size <= BigInt(Number.MAX_SAFE_INTEGER)) return { virtualSize: Number(size) };
    return { virtualSize: Number(size), exact: size.toString() };
  }
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new IntrospectionError('INTERNAL', `the parser returned ${size} as the virtual size`, { format, field: 'virtualSize' });
  }
  return { virtualSize: size };
}
