/**
 * The guest disk of a hosted sparse VMDK extent (monolithicSparse, streamOptimized): its
 * grain directory and grain tables, read as qemu 7.2 reads them (block/vmdk.c
 * `get_cluster_offset`, `vmdk_read_extent`; VMware "Virtual Disk Format 1.1", "Hosted
 * Sparse Extents" and "Stream-Optimized Compressed Sparse Extents").
 *
 * | structure | entry | meaning |
 * | --- | --- | --- |
 * | grain directory (`gdOffset` sectors; `ceil(capacity / (numGTEsPerGT * grainSize))` entries of 4 bytes, little-endian) | 0 | the grain table's whole range is unallocated: zeros |
 * | | any other | the sector where a grain table starts |
 * | grain table (`numGTEsPerGT` entries of 4 bytes, little-endian) | 0 | unallocated grain: zeros |
 * | | 1, with flag bit 2 (zeroed-grain entries) | the grain reads as zeros |
 * | | any other | the sector where the grain starts |
 * | compressed grain (flag bit 16) | with markers (flag bit 17): 8-byte LBA, 4-byte compressed size, then a zlib stream | without: the zlib stream at the grain's sector |
 *
 * A stream file whose header says the grain directory is at the end (GD_AT_END) takes it
 * from the footer's copy of the header. Descriptor files (their extents are other files),
 * ESX sparse extents and delta disks of a parent are not read here.
 *
 * @module
 */
import { decodeGuestUnit, openGuestUnit } from './guest-units.js';
import { u32le } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import type { ByteReader, CompressedUnit, GuestDiskContext, GuestDiskMap, GuestDiskPiece, GuestDiskUnavailable } from '../../src/format-module.js';
import { VMDK4_SPARSE_HEADER_SIZE, decodeVmdk4SparseHeader } from '../generated/vmdk.js';
import type { VmdkDetails } from '../vmdk.js';
import { GuestPieceList, HostLayout, TablePages, type TableLocation, type TwoLevelTable, exactGuestSize, imageSizeOf, unavailable, walkTwoLevelTable } from './guest-map.js';

const SECTOR = 512;
const FLAG_REDUNDANT_GD = 1 << 1;
const FLAG_ZEROED_GRAIN = 1 << 2;
const FLAG_COMPRESSED = 1 << 16;
const FLAG_MARKERS = 1 << 17;
/** A grain table entry for a zeroed grain (VMDK_GTE_ZEROED). */
const GTE_ZEROED = 1;
/** A grain marker: the grain's LBA (8 bytes), then its compressed size (4 bytes). */
const GRAIN_MARKER_BYTES = 12;
/** The parent CID of a disk without a parent. */
const NO_PARENT_CID = 0xffffffff;
/** qemu refuses grain directories of more than 512 Mi entries ("L1 size too big"). */
export const VMDK_MAX_GRAIN_DIRECTORY_ENTRIES = (512 * 1024 * 1024) / 4;
/** qemu refuses grain tables of more than 512 entries ("L2 table size too big"). */
export const VMDK_MAX_GRAIN_TABLE_ENTRIES = 512;
/** qemu refuses grains above 0x200000 sectors (1 GiB: "Invalid granularity"). */
export const VMDK_MAX_GRAIN_SECTORS = 0x200000;
/** Grain markers kept per disk (12 bytes each), so that a grain read again costs no read. */
const MARKER_CACHE_ENTRIES = 4096;

/** The VMDK module's `guestDisk`. */
export async function vmdkGuestDisk(image: ByteReader, context: GuestDiskContext<VmdkDetails>): Promise<GuestDiskMap | GuestDiskUnavailable> {
  const { details } = context;
  if (details.layout === 'descriptor') {
    return unavailable(`a descriptor file (${details.createType ?? 'no createType'}): the disk's data is in its extent files, which are not read`);
  }
  if (details.layout !== 'sparse') return unavailable(`${details.layout === 'cowd' ? 'an ESX sparse (COWD)' : 'an ESXi SESparse'} extent, whose tables are not read here`);
  if (details.parentFileNameHint !== undefined || (details.parentCid !== undefined && details.parentCid !== NO_PARENT_CID)) {
    return unavailable(`a delta disk: its unallocated grains come from the parent "${details.parentFileNameHint ?? '(unnamed)'}", and parent images are not supported`);
  }
  const size = exactGuestSize(context.virtualSize);
  if (size === undefined) return unavailable('the disk is 2^53 bytes or larger');
  const header = decodeVmdk4SparseHeader(await image.read(0, VMDK4_SPARSE_HEADER_SIZE, 'sparse header'));
  const grainSectors = Number(header.grainSize);
  if (grainSectors < 1 || grainSectors > VMDK_MAX_GRAIN_SECTORS) throw fieldError('CORRUPT', 'sparse header.grainSize', `${header.grainSize} sectors is not a grain size qemu accepts (1 to ${VMDK_MAX_GRAIN_SECTORS})`);
  if (header.numGTEsPerGT < 1 || header.numGTEsPerGT > VMDK_MAX_GRAIN_TABLE_ENTRIES) {
    throw fieldError('CORRUPT', 'sparse header.numGTEsPerGT', `${header.numGTEsPerGT} entries per grain table (qemu accepts 1 to ${VMDK_MAX_GRAIN_TABLE_ENTRIES})`);
  }
  const footerGd = details.footer?.header?.gdOffset;
  const gdAtEnd = details.gdAtEnd === true;
  if (gdAtEnd && (footerGd === undefined || footerGd === 'atEnd')) throw fieldError('CORRUPT', 'footer.gdOffset', 'the grain directory is at the end, but the footer does not say where');
  const gdSector = gdAtEnd ? (footerGd as number) : Number(header.gdOffset);
  return new VmdkSparseMap(image, header.flags, grainSectors * SECTOR, header.numGTEsPerGT, gdSector * SECTOR, size, {
    descriptor: { offset: Number(header.descriptorOffset) * SECTOR, length: Number(header.descriptorSize) * SECTOR },
    redundantGd: (header.flags & FLAG_REDUNDANT_GD) !== 0 ? Number(header.rgdOffset) * SECTOR : undefined,
    footer: gdAtEnd,
  });
}

class VmdkSparseMap implements GuestDiskMap {
  /** Compressed clusters and grains, by qemu's rules for them (`guest-units.ts`). */
  readonly decode = decodeGuestUnit;
  /** Grains are zlib streams, decoded only as far as the guest reads into them (`guest-units.ts`). */
  readonly openUnit = openGuestUnit;

  private readonly gd: TableLocation;
  private readonly layout: HostLayout;
  private readonly tables: TablePages;
  /** The grain directory and the grain tables as the lookup walks them. */
  private readonly directoryAndTables: TwoLevelTable;
  private readonly compressed: boolean;
  private readonly markers = new Map<number, number>();

  constructor(
    private readonly image: ByteReader,
    private readonly flags: number,
    private readonly grainSize: number,
    private readonly gtEntries: number,
    gdOffset: number,
    readonly size: number,
    structures: { descriptor: { offset: number; length: number }; redundantGd: number | undefined; footer: boolean },
  ) {
    this.compressed = (flags & FLAG_COMPRESSED) !== 0;
    const gdEntries = Math.ceil(size / (gtEntries * grainSize));
    if (gdEntries > VMDK_MAX_GRAIN_DIRECTORY_ENTRIES) throw fieldError('LIMIT_EXCEEDED', 'sparse header.capacity', `${gdEntries} grain directory entries (qemu accepts up to ${VMDK_MAX_GRAIN_DIRECTORY_ENTRIES})`);
    this.gd = { name: 'grain directory', offset: gdOffset, length: gdEntries * 4 };
    const imageSize = imageSizeOf(image);
    this.layout = new HostLayout(imageSize).reserve('sparse header', 0, SECTOR).reserve('embedded descriptor', structures.descriptor.offset, structures.descriptor.length);
    if (structures.redundantGd !== undefined) this.layout.reserve('redundant grain directory', structures.redundantGd, this.gd.length);
    if (structures.footer) this.layout.reserve('footer', imageSize - 3 * SECTOR, 3 * SECTOR);
    if (this.gd.length > 0) this.layout.check(this.gd.offset, this.gd.length, 'sparse header.gdOffset');
    this.layout.reserve('grain directory', this.gd.offset, this.gd.length);
    this.tables = new TablePages(image);
    this.directoryAndTables = { unitSize: grainSize, entriesPerTable: gtEntries, entrySize: 4, pages: this.tables, secondLevel: (index, through) => this.grainTable(index, through) };
  }

  async lookup(offset: number, length: number): Promise<GuestDiskPiece[]> {
    const pieces = new GuestPieceList(offset);
    return walkTwoLevelTable(pieces, offset + length, this.directoryAndTables, async (gtEntry, grainStart, take) => {
      if (gtEntry === undefined) {
        pieces.zero(take);
        return;
      }
      const { bytes, index, table: gt } = gtEntry;
      const sector = u32le(bytes, 0, 'grain table entry');
      const field = `grain table entry ${index} of the table at ${gt.offset}`;
      if (sector === 0 || (sector === GTE_ZEROED && (this.flags & FLAG_ZEROED_GRAIN) !== 0)) {
        pieces.zero(take);
      } else if (this.compressed) {
        pieces.compressed(take, await this.grainUnit(sector * SECTOR, grainStart, gt, field));
      } else {
        const at = sector * SECTOR + (pieces.at - grainStart);
        this.layout.checkFrom(at, take, field, gt);
        pieces.data(take, at);
      }
    });
  }

  /** The grain table for directory entry `index`, checked; `undefined` where the entry is 0. `through`: the lookup's last directory entry. */
  private async grainTable(index: number, through: number): Promise<TableLocation | undefined> {
    const sector = u32le(await this.tables.entry(this.gd, index, 4, Math.min(through, this.gd.length / 4 - 1)), 0, 'grain directory entry');
    if (sector === 0) return undefined;
    const table: TableLocation = { name: 'grain table', offset: sector * SECTOR, length: this.gtEntries * 4 };
    this.layout.check(table.offset, table.length, `grain directory entry ${index}`);
    return table;
  }

  /** A compressed grain: its zlib stream after the grain marker (when the disk has markers). */
  private async grainUnit(at: number, grainStart: number, gt: TableLocation, field: string): Promise<CompressedUnit> {
    const length = Math.min(this.grainSize, this.size - grainStart);
    if ((this.flags & FLAG_MARKERS) === 0) {
      // qemu reads two grains' worth and lets zlib find the stream's end.
      this.layout.checkFrom(at, 1, field, gt);
      const available = Math.min(2 * this.grainSize, this.layout.imageSize - at);
      return { codec: 'zlib', at, compressedLength: available, offset: grainStart, length, maxLength: this.grainSize };
    }
    let compressedLength = this.markers.get(at);
    if (compressedLength === undefined) {
      this.layout.checkFrom(at, GRAIN_MARKER_BYTES, field, gt);
      compressedLength = u32le(await this.image.read(at + 8, 4, 'grain marker'), 0, 'grain marker.size');
      // qemu: the compressed size must be above 0 and within the two grains it reads.
      if (compressedLength === 0 || compressedLength + GRAIN_MARKER_BYTES > 2 * this.grainSize) {
        throw fieldError('CORRUPT', `grain marker at ${at}`, `a compressed size of ${compressedLength} bytes for a ${this.grainSize}-byte grain`);
      }
      if (this.markers.size >= MARKER_CACHE_ENTRIES) this.markers.clear();
      this.markers.set(at, compressedLength);
    }
    this.layout.checkFrom(at, GRAIN_MARKER_BYTES + compressedLength, field, gt);
    return { codec: 'zlib', at: at + GRAIN_MARKER_BYTES, compressedLength, offset: grainStart, length, maxLength: this.grainSize };
  }
}
