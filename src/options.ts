/**
 * Options shared by `introspect`, `inspect` and `introspectFile`.
 *
 * @module
 */
import { IntrospectionError } from './errors.js';
import type { AnyFormatModule } from './format-module.js';
import { type SafetyCheckContext, type SafetyOptions, resolveSafetyOptions } from './safety.js';

/** Options for one introspection. */
export interface IntrospectOptions<Modules extends AnyFormatModule = AnyFormatModule> extends SafetyOptions {
  /** The format modules to consider, in order of preference. Default: every built-in format. */
  formats?: readonly Modules[];
  /** Aborts the introspection (honoured within one read); the promise rejects with code `ABORTED`. */
  signal?: AbortSignal;
  /**
   * Hard cap on the bytes the library holds at once (head, tail and any one read).
   * Default {@link DEFAULT_MAX_BUFFER_BYTES} (4 MiB).
   */
  maxBufferBytes?: number;
  /**
   * How far into the image format detection may look on a stream (text descriptors are
   * scanned this far). Default {@link DEFAULT_PROBE_BYTES} (1 MiB), never more than `maxBufferBytes`.
   */
  probeBytes?: number;
  /**
   * The only format the caller will take (e.g. the `disk_format` a user declared). Reading
   * stops, and the promise rejects with `FORMAT_MISMATCH`, as soon as the content cannot
   * be that format: after the head for most formats, without reading the rest of an upload.
   */
  expectedFormat?: string;
  /** Formats the caller accepts; any other rejects with `FORMAT_MISMATCH` once detected. */
  allowedFormats?: readonly string[];
}

/** Default for {@link IntrospectOptions.maxBufferBytes}: 4 MiB. */
export const DEFAULT_MAX_BUFFER_BYTES = 4 * 1024 * 1024;
/** Default for {@link IntrospectOptions.probeBytes}: 1 MiB, qemu's limit for a VMDK descriptor file. */
export const DEFAULT_PROBE_BYTES = 1024 * 1024;

/** Options with defaults applied and values checked. */
export interface ResolvedOptions {
  formats: readonly AnyFormatModule[];
  signal: AbortSignal | undefined;
  maxBufferBytes: number;
  probeBytes: number;
  expectedFormat: string | undefined;
  allowedFormats: readonly string[] | undefined;
  safety: SafetyCheckContext['options'];
}

/** Applies defaults and rejects invalid values with `INVALID_ARGUMENT`. */
export function resolveOptions(options: IntrospectOptions | undefined, defaultFormats: readonly AnyFormatModule[] | undefined): ResolvedOptions {
  const formats = options?.formats ?? defaultFormats;
  if (!Array.isArray(formats) || formats.length === 0) {
    throw new IntrospectionError('INVALID_ARGUMENT', 'options.formats must be a non-empty list of format modules');
  }
  for (const format of formats as unknown[]) {
    const candidate = format as Partial<AnyFormatModule> | null;
    if (typeof candidate !== 'object' || candidate === null || typeof candidate.name !== 'string' || typeof candidate.parse !== 'function' || !Array.isArray(candidate.signatures)) {
      throw new IntrospectionError('INVALID_ARGUMENT', 'options.formats contains something that is not a format module');
    }
  }
  if (formats.filter((format) => format.fallback).length > 1) {
    throw new IntrospectionError('INVALID_ARGUMENT', 'options.formats may contain at most one fallback module');
  }
  const maxBufferBytes = options?.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
  if (!Number.isSafeInteger(maxBufferBytes) || maxBufferBytes < 64 * 1024) {
    throw new IntrospectionError('INVALID_ARGUMENT', `options.maxBufferBytes must be an integer of at least 65536, not ${maxBufferBytes}`);
  }
  const probeBytes = Math.min(options?.probeBytes ?? DEFAULT_PROBE_BYTES, Math.floor(maxBufferBytes / 2));
  if (!Number.isSafeInteger(probeBytes) || probeBytes < 0) {
    throw new IntrospectionError('INVALID_ARGUMENT', `options.probeBytes must be a non-negative integer, not ${probeBytes}`);
  }
  const signal = options?.signal;
  if (signal !== undefined && (typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) {
    throw new IntrospectionError('INVALID_ARGUMENT', 'options.signal must be an AbortSignal');
  }
  const expectedFormat = options?.expectedFormat;
  if (expectedFormat !== undefined && !formats.some((format) => format.name === expectedFormat)) {
    throw new IntrospectionError('INVALID_ARGUMENT', `options.expectedFormat "${expectedFormat}" is not one of the formats considered`);
  }
  const allowedFormats = options?.allowedFormats;
  if (allowedFormats !== undefined && !Array.isArray(allowedFormats)) {
    throw new IntrospectionError('INVALID_ARGUMENT', 'options.allowedFormats must be a list of format names');
  }
  return { formats, signal, maxBufferBytes, probeBytes, expectedFormat, allowedFormats, safety: resolveSafetyOptions(options) };
}
