/**
 * The one error type this library throws, with stable codes.
 *
 * @module
 */

/**
 * Why an introspection failed. The codes are stable: callers may switch on them.
 *
 * | code | meaning |
 * | --- | --- |
 * | `TRUNCATED` | the image ends before a structure it declares |
 * | `CORRUPT` | a structure is present but its values are impossible |
 * | `UNSUPPORTED` | a valid structure this library (or qemu) does not handle, such as an unknown version |
 * | `LIMIT_EXCEEDED` | a length or count read from the image is above a safety cap, or the bytes needed exceed `maxBufferBytes` |
 * | `ABORTED` | the caller's `AbortSignal` fired |
 * | `SOURCE_ERROR` | the source itself failed (an I/O error, a stream that errored) |
 * | `FORMAT_MISMATCH` | the content is not the format the caller required |
 * | `INVALID_ARGUMENT` | the caller passed something that is not a source or a valid option |
 * | `INTERNAL` | a bug in this library: an unexpected exception, wrapped so that it never escapes raw |
 */
export type IntrospectionErrorCode =
  | 'TRUNCATED'
  | 'CORRUPT'
  | 'UNSUPPORTED'
  | 'LIMIT_EXCEEDED'
  | 'ABORTED'
  | 'SOURCE_ERROR'
  | 'FORMAT_MISMATCH'
  | 'INVALID_ARGUMENT'
  | 'INTERNAL';

/** Every {@link IntrospectionErrorCode}, for iteration and validation. */
export const introspectionErrorCodes: readonly IntrospectionErrorCode[] = [
  'TRUNCATED',
  'CORRUPT',
  'UNSUPPORTED',
  'LIMIT_EXCEEDED',
  'ABORTED',
  'SOURCE_ERROR',
  'FORMAT_MISMATCH',
  'INVALID_ARGUMENT',
  'INTERNAL',
];

/**
 * A brand shared by every copy of this library loaded in one process (the ESM and the
 * CommonJS builds are separate copies, so `instanceof` fails across them; the
 * registered symbol does not).
 */
const brand = Symbol.for('image-introspect.IntrospectionError');

/** Where in the image an error was found. */
export interface IntrospectionErrorDetails {
  /** The format whose structure was being read, e.g. `'vmdk'`. */
  format?: string | undefined;
  /** The structure or field, e.g. `'sparse header.grainSize'`. */
  field?: string | undefined;
  /** The byte offset in the image, when one applies. */
  offset?: number | undefined;
  /** The underlying exception, if any. */
  cause?: unknown;
}

/**
 * Thrown for every failure: bad input, limits, aborts, source errors.
 *
 * The message always names the format and the field when they are known,
 * e.g. `vmdk: sparse header.grainSize: 0 is not a power of two`.
 */
export class IntrospectionError extends Error {
  /** Stable machine-readable reason. */
  readonly code: IntrospectionErrorCode;
  /** The format whose structure was being read, when known. */
  readonly format: string | undefined;
  /** The structure or field at fault, when known. */
  readonly field: string | undefined;
  /** The byte offset in the image, when known. */
  readonly offset: number | undefined;
  /** The message without the format and field prefixes. */
  readonly reason: string;

  constructor(code: IntrospectionErrorCode, message: string, details: IntrospectionErrorDetails = {}) {
    super(composeMessage(message, details), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'IntrospectionError';
    this.code = code;
    this.format = details.format;
    this.field = details.field;
    this.offset = details.offset;
    this.reason = message;
    Object.defineProperty(this, brand, { value: true });
  }

  /** A copy of this error attributed to `format`, unless it already names one. */
  withFormat(format: string): IntrospectionError {
    if (this.format !== undefined) return this;
    return new IntrospectionError(this.code, this.reason, {
      format,
      field: this.field,
      offset: this.offset,
      cause: this.cause,
    });
  }

  /** Plain-object form for JSON output. */
  toJSON(): { name: string; code: IntrospectionErrorCode; message: string; format?: string; field?: string; offset?: number } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.format === undefined ? {} : { format: this.format }),
      ...(this.field === undefined ? {} : { field: this.field }),
      ...(this.offset === undefined ? {} : { offset: this.offset }),
    };
  }
}

function composeMessage(message: string, details: IntrospectionErrorDetails): string {
  const parts: string[] = [];
  if (details.format !== undefined) parts.push(details.format);
  if (details.field !== undefined) parts.push(details.field);
  parts.push(message);
  return parts.join(': ');
}

/**
 * The one way to report bad input or a limit: the code, the structure or field at fault,
 * and what is wrong with it (the core adds the format's name).
 *
 * ```ts
 * throw fieldError('CORRUPT', 'header.clusterBits', `cluster size 2^${bits} is outside 2^9..2^21`);
 * ```
 */
export function fieldError(code: IntrospectionErrorCode, field: string, message: string, offset?: number): IntrospectionError {
  return new IntrospectionError(code, message, offset === undefined ? { field } : { field, offset });
}

/**
 * True for an {@link IntrospectionError} from any copy of this library (ESM or CommonJS).
 */
export function isIntrospectionError(value: unknown): value is IntrospectionError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/**
 * Turns anything thrown into an {@link IntrospectionError}: library errors pass through
 * (attributed to `format` if they name none), anything else is `INTERNAL`.
 */
export function toIntrospectionError(error: unknown, format?: string): IntrospectionError {
  if (isIntrospectionError(error)) return format === undefined ? error : error.withFormat(format);
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new IntrospectionError('INTERNAL', `unexpected failure (${what})`, { format, cause: error });
}
