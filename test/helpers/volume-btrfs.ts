/**
 * Volumes and test images for the Btrfs and LVM2 tests: a `ByteReader` over bytes or over
 * a region of a file (counting the bytes read), the real tools that build images
 * (`mkfs.btrfs --rootdir`, LVM on a loop device, libguestfs's `guestfish`), and their
 * availability, so that a test skips with the reason when a tool is missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import type { ByteReader } from '../../src/format-module.js';
import { RandomAccessReader, type RandomAccessSource } from '../../src/random-access-reader.js';
import { bytesSource } from '../../src/source.js';

/** The buffer budget of test volumes: big enough for the largest file a test reads whole. */
export const TEST_MAX_BUFFER_BYTES = 256 * 1024 * 1024;

/** A volume and how many bytes have been read from it so far. */
export interface TestVolume {
  volume: ByteReader;
  bytesRead(): number;
  close(): void;
}

function testVolume(source: RandomAccessSource, close: () => void): TestVolume {
  const reader = new RandomAccessReader(source, TEST_MAX_BUFFER_BYTES, undefined);
  return { volume: reader, bytesRead: () => reader.bytesRead, close };
}

/** A volume over bytes in memory. */
export function volumeOfBytes(bytes: Uint8Array): TestVolume {
  return testVolume(bytesSource(bytes), () => {});
}

/**
 * A volume over a file, or over `length` bytes at `offset` in it (a partition), read with
 * positioned reads: only what the driver asks for is read. Call `close`.
 */
export function volumeOfFile(path: string, region?: { offset: number; length: number }): TestVolume {
  const descriptor = openSync(path, 'r');
  const base = region?.offset ?? 0;
  const size = region?.length ?? fstatSync(descriptor).size;
  const source: RandomAccessSource = {
    size,
    read: async (offset, length) => {
      const bytes = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      let filled = 0;
      while (filled < bytes.byteLength) {
        const got = readSync(descriptor, bytes, filled, bytes.byteLength - filled, base + offset + filled);
        if (got === 0) break;
        filled += got;
      }
      return bytes.subarray(0, filled);
    },
  };
  return testVolume(source, () => closeSync(descriptor));
}

/** True when `tool` runs (looked up on PATH and in the sbin directories). */
export function hasTool(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { env: toolEnv() }).status === 0;
}

/** The environment for tools: sbin on PATH (mkfs, lvm), LVM's file-descriptor warnings off. */
export function toolEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`, LVM_SUPPRESS_FD_WARNINGS: '1', ...extra };
}

/** Runs a tool and returns its standard output (throws with its standard error on failure). */
export function run(tool: string, args: string[], options: { input?: string | Uint8Array; env?: Record<string, string>; timeout?: number } = {}): string {
  try {
    return execFileSync(tool, args, { env: toolEnv(options.env), input: options.input, maxBuffer: 256 * 1024 * 1024, timeout: options.timeout, stdio: ['pipe', 'pipe', 'pipe'] }).toString('utf8');
  } catch (error) {
    const failure = error as { stderr?: Buffer; message: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${failure.stderr?.toString('utf8') ?? failure.message}`);
  }
}

/**
 * Why LVM cannot be driven here, or `undefined` when it can: the LVM tools write real
 * metadata on a loop device (root only), without device-mapper (`--driverloaded n`).
 */
export function lvmUnavailable(): string | undefined {
  if (!hasTool('pvcreate') || !hasTool('losetup')) return 'the LVM tools (lvm2) or losetup are not installed';
  if (process.getuid?.() !== 0) return 'LVM on a loop device needs root';
  return undefined;
}

/** Attaches `file` to a free loop device (returns its path); detach with {@link detachLoop}. */
export function attachLoop(file: string): string {
  return run('losetup', ['--find', '--show', file]).trim();
}

/** Detaches a loop device this test attached. */
export function detachLoop(device: string): void {
  spawnSync('losetup', ['-d', device], { env: toolEnv() });
}

/** Runs an LVM command restricted to the given devices, with device-mapper disabled. */
export function lvm(command: string, devices: string[], args: string[]): string {
  const restrict = devices.flatMap((device) => ['--devices', device]);
  return run('lvm', [command, ...restrict, '--driverloaded', 'n', ...args]);
}

/**
 * Why libguestfs cannot build images here, or `undefined`. Its appliance needs a kernel
 * (`linux-image-*`) and runs under TCG when KVM is unusable.
 */
export function guestfishUnavailable(): string | undefined {
  if (!hasTool('guestfish')) return 'libguestfs-tools (guestfish) is not installed';
  if (spawnSync('sh', ['-c', 'ls /boot/vmlinuz-* >/dev/null 2>&1']).status !== 0) return 'no kernel in /boot for the libguestfs appliance (install linux-image-amd64)';
  return undefined;
}

/**
 * Runs a guestfish script over the given disks (created by the caller). The appliance runs
 * under TCG (`force_tcg`): on this project's machines nested KVM rejects libguestfs's CPU
 * model, and TCG always works.
 */
export function guestfish(disks: string[], script: string): string {
  const args = disks.flatMap((disk) => ['-a', disk]);
  return run('guestfish', [...args], { input: script, env: { LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' }, timeout: 900_000 });
}

/** A directory for cached images: $IMAGE_INTROSPECT_IMAGE_CACHE when set (kept across runs), else `fallback`. */
export function imageCacheDir(fallback: string): string {
  const dir = process.env.IMAGE_INTROSPECT_IMAGE_CACHE ?? fallback;
  mkdirSync(dir, { recursive: true });
  return dir;
}
