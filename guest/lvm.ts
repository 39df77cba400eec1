/**
 * LVM2 physical volumes: the label, the PV header, the metadata area's circular buffer and
 * the volume group's text metadata, and a reader for each linear logical volume.
 *
 * On-disk layout (LVM2's `lib/label/label.h` and `lib/format_text/layout.h`; integers
 * little-endian; sectors of 512 bytes):
 *
 * | where | structure |
 * | --- | --- |
 * | one of sectors 0–3 | label header: `LABELONE`, sector_xl u64 (its own sector), crc_xl u32 (of bytes 20–511), offset_xl u32 (to the PV header), type `LVM2 001` |
 * | label sector + offset_xl | PV header: pv_uuid[32], device_size u64, data areas (offset u64, size u64)… up to a zero pair, metadata areas likewise |
 * | each metadata area | mda header (512 bytes): checksum u32 (of bytes 4–511), magic ` LVM2 x[5A%r0N*>`, version u32 (1), start u64, size u64, raw locations (offset u64, size u64, checksum u32, flags u32)… up to a zero offset |
 * | mda start + raw location 0's offset | the committed metadata text (its NUL included in the size), continuing at mda start + 512 where it passes the area's end |
 *
 * Checksums are LVM's `calc_crc`: the IEEE CRC-32 polynomial, register seeded with
 * 0xf597a6cf, no final inversion.
 *
 * A logical volume is readable here when every segment is `striped` with one stripe
 * (LVM's linear volumes) on this PV; thin, RAID, mirror, snapshot, cache, multi-stripe and
 * multi-PV volumes are listed with the reason they are not.
 *
 * @module
 */
import { bytesEqual, crc32, latin1Text, safeNumber, u32le, u64le, utf8Text } from '../src/bytes.js';
import { fieldError, type IntrospectionError, isIntrospectionError, toIntrospectionError } from '../src/errors.js';
import type { ByteReader } from '../src/format-module.js';
import { mappedView } from '../src/reading/views.js';
import { type LvmSection, type LvmValue, parseLvmText } from './lvm-text.js';

/** LVM's sector size. */
export const LVM_SECTOR_BYTES = 512;
/** The label is looked for in the first four sectors (`LABEL_SCAN_SECTORS`). */
export const LVM_LABEL_SCAN_SECTORS = 4;
/** The mda header's size (`MDA_HEADER_SIZE`); the circular text buffer starts after it. */
export const LVM_MDA_HEADER_BYTES = 512;
/** Largest metadata text read. LVM's default area is about 1 MiB and one copy may use at most half of an area; 16 MiB admits areas made 32 MiB large. */
export const MAX_LVM_METADATA_BYTES = 16 * 1024 * 1024;
/** Most metadata areas tried on one PV (LVM creates one or two). */
export const MAX_LVM_METADATA_AREAS = 8;
/** Most logical volumes listed from one volume group. */
export const MAX_LVM_LOGICAL_VOLUMES = 16_384;
/** Most physical volumes listed from one volume group. */
export const MAX_LVM_PHYSICAL_VOLUMES = 16_384;
/** Most segments one logical volume may have. */
export const MAX_LVM_SEGMENTS_PER_LV = 65_536;

const LABEL_ID = 'LABELONE';
const LABEL_TYPE = 'LVM2 001';
const MDA_MAGIC = ' LVM2 x[5A%r0N*>';
const INITIAL_CRC = 0xf597a6cf;
const RAW_LOCN_IGNORED = 1;

/** LVM's `calc_crc(initial, bytes)`, through the standard CRC-32 (which inverts the register before and after). */
export function lvmCrc(bytes: Uint8Array, initial = INITIAL_CRC): number {
  return (crc32(bytes, (initial ^ 0xffffffff) >>> 0) ^ 0xffffffff) >>> 0;
}

/** A byte range on the PV. */
export interface LvmArea {
  offset: number;
  /** 0 for a data area that runs to the end of the device. */
  size: number;
}

/** What the label and the PV header say. */
export interface LvmLabel {
  /** The sector holding the label (0–3; LVM writes sector 1). */
  labelSector: number;
  /** The PV's UUID as LVM prints it (`xxxxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxxxx`). */
  uuid: string;
  /** The device size recorded when the PV was created, in bytes (0 when not recorded). */
  deviceSize: number;
  dataAreas: LvmArea[];
  metadataAreas: LvmArea[];
}

/** A physical volume as the volume group's metadata describes it. */
export interface LvmPhysicalVolumeEntry {
  /** The name the metadata uses for it (`pv0`, `pv1`, ...). */
  name: string;
  uuid: string;
  /** The device path when the metadata was written (a hint only). */
  device?: string;
  /** First physical extent's offset on the PV, in bytes. */
  peStart: number;
  peCount: number;
}

/** One segment of a logical volume. */
export interface LvmSegment {
  /** First logical extent of the LV this segment maps. */
  startExtent: number;
  extentCount: number;
  /** `striped` (linear when `stripeCount` is 1), `thin`, `raid1`, `mirror`, `snapshot`, ... */
  type: string;
  stripeCount: number;
  /** Where each stripe starts: a PV name and its first physical extent (for `striped` segments). */
  stripes: Array<{ physicalVolume: string; startExtent: number }>;
}

/** One logical volume. */
export interface LvmLogicalVolume {
  name: string;
  /** `/dev/VG/LV`, as libguestfs names it. */
  path: string;
  uuid: string;
  /** False for LVM's internal volumes (thin pool data and metadata, RAID images, ...). */
  visible: boolean;
  /** Size in bytes (extents × extent size). */
  size: number;
  segments: LvmSegment[];
  /** True when {@link openLogicalVolume} can read it from this PV. */
  readable: boolean;
  /** Why it cannot be read, when it cannot. */
  unreadableReason?: string;
}

/** A volume group, from the newest valid metadata copy on the PV. */
export interface LvmVolumeGroup {
  name: string;
  uuid: string;
  /** The metadata's sequence number (incremented by every change). */
  seqno: number;
  /** Extent size in bytes. */
  extentSize: number;
  physicalVolumes: LvmPhysicalVolumeEntry[];
  /** The name of the PV this device is, in `physicalVolumes`. */
  thisPhysicalVolume: string;
  logicalVolumes: LvmLogicalVolume[];
}

/** What one PV holds: its label, and its volume group unless it belongs to none. */
export interface LvmPhysicalVolume {
  label: LvmLabel;
  volumeGroup?: LvmVolumeGroup;
}

/** Services while reading (soft problems are reported, not thrown). */
export interface LvmContext {
  warn(message: string): void;
}

/** True when one of the first four sectors carries an LVM2 label with a valid checksum. */
export async function probeLvm(reader: ByteReader): Promise<boolean> {
  const head = await reader.readAvailable(0, LVM_LABEL_SCAN_SECTORS * LVM_SECTOR_BYTES, 'lvm label');
  return findLabelSector(head) !== undefined;
}

function findLabelSector(head: Uint8Array): number | undefined {
  for (let sector = 0; sector < LVM_LABEL_SCAN_SECTORS; sector += 1) {
    const bytes = head.subarray(sector * LVM_SECTOR_BYTES, (sector + 1) * LVM_SECTOR_BYTES);
    if (bytes.byteLength < LVM_SECTOR_BYTES || !bytesEqual(bytes, 0, LABEL_ID) || !bytesEqual(bytes, 24, LABEL_TYPE)) continue;
    if (u64le(bytes, 8) !== BigInt(sector)) continue;
    if (lvmCrc(bytes.subarray(20)) !== u32le(bytes, 16)) continue;
    return sector;
  }
  return undefined;
}

/** The 32-character PV or VG id in LVM's printed form (groups of 6-4-4-4-4-4-6). */
export function formatLvmUuid(raw: string): string {
  const groups = [6, 4, 4, 4, 4, 4, 6];
  const parts: string[] = [];
  let at = 0;
  for (const length of groups) {
    parts.push(raw.slice(at, at + length));
    at += length;
  }
  return parts.join('-');
}

/** Reads the label and PV header. Throws `FORMAT_MISMATCH` when there is no LVM2 label. */
export async function readLvmLabel(reader: ByteReader): Promise<LvmLabel> {
  const head = await reader.readAvailable(0, LVM_LABEL_SCAN_SECTORS * LVM_SECTOR_BYTES, 'lvm label');
  const sector = findLabelSector(head);
  if (sector === undefined) throw fieldError('FORMAT_MISMATCH', 'label', 'no LVM2 label (LABELONE with a valid checksum) in the first four sectors');
  const bytes = head.subarray(sector * LVM_SECTOR_BYTES, (sector + 1) * LVM_SECTOR_BYTES);
  const headerOffset = u32le(bytes, 20);
  // The PV header must lie in the label sector, which is all LVM reads for it.
  if (headerOffset < 32 || headerOffset + 40 > LVM_SECTOR_BYTES) throw fieldError('CORRUPT', 'label.offset_xl', `PV header offset ${headerOffset} is outside the label sector`, sector * LVM_SECTOR_BYTES + 20);
  const uuidBytes = bytes.subarray(headerOffset, headerOffset + 32);
  const rawUuid = latin1Text(uuidBytes);
  if (!/^[A-Za-z0-9!#]{32}$/.test(rawUuid)) throw fieldError('CORRUPT', 'pv_header.pv_uuid', 'the PV UUID is not 32 id characters', sector * LVM_SECTOR_BYTES + headerOffset);
  let at = headerOffset + 40;
  const readList = (what: string): LvmArea[] => {
    const areas: LvmArea[] = [];
    for (;;) {
      if (at + 16 > LVM_SECTOR_BYTES) throw fieldError('CORRUPT', `pv_header.${what}`, 'the list runs past the label sector without its terminating zero entry');
      const offset = u64le(bytes, at);
      const size = u64le(bytes, at + 8);
      at += 16;
      if (offset === 0n) return areas;
      areas.push({ offset: safeNumber(offset, `pv_header.${what}.offset`), size: safeNumber(size, `pv_header.${what}.size`) });
    }
  };
  const dataAreas = readList('data areas');
  const metadataAreas = readList('metadata areas');
  return {
    labelSector: sector,
    uuid: formatLvmUuid(rawUuid),
    deviceSize: safeNumber(u64le(bytes, headerOffset + 32), 'pv_header.device_size'),
    dataAreas,
    metadataAreas,
  };
}

/**
 * Reads the metadata text of one metadata area: the mda header (checksum, magic, version,
 * self-pointer), raw location 0, and the text it points to (wrapping around the circular
 * buffer), checked against the location's checksum. `undefined` when the area is ignored or
 * holds no metadata (a PV in no VG).
 */
export async function readMetadataText(reader: ByteReader, area: LvmArea, index: number): Promise<string | undefined> {
  const field = `metadata area ${index}`;
  if (area.size < LVM_MDA_HEADER_BYTES * 2) throw fieldError('CORRUPT', `${field}.size`, `${area.size} bytes cannot hold a header and metadata`);
  const header = await reader.read(area.offset, LVM_MDA_HEADER_BYTES, `${field} header`);
  if (lvmCrc(header.subarray(4)) !== u32le(header, 0)) throw fieldError('CORRUPT', `${field} header.checksum`, 'the mda header checksum does not match', area.offset);
  if (!bytesEqual(header, 4, MDA_MAGIC)) throw fieldError('CORRUPT', `${field} header.magic`, 'not an LVM2 metadata area', area.offset + 4);
  const version = u32le(header, 20);
  if (version !== 1) throw fieldError('UNSUPPORTED', `${field} header.version`, `metadata area version ${version}`, area.offset + 20);
  const start = u64le(header, 24);
  const size = u64le(header, 32);
  if (start !== BigInt(area.offset) || size !== BigInt(area.size)) {
    throw fieldError('CORRUPT', `${field} header.start`, `the header says ${size} bytes at ${start}, the PV header ${area.size} at ${area.offset}`, area.offset + 24);
  }
  const textOffset = u64le(header, 40);
  const textSize = u64le(header, 48);
  const checksum = u32le(header, 56);
  const flags = u32le(header, 60);
  if ((flags & RAW_LOCN_IGNORED) !== 0 || (textOffset === 0n && textSize === 0n)) return undefined;
  if (textOffset < BigInt(LVM_MDA_HEADER_BYTES) || textOffset >= size || textSize > size - BigInt(LVM_MDA_HEADER_BYTES)) {
    throw fieldError('CORRUPT', `${field} raw location 0`, `${textSize} bytes at ${textOffset} do not fit the ${size}-byte area`, area.offset + 40);
  }
  const length = Number(textSize);
  if (length > MAX_LVM_METADATA_BYTES) throw fieldError('LIMIT_EXCEEDED', `${field} raw location 0.size`, `${length} bytes of metadata text are above ${MAX_LVM_METADATA_BYTES}`);
  const first = Math.min(length, area.size - Number(textOffset));
  const text = new Uint8Array(length);
  text.set(await reader.read(area.offset + Number(textOffset), first, `${field} text`));
  if (first < length) text.set(await reader.read(area.offset + LVM_MDA_HEADER_BYTES, length - first, `${field} text (wrapped)`), first);
  if (lvmCrc(text) !== checksum) throw fieldError('CORRUPT', `${field} text`, 'the metadata text does not match its checksum', area.offset + Number(textOffset));
  return utf8Text(text);
}

/**
 * Reads a PV: its label and, from the newest valid copy among its metadata areas, its
 * volume group. A damaged copy is reported through `context.warn` when another one is
 * good; when none is, the first copy's error is thrown.
 */
export async function readLvmPhysicalVolume(reader: ByteReader, context: LvmContext = { warn: () => {} }): Promise<LvmPhysicalVolume> {
  try {
    const label = await readLvmLabel(reader);
    const errors: IntrospectionError[] = [];
    let best: LvmVolumeGroup | undefined;
    for (const [index, area] of label.metadataAreas.slice(0, MAX_LVM_METADATA_AREAS).entries()) {
      try {
        const text = await readMetadataText(reader, area, index);
        if (text === undefined) continue;
        const group = interpretVolumeGroup(parseLvmText(text), label);
        if (best === undefined || group.seqno > best.seqno) best = group;
      } catch (error) {
        if (!isIntrospectionError(error) || error.code === 'ABORTED' || error.code === 'SOURCE_ERROR') throw error;
        errors.push(error);
      }
    }
    if (best === undefined && errors.length > 0) throw errors[0];
    for (const error of errors) context.warn(`lvm2: ${error.message} (another metadata copy was used)`);
    const firstData = label.dataAreas[0];
    const self = best?.physicalVolumes.find((pv) => pv.name === best?.thisPhysicalVolume);
    if (self !== undefined && firstData !== undefined && firstData.offset !== self.peStart) {
      context.warn(`lvm2: the PV header's data area starts at ${firstData.offset}, the metadata's pe_start at ${self.peStart}; the metadata is used`);
    }
    return best === undefined ? { label } : { label, volumeGroup: best };
  } catch (error) {
    throw toIntrospectionError(error, 'lvm2');
  }
}

function scalar(section: LvmSection, key: string, where: string): LvmValue {
  const value = section.values.get(key);
  if (value === undefined) throw fieldError('CORRUPT', `${where}.${key}`, 'missing from the metadata');
  return value;
}

function text(section: LvmSection, key: string, where: string): string {
  const value = scalar(section, key, where);
  if (typeof value !== 'string') throw fieldError('CORRUPT', `${where}.${key}`, 'is not a string');
  return value;
}

function count(section: LvmSection, key: string, where: string): number {
  const value = scalar(section, key, where);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw fieldError('CORRUPT', `${where}.${key}`, `${JSON.stringify(value)} is not a non-negative integer`);
  return value;
}

function strings(section: LvmSection, key: string): string[] {
  const value = section.values.get(key);
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function bytesOfSectors(sectors: number, where: string): number {
  const bytes = sectors * LVM_SECTOR_BYTES;
  if (!Number.isSafeInteger(bytes)) throw fieldError('CORRUPT', where, `${sectors} sectors is too large`);
  return bytes;
}

/** Reads the volume group out of parsed metadata, and works out which LVs this PV can serve. */
export function interpretVolumeGroup(root: LvmSection, label: LvmLabel): LvmVolumeGroup {
  const vg = root.sections.values().next().value;
  if (vg === undefined) throw fieldError('CORRUPT', 'metadata text', 'no volume group section');
  const where = `vg ${vg.name}`;
  const extentSize = bytesOfSectors(count(vg, 'extent_size', where), `${where}.extent_size`);
  if (extentSize === 0) throw fieldError('CORRUPT', `${where}.extent_size`, 'extents of zero sectors');
  const physicalVolumes: LvmPhysicalVolumeEntry[] = [];
  for (const pv of vg.sections.get('physical_volumes')?.sections.values() ?? []) {
    if (physicalVolumes.length >= MAX_LVM_PHYSICAL_VOLUMES) throw fieldError('LIMIT_EXCEEDED', `${where}.physical_volumes`, `more than ${MAX_LVM_PHYSICAL_VOLUMES}`);
    const pvWhere = `${where} pv ${pv.name}`;
    const device = pv.values.get('device');
    physicalVolumes.push({
      name: pv.name,
      uuid: text(pv, 'id', pvWhere),
      ...(typeof device === 'string' ? { device } : {}),
      peStart: bytesOfSectors(count(pv, 'pe_start', pvWhere), `${pvWhere}.pe_start`),
      peCount: count(pv, 'pe_count', pvWhere),
    });
  }
  const self = physicalVolumes.find((pv) => pv.uuid.replaceAll('-', '') === label.uuid.replaceAll('-', ''));
  if (self === undefined) throw fieldError('CORRUPT', `${where}.physical_volumes`, `this PV (${label.uuid}) is not among the volume group's physical volumes`);
  const logicalVolumes: LvmLogicalVolume[] = [];
  for (const lv of vg.sections.get('logical_volumes')?.sections.values() ?? []) {
    if (logicalVolumes.length >= MAX_LVM_LOGICAL_VOLUMES) throw fieldError('LIMIT_EXCEEDED', `${where}.logical_volumes`, `more than ${MAX_LVM_LOGICAL_VOLUMES}`);
    logicalVolumes.push(interpretLogicalVolume(vg.name, lv, extentSize, physicalVolumes, self));
  }
  return {
    name: vg.name,
    uuid: text(vg, 'id', where),
    seqno: count(vg, 'seqno', where),
    extentSize,
    physicalVolumes,
    thisPhysicalVolume: self.name,
    logicalVolumes,
  };
}

function interpretLogicalVolume(vgName: string, lv: LvmSection, extentSize: number, physicalVolumes: LvmPhysicalVolumeEntry[], self: LvmPhysicalVolumeEntry): LvmLogicalVolume {
  const where = `lv ${vgName}/${lv.name}`;
  const segments: LvmSegment[] = [];
  for (const segment of lv.sections.values()) {
    if (!segment.name.startsWith('segment')) continue;
    if (segments.length >= MAX_LVM_SEGMENTS_PER_LV) throw fieldError('LIMIT_EXCEEDED', where, `more than ${MAX_LVM_SEGMENTS_PER_LV} segments`);
    const segmentWhere = `${where} ${segment.name}`;
    const type = text(segment, 'type', segmentWhere);
    const stripeList = segment.values.get('stripes');
    const stripes: LvmSegment['stripes'] = [];
    if (Array.isArray(stripeList)) {
      for (let index = 0; index + 1 < stripeList.length; index += 2) {
        const pv = stripeList[index];
        const start = stripeList[index + 1];
        if (typeof pv !== 'string' || typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0) throw fieldError('CORRUPT', `${segmentWhere}.stripes`, 'expected pairs of a PV name and a first extent');
        stripes.push({ physicalVolume: pv, startExtent: start });
      }
    }
    const stripeCountValue = segment.values.get('stripe_count');
    segments.push({
      startExtent: count(segment, 'start_extent', segmentWhere),
      extentCount: count(segment, 'extent_count', segmentWhere),
      type,
      stripeCount: typeof stripeCountValue === 'number' ? stripeCountValue : stripes.length,
      stripes,
    });
  }
  segments.sort((a, b) => a.startExtent - b.startExtent);
  const extents = segments.reduce((total, segment) => total + segment.extentCount, 0);
  const size = extents * extentSize;
  if (!Number.isSafeInteger(size)) throw fieldError('CORRUPT', where, `${extents} extents of ${extentSize} bytes is too large`);
  const reason = unreadableReason(segments, physicalVolumes, self);
  return {
    name: lv.name,
    path: `/dev/${vgName}/${lv.name}`,
    uuid: text(lv, 'id', where),
    visible: strings(lv, 'status').includes('VISIBLE'),
    size,
    segments,
    readable: reason === undefined,
    ...(reason === undefined ? {} : { unreadableReason: reason }),
  };
}

/** Why a logical volume cannot be read from this PV alone, or `undefined` when it can. */
function unreadableReason(segments: LvmSegment[], physicalVolumes: LvmPhysicalVolumeEntry[], self: LvmPhysicalVolumeEntry): string | undefined {
  if (segments.length === 0) return 'it has no segments';
  let next = 0;
  for (const [index, segment] of segments.entries()) {
    if (segment.extentCount === 0) return `segment ${index + 1} is empty`;
    if (segment.startExtent !== next) return `segment ${index + 1} starts at extent ${segment.startExtent}, not at ${next}`;
    next += segment.extentCount;
    if (segment.type !== 'striped') return `segment ${index + 1} is of type ${segment.type}`;
    if (segment.stripeCount !== 1 || segment.stripes.length !== 1) return `segment ${index + 1} is striped over ${segment.stripes.length} stripes`;
    const stripe = segment.stripes[0] as LvmSegment['stripes'][number];
    if (stripe.physicalVolume !== self.name) {
      const other = physicalVolumes.find((pv) => pv.name === stripe.physicalVolume);
      return `segment ${index + 1} lies on ${stripe.physicalVolume}${other === undefined ? ' (not in the metadata)' : ` (${other.uuid})`}, not on this PV`;
    }
    if (stripe.startExtent + segment.extentCount > self.peCount) return `segment ${index + 1} ends at extent ${stripe.startExtent + segment.extentCount}, past the PV's ${self.peCount}`;
  }
  return undefined;
}

/**
 * A reader over logical volume `name` of the PV's volume group, translating its extents
 * to the PV. Throws `UNSUPPORTED` with the reason when the LV is not readable from this PV.
 */
export function openLogicalVolume(reader: ByteReader, pv: LvmPhysicalVolume, name: string): ByteReader {
  const group = pv.volumeGroup;
  const lv = group?.logicalVolumes.find((candidate) => candidate.name === name);
  if (group === undefined || lv === undefined) throw fieldError('INVALID_ARGUMENT', 'name', `no logical volume ${name} on this PV`);
  if (!lv.readable) throw fieldError('UNSUPPORTED', `lv ${group.name}/${name}`, lv.unreadableReason ?? 'not readable');
  const self = group.physicalVolumes.find((entry) => entry.name === group.thisPhysicalVolume) as LvmPhysicalVolumeEntry;
  const extents = lv.segments.map((segment) => {
    const stripe = segment.stripes[0] as LvmSegment['stripes'][number];
    return {
      offset: segment.startExtent * group.extentSize,
      length: segment.extentCount * group.extentSize,
      at: self.peStart + stripe.startExtent * group.extentSize,
    };
  });
  return mappedView(reader, extents, lv.size);
}
