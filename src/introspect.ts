/**
 * The introspection engine: a source becomes a reader, detection picks a format module,
 * the module parses, the source is released as soon as the answer is known.
 *
 * This module knows no format; the caller passes the list.
 *
 * @module
 */
import { type ChunkSource, abortable, throwIfAborted } from './chunk-source.js';
import { detect, headSignatureBytes } from './detect.js';
import { IntrospectionError, toIntrospectionError } from './errors.js';
import type { AnyFormatModule, ByteReader, ParseContext } from './format-module.js';
import type { ImageInfoOf } from './image-info.js';
import type { ResolvedOptions } from './options.js';
import { type SafetyCheckContext, type SafetyCheckOutcome, type SafetyVerdict, fail, pass, verdict } from './safety.js';
import { type RandomAccessSource, RandomAccessReader } from './random-access-reader.js';
import { StreamReader } from './stream-reader.js';

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
  return run(new StreamReader(abortable(chunks, options.signal), options.maxBufferBytes, probeLimit), options);
}

/** Introspects a random-access source, reading only the ranges needed. */
export function introspectRandomAccess(source: RandomAccessSource, options: ResolvedOptions): Promise<ImageInfoOf<string, unknown>> {
  return run(new RandomAccessReader(source, options.maxBufferBytes, options.signal), options);
}

async function run(reader: EngineReader, options: ResolvedOptions): Promise<ImageInfoOf<string, unknown>> {
  let format: string | undefined;
  try {
    throwIfAborted(options.signal);
    const detection = await detect(options.formats, reader, options.expectedFormat);
    reader.stopRetaining?.();
    format = detection.chosen.name;
    if (options.allowedFormats !== undefined && !options.allowedFormats.includes(format)) {
      throw new IntrospectionError('FORMAT_MISMATCH', `the content is ${format}, which is not an allowed format (${options.allowedFormats.join(', ')})`);
    }
    const warnings: string[] = [];
    const incomplete: string[] = [];
    const warn = (message: string) => {
      if (!warnings.includes(message)) warnings.push(message);
    };
    const context: ParseContext = {
      warn,
      incomplete: (reason) => {
        warn(reason);
        if (!incomplete.includes(reason)) incomplete.push(reason);
      },
      signal: options.signal,
    };
    const parsed = await detection.chosen.parse(reader, context);
    throwIfAborted(options.signal);
    checkVirtualSize(parsed.virtualSize, format);
    const matchedFormats = detection.matched.map((module) => module.name);
    const safety = judge(detection.chosen, parsed.details, {
      options: options.safety,
      virtualSize: parsed.virtualSize,
      matchedFormats,
    }, incomplete);
    for (const check of safety.checks) {
      if (check.waived) warn(`safety check ${check.name} failed (allowed): ${check.reason ?? ''}`.trim());
    }
    return {
      format,
      virtualSize: parsed.virtualSize,
      details: parsed.details,
      warnings,
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

/** Runs the format's checks and the checks every format gets. */
function judge(module: AnyFormatModule, details: unknown, context: SafetyCheckContext, incomplete: readonly string[]): SafetyVerdict {
  const results: Array<{ name: string } & SafetyCheckOutcome> = [];
  if (context.options.bannedFormats.includes(module.name)) {
    results.push({ name: 'banned', ...fail(`${module.name} images are not allowed`) });
  }
  for (const check of module.checks ?? []) {
    let outcome: SafetyCheckOutcome;
    try {
      outcome = check.run(details, context);
    } catch (error) {
      // A check that cannot decide is a failed check, never a crash.
      outcome = fail(`the check could not run: ${error instanceof Error ? error.message : String(error)}`);
    }
    results.push({ name: check.name, ...outcome });
  }
  results.push({ name: 'multiple_formats', ...multipleFormats(module.name, context.matchedFormats) });
  results.push({
    name: 'parse_error',
    ...(incomplete.length === 0 ? pass() : fail(`not every ${module.name} structure could be read: ${incomplete.join('; ')}`)),
  });
  return verdict(results, context.options.allowChecks);
}

function multipleFormats(format: string, matched: readonly string[]): SafetyCheckOutcome {
  const others = matched.filter((name) => name !== format);
  if (others.length === 0) return pass();
  return fail(`the bytes are also a valid ${others.join(', ')} image`);
}

function checkVirtualSize(size: number, format: string): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new IntrospectionError('INTERNAL', `the parser returned ${size} as the virtual size`, { format, field: 'virtualSize' });
  }
}
