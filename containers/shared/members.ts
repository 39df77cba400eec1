/**
 * What tar-based containers (tar, OVA) share: a member as a reader, which images count as
 * recognised, and what is wrong with a member's path.
 *
 * @module
 */
import type { ByteReader } from '../../src/format-module.js';
import type { ContainerContext, InnerImage } from '../../src/container-module.js';
import { type SafetyCheck, fail, pass } from '../../src/safety.js';
import type { TarEntry } from './tar.js';

/** A member as the archive listing shows it. */
export interface ArchiveEntry {
  name: string;
  type: string;
  size: number;
}

/** The most entries a layer lists in its result (the walk itself is capped by the archive parser). */
export const MAX_LISTED_ENTRIES = 1000;

/** A reader over a member's data: a slice, or for a sparse member its stored regions with holes between. */
export function memberReader(context: ContainerContext, entry: TarEntry): ByteReader {
  const sparse = entry.sparse;
  if (sparse === undefined) return context.slice(entry.dataOffset, entry.storedSize);
  let at = entry.dataOffset;
  const extents = sparse.regions.map((region) => {
    const extent = { offset: region.offset, length: region.length, at };
    at += region.length;
    return extent;
  });
  return context.mapped(extents, entry.size);
}

/**
 * True when the image is something the formats or containers recognise, not just bytes:
 * a format matched (a raw disk counts when it holds a partition table), or it has layers.
 */
export function recognised(image: InnerImage): boolean {
  return image.matchedFormats.length > 0 || image.containers !== undefined;
}

/**
 * Why a member would be dangerous to extract (Glance's `ovf_process` extracts the whole
 * archive to disk first): an absolute path, a `..` component, a link (which can point
 * anywhere), a device node. `undefined` for a plain relative file or directory.
 */
export function memberProblem(entry: ArchiveEntry): string | undefined {
  const name = entry.name;
  if (name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name) || name.startsWith('\\')) return 'an absolute path';
  if (name.split(/[\\/]/).includes('..')) return 'a path that climbs out with ..';
  if (entry.type === 'symlink' || entry.type === 'hardlink') return `a ${entry.type}`;
  if (entry.type === 'character-device' || entry.type === 'block-device' || entry.type === 'fifo') return `a ${entry.type}`;
  return undefined;
}

/** A member's name without leading `./`, as archives list it. */
export function plainName(name: string): string {
  return name.replace(/^(\.\/)+/, '');
}

/**
 * `member_path`: a member an extracting tool would write outside its folder or as a link
 * (path traversal, CVE-2007-4559 and its many successors; Glance's `ovf_process` extracts an
 * OVA to disk before reading it).
 */
export const memberPathCheck: SafetyCheck<{ entries: readonly ArchiveEntry[] }, 'member_path'> = {
  name: 'member_path',
  description: 'an archive member with an absolute path, a .. component, or a link or device (path traversal on extraction)',
  run(layer) {
    for (const entry of layer.entries) {
      const problem = memberProblem(entry);
      if (problem !== undefined) return fail(`member ${JSON.stringify(entry.name)} is ${problem}`);
    }
    return pass(`${layer.entries.length} member${layer.entries.length === 1 ? '' : 's'} read, all plain`);
  },
};
