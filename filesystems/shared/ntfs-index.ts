/**
 * NTFS directory indexes (`$I30`): a B+ tree of `$FILE_NAME` keys whose root node lives in
 * the resident `$INDEX_ROOT` attribute and whose other nodes are `INDX` blocks of the
 * non-resident `$INDEX_ALLOCATION` attribute.
 *
 * `$INDEX_ROOT` value:
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 4 | indexed attribute type (`0x30`, `$FILE_NAME`) |
 * | 4 | 4 | collation rule (`1`, file names) |
 * | 8 | 4 | bytes per index block |
 * | 12 | 1 | clusters per index block (or, below one cluster, 512-byte units) |
 * | 16 | 16 | node header |
 *
 * Node header (in the root at 16, in an `INDX` block at 24):
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 4 | offset of the first entry, from the node header |
 * | 4 | 4 | offset of the end of the entries |
 * | 8 | 4 | allocated size |
 * | 12 | 1 | flags: `1` the node has children |
 *
 * Index entry:
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 8 | file reference |
 * | 8 | 2 | entry length |
 * | 10 | 2 | key length |
 * | 12 | 2 | flags: `1` a child node precedes this entry, `2` the last entry (no key) |
 * | 16 | key length | the key, a `$FILE_NAME` value |
 * | length - 8 | 8 | child node's VCN, when flag `1` |
 *
 * Keys are ordered by `COLLATION_FILE_NAME`: names compared code unit by code unit after
 * mapping each through the volume's `$UpCase` table. A lookup descends from the root to the
 * child before the first key not below the name; a listing visits the tree in order.
 *
 * @module
 */
import { u16le, u32le, u64le, safeNumber } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';
import { type FileNameAttribute, type FileReference, fileReference, parseFileName } from './ntfs-record.js';

/** Deepest index tree walked: NTFS trees are shallow (a directory of a million names is about four levels), so deeper means a loop. */
export const MAX_NTFS_INDEX_DEPTH = 32;

/** One entry of a directory index. */
export interface IndexEntry {
  file: FileReference;
  key: FileNameAttribute;
}

/** One node of the tree: its entries and, before each entry and at the end, the child that holds smaller keys. */
export interface IndexNode {
  entries: IndexEntry[];
  /** `children[i]` is the child before `entries[i]`; `children[entries.length]` the child after the last key. */
  children: Array<number | undefined>;
}

/** `$INDEX_ROOT`'s fixed fields. */
export interface IndexRootHeader {
  indexedType: number;
  collationRule: number;
  blockSize: number;
}

/** Parses the fixed part of `$INDEX_ROOT` and its node. */
export function parseIndexRoot(value: Uint8Array, field: string): { header: IndexRootHeader; node: IndexNode } {
  const header = {
    indexedType: u32le(value, 0, `${field}.indexedType`),
    collationRule: u32le(value, 4, `${field}.collationRule`),
    blockSize: u32le(value, 8, `${field}.blockSize`),
  };
  return { header, node: parseIndexNode(value, 16, field) };
}

/** Parses the node whose header is at `headerOffset` in `bytes` (an index root value or a fixed-up `INDX` block). */
export function parseIndexNode(bytes: Uint8Array, headerOffset: number, field: string): IndexNode {
  const first = headerOffset + u32le(bytes, headerOffset, `${field}.entriesOffset`);
  const end = headerOffset + u32le(bytes, headerOffset + 4, `${field}.entriesEnd`);
  if (first < headerOffset + 16 || end > bytes.byteLength || first > end) {
    throw fieldError('CORRUPT', `${field}.entries`, `entries at ${first}..${end} do not fit a ${bytes.byteLength}-byte node`);
  }
  const entries: IndexEntry[] = [];
  const children: Array<number | undefined> = [];
  let offset = first;
  while (true) {
    if (offset + 16 > end) throw fieldError('CORRUPT', `${field}.entries`, 'the entries end without a last entry');
    const length = u16le(bytes, offset + 8);
    const keyLength = u16le(bytes, offset + 10);
    const flags = u16le(bytes, offset + 12);
    if (length < 16 || length % 8 !== 0 || offset + length > end) {
      throw fieldError('CORRUPT', `${field}.entry`, `length ${length} at offset ${offset} does not fit the node`);
    }
    let child: number | undefined;
    if (flags & 1) {
      if (length < 24) throw fieldError('CORRUPT', `${field}.entry`, 'a child pointer without room for it');
      child = safeNumber(u64le(bytes, offset + length - 8), `${field}.childVcn`);
    }
    children.push(child);
    if (flags & 2) break;
    if (16 + keyLength > length || keyLength < 66) throw fieldError('CORRUPT', `${field}.entry`, `a key of ${keyLength} bytes in an entry of ${length}`);
    entries.push({
      file: fileReference(bytes, offset, `${field}.fileReference`),
      key: parseFileName(bytes.subarray(offset + 16, offset + 16 + keyLength), `${field}.key`),
    });
    offset += length;
  }
  return { entries, children };
}

/**
 * Compares two names as `COLLATION_FILE_NAME` does: each UTF-16 code unit mapped through
 * `upcase` (code units past its end map to themselves), then the shorter name first.
 * Without a table, only ASCII is compared (every `$UpCase` maps `a-z` to `A-Z` and leaves the
 * rest of ASCII alone); where a non-ASCII code unit decides, the result is `undefined` and the
 * caller needs the volume's table.
 */
export function compareNames(a: string, b: string, upcase: Uint16Array | undefined): number | undefined {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index += 1) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x === y) continue;
    if (upcase === undefined) {
      if (x >= 0x80 || y >= 0x80) return undefined;
      const upperX = x >= 0x61 && x <= 0x7a ? x - 0x20 : x;
      const upperY = y >= 0x61 && y <= 0x7a ? y - 0x20 : y;
      if (upperX !== upperY) return upperX - upperY;
      continue;
    }
    const upperX = x < upcase.length ? (upcase[x] as number) : x;
    const upperY = y < upcase.length ? (upcase[y] as number) : y;
    if (upperX !== upperY) return upperX - upperY;
  }
  return a.length - b.length;
}

/** Thrown by {@link findInIndex} when a comparison needs the volume's `$UpCase` table. */
export class NeedsUpcaseTable extends Error {}

/** Reads the index block with the given VCN. */
export type IndexBlockReader = (vcn: number) => Promise<IndexNode>;

/**
 * The entry named `name` (case-insensitively, through `upcase`), or undefined; descends at
 * most {@link MAX_NTFS_INDEX_DEPTH} levels and never visits a block twice. Without a table,
 * throws {@link NeedsUpcaseTable} when a non-ASCII character decides a comparison.
 */
export async function findInIndex(root: IndexNode, name: string, upcase: Uint16Array | undefined, readBlock: IndexBlockReader, field: string): Promise<IndexEntry | undefined> {
  let node = root;
  const visited = new Set<number>();
  for (let depth = 0; depth <= MAX_NTFS_INDEX_DEPTH; depth += 1) {
    let child: number | undefined = node.children[node.entries.length];
    for (let index = 0; index < node.entries.length; index += 1) {
      const entry = node.entries[index] as IndexEntry;
      const order = compareNames(name, entry.key.name, upcase);
      if (order === undefined) throw new NeedsUpcaseTable();
      if (order === 0) return entry;
      if (order < 0) {
        child = node.children[index];
        break;
      }
    }
    if (child === undefined) return undefined;
    if (visited.has(child)) throw fieldError('CORRUPT', field, `index block ${child} is its own descendant`);
    visited.add(child);
    node = await readBlock(child);
  }
  throw fieldError('CORRUPT', field, `the index is deeper than ${MAX_NTFS_INDEX_DEPTH} levels`);
}

/**
 * Visits every entry in key order until `visit` returns true. Each block is visited once at
 * most (a block reached twice means the tree loops: `CORRUPT`), at most
 * {@link MAX_NTFS_INDEX_DEPTH} levels deep.
 */
export async function walkIndex(root: IndexNode, readBlock: IndexBlockReader, visit: (entry: IndexEntry) => boolean, field: string): Promise<void> {
  const visited = new Set<number>();
  const walkNode = async (node: IndexNode, depth: number): Promise<boolean> => {
    for (let index = 0; index <= node.entries.length; index += 1) {
      const child = node.children[index];
      if (child !== undefined) {
        if (depth >= MAX_NTFS_INDEX_DEPTH) throw fieldError('CORRUPT', field, `the index is deeper than ${MAX_NTFS_INDEX_DEPTH} levels`);
        if (visited.has(child)) throw fieldError('CORRUPT', field, `index block ${child} is reached twice`);
        visited.add(child);
        if (await walkNode(await readBlock(child), depth + 1)) return true;
      }
      const entry = node.entries[index];
      if (entry !== undefined && visit(entry)) return true;
    }
    return false;
  };
  await walkNode(root, 0);
}
