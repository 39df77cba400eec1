/**
 * VMDK: VMware virtual disks.
 *
 * Three kinds of file carry VMDK metadata:
 *
 * | kind | recognised by | metadata from |
 * | --- | --- | --- |
 * | hosted sparse extent (monolithicSparse, streamOptimized, one extent of twoGbMaxExtentSparse) | `KDMV` at 0 | the 512-byte sparse header, and the text descriptor embedded at `descriptorOffset` |
 * | ESX sparse extent (vmfsSparse, VMDK3) | `COWD` at 0 | the COWD header |
 * | ESXi SESparse extent (snapshot delta) | 0xcafebabe, version 2.1 (64-bit LE) at 0 | its constant header |
 * | descriptor file (monolithicFlat, twoGbMaxExtent*, vmfs) | qemu's text probe (below) | the whole file, at most 1 MiB |
 *
 * Sizes follow qemu 7.2 (block/vmdk.c): a sparse extent's virtual size is its header's
 * `capacity`, whatever its embedded descriptor says; a descriptor file's is the sum of its
 * extents. The streamOptimized footer is never needed: the leading header's capacity is
 * valid in qemu's and VMware's stream files alike.
 *
 * The descriptor's text (the probe, decoding, parsing its lines) is read by
 * `formats/shared/vmdk-descriptor.ts`.
 *
 * @module
 */
import { bytesEqual, isAllZero, safeNumber } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import { concat } from '../src/reading/tail-window.js';
import type { ByteReader, FormatModule, ParseContext, ParsedImage } from '../src/format-module.js';
import { type SafetyCheck, fail, pass } from '../src/safety.js';
import { FORMAT_SPECIFIC, listRows, type SummaryRow, section } from '../src/summary.js';
import {
  VMDK3_COWD_HEADER_MAGIC,
  VMDK3_COWD_HEADER_SIZE,
  VMDK4_SPARSE_HEADER_MAGIC,
  VMDK4_SPARSE_HEADER_SIZE,
  VMDK_SE_SPARSE_HEADER_SIGNATURE,
  VMDK_SE_SPARSE_HEADER_SIZE,
  type Vmdk3CowdHeader,
  type Vmdk4SparseHeader,
  decodeVmdk3CowdHeader,
  decodeVmdk4SparseHeader,
  decodeVmdkMarker,
  decodeVmdkSeSparseHeader,
  matchVmdk4SparseHeader,
} from './generated/vmdk.js';
import { vmdkGuestDisk } from './shared/vmdk-guest.js';
import {
  type ParsedDescriptor,
  VMDK_MAX_DESCRIPTOR_BYTES,
  type VmdkExtent,
  decodeDescriptor,
  parseDescriptor,
  parseHex32,
  parseVersion,
  probeDescriptor,
} from './shared/vmdk-descriptor.js';

export { VMDK_MAX_DESCRIPTOR_BYTES, decodeDescriptor, looksLikeDescriptor, parseDescriptor } from './shared/vmdk-descriptor.js';
export type { ParsedDescriptor, VmdkExtent } from './shared/vmdk-descriptor.js';

/** qemu rejects grains above 0x200000 sectors (1 GiB): "Invalid granularity, image may be corrupt". */
const MAX_GRAIN_SECTORS = 0x200000;
/** qemu rejects more than 512 entries per grain table: "L2 table size too big". */
const MAX_GTES_PER_GT = 512;
/** The VMDK4 header flag for compressed grains. */
const FLAG_COMPRESSED = 1 << 16;
/** gdOffset value meaning "the grain directory is described by the footer". */
const GD_AT_END = 0xffffffffffffffffn;
const SECTOR = 512;
/** What the parse looks at to tell the layouts apart: the first four bytes of each signature. */
const SESPARSE_MAGIC = VMDK_SE_SPARSE_HEADER_SIGNATURE.subarray(0, 4);

/** VMDK metadata. */
export interface VmdkDetails {
  /**
   * What was read: a hosted sparse extent (`KDMV`), an ESX sparse extent (`COWD`), an ESXi
   * space-efficient sparse extent (SESparse) or a text descriptor file.
   */
  layout: 'sparse' | 'cowd' | 'sesparse' | 'descriptor';
  /**
   * The disk's subformat, as qemu reports it: for a sparse extent `streamOptimized` when its
   * grains are compressed, else `monolithicSparse`; for a descriptor file its `createType`.
   */
  createType: string | undefined;
  /** The descriptor's own `createType`, when it has one (may differ from `createType` for a sparse extent). */
  descriptorCreateType: string | undefined;
  /** The descriptor's `version=` value. */
  version: number | undefined;
  /** Content ID (`CID=`), as a number (qemu prints it in decimal). */
  cid: number | undefined;
  /** Parent content ID; `0xffffffff` (4294967295) when the disk has no parent. */
  parentCid: number | undefined;
  /** `parentFileNameHint`: the parent disk of a delta (child) disk. */
  parentFileNameHint: string | undefined;
  /** `ddb.adapterType`: `ide`, `buslogic`, `lsilogic`, `legacyESX`, `lsisas1068`, `pvscsi`, ... */
  adapterType: string | undefined;
  /** `ddb.virtualHWVersion`, verbatim. */
  hwVersion: string | undefined;
  /** The descriptor's character encoding (`encoding=`), if declared. */
  encoding: string | undefined;
  /** The extent lines, in order. */
  extents: VmdkExtent[];
  /** Every `ddb.*` entry, keyed without the `ddb.` prefix (e.g. `adapterType`, `geometry.cylinders`). */
  ddb: Record<string, string>;
  /** Every other `key=value` line of the descriptor (e.g. `CID`, `createType`, `isNativeSnapshot`). */
  descriptorEntries: Record<string, string>;
  /** Capacity in sectors, from the sparse header. */
  capacity: number | undefined;
  /** Grain size in bytes, from the sparse header (qemu's `cluster-size`). */
  grainSize: number | undefined;
  /** Whether grains are compressed (compressAlgorithm 1, deflate). */
  compressed: boolean | undefined;
  /** The sparse header's flags. */
  flags: number | undefined;
  /** The sparse header's version (1, 2 or 3; COWD: its own version). */
  headerVersion: number | undefined;
  /** Grain table entries per grain table, from the sparse header. */
  numGTEsPerGT: number | undefined;
  /** True when the grain directory is described by a footer at the end of the file (GD_AT_END). */
  gdAtEnd: boolean | undefined;
  /** The embedded descriptor's position and length in bytes, when the sparse header names one. */
  descriptorLocation: { offset: number; length: number } | undefined;
  /** True when the sparse header says the disk was not closed cleanly. */
  uncleanShutdown: boolean | undefined;
  /** Whether a descriptor (embedded or the file itself) was found. */
  hasDescriptor: boolean;
  /** Descriptor lines that are neither comments, blank, `key=value` nor extent lines. */
  unrecognisedLines: string[];
  /**
   * The streamOptimized footer, read only when the header's grain directory offset is
   * GD_AT_END (VMware's stream files): the last three sectors of the file.
   */
  footer: VmdkFooter | undefined;
}

/**
 * The end of a VMware streamOptimized file (Virtual Disk Format 1.1, "Stream-Optimized
 * Compressed Sparse Extents"): a footer marker, a copy of the sparse header with the real
 * grain directory offset, and an end-of-stream marker, one sector each.
 */
export interface VmdkFooter {
  /** The footer copy of the header, when the middle sector starts with `KDMV`. */
  header:
    | {
        version: number;
        flags: number;
        capacity: number;
        grainSize: number;
        descriptorOffset: number;
        descriptorSize: number;
        numGTEsPerGT: number;
        /** The grain directory, in sectors; `'atEnd'` when the footer, too, says GD_AT_END. */
        gdOffset: number | 'atEnd';
        compressAlgorithm: number;
      }
    | undefined;
  /** The footer marker is `{ value, size 0, type 3 (footer) }` followed by zeros. */
  footerMarkerValid: boolean;
  /** The end-of-stream marker is `{ 0, size 0, type 0 }` followed by zeros. */
  endOfStreamValid: boolean;
}

// ---------------------------------------------------------------------------------------
// Parsing

function emptyDetails(layout: VmdkDetails['layout']): VmdkDetails {
  return {
    layout,
    createType: undefined,
    descriptorCreateType: undefined,
    version: undefined,
    cid: undefined,
    parentCid: undefined,
    parentFileNameHint: undefined,
    adapterType: undefined,
    hwVersion: undefined,
    encoding: undefined,
    extents: [],
    ddb: {},
    descriptorEntries: {},
    capacity: undefined,
    grainSize: undefined,
    compressed: undefined,
    flags: undefined,
    headerVersion: undefined,
    numGTEsPerGT: undefined,
    gdAtEnd: undefined,
    descriptorLocation: undefined,
    uncleanShutdown: undefined,
    hasDescriptor: false,
    unrecognisedLines: [],
    footer: undefined,
  };
}

function applyDescriptor(details: VmdkDetails, descriptor: ParsedDescriptor): void {
  const { entries } = descriptor;
  details.hasDescriptor = true;
  details.unrecognisedLines = descriptor.unrecognisedLines;
  details.descriptorCreateType = entries.createType;
  details.version = parseVersion(entries.version);
  details.cid = parseHex32(entries.CID, 'descriptor.CID');
  details.parentCid = parseHex32(entries.parentCID, 'descriptor.parentCID');
  details.parentFileNameHint = entries.parentFileNameHint;
  details.encoding = entries.encoding;
  details.adapterType = descriptor.ddb.adapterType;
  details.hwVersion = descriptor.ddb.virtualHWVersion;
  details.extents = descriptor.extents;
  details.ddb = descriptor.ddb;
  details.descriptorEntries = entries;
}

function sectorsToBytes(sectors: bigint | number, field: string): number {
  return safeNumber(BigInt(sectors) * BigInt(SECTOR), field, 'vmdk');
}

/** The first read of an embedded descriptor: 1 KiB, above the 600-900 bytes of text qemu-img and VMware write. */
const DESCRIPTOR_FIRST_READ_BYTES = 1024;

/**
 * The embedded descriptor's text, up to its first NUL (where `decodeDescriptor` stops), or
 * `undefined` when the whole area is zeros (no descriptor). qemu-img reserves 10 KiB (20
 * sectors) for under 1 KiB of text: the first KiB is read, and the rest of the area (in one
 * read, under the budget as before) only when no NUL ends the text there, or when the area
 * starts with a NUL (to tell "no descriptor" from "empty").
 */
async function readEmbeddedDescriptor(reader: ByteReader, offset: number, length: number): Promise<Uint8Array | undefined> {
  const first = await reader.read(offset, Math.min(DESCRIPTOR_FIRST_READ_BYTES, length), 'embedded descriptor');
  const nul = first.indexOf(0);
  if (nul > 0) return first.subarray(0, nul);
  const rest = first.byteLength < length ? await reader.read(offset + first.byteLength, length - first.byteLength, 'embedded descriptor') : new Uint8Array(0);
  if (nul === 0) return isAllZero(first) && isAllZero(rest) ? undefined : new Uint8Array(0);
  const restNul = rest.indexOf(0);
  return concat([first, restNul === -1 ? rest : rest.subarray(0, restNul)]);
}

async function parseSparse(reader: ByteReader, context: ParseContext): Promise<ParsedImage<VmdkDetails>> {
  const header: Vmdk4SparseHeader = decodeVmdk4SparseHeader(await reader.read(0, VMDK4_SPARSE_HEADER_SIZE, 'sparse header'));
  const details = emptyDetails('sparse');
  details.headerVersion = header.version;
  details.flags = header.flags;
  details.compressed = header.compressAlgorithm === 1;
  details.gdAtEnd = header.gdOffset === GD_AT_END;
  details.uncleanShutdown = header.uncleanShutdown !== 0;

  if (header.version > 3) {
    throw fieldError('UNSUPPORTED', 'sparse header.version', `version ${header.version} (qemu knows 1 to 3)`);
  }
  const capacity = safeNumber(header.capacity, 'sparse header.capacity', 'vmdk');
  details.capacity = capacity;

  // The embedded descriptor: qemu opens a sparse file whose capacity is 0 as a descriptor file.
  let descriptor: ParsedDescriptor | undefined;
  if (header.descriptorOffset !== 0n && header.descriptorSize !== 0n) {
    const offset = sectorsToBytes(header.descriptorOffset, 'sparse header.descriptorOffset');
    const length = sectorsToBytes(header.descriptorSize, 'sparse header.descriptorSize');
    if (length > VMDK_MAX_DESCRIPTOR_BYTES + 1) {
      throw fieldError('LIMIT_EXCEEDED', 'sparse header.descriptorSize', `${length} bytes is above the 1 MiB a descriptor may have`);
    }
    details.descriptorLocation = { offset, length };
    const text = await readEmbeddedDescriptor(reader, offset, length);
    if (text !== undefined) descriptor = parseDescriptor(decodeDescriptor(text));
  }
  if (descriptor !== undefined) applyDescriptor(details, descriptor);
  if (details.cid === undefined) {
    // qemu 7.2 vmdk_open reads the CID from the embedded descriptor and fails without one.
    context.warn('the sparse extent has no embedded descriptor with a CID; qemu refuses to open it on its own ("Invalid argument")');
  }

  if (capacity === 0 && descriptor !== undefined) {
    // qemu 7.2 vmdk_open_vmdk4: capacity 0 with a descriptor means "this is a descriptor file".
    details.createType = details.descriptorCreateType;
    return { virtualSize: sumExtents(details.extents), details };
  }

  const grainSectors = header.grainSize;
  if (grainSectors === 0n || grainSectors > BigInt(MAX_GRAIN_SECTORS)) {
    throw fieldError('CORRUPT', 'sparse header.grainSize', `${grainSectors} sectors is not a valid grain size (1 to ${MAX_GRAIN_SECTORS})`);
  }
  if (header.numGTEsPerGT === 0 || header.numGTEsPerGT > MAX_GTES_PER_GT) {
    throw fieldError('CORRUPT', 'sparse header.numGTEsPerGT', `${header.numGTEsPerGT} grain table entries per table (qemu allows 1 to 512)`);
  }
  details.grainSize = Number(grainSectors) * SECTOR;
  details.numGTEsPerGT = header.numGTEsPerGT;
  details.createType = details.compressed ? 'streamOptimized' : 'monolithicSparse';
  if (details.descriptorCreateType !== undefined && details.descriptorCreateType !== details.createType) {
    context.warn(
      `the embedded descriptor says createType "${details.descriptorCreateType}", the sparse header makes it ${details.createType}`,
    );
  }
  if (descriptor !== undefined && (details.flags & FLAG_COMPRESSED) !== 0 && !details.compressed) {
    context.warn('the header flags say compressed grains but compressAlgorithm is not deflate');
  }
  if (details.gdAtEnd) details.footer = await readFooter(reader);
  const virtualSize = sectorsToBytes(capacity, 'sparse header.capacity');
  const described = sumExtentsQuietly(details.extents);
  if (descriptor !== undefined && described !== undefined && described !== virtualSize && details.extents.length === 1) {
    context.warn(`the descriptor's extent says ${described} bytes, the sparse header ${virtualSize}; qemu uses the header`);
  }
  return { virtualSize, details };
}

/** The three sectors at the end of a stream file: footer marker, footer, end-of-stream marker. */
const FOOTER_BYTES = 3 * SECTOR;
/** Stream marker types (Virtual Disk Format 1.1): 0 end of stream, 1 grain table, 2 grain directory, 3 footer. */
const MARKER_FOOTER = 3;
const MARKER_END_OF_STREAM = 0;

function markerValid(sector: Uint8Array, type: number, expectValueZero: boolean): boolean {
  const marker = decodeVmdkMarker(sector);
  if (expectValueZero && marker.value !== 0n) return false;
  if (marker.size !== 0 || marker.type !== type) return false;
  return isAllZero(marker.padding);
}

/**
 * qemu (block/vmdk.c vmdk_open_vmdk4) re-reads the header from `length - 1536` when
 * gdOffset is GD_AT_END; we read the same three sectors, from the tail of a stream.
 */
async function readFooter(reader: ByteReader): Promise<VmdkFooter> {
  const size = await reader.totalSize(FOOTER_BYTES);
  if (size < FOOTER_BYTES + VMDK4_SPARSE_HEADER_SIZE) {
    return { header: undefined, footerMarkerValid: false, endOfStreamValid: false };
  }
  const bytes = await reader.read(size - FOOTER_BYTES, FOOTER_BYTES, 'footer');
  const copy = bytes.subarray(SECTOR, 2 * SECTOR);
  const footer: VmdkFooter = {
    header: undefined,
    footerMarkerValid: markerValid(bytes.subarray(0, SECTOR), MARKER_FOOTER, false),
    endOfStreamValid: markerValid(bytes.subarray(2 * SECTOR), MARKER_END_OF_STREAM, true),
  };
  const header = matchVmdk4SparseHeader(copy);
  if (header !== undefined) {
    footer.header = {
      version: header.version,
      flags: header.flags,
      capacity: safeNumber(header.capacity, 'footer.capacity', 'vmdk'),
      grainSize: safeNumber(header.grainSize, 'footer.grainSize', 'vmdk'),
      descriptorOffset: safeNumber(header.descriptorOffset, 'footer.descriptorOffset', 'vmdk'),
      descriptorSize: safeNumber(header.descriptorSize, 'footer.descriptorSize', 'vmdk'),
      numGTEsPerGT: header.numGTEsPerGT,
      gdOffset: header.gdOffset === GD_AT_END ? 'atEnd' : safeNumber(header.gdOffset, 'footer.gdOffset', 'vmdk'),
      compressAlgorithm: header.compressAlgorithm,
    };
  }
  return footer;
}

async function parseCowd(reader: ByteReader): Promise<ParsedImage<VmdkDetails>> {
  const header: Vmdk3CowdHeader = decodeVmdk3CowdHeader(await reader.read(0, VMDK3_COWD_HEADER_SIZE, 'COWD header'));
  const details = emptyDetails('cowd');
  details.headerVersion = header.version;
  details.flags = header.flags;
  details.capacity = header.diskSectors;
  if (header.granularity === 0 || header.granularity > MAX_GRAIN_SECTORS) {
    throw fieldError('CORRUPT', 'COWD header.granularity', `${header.granularity} sectors is not a valid grain size`);
  }
  details.grainSize = header.granularity * SECTOR;
  details.compressed = false;
  details.createType = 'vmfsSparse';
  return { virtualSize: sectorsToBytes(header.diskSectors, 'COWD header.diskSectors'), details };
}

/**
 * SESparse (ESXi 6.5+ snapshot deltas): a 64-bit little-endian constant header (qemu 7.2
 * block/vmdk.c VMDKSESparseConstHeader; the layout `VmdkSeSparseHeader`). qemu opens these
 * only through a descriptor and probes a bare extent as raw; we recognise it and report its
 * capacity.
 */
async function parseSeSparse(reader: ByteReader): Promise<ParsedImage<VmdkDetails>> {
  const header = decodeVmdkSeSparseHeader(await reader.read(0, VMDK_SE_SPARSE_HEADER_SIZE, 'SESparse header'));
  const details = emptyDetails('sesparse');
  const capacity = safeNumber(header.capacity, 'SESparse header.capacity', 'vmdk');
  const grainSectors = header.grainSize;
  if (grainSectors === 0n || grainSectors > BigInt(MAX_GRAIN_SECTORS)) {
    throw fieldError('CORRUPT', 'SESparse header.grainSize', `${grainSectors} sectors is not a valid grain size`);
  }
  details.capacity = capacity;
  details.grainSize = Number(grainSectors) * SECTOR;
  details.flags = Number(header.flags & 0xffffffffn);
  details.compressed = false;
  details.createType = 'seSparse';
  return { virtualSize: sectorsToBytes(capacity, 'SESparse header.capacity'), details };
}

function sumExtents(extents: readonly VmdkExtent[]): number {
  let sectors = 0n;
  for (const extent of extents) sectors += BigInt(extent.sectors);
  return sectorsToBytes(sectors, 'descriptor.extents');
}

function sumExtentsQuietly(extents: readonly VmdkExtent[]): number | undefined {
  try {
    return sumExtents(extents);
  } catch {
    return undefined;
  }
}

/** createType values qemu 7.2 opens as a descriptor file (vmdk_open_desc_file); others give "Unsupported image type". */
const QEMU_DESCRIPTOR_TYPES = new Set([
  'monolithicFlat',
  'vmfs',
  'vmfsSparse',
  'seSparse',
  'twoGbMaxExtentSparse',
  'twoGbMaxExtentFlat',
]);

async function parseDescriptorFile(reader: ByteReader, context: ParseContext): Promise<ParsedImage<VmdkDetails>> {
  const bytes = await reader.readAvailable(0, VMDK_MAX_DESCRIPTOR_BYTES + 1, 'descriptor');
  if (bytes.byteLength > VMDK_MAX_DESCRIPTOR_BYTES) {
    throw fieldError('LIMIT_EXCEEDED', 'descriptor', 'a descriptor file may not be larger than 1 MiB - 1 bytes (qemu\'s limit)');
  }
  const descriptor = parseDescriptor(decodeDescriptor(bytes));
  const details = emptyDetails('descriptor');
  applyDescriptor(details, descriptor);
  details.createType = details.descriptorCreateType;
  if (details.createType === undefined) {
    // qemu: "invalid VMDK image descriptor".
    throw fieldError('CORRUPT', 'descriptor.createType', 'the descriptor has no createType');
  }
  if (!QEMU_DESCRIPTOR_TYPES.has(details.createType)) {
    context.warn(`qemu does not open a descriptor file of createType "${details.createType}"`);
  }
  return { virtualSize: sumExtents(details.extents), details };
}

// ---------------------------------------------------------------------------------------
// Safety checks (docs/safety.md)

/** Extent file names must be plain names: anything else lets a descriptor point at host files. */
function extentNameProblem(filename: string | undefined): string | undefined {
  if (filename === undefined || filename === '') return 'has no file name';
  if (filename.includes('/') || filename.includes('\\')) return 'contains a path separator';
  if (/^[A-Za-z]:/.test(filename)) return 'is an absolute Windows path';
  if (filename === '..' || filename === '.' || filename.startsWith('..')) return 'refers to a parent directory';
  if (/[\u0000-\u001f\u007f]/.test(filename)) return 'contains control characters';
  return undefined;
}

function formatExtent(extent: VmdkExtent): string {
  const name = extent.filename === undefined ? '' : ` "${extent.filename}"`;
  const offset = extent.offset === undefined ? '' : ` ${extent.offset}`;
  return `${extent.access} ${extent.sectors} ${extent.type}${name}${offset}`;
}

/**
 * `descriptor`: CVE-2022-47951 (OSSA-2023-002). A descriptor's extents are files qemu
 * opens on the host: a FLAT extent naming /etc/passwd makes the "image" read it. Only the
 * allowed createTypes pass, every line must fit the grammar, and every extent must be a
 * plain file name. OpenStack's rules, plus backslashes, absolute Windows paths and `..`.
 */
/** Default for the `vmdkAllowedTypes` option: Glance's and Nova's `vmdk_allowed_types`. */
export const DEFAULT_VMDK_ALLOWED_TYPES: readonly string[] = ['monolithicSparse', 'streamOptimized'];

/** The options the VMDK module takes. */
export type VmdkOptions = {
  /** VMDK `createType` values the `descriptor` check accepts. Default {@link DEFAULT_VMDK_ALLOWED_TYPES}. */
  readonly vmdkAllowedTypes: readonly string[];
};

const descriptorCheck: SafetyCheck<VmdkDetails, 'descriptor', VmdkOptions> = {
  name: 'descriptor',
  description: 'the descriptor names host files (CVE-2022-47951), has an unexpected createType, or breaks the line grammar',
  run(details, { options }) {
    if (details.layout === 'cowd' || details.layout === 'sesparse') {
      return fail(`a bare ${details.layout === 'cowd' ? 'COWD' : 'SESparse'} extent has no descriptor`);
    }
    if (!details.hasDescriptor) return fail('no descriptor found');
    const createType = details.createType ?? '';
    const allowed = options.vmdkAllowedTypes.some((type) => type.toLowerCase() === createType.toLowerCase());
    if (!allowed) return fail(`createType "${createType}" is not allowed (allowed: ${options.vmdkAllowedTypes.join(', ') || 'none'})`);
    const [line] = details.unrecognisedLines;
    if (line !== undefined) return fail(`invalid descriptor line: ${JSON.stringify(line.slice(0, 200))}`);
    if (details.extents.length === 0) return fail('no extents');
    for (const extent of details.extents) {
      const problem = extentNameProblem(extent.filename);
      if (problem !== undefined) return fail(`extent ${JSON.stringify(formatExtent(extent))}: the file name ${problem}`);
    }
    return pass(`createType ${createType}, ${details.extents.length} extent${details.extents.length === 1 ? '' : 's'} with plain file names`);
  },
};

/**
 * `footer`: OpenStack bug 2073262. qemu re-reads the header from the footer of a stream
 * file whose header says GD_AT_END, so the footer must not redefine what the header said.
 */
const footerCheck: SafetyCheck<VmdkDetails, 'footer'> = {
  name: 'footer',
  description: 'a streamOptimized footer that disagrees with the header or is malformed',
  run(details) {
    if (details.gdAtEnd !== true) return pass('no footer expected: the header gives the grain directory');
    const footer = details.footer;
    if (footer === undefined || footer.header === undefined) return fail('the header says the grain directory is in the footer, but there is no footer');
    if (!footer.footerMarkerValid) return fail('the footer marker is malformed');
    if (!footer.endOfStreamValid) return fail('the end-of-stream marker is malformed');
    const header = footer.header;
    if (header.gdOffset === 'atEnd') return fail('the footer points at another footer (gdOffset is GD_AT_END again)');
    const differences: string[] = [];
    const compare = (field: string, ours: number | undefined, theirs: number) => {
      if (ours !== theirs) differences.push(`${field} ${theirs} (header: ${ours})`);
    };
    compare('version', details.headerVersion, header.version);
    compare('capacity', details.capacity, header.capacity);
    compare('grainSize', details.grainSize === undefined ? undefined : details.grainSize / SECTOR, header.grainSize);
    compare('numGTEsPerGT', details.numGTEsPerGT, header.numGTEsPerGT);
    compare('compressAlgorithm', details.compressed ? 1 : 0, header.compressAlgorithm);
    compare('descriptorOffset', (details.descriptorLocation?.offset ?? 0) / SECTOR, header.descriptorOffset);
    compare('descriptorSize', (details.descriptorLocation?.length ?? 0) / SECTOR, header.descriptorSize);
    if (differences.length > 0) return fail(`the footer disagrees with the header: ${differences.join(', ')}`);
    return pass(`the footer agrees with the header; grain directory at sector ${header.gdOffset}`);
  },
};

/** `parent`: a delta (child) disk needs its parent from the host: never accept one as a standalone upload. */
const parentCheck: SafetyCheck<VmdkDetails, 'parent'> = {
  name: 'parent',
  description: 'a delta disk whose parent (a parent CID or a parent file hint) would be opened from the host',
  run(details) {
    if (details.parentFileNameHint !== undefined) return fail(`a delta disk of parent "${details.parentFileNameHint}"`);
    if (details.parentCid !== undefined && details.parentCid !== NO_PARENT_CID) {
      return fail(`a delta disk: parent CID ${details.parentCid.toString(16).padStart(8, '0')}`);
    }
    return pass();
  },
};

/** parentCID value meaning "no parent". */
const NO_PARENT_CID = 0xffffffff;

/**
 * `vmware_disktype` by `createType` (Nova's VMware driver, `doc/source/admin/configuration/
 * hypervisor-vmware.rst`; the values Glance's `etc/metadefs/compute-vmware.json` allows).
 * Kinds with no legal value (`vmfsThin`, `vmfsEagerZeroedThick`, the split sparse and delta
 * kinds) get none.
 */
const VMWARE_DISK_TYPES: Readonly<Record<string, string>> = {
  monolithicSparse: 'sparse',
  streamOptimized: 'streamOptimized',
  monolithicFlat: 'preallocated',
  twoGbMaxExtentFlat: 'preallocated',
  vmfs: 'preallocated',
  vmfsPreallocated: 'preallocated',
};

/**
 * `vmware_adaptertype` by `ddb.adapterType` (lower-cased; the values qemu and VMware write,
 * VMware's Virtual Disk Format 5.0). The descriptor cannot say `lsiLogicsas` or
 * `paraVirtual` (Nova's `get_vmdk_adapter_type` writes both as `lsilogic`), and `legacyESX`
 * names no controller Glance knows: those get none.
 */
const VMWARE_ADAPTER_TYPES: Readonly<Record<string, string>> = {
  ide: 'ide',
  lsilogic: 'lsiLogic',
  buslogic: 'busLogic',
};

/**
 * The extents as qemu-img info lists them: a sparse file is its own one extent (format
 * empty, `compressed` only when true); a descriptor's read-write extents with their type.
 */
function qemuExtentRows(details: VmdkDetails): SummaryRow[][] {
  if (details.layout !== 'descriptor') {
    const extent: SummaryRow[] = [
      ['compressed', details.compressed === true ? true : undefined],
      ['virtual size', details.capacity === undefined ? undefined : details.capacity * 512],
      ['filename', details.extents[0]?.filename],
      ['cluster size', details.grainSize],
      ['format', ''],
    ];
    return [extent];
  }
  return details.extents
    .filter((extent) => extent.access === 'RW')
    .map((extent): SummaryRow[] => [
      ['virtual size', extent.sectors * 512],
      ['filename', extent.filename],
      ['format', extent.type],
    ]);
}

/** The VMDK format module. */
export const vmdk: FormatModule<'vmdk', VmdkDetails, 'descriptor' | 'footer' | 'parent', VmdkOptions> = {
  name: 'vmdk',
  title: 'VMware Virtual Disk (VMDK)',
  qemuProbes: true,
  options: {
    vmdkAllowedTypes: {
      description: 'VMDK createTypes the descriptor check accepts (Glance and Nova: vmdk_allowed_types)',
      default: DEFAULT_VMDK_ALLOWED_TYPES,
      cliFlag: '--vmdk-allowed-types',
    },
  },
  glance: {
    diskFormat: 'vmdk',
    properties: (details) => {
      const diskType = details.createType === undefined ? undefined : VMWARE_DISK_TYPES[details.createType];
      const adapterType = details.adapterType === undefined ? undefined : VMWARE_ADAPTER_TYPES[details.adapterType.toLowerCase()];
      return { ...(diskType && { vmware_disktype: diskType }), ...(adapterType && { vmware_adaptertype: adapterType }) };
    },
  },
  signatures: [
    { offset: 0, bytes: VMDK4_SPARSE_HEADER_MAGIC },
    { offset: 0, bytes: VMDK3_COWD_HEADER_MAGIC },
    { offset: 0, bytes: VMDK_SE_SPARSE_HEADER_SIGNATURE },
  ],
  probe: probeDescriptor,
  tailBytes: FOOTER_BYTES,
  checks: [descriptorCheck, footerCheck, parentCheck],
  references: {
    backing: [{ name: 'parentFileNameHint' }],
    // A descriptor file's extents; the disk's grain size is the first sparse extent's, when every extent agrees (qemu 7.2 vmdk_get_info).
    extents: {
      when: { field: 'layout', equals: 'descriptor' },
      list: 'extents',
      name: 'filename',
      type: 'type',
      imageTypes: ['SPARSE', 'VMFSSPARSE', 'SESPARSE'],
      facts: 'file',
      foldFromFirst: ['grainSize', 'compressed', 'headerVersion', 'flags', 'numGTEsPerGT', 'gdAtEnd', 'uncleanShutdown'],
      agreeOn: ['grainSize', 'compressed'],
    },
  },
  guestDisk: vmdkGuestDisk,
  // qemu-img info's words: the generic lines, then ImageInfoSpecificVmdk (the CIDs in
  // decimal, the extents qemu opened); then the descriptor's extent lines as written.
  summarize: (details) => [
    ['cluster_size', details.layout === 'descriptor' ? undefined : details.grainSize],
    ['backing file', details.parentFileNameHint],
    ['backing file format', details.parentFileNameHint === undefined ? undefined : 'vmdk'],
    ['adapter type', details.adapterType],
    ['hardware version', details.hwVersion],
    ...details.extents.map((extent, index): SummaryRow => [
      `extent ${index + 1}`,
      `${extent.access} ${extent.sectors} ${extent.type}${extent.filename === undefined ? '' : ` "${extent.filename}"`}${extent.offset === undefined ? '' : ` ${extent.offset}`}`,
    ]),
    ...section(FORMAT_SPECIFIC, [
      ['cid', details.cid],
      ['parent cid', details.parentCid],
      ['create type', details.createType],
      ...listRows('extents', qemuExtentRows(details)),
    ]),
  ],
  async parse(reader, context) {
    const magic = await reader.readAvailable(0, 4, 'magic');
    if (bytesEqual(magic, 0, VMDK4_SPARSE_HEADER_MAGIC)) return parseSparse(reader, context);
    if (bytesEqual(magic, 0, VMDK3_COWD_HEADER_MAGIC)) return parseCowd(reader);
    if (bytesEqual(magic, 0, SESPARSE_MAGIC)) return parseSeSparse(reader);
    return parseDescriptorFile(reader, context);
  },
};
