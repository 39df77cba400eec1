/**
 * Parallels: the expanding disk format of Parallels Desktop and Virtuozzo (`.hds` files
 * inside an `.hdd` bundle).
 *
 * A 64-byte header at offset 0 (qemu docs/interop/parallels.txt), then the block allocation
 * table. Two signatures exist:
 *
 * | magic | version | BAT entries count | size field |
 * | --- | --- | --- | --- |
 * | `WithoutFreeSpace` | `legacy` | sectors | 32 bits (the upper half is padding) |
 * | `WithouFreSpacExt` | `extended` | clusters | 64 bits (what qemu writes) |
 *
 * The virtual size is the header's sector count times 512, read as qemu 7.2 reads it
 * (block/parallels.c parallels_open). The BAT is not read. An `.hdd` bundle's
 * `DiskDescriptor.xml` is not this format (qemu and we see it as raw text).
 *
 * @module
 */
import { safeNumber } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader, FormatModule, ParseContext, ParsedImage } from '../src/format-module.js';
import { type SafetyCheck, fail, pass } from '../src/safety.js';
import { PARALLELS_HEADER_SIZE, decodeParallelsHeader } from './generated/parallels.js';

/** The older signature: BAT entries and the data offset count sectors, the size field is 32 bits. */
export const PARALLELS_MAGIC_LEGACY = 'WithoutFreeSpace';
/** The newer signature: BAT entries count clusters. qemu creates these. */
export const PARALLELS_MAGIC_EXTENDED = 'WithouFreSpacExt';
/** The only header version there is (qemu HEADER_VERSION). */
export const PARALLELS_HEADER_VERSION = 2;
/** `inUse` while an image is open (qemu HEADER_INUSE_MAGIC, "Ynot"). */
export const PARALLELS_IN_USE = 0x746f6e59;
/** qemu refuses clusters of more than INT32_MAX / 513 sectors ("Too big cluster"). */
export const PARALLELS_QEMU_MAX_CLUSTER_SECTORS = Math.floor(0x7fffffff / 513);
const SECTOR_SIZE = 512;

/** Parallels image metadata. */
export interface ParallelsDetails {
  /** `legacy` for the `WithoutFreeSpace` signature, `extended` for `WithouFreSpacExt`. */
  version: 'legacy' | 'extended';
  /** The signature itself. */
  magic: typeof PARALLELS_MAGIC_LEGACY | typeof PARALLELS_MAGIC_EXTENDED;
  /** The header's version field (2). */
  headerVersion: number;
  /** Cluster size in bytes (the header's `tracks` sectors per cluster, times 512). */
  clusterSize: number;
  /** The virtual size in 512-byte sectors (for `legacy`, the low 32 bits of the field, as qemu reads it). */
  sectors: number;
  /** Entries in the block allocation table. */
  batEntries: number;
  /**
   * True when the image was not closed (the field says `Ynot`, 0x746F6E59): it may be inconsistent.
   * Closed images carry 0 (qemu), `v2.1` (0x312E3276) or another tag (`pd17` from Parallels Desktop 17).
   */
  inUse: boolean;
  /** Geometry: heads. */
  heads: number;
  /** Geometry: cylinders. */
  cylinders: number;
  /** Byte offset of the first data cluster (0: right after the BAT). */
  dataOffset: number;
  /** The header's flags (bit 0: the image is empty). */
  flags: number;
  /** Byte offset of the format extension cluster (dirty bitmaps); `undefined` when there is none. */
  extensionOffset: number | undefined;
}

function magicOf(text: string): ParallelsDetails['magic'] {
  if (text === PARALLELS_MAGIC_LEGACY || text === PARALLELS_MAGIC_EXTENDED) return text;
  throw fieldError('CORRUPT', 'header.magic', `"${text}" is not a Parallels signature`);
}

function checkConsistency(details: ParallelsDetails, context: ParseContext): void {
  const clusterSectors = details.clusterSize / SECTOR_SIZE;
  if (clusterSectors > PARALLELS_QEMU_MAX_CLUSTER_SECTORS) {
    context.warn(`clusters of ${clusterSectors} sectors are above what qemu accepts (${PARALLELS_QEMU_MAX_CLUSTER_SECTORS})`);
  }
  if (BigInt(details.batEntries) * BigInt(clusterSectors) < BigInt(details.sectors)) {
    context.warn(`${details.batEntries} BAT entries of ${details.clusterSize} bytes cover less than the disk's ${details.sectors} sectors`);
  }
  if (details.inUse) context.warn('the image was not closed cleanly (inUse): its BAT may be stale');
}

async function parseParallels(reader: ByteReader, context: ParseContext): Promise<ParsedImage<ParallelsDetails>> {
  const header = decodeParallelsHeader(await reader.read(0, PARALLELS_HEADER_SIZE, 'header'));
  const magic = magicOf(header.magic);
  if (header.version !== PARALLELS_HEADER_VERSION) {
    throw fieldError('UNSUPPORTED', 'header.version', `header version ${header.version} (only ${PARALLELS_HEADER_VERSION} exists)`);
  }
  if (header.tracks === 0) {
    // qemu: "Invalid image: Zero sectors per track".
    throw fieldError('CORRUPT', 'header.tracks', 'a cluster of 0 sectors cannot hold any data');
  }
  const version = magic === PARALLELS_MAGIC_LEGACY ? 'legacy' : 'extended';
  // qemu: "bs->total_sectors = 0xffffffff & bs->total_sectors" for the old signature.
  const sectorField = version === 'legacy' ? header.sectors & 0xffffffffn : header.sectors;
  const sectors = safeNumber(sectorField, 'header.sectors', 'parallels');
  const details: ParallelsDetails = {
    version,
    magic,
    headerVersion: header.version,
    clusterSize: header.tracks * SECTOR_SIZE,
    sectors,
    batEntries: header.batEntries,
    // Only "Ynot" means open: Parallels Desktop writes other tags here when it closes an image
    // (the real-world images carry "pd17"), so any other value is read as closed, like qemu does.
    inUse: header.inUse === PARALLELS_IN_USE,
    heads: header.heads,
    cylinders: header.cylinders,
    dataOffset: header.dataOffset * SECTOR_SIZE,
    flags: header.flags,
    extensionOffset:
      header.extensionOffset === 0n ? undefined : safeNumber(header.extensionOffset * BigInt(SECTOR_SIZE), 'header.extensionOffset', 'parallels'),
  };
  checkConsistency(details, context);
  return { virtualSize: safeNumber(BigInt(sectors) * BigInt(SECTOR_SIZE), 'header.sectors', 'parallels'), details };
}

/** `size`: the block allocation table must cover the declared disk. */
const sizeCheck: SafetyCheck<ParallelsDetails, 'size'> = {
  name: 'size',
  description: 'a declared disk size the block allocation table cannot address',
  run(details) {
    const covered = details.batEntries * details.clusterSize;
    const declared = details.sectors * SECTOR_SIZE;
    return covered >= declared
      ? pass()
      : fail(`${details.batEntries} BAT entries of ${details.clusterSize} bytes cover ${covered} bytes, less than the declared ${declared}`);
  },
};

/** The Parallels format module. */
export const parallels: FormatModule<'parallels', ParallelsDetails, 'size'> = {
  name: 'parallels',
  title: 'Parallels disk image',
  qemuProbes: true,
  aliases: ['ploop'],
  glance: { diskFormat: 'ploop' }, // Glance's name (qemu's parallels driver reads ploop)
  signatures: [
    { offset: 0, bytes: PARALLELS_MAGIC_EXTENDED },
    { offset: 0, bytes: PARALLELS_MAGIC_LEGACY },
  ],
  checks: [sizeCheck],
  summarize: (details) => [
    ['version', `${details.version} (${details.magic})`],
    ['cluster size', details.clusterSize],
    ['BAT entries', details.batEntries],
    ['in use', details.inUse],
  ],
  parse: parseParallels,
};
