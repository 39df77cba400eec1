/**
 * Comparing a looked-up name with the bytes a Unix file system stores.
 *
 * Linux names are byte strings; guests write them in UTF-8. A lookup encodes the wanted
 * name once and compares bytes, so names that are not valid UTF-8 never match by accident
 * (decoding them would turn every bad byte into U+FFFD).
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A name's UTF-8 bytes. */
export function utf8Name(name: string): Uint8Array {
  return encoder.encode(name);
}

/** Stored name bytes as text (invalid UTF-8 becomes U+FFFD). */
export function nameText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * True when `bytes[start .. end]` equals `wanted`, compared in place (lookups scan
 * thousands of names) and from the end: names in one directory often share a prefix
 * (`libfoo.so.1`, `python3.11`), so the last bytes tell them apart sooner.
 */
export function namesEqualAt(bytes: Uint8Array, start: number, end: number, wanted: Uint8Array): boolean {
  if (end - start !== wanted.byteLength) return false;
  for (let index = wanted.byteLength - 1; index >= 0; index -= 1) {
    if (bytes[start + index] !== wanted[index]) return false;
  }
  return true;
}

/**
 * True when `bytes[start .. end]` equals `wanted` once ASCII letters are folded to lower
 * case, as XFS's `ascii-ci` option compares names (`xfs_ascii_ci_xfrm` folds A-Z only).
 */
export function asciiFoldedEqualsAt(bytes: Uint8Array, start: number, end: number, wanted: Uint8Array): boolean {
  if (end - start !== wanted.byteLength) return false;
  for (let index = wanted.byteLength - 1; index >= 0; index -= 1) {
    if (asciiLower(bytes[start + index] as number) !== asciiLower(wanted[index] as number)) return false;
  }
  return true;
}

function asciiLower(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
}

/**
 * True when two names are equal under Unicode case folding, as ext4's `casefold`
 * directories compare them (Linux `utf8_strncasecmp`: NFD, then full case folding).
 * Approximated with NFD and upper-then-lower casing, which folds `ß` to `ss` as full
 * folding does.
 */
export function foldedNameEquals(stored: Uint8Array, wanted: string): boolean {
  return fold(decoder.decode(stored)) === fold(wanted);
}

function fold(name: string): string {
  return name.normalize('NFD').toUpperCase().toLowerCase();
}
