/**
 * The guest disk of a qcow2 image: its two-level table, read as qemu 7.2 reads it
 * (block/qcow2-cluster.c `qcow2_get_host_offset`, `qcow2_get_subcluster_type`; the qcow2
 * specification, "Cluster mapping").
 *
 * | structure | entry | meaning |
 * | --- | --- | --- |
 * | L1 table (`l1TableOffset`, `l1Size` entries of 8 bytes) | bits 9-55 | the L2 table's offset (0: the L2 table's whole range is unallocated) |
 * | L2 table (one cluster; 8-byte entries, 16 with extended L2) | bit 62 | compressed cluster: bits 0..x-1 its offset, bits x..61 the extra 512-byte sectors it spans, x = 62 - (cluster_bits - 8) |
 * | | bit 0 (not with extended L2) | reads as zeros (version 3 only: qemu calls it corruption in a version 2 image) |
 * | | bits 9-55 | the data cluster's offset (0: unallocated) |
 * | extended L2, bytes 8-15 (a big-endian 64-bit bitmap) | bits 0-31 / 32-63 | subcluster allocated / reads as zeros, one bit per 1/32 of the cluster; both set is invalid |
 *
 * Unallocated clusters read from the backing file when the image names one, else zeros.
 * Compressed clusters decode to a whole cluster with raw deflate (compression type zlib)
 * or zstd.
 *
 * @module
 */
import { decodeGuestUnit } from './guest-units.js';
import { u32be, u64be } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import type { ByteReader, CompressedUnit, GuestDiskContext, GuestDiskMap, GuestDiskPiece, GuestDiskUnavailable } from '../../src/format-module.js';
import type { Qcow2Details } from '../qcow2.js';
import { GuestPieceList, HostLayout, TablePages, type TableLocation, type TwoLevelTable, exactGuestSize, imageSizeOf, unavailable, walkTwoLevelTable } from './guest-map.js';

const SECTOR = 512;
/** Bits 9-55 of an L1 or standard L2 entry: an offset (L1E_OFFSET_MASK, L2E_OFFSET_MASK). */
const OFFSET_MASK = 0x00fffffffffffe00n;
const COMPRESSED = 1n << 62n;
const READS_AS_ZERO = 1n;
/** Incompatible feature bits that change where the data is: 2 external data file; the others qemu 7.2 knows. */
const INCOMPATIBLE_DATA_FILE = 4n;
const SUBCLUSTERS = 32;

/** The qcow2 module's `guestDisk`. */
export async function qcow2GuestDisk(image: ByteReader, context: GuestDiskContext<Qcow2Details>): Promise<GuestDiskMap | GuestDiskUnavailable> {
  const { details } = context;
  if (details.encryption !== 'none') return unavailable(`the guest's data is encrypted (${details.encryption}); reading it needs the key`);
  const incompatible = BigInt(details.incompatibleFeatures.mask);
  if (details.dataFile !== undefined || (incompatible & INCOMPATIBLE_DATA_FILE) !== 0n) {
    return unavailable(`the guest's data is kept in an external data file${details.dataFile === undefined ? '' : ` ("${details.dataFile}")`}, which is not read`);
  }
  if (BigInt(details.incompatibleFeatures.unknown) !== 0n) {
    return unavailable(`unknown incompatible feature bits ${details.incompatibleFeatures.unknown} may change how the data is laid out`);
  }
  const virtualSize = exactGuestSize(context.virtualSize);
  if (virtualSize === undefined) return unavailable('the disk is 2^53 bytes or larger');
  return new Qcow2Map(image, details, Math.floor(virtualSize / SECTOR) * SECTOR);
}

class Qcow2Map implements GuestDiskMap {
  /** Compressed clusters and grains, by qemu's rules for them (`guest-units.ts`). */
  readonly decode = decodeGuestUnit;

  readonly backingFile: string | undefined;
  private readonly clusterSize: number;
  private readonly clusterBits: number;
  private readonly entrySize: number;
  private readonly l2Entries: number;
  private readonly l1: TableLocation;
  private readonly layout: HostLayout;
  private readonly tables: TablePages;
  /** The L1 table and the L2 tables as the lookup walks them. */
  private readonly l1AndL2: TwoLevelTable;
  private readonly codec: CompressedUnit['codec'];

  constructor(
    image: ByteReader,
    private readonly details: Qcow2Details,
    readonly size: number,
  ) {
    this.backingFile = details.backingFile;
    this.clusterSize = details.clusterSize;
    this.clusterBits = Math.log2(details.clusterSize);
    this.entrySize = details.extendedL2 ? 16 : 8;
    this.l2Entries = this.clusterSize / this.entrySize;
    this.codec = details.compressionType === 'zstd' ? 'zstd' : 'deflate-raw';
    this.l1 = { name: 'L1 table', offset: details.l1TableOffset, length: details.l1Size * 8 };
    this.layout = new HostLayout(imageSizeOf(image))
      .reserve('header cluster', 0, this.clusterSize)
      .reserve('L1 table', this.l1.offset, this.l1.length)
      .reserve('refcount table', details.refcountTableOffset, details.refcountTableClusters * this.clusterSize);
    if (this.l1.length > 0) this.layout.check(this.l1.offset, this.l1.length, 'header.l1TableOffset', 'L1 table');
    this.tables = new TablePages(image);
    this.l1AndL2 = { unitSize: this.clusterSize, entriesPerTable: this.l2Entries, entrySize: this.entrySize, pages: this.tables, secondLevel: (index, through) => this.l2Table(index, through) };
  }

  async lookup(offset: number, length: number): Promise<GuestDiskPiece[]> {
    const pieces = new GuestPieceList(offset);
    return walkTwoLevelTable(pieces, offset + length, this.l1AndL2, (l2Entry, clusterStart, take) => {
      if (l2Entry === undefined) {
        this.unallocated(pieces, take);
        return;
      }
      const { bytes: entryBytes, index, table: l2 } = l2Entry;
      const entry = u64be(entryBytes, 0, 'L2 entry');
      const field = `L2 entry ${index} of the table at ${l2.offset}`;
      const inCluster = pieces.at - clusterStart;
      if ((entry & COMPRESSED) !== 0n) {
        pieces.compressed(take, this.compressedUnit(entry, clusterStart, field));
      } else if (this.details.extendedL2) {
        this.subclusters(pieces, entry, entryBytes, inCluster, take, l2, field);
      } else {
        this.standard(pieces, entry, inCluster, take, l2, field);
      }
    });
  }

  /**
   * The L2 table for L1 index `index`, checked; `undefined` where the L1 entry is 0 or past
   * the table (qemu: unallocated). `through`: the lookup's last L1 index.
   */
  private async l2Table(index: number, through: number): Promise<TableLocation | undefined> {
    if (index >= this.details.l1Size) return undefined;
    const entry = u64be(await this.tables.entry(this.l1, index, 8, Math.min(through, this.details.l1Size - 1)), 0, 'L1 entry');
    const offset = Number(entry & OFFSET_MASK);
    if (offset === 0) return undefined;
    const field = `L1 entry ${index}`;
    if (offset % this.clusterSize !== 0) {
      // qemu: "L2 table offset %#x unaligned (L1 index: %#x)".
      throw fieldError('CORRUPT', field, `the L2 table offset ${offset} is not cluster-aligned`);
    }
    this.layout.check(offset, this.clusterSize, field);
    return { name: 'L2 table', offset, length: this.clusterSize };
  }

  private unallocated(pieces: GuestPieceList, length: number): void {
    if (this.backingFile === undefined) pieces.zero(length);
    else pieces.backing(length);
  }

  private compressedUnit(entry: bigint, clusterStart: number, field: string): CompressedUnit {
    // qemu qcow2_parse_compressed_l2_entry: the offset's bits, then the sector count minus one.
    const shift = 62n - BigInt(this.clusterBits - 8);
    const at = Number(entry & ((1n << shift) - 1n));
    const sectors = Number((entry >> shift) & ((1n << BigInt(this.clusterBits - 8)) - 1n)) + 1;
    // The compressed bytes may run past the end of the file (read as zeros), but must start in it.
    this.layout.check(at, 1, field);
    return { codec: this.codec, at, compressedLength: sectors * SECTOR - (at % SECTOR), offset: clusterStart, length: this.clusterSize };
  }

  private standard(pieces: GuestPieceList, entry: bigint, inCluster: number, take: number, l2: TableLocation, field: string): void {
    const host = Number(entry & OFFSET_MASK);
    if ((entry & READS_AS_ZERO) !== 0n) {
      if (this.details.version < 3) {
        // qemu: "Zero cluster entry found in pre-v3 image".
        throw fieldError('CORRUPT', field, 'a zero cluster in a version 2 image');
      }
      if (host !== 0) this.checkAligned(host, field);
      pieces.zero(take);
      return;
    }
    if (host === 0) {
      this.unallocated(pieces, take);
      return;
    }
    this.checkAligned(host, field);
    this.layout.checkFrom(host + inCluster, take, field, l2);
    pieces.data(take, host + inCluster);
  }

  private subclusters(pieces: GuestPieceList, entry: bigint, entryBytes: Uint8Array, inCluster: number, take: number, l2: TableLocation, field: string): void {
    const host = Number(entry & OFFSET_MASK);
    // The bitmap is one big-endian 64-bit word: allocation in its low half, zeros in its high half.
    const zeros = u32be(entryBytes, 8, 'L2 entry bitmap');
    const allocated = u32be(entryBytes, 12, 'L2 entry bitmap');
    if (host === 0 ? allocated !== 0 : (zeros & allocated) !== 0) {
      throw fieldError('CORRUPT', field, `an invalid subcluster bitmap (allocated 0x${allocated.toString(16)}, zero 0x${zeros.toString(16)})`);
    }
    if (host !== 0) this.checkAligned(host, field);
    const subclusterSize = this.clusterSize / SUBCLUSTERS;
    let position = inCluster;
    const end = inCluster + take;
    while (position < end) {
      const subcluster = Math.floor(position / subclusterSize);
      const length = Math.min(end, (subcluster + 1) * subclusterSize) - position;
      const bit = 1 << subcluster;
      if ((zeros & bit) !== 0) {
        pieces.zero(length);
      } else if ((allocated & bit) !== 0) {
        this.layout.checkFrom(host + position, length, field, l2);
        pieces.data(length, host + position);
      } else {
        this.unallocated(pieces, length);
      }
      position += length;
    }
  }

  private checkAligned(host: number, field: string): void {
    if (host % this.clusterSize !== 0) {
      // qemu: "Cluster allocation offset %#x unaligned (L2 offset: %#x, L2 index: %#x)".
      throw fieldError('CORRUPT', field, `the cluster offset ${host} is not cluster-aligned`);
    }
  }
}
