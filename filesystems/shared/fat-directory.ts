/**
 * FAT directory entries: 32-byte short (8.3) entries and the long-file-name (LFN) entries
 * that precede them (Microsoft FAT specification, sections 6 and 7).
 *
 * Short entry:
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 11 | name (8) and extension (3), space padded; byte 0: `0x00` end of directory, `0xE5` deleted, `0x05` stands for `0xE5` |
 * | 11 | 1 | attributes: `0x01` read-only, `0x02` hidden, `0x04` system, `0x08` volume label, `0x10` directory, `0x20` archive; `0x0F` marks an LFN entry |
 * | 12 | 1 | Windows NT case flags: `0x08` base name in lower case, `0x10` extension in lower case |
 * | 20 | 2 | first cluster, high 16 bits (FAT32) |
 * | 26 | 2 | first cluster, low 16 bits |
 * | 28 | 4 | file size in bytes |
 *
 * Long-name entry:
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 1 | sequence number 1..20, `0x40` set on the last (first stored) entry |
 * | 1 | 10 | characters 1-5 (UTF-16LE) |
 * | 11 | 1 | attributes, `0x0F` |
 * | 13 | 1 | checksum of the short name the sequence belongs to |
 * | 14 | 12 | characters 6-11 |
 * | 26 | 2 | zero |
 * | 28 | 4 | characters 12-13 |
 *
 * A long name is used only when its entries are complete, in order and carry the checksum
 * of the short entry that follows; otherwise the short name stands, as Linux's `vfat` and
 * Windows do.
 *
 * @module
 */

/** Bytes of one directory entry. */
export const FAT_DIRECTORY_ENTRY_SIZE = 32;

/** Attribute bits of an entry; all four low bits (read-only, hidden, system, volume label) together mark a long-name entry. */
const ATTRIBUTE = { volumeLabel: 0x08, directory: 0x10, longName: 0x0f } as const;
const LONG_NAME_LAST = 0x40;
const LONG_NAME_CHARACTERS = 13;
/** Where the 13 UTF-16 characters of an LFN entry are. */
const LONG_NAME_CHARACTER_OFFSETS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];

/** One live entry of a directory. */
export interface FatDirectoryEntry {
  /** The long name when a valid one precedes the entry, else the short name as Linux shows it (NT case flags applied). */
  name: string;
  /** The short name, `NAME.EXT`, as stored (upper case). */
  shortName: string;
  attributes: number;
  firstCluster: number;
  size: number;
}

/** Code page 437, bytes 0x80-0xFF: the OEM code page short names are stored in (Linux's default `codepage=437`). */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function oemText(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += byte < 0x80 ? String.fromCharCode(byte) : (CP437_HIGH[byte - 0x80] as string);
  return text;
}

/** The 11 name bytes with `0x05` turned back into `0xE5`. */
function shortNameBytes(entry: Uint8Array): Uint8Array {
  const name = entry.slice(0, 11);
  if (name[0] === 0x05) name[0] = 0xe5;
  return name;
}

/** The FAT specification's checksum of an 11-byte short name, stored in each of its LFN entries. */
export function shortNameChecksum(name: Uint8Array): number {
  let sum = 0;
  for (let index = 0; index < 11; index += 1) sum = (((sum & 1) << 7) + (sum >> 1) + (name[index] as number)) & 0xff;
  return sum;
}

/** The short name of a volume-label entry in the root directory, as `blkid` reports it (trailing spaces cut). */
export function volumeLabelText(entry: Uint8Array): string {
  return oemText(shortNameBytes(entry)).replace(/ +$/, '');
}

/** Short name for display: `NAME.EXT` (no dot without an extension), lower-cased where the NT case flags say so. */
function shortNameText(entry: Uint8Array, applyCaseFlags: boolean): string {
  const bytes = shortNameBytes(entry);
  let base = oemText(bytes.subarray(0, 8)).replace(/ +$/, '');
  let extension = oemText(bytes.subarray(8, 11)).replace(/ +$/, '');
  const caseFlags = entry[12] as number;
  if (applyCaseFlags && caseFlags & 0x08) base = base.toLowerCase();
  if (applyCaseFlags && caseFlags & 0x10) extension = extension.toLowerCase();
  return extension === '' ? base : `${base}.${extension}`;
}

/** What an entry is, for the parser's caller. */
export type FatEntryClass = 'end' | 'free' | 'long-name' | 'volume-label' | 'dot' | 'entry';

/** Classifies a 32-byte entry without interpreting it. */
export function classifyEntry(entry: Uint8Array): FatEntryClass {
  const first = entry[0] as number;
  if (first === 0x00) return 'end';
  if (first === 0xe5) return 'free';
  const attributes = entry[11] as number;
  if ((attributes & 0x3f) === ATTRIBUTE.longName) return 'long-name';
  if (attributes & ATTRIBUTE.volumeLabel) return 'volume-label';
  if (first === 0x2e) return 'dot';
  return 'entry';
}

/**
 * Reads a directory one 32-byte entry at a time, assembling long names across entries
 * (and across clusters: the caller feeds entries in directory order).
 */
export class FatDirectoryParser {
  /** Characters of the long name being assembled, by LFN sequence number - 1. */
  private parts: string[] = [];
  private expectedSequence = 0;
  private checksum = -1;

  /**
   * Feeds one entry. Returns the live entry it completes, `'end'` at the end-of-directory
   * marker, or `undefined` for entries that are not files or directories themselves.
   */
  push(entry: Uint8Array): FatDirectoryEntry | 'end' | undefined {
    const kind = classifyEntry(entry);
    if (kind === 'end') return 'end';
    if (kind === 'long-name') {
      this.pushLongName(entry);
      return undefined;
    }
    const longName = this.takeLongName(entry);
    if (kind !== 'entry') return undefined;
    const attributes = entry[11] as number;
    const view = new DataView(entry.buffer, entry.byteOffset, FAT_DIRECTORY_ENTRY_SIZE);
    return {
      name: longName ?? shortNameText(entry, true),
      shortName: shortNameText(entry, false),
      attributes,
      firstCluster: (view.getUint16(20, true) << 16) + view.getUint16(26, true),
      size: view.getUint32(28, true),
    };
  }

  private pushLongName(entry: Uint8Array): void {
    const sequence = entry[0] as number;
    const number = sequence & 0x1f;
    const checksum = entry[13] as number;
    if (sequence & LONG_NAME_LAST) {
      // A new sequence starts (any unfinished one is dropped).
      this.parts = [];
      this.expectedSequence = number;
      this.checksum = checksum;
    } else if (number !== this.expectedSequence || checksum !== this.checksum) {
      this.reset();
      return;
    }
    if (number < 1 || number > 20 || entry[26] !== 0 || entry[27] !== 0) {
      this.reset();
      return;
    }
    this.parts[number - 1] = longNameCharacters(entry);
    this.expectedSequence = number - 1;
  }

  /** The long name for the short entry `entry`, if a complete sequence with its checksum precedes it. */
  private takeLongName(entry: Uint8Array): string | undefined {
    const complete = this.parts.length > 0 && this.expectedSequence === 0 && this.checksum === shortNameChecksum(shortNameBytesRaw(entry));
    const name = complete ? this.parts.join('') : undefined;
    this.reset();
    return name === undefined || name === '' ? undefined : name;
  }

  private reset(): void {
    this.parts = [];
    this.expectedSequence = 0;
    this.checksum = -1;
  }
}

/** The checksum covers the name bytes as stored (with `0x05`, not `0xE5`). */
function shortNameBytesRaw(entry: Uint8Array): Uint8Array {
  return entry.subarray(0, 11);
}

/** The up to 13 characters of one LFN entry, cut at the NUL terminator. */
function longNameCharacters(entry: Uint8Array): string {
  let text = '';
  for (let index = 0; index < LONG_NAME_CHARACTERS; index += 1) {
    const offset = LONG_NAME_CHARACTER_OFFSETS[index] as number;
    const unit = (entry[offset] as number) | ((entry[offset + 1] as number) << 8);
    if (unit === 0) break;
    text += String.fromCharCode(unit);
  }
  return text;
}

/** True for a directory entry. */
export function isDirectoryEntry(entry: FatDirectoryEntry): boolean {
  return (entry.attributes & ATTRIBUTE.directory) !== 0;
}
