/**
 * The little of Apple's XML property lists that a UDIF image's resource fork needs: the
 * `blkx` array of `resource-fork`, whose entries are dictionaries of `<string>` and base64
 * `<data>` values. A small hand parser (no XML library), linear in the text's length, which
 * the caller bounds.
 *
 * ```xml
 * <key>resource-fork</key><dict>
 *   <key>blkx</key><array>
 *     <dict><key>Attributes</key><string>0x0050</string> <key>Data</key><data>bWlzaA...</data>
 *           <key>ID</key><string>0</string> <key>Name</key><string>disk image (Apple_HFS : 1)</string></dict>
 *     ...
 * ```
 *
 * @module
 */
import { fieldError } from '../../src/errors.js';

/** At most this many `blkx` entries (partitions) are read from one property list. */
export const DMG_MAX_BLKX_ENTRIES = 4096;

/** One `blkx` entry: its string values by key, and its decoded `Data`. */
export interface BlkxEntry {
  /** `<string>` and `<integer>` values, entities decoded, by key (`Name`, `CFName`, `ID`, `Attributes`). */
  strings: Record<string, string>;
  /** The base64-decoded `Data` value (a "mish" block table), if present. */
  data: Uint8Array | undefined;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Replaces XML character and entity references. */
export function decodeXmlText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/g, (whole, reference: string) => {
    if (reference.startsWith('#x')) return codePoint(Number.parseInt(reference.slice(2), 16), whole);
    if (reference.startsWith('#')) return codePoint(Number.parseInt(reference.slice(1), 10), whole);
    return ENTITIES[reference] ?? whole;
  });
}

function codePoint(value: number, fallback: string): string {
  return value <= 0x10ffff ? String.fromCodePoint(value) : fallback;
}

const BASE64_VALUES = (() => {
  const values = new Int16Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let index = 0; index < alphabet.length; index += 1) values[alphabet.charCodeAt(index)] = index;
  return values;
})();

/** Decodes base64, skipping white space (property lists wrap `<data>` lines); stops at `=`. */
export function decodeBase64(text: string, field: string): Uint8Array {
  const output = new Uint8Array(Math.floor((text.length * 3) / 4));
  let length = 0;
  let buffer = 0;
  let bits = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 0x3d /* = */) break;
    if (code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d) continue;
    const value = code < 128 ? (BASE64_VALUES[code] as number) : -1;
    if (value < 0) {
      throw fieldError('CORRUPT', field, `"${text[index]}" is not a base64 character`);
    }
    buffer = ((buffer << 6) | value) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      output[length] = (buffer >> bits) & 0xff;
      length += 1;
    }
  }
  return output.subarray(0, length);
}

/** The text between `<array>` and `</array>` after `<key>blkx</key>`, or `undefined` when there is none. */
function blkxArray(text: string): string | undefined {
  const key = /<key>\s*blkx\s*<\/key>\s*<array>/.exec(text);
  if (key === null) return undefined;
  const start = key.index + key[0].length;
  const end = text.indexOf('</array>', start);
  return end === -1 ? text.slice(start) : text.slice(start, end);
}

const PAIR = /<key>([^<]*)<\/key>\s*(?:<(string|data|integer)>([^<]*)<\/\2>|<(string|data|integer)\s*\/>)/g;

function parseEntry(body: string, index: number): BlkxEntry {
  const strings: Record<string, string> = {};
  let data: Uint8Array | undefined;
  for (const match of body.matchAll(PAIR)) {
    const key = decodeXmlText((match[1] as string).trim());
    const kind = match[2] ?? match[4];
    const value = match[3] ?? '';
    if (kind === 'data') {
      if (key === 'Data') data = decodeBase64(value, `plist.blkx.${index}.Data`);
    } else {
      strings[key] = decodeXmlText(value);
    }
  }
  return { strings, data };
}

/**
 * The entries of the `blkx` array of a UDIF property list, in order. Throws `LIMIT_EXCEEDED`
 * above {@link DMG_MAX_BLKX_ENTRIES} entries and `CORRUPT` for data that is not base64.
 */
export function readBlkxEntries(text: string): BlkxEntry[] | undefined {
  const array = blkxArray(text);
  if (array === undefined) return undefined;
  const entries: BlkxEntry[] = [];
  let position = 0;
  for (;;) {
    const start = array.indexOf('<dict>', position);
    if (start === -1) break;
    const end = array.indexOf('</dict>', start);
    if (end === -1) break;
    if (entries.length >= DMG_MAX_BLKX_ENTRIES) {
      throw fieldError('LIMIT_EXCEEDED', 'plist.blkx', `more than ${DMG_MAX_BLKX_ENTRIES} blkx entries`);
    }
    entries.push(parseEntry(array.slice(start + '<dict>'.length, end), entries.length));
    position = end + '</dict>'.length;
  }
  return entries;
}
