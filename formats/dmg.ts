/**
 * Apple disk images (UDIF, `.dmg`).
 *
 * A UDIF image is its data fork (compressed chunks) followed by an XML property list and a
 * 512-byte big-endian trailer, "koly", at the very end. Nothing identifies it at the start, so
 * it is found by its trailer (an end signature: on a stream, detection reads to the end and
 * keeps the last {@link DMG_TAIL_BYTES} bytes).
 *
 * | part | what we read |
 * | --- | --- |
 * | koly trailer | version, flags, data fork and resource fork ranges, property list range, segment, image variant, sector count, checksum types |
 * | property list | the `blkx` entries: each partition's name and its "mish" block table (sector range, chunk types) |
 *
 * The property list is read only when it lies within the last {@link DMG_TAIL_BYTES} bytes
 * of the image, whatever the source, so that a file and a stream give the same answer; where it
 * does not, the partitions are `undefined` and a warning says why. Old images whose block
 * tables are in a classic resource fork instead are not decoded.
 *
 * The virtual size is the trailer's sector count x 512 (qemu 7.2 block/dmg.c). When that count
 * is 0 but the block tables were read, they give the size (qemu reports 0; see
 * docs/formats/dmg.md). qemu recognises a DMG by its file name only.
 *
 * @module
 */
import { bigEndianUuid, hex, isAllZero, safeNumber, utf8Text } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader, FormatModule, ParseContext, ParsedImage } from '../src/format-module.js';
import {
  DMG_BLOCK_TABLE_SIZE,
  DMG_CHUNK_SIZE,
  DMG_KOLY_TRAILER_SIGNATURE,
  DMG_KOLY_TRAILER_SIZE,
  type DmgKolyTrailer,
  matchDmgBlockTable,
  decodeDmgChunk,
  decodeDmgKolyTrailer,
} from './generated/dmg.js';
import { readBlkxEntries } from './shared/dmg-plist.js';

/** The trailer's signature. */
export const DMG_TRAILER_SIGNATURE = DMG_KOLY_TRAILER_SIGNATURE;
/**
 * The property list is read when it lies within this many bytes before the trailer. 256 KiB
 * holds the block tables of a few thousand chunks (a disk of several GiB in 1 MiB chunks).
 */
export const DMG_PLIST_WINDOW = 256 * 1024;
/** The bytes from the end of the image the module reads: the property list window and the trailer. */
export const DMG_TAIL_BYTES = DMG_PLIST_WINDOW + DMG_KOLY_TRAILER_SIZE;
const SECTOR_SIZE = 512;

/** Chunk types (BLKXChunkEntry.type) that hold data, by name. Zero-fill, ignore, comment and terminator hold none. */
const DATA_CHUNK_TYPES: Record<number, string> = {
  0x00000001: 'raw',
  0x80000004: 'adc',
  0x80000005: 'zlib',
  0x80000006: 'bzip2',
  0x80000007: 'lzfse',
  0x80000008: 'lzma',
};
/** Chunk types without data: zero-fill, ignore (free space), comment, end of table. */
const EMPTY_CHUNK_TYPES = new Set([0x00000000, 0x00000002, 0x7ffffffe, 0xffffffff]);

/** One partition: a `blkx` entry of the property list and its block table. */
export interface DmgPartition {
  /** The entry's `Name` (or `CFName`), e.g. `disk image (Apple_HFS : 4)`. */
  name: string;
  /** The entry's `ID`, e.g. -1 for the driver descriptor map. */
  id: number | undefined;
  /** The entry's `Attributes`, e.g. `0x0050`. */
  attributes: string | undefined;
  /** The first sector of the disk the partition covers. */
  firstSector: number;
  /** Sectors it covers. */
  sectorCount: number;
  /** Chunk entries in its block table. */
  chunkCount: number;
  /** How its chunks are stored: `raw`, `adc`, `zlib`, `bzip2`, `lzfse`, `lzma` (or `unknown-0x...`), sorted. */
  compressionMethods: string[];
}

/** A checksum as UDIF stores it. */
export interface DmgChecksum {
  /** 0 none, 2 CRC-32. */
  type: number;
  /** Its length in bits. */
  bits: number;
  /** Its value, hexadecimal (empty for no checksum). */
  value: string;
}

/** Apple disk image metadata. */
export interface DmgDetails {
  /** The trailer's version (4). */
  version: number;
  /** The trailer's size field (512). */
  headerSize: number;
  /** Flags: bit 0 flattened, bit 2 internet-enabled. */
  flags: number;
  /** Where this segment's data begins within the whole image (segmented images). */
  runningDataForkOffset: number;
  /** Byte offset of the data fork. */
  dataForkOffset: number;
  /** Length of the data fork in bytes. */
  dataForkLength: number;
  /** Byte offset of a classic resource fork (old images). */
  resourceForkOffset: number;
  /** Its length (0: none). */
  resourceForkLength: number;
  /** Byte offset of the XML property list. */
  plistOffset: number;
  /** Its length in bytes. */
  plistLength: number;
  /** This segment's number (1 for a single-file image). */
  segmentNumber: number;
  /** The number of segments. */
  segmentCount: number;
  /** The segment UUID; `undefined` when null. */
  segmentId: string | undefined;
  /** 1 device image, 2 partition image. */
  imageVariant: number;
  /** The expanded image's size in 512-byte sectors, as the trailer says. */
  sectorCount: number;
  /** The data fork's checksum. */
  dataChecksum: DmgChecksum;
  /** The checksum of the block tables' checksums. */
  masterChecksum: DmgChecksum;
  /** The partitions, in property list order; `undefined` when the property list was not read. */
  partitions: DmgPartition[] | undefined;
  /** Every storage method of every partition's chunks, sorted; `undefined` when the property list was not read. */
  compressionMethods: string[] | undefined;
}

function checksumOf(type: number, bits: number, bytes: Uint8Array): DmgChecksum {
  const length = Math.min(bytes.byteLength, Math.ceil(bits / 8));
  let value = '';
  for (const byte of bytes.subarray(0, length)) value += byte.toString(16).padStart(2, '0');
  return { type, bits, value };
}

function methodName(type: number): string | undefined {
  if (EMPTY_CHUNK_TYPES.has(type)) return undefined;
  return DATA_CHUNK_TYPES[type] ?? `unknown-${hex(type, 8)}`;
}

function trailerDetails(trailer: DmgKolyTrailer): DmgDetails {
  const number = (value: bigint, field: string) => safeNumber(value, `koly trailer.${field}`, 'dmg');
  return {
    version: trailer.version,
    headerSize: trailer.headerSize,
    flags: trailer.flags,
    runningDataForkOffset: number(trailer.runningDataForkOffset, 'runningDataForkOffset'),
    dataForkOffset: number(trailer.dataForkOffset, 'dataForkOffset'),
    dataForkLength: number(trailer.dataForkLength, 'dataForkLength'),
    resourceForkOffset: number(trailer.resourceForkOffset, 'resourceForkOffset'),
    resourceForkLength: number(trailer.resourceForkLength, 'resourceForkLength'),
    plistOffset: number(trailer.plistOffset, 'plistOffset'),
    plistLength: number(trailer.plistLength, 'plistLength'),
    segmentNumber: trailer.segmentNumber,
    segmentCount: trailer.segmentCount,
    segmentId: isAllZero(trailer.segmentId) ? undefined : bigEndianUuid(trailer.segmentId),
    imageVariant: trailer.imageVariant,
    sectorCount: number(trailer.sectorCount, 'sectorCount'),
    dataChecksum: checksumOf(trailer.dataChecksumType, trailer.dataChecksumBits, trailer.dataChecksum),
    masterChecksum: checksumOf(trailer.masterChecksumType, trailer.masterChecksumBits, trailer.masterChecksum),
    partitions: undefined,
    compressionMethods: undefined,
  };
}

/** Decodes one "mish" block table into a partition; `undefined` for data that is not one (qemu skips those too). */
function decodePartition(strings: Record<string, string>, table: Uint8Array, index: number, context: ParseContext): DmgPartition | undefined {
  const header = matchDmgBlockTable(table);
  if (header === undefined) return undefined;
  const field = `plist.blkx.${index}`;
  // The loop is bounded by the bytes present, whatever count the table declares.
  const present = Math.floor((table.byteLength - DMG_BLOCK_TABLE_SIZE) / DMG_CHUNK_SIZE);
  if (header.chunkCount > present) {
    context.warn(`${field}: the block table declares ${header.chunkCount} chunks but holds ${present}`);
  }
  const chunkCount = Math.min(header.chunkCount, present);
  const methods = new Set<string>();
  for (let chunk = 0; chunk < chunkCount; chunk += 1) {
    const start = DMG_BLOCK_TABLE_SIZE + chunk * DMG_CHUNK_SIZE;
    const method = methodName(decodeDmgChunk(table.subarray(start, start + DMG_CHUNK_SIZE)).type);
    if (method !== undefined) methods.add(method);
  }
  const id = strings.ID === undefined ? undefined : Number.parseInt(strings.ID, 10);
  return {
    name: strings.Name ?? strings.CFName ?? '',
    id: id === undefined || Number.isNaN(id) ? undefined : id,
    attributes: strings.Attributes,
    firstSector: safeNumber(header.firstSector, `${field}.firstSector`, 'dmg'),
    sectorCount: safeNumber(header.sectorCount, `${field}.sectorCount`, 'dmg'),
    chunkCount,
    compressionMethods: [...methods].sort(),
  };
}

/** Why the property list cannot be read under the tail rule, or `undefined` when it can. */
function plistUnreadable(details: DmgDetails, trailerOffset: number): string | undefined {
  if (details.plistLength === 0) {
    return details.resourceForkLength > 0 ? 'the block tables are in a classic resource fork, which is not decoded' : 'there is no property list';
  }
  if (details.plistOffset + details.plistLength > trailerOffset) return 'the property list runs into the trailer';
  if (details.plistOffset < trailerOffset - DMG_PLIST_WINDOW) {
    return `the property list (${details.plistLength} bytes at ${details.plistOffset}) is not within the last ${DMG_PLIST_WINDOW} bytes before the trailer`;
  }
  return undefined;
}

async function readPartitions(reader: ByteReader, details: DmgDetails, context: ParseContext): Promise<DmgPartition[] | undefined> {
  const text = utf8Text(await reader.read(details.plistOffset, details.plistLength, 'plist'));
  const entries = readBlkxEntries(text);
  if (entries === undefined) {
    context.warn('the property list has no blkx array');
    return undefined;
  }
  const partitions: DmgPartition[] = [];
  for (const [index, entry] of entries.entries()) {
    const partition = entry.data === undefined ? undefined : decodePartition(entry.strings, entry.data, index, context);
    if (partition === undefined) context.warn(`plist.blkx.${index}: no block table`);
    else partitions.push(partition);
  }
  return partitions;
}

/** The sector after the last one any partition covers. */
function partitionsEnd(partitions: readonly DmgPartition[]): number {
  let end = 0;
  for (const partition of partitions) end = Math.max(end, partition.firstSector + partition.sectorCount);
  return end;
}

function virtualSizeOf(details: DmgDetails, context: ParseContext): number {
  const declared = safeNumber(BigInt(details.sectorCount) * BigInt(SECTOR_SIZE), 'koly trailer.sectorCount', 'dmg');
  if (details.partitions === undefined || details.partitions.length === 0) return declared;
  const covered = partitionsEnd(details.partitions);
  if (details.sectorCount === 0 && covered > 0) {
    context.warn(`the trailer's sector count is 0; the block tables cover ${covered} sectors, which give the size (qemu reports 0)`);
    return safeNumber(BigInt(covered) * BigInt(SECTOR_SIZE), 'plist.blkx', 'dmg');
  }
  if (covered !== details.sectorCount) {
    context.warn(`the block tables cover ${covered} sectors, the trailer says ${details.sectorCount}`);
  }
  return declared;
}

async function parseDmg(reader: ByteReader, context: ParseContext): Promise<ParsedImage<DmgDetails>> {
  const size = await reader.totalSize(DMG_TAIL_BYTES);
  if (size < DMG_KOLY_TRAILER_SIZE) {
    throw fieldError('TRUNCATED', 'koly trailer', `${size} bytes cannot hold the 512-byte trailer`);
  }
  const trailerOffset = size - DMG_KOLY_TRAILER_SIZE;
  const trailer = decodeDmgKolyTrailer(await reader.read(trailerOffset, DMG_KOLY_TRAILER_SIZE, 'koly trailer'));
  const details = trailerDetails(trailer);
  if (details.version !== 4 || details.headerSize !== DMG_KOLY_TRAILER_SIZE) {
    context.warn(`trailer version ${details.version}, size ${details.headerSize} (UDIF writes 4 and 512)`);
  }
  if (details.dataForkOffset + details.dataForkLength > trailerOffset) {
    context.warn(`the data fork (${details.dataForkLength} bytes at ${details.dataForkOffset}) runs past the trailer`);
  }
  const unreadable = plistUnreadable(details, trailerOffset);
  if (unreadable === undefined) {
    details.partitions = await readPartitions(reader, details, context);
    if (details.partitions !== undefined) {
      details.compressionMethods = [...new Set(details.partitions.flatMap((partition) => partition.compressionMethods))].sort();
    }
  } else {
    context.warn(`partitions not read: ${unreadable}`);
  }
  return { virtualSize: virtualSizeOf(details, context), details };
}

/** The Apple disk image (UDIF) format module. */
export const dmg: FormatModule<'dmg', DmgDetails, never> = {
  name: 'dmg',
  title: 'Apple disk image (UDIF .dmg)',
  glance: { diskFormat: null }, // Glance has no disk_format for it
  signatures: [{ offset: DMG_KOLY_TRAILER_SIZE, bytes: DMG_TRAILER_SIGNATURE, fromEnd: true }],
  tailBytes: DMG_TAIL_BYTES,
  guestDataAtStart: true,
  summarize: (details) => [
    ['image variant', details.imageVariant],
    ['sector count', details.sectorCount],
    ['compression', details.compressionMethods?.join(', ')],
    ...(details.partitions ?? []).map((partition, index): [string, string] => [
      `partition ${index + 1}`,
      `${partition.name}: ${partition.sectorCount} sectors at ${partition.firstSector}`,
    ]),
  ],
  parse: parseDmg,
};
