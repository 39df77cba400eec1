/**
 * The introspection engine: a source becomes a reader, detection picks a format module,
 * the module parses, the source is released as soon as the answer is known.
 *
 * This module knows no format; the caller passes the list.
 *
 * @module
 */
import { type ChunkSource, abortable, throwIfAborted } from './chunk-source.js';
import { detectAtEnd, detectAtHead, endFormats, headSignatureBytes, mismatch, tailBytesNeeded } from './detect.js';
import { IntrospectionError, toIntrospectionError } from './errors.js';
import type { AnyFormatModule, ByteReader, ParseContext, ParsedImage } from './format-module.js';
import type { ImageInfoOf } from './image-info.js';
import type { ResolvedOptions } from './options.js';
import { type RandomAccessSource, RandomAccessReader } from './random-access-reader.js';
import { StreamReader } from './stream-reader.js';
import { judge } from './verdict.js';

/** A reader the engine drives: a {@link ByteReader} plus accounting and release. */
interface EngineReader extends ByteReader {
  readonly bytesRead: number;
  release(): Promise<void>;
  stopRetaining?(): void;
}

/** Introspects a sequence of chunks (a stream). */
export async function introspectChunks(chunks: ChunkSource, options: ResolvedOptions): Promise<ImageInfoOf<string, unknown>> {
  const probeLimit = Math.max(options.probeBytes, headSignatureBytes(options.formats));
  if (probeLimit > options.maxBufferBytes) {
    await chunks.release();
    throw new IntrospectionError('INVALID_ARGUMENT', `maxBufferBytes ${options.maxBufferBytes} is below the ${probeLimit} bytes detection needs`);
  }
  const headBytes = headSignatureBytes(options.formats);
  return run(new StreamReader(abortable(chunks, options.signal), options.maxBufferBytes, probeLimit, headBytes), options);
}

/** Introspects a random-access source, reading only the ranges needed. */
export function introspectRandomAccess(source: RandomAccessSource, options: ResolvedOptions): Promise<ImageInfoOf<string, unknown>> {
  return run(new RandomAccessReader(source, options.maxBufferBytes, options.signal), options);
}

/** Warnings and incomplete structures recorded while one module parses. */
class ParseLog {
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

async function parseWith(module: AnyFormatModule, reader: ByteReader, options: ResolvedOptions): Promise<Parse> {
  const log = new ParseLog();
  let parsed: ParsedImage<unknown>;
  try {
    parsed = await module.parse(reader, log.context(options.signal));
  } catch (error) {
    throw toIntrospectionError(error, module.name);
  }
  throwIfAborted(options.signal);
  checkVirtualSize(parsed.virtualSize, module.name);
  return { module, parsed, log };
}

/** A reader whose `totalSize` always keeps at least `tail` bytes, so that end signatures can be checked afterwards. */
function keepingTail(reader: ByteReader, tail: number): ByteReader {
  return {
    get size() {
      return reader.size;
    },
    randomAccess: reader.randomAccess,
    get maxReadLength() {
      return reader.maxReadLength;
    },
    read: (offset, length, field) => reader.read(offset, length, field),
    readAvailable: (offset, length, field) => reader.readAvailable(offset, length, field),
    totalSize: (keepTail = 0) => reader.totalSize(Math.max(keepTail, tail)),
  };
}

/**
 * Detection and parsing, in the one order that reads a stream the same way whatever the
 * source: the head decides; when only the fallback (raw) is left and some format can be
 * recognised by its end, the fallback parses first (reading forward to the end, keeping
 * the tail), then the end signatures are checked and, if one matches, that format parses
 * from the kept tail instead.
 */
async function detectAndParse(reader: EngineReader, options: ResolvedOptions): Promise<{ chosen: Parse; matched: AnyFormatModule[]; fallbackMatched: boolean }> {
  const { formats, expectedFormat } = options;
  const fallback = formats.find((format) => format.fallback);
  const head = await detectAtHead(formats, reader);
  if (!reader.randomAccess) {
    // A stream cannot go back: keep what the modules may need of the start before moving on.
    await reader.readAvailable(0, headSignatureBytes(formats), 'head');
  }
  reader.stopRetaining?.();
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
  let fallbackParse: Parse | undefined;
  if (fallback !== undefined && (expectedFormat === undefined || expectedModule === fallback)) {
    fallbackParse = await parseWith(fallback, keepingTail(reader, tailBytesNeeded(formats)), options);
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

async function run(reader: EngineReader, options: ResolvedOptions): Promise<ImageInfoOf<string, unknown>> {
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
      virtualSize: parsed.virtualSize,
      matchedFormats,
      fallbackName: fallback?.name,
    }, log.incomplete);
    for (const check of safety.checks) {
      if (check.waived) log.warn(`safety check ${check.name} failed (allowed): ${check.reason ?? ''}`.trim());
    }
    return {
      format,
      virtualSize: parsed.virtualSize,
      details: parsed.details,
      warnings: log.warnings,
      bytesRead: reader.bytesRead,
      matchedFormats,
      safety,
    };
  } catch (error) {
    throw toIntrospectionError(error, format);
  } finally {
    await reader.release();
  }
}

function checkVirtualSize(size: number, format: string): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new IntrospectionError('INTERNAL', `the parser returned ${size} as the virtual size`, { format, field: 'virtualSize' });
  }
}
