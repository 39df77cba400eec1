/**
 * Case folding for the Windows-family name spaces (FAT long names, registry key and value
 * names) that compare names case-insensitively one UTF-16 code unit at a time, as Windows'
 * `RtlUpcaseUnicodeChar` does. NTFS uses its own `$UpCase` table instead (see
 * `ntfs-index.ts`), because a volume carries the table its directories were sorted with.
 *
 * @module
 */

const folded = new Map<number, number>();

/** The upper-case form of one UTF-16 code unit (unchanged where upper-casing would change the length, as for `ß`). */
export function upcaseCodeUnit(unit: number): number {
  if (unit < 0x61) return unit;
  if (unit <= 0x7a) return unit - 0x20;
  if (unit < 0x80) return unit;
  let upper = folded.get(unit);
  if (upper === undefined) {
    const text = String.fromCharCode(unit).toUpperCase();
    upper = text.length === 1 ? text.charCodeAt(0) : unit;
    folded.set(unit, upper);
  }
  return upper;
}

/** `name` upper-cased code unit by code unit, for case-insensitive comparison. */
export function foldCase(name: string): string {
  let ascii = true;
  for (let index = 0; index < name.length; index += 1) {
    if (name.charCodeAt(index) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return name.toUpperCase();
  let result = '';
  for (let index = 0; index < name.length; index += 1) result += String.fromCharCode(upcaseCodeUnit(name.charCodeAt(index)));
  return result;
}
