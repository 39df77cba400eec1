/**
 * NTFS reparse points (`$REPARSE_POINT`): symbolic links, junctions, WSL symbolic links, and
 * the tags whose data this driver does not read (Windows Overlay Filter compression,
 * deduplication).
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 4 | reparse tag |
 * | 4 | 2 | length of the data that follows |
 * | 8 | ... | tag-specific data |
 *
 * Junction (`IO_REPARSE_TAG_MOUNT_POINT`) and symbolic link (`IO_REPARSE_TAG_SYMLINK`) data
 * ([MS-FSCC] 2.1.2.5 and 2.1.2.4): substitute-name offset and length, print-name offset and
 * length (bytes, relative to the path buffer), for a symbolic link a 32-bit flags word (`1`:
 * relative), then the UTF-16 path buffer.
 *
 * How targets are given to the shared path walker: relative targets have their `\` turned
 * into `/` and resolve from the link's directory. Absolute targets are NT paths such as
 * `\??\C:\Users`: the drive letter is taken to mean this volume (the only volume a guest
 * inspection of a Windows system volume sees), so `\??\C:\Users` becomes `/Users`, as
 * ntfs-3g does for a volume it knows as that drive. Targets on another volume or machine
 * (`\??\UNC\...`, `\??\Volume{...}\...`, device paths) cannot be followed: reading such a
 * link is `UNSUPPORTED`.
 *
 * @module
 */
import { u16le, u32le, utf16leText, utf8Text } from '../../src/bytes.js';
import { fieldError } from '../../src/errors.js';

/** Longest reparse data Windows accepts (`MAXIMUM_REPARSE_DATA_BUFFER_SIZE`, 16 KiB). */
export const MAX_REPARSE_DATA_BYTES = 16 * 1024;

/** Reparse tags this driver knows. */
export const ReparseTag = {
  mountPoint: 0xa0000003,
  symlink: 0xa000000c,
  wslSymlink: 0xa000001d,
  dedup: 0x80000013,
  windowsOverlayFilter: 0x80000017,
} as const;

/** A reparse point, as far as this driver understands it. */
export type ReparsePoint =
  | { kind: 'link'; tag: number; target: string }
  | { kind: 'off-volume-link'; tag: number; target: string }
  | { kind: 'other'; tag: number };

/** True when the tag makes the node a link (whatever its target). */
export function isLinkTag(tag: number): boolean {
  return tag === ReparseTag.mountPoint || tag === ReparseTag.symlink || tag === ReparseTag.wslSymlink;
}

/** Parses `$REPARSE_POINT`'s value. */
export function parseReparsePoint(value: Uint8Array, field: string): ReparsePoint {
  if (value.byteLength > MAX_REPARSE_DATA_BYTES + 8) throw fieldError('LIMIT_EXCEEDED', field, `${value.byteLength} bytes of reparse data`);
  const tag = u32le(value, 0, `${field}.tag`);
  const dataLength = u16le(value, 4, `${field}.dataLength`);
  if (8 + dataLength > value.byteLength) throw fieldError('CORRUPT', `${field}.dataLength`, `${dataLength} bytes of data in a ${value.byteLength}-byte attribute`);
  const data = value.subarray(8, 8 + dataLength);
  if (tag === ReparseTag.wslSymlink) {
    // WSL: a 32-bit version (2), then the target as UTF-8, a Linux path.
    if (data.byteLength < 4) throw fieldError('CORRUPT', field, 'WSL symbolic link data is shorter than its version field');
    return { kind: 'link', tag, target: utf8Text(data.subarray(4)) };
  }
  if (tag !== ReparseTag.mountPoint && tag !== ReparseTag.symlink) return { kind: 'other', tag };
  const pathBufferOffset = tag === ReparseTag.symlink ? 12 : 8;
  const substituteOffset = u16le(data, 0, `${field}.substituteNameOffset`);
  const substituteLength = u16le(data, 2, `${field}.substituteNameLength`);
  const relative = tag === ReparseTag.symlink && (u32le(data, 8, `${field}.flags`) & 1) === 1;
  const start = pathBufferOffset + substituteOffset;
  if (start + substituteLength > data.byteLength) throw fieldError('CORRUPT', `${field}.substituteName`, 'the name runs past the reparse data');
  const ntPath = utf16leText(data.subarray(start, start + substituteLength));
  return mapTarget(tag, ntPath, relative);
}

function mapTarget(tag: number, ntPath: string, relative: boolean): ReparsePoint {
  const slashed = ntPath.replaceAll('\\', '/');
  if (relative) return { kind: 'link', tag, target: slashed };
  // `\??\X:\...` (or the `\DosDevices\`, `\GLOBAL??\` spellings of the same namespace).
  const drive = /^\/(?:\?\?|DosDevices|GLOBAL\?\?)\/[A-Za-z]:(\/.*)?$/i.exec(slashed);
  if (drive !== null) return { kind: 'link', tag, target: drive[1] ?? '/' };
  // `\Windows\...`: from the root of the link's own volume.
  if (slashed.startsWith('/') && !slashed.startsWith('/??/')) {
    const [first] = slashed.slice(1).split('/');
    if (first !== undefined && !/^(Device|GLOBAL\?\?|DosDevices)$/i.test(first)) return { kind: 'link', tag, target: slashed };
  }
  return { kind: 'off-volume-link', tag, target: ntPath };
}
