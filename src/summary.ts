/**
 * The human-readable summary of a result, as `qemu-img info` prints it, and more.
 *
 * The block for one image starts with the lines every format has (`image`, `file format`,
 * `virtual size`), then the rows of the format module's `summarize`, then what this
 * library adds for every format (`bytes read`, other matching formats, warnings, the safety
 * verdict).
 *
 * A format's `summarize` returns `[label, value]` rows. Three conventions let a flat list
 * carry qemu's nested "Format specific information" block and its snapshot table (build
 * them with {@link section}, {@link listRows} and {@link textRow} rather than by hand):
 *
 * | row | printed as |
 * | --- | --- |
 * | `['cid', 2620356844]` | `cid: 2620356844` |
 * | `['    cid', 1]` (leading spaces) | indented by those spaces: qemu indents 4 per level |
 * | `['bitmaps', '']` (empty value) | a heading, `bitmaps:` (qemu's form for a dict or a list) |
 * | `['', 'ID  TAG ...']` (empty label) | the value alone, as a line of a table |
 * | `['dirty', undefined]` | nothing: the field does not apply |
 *
 * @module
 */
import type { AnyFormatModule } from './format-module.js';
import type { ImageInfoOf } from './image-info.js';
import { guestSummaryRows } from '../guest/summary-rows.js';

/** A value in a summary row; `undefined` rows are left out. */
export type SummaryValue = string | number | boolean | undefined;

/** One row of a format's summary (see the module documentation for the conventions). */
export type SummaryRow = [label: string, value: SummaryValue];

/** qemu indents each level of its nested output by four spaces. */
const INDENT = '    ';

/** qemu's binary prefixes, one per power of 1024. */
const prefixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

/**
 * A byte count as `qemu-img info` prints it (qemu's `size_to_str`): the value in the
 * largest binary unit that keeps it below 1000, printed with C's `%0.3g` (three
 * significant digits, trailing zeros dropped), then the unit: `0 B`, `1 KiB`,
 * `100 MiB`, `0.977 GiB`, and even `1e+03 KiB` where qemu prints that (1,023,488 bytes).
 *
 * qemu picks the unit from the binary exponent of `bytes × 1.024`, so that a value whose
 * integer part would reach 1000 moves to the next unit; the digits are rounded exactly,
 * half to even, as glibc's `printf` rounds (`1.125 MiB` prints `1.12 MiB`).
 */
export function humanSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) return `${bytes} B`;
  // frexp(bytes / (1000 / 1024)) gives the exponent e with 2^(e-1) <= bytes × 1.024 < 2^e;
  // qemu's unit is (e - 1) / 10, truncated toward zero as C divides (0 bytes: unit 0).
  const floorLog2 = bytes === 0 ? 0 : bitLength((BigInt(bytes) * 1024n) / 1000n) - 1;
  const unit = Math.min(Math.trunc(floorLog2 / 10), prefixes.length - 1);
  return `${formatThreeSignificant(BigInt(bytes), 10 * unit)} ${prefixes[unit]}B`;
}

/** The number of bits of a positive bigint. */
function bitLength(value: bigint): number {
  return value.toString(2).length;
}

/**
 * C's `%0.3g` of `numerator / 2^shift`, exactly: three significant digits rounded half to
 * even, fixed notation for decimal exponents -4..2 and `d.dde+XX` otherwise, trailing
 * zeros (and a trailing point) removed.
 */
function formatThreeSignificant(numerator: bigint, shift: number): string {
  if (numerator === 0n) return '0';
  const denominator = 1n << BigInt(shift);
  // The decimal exponent of the value: 10^exponent <= value < 10^(exponent + 1).
  let exponent = numerator.toString().length - 1 - Math.floor(shift * Math.log10(2));
  while (compareScaled(numerator, denominator, exponent) < 0) exponent -= 1;
  while (compareScaled(numerator, denominator, exponent + 1) >= 0) exponent += 1;
  // Three digits: round(value × 10^(2 - exponent)), half to even; a carry to 1000 moves the exponent.
  let digits = roundHalfEven(numerator, denominator, 2 - exponent);
  if (digits >= 1000n) {
    exponent += 1;
    digits = roundHalfEven(numerator, denominator, 2 - exponent);
  }
  const text = digits.toString();
  if (exponent < -4 || exponent >= 3) {
    const mantissa = stripZeros(`${text[0]}.${text.slice(1)}`);
    return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  const decimals = 2 - exponent;
  if (decimals <= 0) return text;
  const padded = text.padStart(decimals + 1, '0');
  return stripZeros(`${padded.slice(0, padded.length - decimals)}.${padded.slice(padded.length - decimals)}`);
}

/** Compares numerator / denominator with 10^exponent. */
function compareScaled(numerator: bigint, denominator: bigint, exponent: number): number {
  const left = exponent >= 0 ? numerator : numerator * 10n ** BigInt(-exponent);
  const right = exponent >= 0 ? denominator * 10n ** BigInt(exponent) : denominator;
  return left < right ? -1 : left > right ? 1 : 0;
}

/** round(numerator / denominator × 10^power), ties to even. */
function roundHalfEven(numerator: bigint, denominator: bigint, power: number): bigint {
  const top = power >= 0 ? numerator * 10n ** BigInt(power) : numerator;
  const bottom = power >= 0 ? denominator : denominator * 10n ** BigInt(-power);
  const quotient = top / bottom;
  const twiceRemainder = 2n * (top % bottom);
  if (twiceRemainder > bottom || (twiceRemainder === bottom && quotient % 2n === 1n)) return quotient + 1n;
  return quotient;
}

function stripZeros(text: string): string {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}

/** `64 MiB (67108864 bytes)`: qemu's form for a virtual size. */
export function sizeWithBytes(bytes: number): string {
  return `${humanSize(bytes)} (${bytes} bytes)`;
}

/** Indents rows one level (four spaces), leaving table lines (empty labels) alone. */
function indent(rows: readonly SummaryRow[]): SummaryRow[] {
  return rows.map(([label, value]): SummaryRow => (label === '' ? [label, value] : [`${INDENT}${label}`, value]));
}

/** Rows that print something: those whose value is not `undefined`. */
function present(rows: readonly SummaryRow[]): SummaryRow[] {
  return rows.filter(([, value]) => value !== undefined);
}

/**
 * A heading and its rows one level in, as qemu prints a dict (`Format specific
 * information:`, `encrypt:`). Rows whose value is `undefined` are dropped; with nothing
 * left the heading is dropped too, unless `always` (qemu prints `flags:` for an empty list).
 */
export function section(label: string, rows: readonly SummaryRow[], always = false): SummaryRow[] {
  const kept = present(rows);
  if (kept.length === 0 && !always) return [];
  return [[label, ''], ...indent(kept)];
}

/**
 * A heading and its items as qemu prints a list: `[0]: value` for a scalar item, `[0]:`
 * and the item's rows one level further in for a dict item. The heading stays when the
 * list is empty, as qemu's does.
 */
export function listRows(label: string, items: ReadonlyArray<SummaryValue | readonly SummaryRow[]>): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const [index, item] of items.entries()) {
    if (Array.isArray(item)) rows.push(...section(`[${index}]`, item as readonly SummaryRow[], true));
    else rows.push([`[${index}]`, item as SummaryValue]);
  }
  return section(label, rows, true);
}

/** A line printed as is (a row of a table, such as qemu's snapshot list). */
export function textRow(line: string): SummaryRow {
  return ['', line];
}

/** One internal snapshot, as qemu's snapshot list shows it. */
export interface SnapshotSummary {
  id: string;
  name: string;
  /** Bytes of saved VM state. */
  vmStateSize: number;
  /** When it was taken, ISO 8601 (printed in local time, as qemu does). */
  date: string;
  /** The guest clock, in nanoseconds. */
  vmClockNs: number;
  /** The instruction count (record/replay), when there is one. */
  icount: number | undefined;
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/**
 * qemu's `Snapshot list:` table (qemu-img info; the columns of qemu's
 * `bdrv_snapshot_dump` in qemu 7.2: ID and TAG left-aligned (9 and 16 wide, each followed by a space), VM SIZE, DATE in local time, VM CLOCK
 * as hours:minutes:seconds.milliseconds and ICOUNT right-aligned). Nothing without snapshots.
 */
export function snapshotTable(snapshots: readonly SnapshotSummary[]): SummaryRow[] {
  if (snapshots.length === 0) return [];
  const rows: SummaryRow[] = [
    ['Snapshot list', ''],
    textRow(`${'ID'.padEnd(10)}${'TAG'.padEnd(17)}${'VM SIZE'.padStart(8)}${'DATE'.padStart(20)}${'VM CLOCK'.padStart(13)}${'ICOUNT'.padStart(11)}`),
  ];
  for (const snapshot of snapshots) {
    // Whole seconds: the date has nanoseconds, which Date does not parse everywhere.
    const taken = new Date(`${snapshot.date.slice(0, 19)}Z`);
    const date = Number.isNaN(taken.getTime())
      ? snapshot.date
      : `${taken.getFullYear()}-${pad(taken.getMonth() + 1)}-${pad(taken.getDate())} ${pad(taken.getHours())}:${pad(taken.getMinutes())}:${pad(taken.getSeconds())}`;
    const seconds = Math.floor(snapshot.vmClockNs / 1e9);
    const clock = `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}.${pad(Math.floor(snapshot.vmClockNs / 1e6) % 1000, 3)}`;
    const icount = snapshot.icount === undefined ? '' : String(snapshot.icount);
    rows.push(textRow(`${snapshot.id.padEnd(9)} ${snapshot.name.padEnd(16)} ${humanSize(snapshot.vmStateSize).padStart(8)}${date.padStart(20)}${clock.padStart(13)}${icount.padStart(11)}`));
  }
  return rows;
}

/** qemu's heading for the block of fields only one format has. */
export const FORMAT_SPECIFIC = 'Format specific information';

/** Renders rows with the conventions above. */
function renderRows(rows: readonly SummaryRow[]): string {
  return present(rows)
    .map(([label, value]) => (label === '' ? String(value) : value === '' ? `${label}:` : `${label}: ${String(value)}`))
    .join('\n');
}

/**
 * The summary block for one image: file, format, virtual size, then the format's rows
 * (from its module's `summarize`), then bytes read, other matching formats, warnings and
 * the safety verdict with the reason of each failed check.
 */
export function formatSummary(filename: string, info: ImageInfoOf<string, unknown>, module: AnyFormatModule | undefined): string {
  const rows: SummaryRow[] = [
    ['image', filename],
    ['file format', info.format],
    ['virtual size', sizeWithBytes(info.virtualSize)],
  ];
  rows.push(...((module?.summarize?.(info.details) ?? []) as SummaryRow[]));
  rows.push(...guestSummaryRows(info.guest));
  rows.push(['bytes read', info.bytesRead]);
  const others = info.matchedFormats.filter((name) => name !== info.format);
  if (others.length > 0) rows.push(['also matches', others.join(', ')]);
  for (const warning of info.warnings) rows.push(['warning', warning]);
  const failed = info.safety.checks.filter((check) => !check.passed && check.waived !== true);
  const waived = info.safety.checks.filter((check) => check.waived === true);
  rows.push(['safety', info.safety.safe ? 'safe' : `UNSAFE (${failed.map((check) => check.name).join(', ')})`]);
  for (const check of failed) rows.push([`failed check ${check.name}`, check.reason ?? '']);
  for (const check of waived) rows.push([`waived check ${check.name}`, check.reason ?? '']);
  return `${renderRows(rows)}\n`;
}
