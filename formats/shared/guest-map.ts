/**
 * What every format's guest-disk map shares (`formats/shared/*-guest.ts`): the piece list a
 * lookup builds, the checks every pointer read from a table goes through, and the small
 * cache of table pages.
 *
 * | helper | job |
 * | --- | --- |
 * | {@link GuestPieceList} | collects the pieces of one lookup in guest order, merging neighbours of the same kind (data contiguous in the image too) |
 * | {@link HostLayout} | the image's own structures (header, tables), which no table or data may overlap, and its end: a pointer past it is `CORRUPT` |
 * | {@link TablePages} | reads the table entries a lookup needs, keeping the last few thousand |
 * | {@link BlockMap} | the whole map of a disk cut into equal blocks by one flat table (VDI, VHD, VHDX) |
 * | {@link walkTwoLevelTable} | a lookup through two levels of tables (qcow2, VMDK) |
 *
 * @module
 */
import { fieldError } from '../../src/errors.js';
import type { ByteReader, CompressedUnit, GuestDiskContext, GuestDiskMap, GuestDiskPiece, GuestDiskUnavailable } from '../../src/format-module.js';

/** The pieces of one lookup, in guest order, built from its start. */
export class GuestPieceList {
  private readonly pieces: GuestDiskPiece[] = [];
  private position: number;

  /** @param start - the guest offset the lookup starts at */
  constructor(start: number) {
    this.position = start;
  }

  /** Where the next piece starts. */
  get at(): number {
    return this.position;
  }

  /** `length` bytes of the image from `at`. */
  data(length: number, at: number): void {
    const last = this.pieces[this.pieces.length - 1];
    if (last?.kind === 'data' && last.at + last.length === at) {
      this.pieces[this.pieces.length - 1] = { kind: 'data', offset: last.offset, length: last.length + length, at: last.at };
    } else {
      this.pieces.push({ kind: 'data', offset: this.position, length, at });
    }
    this.position += length;
  }

  /** `length` bytes of zeros. */
  zero(length: number): void {
    this.plain('zero', length);
  }

  /** `length` bytes from the backing image. */
  backing(length: number): void {
    this.plain('backing', length);
  }

  /** `length` bytes of a compressed unit (from the current position, which lies in the unit). */
  compressed(length: number, unit: CompressedUnit): void {
    const last = this.pieces[this.pieces.length - 1];
    if (last?.kind === 'compressed' && last.unit.at === unit.at && last.unit.offset === unit.offset) {
      this.pieces[this.pieces.length - 1] = { kind: 'compressed', offset: last.offset, length: last.length + length, unit: last.unit };
    } else {
      this.pieces.push({ kind: 'compressed', offset: this.position, length, unit });
    }
    this.position += length;
  }

  /**
   * Walks on to `end` one unit (a cluster, grain or block of `unitSize` bytes) at a time:
   * `visit` gets the unit's index, its first guest offset and how many bytes to add from
   * {@link at}, and adds exactly them. Returns the pieces.
   */
  async walk(end: number, unitSize: number, visit: (unit: number, unitStart: number, take: number) => Promise<void>): Promise<GuestDiskPiece[]> {
    while (this.position < end) {
      const unit = Math.floor(this.position / unitSize);
      const unitStart = unit * unitSize;
      const next = Math.min(end, unitStart + unitSize);
      await visit(unit, unitStart, next - this.position);
      // A visit that added too little would loop here for ever: a bug, said so.
      if (this.position !== next) throw fieldError('INTERNAL', 'guest disk map', `unit ${unit} added pieces up to ${this.position}, not ${next}`);
    }
    return this.pieces;
  }

  private plain(kind: 'zero' | 'backing', length: number): void {
    const last = this.pieces[this.pieces.length - 1];
    if (last?.kind === kind) {
      this.pieces[this.pieces.length - 1] = { kind, offset: last.offset, length: last.length + length };
    } else {
      this.pieces.push({ kind, offset: this.position, length });
    }
    this.position += length;
  }
}

/** One of the image's own structures. */
interface Region {
  readonly name: string;
  readonly offset: number;
  readonly end: number;
}

/**
 * Where the image's own structures are, and where the image ends: every table and every
 * piece of data a table points at is checked against them. A pointer into the header or
 * into a table (a table pointing at itself, a loop) is `CORRUPT`, and so is one at or past
 * the end of the image; one that starts inside the image and runs past its end is
 * `TRUNCATED`. qemu checks some of these (VHDX BAT entries against its regions and the file
 * end, QED offsets against the file end, qcow2 alignment) and reads zeros past the end
 * elsewhere; a guest disk read here never takes a damaged pointer for zeros.
 */
export class HostLayout {
  private readonly regions: Region[] = [];

  /** @param imageSize - the image's length in bytes */
  constructor(readonly imageSize: number) {}

  /** Declares `[offset, offset + length)` as the structure `name`. */
  reserve(name: string, offset: number, length: number): this {
    if (length > 0) this.regions.push({ name, offset, end: offset + length });
    return this;
  }

  /**
   * Checks a table or a piece of data at `[at, at + length)` that `field` points to:
   * inside the image and clear of its structures (but for `except`, the structure it is).
   */
  check(at: number, length: number, field: string, except?: string): void {
    if (!Number.isSafeInteger(at) || at < 0 || !Number.isSafeInteger(at + length)) {
      throw fieldError('CORRUPT', field, `points to ${at}, which is not a position in the image`);
    }
    if (at >= this.imageSize) {
      throw fieldError('CORRUPT', field, `points to ${at}, at or past the end of the image (${this.imageSize} bytes)`, at);
    }
    if (at + length > this.imageSize) {
      throw fieldError('TRUNCATED', field, `needs bytes ${at}..${at + length}, but the image ends at ${this.imageSize}`, at);
    }
    const end = at + length;
    for (const region of this.regions) {
      if (region.name !== except && at < region.end && region.offset < end) {
        throw fieldError('CORRUPT', field, `points to ${at}..${end}, which overlaps the ${region.name} (${region.offset}..${region.end})`, at);
      }
    }
  }

  /** Like {@link check}, and also clear of `table` (the table the pointer was read from). */
  checkFrom(at: number, length: number, field: string, table: { readonly name: string; readonly offset: number; readonly length: number }): void {
    this.check(at, length, field);
    if (at < table.offset + table.length && table.offset < at + length) {
      throw fieldError('CORRUPT', field, `points to ${at}..${at + length}, inside the ${table.name} it was read from (${table.offset}..${table.offset + table.length})`, at);
    }
  }
}

/**
 * The most table bytes {@link TablePages} reads at once: 64 KiB (a whole qcow2 L2 table at
 * the default cluster size). One guest read needs the entries of the units it covers, so
 * a lookup of more than 8192 qcow2 clusters (512 MiB) reads its entries in several steps.
 */
export const GUEST_TABLE_RUN_BYTES = 64 * 1024;

/**
 * How many table entries one map keeps: 64 Ki (512 KiB of 8-byte entries, a guest
 * disk of 4 GiB in 64 KiB clusters). A walk of a file system revisits the same few
 * entries; more would only hold memory.
 */
export const GUEST_TABLE_CACHE_ENTRIES = 64 * 1024;

/** A table in the image. */
export interface TableLocation {
  /** What it is, for errors (`L2 table`). */
  readonly name: string;
  /** Where it starts in the image. */
  readonly offset: number;
  /** Its length in bytes. */
  readonly length: number;
}

/**
 * Table entries, read only where a guest read needs them: a lookup's first missing entry
 * and the ones after it up to the last unit the lookup covers (`through`), in one read
 * (at most {@link GUEST_TABLE_RUN_BYTES}), each kept in a least-recently-used cache of
 * {@link GUEST_TABLE_CACHE_ENTRIES}. A file system reads a few blocks here and there, so
 * reading whole tables (a 64 KiB qcow2 L2 table for one 8-byte entry) would cost more
 * than the guest's own reads on a small image. The caller checks the table's place first
 * ({@link HostLayout.check}).
 */
export class TablePages {
  /** Entry bytes by their offset in the image, least recently used first. */
  private readonly entries = new Map<number, Uint8Array>();

  constructor(private readonly image: ByteReader) {}

  /**
   * The `entrySize` bytes of entry `index` of `table`; on a miss, entries `index..through`
   * (cut at the table's end) are read with it.
   */
  async entry(table: TableLocation, index: number, entrySize: number, through = index): Promise<Uint8Array> {
    const byte = index * entrySize;
    if (!Number.isSafeInteger(byte) || byte < 0 || byte + entrySize > table.length) {
      throw fieldError('INTERNAL', table.name, `entry ${index} lies outside the table (${table.length} bytes)`);
    }
    const offset = table.offset + byte;
    const cached = this.entries.get(offset);
    if (cached !== undefined && cached.byteLength === entrySize) {
      this.entries.delete(offset);
      this.entries.set(offset, cached);
      return cached;
    }
    const lastByte = Math.min(table.length, Math.max(byte, through * entrySize) + entrySize, byte + Math.max(entrySize, GUEST_TABLE_RUN_BYTES - (GUEST_TABLE_RUN_BYTES % entrySize)));
    const run = await this.image.read(offset, lastByte - byte, table.name);
    for (let start = 0; start + entrySize <= run.byteLength; start += entrySize) {
      const at = offset + start;
      if (start > 0 && this.entries.has(at)) continue;
      this.entries.delete(at);
      if (this.entries.size >= GUEST_TABLE_CACHE_ENTRIES) this.entries.delete(this.entries.keys().next().value as number);
      this.entries.set(at, run.subarray(start, start + entrySize));
    }
    return run.subarray(0, entrySize);
  }
}

/**
 * A map of two levels of tables (qcow2's L1 table and L2 tables, VMDK's grain directory
 * and grain tables): a top-level entry points to a table of `entriesPerTable` entries, one
 * per unit of `unitSize` bytes.
 */
export interface TwoLevelTable {
  /** Bytes per unit (a cluster, a grain). */
  readonly unitSize: number;
  /** Entries in one second-level table. */
  readonly entriesPerTable: number;
  /** Bytes per second-level entry. */
  readonly entrySize: number;
  /** Where the second-level entries are read from. */
  readonly pages: TablePages;
  /** The second-level table of top-level entry `index`, checked, or `undefined` where there is none; `through`: the lookup's last top-level index. */
  secondLevel(index: number, through: number): Promise<TableLocation | undefined>;
}

/** One unit's second-level entry: its bytes, its index in its table, and the table. */
export interface TwoLevelEntry {
  readonly bytes: Uint8Array;
  readonly index: number;
  readonly table: TableLocation;
}

/**
 * Walks `pieces` on to `end` through a {@link TwoLevelTable}: `visit` gets each unit's
 * entry (`undefined` where its second-level table is missing), the unit's first guest
 * offset and how many bytes to add ({@link GuestPieceList.walk}). The entries from the
 * first missing one up to the lookup's last unit are read together ({@link TablePages}).
 */
export async function walkTwoLevelTable(
  pieces: GuestPieceList,
  end: number,
  map: TwoLevelTable,
  visit: (entry: TwoLevelEntry | undefined, unitStart: number, take: number) => void | Promise<void>,
): Promise<GuestDiskPiece[]> {
  const { unitSize, entriesPerTable } = map;
  const lastUnit = Math.floor((end - 1) / unitSize);
  return pieces.walk(end, unitSize, async (unit, unitStart, take) => {
    const top = Math.floor(unit / entriesPerTable);
    const table = await map.secondLevel(top, Math.floor(lastUnit / entriesPerTable));
    if (table === undefined) return visit(undefined, unitStart, take);
    const index = unit % entriesPerTable;
    const bytes = await map.pages.entry(table, index, map.entrySize, Math.min(entriesPerTable - 1, lastUnit - top * entriesPerTable));
    return visit({ bytes, index, table }, unitStart, take);
  });
}

/** The answer for an image whose guest disk cannot be read here. */
export function unavailable(reason: string): GuestDiskUnavailable {
  return { unavailable: reason };
}

/** The guest disk's size from the virtual size, or `undefined` when it is not an exact byte count (2^53 and above). */
export function exactGuestSize(virtualSize: number): number | undefined {
  return Number.isSafeInteger(virtualSize) && virtualSize >= 0 ? virtualSize : undefined;
}

/** What a format's guest disk map is built from, once the disk's size is known to be exact. */
export type SizedGuestDiskOpener<Details> = (image: ByteReader, context: GuestDiskContext<Details>, size: number) => Promise<GuestDiskMap | GuestDiskUnavailable>;

/**
 * A module's `guestDisk` whose first check is the disk's size: a disk of 2^53 bytes or
 * more has no exact byte count and is unavailable; any other is handed to `open` with
 * its size.
 */
export function sizedGuestDisk<Details>(open: SizedGuestDiskOpener<Details>): (image: ByteReader, context: GuestDiskContext<Details>) => Promise<GuestDiskMap | GuestDiskUnavailable> {
  return async (image, context) => {
    const size = exactGuestSize(context.virtualSize);
    if (size === undefined) return unavailable('the disk is 2^53 bytes or larger');
    return open(image, context, size);
  };
}

/** The image's length: a reader in any order knows it from the start. */
export function imageSizeOf(image: ByteReader): number {
  const size = image.size;
  if (size === undefined) throw fieldError('INTERNAL', 'guest disk', 'the image reader does not know its size (a guest disk needs random access)');
  return size;
}

/**
 * Where one block of a block-mapped disk (VDI, VHD, VHDX) is: its bytes at `at` in the
 * image, or zeros. (Their differencing disks, whose blocks may be the parent's, are not read.)
 */
export type BlockPlace = { readonly kind: 'data'; readonly at: number } | { readonly kind: 'zero' };

/** What {@link BlockMap} needs from a format. */
export interface BlockTable {
  /** The guest disk's length in bytes. */
  readonly size: number;
  /** Bytes per block. */
  readonly blockSize: number;
  /** Where the image's own structures are. */
  readonly layout: HostLayout;
  /** Where block `index` is (its table entry, read and checked); `through`: the lookup's last block, whose entries may be read with it. */
  place(index: number, through: number): Promise<BlockPlace>;
  /** The entry's name, for errors (`block map entry 12`). */
  entryName(index: number): string;
}

/**
 * The guest disk of a format with one flat table of equal blocks (VDI's block map, VHD's
 * and VHDX's block allocation tables): each block is data somewhere in the image or zeros.
 * Every data range read is checked against the image's end and
 * its own structures ({@link HostLayout.check}).
 */
export class BlockMap implements GuestDiskMap {
  readonly size: number;

  constructor(private readonly table: BlockTable) {
    this.size = table.size;
  }

  async lookup(offset: number, length: number): Promise<GuestDiskPiece[]> {
    const pieces = new GuestPieceList(offset);
    const lastBlock = Math.floor((offset + length - 1) / this.table.blockSize);
    return pieces.walk(offset + length, this.table.blockSize, async (index, blockStart, take) => {
      const place = await this.table.place(index, lastBlock);
      if (place.kind === 'zero') pieces.zero(take);
      else {
        const at = place.at + (pieces.at - blockStart);
        this.table.layout.check(at, take, this.table.entryName(index));
        pieces.data(take, at);
      }
    });
  }
}

/**
 * The guest disk of an image that holds it whole and in order from `start` (raw, a fixed
 * VHD): one `data` piece per lookup. The disk must lie inside the image.
 */
export function flatGuestDisk(image: ByteReader, size: number, start = 0): GuestDiskMap {
  const layout = new HostLayout(imageSizeOf(image));
  if (size > 0) layout.check(start, size, 'guest disk');
  return {
    size,
    async lookup(offset, length) {
      return length > 0 ? [{ kind: 'data', offset, length, at: start + offset }] : [];
    },
  };
}

/** The raw module's `guestDisk`: the image is the guest's disk, byte for byte. */
export const rawGuestDisk = sizedGuestDisk<unknown>(async (image, _context, size) => flatGuestDisk(image, size));
