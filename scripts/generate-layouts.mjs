#!/usr/bin/env node
// Compiles the fixed-layout descriptions in scripts/layouts/*.mjs into typed decoders under
// formats/generated/, with binary-parser, at build time.
//
// Why build time: binary-parser builds its parsers with `new Function`, which a browser page
// with a Content-Security-Policy forbids. Its public `getCode()` gives the same parser as
// source text, so we write that text out once and ship no binary-parser and no `new Function`.
//
// How, without editing binary-parser's code: `getCode()` is the body of a JavaScript
// function. binary-parser's own `compile()` does nothing else with it than
//   new Function('imports', 'TextDecoder', `return function (buffer, constructorFn) { ${code} };`)
// so each layout's code is written, unmodified, as the body of exactly that function, in a
// JavaScript module (`<name>.compiled.js`) whose scope has the global `TextDecoder`. The
// descriptions are data (no functions), so the code never refers to `imports`; the generator
// refuses a layout whose code would. JavaScript is not type-checked, so the text needs no
// rewriting; its types come from a declaration file written beside it
// (`<name>.compiled.d.ts`): the one place where untyped code meets TypeScript, stating what
// the description makes the code return. Everything else is checked TypeScript
// (`<name>.ts`): the interfaces, the size and contents constants, the enum unions, and the
// decode functions that check lengths and fixed contents before calling the compiled code.
//
// The description language (docs/writing-a-format.md has the reference). Per layout: name,
// field (the name errors give), endianness ('little', 'big', or ['little', 'big'] for a
// structure whose byte order is found at run time), size, doc, and fields: a table, one field
// per line, `name | type | meaning`, where the type is
//   u8 u16 u32 u64 i8 i16 i32 i64 (u32le, u32be: another byte order than the layout's)
//   bytes[n]  latin1[n] (nul-stripped)  skip[n] (name -)  Layout[n] (an array)  Layout (nested)
// followed by any of (in this order)
//   = "text" | = [7f 10 da be] | = 0xdabe    the field must hold this (a magic, "contents")
//   else 'message'                          the CORRUPT message when it does not
//   enum TypeName (1 one, 2 two)            names for an integer's values
//   if otherField = 1, 2                    present only when an earlier field says so
//
// Usage: node scripts/generate-layouts.mjs          (write)
//        node scripts/generate-layouts.mjs --check  (exit 1 if a generated file is stale)
import { readdirSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Parser } from 'binary-parser';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const layoutsDirectory = join(root, 'scripts', 'layouts');
const outputDirectory = join(root, 'formats', 'generated');

/** Integer kinds: [binary-parser method without endianness, TypeScript type, byte size, signed]. */
const integerKinds = {
  u8: ['uint8', 'number', 1, false],
  u16: ['uint16', 'number', 2, false],
  u32: ['uint32', 'number', 4, false],
  u64: ['uint64', 'bigint', 8, false],
  i8: ['int8', 'number', 1, true],
  i16: ['int16', 'number', 2, true],
  i32: ['int32', 'number', 4, true],
  i64: ['int64', 'bigint', 8, true],
};

const ENDIAN_SUFFIX = { little: 'le', big: 'be' };

function fail(layout, field, message) {
  throw new Error(`${layout.name}${field?.name ? `.${field.name}` : ''}: ${message}`);
}

/** A TypeScript string literal in the house style: single quotes, other than printable ASCII escaped. */
function quote(text) {
  const escape = (character) => {
    const code = character.charCodeAt(0);
    if (character === "'" || character === '\\') return `\\${character}`;
    if (code >= 0x20 && code < 0x7f) return character;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  };
  return `'${[...text].map(escape).join('')}'`;
}

function constantName(name) {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

// ---------------------------------------------------------------------------------------
// The description, checked and completed

function integerKind(type) {
  const match = /^(u|i)(8|16|32|64)(le|be)?$/.exec(type);
  if (!match) return undefined;
  const [method, tsType, size, signed] = integerKinds[match[1] + match[2]];
  return { method, tsType, size, signed, fixedEndian: size === 1 ? undefined : match[3] };
}

/** The byte pattern of an integer `value` of `size` bytes. */
function integerBytes(value, size, endian) {
  let big = BigInt(value);
  if (big < 0n) big += 1n << BigInt(size * 8);
  const bytes = [];
  for (let index = 0; index < size; index += 1) bytes.push(Number((big >> BigInt(index * 8)) & 0xffn));
  return endian === 'le' ? bytes : bytes.reverse();
}

function normalizeCondition(layout, field, condition, earlier) {
  if (condition === undefined) return undefined;
  const keys = Object.keys(condition);
  if (keys.length !== 1) fail(layout, field, '`if` names exactly one earlier field');
  const [key] = keys;
  const tag = earlier.find((candidate) => candidate.name === key);
  if (tag === undefined || tag.kind !== 'integer' || tag.condition !== undefined || tag.tsType !== 'number') {
    fail(layout, field, `\`if\` must name an earlier unconditional integer field below 64 bits, not ${key}`);
  }
  const values = [condition[key]].flat();
  if (values.length === 0 || !values.every(Number.isInteger)) fail(layout, field, '`if` values are integers');
  return { field: key, values };
}

function sameCondition(left, right) {
  if (left === undefined || right === undefined) return left === right;
  return left.field === right.field && left.values.join() === right.values.join();
}

// ---------------------------------------------------------------------------------------
// The field table: one field per line, `name | type | meaning`

/** Splits `text` at `separator` outside quotes, brackets and parentheses, at most `limit` times. */
function splitOutside(text, separator, limit) {
  const parts = [];
  let depth = 0;
  let quote;
  let start = 0;
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index];
    if (quote !== undefined) {
      if (character === quote) quote = undefined;
    } else if (character === '"' || character === "'") {
      quote = character;
    } else if (character === '[' || character === '(') {
      depth += 1;
    } else if (character === ']' || character === ')') {
      depth -= 1;
    } else if (character === separator && depth === 0 && parts.length < limit) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim());
}

const TYPE_CELL = new RegExp(
  [
    /^(?<base>[A-Za-z][A-Za-z0-9]*)(?:\[(?<count>\d+)\])?/.source,
    /(?<stripNul>\s+nul-stripped)?/.source,
    /(?:\s*=\s*(?<contents>"[^"]*"|0x[0-9a-fA-F]+|\d+|\[[0-9a-fA-F ]*\]))?/.source,
    /(?:\s+else\s+'(?<mismatch>[^']*)')?/.source,
    /(?:\s+enum\s+(?<enumType>[A-Z][A-Za-z0-9]*)\s*\((?<enumValues>[^)]*)\))?/.source,
    /(?:\s+if\s+(?<ifField>[a-z][A-Za-z0-9]*)\s*=\s*(?<ifValues>[0-9a-fA-Fx, ]+))?$/.source,
  ].join(''),
);

function parseInteger(text) {
  return Number(text.trim());
}

/**
 * One row of a field table as a field object:
 *
 *   name   | type                                   | meaning
 *   magic  | bytes[4] = "QFI\xfb"                   | a magic: the field must hold these bytes
 *   sig    | bytes[4] = [7f 10 da be]                | the same as a byte list
 *   cookie | bytes[8] = "conectix" else 'message'   | with the CORRUPT message when it does not
 *   kind   | u32 enum DiskType (2 fixed, 3 dynamic)  | names for the values
 *   extra  | u32 if version = 2, 3                  | present only when an earlier field says so
 *   label  | latin1[8] nul-stripped                 | text, trailing NULs removed
 *   parts  | Entry[4]                               | an array of an earlier layout; `Entry` alone: one, nested
 *   -      | skip[12]                               | reserved
 */
function parseFieldRow(row, layoutName) {
  const [name, typeCell, doc] = splitOutside(row, '|', 2);
  const match = TYPE_CELL.exec(typeCell ?? '');
  if (match === null || name === undefined || name === '') throw new Error(`${layoutName}: cannot read the field row "${row}"`);
  const { base, count, stripNul, contents, mismatch, enumType, enumValues, ifField, ifValues } = match.groups;
  const field = {};
  if (name !== '-') field.name = name;
  const length = count === undefined ? undefined : Number(count);
  if (integerKind(base) !== undefined) {
    field.type = base;
  } else if (base === 'bytes' || base === 'latin1' || base === 'skip') {
    Object.assign(field, { type: base, length });
  } else {
    Object.assign(field, length === undefined ? { type: 'layout', of: base } : { type: 'array', of: base, count: length });
  }
  if (stripNul !== undefined) field.stripNul = true;
  if (contents !== undefined) {
    if (contents.startsWith('"')) field.contents = contents.slice(1, -1);
    else if (contents.startsWith('[')) field.contents = contents.slice(1, -1).trim().split(/\s+/).map((byte) => Number.parseInt(byte, 16));
    else field.contents = parseInteger(contents);
  }
  if (mismatch !== undefined) field.mismatch = mismatch;
  if (enumType !== undefined) {
    const values = Object.fromEntries(enumValues.split(',').map((entry) => entry.trim().split(/\s+/)).map(([value, valueName]) => [parseInteger(value), valueName]));
    field.enum = { type: enumType, values };
  }
  if (ifField !== undefined) {
    const values = ifValues.split(',').map(parseInteger);
    field.if = { [ifField]: values.length === 1 ? values[0] : values };
  }
  if (doc) field.doc = doc;
  return field;
}

/** A layout's field table (a template literal, one field per line) as field objects. */
function fieldObjects(layout) {
  if (typeof layout.fields !== 'string') throw new Error(`${layout.name}: fields is a table, one field per line`);
  return layout.fields
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => parseFieldRow(line, layout.name));
}

/** A layout description, checked, with sizes and offsets worked out. */
function normalizeLayout(description, byName) {
  const layout = { ...description };
  if (!/^[A-Z][A-Za-z0-9]*$/.test(layout.name ?? '')) throw new Error(`layout name ${layout.name} is not PascalCase`);
  layout.endiannesses = [layout.endianness].flat();
  if (layout.endiannesses.length === 0 || !layout.endiannesses.every((endian) => endian in ENDIAN_SUFFIX)) {
    fail(layout, undefined, `endianness must be 'little', 'big' or both, not ${layout.endianness}`);
  }
  layout.errorField = layout.field ?? layout.name;
  const fields = [];
  let offset = 0;
  let minSize = 0;
  let fixed = true;
  for (const described of fieldObjects(layout)) {
    const field = { ...described };
    const integer = integerKind(field.type);
    if (integer) {
      Object.assign(field, { kind: 'integer', ...integer });
    } else if (field.type === 'bytes' || field.type === 'latin1' || field.type === 'skip') {
      if (!Number.isInteger(field.length) || field.length <= 0) fail(layout, field, 'needs a positive length');
      Object.assign(field, { kind: field.type, size: field.length, tsType: field.type === 'bytes' ? 'Uint8Array' : 'string' });
    } else if (field.type === 'array' || field.type === 'layout') {
      const element = byName.get(field.of);
      if (element === undefined) fail(layout, field, `${field.type} of ${field.of}: no such layout earlier in this file`);
      if (element.minSize !== element.size) fail(layout, field, `${field.type} of ${field.of}: it must have a fixed size`);
      if (!layout.endiannesses.every((endian) => element.endiannesses.includes(endian))) {
        fail(layout, field, `${field.type} of ${field.of}: that layout must allow every byte order of this one`);
      }
      if (field.type === 'layout') {
        Object.assign(field, { kind: 'layout', element, size: element.size, tsType: element.name });
      } else {
        if (!Number.isInteger(field.count) || field.count <= 0) fail(layout, field, 'needs a positive count');
        Object.assign(field, { kind: 'array', element, size: field.count * element.size, tsType: `${element.name}[]` });
      }
    } else {
      fail(layout, field, `unknown field type ${field.type}`);
    }
    if (field.kind !== 'skip' && !/^[a-z][A-Za-z0-9]*$/.test(field.name ?? '')) fail(layout, field, 'needs a camelCase name');
    field.condition = normalizeCondition(layout, field, field.if, fields);
    if (field.condition !== undefined) fixed = false;
    field.offset = offset;
    field.fixedOffset = fixed ? offset : undefined;
    offset += field.size;
    if (field.condition === undefined) minSize += field.size;
    if (field.contents !== undefined) normalizeContents(layout, field);
    if (field.enum !== undefined) normalizeEnum(layout, field);
    fields.push(field);
  }
  layout.fields = fields;
  layout.size = offset;
  layout.minSize = minSize;
  if (description.size !== undefined && description.size !== offset) {
    fail(layout, undefined, `fields add up to ${offset} bytes, the layout says ${description.size}`);
  }
  layout.groups = conditionalGroups(layout);
  layout.contentsFields = fields.filter((field) => field.contents !== undefined);
  return layout;
}

function normalizeContents(layout, field) {
  if (field.fixedOffset === undefined) fail(layout, field, 'a field with contents must come before every conditional field');
  const contents = field.contents;
  if (field.kind === 'integer') {
    if (typeof contents !== 'number' && typeof contents !== 'bigint') fail(layout, field, 'integer contents are a number');
    field.contentsText = `0x${BigInt(contents).toString(16)}`;
    field.pattern = (endian) => integerBytes(contents, field.size, field.fixedEndian ?? ENDIAN_SUFFIX[endian]);
  } else if (field.kind === 'bytes') {
    const bytes = typeof contents === 'string' ? [...contents].map((character) => character.charCodeAt(0)) : contents;
    if (!Array.isArray(bytes) || bytes.length !== field.length || !bytes.every((byte) => Number.isInteger(byte) && byte >= 0 && byte <= 255)) {
      fail(layout, field, `contents must be ${field.length} bytes (a Latin-1 string or a byte list)`);
    }
    field.contentsText = typeof contents === 'string' ? `"${quote(contents).slice(1, -1)}"` : `[${bytes.map((byte) => `0x${byte.toString(16).padStart(2, '0')}`).join(' ')}]`;
    field.pattern = () => bytes;
  } else {
    fail(layout, field, 'contents apply to integer and bytes fields');
  }
  field.mismatch ??= `is not ${field.contentsText}`;
  field.constant = `${constantName(layout.name)}_${constantName(field.name)}`;
}

function normalizeEnum(layout, field) {
  const { type, values } = field.enum;
  if (field.kind !== 'integer' || field.tsType !== 'number') fail(layout, field, 'an enum is an integer field below 64 bits');
  if (!/^[A-Z][A-Za-z0-9]*$/.test(type ?? '')) fail(layout, field, 'enum.type is a PascalCase type name');
  const entries = Object.entries(values ?? {}).map(([value, name]) => [Number(value), name]);
  if (entries.length === 0 || !entries.every(([value, name]) => Number.isInteger(value) && typeof name === 'string')) {
    fail(layout, field, 'enum.values maps integers to names');
  }
  field.enumInfo = { type, constant: `${constantName(type)}S`, entries };
}

/** Runs of consecutive fields under the same condition. */
function conditionalGroups(layout) {
  const groups = [];
  for (const field of layout.fields) {
    if (field.condition === undefined) continue;
    const last = groups.at(-1);
    if (last !== undefined && last.fields.at(-1) === layout.fields[layout.fields.indexOf(field) - 1] && sameCondition(last.condition, field.condition)) {
      last.fields.push(field);
      last.size += field.size;
    } else {
      groups.push({ condition: field.condition, fields: [field], size: field.size });
    }
  }
  return groups;
}

// ---------------------------------------------------------------------------------------
// binary-parser: one parser per layout and byte order

function addField(parser, field, endian) {
  switch (field.kind) {
    case 'integer':
      return parser[field.method + (field.size === 1 ? '' : (field.fixedEndian ?? ENDIAN_SUFFIX[endian]))](field.name);
    case 'bytes':
      return parser.buffer(field.name, { length: field.length });
    case 'latin1':
      return parser.string(field.name, { length: field.length, encoding: 'latin1', stripNull: Boolean(field.stripNul) });
    case 'skip':
      return parser.seek(field.length);
    case 'array':
      return parser.array(field.name, { type: buildParser(field.element, endian, false), length: field.count });
    case 'layout':
      return parser.nest(field.name, { type: buildParser(field.element, endian, false) });
    default:
      throw new Error(`unknown kind ${field.kind}`);
  }
}

/**
 * The objects a layout decodes to are made by this constructor, through binary-parser's
 * `create()`. binary-parser's code gives every object it returns a `$parent` and a `$root`
 * (context for nested parsers, which these layouts do not use) and deletes them before
 * returning it; in V8, deleting a property turns an object into a slow dictionary, which
 * made every decode (and every later field access) several times slower. Setters on the
 * prototype take the two assignments instead, so the deletes find nothing to delete. The
 * generated module defines the same class (DECODED_LAYOUT_CLASS) and passes it, as
 * binary-parser's own `parse()` passes the constructor given to `create()`.
 */
class DecodedLayout {
  set $parent(value) {}
  set $root(value) {}
}

const DECODED_LAYOUT_CLASS = `/**
 * The constructor of every decoded layout (binary-parser's \`create()\`): the setters take the
 * \`$parent\` and \`$root\` binary-parser's code assigns and later deletes, so that the object
 * never gets them, and stays a fast object.
 */
class DecodedLayout {
  set $parent(value) {}
  set $root(value) {}
}`;

function buildParser(layout, endian, root = true) {
  let parser = root ? new Parser().create(DecodedLayout) : new Parser();
  for (let index = 0; index < layout.fields.length; ) {
    const field = layout.fields[index];
    const group = layout.groups.find((candidate) => candidate.fields[0] === field);
    if (group === undefined) {
      parser = addField(parser, field, endian);
      index += 1;
      continue;
    }
    // A conditional run is binary-parser's `choice` on the tag field: the run's fields
    // for the listed values, nothing for any other (an empty default parser).
    let present = new Parser();
    for (const member of group.fields) present = addField(present, member, endian);
    const choices = Object.fromEntries(group.condition.values.map((value) => [value, present]));
    parser = parser.choice({ tag: group.condition.field, choices, defaultChoice: new Parser() });
    index += group.fields.length;
  }
  return parser;
}

// ---------------------------------------------------------------------------------------
// Rendering

function variants(layout) {
  if (layout.endiannesses.length === 1) return [{ endian: layout.endiannesses[0], suffix: '' }];
  return layout.endiannesses.map((endian) => ({ endian, suffix: ENDIAN_SUFFIX[endian] === 'le' ? 'Le' : 'Be' }));
}

function typeLabel(field, layout) {
  if (field.kind === 'integer') {
    const endian = field.size === 1 ? '' : (field.fixedEndian ?? (layout.endiannesses.length === 1 ? ENDIAN_SUFFIX[layout.endiannesses[0]] : ''));
    return `${field.type.replace(/(le|be)$/, '')}${endian}`;
  }
  if (field.kind === 'array') return `${field.element.name}[${field.count}]`;
  if (field.kind === 'layout') return field.element.name;
  return field.type;
}

function conditionText(condition) {
  return `${condition.field} ${condition.values.length === 1 ? `= ${condition.values[0]}` : `in ${condition.values.join(', ')}`}`;
}

function conditionCode(condition, variable) {
  if (condition.values.length === 1) return `${variable}.${condition.field} === ${condition.values[0]}`;
  return `[${condition.values.join(', ')}].includes(${variable}.${condition.field})`;
}

function fieldMeaning(field) {
  const parts = [];
  if (field.condition !== undefined) parts.push(`(if ${conditionText(field.condition)})`);
  if (field.contents !== undefined) parts.push(`must be ${field.contentsText}:`);
  if (field.doc) parts.push(field.doc);
  if (field.enumInfo !== undefined) parts.push(`(names: \`${field.enumInfo.type}\`)`);
  return parts.join(' ');
}

function docComment(lines, indent = '') {
  const out = [`${indent}/**`];
  for (const line of lines) out.push(line === '' ? `${indent} *` : `${indent} * ${line}`);
  out.push(`${indent} */`);
  return out;
}

/** The groups' sizes, summed per condition: `[condition, bytes]`. */
function conditionalSizes(layout) {
  const sizes = [];
  for (const group of layout.groups) {
    const same = sizes.find(([condition]) => sameCondition(condition, group.condition));
    if (same) same[1] += group.size;
    else sizes.push([group.condition, group.size]);
  }
  return sizes;
}

function sizeWords(layout) {
  const extra = conditionalSizes(layout).map(([condition, size]) => `, plus ${size} when ${conditionText(condition)}`);
  return `${layout.minSize} bytes${extra.join('')}`;
}

function renderTypes(layout) {
  const out = [];
  const byteOrder = layout.endiannesses.length === 1 ? `${layout.endiannesses[0] === 'little' ? 'Little' : 'Big'}-endian` : 'Little- or big-endian (one decoder for each)';
  const rows = layout.fields.map(
    (field) => `| ${field.offset} | ${field.size} | ${field.name ?? '(reserved)'} | ${typeLabel(field, layout)} | ${fieldMeaning(field).replaceAll('|', '\\|')} |`,
  );
  const shifted = layout.groups.length > 0 ? ['', 'Offsets are those of a layout with every conditional field present; an absent one takes no room.'] : [];
  out.push(...docComment([layout.doc, '', `${byteOrder}, ${sizeWords(layout)}.`, ...shifted, '', '| offset | size | field | type | meaning |', '| --- | --- | --- | --- | --- |', ...rows]));
  out.push(`export interface ${layout.name} {`);
  for (const field of layout.fields) {
    if (field.kind === 'skip') continue;
    const meaning = fieldMeaning(field);
    if (meaning) out.push(`  /** ${meaning} */`);
    out.push(`  ${field.name}: ${field.tsType}${field.condition === undefined ? '' : ' | undefined'};`);
  }
  out.push('}', '');
  const placed = layout.fields.filter((field) => field.kind !== 'skip' && field.fixedOffset !== undefined);
  out.push(`/** Where \`${layout.name}\`'s fields start${layout.groups.length > 0 ? ' (those before its first conditional field)' : ''}, in bytes from its start. */`);
  out.push(`export const ${constantName(layout.name)}_FIELD_OFFSETS = { ${placed.map((field) => `${field.name}: ${field.fixedOffset}`).join(', ')} } as const;`, '');
  out.push(`/** Size in bytes of \`${layout.name}\`${layout.minSize === layout.size ? '' : ' with every conditional field present'}. */`);
  out.push(`export const ${constantName(layout.name)}_SIZE = ${layout.size};`, '');
  if (layout.minSize !== layout.size) {
    out.push(`/** Size in bytes of \`${layout.name}\` without its conditional fields. */`);
    out.push(`export const ${constantName(layout.name)}_MIN_SIZE = ${layout.minSize};`, '');
  }
  for (const field of layout.contentsFields) {
    out.push(`/** What \`${layout.name}.${field.name}\` must hold. */`);
    if (field.kind === 'integer') out.push(`export const ${field.constant} = ${field.contentsText};`, '');
    else if (typeof field.contents === 'string') out.push(`export const ${field.constant} = ${quote(field.contents)};`, '');
    else out.push(`export const ${field.constant} = new Uint8Array([${field.pattern().map((byte) => `0x${byte.toString(16).padStart(2, '0')}`).join(', ')}]);`, '');
  }
  for (const field of layout.fields.filter((candidate) => candidate.enumInfo !== undefined)) {
    const { type, constant, entries } = field.enumInfo;
    const listing = entries.map(([value, name]) => `${value} ${name}`).join(', ');
    out.push(`/** The names of \`${layout.name}.${field.name}\`'s values: ${listing}. */`);
    out.push(`export type ${type} = ${entries.map(([, name]) => quote(name)).join(' | ')};`, '');
    out.push(`/** \`${layout.name}.${field.name}\`'s values and their names (${listing}); \`get\` gives \`undefined\` for any other value. */`);
    out.push(`export const ${constant}: ReadonlyMap<number, ${type}> = new Map<number, ${type}>([${entries.map(([value, name]) => `[${value}, ${quote(name)}]`).join(', ')}]);`, '');
  }
  return out;
}

/** The byte patterns a variant checks, as `[offset, expression]`; integer patterns become private constants. */
function contentsChecks(layout, variant, privateConstants) {
  return layout.contentsFields.map((field) => {
    if (field.kind === 'bytes') return { field, offset: field.fixedOffset, expression: field.constant };
    const name = `${field.constant}_BYTES${variant.suffix ? `_${variant.suffix.toUpperCase()}` : ''}`;
    privateConstants.push(`const ${name} = new Uint8Array([${field.pattern(variant.endian).map((byte) => `0x${byte.toString(16).padStart(2, '0')}`).join(', ')}]);`);
    return { field, offset: field.fixedOffset, expression: name };
  });
}

function neededSizeExpression(layout, variable) {
  const terms = conditionalSizes(layout).map(([condition, size]) => `(${conditionCode(condition, variable)} ? ${size} : 0)`);
  return [`${constantName(layout.name)}_MIN_SIZE`, ...terms].join(' + ');
}

function renderDecoders(layout, privateConstants) {
  const out = [];
  const conditional = layout.groups.length > 0;
  const sizeConstant = `${constantName(layout.name)}_SIZE`;
  const field = quote(layout.errorField);
  if (conditional) {
    out.push(`/** The bytes \`${layout.name}\`'s fields take: the conditional ones count when their condition holds. */`);
    out.push(`function sizeOf${layout.name}(fields: ${layout.name}): number {`, `  return ${neededSizeExpression(layout, 'fields')};`, '}', '');
  }
  for (const variant of variants(layout)) {
    const name = `${layout.name}${variant.suffix}`;
    const compiled = `compiled${name}`;
    const checks = contentsChecks(layout, variant, privateConstants);
    const order = variant.suffix === '' ? '' : ` in ${variant.endian}-endian byte order`;
    const fixedNames = checks.map((check) => check.field.name).join(' or ');
    // A layout with conditional fields is decoded at its largest size (zero-padded), then the
    // size of the fields actually present is checked: the truncation error names the size
    // the structure needs, as for a fixed layout. Contents are checked after the length, as
    // a hand-written decoder would (decode, then look at the magic).
    const decoded = conditional ? `${compiled}(zeroPadded(bytes, ${sizeConstant}))` : `${compiled}(bytes)`;
    const size = conditional ? `sizeOf${layout.name}(fields)` : sizeConstant;

    const contentsNote = checks.length > 0 ? `; \`CORRUPT\` naming the field when ${fixedNames} does not hold what it must` : '';
    out.push(...docComment([`Decodes a \`${layout.name}\`${order} from the start of \`bytes\`.`, `Throws \`TRUNCATED\` when \`bytes\` is shorter than its fields (${sizeWords(layout)})${contentsNote}.`]));
    out.push(`export function decode${name}(bytes: Uint8Array): ${layout.name} {`);
    if (conditional) out.push(`  const fields = ${decoded};`);
    out.push(`  requireLength(bytes, ${size}, ${field});`);
    for (const check of checks) {
      out.push(`  if (!bytesEqual(bytes, ${check.offset}, ${check.expression})) {`);
      out.push(`    throw fieldError('CORRUPT', ${quote(`${layout.errorField}.${check.field.name}`)}, ${quote(check.field.mismatch)});`);
      out.push('  }');
    }
    out.push(`  return ${conditional ? 'fields' : decoded};`, '}', '');

    if (checks.length === 0) continue;
    out.push(
      ...docComment([
        `A \`${layout.name}\`${order} at the start of \`bytes\`, or \`undefined\` when \`bytes\` is shorter than its fields or ${fixedNames} does not hold what it must:`,
        'for code that looks for the structure rather than expects it.',
      ]),
    );
    out.push(`export function match${name}(bytes: Uint8Array): ${layout.name} | undefined {`);
    const mismatches = checks.map((check) => `!bytesEqual(bytes, ${check.offset}, ${check.expression})`);
    if (conditional) {
      out.push(`  if (${mismatches.join(' || ')}) return undefined;`);
      out.push(`  const fields = ${decoded};`);
      out.push(`  return bytes.byteLength < ${size} ? undefined : fields;`);
    } else {
      out.push(`  if (${[`bytes.byteLength < ${size}`, ...mismatches].join(' || ')}) return undefined;`);
      out.push(`  return ${decoded};`);
    }
    out.push('}', '');
  }
  return out;
}

function header(sourceName, extra) {
  return [`// GENERATED by scripts/generate-layouts.mjs from scripts/layouts/${sourceName}. Do not edit;`, '// change the description and run `npm run generate`.', ...extra];
}

/**
 * Compiles one description file's layouts into the three generated files' text.
 *
 * @param sourceName - the description's file name, e.g. `vdi.mjs`
 * @param descriptions - its default export
 * @param options.source - how the TypeScript module imports the library (`'../../src'`)
 */
export function compileLayouts(sourceName, descriptions, options = {}) {
  const base = basename(sourceName, '.mjs');
  const source = options.source ?? '../../src';
  const byName = new Map();
  const layouts = [];
  for (const description of descriptions) {
    if (byName.has(description.name)) throw new Error(`${description.name}: described twice`);
    const layout = normalizeLayout(description, byName);
    byName.set(layout.name, layout);
    layouts.push(layout);
  }

  const javascript = header(sourceName, [
    '//',
    "// binary-parser's getCode() output for each layout, unmodified, as the body of the function",
    "// binary-parser's compile() would build around it at run time with `new Function`",
    '// (`function (buffer, constructorFn) { ... }`, `TextDecoder` in scope), written here at build',
    "// time instead, and called as binary-parser's parse() calls it, with the constructor given to",
    `// create(). Typed by ${base}.compiled.d.ts; called only through ${base}.ts.`,
    '',
    DECODED_LAYOUT_CLASS,
    '',
  ]);
  const declarations = header(sourceName, [
    '//',
    `// The types of the functions in ${base}.compiled.js (binary-parser's code, untyped JavaScript):`,
    '// each returns the interface its layout description defines. This is the one place where',
    `// that code meets TypeScript; ${base}.ts checks lengths and contents before calling it.`,
    `import type { ${layouts.map((layout) => layout.name).join(', ')} } from './${base}.js';`,
    '',
  ]);
  const privateConstants = [];
  const body = [];
  const compiledNames = [];
  for (const layout of layouts) {
    body.push(...renderTypes(layout));
    body.push(...renderDecoders(layout, privateConstants));
    for (const variant of variants(layout)) {
      const code = buildParser(layout, variant.endian).getCode();
      if (/\bimports\[/.test(code)) throw new Error(`${layout.name}: the code refers to functions; descriptions are data only`);
      const name = `compiled${layout.name}${variant.suffix}`;
      compiledNames.push(name);
      javascript.push(`/** binary-parser's code for ${layout.name}${variant.suffix ? ` (${variant.endian}-endian)` : ''}. */`);
      javascript.push(`const parse${layout.name}${variant.suffix} = function (buffer, constructorFn) {`, code.replace(/\n$/, ''), '};', '');
      javascript.push(`/** Decodes ${layout.name}${variant.suffix ? ` (${variant.endian}-endian)` : ''}. */`);
      javascript.push(`export const ${name} = (buffer) => parse${layout.name}${variant.suffix}(buffer, DecodedLayout);`, '');
      const needs = layout.minSize === layout.size ? `at least ${layout.size} bytes` : `${layout.size} bytes (zero-padded past the fields present)`;
      declarations.push(`/** binary-parser's decoder for \`${layout.name}\`${variant.suffix ? ` (${variant.endian}-endian)` : ''}: \`buffer\` must hold ${needs}. */`);
      declarations.push(`export declare function ${name}(buffer: Uint8Array): ${layout.name};`, '');
    }
  }
  const usesContents = layouts.some((layout) => layout.contentsFields.length > 0);
  const usesGroups = layouts.some((layout) => layout.groups.length > 0);
  const bytesImports = [...(usesContents ? ['bytesEqual'] : []), 'requireLength', ...(usesGroups ? ['zeroPadded'] : [])];
  const typescript = header(sourceName, [
    `// binary-parser's code for these layouts is in ${base}.compiled.js (see scripts/generate-layouts.mjs).`,
    `import { ${bytesImports.join(', ')} } from '${source}/bytes.js';`,
    ...(usesContents ? [`import { fieldError } from '${source}/errors.js';`] : []),
    `import { ${compiledNames.join(', ')} } from './${base}.compiled.js';`,
    '',
    ...(privateConstants.length > 0 ? [...privateConstants, ''] : []),
    ...body,
  ]);
  return { typescript: typescript.join('\n'), javascript: javascript.join('\n'), declarations: declarations.join('\n') };
}

async function main() {
  const check = process.argv.includes('--check');
  let stale = 0;
  if (!existsSync(outputDirectory)) mkdirSync(outputDirectory, { recursive: true });
  const expected = new Set();
  for (const file of readdirSync(layoutsDirectory).filter((name) => name.endsWith('.mjs')).sort()) {
    const { default: descriptions } = await import(pathToFileURL(join(layoutsDirectory, file)).href);
    const output = compileLayouts(file, descriptions);
    const base = basename(file, '.mjs');
    for (const [name, text] of [
      [`${base}.ts`, output.typescript],
      [`${base}.compiled.js`, output.javascript],
      [`${base}.compiled.d.ts`, output.declarations],
    ]) {
      expected.add(name);
      const target = join(outputDirectory, name);
      const current = existsSync(target) ? readFileSync(target, 'utf8') : '';
      if (current === text) continue;
      if (check) {
        console.error(`stale: ${target} (run npm run generate)`);
        stale += 1;
      } else {
        writeFileSync(target, text);
        console.log(`wrote ${target}`);
      }
    }
  }
  for (const name of readdirSync(outputDirectory).filter((candidate) => !expected.has(candidate))) {
    console.error(`${check ? 'stray' : 'not generated (delete it)'}: ${join(outputDirectory, name)}`);
    stale += 1;
  }
  if (stale > 0) process.exit(1);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
