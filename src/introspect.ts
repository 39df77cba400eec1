/**
 * The introspection engine: a source becomes a reader, detection picks a format module,
 * the module parses, the verdict is given, the source is released as soon as the answer is
 * known (and on every other way out).
 *
 * This module knows no format; the caller passes the list.
 *
 * @module
 */
import { detectAtEnd, detectAtHead, endFormats, headSignatureBytes, mismatch, tailBytesNeeded } from './detect.js';
import { IntrospectionError, toIntrospectionError } from './errors.js';
import type { AnyFormatModule, ParseContext, ParsedImage } from './format-module.js';
import type { ImageInfoOf } from './image-info.js';
import type { ResolvedOptions } from './options.js';
import { raceAbort, releaseUnopened, throwIfAborted } from './reading/chunks.js';
import type { Backend } from './reading/backend.js';
import { openBackend } from './reading/open.js';
import { Budget, Reader } from './reading/reader.js';
import { judge } from './verdict.js';

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
  const reader = new Reader(backend, { budget: new Budget(options.maxBufferBytes), signal: options.signal, probeLimit: options.probeLimit });
  try {
    return await raceAbort(run(reader, options), options.signal);
  } finally {
    await reader.release();
  }
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

/**
 * Detection and parsing, in the one order that reads every source the same way: the head
 * decides; when only the fallback (raw) is left and some format can be recognised by its
 * end, the fallback parses first (reading forward to the end, keeping the tail), then the
 * end signatures are checked and, if one matches, that format parses from the kept tail.
 */
async function detectAndParse(reader: Reader, options: ResolvedOptions): Promise<{ chosen: Parse; matched: AnyFormatModule[]; fallbackMatched: boolean }> {
  const { formats, expectedFormat } = options;
  const fallback = formats.find((format) => format.fallback);
  const head = await detectAtHead(formats, reader);
  await reader.endDetection(headSignatureBytes(formats));
  const enders = endFormats(formats);
  const expectedModule = formats.find((format) => format.name === expectedFormat);
  if (expectedFormat !== undefined) {
    const atHead = head.matched.some((format) => format.name === expectedFormat);
    const couldBeLater = head.matched.length === 0 && (expectedModule === fallback || (expectedModule !== undefined && enders.includes(expectedModule)));
    if (!atHead && !couldBeLater) throw mismatch(expectedFormat, head.matched[0]?.name ?? 'not recognisable at its start');
  }
  const first = head.matched[0];
  if (first !== undefined) return { chosen: await parseWith(first, reader, options), matched: [...head.matched], fallbackMatched: head.fallbackMatched };

  if (enders.length === 0) {
    if (fallback === undefined) throw noneMatched(formats);
    return { chosen: await parseWith(fallback, reader, options), matched: [], fallbackMatched: head.fallbackMatched };
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
    return { chosen: await parseWith(endFirst, reader, options), matched: atEnd, fallbackMatched: head.fallbackMatched };
  }
  if (fallbackParse === undefined) {
    if (expectedFormat !== undefined) throw mismatch(expectedFormat, fallback?.name ?? 'none of the formats considered');
    throw noneMatched(formats);
  }
  return { chosen: fallbackParse, matched: [], fallbackMatched: head.fallbackMatched };
}

function noneMatched(formats: readonly AnyFormatModule[]): IntrospectionError {
  return new IntrospectionError(
    'FORMAT_MISMATCH',
    `the content matches none of the formats considered (${formats.map((format) => format.name).join(', ')})`,
  );
}

async function run(reader: Reader, options: ResolvedOptions): Promise<ImageInfoOf<string, unknown>> {
  let format: string | undefined;
  try {
    throwIfAborted(options.signal);
    const { chosen, matched, fallbackMatched } = await detectAndParse(reader, options);
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
    return {
      format,
      virtualSize: size.virtualSize,
      ...(size.exact === undefined ? {} : { virtualSizeExact: size.exact }),
      details: parsed.details,
      warnings: log.warnings,
      bytesRead: reader.bytesRead,
      matchedFormats,
      safety,
    };
  } catch (error) {
    throw toIntrospectionError(error, format);
  }
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
