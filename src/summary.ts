/**
 * A human-readable summary of a result, in the spirit of `qemu-img info`.
 *
 * @module
 */
import type { AnyFormatModule } from './format-module.js';
import type { ImageInfoOf } from './image-info.js';

const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** A byte count in binary units with up to three significant digits, as qemu prints sizes: `64 MiB`, `1.5 GiB`. */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const text = value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
  return `${text.replace(/\.?0+$/, '')} ${units[unit]}`;
}

/**
 * The summary block for one image: file, format, virtual size, then the format's notable
 * fields (from its module's `summarize`), then any warnings and other matching formats.
 */
export function formatSummary(filename: string, info: ImageInfoOf<string, unknown>, module: AnyFormatModule | undefined): string {
  const rows: Array<[string, string]> = [
    ['image', filename],
    ['file format', info.format],
    ['virtual size', `${humanSize(info.virtualSize)} (${info.virtualSize} bytes)`],
  ];
  for (const [label, value] of module?.summarize?.(info.details) ?? []) {
    if (value !== undefined) rows.push([label, String(value)]);
  }
  rows.push(['bytes read', String(info.bytesRead)]);
  const others = info.matchedFormats.filter((name) => name !== info.format);
  if (others.length > 0) rows.push(['also matches', others.join(', ')]);
  for (const warning of info.warnings) rows.push(['warning', warning]);
  const failed = info.safety.checks.filter((check) => !check.passed && check.waived !== true);
  rows.push(['safety', info.safety.safe ? 'safe' : `UNSAFE (${failed.map((check) => check.name).join(', ')})`]);
  for (const check of failed) rows.push([`failed check ${check.name}`, check.reason ?? '']);
  return `${rows.map(([label, value]) => `${label}: ${value}`).join('\n')}\n`;
}
