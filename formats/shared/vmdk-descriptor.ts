/**
 * VMDK descriptors (VMware "Virtual Disk Format 1.1", section 4; qemu 7.2 block/vmdk.c):
 * qemu's text probe, decoding the descriptor's bytes, and parsing its lines into entries,
 * `ddb.*` entries and extent lines. Used by `formats/vmdk.ts` for descriptor files and for
 * the descriptor embedded in a sparse extent.
 *
 * @module
 */
import { latin1Text } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import type { ByteReader, ExtentFacts } from '../../src/format-module.js';

/** qemu reads at most 1 MiB - 1 of a descriptor file, and so do we (block/vmdk.c vmdk_read_desc). */
export const VMDK_MAX_DESCRIPTOR_BYTES = 1024 * 1024 - 1;
/** More extents than this in one descriptor is not a disk anybody made. */
const MAX_EXTENTS = 10_000;

/** One extent line of a descriptor: `RW 131072 SPARSE "disk.vmdk"` or `RW 2048 FLAT "disk-flat.vmdk" 0`. */
export interface VmdkExtent {
  /** `RW`, `RDONLY` or `NOACCESS`. */
  access: string;
  /** Size in sectors (512 bytes). */
  sectors: number;
  /** `SPARSE`, `FLAT`, `ZERO`, `VMFS`, `VMFSSPARSE`, `VMFSRDM`, `VMFSRAW`, `SESPARSE`. */
  type: string;
  /** The extent's file name, exactly as written (`undefined` for `ZERO` extents). */
  filename: string | undefined;
  /** Offset in sectors into the extent file (FLAT extents). */
  offset: number | undefined;
  /** What was read of the extent's file, when it was read beside the descriptor (`introspectFile`, `introspectUrl`, a `resolve` option). */
  file?: ExtentFacts;
}

// ---------------------------------------------------------------------------------------
// Detection

/**
 * qemu's text probe (block/vmdk.c vmdk_probe): lines starting `#` are skipped, lines of
 * spaces (optionally then `\r`) are skipped, and the first other line must be exactly
 * `version=1`, `version=2` or `version=3` ending in `\n` or `\r\n`. qemu looks at the
 * first 512 bytes only; we apply the same rule over up to 1 MiB so that a descriptor
 * with long leading comments is still recognised (qemu opens it with `-f vmdk`).
 */
export function looksLikeDescriptor(bytes: Uint8Array, atEnd: boolean): boolean | 'need-more' {
  let position = 0;
  const end = bytes.byteLength;
  while (position < end) {
    const byte = bytes[position];
    if (byte === 0x23 /* # */) {
      while (position < end && bytes[position] !== 0x0a) position += 1;
      if (position >= end) return atEnd ? false : 'need-more';
      position += 1;
      continue;
    }
    if (byte === 0x20 /* space */) {
      while (position < end && bytes[position] === 0x20) position += 1;
      if (position < end && bytes[position] === 0x0d) position += 1;
      if (position >= end) return atEnd ? false : 'need-more';
      if (bytes[position] !== 0x0a) return false;
      position += 1;
      continue;
    }
    const rest = latin1Text(bytes.subarray(position, Math.min(end, position + 11)));
    if (/^version=[123](\n|\r\n)/.test(rest)) return true;
    if (!atEnd && rest.length < 11 && /^(v(e(r(s(i(o(n(=([123](\r)?)?)?)?)?)?)?)?)?)?$/.test(rest)) return 'need-more';
    return false;
  }
  return atEnd ? false : 'need-more';
}

/** The module's probe: qemu's text probe over a growing window of the start (512 bytes, then 8 times more, up to {@link VMDK_MAX_DESCRIPTOR_BYTES}). */
export async function probeDescriptor(reader: ByteReader): Promise<boolean> {
  let window = 512;
  for (;;) {
    const bytes = await reader.readAvailable(0, window, 'descriptor probe');
    const verdict = looksLikeDescriptor(bytes, bytes.byteLength < window);
    if (verdict !== 'need-more') return verdict;
    if (window >= VMDK_MAX_DESCRIPTOR_BYTES) return false;
    window = Math.min(window * 8, VMDK_MAX_DESCRIPTOR_BYTES);
  }
}

// ---------------------------------------------------------------------------------------
// Descriptor text

/** A parsed descriptor: its entries, extents and the lines that fit no rule. */
export interface ParsedDescriptor {
  entries: Record<string, string>;
  ddb: Record<string, string>;
  extents: VmdkExtent[];
  /** Lines that are neither comments, blank, `key=value` nor extent lines. */
  unrecognisedLines: string[];
}

const EXTENT_LINE = /^\s*(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\w+)(?:\s+"([^"\r\n]*)"(?:\s+(\d+))?)?\s*$/;
const ENTRY_LINE = /^\s*([A-Za-z0-9_.]+)\s*=\s*(.*?)\s*$/;

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** Decodes descriptor bytes: cut at the first NUL, in the declared encoding (UTF-8 by default). */
export function decodeDescriptor(bytes: Uint8Array): string {
  let end = bytes.indexOf(0);
  if (end === -1) end = bytes.byteLength;
  const body = bytes.subarray(0, end);
  const declared = /encoding\s*=\s*"([^"]+)"/i.exec(latin1Text(body.subarray(0, 4096)))?.[1];
  if (declared !== undefined && !/^utf-?8$/i.test(declared)) {
    try {
      return new TextDecoder(declared.toLowerCase()).decode(body);
    } catch {
      return latin1Text(body);
    }
  }
  return new TextDecoder('utf-8').decode(body);
}

/** Parses descriptor text into entries, `ddb.*` entries and extents. */
export function parseDescriptor(text: string): ParsedDescriptor {
  const entries: Record<string, string> = {};
  const ddb: Record<string, string> = {};
  const extents: VmdkExtent[] = [];
  const unrecognisedLines: string[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const extent = EXTENT_LINE.exec(line);
    if (extent !== null) {
      if (extents.length >= MAX_EXTENTS) {
        throw fieldError('LIMIT_EXCEEDED', 'descriptor.extents', `more than ${MAX_EXTENTS} extent lines`);
      }
      const sectors = Number(extent[2]);
      if (!Number.isSafeInteger(sectors)) {
        throw fieldError('CORRUPT', 'descriptor.extents', `extent size ${extent[2]} is not a sector count`);
      }
      const offset = extent[5] === undefined ? undefined : Number(extent[5]);
      extents.push({
        access: extent[1] as string,
        sectors,
        type: extent[3] as string,
        filename: extent[4],
        offset: offset !== undefined && Number.isSafeInteger(offset) ? offset : undefined,
      });
      continue;
    }
    const entry = ENTRY_LINE.exec(line);
    if (entry !== null) {
      const key = entry[1] as string;
      const value = unquote(entry[2] as string);
      if (key.startsWith('ddb.')) ddb[key.slice(4)] = value;
      else entries[key] = value;
      continue;
    }
    unrecognisedLines.push(line);
  }
  return { entries, ddb, extents, unrecognisedLines };
}

/** A content ID (`CID`, `parentCID`) as qemu reads it with `sscanf("%x")`; `CORRUPT` naming `field` when it starts with no hex digit. */
export function parseHex32(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  // qemu reads these with sscanf("%x"): leading hex digits, an optional 0x.
  const match = /^\s*(?:0x)?([0-9a-fA-F]{1,8})/.exec(value);
  if (match === null) {
    throw fieldError('CORRUPT', field, `"${value}" is not a hexadecimal content ID`);
  }
  return Number.parseInt(match[1] as string, 16);
}

/** The descriptor's `version` entry, when it is an integer. */
export function parseVersion(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const version = Number(value);
  return Number.isInteger(version) ? version : undefined;
}
