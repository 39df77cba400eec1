/**
 * NTFS, read-only: enough to find and read files on a Windows system volume (the registry
 * hives, `System32\cmd.exe`), reading only the records and clusters on the way.
 *
 * What it reads: the boot sector; MFT records with their update sequence checked; resident
 * and non-resident attributes; data runs (holes read as zeros, bytes past the initialized
 * size too); `$ATTRIBUTE_LIST` and attributes spread over extension records, including the
 * MFT's own `$DATA`; directory indexes (`$INDEX_ROOT` and `$INDEX_ALLOCATION` B+ trees,
 * compared through the volume's `$UpCase`); reparse points (symbolic links and junctions,
 * see `shared/ntfs-reparse.ts` for how targets map to paths); LZNT1-compressed attributes.
 *
 * What it refuses, with `UNSUPPORTED`: encrypted files (EFS: the key is not on the volume in
 * clear), Windows Overlay Filter files (`CompactOS` XPRESS/LZX compression, whose data is in
 * a named stream behind a reparse point) and deduplicated files (their data is in the
 * chunk store of `System Volume Information`).
 *
 * Identity as `blkid` reports it: the label is `$Volume`'s `$VOLUME_NAME`, the UUID the
 * 64-bit serial number as 16 upper-case hexadecimal digits.
 *
 * Listings leave out the metadata files (records below 16: `$MFT`, `$Bitmap`, ... and the
 * root's `.`), as ntfs-3g does; lookups still find them. Names are the Win32 (or POSIX) ones;
 * a DOS 8.3 alias is not listed but is found by lookup, as on Windows.
 *
 * @module
 */
import { latin1Text, u16le, u32le, u8, utf16leText } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader } from '../src/format-module.js';
import type { DirectoryEntry, FileSystem, FileSystemContext, FileSystemInfo, FileSystemModule, NodeKind } from './file-system.js';
import { ExtentReader, FileContentReader, type FileExtent, MemoryFileReader, overlapping } from './shared/fat-ntfs-file-reader.js';
import { isNtfsBootSector, type NtfsGeometry, ntfsGeometry } from './shared/ntfs-boot.js';
import { findInIndex, type IndexEntry, type IndexNode, NeedsUpcaseTable, parseIndexNode, parseIndexRoot, walkIndex } from './shared/ntfs-index.js';
import { decompressLznt1 } from './shared/ntfs-lznt1.js';
import {
  AttributeFlag,
  AttributeType,
  applyFixups,
  type DataRun,
  FileAttribute,
  fileReference,
  type MftRecord,
  type NonResidentAttribute,
  type NtfsAttribute,
  parseMftRecord,
  RecordFlag,
} from './shared/ntfs-record.js';
import { isLinkTag, MAX_REPARSE_DATA_BYTES, type ReparsePoint, ReparseTag, parseReparsePoint } from './shared/ntfs-reparse.js';
import { takeUpTo } from './shared/walks.js';

/** Largest `$ATTRIBUTE_LIST` read: 256 KiB, the most NTFS lets it grow to. */
export const MAX_NTFS_ATTRIBUTE_LIST_BYTES = 256 * 1024;
/** Most extension records gathered for one file (each attribute-list entry is at least 32 bytes: 8192 fit the largest list). */
export const MAX_NTFS_EXTENSION_RECORDS = 8192;
/** `$UpCase` is one 16-bit entry for each UTF-16 code unit: 128 KiB. */
export const MAX_NTFS_UPCASE_BYTES = 128 * 1024;
/** Largest compression unit decoded: 1 MiB (Windows writes 16 clusters of at most 4 KiB, 64 KiB). */
export const MAX_NTFS_COMPRESSION_UNIT_BYTES = 1024 * 1024;

/** Well-known MFT record numbers. */
const MftRecordNumber = { mft: 0, volume: 3, root: 5, upcase: 10, firstUser: 16 } as const;
/** Decoded MFT records kept (each holds its attributes' small values). */
const RECORD_CACHE_SIZE = 256;

/** A node of an NTFS volume: an MFT record (base record) and what it is. */
export interface NtfsNode {
  readonly record: number;
  readonly kind: NodeKind;
  readonly size: number;
}

/** A file's base record with the attributes of its extension records merged in. */
interface NtfsFile {
  record: number;
  sequence: number;
  flags: number;
  attributes: NtfsAttribute[];
  reparse: ReparsePoint | undefined;
  /** An Interix (Services for Unix, ntfs-3g) special file: a symbolic link's target, or `device` for the other kinds. */
  interix: { link: string } | 'device' | undefined;
}

/**
 * Largest Interix special file read: the 8-byte magic and a `PATH_MAX` target in UTF-16.
 * Interix files (Services for Unix, ntfs-3g's `ln -s`) are files with the system attribute
 * whose data starts with a magic; `IntxLNK\x01` is followed by the link target in UTF-16LE.
 */
export const MAX_NTFS_INTERIX_BYTES = 8 + 2 * 4096;
const FILE_ATTRIBUTE_SYSTEM = 0x04;

function findAttribute(file: NtfsFile, type: number, name = ''): NtfsAttribute | undefined {
  return file.attributes.find((attribute) => attribute.type === type && attribute.name === name);
}

/** An opened NTFS volume. */
export class NtfsFileSystem implements FileSystem<NtfsNode> {
  readonly caseInsensitive = true;
  info: FileSystemInfo;
  /** The NTFS version from `$VOLUME_INFORMATION`, e.g. `3.1`. */
  version: string | undefined;
  private mft: ByteReader;
  private mftRecords: number;
  private readonly files = new Map<number, NtfsFile>();
  private upcase: Uint16Array | undefined;

  private constructor(
    private readonly volume: ByteReader,
    /** The volume's layout, from its boot sector. */
    readonly geometry: NtfsGeometry,
    private readonly context: FileSystemContext,
  ) {
    this.info = { type: 'ntfs', uuid: geometry.serialNumber };
    // Until $MFT's own record is read, the MFT is known to start at the boot sector's cluster.
    this.mft = new ExtentReader(volume, geometry.recordSize, async () => [{ fileOffset: 0, length: geometry.recordSize, volumeOffset: geometry.mftCluster * geometry.clusterSize }]);
    this.mftRecords = 1;
  }

  /** Opens the volume: the boot sector, the MFT's own record, `$Volume`. */
  static async open(volume: ByteReader, context: FileSystemContext): Promise<NtfsFileSystem> {
    const geometry = ntfsGeometry(await volume.read(0, 512, 'ntfs boot sector'));
    if (volume.size !== undefined && volume.size < geometry.volumeBytes) {
      context.warn(`ntfs: the volume is ${volume.size} bytes, shorter than the ${geometry.volumeBytes} its boot sector declares`);
    }
    const fs = new NtfsFileSystem(volume, geometry, context);
    await fs.openMft();
    await fs.readVolumeInformation();
    return fs;
  }

  /** Reads `$MFT`'s record: its first `$DATA` extent maps the records its attribute list needs, and then the whole MFT. */
  private async openMft(): Promise<void> {
    const base = await this.readRecord(MftRecordNumber.mft);
    const firstExtent = base.attributes.find(
      (attribute): attribute is NonResidentAttribute => attribute.type === AttributeType.data && attribute.name === '' && !attribute.resident && attribute.lowestVcn === 0,
    );
    if (firstExtent === undefined) throw fieldError('CORRUPT', 'ntfs $MFT', 'the MFT has no non-resident $DATA');
    this.useMftData(firstExtent, firstExtent.runs);
    const file = await this.loadFileFrom(MftRecordNumber.mft, base);
    const data = findAttribute(file, AttributeType.data);
    if (data === undefined || data.resident) throw fieldError('CORRUPT', 'ntfs $MFT', 'the MFT has no non-resident $DATA');
    this.useMftData(data, data.runs);
    this.files.clear();
  }

  private useMftData(attribute: NonResidentAttribute, runs: readonly DataRun[]): void {
    const { clusterSize, recordSize } = this.geometry;
    const extents = runExtents(runs, clusterSize);
    this.mft = new ExtentReader(this.volume, attribute.dataSize, async () => extents, attribute.initializedSize);
    this.mftRecords = Math.floor(attribute.dataSize / recordSize);
  }

  /** `$Volume`: the label (`$VOLUME_NAME`) and the NTFS version and dirty flag (`$VOLUME_INFORMATION`). */
  private async readVolumeInformation(): Promise<void> {
    const file = await this.loadFile(MftRecordNumber.volume);
    const name = findAttribute(file, AttributeType.volumeName);
    if (name?.resident && name.value.byteLength > 0) {
      this.info = { ...this.info, label: utf16leText(name.value) };
    }
    const information = findAttribute(file, AttributeType.volumeInformation);
    if (information?.resident && information.value.byteLength >= 12) {
      this.version = `${u8(information.value, 8)}.${u8(information.value, 9)}`;
      if (u16le(information.value, 10) & 0x0001) this.context.warn('ntfs: the volume is marked dirty (not cleanly unmounted); its metadata may be stale');
    }
  }

  async root(): Promise<NtfsNode> {
    return this.nodeOf(await this.loadFile(MftRecordNumber.root));
  }

  kind(node: NtfsNode): NodeKind {
    return node.kind;
  }

  size(node: NtfsNode): number {
    return node.size;
  }

  async lookup(directory: NtfsNode, name: string): Promise<NtfsNode | undefined> {
    const file = await this.directoryFile(directory);
    const { root, readBlock } = await this.directoryIndex(file);
    const field = `ntfs directory ${file.record} index`;
    let entry: IndexEntry | undefined;
    try {
      // ASCII comparisons need no table; the volume's $UpCase (128 KiB) is read the first time a non-ASCII character decides.
      entry = await findInIndex(root, name, this.upcase, readBlock, field);
    } catch (error) {
      if (!(error instanceof NeedsUpcaseTable)) throw error;
      entry = await findInIndex(root, name, await this.upcaseTable(), readBlock, field);
    }
    if (entry === undefined) return undefined;
    return this.nodeOf(await this.loadFile(entry.file.record, entry.file.sequence));
  }

  async list(directory: NtfsNode, limit: number): Promise<DirectoryEntry[]> {
    if (limit <= 0) return [];
    const file = await this.directoryFile(directory);
    const { root, readBlock } = await this.directoryIndex(file);
    const entries = await takeUpTo(
      (visit) => walkIndex(root, readBlock, visit, `ntfs directory ${file.record} index`),
      limit,
      // DOS aliases have a Win32 twin; metadata files stay hidden (ntfs-3g does the same).
      (entry: IndexEntry) => (entry.key.namespace === 2 || entry.file.record < MftRecordNumber.firstUser ? undefined : entry),
    );
    const listed: DirectoryEntry[] = [];
    for (const entry of entries) {
      const { fileAttributes, reparseTag } = entry.key;
      // The index's copy of the attributes tells links and directories apart; only small
      // system files (possible Interix links) need their record read.
      const maybeInterix = fileAttributes & FILE_ATTRIBUTE_SYSTEM && !(fileAttributes & (FileAttribute.directory | FileAttribute.reparsePoint));
      const kind = maybeInterix ? this.nodeOf(await this.loadFile(entry.file.record, entry.file.sequence)).kind : kindFromIndexKey(fileAttributes, reparseTag);
      listed.push({ name: entry.key.name, kind });
    }
    return listed;
  }

  async readLink(link: NtfsNode): Promise<string> {
    const file = await this.loadFile(link.record);
    if (file.interix !== undefined && file.interix !== 'device') return file.interix.link;
    const reparse = file.reparse;
    if (reparse === undefined || reparse.kind === 'other') throw fieldError('INVALID_ARGUMENT', 'ntfs', `record ${link.record} is not a link`);
    if (reparse.kind === 'off-volume-link') {
      throw fieldError('UNSUPPORTED', `ntfs record ${link.record} reparse point`, `the link points off this volume (${reparse.target})`);
    }
    return reparse.target;
  }

  async readFile(file: NtfsNode, maxBytes: number): Promise<Uint8Array> {
    const reader = await this.openData(file);
    return reader.read(0, Math.min(reader.size ?? 0, Math.max(0, maxBytes)), `ntfs record ${file.record} $DATA`);
  }

  /**
   * A reader over a file's unnamed `$DATA`, reading on demand (the contract's `openFile` is
   * synchronous: this reader opens the attribute on its first read).
   */
  openFile(file: NtfsNode): ByteReader {
    return new DeferredReader(file.size, this.volume, () => this.openData(file));
  }

  /** A reader over the unnamed `$DATA` of a file; `UNSUPPORTED` for encrypted, WOF-compressed and deduplicated files. */
  async openData(node: NtfsNode): Promise<ByteReader> {
    if (node.kind !== 'file') throw fieldError('INVALID_ARGUMENT', 'ntfs', `record ${node.record} is not a file`);
    const file = await this.loadFile(node.record);
    const field = `ntfs record ${file.record} $DATA`;
    if (file.reparse?.tag === ReparseTag.windowsOverlayFilter) {
      throw fieldError('UNSUPPORTED', field, 'the file is compressed by the Windows Overlay Filter (CompactOS), which this driver does not decode');
    }
    if (file.reparse?.tag === ReparseTag.dedup) throw fieldError('UNSUPPORTED', field, "the file is deduplicated: its data is in the volume's chunk store");
    const data = findAttribute(file, AttributeType.data);
    if (data === undefined) return new MemoryFileReader(new Uint8Array(0), this.volume);
    return this.attributeReader(data, field);
  }

  private attributeReader(attribute: NtfsAttribute, field: string): ByteReader {
    if (attribute.flags & AttributeFlag.encrypted) throw fieldError('UNSUPPORTED', field, 'the file is encrypted (EFS)');
    if (attribute.resident) return new MemoryFileReader(attribute.value, this.volume);
    const { clusterSize } = this.geometry;
    if (attribute.flags & AttributeFlag.compressionMask) {
      if (attribute.compressionUnit === 0) throw fieldError('CORRUPT', field, 'compressed, with no compression unit');
      const unitBytes = 2 ** attribute.compressionUnit * clusterSize;
      if (attribute.compressionUnit > 16 || unitBytes > MAX_NTFS_COMPRESSION_UNIT_BYTES) {
        throw fieldError('UNSUPPORTED', field, `compression units of ${2 ** attribute.compressionUnit} clusters`);
      }
      return new CompressedAttributeReader(this.volume, attribute, clusterSize, unitBytes, field);
    }
    const extents = runExtents(attribute.runs, clusterSize);
    return new ExtentReader(this.volume, attribute.dataSize, async () => extents, Math.min(attribute.initializedSize, attribute.dataSize));
  }

  private nodeOf(file: NtfsFile): NtfsNode {
    let kind: NodeKind;
    let size = 0;
    if (file.reparse !== undefined && isLinkTag(file.reparse.tag)) {
      kind = 'symlink';
      size = file.reparse.kind === 'other' ? 0 : new TextEncoder().encode(file.reparse.target).byteLength;
    } else if (file.interix !== undefined) {
      kind = file.interix === 'device' ? 'other' : 'symlink';
      size = file.interix === 'device' ? 0 : new TextEncoder().encode(file.interix.link).byteLength;
    } else if (file.flags & RecordFlag.directory) {
      kind = 'directory';
    } else if (findAttribute(file, AttributeType.indexRoot) !== undefined && findAttribute(file, AttributeType.data) === undefined) {
      // A view index ($Secure, $ObjId, ...): neither a directory of names nor a file.
      kind = 'other';
    } else {
      kind = 'file';
      const data = findAttribute(file, AttributeType.data);
      size = data === undefined ? 0 : data.resident ? data.value.byteLength : data.dataSize;
    }
    return { record: file.record, kind, size };
  }

  private async directoryFile(directory: NtfsNode): Promise<NtfsFile> {
    if (directory.kind !== 'directory') throw fieldError('INVALID_ARGUMENT', 'ntfs', `record ${directory.record} is not a directory`);
    return this.loadFile(directory.record);
  }

  /** The root node of a directory's `$I30` index and a reader for its other blocks. */
  private async directoryIndex(file: NtfsFile): Promise<{ root: IndexNode; readBlock: (vcn: number) => Promise<IndexNode> }> {
    const field = `ntfs directory ${file.record} index`;
    const rootAttribute = findAttribute(file, AttributeType.indexRoot, '$I30');
    if (rootAttribute === undefined || !rootAttribute.resident) throw fieldError('CORRUPT', field, 'a directory without a resident $INDEX_ROOT "$I30"');
    const { header, node } = parseIndexRoot(rootAttribute.value, `${field} root`);
    if (header.indexedType !== AttributeType.fileName || header.collationRule !== 1) {
      throw fieldError('UNSUPPORTED', field, `an index of attribute 0x${header.indexedType.toString(16)} with collation ${header.collationRule}`);
    }
    const blockSize = header.blockSize;
    const allocation = findAttribute(file, AttributeType.indexAllocation, '$I30');
    let allocationReader: ByteReader | undefined;
    const readBlock = async (vcn: number): Promise<IndexNode> => {
      if (allocation === undefined) throw fieldError('CORRUPT', field, `a child block ${vcn} without $INDEX_ALLOCATION`);
      if (blockSize < 512 || blockSize > this.geometry.recordSize * 64 || (blockSize & (blockSize - 1)) !== 0) {
        throw fieldError('CORRUPT', `${field} root.blockSize`, `index blocks of ${blockSize} bytes`);
      }
      allocationReader ??= this.attributeReader(allocation, `${field} $INDEX_ALLOCATION`);
      // VCNs count clusters, or 512-byte units when a block is smaller than a cluster.
      const unit = blockSize >= this.geometry.clusterSize ? this.geometry.clusterSize : 512;
      const bytes = (await allocationReader.read(vcn * unit, blockSize, `${field} block ${vcn}`)).slice();
      applyFixups(bytes, 'INDX', `${field} block ${vcn}`);
      const recordedVcn = fileReference(bytes, 16, `${field} block ${vcn}.vcn`);
      if (recordedVcn.record !== vcn || recordedVcn.sequence !== 0) throw fieldError('CORRUPT', `${field} block ${vcn}`, 'the block says it is another VCN');
      return parseIndexNode(bytes, 24, `${field} block ${vcn}`);
    };
    return { root: node, readBlock };
  }

  /** The volume's `$UpCase` table, read once (128 KiB). */
  private async upcaseTable(): Promise<Uint16Array> {
    if (this.upcase !== undefined) return this.upcase;
    const file = await this.loadFile(MftRecordNumber.upcase);
    const data = findAttribute(file, AttributeType.data);
    if (data === undefined) throw fieldError('CORRUPT', 'ntfs $UpCase', 'no $DATA');
    const reader = this.attributeReader(data, 'ntfs $UpCase');
    const size = reader.size ?? 0;
    if (size > MAX_NTFS_UPCASE_BYTES || size < 2) throw fieldError('CORRUPT', 'ntfs $UpCase', `${size} bytes (a table of 65536 entries is ${MAX_NTFS_UPCASE_BYTES})`);
    const bytes = await reader.read(0, size & ~1, 'ntfs $UpCase');
    const table = new Uint16Array(bytes.byteLength / 2);
    for (let index = 0; index < table.length; index += 1) table[index] = (bytes[index * 2] as number) | ((bytes[index * 2 + 1] as number) << 8);
    this.upcase = table;
    return table;
  }

  /** An MFT record with its fixups applied, parsed; `CORRUPT` when it is not in use. */
  private async readRecord(record: number): Promise<MftRecord> {
    const field = `ntfs MFT record ${record}`;
    if (record >= this.mftRecords) throw fieldError('CORRUPT', field, `past the MFT's ${this.mftRecords} records`);
    const { recordSize } = this.geometry;
    // A copy: fixups are applied in place, and the reader may hand out a cached view.
    const bytes = (await this.mft.read(record * recordSize, recordSize, field)).slice();
    applyFixups(bytes, 'FILE', field);
    const parsed = parseMftRecord(bytes, this.geometry.clusterCount, field);
    if ((parsed.flags & RecordFlag.inUse) === 0) throw fieldError('CORRUPT', field, 'the record is not in use');
    return parsed;
  }

  /** A file by record number; `expectedSequence` (from a directory entry) must match the record's, unless 0. */
  private async loadFile(record: number, expectedSequence = 0): Promise<NtfsFile> {
    let file = this.files.get(record);
    if (file === undefined) {
      const base = await this.readRecord(record);
      if (base.base !== undefined) throw fieldError('CORRUPT', `ntfs MFT record ${record}`, 'an extension record where a base record was expected');
      file = await this.loadFileFrom(record, base);
      if (this.files.size >= RECORD_CACHE_SIZE) this.files.delete(this.files.keys().next().value as number);
      this.files.set(record, file);
    }
    if (expectedSequence !== 0 && file.sequence !== expectedSequence) {
      throw fieldError('CORRUPT', `ntfs MFT record ${record}`, `a directory entry expects sequence ${expectedSequence}, the record has ${file.sequence} (a stale entry)`);
    }
    return file;
  }

  /** Gathers a file's attributes from its base record and, through `$ATTRIBUTE_LIST`, its extension records. */
  private async loadFileFrom(record: number, base: MftRecord): Promise<NtfsFile> {
    let attributes = base.attributes;
    const list = attributes.find((attribute) => attribute.type === AttributeType.attributeList);
    if (list !== undefined) {
      const field = `ntfs MFT record ${record} $ATTRIBUTE_LIST`;
      const size = list.resident ? list.value.byteLength : list.dataSize;
      if (size > MAX_NTFS_ATTRIBUTE_LIST_BYTES) throw fieldError('LIMIT_EXCEEDED', field, `${size} bytes (at most ${MAX_NTFS_ATTRIBUTE_LIST_BYTES})`);
      const bytes = list.resident ? list.value : await this.attributeReader(list, field).read(0, size, field);
      const extensions = extensionRecords(bytes, record, field);
      attributes = attributes.filter((attribute) => attribute.type !== AttributeType.attributeList);
      for (const extension of extensions) {
        const extensionRecord = await this.readRecord(extension);
        if (extensionRecord.base?.record !== record || extensionRecord.base.sequence !== base.sequence) {
          throw fieldError('CORRUPT', field, `record ${extension} is listed but does not extend record ${record}`);
        }
        attributes = attributes.concat(extensionRecord.attributes);
      }
    }
    const merged = mergeExtents(attributes, `ntfs MFT record ${record}`);
    const reparseAttribute = merged.find((attribute) => attribute.type === AttributeType.reparsePoint);
    let reparse: ReparsePoint | undefined;
    if (reparseAttribute !== undefined) {
      const field = `ntfs MFT record ${record} $REPARSE_POINT`;
      const value = reparseAttribute.resident ? reparseAttribute.value : await this.attributeReader(reparseAttribute, field).read(0, Math.min(reparseAttribute.dataSize, MAX_REPARSE_DATA_BYTES + 8), field);
      reparse = parseReparsePoint(value, field);
    }
    const interix = reparse === undefined ? await this.interixSpecialFile(merged, record) : undefined;
    return { record, sequence: base.sequence, flags: base.flags, attributes: merged, reparse, interix };
  }

  /** Recognises an Interix symbolic link or device from a small system file's first bytes. */
  private async interixSpecialFile(attributes: readonly NtfsAttribute[], record: number): Promise<NtfsFile['interix']> {
    const information = attributes.find((attribute) => attribute.type === AttributeType.standardInformation);
    if (!information?.resident || information.value.byteLength < 36 || (u32le(information.value, 32) & FILE_ATTRIBUTE_SYSTEM) === 0) return undefined;
    const data = attributes.find((attribute) => attribute.type === AttributeType.data && attribute.name === '');
    if (data === undefined || data.flags & (AttributeFlag.compressionMask | AttributeFlag.encrypted)) return undefined;
    const size = data.resident ? data.value.byteLength : data.dataSize;
    if (size < 8 || size > MAX_NTFS_INTERIX_BYTES) return undefined;
    const field = `ntfs MFT record ${record} $DATA`;
    const bytes = await this.attributeReader(data, field).read(0, size, field);
    const magic = latin1Text(bytes.subarray(0, 8));
    if (magic === 'IntxLNK\x01') return { link: utf16leText(bytes.subarray(8)) };
    if (magic === 'IntxBLK\x00' || magic === 'IntxCHR\x00') return 'device';
    return undefined;
  }
}

/** The kind of a directory entry from the copy of `$FILE_NAME` in the index (no record read). */
function kindFromIndexKey(fileAttributes: number, reparseTag: number): NodeKind {
  if (fileAttributes & FileAttribute.reparsePoint && isLinkTag(reparseTag)) return 'symlink';
  if (fileAttributes & FileAttribute.directory) return 'directory';
  return 'file';
}

/**
 * The extension records an attribute list names (other than the base record itself).
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 4 | attribute type |
 * | 4 | 2 | entry length |
 * | 6 | 1 | name length |
 * | 7 | 1 | name offset |
 * | 8 | 8 | lowest VCN of this extent |
 * | 16 | 8 | reference of the record holding it |
 * | 24 | 2 | attribute instance |
 */
function extensionRecords(bytes: Uint8Array, baseRecord: number, field: string): number[] {
  const records = new Set<number>();
  let offset = 0;
  while (offset + 26 <= bytes.byteLength) {
    const length = u16le(bytes, offset + 4);
    if (length < 26 || offset + length > bytes.byteLength) throw fieldError('CORRUPT', field, `an entry of ${length} bytes at offset ${offset}`);
    const reference = fileReference(bytes, offset + 16, `${field}.reference`);
    if (reference.record !== baseRecord) records.add(reference.record);
    if (records.size > MAX_NTFS_EXTENSION_RECORDS) throw fieldError('LIMIT_EXCEEDED', field, `more than ${MAX_NTFS_EXTENSION_RECORDS} extension records`);
    offset += length;
  }
  return [...records];
}

/**
 * Joins the extents of each non-resident attribute (same type and name) into one, in VCN
 * order; the sizes are those of the extent that starts at VCN 0. `CORRUPT` when the
 * extents leave a gap or overlap.
 */
function mergeExtents(attributes: readonly NtfsAttribute[], field: string): NtfsAttribute[] {
  const merged: NtfsAttribute[] = [];
  const groups = new Map<string, NonResidentAttribute[]>();
  for (const attribute of attributes) {
    if (attribute.resident) {
      merged.push(attribute);
      continue;
    }
    const key = `${attribute.type}:${attribute.name}`;
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, [attribute]);
      merged.push(attribute);
    } else {
      group.push(attribute);
    }
  }
  for (const [key, group] of groups) {
    if (group.length === 1 && (group[0] as NonResidentAttribute).lowestVcn === 0) continue;
    group.sort((a, b) => a.lowestVcn - b.lowestVcn);
    const first = group[0] as NonResidentAttribute;
    if (first.lowestVcn !== 0) throw fieldError('CORRUPT', `${field} attribute ${key}`, 'no extent starts at VCN 0');
    const runs: DataRun[] = [];
    let nextVcn = 0;
    for (const extent of group) {
      if (extent.lowestVcn !== nextVcn) throw fieldError('CORRUPT', `${field} attribute ${key}`, `an extent starts at VCN ${extent.lowestVcn}, expected ${nextVcn}`);
      runs.push(...extent.runs);
      nextVcn = extent.highestVcn + 1;
    }
    const joined: NonResidentAttribute = { ...first, highestVcn: nextVcn - 1, runs };
    merged[merged.indexOf(first)] = joined;
  }
  return merged;
}

/** Data runs as byte extents of the volume. */
function runExtents(runs: readonly DataRun[], clusterSize: number): FileExtent[] {
  return runs.map((run) => ({
    fileOffset: run.vcn * clusterSize,
    length: run.length * clusterSize,
    volumeOffset: run.lcn === undefined ? undefined : run.lcn * clusterSize,
  }));
}

/** A reader whose real reader is made on first use (so that `openFile` can stay synchronous). */
class DeferredReader extends FileContentReader {
  private inner: Promise<ByteReader> | undefined;

  constructor(
    size: number,
    volume: ByteReader,
    private readonly open: () => Promise<ByteReader>,
  ) {
    super(size, volume);
  }

  protected async readWithin(offset: number, length: number, field: string): Promise<Uint8Array> {
    this.inner ??= this.open();
    return (await this.inner).read(offset, length, field);
  }
}

/**
 * A compressed attribute, one compression unit at a time. Within a unit's clusters, all
 * allocated means stored as is; none allocated, zeros; otherwise the allocated clusters
 * hold LZNT1 data that decodes to the whole unit (the rest of the unit is a hole).
 */
class CompressedAttributeReader extends FileContentReader {
  private readonly units = new Map<number, Uint8Array>();

  constructor(
    private readonly volume: ByteReader,
    private readonly attribute: NonResidentAttribute,
    private readonly clusterSize: number,
    private readonly unitBytes: number,
    private readonly field: string,
  ) {
    super(attribute.dataSize, volume);
  }

  protected async readWithin(offset: number, length: number): Promise<Uint8Array> {
    const output = new Uint8Array(length);
    const end = offset + length;
    for (let unit = Math.floor(offset / this.unitBytes); unit * this.unitBytes < end; unit += 1) {
      const bytes = await this.unit(unit);
      const unitStart = unit * this.unitBytes;
      const from = Math.max(offset, unitStart);
      const to = Math.min(end, unitStart + this.unitBytes);
      output.set(bytes.subarray(from - unitStart, to - unitStart), from - offset);
    }
    return output;
  }

  private async unit(index: number): Promise<Uint8Array> {
    const cached = this.units.get(index);
    if (cached !== undefined) return cached;
    const bytes = await this.decodeUnit(index);
    if (this.units.size >= 4) this.units.delete(this.units.keys().next().value as number);
    this.units.set(index, bytes);
    return bytes;
  }

  private async decodeUnit(index: number): Promise<Uint8Array> {
    const clustersPerUnit = this.unitBytes / this.clusterSize;
    const firstVcn = index * clustersPerUnit;
    const field = `${this.field} compression unit ${index}`;
    const unitStart = index * this.unitBytes;
    const initialized = Math.min(this.attribute.initializedSize, this.attribute.dataSize);
    if (unitStart >= initialized) return new Uint8Array(this.unitBytes);
    // The allocated clusters of the unit, in order.
    const pieces: Array<{ offset: number; length: number }> = [];
    let allocated = 0;
    for (const run of overlapping(this.attribute.runs, firstVcn, firstVcn + clustersPerUnit, (item) => item.vcn, (item) => item.length)) {
      if (run.lcn === undefined) continue;
      const from = Math.max(run.vcn, firstVcn);
      const to = Math.min(run.vcn + run.length, firstVcn + clustersPerUnit);
      pieces.push({ offset: (run.lcn + (from - run.vcn)) * this.clusterSize, length: (to - from) * this.clusterSize });
      allocated += to - from;
    }
    let bytes: Uint8Array;
    if (allocated === 0) {
      bytes = new Uint8Array(this.unitBytes);
    } else {
      const stored = new Uint8Array(allocated * this.clusterSize);
      let filled = 0;
      for (const piece of pieces) {
        stored.set(await this.volume.read(piece.offset, piece.length, field), filled);
        filled += piece.length;
      }
      bytes = allocated === clustersPerUnit ? stored : decompressLznt1(stored, this.unitBytes, field);
    }
    if (unitStart + this.unitBytes > initialized) bytes.fill(0, initialized - unitStart);
    return bytes;
  }
}

/** The NTFS driver: `info.type` is `ntfs`. */
export const ntfsModule: FileSystemModule = {
  name: 'ntfs',
  async probe(volume: ByteReader): Promise<boolean> {
    return isNtfsBootSector(await volume.readAvailable(0, 512, 'ntfs boot sector'));
  },
  open: (volume: ByteReader, context: FileSystemContext) => NtfsFileSystem.open(volume, context),
};
