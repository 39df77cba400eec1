/**
 * VDI: VirtualBox Disk Images.
 *
 * One fixed header at the start of the file describes the disk (VirtualBox VDICore.h):
 *
 * | part | offset | what |
 * | --- | --- | --- |
 * | pre-header | 0 | a 64-byte banner for human eyes, the signature 0xBEDA107F at 64, the version at 68 |
 * | header 1.1 | 72 | header size, type, flags, description, block map and data offsets, geometry, disk size, block size and counts, four UUIDs (and, in VirtualBox's 0x190-byte variant, the LCHS geometry) |
 * | header 0.0 | 72 | the same without header size, offsets, extra block data and parent-modification UUID (the oldest VirtualBox images) |
 *
 * qemu 7.2 (block/vdi.c) opens version 1.1 only, probes the signature at 64, and rounds an
 * odd disk size up to a multiple of 512; we report the declared size (see docs/formats/vdi.md).
 * The block map is not read: its count of allocated blocks is in the header.
 *
 * @module
 */
import { cutAtNul, isAllZero, latin1Text, mixedEndianGuid, safeNumber, utf8Text } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader, FormatModule, ParseContext, ParsedImage } from '../src/format-module.js';
import { type SafetyCheck, fail, pass } from '../src/safety.js';
import { vdiGuestDisk } from './shared/vdi-guest.js';
import { VDI_HEADER_MIN_SIZE, VDI_HEADER_SIGNATURE, VDI_HEADER_SIZE, VDI_IMAGE_TYPES, type VdiHeader, type VdiImageType, decodeVdiHeader } from './generated/vdi.js';

export type { VdiImageType } from './generated/vdi.js';

/** The signature at offset 64, as its little-endian bytes. */
export const VDI_SIGNATURE_BYTES = VDI_HEADER_SIGNATURE;
/** Where the signature is. */
export const VDI_SIGNATURE_OFFSET = 64;
/** The size of VDIHEADER1, the smallest valid `headerSize` of a version 1 header (VDICore.h). */
export const VDI_HEADER1_SIZE = 0x180;
/** The size of VDIHEADER1PLUS: headers at least this long carry the LCHS geometry. */
export const VDI_HEADER1_PLUS_SIZE = 0x190;
/** The one sector size qemu (and VirtualBox's LCHS geometry) accepts. */
const SECTOR_SIZE = 512;
/** Where a version 0 header's block map starts: right after the 72-byte pre-header and the 348-byte header. */
const VERSION0_BLOCKS_OFFSET = VDI_HEADER_MIN_SIZE;

/** A disk geometry as VDI stores it. */
export interface VdiGeometry {
  cylinders: number;
  heads: number;
  /** Sectors per track. */
  sectors: number;
  /** Bytes per sector. */
  sectorSize: number;
}

/** VDI metadata. */
export interface VdiDetails {
  /** The pre-header's banner, without its trailing newline, e.g. `<<< Oracle VM VirtualBox Disk Image >>>`. */
  banner: string;
  /** The header version, `major.minor`: `'1.1'` (every current image) or `'0.0'`. */
  version: string;
  /** The header's size after the 72-byte pre-header: 0x180 (qemu) or 0x190 (VirtualBox); `undefined` for version 0. */
  headerSize: number | undefined;
  /** `dynamic`, `static`, `undo` or `diff`. */
  imageType: VdiImageType;
  /** The image flags, as stored. */
  flags: number;
  /** The image's description (comment). */
  description: string;
  /** Bytes per sector, from the legacy geometry (512). */
  sectorSize: number;
  /** The disk size in bytes, as declared (the virtual size). */
  diskSize: number;
  /** Block size in bytes (1 MiB; qemu's `cluster-size`). */
  blockSize: number;
  /** Bytes of extra data stored before each block (0). */
  blockExtraSize: number;
  /** Blocks the block map describes. */
  blocksInImage: number;
  /** Blocks allocated in the file, as the header counts them. */
  blocksAllocated: number;
  /** Byte offset of the block map. */
  blocksOffset: number;
  /** Byte offset of the first data block. */
  dataOffset: number;
  /** The image's UUID (VirtualBox uuidCreate; qemu uuid_image). */
  uuid: string;
  /** The UUID of the image's last modification (uuidModify; qemu uuid_last_snap). */
  modifyUuid: string;
  /** A differencing image's parent UUID (uuidLinkage; qemu uuid_link); `undefined` when null. */
  parentUuid: string | undefined;
  /** The parent's modification UUID (uuidParentModify; qemu uuid_parent); `undefined` when null or absent (version 0). */
  parentModifyUuid: string | undefined;
  /** The LCHS geometry of VirtualBox's 0x190-byte header (all zero until VirtualBox sets it); `undefined` in shorter headers. */
  geometry: VdiGeometry | undefined;
  /** The legacy geometry field (older VirtualBox stored the physical geometry there). */
  legacyGeometry: VdiGeometry;
}

/** Text of a fixed-size, NUL-terminated field. */
function fieldText(bytes: Uint8Array, decode: (bytes: Uint8Array) => string): string {
  return cutAtNul(decode(bytes));
}

/** A UUID field (IPRT RTUUID: mixed-endian, like a Microsoft GUID), or `undefined` when it is absent or all zero. */
function optionalUuid(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined || isAllZero(bytes) ? undefined : mixedEndianGuid(bytes);
}

function imageTypeName(value: number): VdiImageType {
  const name = VDI_IMAGE_TYPES.get(value);
  if (name === undefined) throw fieldError('CORRUPT', 'header.imageType', `${value} is not a VDI image type (1 dynamic, 2 static, 3 undo, 4 diff)`);
  return name;
}

/** The LCHS geometry of VirtualBox's 0x190-byte header (fields a shorter header holds but does not define). */
function lchsGeometry({ headerSize, cylinders, heads, sectors, lchsSectorSize }: VdiHeader): VdiGeometry | undefined {
  if (headerSize === undefined || headerSize < VDI_HEADER1_PLUS_SIZE) return undefined;
  // Version 1 fields, like headerSize: present together.
  if (cylinders === undefined || heads === undefined || sectors === undefined || lchsSectorSize === undefined) return undefined;
  return { cylinders, heads, sectors, sectorSize: lchsSectorSize };
}

/**
 * The details of a version 1 or version 0 header. The fields a version 0 header lacks are
 * `undefined` in the decoded layout; its block map follows the header and its data follows
 * the block map (VDICore.h getImageBlocksOffset, getImageDataOffset).
 */
function vdiDetails(header: VdiHeader): VdiDetails {
  return {
    banner: fieldText(header.text, latin1Text).replace(/\n$/, ''),
    version: `${header.majorVersion}.${header.minorVersion}`,
    headerSize: header.headerSize,
    imageType: imageTypeName(header.imageType),
    flags: header.flags,
    description: fieldText(header.description, utf8Text),
    sectorSize: header.sectorSize,
    diskSize: safeNumber(header.diskSize, 'header.diskSize', 'vdi'),
    blockSize: header.blockSize,
    blockExtraSize: header.blockExtraSize ?? 0,
    blocksInImage: header.blocksInImage,
    blocksAllocated: header.blocksAllocated,
    blocksOffset: header.blocksOffset ?? VERSION0_BLOCKS_OFFSET,
    dataOffset: header.dataOffset ?? VERSION0_BLOCKS_OFFSET + header.blocksInImage * 4,
    uuid: mixedEndianGuid(header.uuid),
    modifyUuid: mixedEndianGuid(header.modifyUuid),
    parentUuid: optionalUuid(header.parentUuid),
    parentModifyUuid: optionalUuid(header.parentModifyUuid),
    geometry: lchsGeometry(header),
    legacyGeometry: {
      cylinders: header.legacyCylinders,
      heads: header.legacyHeads,
      sectors: header.legacySectors,
      sectorSize: header.sectorSize,
    },
  };
}

/** Soft inconsistencies: the result stands, but VirtualBox or qemu would object. */
function checkConsistency(details: VdiDetails, context: ParseContext): void {
  const covered = BigInt(details.blocksInImage) * BigInt(details.blockSize);
  if (BigInt(details.diskSize) > covered) {
    context.warn(`the block map covers ${covered} bytes, less than the disk size ${details.diskSize} (qemu refuses the image)`);
  }
  if (details.blocksAllocated > details.blocksInImage) {
    context.warn(`the header counts ${details.blocksAllocated} allocated blocks of ${details.blocksInImage}`);
  }
  if (details.sectorSize !== SECTOR_SIZE) {
    context.warn(`sector size ${details.sectorSize} is not ${SECTOR_SIZE} (qemu refuses the image)`);
  }
}

async function parseVdi(reader: ByteReader, context: ParseContext): Promise<ParsedImage<VdiDetails>> {
  // One read from the start covers either header version (the longer is 472 bytes), so that a
  // stream is never asked to go back.
  const header = decodeVdiHeader(await reader.readAvailable(0, VDI_HEADER_SIZE, 'header'));
  const { majorVersion, minorVersion, headerSize } = header;
  if (majorVersion !== 0 && majorVersion !== 1) {
    throw fieldError('UNSUPPORTED', 'header.version', `header version ${majorVersion}.${minorVersion} (VirtualBox knows 0.0 and 1.1)`);
  }
  if (headerSize !== undefined && headerSize < VDI_HEADER1_SIZE) {
    throw fieldError('CORRUPT', 'header.headerSize', `${headerSize} bytes is shorter than a version 1 header (${VDI_HEADER1_SIZE})`);
  }
  const details = vdiDetails(header);
  if (details.blockSize === 0) throw fieldError('CORRUPT', 'header.blockSize', 'a block size of 0 cannot hold any data');
  checkConsistency(details, context);
  return { virtualSize: details.diskSize, details };
}

/** `parent`: a differencing (or undo) image opens its parent from the host. */
const parentCheck: SafetyCheck<VdiDetails, 'parent'> = {
  name: 'parent',
  description: 'a differencing image whose parent would be opened from the host',
  run(details) {
    if (details.parentUuid !== undefined) return fail(`a differencing image of parent ${details.parentUuid}`);
    if (details.imageType === 'diff' || details.imageType === 'undo') return fail(`image type ${details.imageType} needs a parent`);
    return pass();
  },
};

/** `size`: the block map must cover the declared disk (qemu refuses the image otherwise). */
const sizeCheck: SafetyCheck<VdiDetails, 'size'> = {
  name: 'size',
  description: 'a declared disk size the block map cannot address',
  run(details) {
    const covered = details.blocksInImage * details.blockSize;
    return covered >= details.diskSize
      ? pass()
      : fail(`${details.blocksInImage} blocks of ${details.blockSize} bytes cover ${covered} bytes, less than the declared ${details.diskSize}`);
  },
};

/** The VDI format module. */
export const vdi: FormatModule<'vdi', VdiDetails, 'parent' | 'size'> = {
  name: 'vdi',
  title: 'VirtualBox Disk Image (VDI)',
  qemuProbes: true,
  glance: { diskFormat: 'vdi' }, // Glance's name
  signatures: [{ offset: VDI_SIGNATURE_OFFSET, bytes: VDI_SIGNATURE_BYTES }],
  checks: [parentCheck, sizeCheck],
  // A VDI names its parent by UUID only (VirtualBox finds it in its media registry).
  references: { backing: [{ name: 'parentUuid', by: 'uuid' }] },
  guestDisk: vdiGuestDisk,
  // qemu-img info prints the block size as cluster_size, and no format-specific block.
  summarize: (details) => [
    ['cluster_size', details.blockSize],
    ['image type', details.imageType],
    ['version', details.version],
    ['blocks allocated', `${details.blocksAllocated} of ${details.blocksInImage}`],
    ['uuid', details.uuid],
    ['parent uuid', details.parentUuid],
    ['description', details.description === '' ? undefined : details.description],
    ['banner', details.banner],
  ],
  parse: parseVdi,
};
