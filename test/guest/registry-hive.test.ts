/**
 * The registry-hive reader against hivex: hives made at test time (an empty hive from
 * Samba's registry library, filled by `hivexregedit --merge`), compared key by key and value
 * by value with `hivexregedit --export` and `hivexget`. The list and data layouts hivex does
 * not write (`lf`, `li`, `ri`, `db`) are made by rewriting a hivex-made hive by hand, and
 * hivex itself is the oracle for the result.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_REGISTRY_PATH_DEPTH,
  nameHash,
  REGISTRY_BIG_DATA_SEGMENT_BYTES,
  RegistryHive,
  type RegistryKey,
  registryDword,
  registryQword,
  registryText,
  registryTextList,
} from '../../guest/registry-hive.js';
import { rejectionOf } from '../helpers/errors.js';
import {
  concatBytes,
  hiveToolsMissing,
  makeHive,
  memoryVolume,
  pseudoRandomBytes,
  regHex,
  regSection,
  resultOrIntrospectionError,
  runText,
  temporaryDirectory,
  u16Bytes,
  u32Bytes,
  utf16le,
  withHiveChecksum,
} from '../helpers/volume-windows.js';

const unavailable = hiveToolsMissing();

const bigBinary = pseudoRandomBytes(40_000, 21);
const deepPath = Array.from({ length: 20 }, (_, index) => `Level${index}`).join('\\');

/** Everything the rich test hive holds, in .reg syntax. */
const richReg = `Windows Registry Editor Version 5.00

${regSection('\\Software')}${regSection('\\Software\\Vendor', [
  '@="the default value"',
  '"Text"="hello, registry"',
  `"Expand"=${regHex(2, utf16le('%SystemRoot%\\system32\0'))}`,
  `"Multi"=${regHex(7, utf16le('first\0second\0third\0\0'))}`,
  '"Dword"=dword:deadbeef',
  `"BigEndian"=${regHex(5, new Uint8Array([0x01, 0x02, 0x03, 0x04]))}`,
  `"Qword"=${regHex(11, new Uint8Array([0x00, 0x7c, 0x3f, 0x2a, 0x4b, 0x58, 0xd9, 0x01]))}`,
  `"Binary"=${regHex(undefined, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))}`,
  `"None"=${regHex(0, new Uint8Array(0))}`,
  `"Link"=${regHex(6, utf16le('\\Registry\\Machine\\Software'))}`,
  `"Odd type"=${regHex(0x99, new Uint8Array([7, 7]))}`,
  `"NoTerminator"=${regHex(1, utf16le('AB'))}`,
  '"Empty"=""',
  '"Ünïcødé 名前"="a value with a Unicode name"',
  `"Big"=${regHex(undefined, bigBinary)}`,
])}${regSection('\\Software\\Ünïcødé 键', ['"Inside"=dword:00000001'])}${regSection('\\Many')}${Array.from({ length: 300 }, (_, index) =>
  regSection(`\\Many\\Key number ${index}`, [`"Index"=dword:${index.toString(16).padStart(8, '0')}`]),
).join('')}${regSection('\\Deep')}${Array.from({ length: 20 }, (_, depth) => regSection(`\\Deep\\${deepPath.split('\\').slice(0, depth + 1).join('\\')}`)).join('')}`;

/** A value as hivexregedit exports it: type and raw bytes. */
interface ExportedValue {
  type: number;
  data: string;
}

/** Parses `hivexregedit --export` output into key path → value name → value. */
function parseExport(text: string): Map<string, Map<string, ExportedValue>> {
  const keys = new Map<string, Map<string, ExportedValue>>();
  let current: Map<string, ExportedValue> | undefined;
  for (const line of text.replace(/\\\n\s*/g, '').split('\n')) {
    if (line.startsWith('[')) {
      current = new Map();
      keys.set(line.slice(1, -1), current);
      continue;
    }
    if (current === undefined || line === '' || line.startsWith('Windows Registry')) continue;
    let name: string;
    let rest: string;
    if (line.startsWith('@=')) {
      name = '';
      rest = line.slice(2);
    } else {
      const match = /^"((?:[^"\\]|\\.)*)"=(.*)$/.exec(line);
      if (match === null) throw new Error(`unparsed export line: ${line.slice(0, 80)}`);
      name = (match[1] as string).replace(/\\(.)/g, '$1');
      rest = match[2] as string;
    }
    let value: ExportedValue;
    if (rest.startsWith('dword:')) {
      const number = Number.parseInt(rest.slice(6), 16);
      value = { type: 4, data: Buffer.from(new Uint32Array([number]).buffer).toString('hex') };
    } else if (rest.startsWith('hex:')) {
      value = { type: 3, data: rest.slice(4).replaceAll(',', '') };
    } else {
      const hexMatch = /^hex\(([0-9a-f]+)\):(.*)$/.exec(rest);
      if (hexMatch === null) throw new Error(`unparsed value: ${rest.slice(0, 80)}`);
      value = { type: Number.parseInt(hexMatch[1] as string, 16), data: (hexMatch[2] as string).replaceAll(',', '') };
    }
    current.set(name, value);
  }
  return keys;
}

/** The same map from our reader: every key below the root, every value with its raw bytes. */
async function ourExport(hive: RegistryHive): Promise<Map<string, Map<string, ExportedValue>>> {
  const keys = new Map<string, Map<string, ExportedValue>>();
  const visit = async (key: RegistryKey, path: string, depth: number): Promise<void> => {
    const values = new Map<string, ExportedValue>();
    for (const info of await hive.values(key, 10_000)) {
      values.set(info.name, { type: info.type, data: Buffer.from(await hive.valueData(info)).toString('hex') });
    }
    keys.set(path, values);
    if (depth > 40) return;
    for (const child of await hive.subkeys(key, 10_000)) await visit(child, `${path === '\\' ? '' : path}\\${child.name}`, depth + 1);
  };
  await visit(await hive.root(), '\\', 0);
  return keys;
}

function hivexExport(path: string): Map<string, Map<string, ExportedValue>> {
  return parseExport(runText('hivexregedit', ['--export', path, '\\']));
}

/** Compares our reading of `path` with hivex's, key by key and value by value. */
async function expectAgreesWithHivex(path: string): Promise<void> {
  const theirs = hivexExport(path);
  const ours = await ourExport(await RegistryHive.open(new Uint8Array(readFileSync(path))));
  // hivexregedit leaves out the root section when the root has no values.
  if (!theirs.has('\\') && ours.get('\\')?.size === 0) ours.delete('\\');
  expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
  for (const [key, values] of theirs) expect(ours.get(key), key).toEqual(values);
}

// ---------------------------------------------------------------------------------------
// Rewriting a hive by hand: appending a hive bin with new cells, replacing cells in place.

/** A hive being rewritten: its bytes, and cells appended in one new hive bin. */
class HiveEditor {
  bytes: Uint8Array;
  private pending: Uint8Array[] = [];

  constructor(bytes: Uint8Array) {
    this.bytes = bytes.slice();
  }

  get view(): DataView {
    return new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  /** Offset the next appended cell will have (from the first hive bin). */
  private nextOffset(): number {
    let offset = this.view.getUint32(40, true) + 32;
    for (const cell of this.pending) offset += cell.byteLength;
    return offset;
  }

  /** Queues an allocated cell with `data`; returns its offset. */
  cell(data: Uint8Array): number {
    const size = Math.ceil((data.byteLength + 4) / 8) * 8;
    const cell = new Uint8Array(size);
    new DataView(cell.buffer).setInt32(0, -size, true);
    cell.set(data, 4);
    const offset = this.nextOffset();
    this.pending.push(cell);
    return offset;
  }

  /** Writes the queued cells as a new hive bin at the end, updates the base block and its checksum. */
  finish(): Uint8Array {
    const binsSize = this.view.getUint32(40, true);
    const used = 32 + this.pending.reduce((total, cell) => total + cell.byteLength, 0);
    const binSize = Math.ceil((used + 8) / 4096) * 4096;
    const bin = new Uint8Array(binSize);
    const binView = new DataView(bin.buffer);
    bin.set(new TextEncoder().encode('hbin'), 0);
    binView.setUint32(4, binsSize, true);
    binView.setUint32(8, binSize, true);
    let position = 32;
    for (const cell of this.pending) {
      bin.set(cell, position);
      position += cell.byteLength;
    }
    // The rest of the bin is one free cell.
    binView.setInt32(position, binSize - position, true);
    const grown = new Uint8Array(4096 + binsSize + binSize);
    grown.set(this.bytes.subarray(0, 4096 + binsSize));
    grown.set(bin, 4096 + binsSize);
    this.bytes = grown;
    this.view.setUint32(40, binsSize + binSize, true);
    withHiveChecksum(this.bytes);
    this.pending = [];
    return this.bytes;
  }

  /** The data of the cell at `offset`. */
  cellData(offset: number): Uint8Array {
    const size = -this.view.getInt32(4096 + offset, true);
    return this.bytes.subarray(4096 + offset + 4, 4096 + offset + size);
  }
}

const ascii = (text: string) => new TextEncoder().encode(text);

describe.skipIf(unavailable !== undefined)('registry hive reader against hivex', () => {
  let directory: string;
  let richPath: string;
  let rich: Uint8Array;

  beforeAll(() => {
    directory = temporaryDirectory('hive');
    richPath = join(directory, 'rich.hive');
    rich = makeHive(richPath, richReg);
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('every key and every value (type and bytes) agrees with hivexregedit --export', async () => {
    await expectAgreesWithHivex(richPath);
  });

  it('decoded values agree with hivexget', async () => {
    const hive = await RegistryHive.open(rich);
    const vendor = await hive.openKey('Software\\Vendor');
    expect(vendor).toBeDefined();
    const key = vendor as RegistryKey;
    const get = (name: string) => runText('hivexget', [richPath, '\\Software\\Vendor', name]).replace(/\n$/, '');
    const value = async (name: string) => {
      const found = await hive.value(key, name);
      expect(found, name).toBeDefined();
      return found as NonNullable<typeof found>;
    };
    for (const name of ['Text', 'Expand', 'Link', 'NoTerminator', 'Empty', 'Ünïcødé 名前']) expect(registryText(await value(name)), name).toBe(get(name));
    expect(registryText(await value(''))).toBe(get('@'));
    // hivexget prints a DWORD as a signed 32-bit number; Windows' DWORD is unsigned.
    expect(String(registryDword(await value('Dword')) | 0)).toBe(get('Dword'));
    expect(registryDword(await value('Dword'))).toBe(0xdeadbeef);
    expect(registryDword(await value('BigEndian'))).toBe(0x01020304);
    expect(String(registryQword(await value('Qword')))).toBe(get('Qword'));
    expect(registryTextList(await value('Multi'))).toEqual(get('Multi').split('\n').filter((line) => line !== ''));
    expect(Buffer.from((await value('Big')).data).equals(Buffer.from(bigBinary))).toBe(true);
    expect((await value('Odd type')).typeName).toBe('REG_0x99');
  });

  it('lookups fold case; paths take \\ or /; missing names are undefined', async () => {
    const hive = await RegistryHive.open(rich);
    const vendor = (await hive.openKey('SOFTWARE/vendor')) as RegistryKey;
    expect(vendor.name).toBe('Vendor');
    expect((await hive.value(vendor, 'tEXT'))?.name).toBe('Text');
    expect((await hive.value(vendor, 'ÜNÏCØDÉ 名前'))?.name).toBe('Ünïcødé 名前');
    expect(await hive.openKey('\\Software\\ünïcødé 键')).toBeDefined();
    expect(await hive.openKey('Software\\Nope')).toBeUndefined();
    expect(await hive.value(vendor, 'Nope')).toBeUndefined();
    expect((await hive.openKey(`Deep\\${deepPath.toUpperCase()}`))?.name).toBe('Level19');
    expect((await hive.openKey('Many\\KEY NUMBER 299'))?.name).toBe('Key number 299');
    const many = (await hive.openKey('Many')) as RegistryKey;
    expect(many.subkeyCount).toBe(300);
    expect(await hive.subkeys(many, 5)).toHaveLength(5);
    expect(await hive.securityDescriptor(many)).toBeInstanceOf(Uint8Array);
  });

  it('reads a hive through a reader, a few cells at a time', async () => {
    const reader = memoryVolume(rich);
    const hive = await RegistryHive.open(reader);
    const key = (await hive.openKey('Many\\Key number 150')) as RegistryKey;
    expect(registryDword((await hive.value(key, 'Index')) as NonNullable<Awaited<ReturnType<typeof hive.value>>>)).toBe(150);
    console.log(`hive of ${rich.byteLength} bytes: ${reader.bytesRead} bytes read to open it and read one value`);
    expect(reader.bytesRead).toBeLessThan(rich.byteLength / 4);
  });

  it('the lh hash is the one hivex writes', async () => {
    const hive = await RegistryHive.open(rich);
    const many = (await hive.openKey('Many')) as RegistryKey;
    const editor = new HiveEditor(rich);
    const list = editor.cellData(many.subkeyList);
    expect(new TextDecoder().decode(list.subarray(0, 2))).toBe('lh');
    const children = await hive.subkeys(many, 1000);
    const view = new DataView(list.buffer, list.byteOffset);
    children.forEach((child, index) => expect(view.getUint32(4 + index * 8 + 4, true)).toBe(nameHash(child.name)));
  });

  describe('list and data layouts hivex reads but does not write', () => {
    const rewrite = async (change: (editor: HiveEditor, hive: RegistryHive) => Promise<void>): Promise<string> => {
      const hive = await RegistryHive.open(rich);
      const editor = new HiveEditor(rich);
      await change(editor, hive);
      const path = join(directory, `rewritten-${Math.random().toString(36).slice(2)}.hive`);
      writeFileSync(path, editor.finish());
      return path;
    };
    /** The subkey offsets of `Many`, in order. */
    const manyOffsets = async (hive: RegistryHive) => (await hive.subkeys((await hive.openKey('Many')) as RegistryKey, 1000)).map((key) => key.offset);
    const setSubkeyList = async (editor: HiveEditor, hive: RegistryHive, list: number) => {
      const many = (await hive.openKey('Many')) as RegistryKey;
      editor.view.setUint32(4096 + many.offset + 4 + 28, list, true);
    };

    it('an lf list (name hints)', async () => {
      const path = await rewrite(async (editor, hive) => {
        const keys = await hive.subkeys((await hive.openKey('Many')) as RegistryKey, 1000);
        const entries = keys.map((key) => concatBytes(u32Bytes(key.offset), ascii(key.name.slice(0, 4))));
        await setSubkeyList(editor, hive, editor.cell(concatBytes(ascii('lf'), u16Bytes(keys.length), ...entries)));
      });
      await expectAgreesWithHivex(path);
      const hive = await RegistryHive.open(new Uint8Array(readFileSync(path)));
      expect((await hive.openKey('many\\key number 7'))?.name).toBe('Key number 7');
    });

    it('an ri list of li lists', async () => {
      const path = await rewrite(async (editor, hive) => {
        const offsets = await manyOffsets(hive);
        const first = editor.cell(concatBytes(ascii('li'), u16Bytes(100), ...offsets.slice(0, 100).map((offset) => u32Bytes(offset))));
        const second = editor.cell(concatBytes(ascii('li'), u16Bytes(offsets.length - 100), ...offsets.slice(100).map((offset) => u32Bytes(offset))));
        await setSubkeyList(editor, hive, editor.cell(concatBytes(ascii('ri'), u16Bytes(2), u32Bytes(first), u32Bytes(second))));
      });
      await expectAgreesWithHivex(path);
      const hive = await RegistryHive.open(new Uint8Array(readFileSync(path)));
      expect((await hive.openKey('Many\\Key number 250'))?.name).toBe('Key number 250');
      expect((await hive.openKey('Many\\Key number 3'))?.name).toBe('Key number 3');
    });

    it('big data in db segments', async () => {
      const path = await rewrite(async (editor, hive) => {
        const vendor = (await hive.openKey('Software\\Vendor')) as RegistryKey;
        const big = (await hive.values(vendor, 100)).find((info) => info.name === 'Big');
        expect(big?.storage).toBe('cell');
        const segments: number[] = [];
        for (let offset = 0; offset < bigBinary.byteLength; offset += REGISTRY_BIG_DATA_SEGMENT_BYTES) {
          segments.push(editor.cell(bigBinary.subarray(offset, offset + REGISTRY_BIG_DATA_SEGMENT_BYTES)));
        }
        const list = editor.cell(concatBytes(...segments.map((offset) => u32Bytes(offset))));
        const db = editor.cell(concatBytes(ascii('db'), u16Bytes(segments.length), u32Bytes(list), u32Bytes(0)));
        // The value now points at the db cell.
        editor.view.setUint32(4096 + (big?.offset as number) + 4 + 8, db, true);
      });
      await expectAgreesWithHivex(path);
      const hive = await RegistryHive.open(new Uint8Array(readFileSync(path)));
      const vendor = (await hive.openKey('Software\\Vendor')) as RegistryKey;
      const big = await hive.value(vendor, 'big');
      expect(big?.storage).toBe('big-data');
      expect(Buffer.from(big?.data as Uint8Array).equals(Buffer.from(bigBinary))).toBe(true);
    });
  });

  describe('damaged hives', () => {
    const reopen = (bytes: Uint8Array) => RegistryHive.open(bytes);
    const withChecksum = withHiveChecksum;

    it('base block: signature, checksum, version, file type', async () => {
      const notRegf = rich.slice();
      notRegf[0] = 0x52;
      expect((await rejectionOf(reopen(notRegf))).code).toBe('CORRUPT');
      const badChecksum = rich.slice();
      badChecksum[100] = (badChecksum[100] as number) ^ 1;
      expect((await rejectionOf(reopen(badChecksum))).message).toMatch(/checksum/);
      const version = rich.slice();
      version[20] = 2;
      expect((await rejectionOf(reopen(withChecksum(version)))).code).toBe('UNSUPPORTED');
      const log = rich.slice();
      log[28] = 1;
      expect((await rejectionOf(reopen(withChecksum(log)))).code).toBe('UNSUPPORTED');
      expect((await rejectionOf(reopen(rich.subarray(0, 3000)))).code).toBe('TRUNCATED');
    });

    it('an ri list inside an ri list, or naming a sublist twice: CORRUPT', async () => {
      const hive = await RegistryHive.open(rich);
      const many = (await hive.openKey('Many')) as RegistryKey;
      for (const shape of ['nested', 'twice', 'self'] as const) {
        const editor = new HiveEditor(rich);
        const inner = many.subkeyList;
        let list: number;
        if (shape === 'nested') {
          const ri = editor.cell(concatBytes(ascii('ri'), u16Bytes(1), u32Bytes(inner)));
          list = editor.cell(concatBytes(ascii('ri'), u16Bytes(1), u32Bytes(ri)));
        } else if (shape === 'twice') {
          list = editor.cell(concatBytes(ascii('ri'), u16Bytes(2), u32Bytes(inner), u32Bytes(inner)));
        } else {
          // The key's subkey list is the key itself.
          list = many.offset;
        }
        editor.view.setUint32(4096 + many.offset + 4 + 28, list, true);
        const damaged = await RegistryHive.open(editor.finish());
        expect((await rejectionOf(damaged.openKey('Many\\Missing'))).code, shape).toBe('CORRUPT');
      }
    });

    it('cell offsets outside the hive bins, free cells, counts past their cells: CORRUPT', async () => {
      const hive = await RegistryHive.open(rich);
      const vendor = (await hive.openKey('Software\\Vendor')) as RegistryKey;
      const at = 4096 + vendor.offset + 4;
      for (const [field, value] of [
        [40, 0x7ffffff8], // value list far outside
        [40, 0x1001], // misaligned
        [36, 1_000_000], // value count beyond its list
      ] as const) {
        const editor = new HiveEditor(rich);
        editor.view.setUint32(at + field, value, true);
        const damaged = await RegistryHive.open(editor.finish());
        const key = (await damaged.openKey('Software\\Vendor')) as RegistryKey;
        expect((await rejectionOf(damaged.values(key, 10))).code).toBe('CORRUPT');
      }
      const free = new HiveEditor(rich);
      free.view.setInt32(4096 + vendor.offset, -free.view.getInt32(4096 + vendor.offset, true), true);
      expect((await rejectionOf((await RegistryHive.open(free.finish())).openKey('Software\\Vendor'))).message).toMatch(/free/);
    });

    it(`a path of more than ${MAX_REGISTRY_PATH_DEPTH} components: LIMIT_EXCEEDED`, async () => {
      const hive = await RegistryHive.open(rich);
      expect((await rejectionOf(hive.openKey('a\\'.repeat(MAX_REGISTRY_PATH_DEPTH + 1)))).code).toBe('LIMIT_EXCEEDED');
    });

    it('byte mutations end in a result or an IntrospectionError', async () => {
      // Mutations inside the hive bins that hold keys, lists and values (the large binary value is left alone).
      const small = makeHive(join(directory, 'small.hive'), `Windows Registry Editor Version 5.00\n\n${regSection('\\A', ['@="x"', '"B"=dword:00000001', '"C"=hex(7):61,00,00,00,00,00'])}${regSection('\\A\\B')}${regSection('\\A\\B\\C', ['"D"=hex:01,02'])}${regSection('\\E')}`);
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: small.byteLength - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 }), async (mutations) => {
          const bytes = small.slice();
          for (const [offset, value] of mutations) bytes[offset] = value;
          // Half the runs keep a valid checksum so that the mutations reach the cells.
          if (mutations.length % 2 === 0) withChecksum(bytes);
          await resultOrIntrospectionError(async () => {
            const hive = await RegistryHive.open(bytes);
            let keys = 0;
            const visit = async (key: RegistryKey, depth: number): Promise<void> => {
              keys += 1;
              for (const info of await hive.values(key, 64)) await hive.valueData(info, 1 << 20);
              if (depth >= 6 || keys > 200) return;
              for (const child of await hive.subkeys(key, 64)) await visit(child, depth + 1);
            };
            await visit(await hive.root(), 0);
            await hive.openKey('A\\B\\C');
          });
        }),
        { numRuns: 400, seed: 7 },
      );
    });
  });
});
