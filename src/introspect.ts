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
    const detection = await detect(options.formats, reader);
    reader.stopRetaining?.();
    format = detection.chosen.name;
    const warnings: string[] = [];
    const context: ParseContext = {
      warn: (message) => {
        if (!warnings.includes(message)) warnings.push(message);
      },
      signal: options.signal,
    };
    const parsed = await detection.chosen.parse(reader, context);
    throwIfAborted(options.signal);
    checkVirtualSize(parsed.virtualSize, format);
    return {
      format,
      virtualSize: parsed.virtualSize,
      details: parsed.details,
      warnings,
      bytesRead: reader.bytesRead,
      matchedFormats: detection.matched.map((module) => module.name),
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
