/**
 * The file tests and reads libguestfs's inspection makes on a mounted guest file system
 * (`Is.is_file`, `Is.is_dir`, `read_small_file`, `read_first_line_from_file`, ...), over one
 * opened {@link FileSystem}, with its rules:
 *
 * | libguestfs | here | rule |
 * | --- | --- | --- |
 * | `Is.is_file path` / `Is.is_dir path` | {@link GuestFiles.isFile} / {@link GuestFiles.isDir} | `lstat`: a link in the last component is not followed unless `follow` (`~followsymlinks:true`) |
 * | `is_symlink_to path target` | {@link GuestFiles.isSymlinkTo} | the link's target as stored, compared exactly |
 * | `read_small_file` | {@link GuestFiles.readLines} | a regular file of at most {@link MAX_GUEST_SMALL_FILE_BYTES} (`is_small_file`), split at `\n` |
 * | `read_first_line_from_file` | {@link GuestFiles.readFirstLine} | the same file, its first line |
 * | a file handed to Augeas | {@link GuestFiles.readConfigLines} | at most {@link MAX_GUEST_CONFIG_FILE_BYTES} (`max_augeas_file_size`), else ignored |
 *
 * Paths are resolved inside the file system as the guest's kernel would with it as `/`
 * (libguestfs reads through a chroot): absolute link targets start from its root.
 *
 * A damaged structure met while testing one path makes that path absent and leaves a
 * warning (libguestfs's tests answer false on any error), unless the inspection must stop
 * (its read budget is spent, the caller aborted, the source failed).
 *
 * @module
 */
import { type FileSystem, resolvePath } from '../filesystems/file-system.js';
import { isIntrospectionError } from '../src/errors.js';
import { executableArchitecture } from './executable-arch.js';

/** Largest file read as text: libguestfs's `is_small_file` limit (2 × 1048 × 1024 bytes). */
export const MAX_GUEST_SMALL_FILE_BYTES = 2 * 1048 * 1024;
/** Largest configuration file read (`/etc/fstab`, `/etc/sysconfig/network`): libguestfs's `max_augeas_file_size`. */
export const MAX_GUEST_CONFIG_FILE_BYTES = 100 * 1000;

/** What the file tests report to, and how they learn that the inspection must stop. */
export interface GuestFilesContext {
  warn(message: string): void;
  /** True when an error must end the whole inspection (read budget spent, aborted, source failed). */
  mustStop(error: unknown): boolean;
}

/** The file tests and reads of inspection, over one file system (see the module documentation). */
export class GuestFiles<Node = unknown> {
  constructor(
    readonly fs: FileSystem<Node>,
    /** The libguestfs name of what is mounted (`/dev/sda2`, `btrfsvol:/dev/sda2/@`), for warnings. */
    readonly device: string,
    private readonly context: GuestFilesContext,
  ) {}

  /** Runs a file-system walk; a damaged structure gives `fallback` and a warning. */
  async soft<T>(what: string, fallback: T, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (this.context.mustStop(error) || !isIntrospectionError(error)) throw error;
      this.context.warn(`${this.device}: ${what}: ${error.message}`);
      return fallback;
    }
  }

  /** The node at `path`, or `undefined`. */
  node(path: string, follow: boolean): Promise<Node | undefined> {
    return this.soft(path, undefined, () => resolvePath(this.fs, path, follow));
  }

  /** `Is.is_file path ~followsymlinks`. */
  async isFile(path: string, follow = false): Promise<boolean> {
    const node = await this.node(path, follow);
    return node !== undefined && this.fs.kind(node) === 'file';
  }

  /** `Is.is_dir path ~followsymlinks`. */
  async isDir(path: string, follow = false): Promise<boolean> {
    const node = await this.node(path, follow);
    return node !== undefined && this.fs.kind(node) === 'directory';
  }

  /** True when `path` is a symbolic link whose stored target is exactly `target`. */
  async isSymlinkTo(path: string, target: string): Promise<boolean> {
    const node = await this.node(path, false);
    if (node === undefined || this.fs.kind(node) !== 'symlink') return false;
    return this.soft(`${path} (link)`, false, async () => (await this.fs.readLink(node)) === target);
  }

  /** The bytes of a regular file (links followed) of at most `maxBytes`; `undefined` when absent or larger. */
  async readWhole(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const node = await this.node(path, true);
    if (node === undefined || this.fs.kind(node) !== 'file') return undefined;
    const size = this.fs.size(node);
    if (size > maxBytes) {
      this.context.warn(`${this.device}: ${path}: ${size} bytes, larger than the ${maxBytes} read`);
      return undefined;
    }
    return this.soft(path, undefined, () => this.fs.readFile(node, size));
  }

  /** The first `maxBytes` bytes of a regular file (links followed), or `undefined`. */
  async readHead(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const node = await this.node(path, true);
    if (node === undefined || this.fs.kind(node) !== 'file') return undefined;
    return this.soft(path, undefined, () => this.fs.readFile(node, maxBytes));
  }

  /** `read_small_file`: the lines of a small regular file (the last one empty when the file ends in a newline). */
  async readLines(path: string): Promise<string[] | undefined> {
    const bytes = await this.readWhole(path, MAX_GUEST_SMALL_FILE_BYTES);
    return bytes === undefined ? undefined : decodeText(bytes).split('\n');
  }

  /** A configuration file as libguestfs hands it to Augeas: at most {@link MAX_GUEST_CONFIG_FILE_BYTES}. */
  async readConfigLines(path: string): Promise<string[] | undefined> {
    const bytes = await this.readWhole(path, MAX_GUEST_CONFIG_FILE_BYTES);
    return bytes === undefined ? undefined : decodeText(bytes).split('\n');
  }

  /** The architecture the ELF or PE header of the regular file at `path` (links followed) names; `undefined` when it is not one. */
  async architecture(path: string): Promise<string | undefined> {
    const node = await this.node(path, true);
    if (node === undefined || this.fs.kind(node) !== 'file') return undefined;
    return this.soft(path, undefined, () =>
      // What the file holds of the range (a small executable is shorter than the head asked
      // for: `file`, which libguestfs runs, names a 64-byte ELF header); the parsers check lengths.
      executableArchitecture(async (offset, length) => {
        const bytes = await this.fs.readFile(node, offset + length);
        return bytes.byteLength > offset ? bytes.subarray(offset) : undefined;
      }),
    );
  }

  /** `read_first_line_from_file`: the first line of a small file, `''` when empty or absent. */
  async readFirstLine(path: string): Promise<string> {
    const lines = await this.readLines(path);
    return lines?.[0] ?? '';
  }
}

const decoder = new TextDecoder('utf-8');

/** Text as the guest's tools would read it: UTF-8, invalid bytes replaced. */
export function decodeText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
