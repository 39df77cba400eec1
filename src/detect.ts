/**
 * Format detection: which of the given modules match the image.
 *
 * Rules, in order:
 *
 * 1. The head: every module's start-relative signatures are compared with the first
 *    bytes (read once, in one range, so chunking cannot matter); a module whose signature
 *    matched and whose `check` agrees matches; a module with no matching signature but a
 *    `probe` matches if the probe says so. The fallback's probe (a partition table) is a
 *    weak match: it never hides the other rules.
 * 2. The end, only when nothing but the fallback matched at the head: end-relative
 *    signatures are compared with the image's last bytes. A fixed VHD, whose only
 *    signature is its footer, is found this way. (The engine first lets the fallback parse
 *    while a stream is read to its end, so that both see the same bytes.)
 * 3. Nothing matched: the fallback module (raw).
 *
 * Every matching module is reported; the first in the list given is the one that parses.
 *
 * @module
 */
import { bytesEqual } from './bytes.js';
import { IntrospectionError, isIntrospectionError, toIntrospectionError } from './errors.js';
import type { AnyFormatModule, ByteReader, Signature } from './format-module.js';
import { isBudgetError } from './reading/reader.js';

/** What detection needs of a module: format and container modules both have it. */
export type Detectable = Pick<AnyFormatModule, 'name' | 'signatures' | 'check' | 'probe' | 'fallback' | 'headBytes' | 'tailBytes'>;

/**
 * How many bytes of the start a stream must keep through detection: what the head
 * signatures and the modules' `headBytes` need.
 */
export function headSignatureBytes(formats: readonly Detectable[]): number {
  const cached = headBytesCache.get(formats);
  if (cached !== undefined) return cached;
  let bytes = 0;
  for (const format of formats) {
    bytes = Math.max(bytes, format.headBytes ?? 0);
    for (const signature of format.signatures) {
      if (!signature.fromEnd) bytes = Math.max(bytes, signature.offset + signatureLength(signature));
    }
  }
  headBytesCache.set(formats, bytes);
  return bytes;
}

const headBytesCache = new WeakMap<readonly Detectable[], number>();

/** Computed once per list of formats (the default list is one constant). */
const signatureEndsCache = new WeakMap<readonly Detectable[], number[]>();

function signatureEnds(formats: readonly Detectable[]): number[] {
  let ends = signatureEndsCache.get(formats);
  if (ends === undefined) {
    ends = formats.flatMap((format) => format.signatures.filter((signature) => !signature.fromEnd).map((signature) => signature.offset + signatureLength(signature)));
    signatureEndsCache.set(formats, ends);
  }
  return ends;
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

/**
 * Signatures ending within this many bytes are compared against one read of the start
 * (4 KiB and the 8 bytes of a 4Kn GPT header's signature); others are read where they are.
 */
const NEAR_HEAD_BYTES = 4096;

function signatureLength(signature: Signature): number {
  return typeof signature.bytes === 'string' ? signature.bytes.length : signature.bytes.byteLength;
}

/**
 * A probe or check that fails on a short or malformed image has simply not matched;
 * aborts, source failures and bugs still propagate, and so does a budget too small to
 * decide (`probeBytes`, `maxBufferBytes`): taking it for "no match" would make the answer
 * depend on the budget.
 */
async function quietly(format: Detectable, test: () => Promise<boolean>): Promise<boolean> {
  try {
    return await test();
  } catch (error) {
    if (isIntrospectionError(error) && !isBudgetError(error) && ['TRUNCATED', 'CORRUPT', 'UNSUPPORTED', 'LIMIT_EXCEEDED'].includes(error.code)) {
      return false;
    }
    throw toIntrospectionError(error, format.name);
  }
}

/** The error for content that is not the format the caller expects. */
export function mismatch(expected: string, found: string): IntrospectionError {
  return new IntrospectionError('FORMAT_MISMATCH', `the content is ${found}, not the expected ${expected}`);
}

/** What the head of the image says. */
export interface HeadDetection {
  /** The modules whose head signature (and check) or probe matched, in list order. */
  readonly matched: readonly Detectable[];
  /**
   * True when the fallback's probe matched: the head is also a plausible raw disk (it holds
   * a partition table). The fallback is parsed only when nothing else matched, but a second
   * reading of the same bytes matters to the `multiple_formats` check.
   */
  readonly fallbackMatched: boolean;
}

/** Runs every module's head detection: signatures at the start, checks, probes, and the fallback's probe. */
export async function detectAtHead(formats: readonly Detectable[], reader: ByteReader): Promise<HeadDetection> {
  // One read for the signatures near the start; each farther one (ISO's at 32769) is read
  // where it is, so that a random-access source reads a few hundred bytes, not 32 KiB.
  let nearest = NEAR_HEAD_BYTES + 8;
  for (const end of signatureEnds(formats)) if (end <= NEAR_HEAD_BYTES && end > nearest) nearest = end;
  const head = await reader.readAvailable(0, nearest, 'head');
  const far = new Map<number, Uint8Array>();
  const farMatches = async (signature: Signature): Promise<boolean> => {
    let bytes = far.get(signature.offset);
    if (bytes === undefined) {
      bytes = await reader.readAvailable(signature.offset, signatureLength(signature), 'signature');
      far.set(signature.offset, bytes);
    }
    return matchesAt(bytes, 0, signature);
  };
  const matched: Detectable[] = [];
  let fallbackMatched = false;
  for (const format of formats) {
    const check = format.check;
    const probe = format.probe;
    let signed = false;
    for (const signature of format.signatures) {
      if (signature.fromEnd) continue;
      // Compared in place when the head holds it: an await per signature of every module,
      // on every image, was most of detection's time.
      const inHead = signature.offset + signatureLength(signature) <= head.byteLength;
      if (inHead ? matchesAt(head, signature.offset, signature) : await farMatches(signature)) {
        signed = true;
        break;
      }
    }
    let found = false;
    if (signed) found = check === undefined || (await quietly(format, () => check(reader)));
    else if (probe !== undefined) found = await quietly(format, () => probe(reader));
    if (!found) continue;
    if (format.fallback) fallbackMatched = true;
    else matched.push(format);
  }
  return { matched, fallbackMatched };
}

/** The modules that can be recognised only at the end of an image (their `fromEnd` signatures). */
export function endFormats(formats: readonly AnyFormatModule[]): AnyFormatModule[] {
  return formats.filter((format) => !format.fallback && format.signatures.some((signature) => signature.fromEnd));
}

/**
 * Compares the end-relative signatures with the image's last bytes. On a stream the end
 * must already have been reached, keeping at least {@link tailBytesNeeded} bytes (the
 * engine arranges it); otherwise this reads to the end.
 */
export async function detectAtEnd(formats: readonly AnyFormatModule[], reader: ByteReader): Promise<AnyFormatModule[]> {
  const enders = endFormats(formats);
  if (enders.length === 0) return [];
  const size = await reader.totalSize(tailBytesNeeded(formats));
  const longest = Math.min(size, Math.max(...enders.flatMap((format) => format.signatures.filter((s) => s.fromEnd).map((s) => s.offset))));
  const tail = await reader.readAvailable(size - longest, longest, 'tail');
  const matched: AnyFormatModule[] = [];
  for (const format of enders) {
    const check = format.check;
    const signed = format.signatures.some(
      (signature) => signature.fromEnd && signature.offset <= size && matchesAt(tail, longest - signature.offset, signature),
    );
    if (signed && (check === undefined || (await quietly(format, () => check(reader))))) matched.push(format);
  }
  return matched;
}

function matchesAt(bytes: Uint8Array, offset: number, signature: Signature): boolean {
  return bytesEqual(bytes, offset, signature.bytes);
}
