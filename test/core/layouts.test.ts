/**
 * The layout generator (scripts/generate-layouts.mjs): what it emits for each feature of the
 * description language, run on bytes laid out by hand, and that the code it ships is
 * binary-parser's own, unmodified.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isIntrospectionError } from '../../src/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// binary-parser's package gives no types to an ES module import under node16 resolution.
const { Parser } = createRequire(import.meta.url)('binary-parser');

interface GeneratedText {
  typescript: string;
  javascript: string;
  declarations: string;
}
type CompileLayouts = (sourceName: string, descriptions: unknown[], options?: { source?: string }) => GeneratedText;

/** A test layout file exercising every feature of the description language. */
const descriptions = [
  {
    name: 'PairEntry', endianness: ['little', 'big'], size: 4,
    doc: 'Two 16-bit numbers.',
    fields: `
      first  | u16 | first
      second | u16 | second
    `,
  },
  {
    name: 'SampleHeader', field: 'sample header', endianness: 'big', size: 34,
    doc: 'A header with every kind of field.',
    fields: `
      magic   | bytes[4] = "SMP\x01" else 'no sample magic' | magic
      version | u16                                      | 1 or 2
      kind    | u8 enum SampleKind (1 plain, 2 fancy)    | kind
      -       | skip[1]
      extra   | u32le if version = 2                     | version 2 only, little-endian
      size    | u64                                      | a 64-bit size
      pairs   | PairEntry[2]                             | two pairs
      tail    | u16 if version = 2, 3                    | versions 2 and 3 | with a bar in its meaning
      label   | latin1[4] nul-stripped                   | text
    `,
  },
  {
    name: 'Marker', field: 'marker', endianness: ['little', 'big'], size: 6,
    doc: 'An integer magic in either byte order.',
    fields: `
      magic | u32 = 0x82564557 | magic
      value | i16              | signed
    `,
  },
];

let compileLayouts: CompileLayouts;
let directory: string;
/** The generated TypeScript module for `descriptions`, loaded. */
let sample: Record<string, unknown>;

function call<T>(name: string, ...args: unknown[]): T {
  const fn = sample[name];
  if (typeof fn !== 'function') throw new Error(`${name} is not generated`);
  return fn(...args) as T;
}

function errorOf(action: () => unknown): { code: string; field: string | undefined; message: string } {
  try {
    action();
  } catch (error) {
    if (!isIntrospectionError(error)) throw error;
    return { code: error.code, field: error.field, message: error.reason };
  }
  throw new Error('expected an IntrospectionError');
}

/** SampleHeader bytes, laid out by hand: version 1 (no conditional fields) or 2 (both). */
function sampleBytes(version: 1 | 2): Uint8Array {
  const bytes: number[] = [0x53, 0x4d, 0x50, 0x01, 0x00, version, 0x02, 0xee];
  if (version === 2) bytes.push(0x78, 0x56, 0x34, 0x12); // extra = 0x12345678, little-endian
  bytes.push(0, 0, 0, 0x01, 0, 0, 0, 0x02); // size = 2^32 + 2
  bytes.push(0x00, 0x05, 0x00, 0x06, 0x00, 0x07, 0x00, 0x08); // pairs, big-endian
  if (version === 2) bytes.push(0x01, 0x02); // tail = 0x0102
  bytes.push(0x41, 0x42, 0x00, 0x00); // "AB" and NUL padding
  return Uint8Array.from(bytes);
}

beforeAll(async () => {
  const generator: { compileLayouts: CompileLayouts } = await import(pathToFileURL(join(root, 'scripts', 'generate-layouts.mjs')).href);
  compileLayouts = generator.compileLayouts;
  directory = mkdtempSync(join(tmpdir(), 'layouts-'));
  const output = compileLayouts('sample.mjs', descriptions, { source: join(root, 'src') });
  writeFileSync(join(directory, 'sample.ts'), output.typescript);
  writeFileSync(join(directory, 'sample.compiled.js'), output.javascript);
  writeFileSync(join(directory, 'sample.compiled.d.ts'), output.declarations);
  sample = await import(pathToFileURL(join(directory, 'sample.ts')).href);
});

afterAll(() => {
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
});

describe('generated decoders', () => {
  it('decode every field kind of a hand-laid structure, conditional fields absent', () => {
    expect(call('decodeSampleHeader', sampleBytes(1))).toEqual({
      magic: Uint8Array.from([0x53, 0x4d, 0x50, 0x01]),
      version: 1,
      kind: 2,
      size: 2n ** 32n + 2n,
      pairs: [
        { first: 5, second: 6 },
        { first: 7, second: 8 },
      ],
      label: 'AB',
    });
    expect(sample.SAMPLE_HEADER_SIZE).toBe(34);
    expect(sample.SAMPLE_HEADER_MIN_SIZE).toBe(28);
  });

  it('decode conditional fields when the earlier field says so, whatever their own byte order', () => {
    const header = call<Record<string, unknown>>('decodeSampleHeader', sampleBytes(2));
    expect(header.extra).toBe(0x12345678);
    expect(header.tail).toBe(0x0102);
    expect(header.size).toBe(2n ** 32n + 2n);
    expect(header.label).toBe('AB');
  });

  it('refuse bytes shorter than the fields present with TRUNCATED, naming the size they need', () => {
    expect(errorOf(() => call('decodeSampleHeader', sampleBytes(1).subarray(0, 27)))).toEqual({
      code: 'TRUNCATED',
      field: 'sample header',
      message: 'needs 28 bytes, got 27',
    });
    // Version 2 needs its conditional fields too: 28 bytes are not enough.
    expect(errorOf(() => call('decodeSampleHeader', sampleBytes(2).subarray(0, 28)))).toEqual({
      code: 'TRUNCATED',
      field: 'sample header',
      message: 'needs 34 bytes, got 28',
    });
    expect(call('matchSampleHeader', sampleBytes(2).subarray(0, 33))).toBeUndefined();
  });

  it('check fixed contents: CORRUPT naming the field, or undefined from match', () => {
    const wrong = sampleBytes(1);
    wrong[3] = 0x02;
    expect(errorOf(() => call('decodeSampleHeader', wrong))).toEqual({ code: 'CORRUPT', field: 'sample header.magic', message: 'no sample magic' });
    expect(call('matchSampleHeader', wrong)).toBeUndefined();
    expect(call<Record<string, unknown>>('matchSampleHeader', sampleBytes(1))?.version).toBe(1);
    expect(sample.SAMPLE_HEADER_MAGIC).toBe('SMP\x01');
  });

  it('name enum values in a map typed by the emitted union', () => {
    const kinds = sample.SAMPLE_KINDS as ReadonlyMap<number, string>;
    expect([...kinds]).toEqual([
      [1, 'plain'],
      [2, 'fancy'],
    ]);
    expect(kinds.get(3)).toBeUndefined();
  });

  it('give a layout with both byte orders one decoder for each, integer contents checked in that order', () => {
    const little = Uint8Array.from([0x57, 0x45, 0x56, 0x82, 0xfe, 0xff]);
    const big = Uint8Array.from([0x82, 0x56, 0x45, 0x57, 0xff, 0xfe]);
    expect(call('decodeMarkerLe', little)).toEqual({ magic: 0x82564557, value: -2 });
    expect(call('decodeMarkerBe', big)).toEqual({ magic: 0x82564557, value: -2 });
    expect(call('matchMarkerBe', little)).toBeUndefined();
    expect(call('matchMarkerLe', big)).toBeUndefined();
    expect(errorOf(() => call('decodeMarkerLe', big))).toMatchObject({ code: 'CORRUPT', field: 'marker.magic' });
    expect(call('decodePairEntryBe', Uint8Array.from([0, 1, 0, 2]))).toEqual({ first: 1, second: 2 });
    expect(call('decodePairEntryLe', Uint8Array.from([0, 1, 0, 2]))).toEqual({ first: 256, second: 512 });
  });
});

describe('generated code', () => {
  it("is binary-parser's getCode() output, unmodified, in the function binary-parser's compile() builds", () => {
    const output = compileLayouts('sample.mjs', descriptions);
    const pairBig = new Parser().uint16be('first').uint16be('second');
    const sampleParser = new Parser()
      .create(class {})
      .buffer('magic', { length: 4 })
      .uint16be('version')
      .uint8('kind')
      .seek(1)
      .choice({ tag: 'version', choices: { 2: new Parser().uint32le('extra') }, defaultChoice: new Parser() })
      .uint64be('size')
      .array('pairs', { type: pairBig, length: 2 })
      .choice({ tag: 'version', choices: { 2: new Parser().uint16be('tail'), 3: new Parser().uint16be('tail') }, defaultChoice: new Parser() })
      .string('label', { length: 4, encoding: 'latin1', stripNull: true });
    expect(output.javascript).toContain(`const parseSampleHeader = function (buffer, constructorFn) {\n${sampleParser.getCode()}};`);
    // Called as binary-parser's parse() calls it: with the constructor given to create().
    expect(output.javascript).toContain('export const compiledSampleHeader = (buffer) => parseSampleHeader(buffer, DecodedLayout);');
    expect(output.javascript).not.toMatch(/new Function\s*\(|\beval\s*\(/);
    expect(output.declarations).toContain('export declare function compiledSampleHeader(buffer: Uint8Array): SampleHeader;');
  });

  it("gives objects without binary-parser's $parent and $root (deleting them would make the objects slow dictionaries)", () => {
    const header = call<object>('decodeSampleHeader', sampleBytes(1));
    expect(Object.getOwnPropertyNames(header)).toEqual(['magic', 'version', 'kind', 'size', 'pairs', 'label']);
    expect(JSON.parse(JSON.stringify(header, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value))).version).toBe(1);
  });

  it('refuses descriptions it cannot honour', () => {
    const layout = (fields: string, size?: number) => [{ name: 'Bad', endianness: 'little', size, fields }];
    expect(() => compileLayouts('bad.mjs', layout('a | u24'))).toThrow(/no such layout/);
    expect(() => compileLayouts('bad.mjs', layout('a | u8 if b = 1'))).toThrow(/earlier/);
    expect(() => compileLayouts('bad.mjs', layout('a | bytes[2] = "abc"'))).toThrow(/2 bytes/);
    expect(() => compileLayouts('bad.mjs', layout('a | u8 = "x" then'))).toThrow(/cannot read the field row/);
    expect(() => compileLayouts('bad.mjs', layout('v | u8\na | u8 if v = 1\nm | u8 = 0x1'))).toThrow(/before every conditional field/);
    expect(() => compileLayouts('bad.mjs', layout('a | u16', 3))).toThrow(/add up to 2/);
    expect(() => compileLayouts('bad.mjs', [{ name: 'Bad', endianness: 'little', fields: [{ name: 'a', type: 'u8' }] }])).toThrow(/a table/);
  });

  it('in formats/generated is what the descriptions give (npm run generate has been run)', async () => {
    for (const file of readdirSync(join(root, 'scripts', 'layouts')).filter((name) => name.endsWith('.mjs'))) {
      const described: { default: unknown[] } = await import(pathToFileURL(join(root, 'scripts', 'layouts', file)).href);
      const output = compileLayouts(file, described.default);
      const base = join(root, 'formats', 'generated', basename(file, '.mjs'));
      expect(readFileSync(`${base}.ts`, 'utf8')).toBe(output.typescript);
      expect(readFileSync(`${base}.compiled.js`, 'utf8')).toBe(output.javascript);
      expect(readFileSync(`${base}.compiled.d.ts`, 'utf8')).toBe(output.declarations);
    }
  });
});
