/**
 * tar: an archive around a disk image (GCE images are `disk.raw` in a `.tar.gz`; Vagrant's
 * libvirt boxes hold `box.img`).
 *
 * Which member is the disk: the first one the formats or containers recognise (a qcow2, a
 * VMDK, a partitioned raw disk, a compressed image...); when none is, the largest regular
 * member, read as raw. Members are read in archive order and each only as far as its
 * answer needs; the walk stops at the disk. A stored member on a random-access source is
 * itself read by random access; a sparse one (GNU `tar -S`, as GCE's instructions use) is
 * read through its map, holes as zeros.
 *
 * | layer field | meaning |
 * | --- | --- |
 * | `member` | the disk's member name |
 * | `memberSize` | its size (a sparse member's full size) |
 * | `mode`, `mtime`, `uid`, `gid`, `uname`, `gname` | the member's metadata |
 * | `sparse` | true for a sparse member |
 * | `headerFormat` | `ustar`, `gnu`, `pax` or `v7` |
 * | `entries` | the members read, in order, up to and including the disk (at most 1000) |
 *
 * @module
 */
import type { ContainerModule, InnerImage } from '../src/container-module.js';
import type { ByteReader } from '../src/format-module.js';
import { type ArchiveEntry, MAX_LISTED_ENTRIES, memberPathCheck, memberReader, recognised } from './shared/members.js';
import { TAR_BLOCK_SIZE, type TarEntry, type TarHeaderFormat, detectTar, walkTar } from './shared/tar.js';

/** What the tar layer knows. */
export interface TarLayer {
  member: string;
  memberSize: number;
  /** Permission bits, as octal text (`0644`). */
  mode: string;
  mtime?: string;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  sparse: boolean;
  headerFormat: TarHeaderFormat;
  entries: ArchiveEntry[];
}

/** The first header, as detection sees it: a tar archive (ustar magic, or a v7 header with a valid checksum). */
export async function tarHeaderAtStart(reader: ByteReader): Promise<boolean> {
  return detectTar(await reader.readAvailable(0, TAR_BLOCK_SIZE, 'tar header'));
}

/** The tar container module. */
export const tar: ContainerModule<'tar', TarLayer, 'member_path'> = {
  name: 'tar',
  title: 'tar archive',
  signatures: [{ offset: 257, bytes: 'ustar' }],
  probe: tarHeaderAtStart,
  checks: [memberPathCheck],
  summarize: (layer) => [
    ['member', layer.member],
    ['member size', layer.memberSize],
    ['sparse', layer.sparse || undefined],
    ['members read', layer.entries.length],
  ],
  async open(reader, context) {
    const entries: ArchiveEntry[] = [];
    let chosen: { entry: TarEntry; image: InnerImage } | undefined;
    let largest: { entry: TarEntry; image: InnerImage } | undefined;
    for await (const entry of walkTar(reader)) {
      if (entries.length < MAX_LISTED_ENTRIES) entries.push({ name: entry.name, type: entry.type, size: entry.size });
      if (entry.type !== 'file' || entry.size === 0) continue;
      const image = await context.introspect(memberReader(context, entry));
      if (recognised(image)) {
        chosen = { entry, image };
        break;
      }
      if (largest === undefined || entry.size > largest.entry.size) largest = { entry, image };
    }
    const found = chosen ?? largest;
    if (found === undefined) return { layer: emptyLayer(entries), images: [] };
    const { entry, image } = found;
    const layer: TarLayer = {
      member: entry.name,
      memberSize: entry.size,
      mode: entry.mode.toString(8).padStart(4, '0'),
      uid: entry.uid,
      gid: entry.gid,
      uname: entry.uname,
      gname: entry.gname,
      sparse: entry.sparse !== undefined,
      headerFormat: entry.format,
      entries,
    };
    if (entry.mtime !== undefined) layer.mtime = entry.mtime;
    return { layer, images: [image] };
  },
};

function emptyLayer(entries: ArchiveEntry[]): TarLayer {
  return { member: '', memberSize: 0, mode: '0000', uid: 0, gid: 0, uname: '', gname: '', sparse: false, headerFormat: 'ustar', entries };
}
