/**
 * LUKS: Linux Unified Key Setup encrypted volumes, versions 1 and 2. Nothing is decrypted:
 * only the plain-text headers are read.
 *
 * | version | header | what we read |
 * | --- | --- | --- |
 * | 1 | 592 bytes, big-endian (LUKS1 spec 1.2.3, section 2.4) | cipher, hash, payload offset, key size, UUID, the eight key slots |
 * | 2 | a 4 KiB binary header, then a JSON area up to `headerSize` (LUKS2 spec 1.1.1, sections 2 and 3); a secondary copy follows | label, UUID, the JSON `segments`, `keyslots`, `digests` and `config` |
 *
 * The virtual size is the payload's: the image's length minus the payload offset (LUKS1, and
 * LUKS2 segments of size `dynamic`), or a LUKS2 segment's declared size. On a stream that
 * means reading to the end. qemu 7.2 opens LUKS1 only; it probes LUKS2 as raw (see
 * docs/formats/luks.md).
 *
 * @module
 */
import { bytesEqual, cutAtNul, latin1Text, safeNumber, u16be, utf8Text } from '../src/bytes.js';
import { fieldError } from '../src/errors.js';
import type { ByteReader, FormatModule, ParseContext, ParsedImage } from '../src/format-module.js';
import { FORMAT_SPECIFIC, listRows, type SummaryRow, section } from '../src/summary.js';
import {
  LUKS1_HEADER_FIELD_OFFSETS,
  LUKS1_HEADER_MAGIC,
  LUKS1_HEADER_SIZE,
  LUKS2_BINARY_HEADER_SIZE,
  type Luks1KeySlot,
  decodeLuks1Header,
  decodeLuks2BinaryHeader,
} from './generated/luks.js';

/** The magic of a primary header, "LUKS\xba\xbe". */
export const LUKS_MAGIC = LUKS1_HEADER_MAGIC;
/** The magic of a LUKS2 secondary header, "SKUL\xba\xbe". */
export const LUKS2_SECONDARY_MAGIC = 'SKUL\xba\xbe';
/** LUKS1 has eight key slots, right after the header's fields (LUKS1 spec, section 2.4). */
export const LUKS1_KEY_SLOTS = 8;
/** A LUKS1 header with its key slots: 208 + 8 x 48 bytes. */
export const LUKS1_PHDR_SIZE = LUKS1_HEADER_SIZE;
/** Key slot state "enabled" (LUKS_KEY_ENABLED). */
export const LUKS1_KEY_ENABLED = 0x00ac71f3;
/** Key slot state "disabled" (LUKS_KEY_DISABLED). */
export const LUKS1_KEY_DISABLED = 0x0000dead;
/** Anti-forensic stripes every LUKS1 implementation writes (and qemu requires). */
export const LUKS1_STRIPES = 4000;
/** The smallest LUKS2 header (binary header plus JSON area): 16 KiB (LUKS2 spec, section 2). */
export const LUKS2_MIN_HEADER_SIZE = 16 * 1024;
/** The largest LUKS2 header: 4 MiB. Sizes are powers of two in between. */
export const LUKS2_MAX_HEADER_SIZE = 4 * 1024 * 1024;
/** At most this many key slots, segments, digests or tokens in LUKS2 metadata (cryptsetup's limit, 32). */
export const LUKS2_MAX_OBJECTS = 32;
const SECTOR_SIZE = 512;

/** One key slot. Fields a version does not have are `undefined`. */
export interface LuksKeySlot {
  /** The slot number (LUKS1: 0 to 7; LUKS2: the key of the `keyslots` object). */
  slot: number;
  /** True when the slot holds a key (LUKS1: state 0x00AC71F3; LUKS2: every listed slot but a `reencrypt` one). */
  active: boolean;
  /** LUKS2: `luks2`, or `reencrypt` during reencryption. */
  type: string | undefined;
  /** Key-derivation function: `pbkdf2` (LUKS1), `argon2i`, `argon2id` or `pbkdf2` (LUKS2). */
  kdf: string | undefined;
  /** The hash of a PBKDF2 key derivation. */
  kdfHash: string | undefined;
  /** PBKDF2 iterations. */
  iterations: number | undefined;
  /** Argon2 time cost (iterations). */
  time: number | undefined;
  /** Argon2 memory cost, in KiB. */
  memory: number | undefined;
  /** Argon2 parallel threads. */
  cpus: number | undefined;
  /** Byte offset of the slot's key material. */
  keyMaterialOffset: number;
  /** Bytes of key material (LUKS1: key bytes x stripes; LUKS2: the area's size). */
  keyMaterialSize: number | undefined;
  /** Anti-forensic stripes (4000). */
  stripes: number | undefined;
  /** The anti-forensic splitter's hash. */
  afHash: string | undefined;
  /** LUKS2: the size of the key this slot holds, in bytes. */
  keySize: number | undefined;
  /** LUKS2: the cipher that encrypts the key material. */
  encryption: string | undefined;
  /** LUKS2: 0 ignore, 1 normal, 2 high. */
  priority: number | undefined;
}

/** A LUKS2 data segment. */
export interface LuksSegment {
  /** The key of the `segments` object. */
  segment: number;
  /** `crypt` (or `linear` during reencryption). */
  type: string;
  /** Byte offset of the segment's data. */
  offset: number;
  /** Size in bytes, or `dynamic`: up to the end of the device. */
  size: number | 'dynamic';
  /** Cipher specification, e.g. `aes-xts-plain64`. */
  encryption: string | undefined;
  /** Encryption sector size in bytes (512 to 4096). */
  sectorSize: number | undefined;
  /** Segment flags. */
  flags: string[];
}

/** LUKS metadata. */
export interface LuksDetails {
  /** 1 or 2. */
  version: 1 | 2;
  /** Cipher name, e.g. `aes` (LUKS2: the part of the data segment's `encryption` before its first `-`). */
  cipherName: string;
  /** Cipher mode, e.g. `xts-plain64` (LUKS2: the rest of `encryption`). */
  cipherMode: string;
  /** The hash of the volume key digest: LUKS1 `hash-spec`, LUKS2 the digest's `hash`. */
  hashSpec: string;
  /** Where the encrypted payload starts, in bytes (LUKS1 stores sectors; qemu's `payload-offset`). */
  payloadOffset: number;
  /** The volume (master) key size in bytes (LUKS2: from the first active key slot; `undefined` without one). */
  keyBytes: number | undefined;
  /** The volume's UUID. */
  uuid: string;
  /** LUKS2 label (`undefined` when empty, and for LUKS1). */
  label: string | undefined;
  /** LUKS2 subsystem label (`undefined` when empty, and for LUKS1). */
  subsystem: string | undefined;
  /** The numbers of the key slots that hold a key. */
  activeKeySlots: number[];
  /** Every key slot (LUKS1: all eight; LUKS2: those listed). */
  keySlots: LuksKeySlot[];
  /** PBKDF2 iterations of the volume key digest (LUKS1 `mk-digest-iter`; qemu's `master-key-iters`). */
  masterKeyDigestIterations: number | undefined;
  /** The header's size in bytes: LUKS1 592 (without key material), LUKS2 binary header plus JSON area. */
  headerSize: number;
  /** LUKS2: the sequence number (cryptsetup's "Epoch"). */
  sequenceId: number | undefined;
  /** LUKS2: the header checksum algorithm, e.g. `sha256`. */
  checksumAlgorithm: string | undefined;
  /** LUKS2: the data segments. */
  segments: LuksSegment[] | undefined;
  /** LUKS2: `config.json_size` and `config.keyslots_size` in bytes, `flags`, mandatory `requirements`. */
  config: { jsonSize: number; keyslotsSize: number | undefined; flags: string[]; requirements: string[] } | undefined;
  /** LUKS2: the number of tokens. */
  tokens: number | undefined;
  /** LUKS2: whether the secondary header copy is present where the primary says. */
  secondaryHeader: boolean | undefined;
}

// ---------------------------------------------------------------------------------------
// Shared

function nulTerminated(bytes: Uint8Array, decode: (bytes: Uint8Array) => string = latin1Text): string {
  return cutAtNul(decode(bytes));
}

function emptyToUndefined(text: string): string | undefined {
  return text === '' ? undefined : text;
}

/** Splits `aes-xts-plain64` into `aes` and `xts-plain64`, as cryptsetup does for LUKS1 headers. */
function splitCipher(specification: string): { cipherName: string; cipherMode: string } {
  const dash = specification.indexOf('-');
  if (dash === -1) return { cipherName: specification, cipherMode: '' };
  return { cipherName: specification.slice(0, dash), cipherMode: specification.slice(dash + 1) };
}

/** The payload's size: from `offset` to the end of the image, or 0 with a warning when the image ends first. */
function payloadSize(total: number, offset: number, context: ParseContext): number {
  if (offset === 0) {
    // cryptsetup --header: the header lives in its own file and the payload on another device.
    context.warn('payload offset 0: a detached header, whose data is on another device (the size given is this file\'s)');
  }
  if (offset > total) {
    context.warn(`the image (${total} bytes) ends before the payload offset ${offset}: a detached header or a truncated image`);
    return 0;
  }
  return total - offset;
}

// ---------------------------------------------------------------------------------------
// LUKS1

function luks1KeySlot(index: number, slot: Luks1KeySlot, keyBytes: number, hashSpec: string, context: ParseContext): LuksKeySlot {
  if (slot.active !== LUKS1_KEY_ENABLED && slot.active !== LUKS1_KEY_DISABLED) {
    context.warn(`key slot ${index}: state 0x${slot.active.toString(16)} is neither enabled nor disabled (qemu refuses the image)`);
  }
  const active = slot.active === LUKS1_KEY_ENABLED;
  return {
    slot: index,
    active,
    type: undefined,
    kdf: active ? 'pbkdf2' : undefined,
    kdfHash: active ? hashSpec : undefined,
    iterations: slot.iterations,
    time: undefined,
    memory: undefined,
    cpus: undefined,
    keyMaterialOffset: slot.keyMaterialOffset * SECTOR_SIZE,
    // Both factors are 32-bit: a corrupt header could make the product inexact, so it is then left out.
    keyMaterialSize: Number.isSafeInteger(keyBytes * slot.stripes) ? keyBytes * slot.stripes : undefined,
    stripes: slot.stripes,
    afHash: hashSpec,
    keySize: undefined,
    encryption: undefined,
    priority: undefined,
  };
}

/** qemu's header checks (crypto/block-luks.c qcrypto_block_luks_check_header), as warnings. */
function checkLuks1Layout(details: LuksDetails, context: ParseContext): void {
  const ranges = details.keySlots.map((slot) => ({
    slot: slot.slot,
    start: slot.keyMaterialOffset,
    end: slot.keyMaterialOffset + (slot.keyMaterialSize ?? 0),
  }));
  for (const slot of details.keySlots) {
    if (slot.stripes !== LUKS1_STRIPES) context.warn(`key slot ${slot.slot}: ${slot.stripes} stripes (LUKS1 uses ${LUKS1_STRIPES})`);
    if (slot.active && slot.iterations === 0) context.warn(`key slot ${slot.slot}: an iteration count of zero`);
  }
  for (const [index, range] of ranges.entries()) {
    if (range.start < LUKS1_PHDR_SIZE) context.warn(`key slot ${range.slot}: key material overlaps the header`);
    if (details.payloadOffset !== 0 && range.end > details.payloadOffset) {
      context.warn(`key slot ${range.slot}: key material overlaps the payload`);
    }
    for (const other of ranges.slice(index + 1)) {
      if (range.start < other.end && other.start < range.end) context.warn(`key slots ${range.slot} and ${other.slot} overlap`);
    }
  }
  if (details.masterKeyDigestIterations === 0) context.warn('the volume key digest has an iteration count of zero');
}

async function parseLuks1(reader: ByteReader, head: Uint8Array, context: ParseContext): Promise<ParsedImage<LuksDetails>> {
  if (head.byteLength < LUKS1_PHDR_SIZE) {
    throw fieldError('TRUNCATED', 'header', `needs ${LUKS1_PHDR_SIZE} bytes, the image has ${head.byteLength}`);
  }
  const header = decodeLuks1Header(head);
  const hashSpec = nulTerminated(header.hashSpec);
  const keySlots = header.keySlots.map((slot, index) => luks1KeySlot(index, slot, header.keyBytes, hashSpec, context));
  const details: LuksDetails = {
    version: 1,
    cipherName: nulTerminated(header.cipherName),
    cipherMode: nulTerminated(header.cipherMode),
    hashSpec,
    payloadOffset: header.payloadOffset * SECTOR_SIZE,
    keyBytes: header.keyBytes,
    uuid: nulTerminated(header.uuid),
    label: undefined,
    subsystem: undefined,
    activeKeySlots: keySlots.filter((slot) => slot.active).map((slot) => slot.slot),
    keySlots,
    masterKeyDigestIterations: header.masterKeyDigestIterations,
    headerSize: LUKS1_PHDR_SIZE,
    sequenceId: undefined,
    checksumAlgorithm: undefined,
    segments: undefined,
    config: undefined,
    tokens: undefined,
    secondaryHeader: undefined,
  };
  checkLuks1Layout(details, context);
  const total = await reader.totalSize();
  return { virtualSize: payloadSize(total, details.payloadOffset, context), details };
}

// ---------------------------------------------------------------------------------------
// LUKS2 JSON metadata: untrusted, so every value is checked for its type before use.

type JsonObject = Record<string, unknown>;

function objectAt(value: unknown, field: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fieldError('CORRUPT', field, 'is not a JSON object');
  return value as JsonObject;
}

function optionalObjectAt(value: unknown, field: string): JsonObject | undefined {
  return value === undefined ? undefined : objectAt(value, field);
}

function stringAt(value: unknown, field: string): string {
  if (typeof value !== 'string') throw fieldError('CORRUPT', field, 'is not a string');
  return value;
}

function optionalStringAt(value: unknown, field: string): string | undefined {
  return value === undefined ? undefined : stringAt(value, field);
}

function integerAt(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw fieldError('CORRUPT', field, 'is not a non-negative integer');
  return value;
}

function optionalIntegerAt(value: unknown, field: string): number | undefined {
  return value === undefined ? undefined : integerAt(value, field);
}

/** LUKS2 stores 64-bit offsets and sizes as decimal strings (LUKS2 spec, section 3.1). */
function decimalAt(value: unknown, field: string): number {
  const text = stringAt(value, field);
  if (!/^[0-9]{1,20}$/.test(text)) throw fieldError('CORRUPT', field, `"${text}" is not a decimal number`);
  return safeNumber(BigInt(text), field, 'luks');
}

function stringListAt(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > LUKS2_MAX_OBJECTS) throw fieldError('CORRUPT', field, `is not a list of at most ${LUKS2_MAX_OBJECTS} strings`);
  return value.map((item, index) => stringAt(item, `${field}.${index}`));
}

/** The entries of a `keyslots`, `segments`, `digests` or `tokens` object, by their numeric keys, in order. */
function numberedEntries(value: unknown, field: string): Array<[number, JsonObject]> {
  const object = objectAt(value, field);
  const keys = Object.keys(object);
  if (keys.length > LUKS2_MAX_OBJECTS) {
    throw fieldError('LIMIT_EXCEEDED', field, `${keys.length} entries (at most ${LUKS2_MAX_OBJECTS})`);
  }
  const entries: Array<[number, JsonObject]> = [];
  for (const key of keys) {
    if (!/^[0-9]{1,9}$/.test(key)) throw fieldError('CORRUPT', `${field}.${key}`, 'is not a numbered entry');
    entries.push([Number(key), objectAt(object[key], `${field}.${key}`)]);
  }
  return entries.sort((left, right) => left[0] - right[0]);
}

function luks2KeySlot(index: number, slot: JsonObject): LuksKeySlot {
  const field = `json.keyslots.${index}`;
  const area = objectAt(slot.area, `${field}.area`);
  const kdf = optionalObjectAt(slot.kdf, `${field}.kdf`);
  const af = optionalObjectAt(slot.af, `${field}.af`);
  const type = stringAt(slot.type, `${field}.type`);
  return {
    slot: index,
    // A "reencrypt" slot records reencryption progress; it holds no key (LUKS2 spec, section 3.2).
    active: type !== 'reencrypt',
    type,
    kdf: kdf === undefined ? undefined : stringAt(kdf.type, `${field}.kdf.type`),
    kdfHash: kdf === undefined ? undefined : optionalStringAt(kdf.hash, `${field}.kdf.hash`),
    iterations: kdf === undefined ? undefined : optionalIntegerAt(kdf.iterations, `${field}.kdf.iterations`),
    time: kdf === undefined ? undefined : optionalIntegerAt(kdf.time, `${field}.kdf.time`),
    memory: kdf === undefined ? undefined : optionalIntegerAt(kdf.memory, `${field}.kdf.memory`),
    cpus: kdf === undefined ? undefined : optionalIntegerAt(kdf.cpus, `${field}.kdf.cpus`),
    keyMaterialOffset: decimalAt(area.offset, `${field}.area.offset`),
    keyMaterialSize: decimalAt(area.size, `${field}.area.size`),
    stripes: af === undefined ? undefined : optionalIntegerAt(af.stripes, `${field}.af.stripes`),
    afHash: af === undefined ? undefined : optionalStringAt(af.hash, `${field}.af.hash`),
    keySize: integerAt(slot.key_size, `${field}.key_size`),
    encryption: optionalStringAt(area.encryption, `${field}.area.encryption`),
    priority: optionalIntegerAt(slot.priority, `${field}.priority`),
  };
}

function luks2Segment(index: number, segment: JsonObject): LuksSegment {
  const field = `json.segments.${index}`;
  return {
    segment: index,
    type: stringAt(segment.type, `${field}.type`),
    offset: decimalAt(segment.offset, `${field}.offset`),
    size: segment.size === 'dynamic' ? 'dynamic' : decimalAt(segment.size, `${field}.size`),
    encryption: optionalStringAt(segment.encryption, `${field}.encryption`),
    sectorSize: optionalIntegerAt(segment.sector_size, `${field}.sector_size`),
    flags: stringListAt(segment.flags, `${field}.flags`),
  };
}

/** The metadata of the JSON area, decoded. */
interface Luks2Metadata {
  keySlots: LuksKeySlot[];
  segments: LuksSegment[];
  digests: Array<{ digest: number; hash: string | undefined; iterations: number | undefined; segments: string[] }>;
  tokens: number;
  config: NonNullable<LuksDetails['config']>;
}

function decodeJsonArea(bytes: Uint8Array): Luks2Metadata {
  let document: unknown;
  try {
    // The area is NUL-padded after the JSON text (LUKS2 spec, section 3).
    document = JSON.parse(nulTerminated(bytes, utf8Text));
  } catch (error) {
    throw fieldError('CORRUPT', 'json', `is not valid JSON (${(error as Error).message})`);
  }
  const root = objectAt(document, 'json');
  const config = objectAt(root.config, 'json.config');
  const requirements = optionalObjectAt(config.requirements, 'json.config.requirements');
  return {
    keySlots: numberedEntries(root.keyslots, 'json.keyslots').map(([index, slot]) => luks2KeySlot(index, slot)),
    segments: numberedEntries(root.segments, 'json.segments').map(([index, segment]) => luks2Segment(index, segment)),
    digests: numberedEntries(root.digests, 'json.digests').map(([index, digest]) => ({
      digest: index,
      hash: optionalStringAt(digest.hash, `json.digests.${index}.hash`),
      iterations: optionalIntegerAt(digest.iterations, `json.digests.${index}.iterations`),
      segments: stringListAt(digest.segments, `json.digests.${index}.segments`),
    })),
    tokens: numberedEntries(root.tokens ?? {}, 'json.tokens').length,
    config: {
      jsonSize: decimalAt(config.json_size, 'json.config.json_size'),
      keyslotsSize: config.keyslots_size === undefined ? undefined : decimalAt(config.keyslots_size, 'json.config.keyslots_size'),
      flags: stringListAt(config.flags, 'json.config.flags'),
      requirements: requirements === undefined ? [] : stringListAt(requirements.mandatory, 'json.config.requirements.mandatory'),
    },
  };
}

function checkHeaderSize(size: bigint): number {
  const valid = size >= BigInt(LUKS2_MIN_HEADER_SIZE) && size <= BigInt(LUKS2_MAX_HEADER_SIZE) && (size & (size - 1n)) === 0n;
  if (!valid) {
    throw fieldError('CORRUPT', 'header.headerSize', `${size} bytes is not a LUKS2 header size (a power of two from 16 KiB to 4 MiB)`);
  }
  return Number(size);
}

/** The data segment the volume key protects: the crypt segment with the lowest offset. */
function mainSegment(segments: readonly LuksSegment[]): LuksSegment | undefined {
  let chosen: LuksSegment | undefined;
  for (const segment of segments) {
    if (segment.type !== 'crypt') continue;
    if (chosen === undefined || segment.offset < chosen.offset) chosen = segment;
  }
  return chosen ?? segments[0];
}

async function readSecondaryHeader(reader: ByteReader, offset: number, sequenceId: bigint, context: ParseContext): Promise<boolean> {
  const bytes = await reader.readAvailable(offset, LUKS2_BINARY_HEADER_SIZE, 'secondary header');
  if (bytes.byteLength < LUKS2_BINARY_HEADER_SIZE || !bytesEqual(bytes, 0, LUKS2_SECONDARY_MAGIC)) {
    context.warn(`no secondary header at ${offset}`);
    return false;
  }
  const secondary = decodeLuks2BinaryHeader(bytes);
  if (secondary.sequenceId !== sequenceId) {
    context.warn(`the secondary header's sequence number ${secondary.sequenceId} differs from the primary's ${sequenceId}`);
  }
  return true;
}

async function parseLuks2(reader: ByteReader, head: Uint8Array, context: ParseContext): Promise<ParsedImage<LuksDetails>> {
  const binary = decodeLuks2BinaryHeader(head);
  const headerSize = checkHeaderSize(binary.headerSize);
  if (binary.headerOffset !== 0n) context.warn(`the primary header says it is at ${binary.headerOffset}, not 0`);
  const metadata = decodeJsonArea(await reader.read(LUKS2_BINARY_HEADER_SIZE, headerSize - LUKS2_BINARY_HEADER_SIZE, 'json area'));
  if (metadata.config.jsonSize !== headerSize - LUKS2_BINARY_HEADER_SIZE) {
    context.warn(`config.json_size ${metadata.config.jsonSize} disagrees with the header size ${headerSize}`);
  }
  const secondaryHeader = await readSecondaryHeader(reader, headerSize, binary.sequenceId, context);

  const segment = mainSegment(metadata.segments);
  const digest = metadata.digests.find((candidate) => segment !== undefined && candidate.segments.includes(String(segment.segment)));
  const cipher = splitCipher(segment?.encryption ?? '');
  const details: LuksDetails = {
    version: 2,
    ...cipher,
    hashSpec: (digest ?? metadata.digests[0])?.hash ?? '',
    payloadOffset: segment?.offset ?? 0,
    keyBytes: metadata.keySlots.find((slot) => slot.active)?.keySize,
    uuid: nulTerminated(binary.uuid),
    label: emptyToUndefined(nulTerminated(binary.label, utf8Text)),
    subsystem: emptyToUndefined(nulTerminated(binary.subsystem, utf8Text)),
    activeKeySlots: metadata.keySlots.filter((slot) => slot.active).map((slot) => slot.slot),
    keySlots: metadata.keySlots,
    masterKeyDigestIterations: (digest ?? metadata.digests[0])?.iterations,
    headerSize,
    sequenceId: safeNumber(binary.sequenceId, 'header.sequenceId', 'luks'),
    checksumAlgorithm: nulTerminated(binary.checksumAlgorithm),
    segments: metadata.segments,
    config: metadata.config,
    tokens: metadata.tokens,
    secondaryHeader,
  };

  const total = await reader.totalSize();
  if (segment === undefined) {
    context.warn('no data segment: the volume holds no data');
    return { virtualSize: 0, details };
  }
  if (segment.size === 'dynamic') return { virtualSize: payloadSize(total, segment.offset, context), details };
  if (segment.offset + segment.size > total) {
    context.warn(`segment ${segment.segment} ends at ${segment.offset + segment.size}, beyond the image's ${total} bytes`);
  }
  return { virtualSize: segment.size, details };
}

// ---------------------------------------------------------------------------------------

async function parseLuks(reader: ByteReader, context: ParseContext): Promise<ParsedImage<LuksDetails>> {
  // One read of the first 4 KiB covers a LUKS1 header with its key slots and a LUKS2 binary
  // header, so that a stream is never asked to go back.
  const head = await reader.readAvailable(0, LUKS2_BINARY_HEADER_SIZE, 'header');
  // Both versions keep the magic and then the version at the same place.
  const version = u16be(head, LUKS1_HEADER_FIELD_OFFSETS.version, 'header.version');
  if (version === 1) return parseLuks1(reader, head, context);
  if (version === 2) return parseLuks2(reader, head, context);
  throw fieldError('UNSUPPORTED', 'header.version', `LUKS version ${version} (1 and 2 exist)`);
}

/**
 * The fields qemu-img info prints for a LUKS volume: qemu splits the cipher mode
 * `cbc-essiv:sha256` into `cipher mode` cbc, `ivgen alg` essiv and `ivgen hash alg`
 * sha256, names the cipher with its key size (`aes-256`; XTS keys are two keys of half
 * the size each, so a 512-bit XTS key is `aes-256`), and lists every key slot, with
 * iterations and stripes only for the active ones.
 */
function qemuLuksRows(details: LuksDetails): SummaryRow[] {
  const [mode, ivgen] = splitAt(details.cipherMode, '-');
  const [ivgenAlg, ivgenHash] = ivgen === undefined ? [undefined, undefined] : splitAt(ivgen, ':');
  return [
    ['ivgen alg', ivgenAlg],
    ['hash alg', details.hashSpec],
    ['cipher alg', details.keyBytes === undefined ? details.cipherName : `${details.cipherName}-${(details.keyBytes * 8) / (mode === 'xts' ? 2 : 1)}`],
    ['uuid', details.uuid],
    ['ivgen hash alg', ivgenHash],
    ['cipher mode', mode],
    ...listRows(
      'slots',
      details.keySlots.map((slot): SummaryRow[] => [
        ['active', slot.active],
        ['kdf', details.version === 2 && slot.active ? slot.kdf : undefined],
        ['iters', slot.active ? (slot.iterations ?? slot.time) : undefined],
        ['key offset', slot.keyMaterialOffset],
        ['stripes', slot.active ? slot.stripes : undefined],
      ]),
    ),
    ['payload offset', details.payloadOffset],
    ['master key iters', details.masterKeyDigestIterations],
  ];
}

/** `a-b-c` at the first `-`: `['a', 'b-c']`; without one `['a', undefined]`. */
function splitAt(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

/** The LUKS format module (versions 1 and 2). */
export const luks: FormatModule<'luks', LuksDetails, never> = {
  name: 'luks',
  title: 'LUKS encrypted volume',
  // qemu 7.2 knows LUKS1 only; a LUKS2 header is raw to its probe.
  qemuProbes: (details) => details.version === 1,
  glance: { diskFormat: null }, // Glance has no disk_format for it
  signatures: [{ offset: 0, bytes: LUKS_MAGIC }],
  // Ours first (the whole cipher specification), then qemu-img info's format-specific
  // block in its words (QCryptoBlockInfoLUKS).
  summarize: (details) => [
    ['encrypted', 'yes'],
    ['version', details.version],
    ['cipher', `${details.cipherName}-${details.cipherMode}`],
    ['key size', details.keyBytes === undefined ? undefined : details.keyBytes * 8],
    ['label', details.label],
    ['active key slots', details.activeKeySlots.join(', ')],
    ...section(FORMAT_SPECIFIC, qemuLuksRows(details)),
  ],
  parse: parseLuks,
};
