/**
 * A reader of Windows registry hive files (`regf`), such as `System32\config\SOFTWARE` and
 * `SYSTEM`, reading cells on demand: a SOFTWARE hive is 50-100 MiB, and finding
 * `Microsoft\Windows NT\CurrentVersion` touches a few dozen cells of it.
 *
 * Layout (the format as documented by libyal's "Windows NT Registry File (REGF) format" and
 * as hivex and Samba read it): a 4096-byte base block, then hive bins (`hbin`, multiples of
 * 4096 bytes) holding cells. A cell starts with a signed 32-bit size, negative while the
 * cell is allocated; cells refer to each other by offsets counted from the first hive bin
 * (file offset 4096), and `0xFFFFFFFF` means none.
 *
 * Base block:
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 4 | `regf` |
 * | 4 | 4 | primary sequence number |
 * | 8 | 4 | secondary sequence number (differs from the primary while a write is unfinished) |
 * | 12 | 8 | last written (FILETIME) |
 * | 20 | 4 | major version (1) |
 * | 24 | 4 | minor version (2 to 6) |
 * | 28 | 4 | file type (0: a primary hive; 1, 2, 6: transaction logs) |
 * | 32 | 4 | file format (1) |
 * | 36 | 4 | root key cell offset |
 * | 40 | 4 | hive bins data size |
 * | 48 | 64 | file name (UTF-16, last 32 characters) |
 * | 508 | 4 | checksum: XOR of the 127 32-bit words before it (0 written as 1, 0xFFFFFFFF as 0xFFFFFFFE) |
 *
 * Key node (`nk`), offsets from the start of the cell's data:
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 2 | `nk` |
 * | 2 | 2 | flags: `0x0020` the name is Latin-1 ("compressed"), else UTF-16LE |
 * | 4 | 8 | last written (FILETIME) |
 * | 16 | 4 | parent key offset |
 * | 20 | 4 | subkey count |
 * | 28 | 4 | subkey list offset |
 * | 36 | 4 | value count |
 * | 40 | 4 | value list offset (a cell of 32-bit value offsets) |
 * | 44 | 4 | security (`sk`) offset |
 * | 72 | 2 | name length, in bytes |
 * | 76 | n | name |
 *
 * Value (`vk`):
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 2 | `vk` |
 * | 2 | 2 | name length in bytes (0: the key's default value) |
 * | 4 | 4 | data size; bit 31 set: the data (4 bytes at most) is the data offset field itself |
 * | 8 | 4 | data offset |
 * | 12 | 4 | type (`REG_SZ` = 1, ...) |
 * | 16 | 2 | flags: `0x0001` the name is Latin-1 |
 * | 20 | n | name |
 *
 * Subkey lists: `lf` and `lh` (a 16-bit count, then per subkey its offset and a 4-byte hint:
 * the name's first four characters for `lf`, a hash of the upper-cased name for `lh`), `li`
 * (offsets only), `ri` (offsets of `li`/`lf`/`lh` lists, one level). Big data (`db`, hive
 * version 1.4 on, for data over 16344 bytes): a 16-bit segment count and the offset of a
 * list of segment cells.
 *
 * Names compare case-insensitively, one UTF-16 code unit at a time, as Windows does.
 *
 * @module
 */
import { latin1Text, u16le, u32be, u32le, u64le, utf16leText } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader } from '../src/format-module.js';
import { BlockCache, MemoryFileReader } from '../filesystems/shared/fat-ntfs-file-reader.js';
import { foldCase, upcaseCodeUnit } from '../filesystems/shared/fat-ntfs-names.js';

/** Size of the base block, and where the first hive bin starts. */
export const REGISTRY_BASE_BLOCK_BYTES = 4096;
/** Largest cell read: 16 MiB (key and list cells are kilobytes; only old hives keep large values in one cell). */
export const MAX_REGISTRY_CELL_BYTES = 16 * 1024 * 1024;
/** Largest value data read: 16 MiB. */
export const MAX_REGISTRY_VALUE_BYTES = 16 * 1024 * 1024;
/** Most components in a key path (Windows allows 512 levels of keys). */
export const MAX_REGISTRY_PATH_DEPTH = 512;
/** Most values of one key read (bounded by the value list's cell as well). */
export const MAX_REGISTRY_VALUES_PER_KEY = 1 << 20;
/** Data above this size is split into `db` segments of this size at most (`CM_KEY_VALUE_BIG`). */
export const REGISTRY_BIG_DATA_SEGMENT_BYTES = 16344;

const NO_CELL = 0xffffffff;

/** The registry value types, by number. */
export const registryValueTypes: Readonly<Record<number, string>> = {
  0: 'REG_NONE',
  1: 'REG_SZ',
  2: 'REG_EXPAND_SZ',
  3: 'REG_BINARY',
  4: 'REG_DWORD',
  5: 'REG_DWORD_BIG_ENDIAN',
  6: 'REG_LINK',
  7: 'REG_MULTI_SZ',
  8: 'REG_RESOURCE_LIST',
  9: 'REG_FULL_RESOURCE_DESCRIPTOR',
  10: 'REG_RESOURCE_REQUIREMENTS_LIST',
  11: 'REG_QWORD',
};

/** What the base block says. */
export interface RegistryHiveHeader {
  majorVersion: number;
  minorVersion: number;
  /** The primary and secondary sequence numbers differ: Windows was writing the hive, and its transaction logs (not read here) hold newer data. */
  dirty: boolean;
  /** The name Windows recorded in the base block (the tail of the hive's path). */
  fileName: string;
  /** Bytes of hive bins the base block declares. */
  hiveBinsSize: number;
}

/** A key node. */
export interface RegistryKey {
  /** The key cell's offset (from the first hive bin). */
  readonly offset: number;
  readonly name: string;
  readonly subkeyCount: number;
  readonly valueCount: number;
  /** Offset of the subkey list cell, or `0xFFFFFFFF`. */
  readonly subkeyList: number;
  /** Offset of the value list cell, or `0xFFFFFFFF`. */
  readonly valueList: number;
  /** Offset of the security (`sk`) cell. */
  readonly security: number;
}

/** A value's header: everything but its data. */
export interface RegistryValueInfo {
  /** The value cell's offset. */
  readonly offset: number;
  /** The value's name; `''` for the key's default value. */
  readonly name: string;
  readonly type: number;
  /** `REG_SZ`, ..., or `REG_0x...` for a type with no name. */
  readonly typeName: string;
  /** Bytes of data. */
  readonly size: number;
  /** Where the data is: inside the value cell (4 bytes at most), in one cell, or in `db` segments. */
  readonly storage: 'inline' | 'cell' | 'big-data';
  /** The data offset field (the data itself when inline). */
  readonly dataOffset: number;
}

/** A value with its data. */
export interface RegistryValue extends RegistryValueInfo {
  readonly data: Uint8Array;
}

/** Options for {@link RegistryHive.open}. */
export interface RegistryHiveOptions {
  /** Receives soft problems (a dirty hive, a hive-bins size past the end of the file). */
  warn?: (message: string) => void;
}

/** An opened hive. */
export class RegistryHive {
  private constructor(
    private readonly reader: ByteReader,
    /** What the base block says. */
    readonly header: RegistryHiveHeader,
    private readonly rootOffset: number,
    /** Bytes of hive bins that can be read (the declared size, cut at the end of the file). */
    private readonly binsSize: number,
  ) {}

  /**
   * Opens a hive from its bytes or from a reader over them (such as an NTFS driver's
   * `openFile` of `System32\config\SOFTWARE`); cells are read on demand through a 1 MiB cache.
   */
  static async open(source: ByteReader | Uint8Array, options: RegistryHiveOptions = {}): Promise<RegistryHive> {
    const raw = source instanceof Uint8Array ? new MemoryFileReader(source) : source;
    const reader = new BlockCache(raw, 4096, 256);
    const base = await reader.read(0, REGISTRY_BASE_BLOCK_BYTES, 'regf base block');
    const field = 'regf base block';
    if (latin1Text(base.subarray(0, 4)) !== 'regf') throw fieldError('CORRUPT', `${field}.signature`, 'not "regf"');
    let checksum = 0;
    for (let offset = 0; offset < 508; offset += 4) checksum ^= u32le(base, offset);
    checksum >>>= 0;
    if (checksum === 0) checksum = 1;
    else if (checksum === 0xffffffff) checksum = 0xfffffffe;
    const stored = u32le(base, 508);
    if (checksum !== stored) throw fieldError('CORRUPT', `${field}.checksum`, `0x${stored.toString(16)} stored, 0x${checksum.toString(16)} computed`);
    const majorVersion = u32le(base, 20);
    const minorVersion = u32le(base, 24);
    if (majorVersion !== 1 || minorVersion < 2 || minorVersion > 6) throw fieldError('UNSUPPORTED', `${field}.version`, `version ${majorVersion}.${minorVersion}`);
    const fileType = u32le(base, 28);
    if (fileType !== 0) throw fieldError('UNSUPPORTED', `${field}.fileType`, `file type ${fileType} (a transaction log, not a primary hive)`);
    const hiveBinsSize = u32le(base, 40);
    const header: RegistryHiveHeader = {
      majorVersion,
      minorVersion,
      dirty: u32le(base, 4) !== u32le(base, 8),
      fileName: utf16leText(base.subarray(48, 112)).replace(/\0.*$/s, ''),
      hiveBinsSize,
    };
    if (header.dirty) options.warn?.('regf: the hive was being written (sequence numbers differ); its transaction logs are not replayed');
    const fileSize = await reader.totalSize();
    let binsSize = hiveBinsSize;
    if (REGISTRY_BASE_BLOCK_BYTES + binsSize > fileSize) {
      // Samba's writer counts the base block in this size; hivex then reads to the end of the file.
      options.warn?.(`regf: the base block declares ${hiveBinsSize} bytes of hive bins, the file holds ${Math.max(0, fileSize - REGISTRY_BASE_BLOCK_BYTES)}`);
      binsSize = Math.max(0, fileSize - REGISTRY_BASE_BLOCK_BYTES);
    }
    if (binsSize < 4096 || binsSize % 4096 !== 0) throw fieldError('CORRUPT', `${field}.hiveBinsSize`, `${binsSize} bytes of hive bins`);
    const firstBin = await reader.read(REGISTRY_BASE_BLOCK_BYTES, 32, 'regf first hive bin');
    if (latin1Text(firstBin.subarray(0, 4)) !== 'hbin' || u32le(firstBin, 4) !== 0) throw fieldError('CORRUPT', 'regf first hive bin', 'no "hbin" at offset 4096');
    const hive = new RegistryHive(reader, header, u32le(base, 36), binsSize);
    await hive.root();
    return hive;
  }

  /** The root key. */
  async root(): Promise<RegistryKey> {
    return this.key(this.rootOffset, 'regf root key');
  }

  /**
   * The key at `path` below `from` (the root by default): components separated by `\` (or
   * `/`), compared case-insensitively. `undefined` when a component does not exist.
   */
  async openKey(path: string, from?: RegistryKey): Promise<RegistryKey | undefined> {
    const components = path.split(/[\\/]/).filter((component) => component !== '');
    if (components.length > MAX_REGISTRY_PATH_DEPTH) throw fieldError('LIMIT_EXCEEDED', 'regf key path', `more than ${MAX_REGISTRY_PATH_DEPTH} components`);
    let key: RegistryKey | undefined = from ?? (await this.root());
    for (const component of components) {
      key = await this.subkey(key, component);
      if (key === undefined) return undefined;
    }
    return key;
  }

  /** The subkey of `key` called `name` (case-insensitively), or `undefined`. */
  async subkey(key: RegistryKey, name: string): Promise<RegistryKey | undefined> {
    const wanted = foldCase(name);
    const hash = nameHash(name);
    let found: RegistryKey | undefined;
    await this.visitSubkeyOffsets(key, async (offset, hint) => {
      if (hint !== undefined && !hint(wanted, hash)) return false;
      const candidate = await this.key(offset, `regf subkey of ${key.name}`);
      if (candidate.name.length === name.length && foldCase(candidate.name) === wanted) {
        found = candidate;
        return true;
      }
      return false;
    });
    return found;
  }

  /** Up to `limit` subkeys of `key`, in the order of its subkey list (sorted by name, as Windows keeps it). */
  async subkeys(key: RegistryKey, limit: number): Promise<RegistryKey[]> {
    const keys: RegistryKey[] = [];
    if (limit <= 0) return keys;
    await this.visitSubkeyOffsets(key, async (offset) => {
      keys.push(await this.key(offset, `regf subkey of ${key.name}`));
      return keys.length >= limit;
    });
    return keys;
  }

  /** Up to `limit` value headers of `key`, in stored order. */
  async values(key: RegistryKey, limit: number): Promise<RegistryValueInfo[]> {
    const values: RegistryValueInfo[] = [];
    if (limit <= 0) return values;
    for await (const info of this.valueInfos(key)) {
      values.push(info);
      if (values.length >= limit) break;
    }
    return values;
  }

  /** The value of `key` called `name` (case-insensitively; `''` for the default value), with its data, or `undefined`. */
  async value(key: RegistryKey, name: string, maxBytes = MAX_REGISTRY_VALUE_BYTES): Promise<RegistryValue | undefined> {
    const wanted = foldCase(name);
    for await (const info of this.valueInfos(key)) {
      if (info.name.length === name.length && foldCase(info.name) === wanted) return { ...info, data: await this.valueData(info, maxBytes) };
    }
    return undefined;
  }

  /** The value headers of `key`, one cell read each, in stored order. */
  private async *valueInfos(key: RegistryKey): AsyncGenerator<RegistryValueInfo> {
    if (key.valueCount === 0) return;
    const field = `regf value list of ${key.name}`;
    if (key.valueCount > MAX_REGISTRY_VALUES_PER_KEY) throw fieldError('LIMIT_EXCEEDED', field, `${key.valueCount} values`);
    const list = await this.cell(key.valueList, field);
    if (key.valueCount * 4 > list.byteLength) throw fieldError('CORRUPT', field, `${key.valueCount} values in a ${list.byteLength}-byte list`);
    for (let index = 0; index < key.valueCount; index += 1) yield this.valueInfo(u32le(list, index * 4), `regf value of ${key.name}`);
  }

  /** A value's data; `LIMIT_EXCEEDED` above `maxBytes`. */
  async valueData(info: RegistryValueInfo, maxBytes = MAX_REGISTRY_VALUE_BYTES): Promise<Uint8Array> {
    const field = `regf value ${JSON.stringify(info.name)} data`;
    if (info.size > Math.min(maxBytes, MAX_REGISTRY_VALUE_BYTES)) throw fieldError('LIMIT_EXCEEDED', field, `${info.size} bytes of data (at most ${Math.min(maxBytes, MAX_REGISTRY_VALUE_BYTES)})`);
    if (info.storage === 'inline') {
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setUint32(0, info.dataOffset, true);
      return bytes.subarray(0, info.size);
    }
    if (info.size === 0) return new Uint8Array(0);
    const cell = await this.cell(info.dataOffset, field);
    if (info.storage === 'cell') {
      if (cell.byteLength < info.size) throw fieldError('CORRUPT', field, `${info.size} bytes of data in a ${cell.byteLength}-byte cell`);
      return cell.subarray(0, info.size);
    }
    // Big data: `db`, segment count, offset of the segment list.
    const segments = u16le(cell, 2, `${field}.segmentCount`);
    const list = await this.cell(u32le(cell, 4, `${field}.segmentList`), `${field} segment list`);
    if (segments * 4 > list.byteLength) throw fieldError('CORRUPT', `${field} segment list`, `${segments} segments in a ${list.byteLength}-byte list`);
    const data = new Uint8Array(info.size);
    let filled = 0;
    for (let index = 0; index < segments && filled < info.size; index += 1) {
      const segment = await this.cell(u32le(list, index * 4), `${field} segment ${index}`);
      const take = Math.min(segment.byteLength, REGISTRY_BIG_DATA_SEGMENT_BYTES, info.size - filled);
      data.set(segment.subarray(0, take), filled);
      filled += take;
    }
    if (filled < info.size) throw fieldError('CORRUPT', field, `${segments} segments hold ${filled} of ${info.size} bytes`);
    return data;
  }

  /** The security descriptor of `key` (the `sk` cell's self-relative descriptor). */
  async securityDescriptor(key: RegistryKey): Promise<Uint8Array> {
    const field = `regf security of ${key.name}`;
    const cell = await this.cell(key.security, field);
    if (latin1Text(cell.subarray(0, 2)) !== 'sk') throw fieldError('CORRUPT', field, 'not an "sk" cell');
    const size = u32le(cell, 16, `${field}.descriptorSize`);
    if (20 + size > cell.byteLength) throw fieldError('CORRUPT', field, `a ${size}-byte descriptor in a ${cell.byteLength}-byte cell`);
    return cell.subarray(20, 20 + size);
  }

  /** Reads a key node. */
  private async key(offset: number, field: string): Promise<RegistryKey> {
    const cell = await this.cell(offset, field);
    if (cell.byteLength < 76 || latin1Text(cell.subarray(0, 2)) !== 'nk') throw fieldError('CORRUPT', field, `cell ${offset} is not a key ("nk")`);
    const flags = u16le(cell, 2);
    const nameLength = u16le(cell, 72);
    if (76 + nameLength > cell.byteLength) throw fieldError('CORRUPT', `${field}.name`, `${nameLength} bytes of name in a ${cell.byteLength}-byte cell`);
    const nameBytes = cell.subarray(76, 76 + nameLength);
    return {
      offset,
      name: flags & 0x0020 ? latin1Text(nameBytes) : utf16leText(nameBytes),
      subkeyCount: u32le(cell, 20),
      valueCount: u32le(cell, 36),
      subkeyList: u32le(cell, 28),
      valueList: u32le(cell, 40),
      security: u32le(cell, 44),
    };
  }

  /** Reads a value header. */
  private async valueInfo(offset: number, field: string): Promise<RegistryValueInfo> {
    const cell = await this.cell(offset, field);
    if (cell.byteLength < 20 || latin1Text(cell.subarray(0, 2)) !== 'vk') throw fieldError('CORRUPT', field, `cell ${offset} is not a value ("vk")`);
    const nameLength = u16le(cell, 2);
    const rawSize = u32le(cell, 4);
    const dataOffset = u32le(cell, 8);
    const type = u32le(cell, 12);
    const flags = u16le(cell, 16);
    if (20 + nameLength > cell.byteLength) throw fieldError('CORRUPT', `${field}.name`, `${nameLength} bytes of name in a ${cell.byteLength}-byte cell`);
    const nameBytes = cell.subarray(20, 20 + nameLength);
    const inline = (rawSize & 0x80000000) !== 0;
    const size = inline ? rawSize & 0x7fffffff : rawSize;
    if (inline && size > 4) throw fieldError('CORRUPT', `${field}.dataSize`, `${size} bytes stored inline (at most 4)`);
    let storage: RegistryValueInfo['storage'] = inline ? 'inline' : 'cell';
    if (!inline && size > REGISTRY_BIG_DATA_SEGMENT_BYTES && this.header.minorVersion >= 4 && dataOffset !== NO_CELL) {
      // Version 1.4 hives keep large data in `db` segments; a writer that keeps it in one cell is read as such (hivex does both).
      // A cell too small for the data and signed "db" is big data; data that merely starts with "db" fills its own cell.
      const cell = await this.cell(dataOffset, `${field} data`);
      if (cell.byteLength < size && latin1Text(cell.subarray(0, 2)) === 'db') storage = 'big-data';
    }
    return {
      offset,
      name: flags & 0x0001 ? latin1Text(nameBytes) : utf16leText(nameBytes),
      type,
      typeName: registryValueTypes[type] ?? `REG_0x${type.toString(16)}`,
      size,
      storage,
      dataOffset,
    };
  }

  /**
   * Calls `visit` with each subkey offset of `key` (and, for `lf`/`lh` lists, a test that
   * can rule a name out without reading the key) until it returns true. An `ri` list's
   * sublists are visited once each and may not be `ri` lists themselves.
   */
  private async visitSubkeyOffsets(
    key: RegistryKey,
    visit: (offset: number, hint: ((foldedName: string, hash: number) => boolean) | undefined) => Promise<boolean>,
  ): Promise<void> {
    if (key.subkeyCount === 0 || key.subkeyList === NO_CELL) return;
    const visitList = async (offset: number, nested: boolean): Promise<boolean> => {
      const field = `regf subkey list of ${key.name}`;
      const list = await this.cell(offset, field);
      const signature = latin1Text(list.subarray(0, 2));
      const count = u16le(list, 2, `${field}.count`);
      const entrySize = signature === 'lf' || signature === 'lh' ? 8 : 4;
      if (4 + count * entrySize > list.byteLength) throw fieldError('CORRUPT', field, `${count} entries in a ${list.byteLength}-byte "${signature}" list`);
      if (signature === 'ri') {
        if (nested) throw fieldError('CORRUPT', field, 'an "ri" list inside an "ri" list');
        const seen = new Set<number>();
        for (let index = 0; index < count; index += 1) {
          const sublist = u32le(list, 4 + index * 4);
          if (seen.has(sublist)) throw fieldError('CORRUPT', field, `sublist ${sublist} appears twice`);
          seen.add(sublist);
          if (await visitList(sublist, true)) return true;
        }
        return false;
      }
      if (signature !== 'lf' && signature !== 'lh' && signature !== 'li') throw fieldError('CORRUPT', field, `"${signature}" is not a subkey list`);
      for (let index = 0; index < count; index += 1) {
        const entry = 4 + index * entrySize;
        const hint = signature === 'lh' ? lhHint(u32le(list, entry + 4)) : signature === 'lf' ? lfHint(list.subarray(entry + 4, entry + 8)) : undefined;
        if (await visit(u32le(list, entry), hint)) return true;
      }
      return false;
    };
    await visitList(key.subkeyList, false);
  }

  /** The data of the allocated cell at `offset` (without its size field). */
  private async cell(offset: number, field: string): Promise<Uint8Array> {
    if (offset === NO_CELL || offset < 32 || offset % 8 !== 0 || offset + 8 > this.binsSize) {
      throw fieldError('CORRUPT', field, `cell offset ${offset === NO_CELL ? 'none' : offset} is not inside the hive bins`);
    }
    const position = REGISTRY_BASE_BLOCK_BYTES + offset;
    const rawSize = u32le(await this.reader.read(position, 4, field), 0) | 0;
    if (rawSize >= 0) throw fieldError('CORRUPT', field, `cell ${offset} is free (size ${rawSize})`);
    const size = -rawSize;
    if (size < 8 || size > MAX_REGISTRY_CELL_BYTES || offset + size > this.binsSize) {
      throw fieldError(size > MAX_REGISTRY_CELL_BYTES ? 'LIMIT_EXCEEDED' : 'CORRUPT', field, `cell ${offset} of ${size} bytes does not fit the hive bins`);
    }
    return this.reader.read(position + 4, size - 4, field);
  }
}

/** The `lh` hash: for each code unit of the upper-cased name, hash = hash * 37 + unit (32 bits). */
export function nameHash(name: string): number {
  let hash = 0;
  for (let index = 0; index < name.length; index += 1) hash = (Math.imul(hash, 37) + upcaseCodeUnit(name.charCodeAt(index))) >>> 0;
  return hash;
}

/**
 * `lh` hashes rule a name out only when it is plain ASCII: writers disagree on other
 * characters (Windows hashes upper-cased UTF-16 code units; hivex hashes the UTF-8 bytes).
 */
function lhHint(stored: number): (foldedName: string, hash: number) => boolean {
  return (folded, hash) => hash === stored || !isAscii(folded);
}

function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) if (text.charCodeAt(index) >= 0x80) return false;
  return true;
}

/**
 * `lf` hints hold the name's first four characters, one byte each. Only plain ASCII hints
 * are trusted to rule a name out (how other characters are squeezed into a byte varies).
 */
function lfHint(bytes: Uint8Array): ((foldedName: string, hash: number) => boolean) | undefined {
  let hint = '';
  for (const byte of bytes) {
    if (byte === 0) break;
    if (byte >= 0x80) return undefined;
    hint += String.fromCharCode(byte);
  }
  const folded = hint.toUpperCase();
  return (foldedName) => {
    const prefix = foldedName.slice(0, 4);
    return !isAscii(prefix) || prefix === folded;
  };
}

/** A `REG_SZ`, `REG_EXPAND_SZ` or `REG_LINK` value as text: UTF-16LE up to the first NUL (as hivex reads it). */
export function registryText(value: RegistryValue): string {
  if (value.type !== 1 && value.type !== 2 && value.type !== 6) throw fieldError('CORRUPT', `regf value ${JSON.stringify(value.name)}`, `${value.typeName} is not text`);
  return utf16leText(value.data).replace(/\0.*$/s, '');
}

/** A `REG_MULTI_SZ` value: its strings, up to the empty one that ends the list. */
export function registryTextList(value: RegistryValue): string[] {
  if (value.type !== 7) throw fieldError('CORRUPT', `regf value ${JSON.stringify(value.name)}`, `${value.typeName} is not REG_MULTI_SZ`);
  const strings = utf16leText(value.data).split('\0');
  const end = strings.indexOf('');
  return end === -1 ? strings : strings.slice(0, end);
}

/** A `REG_DWORD` (little-endian) or `REG_DWORD_BIG_ENDIAN` value. */
export function registryDword(value: RegistryValue): number {
  if ((value.type !== 4 && value.type !== 5) || value.data.byteLength !== 4) {
    throw fieldError('CORRUPT', `regf value ${JSON.stringify(value.name)}`, `${value.typeName} of ${value.data.byteLength} bytes is not a DWORD`);
  }
  return value.type === 4 ? u32le(value.data, 0) : u32be(value.data, 0);
}

/** A `REG_QWORD` value, as a `bigint` (FILETIMEs exceed 2^53). */
export function registryQword(value: RegistryValue): bigint {
  if (value.type !== 11 || value.data.byteLength !== 8) {
    throw fieldError('CORRUPT', `regf value ${JSON.stringify(value.name)}`, `${value.typeName} of ${value.data.byteLength} bytes is not a QWORD`);
  }
  return u64le(value.data, 0);
}
