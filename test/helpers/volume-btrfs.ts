/**
 * Volumes and test images for the Btrfs and LVM2 tests: a `ByteReader` over bytes or over
 * a region of a file (counting the bytes read), the real tools that build images
 * (`mkfs.btrfs --rootdir`, LVM on a loop device, libguestfs's `guestfish`), and their
 * availability, so that a test skips with the reason when a tool is missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { xorshift32 } from './volume.js';

export { TEST_MAX_BUFFER_BYTES, type TestVolume, volumeOfBytes, volumeOfFile } from './volume.js';

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

/** The rows of an LVM JSON report (`pvs`/`lvs --reportformat json`): one record of field → text per PV (`pv`) or LV segment (`lv`). */
export function lvmReportRows(json: string, kind: 'pv' | 'lv'): Array<Record<string, string>> {
  const report = JSON.parse(json) as { report: Array<Partial<Record<'pv' | 'lv', Array<Record<string, string>>>>> };
  return report.report[0]?.[kind] ?? [];
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

/** Deterministic text that compresses well: numbered lines. */
export function compressibleText(length: number, label: string): Uint8Array {
  const lines: string[] = [];
  let total = 0;
  for (let line = 0; total < length; line += 1) {
    const text = `${label} line ${line}: the quick brown fox jumps over the lazy dog\n`;
    lines.push(text);
    total += text.length;
  }
  return new TextEncoder().encode(lines.join('').slice(0, length));
}

/** Deterministic bytes that do not compress (xorshift32 from `seed`). */
export function patternBytes(length: number, seed: number): Uint8Array {
  const next = xorshift32(seed);
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index += 4) {
    const state = next();
    bytes[index] = state & 0xff;
    bytes[index + 1] = (state >>> 8) & 0xff;
    bytes[index + 2] = (state >>> 16) & 0xff;
    bytes[index + 3] = state >>> 24;
  }
  return bytes;
}

/** openSUSE Leap's `/etc/os-release`, as the openSUSE-like test guest carries it. */
export const OPENSUSE_OS_RELEASE = `NAME="openSUSE Leap"
VERSION="15.5"
ID="opensuse-leap"
ID_LIKE="suse opensuse"
VERSION_ID="15.5"
PRETTY_NAME="openSUSE Leap 15.5"
ANSI_COLOR="0;32"
CPE_NAME="cpe:/o:opensuse:leap:15.5"
HOME_URL="https://www.opensuse.org/"
`;

/** Rocky Linux's `/etc/os-release` (shortened), for the Btrfs-on-LVM test guest. */
export const ROCKY_OS_RELEASE = `NAME="Rocky Linux"
VERSION="9.3 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"
`;

/** The files the guestfish-built images hold, by name in the cache directory, with their contents. */
export function guestImageInputs(): Record<string, Uint8Array> {
  const text = (value: string) => new TextEncoder().encode(value);
  return {
    'os-release': text(OPENSUSE_OS_RELEASE),
    'os-release-rocky': text(ROCKY_OS_RELEASE),
    hostname: text('suse-guest\n'),
    'hostname-v2': text('suse-guest-renamed\n'),
    fstab: text('UUID=x / btrfs defaults 0 0\nUUID=x /var btrfs subvol=/@/var 0 0\nUUID=x /home btrfs subvol=/@/home 0 0\n'),
    'var-marker': text('this file lives in the @/var subvolume\n'),
    'home-marker': text('this file lives in the @/home subvolume\n'),
    'text-300k': compressibleText(300_000, 'compressed'),
    'small-1800': compressibleText(1800, 'inline'),
    'random-200k': patternBytes(200_000, 7),
    'lv-pattern': patternBytes(16 * 1024 * 1024, 11),
  };
}

/**
 * The guestfish script building two disks:
 *
 * - `btrfs.img`: Btrfs on the whole disk in openSUSE's layout (`@`, `@/.snapshots`, the root
 *   in `@/.snapshots/1/snapshot` made the default subvolume, `@/var` and `@/home`), a
 *   read-only snapshot `@/.snapshots/2/snapshot` taken before the hostname changed, a
 *   snapshot of `@` (which shows the nested subvolumes as empty directories), files written
 *   with zlib, lzo and zstd compression, a sparse file and a preallocated one;
 * - `lvm.img`: two MBR partitions, each an LVM PV of VG `vg0`, with LV `root` (Btrfs, a
 *   Rocky `os-release`), LV `pattern` in two segments (extended after `spacer` was created)
 *   filled with {@link patternBytes}, and, where the appliance's LVM can make them (a failure
 *   there does not stop the script), a thin pool with a thin LV, a RAID1 LV over both PVs
 *   and an LV striped over both; LVM's own `lvs`/`pvs` JSON reports end the transcript.
 *
 * Subvolume ids are assigned in creation order from 256: `@` 256, `@/.snapshots` 257, the
 * root snapshot 258, `@/var` 259, `@/home` 260.
 */
export function guestImageScript(dir: string): string {
  const root = '/@/.snapshots/1/snapshot';
  const compressed = (algorithm: string) => [
    `mount-options subvolid=5,compress=${algorithm} /dev/sda /`,
    `mkdir-p ${root}/data/${algorithm}`,
    `upload ${dir}/text-300k ${root}/data/${algorithm}/text`,
    `upload ${dir}/small-1800 ${root}/data/${algorithm}/small`,
    `upload ${dir}/random-200k ${root}/data/${algorithm}/random`,
    'sync',
    'umount /',
  ];
  return [
    'run',
    'mkfs-btrfs /dev/sda label:suse-root',
    'mount /dev/sda /',
    'btrfs-subvolume-create /@',
    'btrfs-subvolume-create /@/.snapshots',
    'mkdir /@/.snapshots/1',
    `btrfs-subvolume-create ${root}`,
    'btrfs-subvolume-create /@/var',
    'btrfs-subvolume-create /@/home',
    `btrfs-subvolume-set-default 258 /`,
    `mkdir-p ${root}/etc`,
    `upload ${dir}/os-release ${root}/etc/os-release`,
    `upload ${dir}/hostname ${root}/etc/hostname`,
    `upload ${dir}/fstab ${root}/etc/fstab`,
    `mkdir-p ${root}/usr/bin`,
    `upload /bin/ls ${root}/usr/bin/ls`,
    `ln-s usr/bin ${root}/bin`,
    `mkdir ${root}/var`,
    `mkdir ${root}/home`,
    `upload ${dir}/var-marker /@/var/marker`,
    `upload ${dir}/home-marker /@/home/marker`,
    `mkdir-p ${root}/data`,
    `touch ${root}/data/sparse`,
    `truncate-size ${root}/data/sparse 8388608`,
    `pwrite ${root}/data/sparse middle 4194304`,
    `fallocate64 ${root}/data/prealloc 1048576`,
    'sync',
    // From here on a plain mount would mount the default subvolume (258): name the top level.
    'umount /',
    ...compressed('zlib'),
    ...compressed('lzo'),
    ...compressed('zstd'),
    'mount-options subvolid=5 /dev/sda /',
    'mkdir /@/.snapshots/2',
    `btrfs-subvolume-snapshot ${root} /@/.snapshots/2/snapshot ro:true`,
    'btrfs-subvolume-snapshot /@ /@-snapshot',
    `upload ${dir}/hostname-v2 ${root}/etc/hostname`,
    'sync',
    'umount /',
    'part-init /dev/sdb mbr',
    'part-add /dev/sdb p 2048 526335',
    'part-add /dev/sdb p 526336 -2048',
    'pvcreate /dev/sdb1',
    'pvcreate /dev/sdb2',
    'vgcreate vg0 "/dev/sdb1 /dev/sdb2"',
    'lvcreate root vg0 160',
    'lvcreate pattern vg0 8',
    'lvcreate spacer vg0 8',
    'lvresize /dev/vg0/pattern 16',
    `upload ${dir}/lv-pattern /dev/vg0/pattern`,
    'mkfs-btrfs /dev/vg0/root label:lvroot',
    'mount /dev/vg0/root /',
    'mkdir /etc',
    `upload ${dir}/os-release-rocky /etc/os-release`,
    'umount-all',
    '-debug sh "lvm lvcreate --yes --type thin-pool -L 16M -n pool vg0 /dev/sdb1"',
    '-debug sh "lvm lvcreate --yes -V 64M -T vg0/pool -n thin"',
    '-debug sh "lvm lvcreate --yes --type raid1 -m1 -L 8M -n mirror vg0"',
    '-debug sh "lvm lvcreate --yes -i2 -I64k -L 8M -n striped vg0"',
    'echo ==lvs==',
    `debug sh "lvm lvs -a --reportformat json -o lv_name,lv_uuid,lv_size,segtype,seg_pe_ranges,seg_start_pe,seg_size_pe,lv_attr --units b --nosuffix vg0"`,
    'echo ==pvs==',
    `debug sh "lvm pvs --reportformat json -o pv_name,pv_uuid,pe_start,vg_name,vg_uuid,vg_seqno,vg_extent_size --units b --nosuffix"`,
    'echo ==default==',
    'mount /dev/sda /',
    'btrfs-subvolume-get-default /',
    'umount-all',
    '',
  ].join('\n');
}

/** Paths of the guestfish-built images and what guestfish printed about them. */
export interface GuestImages {
  btrfs: string;
  lvm: string;
  /** guestfish's standard output (its `lvs-full` listing and the default subvolume id). */
  transcript: string;
}

/**
 * Builds (once: the result is kept in a directory named after the script's hash, under
 * $IMAGE_INTROSPECT_IMAGE_CACHE or the temp dir) the two disks of {@link guestImageScript}.
 * A second caller waits for the first one's build.
 */
export function guestImages(): GuestImages {
  const inputs = guestImageInputs();
  const probeScript = guestImageScript('DIR');
  const key = createHash('sha256').update(probeScript).update(JSON.stringify(Object.fromEntries(Object.entries(inputs).map(([name, bytes]) => [name, createHash('sha256').update(bytes).digest('hex')])))).digest('hex').slice(0, 16);
  const dir = join(imageCacheDir(join(tmpdir(), 'image-introspect-images')), `guestfish-${key}`);
  const done = join(dir, 'done');
  const result = (): GuestImages => ({ btrfs: join(dir, 'btrfs.img'), lvm: join(dir, 'lvm.img'), transcript: readFileSync(join(dir, 'transcript.txt'), 'utf8') });
  if (existsSync(done)) return result();
  mkdirSync(dirname(dir), { recursive: true });
  try {
    mkdirSync(dir);
  } catch {
    // Another worker is building: wait for it (the build takes minutes under TCG).
    const deadline = Date.now() + 20 * 60_000;
    while (!existsSync(done)) {
      if (!existsSync(dir)) throw new Error(`the build in ${dir} failed in another worker`);
      if (Date.now() > deadline) throw new Error(`gave up waiting for another build in ${dir}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
    }
    return result();
  }
  for (const [name, bytes] of Object.entries(inputs)) writeFileSync(join(dir, name), bytes);
  run('truncate', ['-s', '512M', join(dir, 'btrfs.img')]);
  run('truncate', ['-s', '384M', join(dir, 'lvm.img')]);
  try {
    const transcript = guestfish([join(dir, 'btrfs.img'), join(dir, 'lvm.img')], guestImageScript(dir));
    writeFileSync(join(dir, 'transcript.txt'), transcript);
    writeFileSync(done, '');
  } catch (error) {
    // Leave nothing half-built behind (a waiting worker then gives up instead of reading it).
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return result();
}
