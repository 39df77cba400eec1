/**
 * UDF (ECMA-167 3rd edition, OSTA UDF 2.60): the descriptors the iso module reads to
 * recognise a UDF volume and name it.
 *
 * A UDF volume is announced by its volume recognition sequence from byte 32768 ("BEA01",
 * "NSR02" or "NSR03", "TEA01"; ECMA-167 2/8.3), found by the anchor volume descriptor
 * pointer at sector 256 (3/8.4.2.1), which gives the extent of the main volume descriptor
 * sequence (3/8.4.1) holding the primary and logical volume descriptors.
 *
 * The anchor usually comes after the sequence it points to (genisoimage and mkudffs both
 * write the sequence at sectors 32 to 101), while every reader goes forward only. So
 * {@link scanUdfBlocks} is given every block from the end of the recognition sequence up to
 * the anchor, in order, and keeps the descriptors it sees in a {@link UdfScan}; once the
 * anchor is known, the ones inside the main sequence's extent are used. The block size (512 to 4096 bytes) is found
 * the same way: a descriptor's tag says which sector it is in, so its byte offset divided
 * by that sector number is the block size.
 *
 * @module
 */
import { fixedText, latin1Text, u8, utf16beText } from '../../src/bytes.js';
import {
  UDF_DESCRIPTOR_TAG_FIELD_OFFSETS,
  UDF_DESCRIPTOR_TAG_SIZE,
  decodeUdfAnchorVolumeDescriptorPointer,
  decodeUdfDescriptorTag,
  decodeUdfDomainIdentifierSuffix,
  decodeUdfEntityIdentifier,
  decodeUdfLogicalVolumeDescriptor,
  decodeUdfPrimaryVolumeDescriptor,
  decodeUdfTimestamp,
} from '../generated/iso.js';

/** Block sizes a UDF volume may use (ECMA-167 allows any; these are the ones media and mkudffs use). */
export const UDF_BLOCK_SIZES = [512, 1024, 2048, 4096] as const;
/** The anchor volume descriptor pointer's sector (ECMA-167 3/8.4.2.1). */
export const UDF_ANCHOR_SECTOR = 256;
/** Bytes of each candidate descriptor kept while scanning (enough for every field read, and for the CRC of the fixed descriptors). */
export const UDF_DESCRIPTOR_BYTES = 512;
/** Most descriptors kept while scanning towards the anchor. */
export const MAX_UDF_SCANNED_DESCRIPTORS = 256;
/** Largest volume descriptor sequence extent read after the anchor, in bytes (ECMA-167 asks for at least 16 sectors). */
export const MAX_UDF_SEQUENCE_BYTES = 256 * 1024;

/** Tag identifiers kept (ECMA-167 3/7.2.1). */
const TAG_PRIMARY_VOLUME = 1;
const TAG_ANCHOR = 2;
const TAG_PARTITION = 5;
const TAG_LOGICAL_VOLUME = 6;
const TAG_TERMINATING = 8;
const KEPT_TAGS = new Set([TAG_PRIMARY_VOLUME, TAG_ANCHOR, TAG_PARTITION, TAG_LOGICAL_VOLUME, TAG_TERMINATING]);

/** A descriptor seen while scanning: where it is, and its first bytes. */
export interface UdfDescriptor {
  /** Byte offset in the image. */
  offset: number;
  /** Block size implied by its tag location. */
  blockSize: number;
  tagIdentifier: number;
  bytes: Uint8Array;
}

/** An extent: a run of bytes given by its first sector and length. */
export interface UdfExtent {
  /** First sector, in `blockSize` units. */
  location: number;
  /** Length in bytes. */
  length: number;
}

/** What the iso module reports about a UDF volume. */
export interface UdfInfo {
  /** The volume structure descriptors' identifiers in order, e.g. `['BEA01', 'NSR02', 'TEA01']` (ISO 9660's `CD001` left out). */
  volumeRecognitionSequence: string[];
  /** 2 for NSR02 (ECMA-167 2nd edition, UDF up to 1.50), 3 for NSR03. */
  nsrVersion: number | undefined;
  /** Bytes per logical sector, from the anchor's position. */
  blockSize: number | undefined;
  /** The anchor at sector 256, when found. */
  anchor: { mainSequence: UdfExtent; reserveSequence: UdfExtent } | undefined;
  /** The primary volume descriptor's volume identifier. */
  volumeIdentifier: string | undefined;
  /** The primary volume descriptor's volume set identifier. */
  volumeSetIdentifier: string | undefined;
  /** The logical volume descriptor's identifier: the label operating systems show. */
  logicalVolumeIdentifier: string | undefined;
  /** The UDF revision from the logical volume's domain identifier, e.g. `2.01`. */
  udfRevision: string | undefined;
  /** The primary volume descriptor's recording date and time, as ISO 8601 (UTC). */
  recordingDate: string | undefined;
  /** The software that wrote the volume (the implementation identifier), e.g. `*mkisofs`. */
  implementationIdentifier: string | undefined;
}

/** CRC-16/CCITT (polynomial 0x1021, initial value 0), as ECMA-167 3/7.2.6 specifies for descriptor CRCs; a byte per table step. */
export function crc16Ccitt(bytes: Uint8Array): number {
  const table = (crc16Table ??= makeCrc16Table());
  let crc = 0;
  for (let index = 0; index < bytes.byteLength; index += 1) crc = ((crc << 8) & 0xffff) ^ (table[(crc >>> 8) ^ (bytes[index] as number)] as number);
  return crc;
}

let crc16Table: Uint16Array | undefined;

/** The CRC of each byte value fed to a zero register, bit by bit (MSB first), for {@link crc16Ccitt}. */
function makeCrc16Table(): Uint16Array {
  const table = new Uint16Array(256);
  for (let value = 0; value < 256; value += 1) {
    let crc = value << 8;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[value] = crc;
  }
  return table;
}

/**
 * Whether the tag identifier (a little-endian 16-bit field at offset 0) is one kept: looked
 * at before anything else, as the blocks scanned towards the anchor are mostly zeros or
 * file data, and a zero block would otherwise pass the tag checksum (a sum of zeros).
 */
function keptIdentifierAt(bytes: Uint8Array, at: number): boolean {
  return bytes[at + 1] === 0 && KEPT_TAGS.has(bytes[at] as number);
}

/**
 * Checks a descriptor tag (ECMA-167 3/7.2): checksum, version, and a tag location that puts
 * it at `offset` for one of the block sizes. Returns the block size and the tag identifier,
 * or `undefined`.
 */
function validTag(bytes: Uint8Array, offset: number): { blockSize: number; tagIdentifier: number } | undefined {
  // The checksum is the sum, modulo 256, of the tag's other fifteen bytes: checked first, as
  // most of the blocks scanned are not descriptors.
  if (bytes.byteLength < UDF_DESCRIPTOR_TAG_SIZE || !keptIdentifierAt(bytes, 0)) return undefined;
  const checksumAt = UDF_DESCRIPTOR_TAG_FIELD_OFFSETS.tagChecksum;
  let sum = 0;
  for (let index = 0; index < UDF_DESCRIPTOR_TAG_SIZE; index += 1) if (index !== checksumAt) sum += bytes[index] ?? 0;
  if ((sum & 0xff) !== bytes[checksumAt]) return undefined;
  const tag = decodeUdfDescriptorTag(bytes);
  if (!KEPT_TAGS.has(tag.tagIdentifier) || (tag.descriptorVersion !== 2 && tag.descriptorVersion !== 3)) return undefined;
  if (tag.tagLocation === 0) return undefined;
  const blockSize = offset / tag.tagLocation;
  if (!(UDF_BLOCK_SIZES as readonly number[]).includes(blockSize)) return undefined;
  // The CRC covers the bytes after the tag; check it when they are all in hand.
  const covered = UDF_DESCRIPTOR_TAG_SIZE + tag.descriptorCrcLength;
  if (covered <= bytes.byteLength && crc16Ccitt(bytes.subarray(UDF_DESCRIPTOR_TAG_SIZE, covered)) !== tag.descriptorCrc) return undefined;
  return { blockSize, tagIdentifier: tag.tagIdentifier };
}

/** What a scan towards the anchor has seen (see {@link scanUdfBlocks}). */
export interface UdfScan {
  /** Descriptors kept, in ascending offset. */
  readonly descriptors: UdfDescriptor[];
  /** The anchor, once found. */
  anchor: UdfDescriptor | undefined;
}

/**
 * Examines `bytes`, read at `offset` (a multiple of 512, following the bytes examined
 * before), for descriptors at every 512-byte boundary, and stops at the anchor; returns true
 * once the anchor is found. Every boundary is examined, so the result does not depend on how
 * the bytes are split (into windows that end on 512-byte boundaries).
 */
export function scanUdfBlocks(scan: UdfScan, offset: number, bytes: Uint8Array, warn: (message: string) => void): boolean {
  for (let at = 0; at + UDF_DESCRIPTOR_BYTES <= bytes.byteLength && scan.anchor === undefined; at += 512) {
    if (keptIdentifierAt(bytes, at)) examine(scan, offset + at, bytes.subarray(at, at + UDF_DESCRIPTOR_BYTES), warn);
  }
  return scan.anchor !== undefined;
}

function examine(scan: UdfScan, offset: number, bytes: Uint8Array, warn: (message: string) => void): void {
  if (offset === 0) return;
  const tag = validTag(bytes, offset);
  if (tag === undefined) return;
  const { blockSize, tagIdentifier } = tag;
  const descriptor: UdfDescriptor = { offset, blockSize, tagIdentifier, bytes: bytes.slice() };
  if (tagIdentifier === TAG_ANCHOR) {
    if (offset === UDF_ANCHOR_SECTOR * blockSize) scan.anchor = descriptor;
    return;
  }
  if (scan.descriptors.length >= MAX_UDF_SCANNED_DESCRIPTORS) {
    if (scan.descriptors.length === MAX_UDF_SCANNED_DESCRIPTORS) warn(`more than ${MAX_UDF_SCANNED_DESCRIPTORS} UDF descriptors before the anchor; the rest are ignored`);
    return;
  }
  scan.descriptors.push(descriptor);
}

/** The extents the anchor names (ECMA-167 3/10.2). */
export function anchorExtents(anchor: UdfDescriptor): { mainSequence: UdfExtent; reserveSequence: UdfExtent } {
  const pointer = decodeUdfAnchorVolumeDescriptorPointer(anchor.bytes);
  return {
    mainSequence: { location: pointer.mainSequenceLocation, length: pointer.mainSequenceLength },
    reserveSequence: { location: pointer.reserveSequenceLocation, length: pointer.reserveSequenceLength },
  };
}

/** Descriptors of a volume descriptor sequence found at consecutive blocks of `bytes` (read after the anchor). */
export function descriptorsIn(bytes: Uint8Array, offset: number, blockSize: number): UdfDescriptor[] {
  const found: UdfDescriptor[] = [];
  for (let at = 0; at + UDF_DESCRIPTOR_BYTES <= bytes.byteLength; at += blockSize) {
    const slice = bytes.subarray(at, at + UDF_DESCRIPTOR_BYTES);
    const tag = validTag(slice, offset + at);
    if (tag === undefined || tag.blockSize !== blockSize) continue;
    const { tagIdentifier } = tag;
    found.push({ offset: offset + at, blockSize, tagIdentifier, bytes: slice.slice() });
    if (tagIdentifier === TAG_TERMINATING) break;
  }
  return found;
}

/**
 * A dstring (ECMA-167 1/7.2.12, OSTA CS0): the last byte is the used length; the first
 * used byte is the compression id, 8 (one byte per character) or 16 (UTF-16BE).
 */
export function dstring(field: Uint8Array): string {
  const used = u8(field, field.byteLength - 1, 'dstring');
  if (used === 0 || used >= field.byteLength) return '';
  return cs0(field.subarray(0, used));
}

/** OSTA CS0 text: compression id 8 (or 254) is Latin-1, 16 (or 255) is UTF-16BE (OSTA UDF 2.60 section 2.1.1). */
function cs0(bytes: Uint8Array): string {
  const compression = u8(bytes, 0, 'dstring');
  const body = bytes.subarray(1);
  if (compression === 8 || compression === 254) return fixedText(body, latin1Text);
  if (compression === 16 || compression === 255) return fixedText(body, utf16beText);
  return '';
}

/** An entity identifier's identifier text (ECMA-167 1/7.4). */
function regidText(regid: Uint8Array): string {
  return fixedText(decodeUdfEntityIdentifier(regid).identifier);
}

/** The UDF revision in a domain identifier's suffix (OSTA UDF 2.60 section 2.1.5.3): 0x0201 is "2.01". */
function udfRevisionOf(domain: Uint8Array): string | undefined {
  const identifier = decodeUdfEntityIdentifier(domain);
  if (!fixedText(identifier.identifier).startsWith('*OSTA UDF Compliant')) return undefined;
  const revision = decodeUdfDomainIdentifierSuffix(identifier.identifierSuffix).udfRevision;
  return `${(revision >> 8).toString(16)}.${(revision & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * A timestamp (ECMA-167 1/7.3): type and time zone, year, month, day, hour, minute,
 * second, centiseconds, ... ; as ISO 8601 in UTC, `undefined` when empty or invalid.
 */
export function udfTimestamp(bytes: Uint8Array): string | undefined {
  const { typeAndTimezone: typeAndZone, year, month, day, hour, minute, second, centiseconds } = decodeUdfTimestamp(bytes);
  if (year === 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  let zoneMinutes = typeAndZone & 0x0fff;
  if (zoneMinutes & 0x0800) zoneMinutes -= 0x1000;
  if (zoneMinutes === -2047 || (typeAndZone >> 12) !== 1) zoneMinutes = 0;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Math.min(centiseconds, 99) * 10);
  return new Date(date.getTime() - zoneMinutes * 60_000).toISOString();
}

/** Fills what the primary and logical volume descriptors of a sequence say (the highest sequence number prevails, 3/8.4.3). */
export function describeSequence(descriptors: readonly UdfDescriptor[], info: UdfInfo): void {
  let primarySequence = -1;
  let logicalSequence = -1;
  for (const descriptor of descriptors) {
    if (descriptor.tagIdentifier === TAG_PRIMARY_VOLUME) {
      const primary = decodeUdfPrimaryVolumeDescriptor(descriptor.bytes);
      if (primary.volumeDescriptorSequenceNumber < primarySequence) continue;
      primarySequence = primary.volumeDescriptorSequenceNumber;
      info.volumeIdentifier = dstring(primary.volumeIdentifier);
      info.volumeSetIdentifier = dstring(primary.volumeSetIdentifier);
      info.recordingDate = udfTimestamp(primary.recordingDateAndTime);
      info.implementationIdentifier = regidText(primary.implementationIdentifier);
    } else if (descriptor.tagIdentifier === TAG_LOGICAL_VOLUME) {
      const logical = decodeUdfLogicalVolumeDescriptor(descriptor.bytes);
      if (logical.volumeDescriptorSequenceNumber < logicalSequence) continue;
      logicalSequence = logical.volumeDescriptorSequenceNumber;
      info.logicalVolumeIdentifier = dstring(logical.logicalVolumeIdentifier);
      info.udfRevision = udfRevisionOf(logical.domainIdentifier);
    }
  }
}

/** Descriptors among `descriptors` that lie inside `extent` for the given block size. */
export function descriptorsInExtent(descriptors: readonly UdfDescriptor[], extent: UdfExtent, blockSize: number): UdfDescriptor[] {
  const start = extent.location * blockSize;
  const end = start + extent.length;
  const inside = descriptors.filter((descriptor) => descriptor.blockSize === blockSize && descriptor.offset >= start && descriptor.offset < end);
  const terminator = inside.findIndex((descriptor) => descriptor.tagIdentifier === TAG_TERMINATING);
  return terminator === -1 ? inside : inside.slice(0, terminator + 1);
}
