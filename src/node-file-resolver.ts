/**
 * The default resolver of `introspectFile`: the files an image names (a VMDK's extents, a
 * backing file), looked up beside it the way qemu does (a relative name is relative to the
 * folder of the image that stores it: `path_combine` in qemu's block.c), but confined to
 * the folder of the image that was asked about.
 *
 * | name | default | `allowOutsideReferences` |
 * | --- | --- | --- |
 * | `base.qcow2`, `sub/base.qcow2` | read, if it is (after symbolic links) inside the folder | read |
 * | `../base.qcow2`, a symbolic link out of the folder | refused | read |
 * | `/images/base.qcow2`, `C:\images\base.vhd`, `file:///...` | refused | read (a Windows path is not found on another system) |
 * | a UUID (VDI) | refused: pass `resolve` | refused |
 *
 * Node only.
 *
 * @module
 */
import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type OpenedFile, type ReferenceResolver, refuseReference } from './chain.js';
import type { RandomAccessSource } from './reading/range-backend.js';

/** Opens a file for random access (`openFileSource` of `src/node.ts`). */
export type FileOpener = (path: string) => Promise<RandomAccessSource & { close(): Promise<void> }>;

/** A drive letter, a UNC path or a file URL: absolute on some system. */
const FOREIGN_ABSOLUTE = /^(?:[A-Za-z]:\/|\/\/|file:)/i;

/** Whether `path` lies inside `folder` (both real paths). */
function inside(path: string, folder: string): boolean {
  const between = relative(folder, path);
  return between !== '' && !between.startsWith(`..${sep}`) && between !== '..' && !isAbsolute(between);
}

/** A name relative to the folder of the file that stores it, written as qemu writes it (`path_combine`: `sub/../base.qcow2`, not normalized). */
function combine(referrer: string, name: string): string {
  const slash = referrer.lastIndexOf('/');
  return slash === -1 ? name : `${referrer.slice(0, slash + 1)}${name}`;
}

/** The resolver for the image at `topPath`. */
export function fileResolver(topPath: string, allowOutside: boolean, open: FileOpener): ReferenceResolver {
  let root: Promise<string> | undefined;
  return async (name, referrer): Promise<OpenedFile | undefined> => {
    if (referrer.by === 'uuid') refuseReference('a parent named by UUID cannot be found on disk: pass resolve to supply it');
    const absolute = isAbsolute(name) || FOREIGN_ABSOLUTE.test(name);
    if (absolute && !allowOutside) refuseReference('it is an absolute path (allowOutsideReferences allows it)');
    const path = /^file:/i.test(name) ? fileURLToPath(name) : isAbsolute(name) ? name : combine(referrer.filename, name);
    let real: string;
    try {
      real = await realpath(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw error;
    }
    root ??= realpath(dirname(resolve(topPath)));
    const folder = await root;
    if (!allowOutside && !inside(real, folder)) refuseReference(`it leads out of ${folder} (allowOutsideReferences allows it)`);
    const source = await open(real);
    return { filename: path, key: real, source, close: () => source.close() };
  };
}
