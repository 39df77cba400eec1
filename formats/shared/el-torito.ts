/**
 * El Torito boot catalogs ("El Torito" Bootable CD-ROM Format Specification 1.0, 1995).
 *
 * The boot record volume descriptor (section 2.0) gives the catalog's sector. The catalog
 * is a run of 32-byte entries: a validation entry (2.1), the initial/default entry (2.2),
 * then any number of sections, each a header (2.3) followed by its entries (2.4), which
 * may carry extension entries (2.5). The last section header is marked 0x91.
 *
 * @module
 */
import { fixedText, u16le } from '../../src/bytes.js';
import {
  EL_TORITO_BOOT_ENTRY_SIZE,
  type ElToritoBootEntry,
  decodeElToritoBootEntry,
  decodeElToritoExtensionEntry,
  decodeElToritoSectionHeader,
  decodeElToritoValidationEntry,
} from '../generated/iso.js';

/** Bytes of the boot catalog read: 4 CD sectors, 256 entries. */
export const MAX_BOOT_CATALOG_BYTES = 4 * 2048;
/** Most boot entries reported. */
export const MAX_BOOT_CATALOG_ENTRIES = MAX_BOOT_CATALOG_BYTES / EL_TORITO_BOOT_ENTRY_SIZE;

const ENTRY = EL_TORITO_BOOT_ENTRY_SIZE;
const HEADER_MORE = 0x90;
const HEADER_FINAL = 0x91;
const EXTENSION = 0x44;
const BOOTABLE = 0x88;

/** Platform ids (El Torito 2.1, and 0xEF for EFI as UEFI 2.10 section 13.3.2.1 adds). */
const PLATFORM_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, 'x86'],
  [0x01, 'PowerPC'],
  [0x02, 'Mac'],
  [0xef, 'EFI'],
]);

/** Boot media types (El Torito 2.2, media type bits 0-3). */
const EMULATIONS: readonly string[] = ['no-emulation', '1.2M-diskette', '1.44M-diskette', '2.88M-diskette', 'hard-disk'];

/** One boot image of the catalog. */
export interface BootCatalogEntry {
  /** 0 for the initial/default entry, then 1, 2, ... for each section. */
  section: number;
  /** The platform of the entry's section (the validation entry's for the default entry). */
  platform: number;
  platformName: string | undefined;
  /** Boot indicator 0x88. */
  bootable: boolean;
  /** `no-emulation`, `1.2M-diskette`, `1.44M-diskette`, `2.88M-diskette`, `hard-disk`, or `unknown`. */
  emulation: string;
  /** The media type byte as stored. */
  mediaType: number;
  /** Real-mode load segment; 0 means the BIOS default 0x7C0. */
  loadSegment: number;
  /** The partition type of an emulated hard disk. */
  systemType: number;
  /** Virtual 512-byte sectors loaded (the load size). */
  loadSize: number;
  /** First 2048-byte sector of the boot image. */
  bootImageLocation: number;
  /** Section id string, for section entries. */
  sectionId: string | undefined;
}

/** The validation entry's verdict and what it says. */
export interface BootCatalogValidation {
  platform: number;
  platformName: string | undefined;
  /** The manufacturer/developer id string. */
  idString: string;
  /** Header id 1, key bytes 0x55 0xAA and a checksum making the entry's words sum to zero. */
  valid: boolean;
}

/** A parsed boot catalog. */
export interface BootCatalog {
  validation: BootCatalogValidation;
  entries: BootCatalogEntry[];
}

function entryOf(entry: ElToritoBootEntry, section: number, platform: number, sectionId: string | undefined): BootCatalogEntry {
  const emulationCode = entry.mediaType & 0x0f;
  return {
    section,
    platform,
    platformName: PLATFORM_NAMES.get(platform),
    bootable: entry.bootIndicator === BOOTABLE,
    emulation: EMULATIONS[emulationCode] ?? 'unknown',
    mediaType: entry.mediaType,
    loadSegment: entry.loadSegment,
    systemType: entry.systemType,
    loadSize: entry.sectorCount,
    bootImageLocation: entry.loadRba,
    sectionId,
  };
}

function validationOf(bytes: Uint8Array): BootCatalogValidation {
  const validation = decodeElToritoValidationEntry(bytes);
  let sum = 0;
  for (let offset = 0; offset < ENTRY; offset += 2) sum = (sum + u16le(bytes, offset)) & 0xffff;
  return {
    platform: validation.platformId,
    platformName: PLATFORM_NAMES.get(validation.platformId),
    idString: fixedText(validation.idString),
    valid: validation.headerId === 1 && validation.key55 === 0x55 && validation.keyAA === 0xaa && sum === 0,
  };
}

/**
 * Parses a boot catalog from its bytes (at most {@link MAX_BOOT_CATALOG_BYTES}). Stops at
 * the end of the final section, at an entry that is neither a header nor an entry, or at
 * the end of the bytes.
 */
export function parseBootCatalog(bytes: Uint8Array, warn: (message: string) => void): BootCatalog | undefined {
  if (bytes.byteLength < 2 * ENTRY) {
    warn('the El Torito boot catalog lies beyond the end of the image');
    return undefined;
  }
  const entryAt = (at: number) => bytes.subarray(at, at + ENTRY);
  const validation = validationOf(entryAt(0));
  if (!validation.valid) {
    warn('the El Torito boot catalog validation entry is not valid (header id, key bytes or checksum)');
    return { validation, entries: [] };
  }
  const entries = [entryOf(decodeElToritoBootEntry(entryAt(ENTRY)), 0, validation.platform, undefined)];
  let position = 2 * ENTRY;
  let section = 0;
  while (position + ENTRY <= bytes.byteLength) {
    const header = decodeElToritoSectionHeader(entryAt(position));
    const indicator = header.headerIndicator;
    if (indicator !== HEADER_MORE && indicator !== HEADER_FINAL) break;
    section += 1;
    position += ENTRY;
    const sectionId = fixedText(header.idString);
    for (let index = 0; index < header.sectionEntryCount && position + ENTRY <= bytes.byteLength; index += 1) {
      if (entries.length >= MAX_BOOT_CATALOG_ENTRIES) break;
      const entry = decodeElToritoBootEntry(entryAt(position));
      entries.push(entryOf(entry, section, header.platformId, sectionId));
      position += ENTRY;
      // Extension entries (El Torito 2.5) follow an entry whose media type has bit 5 set.
      while (position + ENTRY <= bytes.byteLength && decodeElToritoExtensionEntry(entryAt(position)).extensionIndicator === EXTENSION) position += ENTRY;
    }
    if (indicator === HEADER_FINAL) break;
  }
  return { validation, entries };
}
