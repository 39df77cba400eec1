/**
 * NTFS multi-sector records (`FILE` MFT records, `INDX` index blocks), their attributes and
 * data runs.
 *
 * Update sequence ("fixups"): the last two bytes of every 512-byte stride of a record are
 * replaced on disk by the update sequence number, the originals kept in the update sequence
 * array; a stride whose last two bytes differ from that number was torn in a write, and the
 * record is corrupt (as Windows, Linux and ntfs-3g treat it).
 *
 * Record header (`FILE`):
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 4 | magic `FILE` |
 * | 4 | 2 | update sequence array offset |
 * | 6 | 2 | update sequence array count (1 + strides) |
 * | 16 | 2 | sequence number (bumped when the record is reused) |
 * | 20 | 2 | offset of the first attribute |
 * | 22 | 2 | flags: `0x01` in use, `0x02` directory, `0x04` in `$Extend`, `0x08` view index |
 * | 24 | 4 | bytes in use |
 * | 28 | 4 | bytes allocated |
 * | 32 | 8 | base record reference (0 for a base record) |
 *
 * Attribute header:
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 4 | type (`0xFFFFFFFF` ends the list) |
 * | 4 | 4 | length of the attribute |
 * | 8 | 1 | non-resident flag |
 * | 9 | 1 | name length, in UTF-16 code units |
 * | 10 | 2 | name offset |
 * | 12 | 2 | flags: `0x00FF` compression, `0x4000` encrypted, `0x8000` sparse |
 * | 14 | 2 | instance |
 * | 16 | 4 | resident: value length |
 * | 20 | 2 | resident: value offset |
 * | 16 | 8 | non-resident: lowest VCN |
 * | 24 | 8 | non-resident: highest VCN |
 * | 32 | 2 | non-resident: mapping pairs (data runs) offset |
 * | 34 | 1 | non-resident: compression unit, log2 of clusters |
 * | 40 | 8 | non-resident: allocated size |
 * | 48 | 8 | non-resident: data size |
 * | 56 | 8 | non-resident: initialized size |
 *
 * @module
 */
import { bytesEqual, latin1Text, safeNumber, u16le, u32le, u64le, u8, utf16leText } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';

/** The stride the update sequence protects: 512 bytes whatever the sector size (`NTFS_BLOCK_SIZE`). */
export const NTFS_FIXUP_STRIDE = 512;

/** Attribute types this driver reads. */
export const AttributeType = {
  standardInformation: 0x10,
  attributeList: 0x20,
  fileName: 0x30,
  volumeName: 0x60,
  volumeInformation: 0x70,
  data: 0x80,
  indexRoot: 0x90,
  indexAllocation: 0xa0,
  bitmap: 0xb0,
  reparsePoint: 0xc0,
} as const;

/** Record flags. */
export const RecordFlag = { inUse: 0x01, directory: 0x02 } as const;

/** Attribute flags. */
export const AttributeFlag = { compressionMask: 0x00ff, encrypted: 0x4000, sparse: 0x8000 } as const;

/**
 * Applies the update sequence of a multi-sector record in place (`bytes` is changed) after
 * checking its magic; throws `CORRUPT` for a wrong magic, an impossible array or a torn stride.
 */
export function applyFixups(bytes: Uint8Array, magic: 'FILE' | 'INDX', field: string, offset?: number): void {
  if (!bytesEqual(bytes, 0, magic)) {
    throw fieldError('CORRUPT', field, `magic is "${latin1Text(bytes.subarray(0, 4))}", not "${magic}"`, offset);
  }
  const arrayOffset = u16le(bytes, 4, `${field}.updateSequenceOffset`);
  const count = u16le(bytes, 6, `${field}.updateSequenceCount`);
  const strides = bytes.byteLength / NTFS_FIXUP_STRIDE;
  if (count !== strides + 1 || arrayOffset < 8 || arrayOffset % 2 !== 0 || arrayOffset + count * 2 > NTFS_FIXUP_STRIDE - 2) {
    throw fieldError('CORRUPT', `${field}.updateSequence`, `an array of ${count} entries at ${arrayOffset} does not fit a ${bytes.byteLength}-byte record`, offset);
  }
  const sequence = u16le(bytes, arrayOffset);
  for (let stride = 1; stride <= strides; stride += 1) {
    const end = stride * NTFS_FIXUP_STRIDE - 2;
    if (u16le(bytes, end) !== sequence) {
      throw fieldError('CORRUPT', `${field}.updateSequence`, `stride ${stride} was torn (its last bytes are not the update sequence number)`, offset);
    }
    bytes[end] = bytes[arrayOffset + stride * 2] as number;
    bytes[end + 1] = bytes[arrayOffset + stride * 2 + 1] as number;
  }
}

/** A reference to an MFT record: its number (48 bits) and the sequence number it must have. */
export interface FileReference {
  record: number;
  sequence: number;
}

/** Reads a 64-bit file reference. */
export function fileReference(bytes: Uint8Array, offset: number, field: string): FileReference {
  const low = u32le(bytes, offset, field);
  const high = u16le(bytes, offset + 4, field);
  return { record: high * 2 ** 32 + low, sequence: u16le(bytes, offset + 6, field) };
}

/** A data run: `length` clusters from `vcn`, at `lcn` on the volume, or a hole (sparse) when `lcn` is undefined. */
export interface DataRun {
  vcn: number;
  length: number;
  lcn: number | undefined;
}

interface AttributeCommon {
  type: number;
  name: string;
  flags: number;
  instance: number;
}

/** A resident attribute: its value is inside the record. */
export interface ResidentAttribute extends AttributeCommon {
  resident: true;
  value: Uint8Array;
}

/** A non-resident attribute (one extent of it, when an attribute list spreads it over several records). */
export interface NonResidentAttribute extends AttributeCommon {
  resident: false;
  lowestVcn: number;
  highestVcn: number;
  /** log2 of the clusters in a compression unit; 0 when not compressed. */
  compressionUnit: number;
  /** Sizes, valid in the extent whose lowest VCN is 0. */
  allocatedSize: number;
  dataSize: number;
  initializedSize: number;
  runs: DataRun[];
}

/** One attribute. */
export type NtfsAttribute = ResidentAttribute | NonResidentAttribute;

/** A parsed MFT record. */
export interface MftRecord {
  sequence: number;
  flags: number;
  /** The base record this one extends, or undefined for a base record. */
  base: FileReference | undefined;
  attributes: NtfsAttribute[];
}

/** Parses an MFT record whose fixups were applied. `clusterCount` bounds the data runs. */
export function parseMftRecord(bytes: Uint8Array, clusterCount: number, field: string): MftRecord {
  const sequence = u16le(bytes, 16, `${field}.sequence`);
  const flags = u16le(bytes, 22, `${field}.flags`);
  const used = u32le(bytes, 24, `${field}.bytesInUse`);
  if (used > bytes.byteLength || used < 48) throw fieldError('CORRUPT', `${field}.bytesInUse`, `${used} bytes in use in a ${bytes.byteLength}-byte record`);
  const baseReference = fileReference(bytes, 32, `${field}.baseRecord`);
  const base = baseReference.record === 0 && baseReference.sequence === 0 ? undefined : baseReference;
  const attributes: NtfsAttribute[] = [];
  let offset = u16le(bytes, 20, `${field}.firstAttribute`);
  if (offset < 42 || offset % 8 !== 0) throw fieldError('CORRUPT', `${field}.firstAttribute`, `attributes at offset ${offset}`);
  // Each attribute is at least 24 bytes, so a record holds a bounded number of them.
  while (true) {
    if (offset + 4 > used) throw fieldError('CORRUPT', `${field}.attributes`, 'the attribute list runs past the bytes in use (no end marker)');
    const type = u32le(bytes, offset);
    if (type === 0xffffffff) break;
    const length = u32le(bytes, offset + 4, `${field}.attribute.length`);
    if (length < 24 || length % 8 !== 0 || offset + length > used) {
      throw fieldError('CORRUPT', `${field}.attribute 0x${type.toString(16)}`, `length ${length} at offset ${offset} does not fit the record`);
    }
    attributes.push(parseAttribute(bytes.subarray(offset, offset + length), clusterCount, `${field}.attribute 0x${type.toString(16)}`));
    offset += length;
  }
  return { sequence, flags, base, attributes };
}

function parseAttribute(bytes: Uint8Array, clusterCount: number, field: string): NtfsAttribute {
  const type = u32le(bytes, 0);
  const nonResident = u8(bytes, 8);
  const nameLength = u8(bytes, 9);
  const nameOffset = u16le(bytes, 10);
  const flags = u16le(bytes, 12);
  const instance = u16le(bytes, 14);
  if (nameLength > 0 && nameOffset + nameLength * 2 > bytes.byteLength) throw fieldError('CORRUPT', `${field}.name`, 'the name runs past the attribute');
  const name = nameLength === 0 ? '' : utf16leText(bytes.subarray(nameOffset, nameOffset + nameLength * 2));
  if (nonResident === 0) {
    const valueLength = u32le(bytes, 16, `${field}.valueLength`);
    const valueOffset = u16le(bytes, 20, `${field}.valueOffset`);
    if (valueOffset + valueLength > bytes.byteLength) throw fieldError('CORRUPT', `${field}.value`, `${valueLength} bytes at ${valueOffset} run past the attribute`);
    return { type, name, flags, instance, resident: true, value: bytes.subarray(valueOffset, valueOffset + valueLength) };
  }
  if (nonResident !== 1 || bytes.byteLength < 64) throw fieldError('CORRUPT', `${field}.nonResident`, 'not a valid non-resident attribute header');
  const lowestVcn = safeNumber(u64le(bytes, 16), `${field}.lowestVcn`);
  const highestVcnRaw = u64le(bytes, 24);
  // An empty attribute has highest VCN -1.
  const highestVcn = highestVcnRaw === 0xffffffffffffffffn ? -1 : safeNumber(highestVcnRaw, `${field}.highestVcn`);
  const runsOffset = u16le(bytes, 32);
  const compressionUnit = u8(bytes, 34);
  const allocatedSize = safeNumber(u64le(bytes, 40), `${field}.allocatedSize`);
  const dataSize = safeNumber(u64le(bytes, 48), `${field}.dataSize`);
  const initializedSize = safeNumber(u64le(bytes, 56), `${field}.initializedSize`);
  if (highestVcn < lowestVcn - 1) throw fieldError('CORRUPT', `${field}.highestVcn`, `VCNs ${lowestVcn}..${highestVcn}`);
  if (runsOffset < 64 || runsOffset > bytes.byteLength) throw fieldError('CORRUPT', `${field}.runsOffset`, `data runs at ${runsOffset}`);
  const runs = decodeDataRuns(bytes.subarray(runsOffset), lowestVcn, clusterCount, `${field}.runs`);
  const end = runs.length === 0 ? lowestVcn : (runs[runs.length - 1] as DataRun).vcn + (runs[runs.length - 1] as DataRun).length;
  if (end !== highestVcn + 1) {
    throw fieldError('CORRUPT', `${field}.runs`, `the runs cover VCNs ${lowestVcn}..${end - 1}, the header says ${lowestVcn}..${highestVcn}`);
  }
  return { type, name, flags, instance, resident: false, lowestVcn, highestVcn, compressionUnit, allocatedSize, dataSize, initializedSize, runs };
}

/** A little-endian integer of `size` bytes (up to 8), signed when `signed`; `CORRUPT` when it cannot be a safe integer. */
function variableInteger(bytes: Uint8Array, offset: number, size: number, signed: boolean, field: string): number {
  let value = 0n;
  for (let index = size - 1; index >= 0; index -= 1) value = (value << 8n) | BigInt(bytes[offset + index] as number);
  if (signed && size > 0 && ((bytes[offset + size - 1] as number) & 0x80) !== 0) value -= 1n << BigInt(size * 8);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw fieldError('CORRUPT', field, `${value} is not a usable cluster number`);
  }
  return Number(value);
}

/**
 * Decodes mapping pairs: each run is a header byte (low nibble: bytes of the length; high
 * nibble: bytes of the LCN delta, 0 for a hole), the length, then the LCN as a signed delta
 * from the previous run's. A zero header ends the list. Every run must lie inside the volume.
 */
export function decodeDataRuns(bytes: Uint8Array, firstVcn: number, clusterCount: number, field: string): DataRun[] {
  const runs: DataRun[] = [];
  let offset = 0;
  let vcn = firstVcn;
  let lcn = 0;
  while (true) {
    if (offset >= bytes.byteLength) throw fieldError('CORRUPT', field, 'the data runs have no end marker');
    const header = bytes[offset] as number;
    if (header === 0) break;
    const lengthSize = header & 0x0f;
    const offsetSize = header >> 4;
    if (lengthSize === 0 || lengthSize > 8 || offsetSize > 8 || offset + 1 + lengthSize + offsetSize > bytes.byteLength) {
      throw fieldError('CORRUPT', field, `run header 0x${header.toString(16)} at byte ${offset}`);
    }
    const length = variableInteger(bytes, offset + 1, lengthSize, false, field);
    if (length === 0) throw fieldError('CORRUPT', field, 'a run of zero clusters');
    if (offsetSize === 0) {
      runs.push({ vcn, length, lcn: undefined });
    } else {
      lcn += variableInteger(bytes, offset + 1 + lengthSize, offsetSize, true, field);
      if (lcn < 0 || lcn + length > clusterCount) throw fieldError('CORRUPT', field, `clusters ${lcn}..${lcn + length - 1} are outside the volume's ${clusterCount}`);
      runs.push({ vcn, length, lcn });
    }
    vcn += length;
    if (!Number.isSafeInteger(vcn)) throw fieldError('CORRUPT', field, 'the runs overflow');
    offset += 1 + lengthSize + offsetSize;
  }
  return runs;
}

/** The parsed `$FILE_NAME` attribute (also the key of a directory index entry). */
export interface FileNameAttribute {
  parent: FileReference;
  /** File attribute flags as of the last update of this name (`0x10000000`: a directory; `0x400`: a reparse point). */
  fileAttributes: number;
  /** The reparse tag, when `fileAttributes` has the reparse-point flag. */
  reparseTag: number;
  /** `0` POSIX, `1` Win32, `2` DOS, `3` Win32 and DOS. */
  namespace: number;
  name: string;
  /** The data size this name's entry recorded (may lag behind the real size). */
  dataSize: number;
}

/** File attribute flags found in `$STANDARD_INFORMATION` and `$FILE_NAME`. */
export const FileAttribute = { reparsePoint: 0x400, compressed: 0x800, encrypted: 0x4000, directory: 0x10000000 } as const;

/**
 * Parses a `$FILE_NAME` value.
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 8 | parent directory reference |
 * | 48 | 8 | data size |
 * | 56 | 4 | file attributes |
 * | 60 | 4 | reparse tag (when a reparse point) |
 * | 64 | 1 | name length, in UTF-16 code units |
 * | 65 | 1 | namespace |
 * | 66 | 2n | name |
 */
export function parseFileName(value: Uint8Array, field: string): FileNameAttribute {
  const length = u8(value, 64, `${field}.nameLength`);
  if (66 + length * 2 > value.byteLength) throw fieldError('CORRUPT', `${field}.name`, `${length} characters run past the attribute`);
  return {
    parent: fileReference(value, 0, `${field}.parent`),
    dataSize: safeNumber(u64le(value, 48, `${field}.dataSize`), `${field}.dataSize`),
    fileAttributes: u32le(value, 56, `${field}.fileAttributes`),
    reparseTag: u32le(value, 60, `${field}.reparseTag`),
    namespace: u8(value, 65, `${field}.namespace`),
    name: utf16leText(value.subarray(66, 66 + length * 2)),
  };
}
