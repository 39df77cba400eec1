/**
 * What a result card shows, computed from an introspection result: the same facts and rows
 * as the command line's summary (`src/summary.ts`, each module's `summarize`), the safety
 * verdict with each failed check in plain words, the Glance properties, the OVF summary,
 * and how much of the file was read. Plain data: the worker computes it, the page renders it.
 *
 * @module
 */
import { knownChecks } from '../src/cli/names.js';
import { allContainers, allFormats } from '../src/defaults.js';
import { isIntrospectionError } from '../src/errors.js';
import { type ImageInfo, glanceProperties } from '../src/index.js';
import type { SafetyCheckResult } from '../src/safety.js';
import { type SummaryRow, humanSize } from '../src/summary.js';
import type { CheckReport, DetailRow, FailureReport, ImageReport, LayerReport, OvfReport } from './protocol.js';

/** The file as the report names it. */
export interface FileFacts {
  name: string;
  size: number;
}

type SummarizingModule = { name: string; title: string; summarize?: (value: never) => SummaryRow[] };
const formatModules = allFormats as readonly SummarizingModule[];
const containerModules = allContainers as readonly SummarizingModule[];
const checkDescriptions = new Map(knownChecks().map((check) => [check.name, check.description]));

/** qemu indents each level of its nested output by four spaces (`src/summary.ts`). */
const INDENT_WIDTH = 4;

/** A module's `summarize` rows as the card lists them, with the CLI's conventions (leading spaces nest, an empty value is a heading, an empty label a table line). */
export function detailRows(rows: readonly SummaryRow[]): DetailRow[] {
  const out: DetailRow[] = [];
  for (const [label, value] of rows) {
    if (value === undefined) continue;
    const trimmed = label.trimStart();
    const depth = Math.floor((label.length - trimmed.length) / INDENT_WIDTH);
    if (label === '') out.push({ kind: 'line', label: '', value: String(value), depth });
    else if (value === '') out.push({ kind: 'heading', label: trimmed, value: '', depth });
    else out.push({ kind: 'row', label: trimmed, value: String(value), depth });
  }
  return out;
}

function summarize(modules: readonly SummarizingModule[], name: string, value: unknown): { title: string; rows: DetailRow[] } {
  const module = modules.find((candidate) => candidate.name === name);
  return { title: module?.title ?? name, rows: detailRows(module?.summarize?.(value as never) ?? []) };
}

function checkReport(check: SafetyCheckResult): CheckReport {
  return { name: check.name, description: checkDescriptions.get(check.name) ?? check.name, reason: check.reason ?? '' };
}

/** `3 ms`, `0.4 ms`: enough digits to tell a fast read from an instant one. */
export function milliseconds(ms: number): string {
  return `${ms < 10 ? Number(ms.toFixed(1)) : Math.round(ms)} ms`;
}

/** The disk format's last word in an OVF `ovf:format` URL (`...vmdk.html#streamOptimized`). */
function diskFormatName(format: string | undefined): string | undefined {
  if (format === undefined) return undefined;
  const fragment = format.slice(format.lastIndexOf('#') + 1);
  return fragment === '' ? format : fragment;
}

function ovfReport(ovf: NonNullable<ImageInfo['ovf']>): OvfReport {
  const report: OvfReport = { disks: [] };
  if (ovf.name !== undefined) report.name = ovf.name;
  const os = ovf.operatingSystem;
  if (os !== undefined) report.operatingSystem = [os.description ?? `CIM operating system ${os.id}`, os.osType && os.osType !== os.description ? `(${os.osType})` : ''].filter(Boolean).join(' ');
  if (ovf.cpus !== undefined) report.cpus = ovf.cpus;
  if (ovf.memoryBytes !== undefined) report.memory = humanSize(ovf.memoryBytes);
  if (ovf.firmware !== undefined) report.firmware = `${ovf.firmware === 'efi' ? 'UEFI' : 'BIOS'}${ovf.secureBoot ? ', Secure Boot' : ''}`;
  for (const disk of ovf.disks) {
    const entry: OvfReport['disks'][number] = { id: disk.diskId };
    if (disk.href !== undefined) entry.file = disk.href;
    if (disk.capacityBytes !== undefined) entry.capacity = humanSize(disk.capacityBytes);
    const format = diskFormatName(disk.format);
    if (format !== undefined) entry.format = format;
    report.disks.push(entry);
  }
  return report;
}

/** The card's facts for one image. */
export function describeImage(info: ImageInfo, file: FileFacts, elapsedMs: number): ImageReport {
  const format = summarize(formatModules, info.format, info.details);
  const layers: LayerReport[] = (info.containers ?? []).map((layer) => {
    const summary = summarize(containerModules, layer.format, layer);
    return { format: layer.format, title: summary.title, ...(layer.member === undefined ? {} : { member: layer.member }), rows: summary.rows };
  });
  const report: ImageReport = {
    fileName: file.name,
    fileSize: file.size,
    format: info.format,
    formatTitle: format.title,
    layers,
    virtualSize: info.virtualSize,
    virtualSizeText: humanSize(info.virtualSize),
    details: format.rows,
    alsoMatches: info.matchedFormats.filter((name) => name !== info.format),
    warnings: info.warnings,
    safe: info.safety.safe,
    failedChecks: info.safety.checks.filter((check) => !check.passed && check.waived !== true).map(checkReport),
    waivedChecks: info.safety.checks.filter((check) => check.waived === true).map(checkReport),
    checkCount: info.safety.checks.length,
    glanceProperties: glanceProperties(info),
    bytesRead: info.bytesRead,
    elapsedMs,
    readText: `read ${humanSize(info.bytesRead)} of ${humanSize(file.size)} in ${milliseconds(elapsedMs)}`,
    // The CLI's `--json` object (src/cli/output.ts `resultObject`): a person can compare the
    // page with `image-introspect --json FILE`, and a dashboard can keep it.
    resultJson: JSON.stringify({ filename: file.name, ...info }, null, 2),
  };
  if (info.ovf !== undefined) report.ovf = ovfReport(info.ovf);
  const disks = (info as { disks?: ImageInfo[] }).disks;
  if (disks !== undefined && disks.length > 1) {
    report.disks = disks.map((disk) => ({ format: disk.format, virtualSizeText: humanSize(disk.virtualSize), safe: disk.safety.safe }));
  }
  return report;
}

/** One sentence per error code, for a person rather than a program. */
const PLAIN_WORDS: Readonly<Record<string, string>> = {
  TRUNCATED: 'The file ends before the image does: it looks cut short (an interrupted download or copy?).',
  CORRUPT: "The image's metadata is damaged: it holds values no valid image has.",
  UNSUPPORTED: 'The image uses a version or feature this page cannot read.',
  LIMIT_EXCEEDED: 'The image declares more than a safety limit allows, so it was not read further.',
  ABORTED: 'Checking was cancelled.',
  SOURCE_ERROR: 'The file could not be read. Was it moved, deleted or changed while it was being checked?',
  FORMAT_MISMATCH: 'The content is not the format that was expected.',
  INVALID_ARGUMENT: 'The page could not check this file (this is a bug in the page).',
  INTERNAL: 'The page could not check this file (this is a bug in image-introspect).',
};

/** The card's words for a file that could not be read. */
export function describeFailure(error: unknown, file: FileFacts): FailureReport {
  const code = isIntrospectionError(error) ? error.code : error instanceof DOMException && error.name === 'AbortError' ? 'ABORTED' : 'SOURCE_ERROR';
  const message = error instanceof Error ? error.message : String(error);
  return { fileName: file.name, fileSize: file.size, code, summary: PLAIN_WORDS[code] ?? PLAIN_WORDS.INTERNAL ?? '', message };
}
