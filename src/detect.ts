/**
 * Format detection: which of the given modules match the image.
 *
 * Rules, in order:
 *
 * 1. The head: every module's start-relative signatures are compared with the first
 *    bytes (read once, in one range, so chunking cannot matter); a module whose signature
 *    matched and whose `check` agrees matches; a module with no matching signature but a
 *    `probe` matches if the probe says so.
 * 2. The end, only when nothing matched at the head: the image's length is found (on a
 *    stream, by reading to its end while keeping the last bytes), and end-relative
 *    signatures are compared. A fixed VHD, whose only signature is its footer, is found
 *    this way.
 * 3. Nothing matched: the fallback module (raw).
 *
 * Every matching module is reported; the first in the list given is the one that parses.
 *
 * @module
 */
import { bytesEqual } from './bytes.js';
import { IntrospectionError, isIntrospectionError, toIntrospectionError } from './errors.js';
import type { AnyFormatModule, ByteReader, Signature } from './format-module.js';

/** The outcome of detection. */
export interface Detection {
  /** Every module that matched, in the order of the list given (empty when the fallback applies). */
  readonly matched: readonly AnyFormatModule[];
  /** The module that will parse the image: the first match, else the fallback. */
  readonly chosen: AnyFormatModule;
}

/** How many bytes of the start detection reads at once: what the head signatures and the modules' `headBytes` need. */
export function headSignatureBytes(formats: readonly AnyFormatModule[]): number {
  let bytes = 0;
  for (const format of formats) {
    bytes = Math.max(bytes, format.headBytes ?? 0);
    for (const signature of format.signatures) {
      if (!signature.fromEnd) bytes = Math.max(bytes, signature.offset + signatureLength(signature));
    }
  }
  return bytes;
}

/** How many bytes of the end detection and parsing may need on a stream. */
export function tailBytesNeeded(formats: readonly AnyFormatModule[]): number {
  let bytes = 0;
  for (const format of formats) {
    bytes = Math.max(bytes, format.tailBytes ?? 0);
    for (const signature of format.signatures) {
      if (signature.fromEnd) bytes = Math.max(bytes, signature.offset);
    }
  }
  return bytes;
}

function signatureLength(signature: Signature): number {
  return typeof signature.bytes === 'string' ? signature.bytes.length : signature.bytes.byteLength;
}

/**
 * A probe or check that fails on a short or malformed image has simply not matched;
 * aborts, source failures, limits and bugs still propagate.
 */
async function quietly(format: AnyFormatModule, test: () => Promise<boolean>): Promise<boolean> {
  try {
    return await test();
  } catch (error) {
    if (isIntrospectionError(error) && (error.code === 'TRUNCATED' || error.code === 'CORRUPT' || error.code === 'UNSUPPORTED')) {
      return false;
    }
    throw toIntrospectionError(error, format.name);
  }
}

function mismatch(expected: string, found: string): IntrospectionError {
  return new IntrospectionError('FORMAT_MISMATCH', `the content is ${found}, not the expected ${expected}`);
}

/**
 * Finds the modules that match the image behind `reader`. With `expected`, gives up with
 * `FORMAT_MISMATCH` as soon as the content cannot be that format: right after the head
 * unless the expected format can only be recognised at the end.
 */
export async function detect(formats: readonly AnyFormatModule[], reader: ByteReader, expected?: string): Promise<Detection> {
  const fallback = formats.find((format) => format.fallback);
  const candidates = formats.filter((format) => !format.fallback);

  const head = await reader.readAvailable(0, headSignatureBytes(formats), 'head');
  const matched: AnyFormatModule[] = [];
  for (const format of candidates) {
    const signed = format.signatures.some((signature) => !signature.fromEnd && matchesAt(head, signature.offset, signature));
    if (signed) {
      if (!format.check || (await quietly(format, () => (format.check as NonNullable<typeof format.check>)(reader)))) {
        matched.push(format);
      }
    } else if (format.probe && (await quietly(format, () => (format.probe as NonNullable<typeof format.probe>)(reader)))) {
      matched.push(format);
    }
  }

  const enders = candidates.filter((format) => format.signatures.some((signature) => signature.fromEnd));
  if (expected !== undefined) {
    const expectedModule = formats.find((format) => format.name === expected);
    const expectedAtHead = matched.some((format) => format.name === expected);
    const couldBeAtEnd = matched.length === 0 && (expectedModule?.fallback === true || enders.includes(expectedModule as AnyFormatModule));
    if (!expectedAtHead && !couldBeAtEnd) throw mismatch(expected, matched[0]?.name ?? 'not recognisable at its start');
  }
  if (matched.length === 0 && enders.length > 0) {
    const size = await reader.totalSize(tailBytesNeeded(formats));
    const longest = Math.min(size, Math.max(...enders.flatMap((format) => format.signatures.filter((s) => s.fromEnd).map((s) => s.offset))));
    const tail = await reader.readAvailable(size - longest, longest, 'tail');
    for (const format of enders) {
      const signed = format.signatures.some(
        (signature) => signature.fromEnd && signature.offset <= size && matchesAt(tail, longest - signature.offset, signature),
      );
      if (signed && (!format.check || (await quietly(format, () => (format.check as NonNullable<typeof format.check>)(reader))))) {
        matched.push(format);
      }
    }
  }

  const chosen = matched[0] ?? fallback;
  if (expected !== undefined && chosen !== undefined && chosen.name !== expected) throw mismatch(expected, chosen.name);
  if (chosen === undefined) {
    throw new IntrospectionError(
      'FORMAT_MISMATCH',
      `the content matches none of the formats considered (${candidates.map((format) => format.name).join(', ')})`,
    );
  }
  return { matched, chosen };
}

function matchesAt(bytes: Uint8Array, offset: number, signature: Signature): boolean {
  return bytesEqual(bytes, offset, signature.bytes);
}
