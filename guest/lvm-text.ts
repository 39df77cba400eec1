/**
 * A small, bounded parser for LVM2's text metadata format (the `dm_config` syntax that
 * `vgcfgbackup` writes and that LVM keeps in each PV's metadata area):
 *
 * ```text
 * vg0 {                          # a section
 *     id = "Yd3f0S-..."          # key = string
 *     seqno = 5                  # key = number
 *     status = ["RESIZEABLE", "READ", "WRITE"]   # key = array of strings and numbers
 *     physical_volumes { pv0 { ... } }
 * }
 * contents = "Text Format Volume Group"
 * ```
 *
 * Strings are double-quoted (LVM escapes `"` and `\` with a backslash; single quotes are
 * accepted too), `#` starts a comment, and the text ends at its first NUL (LVM stores the
 * terminating NUL in the metadata area). Where a key repeats within a section the first
 * one counts, as in LVM's lookups.
 *
 * @module
 */
import { fieldError } from '../src/errors.js';

/** Deepest nesting of sections (LVM's metadata nests five deep: VG, logical_volumes, LV, segment). */
export const MAX_LVM_SECTION_DEPTH = 32;
/** Most keys and sections in one text (bounds the work on a crafted text of tiny tokens). */
export const MAX_LVM_CONFIG_NODES = 1 << 20;
/** Most values in one array (a segment's `stripes` lists two per stripe). */
export const MAX_LVM_ARRAY_VALUES = 1 << 16;

/** A scalar value: a string or a number. */
export type LvmScalar = string | number;
/** A value: a scalar or a flat array of scalars. */
export type LvmValue = LvmScalar | LvmScalar[];

/** A section: its values and subsections, by name, in text order. */
export interface LvmSection {
  readonly name: string;
  readonly values: Map<string, LvmValue>;
  readonly sections: Map<string, LvmSection>;
}

type Token =
  | { kind: 'punct'; value: '{' | '}' | '[' | ']' | ',' | '='; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'number'; value: number; at: number }
  | { kind: 'word'; value: string; at: number }
  | { kind: 'end'; at: number };

const PUNCTUATION = new Set(['{', '}', '[', ']', ',', '=']);
const NUMBER = /^[+-]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d || code === 0x0b || code === 0x0c;
}

/** Splits the text into tokens, one at a time. */
class Tokenizer {
  private position = 0;

  constructor(private readonly text: string) {}

  next(): Token {
    const { text } = this;
    for (;;) {
      while (this.position < text.length && isSpace(text.charCodeAt(this.position))) this.position += 1;
      if (text[this.position] !== '#') break;
      while (this.position < text.length && text[this.position] !== '\n') this.position += 1;
    }
    const at = this.position;
    if (at >= text.length) return { kind: 'end', at };
    const char = text[at] as string;
    if (PUNCTUATION.has(char)) {
      this.position += 1;
      return { kind: 'punct', value: char as '{', at };
    }
    if (char === '"' || char === "'") return { kind: 'string', value: this.quoted(char), at };
    let end = at;
    while (end < text.length && !isSpace(text.charCodeAt(end)) && !PUNCTUATION.has(text[end] as string) && text[end] !== '#' && text[end] !== '"' && text[end] !== "'") end += 1;
    this.position = end;
    const word = text.slice(at, end);
    if (NUMBER.test(word)) {
      const value = Number(word);
      if (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value))) {
        throw fieldError('CORRUPT', 'metadata text', `number ${word} at character ${at} is too large`);
      }
      return { kind: 'number', value, at };
    }
    return { kind: 'word', value: word, at };
  }

  private quoted(quote: string): string {
    const { text } = this;
    const start = this.position;
    let value = '';
    let index = start + 1;
    for (;;) {
      if (index >= text.length) throw fieldError('CORRUPT', 'metadata text', `the string opened at character ${start} does not end`);
      const char = text[index] as string;
      if (char === quote) break;
      if (char === '\\' && index + 1 < text.length) {
        value += text[index + 1];
        index += 2;
        continue;
      }
      value += char;
      index += 1;
    }
    this.position = index + 1;
    return value;
  }
}

/** Parses LVM2 metadata text (up to its first NUL) into its top-level section (named `''`). */
export function parseLvmText(text: string): LvmSection {
  const nul = text.indexOf('\0');
  const tokens = new Tokenizer(nul === -1 ? text : text.slice(0, nul));
  const budget = { nodes: 0 };
  const root = parseSection('', tokens, 0, budget);
  return root;
}

function newSection(name: string): LvmSection {
  return { name, values: new Map(), sections: new Map() };
}

/** Parses `name = value` and `name { ... }` items until `}` (or the end, at the top level). */
function parseSection(name: string, tokens: Tokenizer, depth: number, budget: { nodes: number }): LvmSection {
  if (depth > MAX_LVM_SECTION_DEPTH) throw fieldError('LIMIT_EXCEEDED', 'metadata text', `sections nest deeper than ${MAX_LVM_SECTION_DEPTH}`);
  const section = newSection(name);
  for (;;) {
    const token = tokens.next();
    if (token.kind === 'end') {
      if (depth > 0) throw fieldError('CORRUPT', 'metadata text', `section ${name} is not closed`);
      return section;
    }
    if (token.kind === 'punct' && token.value === '}') {
      if (depth === 0) throw fieldError('CORRUPT', 'metadata text', `an unmatched } at character ${token.at}`);
      return section;
    }
    if (token.kind !== 'word' && token.kind !== 'number' && token.kind !== 'string') {
      throw fieldError('CORRUPT', 'metadata text', `expected a name at character ${token.at}`);
    }
    budget.nodes += 1;
    if (budget.nodes > MAX_LVM_CONFIG_NODES) throw fieldError('LIMIT_EXCEEDED', 'metadata text', `more than ${MAX_LVM_CONFIG_NODES} keys and sections`);
    const key = String(token.value);
    const after = tokens.next();
    if (after.kind === 'punct' && after.value === '{') {
      const child = parseSection(key, tokens, depth + 1, budget);
      if (!section.sections.has(key)) section.sections.set(key, child);
      continue;
    }
    if (after.kind !== 'punct' || after.value !== '=') throw fieldError('CORRUPT', 'metadata text', `expected = or { after ${key} at character ${after.at}`);
    const value = parseValue(tokens);
    if (!section.values.has(key)) section.values.set(key, value);
  }
}

function parseValue(tokens: Tokenizer): LvmValue {
  const token = tokens.next();
  if (token.kind === 'string' || token.kind === 'number' || token.kind === 'word') return token.value;
  if (token.kind !== 'punct' || token.value !== '[') throw fieldError('CORRUPT', 'metadata text', `expected a value at character ${token.at}`);
  const values: LvmScalar[] = [];
  for (;;) {
    const item = tokens.next();
    if (item.kind === 'punct' && item.value === ']') return values;
    if (item.kind === 'punct' && item.value === ',' && values.length > 0) continue;
    if (item.kind !== 'string' && item.kind !== 'number' && item.kind !== 'word') throw fieldError('CORRUPT', 'metadata text', `expected an array value at character ${item.at}`);
    if (values.length >= MAX_LVM_ARRAY_VALUES) throw fieldError('LIMIT_EXCEEDED', 'metadata text', `an array of more than ${MAX_LVM_ARRAY_VALUES} values`);
    values.push(item.value);
  }
}
