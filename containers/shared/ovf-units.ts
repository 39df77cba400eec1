/**
 * OVF allocation units to bytes: `ovf:capacityAllocationUnits` on a `Disk` and
 * `rasd:AllocationUnits` on a memory item.
 *
 * OVF (DSP0243 2.1.1, section 9.1 and annex C) writes units as DMTF "programmatic units"
 * (DSP0004 annex C.1): a base unit, then `*` and modifiers, each a power (`2^20`, `10^6`)
 * or a plain integer, e.g. `byte * 2^30`. Exporters also write names:
 *
 * | written | by | bytes |
 * | --- | --- | --- |
 * | `byte * 2^20`, `byte * 2^30` | VMware ovftool, vSphere | 2^20, 2^30 |
 * | `byte` | VMware (disk capacity) | 1 |
 * | `MegaBytes` | VirtualBox (memory) | 2^20 |
 * | `KiloBytes`, `GigaBytes`, `KB`, `MB`, `GB` | older exporters; VirtualBox's reader accepts them | 2^10, 2^20, 2^30 |
 *
 * Named units are binary, as VirtualBox and VMware read them. Anything else is not
 * guessed: the caller gets `undefined` and says so.
 *
 * @module
 */

const NAMED_UNITS: Readonly<Record<string, bigint>> = {
  byte: 1n,
  bytes: 1n,
  b: 1n,
  kilobyte: 1n << 10n,
  kilobytes: 1n << 10n,
  kb: 1n << 10n,
  kib: 1n << 10n,
  megabyte: 1n << 20n,
  megabytes: 1n << 20n,
  mb: 1n << 20n,
  mib: 1n << 20n,
  gigabyte: 1n << 30n,
  gigabytes: 1n << 30n,
  gb: 1n << 30n,
  gib: 1n << 30n,
  terabyte: 1n << 40n,
  terabytes: 1n << 40n,
  tb: 1n << 40n,
  tib: 1n << 40n,
};

/** The largest exponent accepted in a modifier (`2^62`, `10^18`): beyond, no byte count is exact. */
const MAX_EXPONENT = 62;

/**
 * Bytes per unit for an allocation-units string, or `undefined` when it is not a byte unit
 * this module understands (`hertz * 10^6`, a typo, an exponent past 2^62).
 */
export function bytesPerUnit(units: string): bigint | undefined {
  const terms = units.trim().toLowerCase().split('*').map((term) => term.trim());
  const base = terms.shift();
  if (base === undefined) return undefined;
  let multiplier = NAMED_UNITS[base];
  if (multiplier === undefined) return undefined;
  for (const term of terms) {
    const power = /^(2|10)\s*\^\s*([0-9]{1,2})$/.exec(term);
    if (power !== null) {
      const exponent = Number(power[2]);
      if (exponent > MAX_EXPONENT) return undefined;
      multiplier *= BigInt(power[1] as string) ** BigInt(exponent);
    } else if (/^[0-9]{1,18}$/.test(term)) {
      multiplier *= BigInt(term);
    } else {
      return undefined;
    }
    if (multiplier > 1n << BigInt(MAX_EXPONENT)) return undefined;
  }
  return multiplier > 0n ? multiplier : undefined;
}

/** Why {@link quantityInBytes} gave no number. */
export type UnitProblem = 'not-a-number' | 'unknown-units' | 'too-large';

/**
 * `quantity` (decimal digits, as OVF writes `ovf:capacity` and `rasd:VirtualQuantity`)
 * times the units, as an exact byte count; or the reason there is none. `units`
 * undefined means bytes.
 */
export function quantityInBytes(quantity: string, units: string | undefined): { bytes: number } | { problem: UnitProblem } {
  const digits = quantity.trim();
  if (!/^[0-9]{1,20}$/.test(digits)) return { problem: 'not-a-number' };
  const multiplier = units === undefined ? 1n : bytesPerUnit(units);
  if (multiplier === undefined) return { problem: 'unknown-units' };
  const bytes = BigInt(digits) * multiplier;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) return { problem: 'too-large' };
  return { bytes: Number(bytes) };
}
