/**
 * FAT12, FAT16 and FAT32, read-only: the EFI system partition, config drives, boot
 * partitions of small devices (Microsoft's FAT specification, "Microsoft Extensible
 * Firmware Initiative FAT32 File System Specification", 2000).
 *
 * Layout, in sectors from the start of the volume: reserved sectors (the boot sector and
 * its BIOS parameter block first), the FATs, then on FAT12/16 a fixed root directory, then
 * the data area of clusters numbered from 2. Which FAT it is: a FAT32 layout has no fixed
 * root directory and a 32-bit FAT size (`BPB_FATSz16` = 0), as Linux and edk2 decide it;
 * otherwise FAT12 below 4085 clusters and FAT16 above, as the specification counts them.
 *
 * Identity as `blkid` reports it (libguestfs's `vfs_label`/`vfs_uuid` come from there):
 * `LABEL` is the root directory's volume-label entry (the boot sector's own label is only
 * `LABEL_FATBOOT`, here {@link FatFileSystem.bootLabel}); `UUID` is the volume serial
 * number as `XXXX-XXXX`, upper case.
 *
 * Extended boot sector fields:
 *
 * | offset (FAT12/16) | offset (FAT32) | size | field |
 * | --- | --- | --- | --- |
 * | - | 36 | 4 | FAT size in sectors (`BPB_FATSz32`) |
 * | - | 40 | 2 | flags: bit 7 set = only the FAT numbered in bits 0-3 is active |
 * | - | 44 | 4 | root directory's first cluster |
 * | 38 | 66 | 1 | extended boot signature `0x29` (serial and label follow; `0x28`: serial only) |
 * | 39 | 67 | 4 | volume serial number |
 * | 43 | 71 | 11 | volume label |
 *
 * @module
 */
import { fixedText, latin1Text, u16le, u32le } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader } from '../src/format-module.js';
import { recogniseBootSector } from '../formats/shared/boot-sector.js';
import { decodeFatBiosParameterBlock } from '../formats/generated/raw.js';
import type { DirectoryEntry, FileSystem, FileSystemContext, FileSystemInfo, FileSystemModule, NodeKind } from './file-system.js';
import {
  classifyEntry,
  FAT_DIRECTORY_ENTRY_SIZE,
  FatDirectoryParser,
  type FatDirectoryEntry,
  isDirectoryEntry,
  volumeLabelText,
} from './shared/fat-directory.js';
import { BlockCache, ExtentReader, type FileExtent } from './shared/fat-ntfs-file-reader.js';
import { foldCase } from './shared/fat-ntfs-names.js';
import { type StoppableWalk, firstPicked, takeUpTo } from './shared/walks.js';

/**
 * Largest directory read: 65536 entries of 32 bytes, the FAT specification's limit for a
 * directory (section 6). Bounds the work on a directory whose cluster chain never ends.
 */
export const MAX_FAT_DIRECTORY_BYTES = 65536 * FAT_DIRECTORY_ENTRY_SIZE;

/** Clusters of 64 KiB at most: the specification allows 32 KiB, and 64 KiB is the largest any system writes. */
export const MAX_FAT_CLUSTER_BYTES = 64 * 1024;

/** A node of a FAT volume: a directory entry's essentials, or the root directory. */
export interface FatNode {
  readonly kind: NodeKind;
  /** First cluster (0 for an empty file; for the root: 0 on FAT12/16, its cluster on FAT32). */
  readonly firstCluster: number;
  /** File size in bytes (0 for directories). */
  readonly size: number;
  /** The FAT12/16 root directory, which lives outside the cluster area. */
  readonly fixedRoot: boolean;
}

/** The volume's geometry, in bytes from the start of the volume. */
export interface FatGeometry {
  fatType: 'fat12' | 'fat16' | 'fat32';
  bytesPerSector: number;
  clusterSize: number;
  /** Where the FAT in use starts. */
  fatOffset: number;
  /** Bytes of one FAT. */
  fatBytes: number;
  /** FAT12/16: the fixed root directory. */
  rootDirectoryOffset: number;
  rootDirectoryBytes: number;
  /** FAT32: the root directory's first cluster. */
  rootCluster: number;
  /** Where cluster 2 starts. */
  dataOffset: number;
  /** The highest valid cluster number (clusters are numbered from 2). */
  lastCluster: number;
  /** Bytes the boot sector says the volume spans. */
  volumeBytes: number;
  /** The volume serial number, when the extended boot signature says there is one. */
  serialNumber: number | undefined;
  /** The boot sector's label, when there is one. */
  bootLabel: string | undefined;
}

/** Reads the geometry from the boot sector (the first 512 bytes); throws `CORRUPT` where it cannot describe a volume. */
export function fatGeometry(sector: Uint8Array): FatGeometry {
  const bpb = decodeFatBiosParameterBlock(sector);
  const field = 'fat boot sector';
  const { bytesPerSector, sectorsPerCluster, reservedSectors, numberOfFats, rootEntries } = bpb;
  if (![512, 1024, 2048, 4096].includes(bytesPerSector)) throw fieldError('CORRUPT', `${field}.bytesPerSector`, `${bytesPerSector} is not 512, 1024, 2048 or 4096`);
  const clusterSize = bytesPerSector * sectorsPerCluster;
  if (sectorsPerCluster === 0 || (sectorsPerCluster & (sectorsPerCluster - 1)) !== 0 || clusterSize > MAX_FAT_CLUSTER_BYTES) {
    throw fieldError('CORRUPT', `${field}.sectorsPerCluster`, `${sectorsPerCluster} sectors of ${bytesPerSector} bytes is not a valid cluster size`);
  }
  if (reservedSectors === 0) throw fieldError('CORRUPT', `${field}.reservedSectors`, 'no reserved sectors (the boot sector itself is one)');
  if (numberOfFats === 0) throw fieldError('CORRUPT', `${field}.numberOfFats`, 'no FAT');
  const fat32Layout = bpb.sectorsPerFat16 === 0;
  const sectorsPerFat = fat32Layout ? u32le(sector, 36, `${field}.sectorsPerFat32`) : bpb.sectorsPerFat16;
  if (sectorsPerFat === 0) throw fieldError('CORRUPT', `${field}.sectorsPerFat`, 'the FAT has no sectors');
  const totalSectors = bpb.totalSectors16 !== 0 ? bpb.totalSectors16 : bpb.totalSectors32;
  const rootDirectorySectors = Math.ceil((rootEntries * FAT_DIRECTORY_ENTRY_SIZE) / bytesPerSector);
  const dataSector = reservedSectors + numberOfFats * sectorsPerFat + rootDirectorySectors;
  if (totalSectors <= dataSector) {
    throw fieldError('CORRUPT', `${field}.totalSectors`, `${totalSectors} sectors leave no room for data after ${dataSector} sectors of metadata`);
  }
  const clusterCount = Math.floor((totalSectors - dataSector) / sectorsPerCluster);
  const fatType = fat32Layout ? 'fat32' : clusterCount < 4085 ? 'fat12' : 'fat16';
  if (fat32Layout && rootEntries !== 0) throw fieldError('CORRUPT', `${field}.rootEntries`, 'a FAT32 volume has no fixed root directory');
  if (!fat32Layout && rootEntries === 0) throw fieldError('CORRUPT', `${field}.rootEntries`, 'a FAT12/16 volume needs a root directory');
  // The FAT must have an entry for every cluster; clusters it cannot describe do not exist (as Linux clamps them).
  const bitsPerEntry = fatType === 'fat12' ? 12 : fatType === 'fat16' ? 16 : 32;
  const fatBytes = sectorsPerFat * bytesPerSector;
  const fatEntries = Math.floor((fatBytes * 8) / bitsPerEntry);
  const lastCluster = Math.min(clusterCount + 1, fatEntries - 1, fatType === 'fat32' ? 0x0ffffff6 : fatType === 'fat16' ? 0xfff6 : 0xff6);
  if (lastCluster < 2) throw fieldError('CORRUPT', `${field}.sectorsPerFat`, 'the FAT has no room for a single cluster');
  let activeFat = 0;
  let rootCluster = 0;
  if (fatType === 'fat32') {
    const flags = u16le(sector, 40, `${field}.extendedFlags`);
    if (flags & 0x80) activeFat = flags & 0x0f;
    if (activeFat >= numberOfFats) throw fieldError('CORRUPT', `${field}.extendedFlags`, `active FAT ${activeFat} of ${numberOfFats}`);
    rootCluster = u32le(sector, 44, `${field}.rootCluster`);
    if (rootCluster < 2 || rootCluster > lastCluster) throw fieldError('CORRUPT', `${field}.rootCluster`, `cluster ${rootCluster} is outside 2..${lastCluster}`);
  }
  const extended = fatType === 'fat32' ? 64 : 36;
  const signature = sector[extended + 2];
  const hasSerial = signature === 0x29 || signature === 0x28;
  const bootLabel = signature === 0x29 ? fixedText(sector.subarray(extended + 7, extended + 18), latin1Text) : undefined;
  return {
    fatType,
    bytesPerSector,
    clusterSize,
    fatOffset: (reservedSectors + activeFat * sectorsPerFat) * bytesPerSector,
    fatBytes,
    rootDirectoryOffset: (reservedSectors + numberOfFats * sectorsPerFat) * bytesPerSector,
    rootDirectoryBytes: rootEntries * FAT_DIRECTORY_ENTRY_SIZE,
    rootCluster,
    dataOffset: dataSector * bytesPerSector,
    lastCluster,
    volumeBytes: totalSectors * bytesPerSector,
    serialNumber: hasSerial ? u32le(sector, extended + 3, `${field}.volumeId`) : undefined,
    bootLabel: bootLabel === 'NO NAME' || bootLabel === '' ? undefined : bootLabel,
  };
}

/** `XXXX-XXXX`, as `blkid` prints a FAT volume serial. */
function serialText(serial: number): string {
  const hex = serial.toString(16).toUpperCase().padStart(8, '0');
  return `${hex.slice(0, 4)}-${hex.slice(4)}`;
}

/** An opened FAT volume. */
export class FatFileSystem implements FileSystem<FatNode> {
  readonly caseInsensitive = true;
  /** The boot sector's label (`blkid`'s `LABEL_FATBOOT`), unless it is `NO NAME`. */
  readonly bootLabel: string | undefined;
  private readonly fat: BlockCache;
  private readonly rootNode: FatNode;
  info: FileSystemInfo;

  constructor(
    private readonly volume: ByteReader,
    /** The volume's layout, from its boot sector. */
    readonly geometry: FatGeometry,
  ) {
    this.fat = new BlockCache(volume, geometry.bytesPerSector, 64);
    this.bootLabel = geometry.bootLabel;
    this.rootNode = {
      kind: 'directory',
      firstCluster: geometry.fatType === 'fat32' ? geometry.rootCluster : 0,
      size: 0,
      fixedRoot: geometry.fatType !== 'fat32',
    };
    this.info = { type: 'vfat', ...(geometry.serialNumber === undefined ? {} : { uuid: serialText(geometry.serialNumber) }) };
  }

  /** Reads the root directory's volume-label entry into `info.label` (done once, by {@link fatModule}'s `open`). */
  async readVolumeLabel(): Promise<void> {
    let label: string | undefined;
    await this.scanDirectory(this.rootNode, (entry) => {
      const kind = classifyEntry(entry);
      if (kind === 'end') return true;
      if (kind === 'volume-label' && ((entry[11] as number) & 0x10) === 0) {
        label = volumeLabelText(entry);
        return true;
      }
      return false;
    });
    if (label !== undefined && label !== '') this.info = { ...this.info, label };
  }

  async root(): Promise<FatNode> {
    return this.rootNode;
  }

  kind(node: FatNode): NodeKind {
    return node.kind;
  }

  size(node: FatNode): number {
    return node.kind === 'file' ? node.size : 0;
  }

  async lookup(directory: FatNode, name: string): Promise<FatNode | undefined> {
    const wanted = foldCase(name);
    // Folding keeps the length (one code unit for one), so lengths filter first.
    const matches = (candidate: string): boolean => candidate.length === name.length && foldCase(candidate) === wanted;
    return firstPicked(this.entriesOf(directory), (entry) => (matches(entry.name) || matches(entry.shortName) ? nodeOf(entry) : undefined));
  }

  async list(directory: FatNode, limit: number): Promise<DirectoryEntry[]> {
    return takeUpTo(this.entriesOf(directory), limit, (entry) => ({ name: entry.name, kind: nodeOf(entry).kind }));
  }

  async readLink(): Promise<string> {
    throw fieldError('UNSUPPORTED', 'fat', 'FAT has no symbolic links');
  }

  async readFile(file: FatNode, maxBytes: number): Promise<Uint8Array> {
    return this.openFile(file).read(0, Math.min(file.size, Math.max(0, maxBytes)), 'fat file');
  }

  openFile(file: FatNode): ByteReader {
    if (file.kind !== 'file') throw fieldError('INVALID_ARGUMENT', 'fat', 'not a file');
    const extents: FileExtent[] = [];
    const chain = this.chain(file.firstCluster, Math.ceil(file.size / this.geometry.clusterSize), 'fat file cluster chain');
    let end = 0;
    return new ExtentReader(this.volume, file.size, async (wanted) => {
      while (end < wanted) {
        const next = await chain.next();
        if (next.done) {
          throw fieldError('CORRUPT', 'fat file cluster chain', `the chain ends after ${end} bytes of a ${file.size}-byte file`);
        }
        const volumeOffset = this.clusterOffset(next.value);
        const last = extents[extents.length - 1];
        if (last !== undefined && last.volumeOffset !== undefined && last.volumeOffset + last.length === volumeOffset) last.length += this.geometry.clusterSize;
        else extents.push({ fileOffset: end, length: this.geometry.clusterSize, volumeOffset });
        end += this.geometry.clusterSize;
      }
      return extents;
    });
  }

  private clusterOffset(cluster: number): number {
    return this.geometry.dataOffset + (cluster - 2) * this.geometry.clusterSize;
  }

  /** The walk over the live entries of `directory`. */
  private entriesOf(directory: FatNode): StoppableWalk<[FatDirectoryEntry]> {
    return (visit) => this.entries(directory, visit);
  }

  /** Calls `visit` with each live entry of `directory` until it returns true. */
  private async entries(directory: FatNode, visit: (entry: FatDirectoryEntry) => boolean): Promise<void> {
    if (directory.kind !== 'directory') throw fieldError('INVALID_ARGUMENT', 'fat', 'not a directory');
    const parser = new FatDirectoryParser();
    await this.scanDirectory(directory, (bytes) => {
      const entry = parser.push(bytes);
      if (entry === 'end') return true;
      return entry !== undefined && visit(entry);
    });
  }

  /** Calls `visit` with each raw 32-byte entry of `directory`, in order, until it returns true or the directory ends. */
  private async scanDirectory(directory: FatNode, visit: (entry: Uint8Array) => boolean): Promise<void> {
    const { geometry } = this;
    const visitBlock = (block: Uint8Array): boolean => {
      for (let offset = 0; offset + FAT_DIRECTORY_ENTRY_SIZE <= block.byteLength; offset += FAT_DIRECTORY_ENTRY_SIZE) {
        if (visit(block.subarray(offset, offset + FAT_DIRECTORY_ENTRY_SIZE))) return true;
      }
      return false;
    };
    if (directory.fixedRoot) {
      // Read in pieces of a few sectors: lookups usually stop early.
      const step = Math.max(geometry.bytesPerSector, 4096);
      for (let offset = 0; offset < geometry.rootDirectoryBytes; offset += step) {
        const length = Math.min(step, geometry.rootDirectoryBytes - offset);
        if (visitBlock(await this.volume.read(geometry.rootDirectoryOffset + offset, length, 'fat root directory'))) return;
      }
      return;
    }
    if (directory.firstCluster < 2) throw fieldError('CORRUPT', 'fat directory', `a directory starting at cluster ${directory.firstCluster}`);
    const maxClusters = Math.ceil(MAX_FAT_DIRECTORY_BYTES / geometry.clusterSize);
    let clusters = 0;
    for await (const cluster of this.chain(directory.firstCluster, Number.POSITIVE_INFINITY, 'fat directory cluster chain')) {
      clusters += 1;
      if (clusters > maxClusters) throw fieldError('LIMIT_EXCEEDED', 'fat directory', `more than ${MAX_FAT_DIRECTORY_BYTES} bytes`);
      if (visitBlock(await this.volume.read(this.clusterOffset(cluster), geometry.clusterSize, 'fat directory cluster'))) return;
    }
  }

  /**
   * The clusters of a chain from `first`, at most `count` of them. Throws `CORRUPT` for a
   * cluster out of range, a free or bad cluster inside the chain, or a loop.
   */
  private async *chain(first: number, count: number, field: string): AsyncGenerator<number> {
    if (count <= 0) return;
    const { lastCluster } = this.geometry;
    const seen = new Set<number>();
    let cluster = first;
    for (let index = 0; index < count; index += 1) {
      if (cluster < 2 || cluster > lastCluster) throw fieldError('CORRUPT', field, `cluster ${cluster} is outside 2..${lastCluster}`);
      if (seen.has(cluster)) throw fieldError('CORRUPT', field, `the chain loops back to cluster ${cluster}`);
      seen.add(cluster);
      yield cluster;
      if (index + 1 === count) return;
      const next = await this.fatEntry(cluster);
      if (this.isEndOfChain(next)) return;
      if (next === 0) throw fieldError('CORRUPT', field, `cluster ${cluster} links to a free cluster`);
      cluster = next;
    }
  }

  private isEndOfChain(value: number): boolean {
    switch (this.geometry.fatType) {
      case 'fat12':
        return value >= 0xff8;
      case 'fat16':
        return value >= 0xfff8;
      default:
        return value >= 0x0ffffff8;
    }
  }

  /** The FAT's entry for `cluster` (28 bits on FAT32: the top 4 are reserved). */
  private async fatEntry(cluster: number): Promise<number> {
    const { fatOffset, fatType } = this.geometry;
    if (fatType === 'fat12') {
      const offset = cluster + (cluster >> 1);
      const pair = u16le(await this.fat.read(fatOffset + offset, 2, 'fat12 entry'), 0);
      return cluster & 1 ? pair >> 4 : pair & 0xfff;
    }
    if (fatType === 'fat16') return u16le(await this.fat.read(fatOffset + cluster * 2, 2, 'fat16 entry'), 0);
    return u32le(await this.fat.read(fatOffset + cluster * 4, 4, 'fat32 entry'), 0) & 0x0fffffff;
  }
}

function nodeOf(entry: FatDirectoryEntry): FatNode {
  const directory = isDirectoryEntry(entry);
  return { kind: directory ? 'directory' : 'file', firstCluster: entry.firstCluster, size: directory ? 0 : entry.size, fixedRoot: false };
}

/** The FAT driver: `info.type` is `vfat`, as libguestfs names it. */
export const fatModule: FileSystemModule = {
  name: 'fat',
  async probe(volume: ByteReader): Promise<boolean> {
    // The boot sector's BIOS parameter block must be plausible as a whole (no 0x55AA needed:
    // blkid does not require it either, and early DOS volumes lack it).
    return recogniseBootSector(await volume.readAvailable(0, 512, 'fat boot sector'))?.filesystem === 'fat';
  },
  async open(volume: ByteReader, context: FileSystemContext): Promise<FatFileSystem> {
    const sector = await volume.read(0, 512, 'fat boot sector');
    const geometry = fatGeometry(sector);
    if (volume.size !== undefined && volume.size < geometry.volumeBytes) {
      context.warn(`fat: the volume is ${volume.size} bytes, shorter than the ${geometry.volumeBytes} its boot sector declares`);
    }
    const fileSystem = new FatFileSystem(volume, geometry);
    await fileSystem.readVolumeLabel();
    return fileSystem;
  },
};
