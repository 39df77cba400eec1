/**
 * Test guests for guest inspection, built at test time without mounting anything: Linux
 * trees put into file systems by their own tools (`mkfs.ext4 -d`, `mkfs.xfs -p`, `mkfs.fat` +
 * `mtools`, `mkswap`), LVM on a loop device (device-mapper off: the file system image is
 * written where LVM says the extents are), Btrfs with openSUSE's subvolume layout inside
 * libguestfs's appliance, NTFS with registry hives written by hivex; real ELF and PE
 * binaries from Debian packages of other architectures (downloaded with `apt-get download`,
 * unpacked with `dpkg-deb`, cached, never committed); partitioned with `sgdisk`/`sfdisk`.
 *
 * Each guest is built once per machine (cached by a hash of everything it depends on, under
 * $IMAGE_INTROSPECT_IMAGE_CACHE or the temp dir), and so is `virt-inspector`'s XML for it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { xfsPrototype } from '../filesystems/ext-xfs-tree.js';
import { ROCKY_OS_RELEASE, attachLoop, detachLoop, guestfishUnavailable, lvm, lvmReportRows, lvmUnavailable } from './volume-btrfs.js';
import { hiveToolsMissing, makeHive, regSection, windowsNtfsVolume, windowsSoftwareReg } from './volume-windows.js';

/** Where guests and downloaded packages are kept. */
export function guestCacheDir(): string {
  const dir = join(process.env.IMAGE_INTROSPECT_IMAGE_CACHE ?? join(tmpdir(), 'image-introspect-images'), 'guests');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The environment for tools: sbin on PATH. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`, LC_ALL: 'C.UTF-8', LVM_SUPPRESS_FD_WARNINGS: '1', ...extra };
}

/** Runs a tool, returning its standard output; throws with its standard error. */
export function sh(tool: string, args: string[], options: { input?: string; env?: Record<string, string>; cwd?: string; timeout?: number } = {}): string {
  try {
    return execFileSync(tool, args, { env: env(options.env), input: options.input, cwd: options.cwd, timeout: options.timeout, maxBuffer: 256 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'] }).toString('utf8');
  } catch (error) {
    const failure = error as { stderr?: Buffer; message: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${failure.stderr?.toString('utf8') || failure.message}`);
  }
}

/** The tools among `tools` that are not installed. */
export function missing(tools: readonly string[]): string[] {
  return tools.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { env: env() }).status !== 0);
}

/**
 * A directory built once by `build` and kept under {@link guestCacheDir} by the hash of
 * `key` (a build that fails leaves nothing behind).
 */
export function cached(name: string, key: string, build: (dir: string) => void): string {
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  const dir = join(guestCacheDir(), `${name}-${hash}`);
  if (existsSync(join(dir, '.done'))) return dir;
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  try {
    build(partial);
    writeFileSync(join(partial, '.done'), '');
    // Test files run in parallel processes and may build the same directory at once: the
    // first one finished is kept (never removed under another's feet), the others dropped.
    if (!existsSync(join(dir, '.done'))) {
      rmSync(dir, { recursive: true, force: true });
      try {
        renameSync(partial, dir);
      } catch (error) {
        if (!existsSync(join(dir, '.done'))) throw error;
      }
    }
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  return dir;
}

// ---------------------------------------------------------------------------------------
// Debian packages of other architectures

/**
 * The files of Debian package `name` for `arch` (`arm64`, `ppc64el`, `s390x`, `i386`,
 * `amd64`), unpacked: downloaded with `apt-get download` (the foreign architecture is added
 * to dpkg and the package lists updated once when it is missing).
 */
export function debianPackage(name: string, arch: string): string {
  return cached(`deb-${name}-${arch}`, `${name}:${arch}`, (dir) => {
    const download = (): boolean => spawnSync('apt-get', ['download', `${name}:${arch}`], { cwd: dir, env: env(), stdio: 'ignore' }).status === 0;
    if (!download()) {
      if (process.getuid?.() !== 0) throw new Error(`apt-get download ${name}:${arch} failed (add the architecture: dpkg --add-architecture ${arch} && apt-get update)`);
      sh('dpkg', ['--add-architecture', arch]);
      spawnSync('apt-get', ['update'], { env: env(), stdio: 'ignore', timeout: 600_000 });
      if (!download()) throw new Error(`apt-get download ${name}:${arch} failed`);
    }
    const deb = readdirSync(dir).find((file) => file.endsWith('.deb'));
    if (deb === undefined) throw new Error(`no .deb for ${name}:${arch}`);
    sh('dpkg-deb', ['-x', join(dir, deb), join(dir, 'root')]);
    rmSync(join(dir, deb));
  });
}

/** One file out of a large Debian package, without unpacking the rest (wine's `cmd.exe` is 1.7 MB of a 100 MB package). */
export function debianPackageFile(name: string, arch: string, path: string): string {
  const dir = cached(`debfile-${name}-${arch}`, `${name}:${arch}:${path}`, (work) => {
    sh('apt-get', ['download', `${name}:${arch}`], { cwd: work });
    const deb = readdirSync(work).find((file) => file.endsWith('.deb')) as string;
    execFileSync('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" ".${path}"`, 'sh', join(work, deb), work], { env: env() });
    copyFileSync(join(work, path), join(work, 'file'));
    rmSync(join(work, deb));
  });
  return join(dir, 'file');
}

/** The ELF binaries a Linux root's architecture is read from, for `arch`: `{ bash, ls }` paths. */
export function debianBinaries(arch: string): { bash: string; ls: string } {
  return { bash: join(debianPackage('bash', arch), 'root/bin/bash'), ls: join(debianPackage('coreutils', arch), 'root/bin/ls') };
}

// ---------------------------------------------------------------------------------------
// File systems and disks

/** A tree of files: path → contents (text), or `{ copy }` of a host file, or `{ link }` (a symbolic link's target), or `{}` for an empty directory. */
export type Tree = Record<string, string | { copy: string } | { link: string } | Record<string, never>>;

/** Writes `tree` under `root`. */
export function writeTree(root: string, tree: Tree): void {
  mkdirSync(root, { recursive: true });
  for (const [path, contents] of Object.entries(tree)) {
    const at = join(root, path);
    mkdirSync(dirname(at), { recursive: true });
    if (typeof contents === 'string') writeFileSync(at, contents);
    else if ('copy' in contents) copyFileSync(contents.copy, at);
    else if ('link' in contents) symlinkSync(contents.link, at);
    else mkdirSync(at, { recursive: true });
  }
}

/** An ext4 image of `tree` (`mkfs.ext4 -d`). */
export function makeExt4(path: string, root: string, megabytes: number, uuid: string, label: string): void {
  sh('truncate', ['-s', `${megabytes}M`, path]);
  sh('mkfs.ext4', ['-q', '-F', '-d', root, '-U', uuid, '-L', label, '-E', 'root_owner=0:0', path]);
}

/** An XFS image of `tree` (`mkfs.xfs -p` with a prototype file). */
export function makeXfs(path: string, root: string, megabytes: number, uuid: string, label: string): void {
  const proto = `${path}.proto`;
  writeFileSync(proto, xfsPrototype(root));
  sh('truncate', ['-s', `${megabytes}M`, path]);
  sh('mkfs.xfs', ['-q', '-f', '-m', `uuid=${uuid}`, ...(label === '' ? [] : ['-L', label]), '-p', proto, path]);
  rmSync(proto);
}

/** A FAT32 image holding `files` (path on the volume → host file), made with `mkfs.fat` and `mtools`. */
export function makeFat(path: string, megabytes: number, serial: string, label: string, files: Record<string, string>, directories: readonly string[] = []): void {
  rmSync(path, { force: true });
  sh('mkfs.fat', ['-C', '-F', '32', '-i', serial, '-n', label, path, String(megabytes * 1024)]);
  const made = new Set<string>();
  const mkdir = (directory: string): void => {
    const parts = directory.split('/').filter((part) => part !== '');
    for (let index = 1; index <= parts.length; index += 1) {
      const prefix = parts.slice(0, index).join('/');
      if (made.has(prefix)) continue;
      sh('mmd', ['-i', path, `::/${prefix}`]);
      made.add(prefix);
    }
  };
  for (const directory of directories) mkdir(directory);
  for (const [target, source] of Object.entries(files)) {
    mkdir(dirname(target));
    sh('mcopy', ['-i', path, source, `::${target}`]);
  }
}

/** A Linux swap area (`mkswap`). */
export function makeSwap(path: string, megabytes: number, uuid: string, label: string): void {
  sh('truncate', ['-s', `${megabytes}M`, path]);
  sh('mkswap', ['-q', '-U', uuid, '-L', label, path]);
}

/** One partition of an assembled disk. */
export interface PartitionSpec {
  megabytes: number;
  /** sgdisk type code (`ef00`, `8300`, `ef02`) for GPT; sfdisk type (`83`, `8e`, `82`) for MBR. */
  type: string;
  name?: string;
  /** GPT unique GUID. */
  guid?: string;
  bootable?: boolean;
  /** Image written at the partition's start. */
  image?: string;
}

/** Partition offsets and sizes in bytes, as `sfdisk --json` reports them. */
export function partitionLayout(disk: string): Array<{ offset: number; size: number }> {
  const json = JSON.parse(sh('sfdisk', ['--json', disk])) as { partitiontable: { sectorsize?: number; partitions: Array<{ start: number; size: number }> } };
  const sector = json.partitiontable.sectorsize ?? 512;
  return json.partitiontable.partitions.map((partition) => ({ offset: partition.start * sector, size: partition.size * sector }));
}

/** A raw disk partitioned as `partitions` (1 MiB aligned), each image written into its partition. */
export function assembleDisk(path: string, scheme: 'gpt' | 'mbr', partitions: readonly PartitionSpec[], diskId: string): void {
  const total = 2 + partitions.reduce((sum, partition) => sum + partition.megabytes, 0);
  rmSync(path, { force: true });
  sh('truncate', ['-s', `${total}M`, path]);
  if (scheme === 'gpt') {
    const args = ['-o', '-U', diskId];
    partitions.forEach((partition, index) => {
      const number = index + 1;
      args.push('-n', `${number}:0:+${partition.megabytes}M`, '-t', `${number}:${partition.type}`);
      if (partition.name !== undefined) args.push('-c', `${number}:${partition.name}`);
      if (partition.guid !== undefined) args.push('-u', `${number}:${partition.guid}`);
    });
    sh('sgdisk', [...args, path]);
  } else {
    const lines = [`label: dos`, `label-id: ${diskId}`, 'unit: sectors', ''];
    let start = 2048;
    for (const partition of partitions) {
      const sectors = partition.megabytes * 2048;
      lines.push(`start=${start}, size=${sectors}, type=${partition.type}${partition.bootable === true ? ', bootable' : ''}`);
      start += sectors;
    }
    sh('sfdisk', ['-q', path], { input: `${lines.join('\n')}\n` });
  }
  const layout = partitionLayout(path);
  partitions.forEach((partition, index) => {
    const place = layout[index];
    if (partition.image === undefined || place === undefined) return;
    sh('dd', [`if=${partition.image}`, `of=${path}`, 'bs=1M', `seek=${place.offset}`, 'oflag=seek_bytes', 'conv=notrunc,sparse', 'status=none']);
  });
}

/**
 * An LVM physical volume image of `megabytes` holding volume group `vg` and its linear
 * logical volumes, each filled with the given image (written where `lvs` says its extents
 * are). Needs root and a loop device.
 */
export function makeLvmPhysicalVolume(path: string, megabytes: number, vg: string, volumes: ReadonlyArray<{ name: string; megabytes: number; image?: string }>): void {
  sh('truncate', ['-s', `${megabytes}M`, path]);
  const loop = attachLoop(path);
  try {
    lvm('pvcreate', [loop], ['-q', loop]);
    lvm('vgcreate', [loop], ['-q', '-s', '4M', vg, loop]);
    for (const volume of volumes) lvm('lvcreate', [loop], ['-q', '-an', '-Zn', '-L', `${volume.megabytes}M`, '-n', volume.name, vg]);
    const pv = lvmReportRows(lvm('pvs', [loop], ['--reportformat', 'json', '-o', 'pe_start,vg_extent_size', '--units', 'b', '--nosuffix']), 'pv')[0] as Record<string, string>;
    const peStart = Number(pv.pe_start);
    const extent = Number(pv.vg_extent_size);
    const lvs = lvmReportRows(lvm('lvs', [loop], ['--reportformat', 'json', '-o', 'lv_name,seg_pe_ranges', vg]), 'lv');
    for (const volume of volumes) {
      if (volume.image === undefined) continue;
      const row = lvs.find((candidate) => candidate.lv_name === volume.name);
      const first = /:(\d+)-\d+$/.exec(row?.seg_pe_ranges ?? '');
      if (first === null) throw new Error(`no single PE range for ${vg}/${volume.name}: ${row?.seg_pe_ranges}`);
      sh('dd', [`if=${volume.image}`, `of=${loop}`, 'bs=1M', `seek=${peStart + Number(first[1]) * extent}`, 'oflag=seek_bytes', 'conv=notrunc', 'status=none']);
    }
  } finally {
    detachLoop(loop);
  }
}

// ---------------------------------------------------------------------------------------
// The guests

/** What a guest must be identified as (`undefined`: must be absent). */
export interface ExpectedGuest {
  type: string;
  distro: string;
  version: string;
  major: number;
  minor: number;
  productName: string;
  productVariant?: string;
  arch: string;
  hostname: string;
  buildId?: string;
  osinfo: string;
  firmware: 'bios' | 'uefi';
  root: string;
  mountpoints: Record<string, string>;
  /** EFI fallback loaders and their architecture. */
  efiBootLoaders?: Record<string, string>;
  driveMappings?: Record<string, string>;
}

/** One test guest. */
export interface GuestSpec {
  name: string;
  /** Why it cannot be built here, or undefined. */
  unavailable(): string | undefined;
  /** Builds `disk.img` in `dir`. */
  build(dir: string): void;
  /** What the image's build depends on besides its code (changes invalidate the cache). */
  key: string;
  expected: ExpectedGuest;
}

const IDS = {
  debianRoot: '6f1c1c2e-2c7e-4f7d-9a8e-5b1c2d3e4f50',
  ubuntuRoot: '0b3f5a2c-9d41-4e8b-a6c7-1f2e3d4c5b6a',
  ubuntuSwap: '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  fedoraRoot: 'c0ffee00-1111-4222-8333-444455556666',
  fedoraBoot: 'b007b007-2222-4333-8444-555566667777',
  rockyRoot: '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d',
  rockyBoot: '1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a',
  alpineRoot: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
  windowsData: 'b3f5c2a1-1234-4cde-8f00-112233445566',
};

const DEBIAN_OS_RELEASE = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`;

const UBUNTU_OS_RELEASE = `PRETTY_NAME="Ubuntu 22.04.3 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.3 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=jammy
`;

const FEDORA_OS_RELEASE = `NAME="Fedora Linux"
VERSION="39 (Cloud Edition)"
ID=fedora
VERSION_ID=39
VERSION_CODENAME=""
PLATFORM_ID="platform:f39"
PRETTY_NAME="Fedora Linux 39 (Cloud Edition)"
VARIANT="Cloud Edition"
VARIANT_ID=cloud
`;


const ALPINE_OS_RELEASE = `NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19"
HOME_URL="https://alpinelinux.org/"
`;

const OPENSUSE_OS_RELEASE = `NAME="openSUSE Leap"
VERSION="15.5"
ID="opensuse-leap"
ID_LIKE="suse opensuse"
VERSION_ID="15.5"
PRETTY_NAME="openSUSE Leap 15.5"
`;

/** A usr-merged Linux tree: `/bin` → `usr/bin` with the given binaries. */
function linuxTree(binaries: { bash: string; ls: string }, files: Tree): Tree {
  return {
    'usr/bin/bash': { copy: binaries.bash },
    'usr/bin/ls': { copy: binaries.ls },
    bin: { link: 'usr/bin' },
    'etc/hosts': '127.0.0.1 localhost\n',
    'var/log': {},
    'home': {},
    'root': {},
    ...files,
  };
}

const hostBinaries = (): { bash: string; ls: string } => ({ bash: existsSync('/usr/bin/bash') ? '/usr/bin/bash' : '/bin/bash', ls: existsSync('/usr/bin/ls') ? '/usr/bin/ls' : '/bin/ls' });

const sdBoot = (arch: string, file: string): string => join(debianPackage('systemd-boot-efi', arch), `root/usr/lib/systemd/boot/efi/${file}`);

const basicTools = ['mkfs.ext4', 'mkfs.fat', 'mmd', 'mcopy', 'sgdisk', 'sfdisk', 'dd', 'apt-get', 'dpkg-deb'];
const toolsMissing = (extra: string[] = []) => (): string | undefined => {
  const absent = missing([...basicTools, ...extra]);
  return absent.length === 0 ? undefined : `missing tools: ${absent.join(', ')}`;
};

/** The test guests. */
export const GUESTS: readonly GuestSpec[] = [
  {
    name: 'debian12-arm64-uefi',
    key: 'v1',
    unavailable: toolsMissing(),
    build(dir) {
      const root = join(dir, 'root');
      writeTree(root, linuxTree(debianBinaries('arm64'), {
        'usr/lib/os-release': DEBIAN_OS_RELEASE,
        'etc/os-release': { link: '../usr/lib/os-release' },
        'etc/debian_version': '12.5\n',
        'etc/hostname': 'debian-arm\n',
        'etc/fstab': `# /etc/fstab: static file system information.\nUUID=${IDS.debianRoot} / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1\nUUID=ABCD-1234 /boot/efi vfat defaults 0 0\n`,
      }));
      makeExt4(join(dir, 'root.img'), root, 96, IDS.debianRoot, 'debian-root');
      makeFat(join(dir, 'esp.img'), 40, 'abcd1234', 'EFI', { '/EFI/BOOT/BOOTAA64.EFI': sdBoot('arm64', 'systemd-bootaa64.efi') }, ['/EFI/debian']);
      assembleDisk(join(dir, 'disk.img'), 'gpt', [
        { megabytes: 40, type: 'ef00', name: 'EFI', image: join(dir, 'esp.img') },
        { megabytes: 96, type: '8300', name: 'root', image: join(dir, 'root.img') },
      ], '11111111-2222-4333-8444-555555555555');
    },
    expected: {
      type: 'linux', distro: 'debian', version: '12.5', major: 12, minor: 5, productName: '12.5', arch: 'aarch64', hostname: 'debian-arm', osinfo: 'debian12',
      firmware: 'uefi', root: '/dev/sda2', mountpoints: { '/': '/dev/sda2', '/boot/efi': '/dev/sda1' }, efiBootLoaders: { '/EFI/BOOT/BOOTAA64.EFI': 'aarch64' },
    },
  },
  {
    name: 'ubuntu2204-x86_64-bios',
    key: 'v1',
    unavailable: toolsMissing(['mkswap']),
    build(dir) {
      const root = join(dir, 'root');
      writeTree(root, linuxTree(hostBinaries(), {
        'etc/os-release': UBUNTU_OS_RELEASE,
        'etc/lsb-release': 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\nDISTRIB_DESCRIPTION="Ubuntu 22.04.3 LTS"\n',
        'etc/debian_version': 'bookworm/sid\n',
        'etc/hostname': 'ubuntu-server\n',
        'etc/fstab': `/dev/disk/by-uuid/${IDS.ubuntuRoot} / ext4 defaults 0 1\n/dev/disk/by-uuid/${IDS.ubuntuSwap} none swap sw 0 0\ntmpfs /tmp tmpfs defaults 0 0\n`,
      }));
      makeExt4(join(dir, 'root.img'), root, 96, IDS.ubuntuRoot, 'cloudimg-rootfs');
      makeSwap(join(dir, 'swap.img'), 16, IDS.ubuntuSwap, 'swap');
      assembleDisk(join(dir, 'disk.img'), 'mbr', [
        { megabytes: 96, type: '83', bootable: true, image: join(dir, 'root.img') },
        { megabytes: 16, type: '82', image: join(dir, 'swap.img') },
      ], '0x1234abcd');
    },
    expected: {
      type: 'linux', distro: 'ubuntu', version: '22.04', major: 22, minor: 4, productName: 'Ubuntu 22.04.3 LTS', arch: 'x86_64', hostname: 'ubuntu-server', osinfo: 'ubuntu22.04',
      firmware: 'bios', root: '/dev/sda1', mountpoints: { '/': '/dev/sda1' },
    },
  },
  {
    name: 'fedora39-ppc64le-xfs',
    key: 'v1',
    unavailable: toolsMissing(['mkfs.xfs']),
    build(dir) {
      const root = join(dir, 'root');
      writeTree(root, linuxTree(debianBinaries('ppc64el'), {
        'usr/lib/os-release': FEDORA_OS_RELEASE,
        'etc/os-release': { link: '../usr/lib/os-release' },
        'etc/redhat-release': 'Fedora release 39 (Thirty Nine)\n',
        'etc/fedora-release': { link: 'redhat-release' },
        'etc/hostname': 'fedora-cloud\n',
        'usr/bin/dnf': '#!/usr/bin/python3\n',
        'boot': {},
        'etc/fstab': `UUID=${IDS.fedoraRoot} / xfs defaults 0 0\nUUID=${IDS.fedoraBoot} /boot ext4 defaults 1 2\n`,
      }));
      const boot = join(dir, 'boot');
      writeTree(boot, { 'grub2/grub.cfg': 'set timeout=1\n', 'loader/entries': {} });
      makeXfs(join(dir, 'root.img'), root, 320, IDS.fedoraRoot, 'fedora');
      makeExt4(join(dir, 'boot.img'), boot, 32, IDS.fedoraBoot, 'boot');
      assembleDisk(join(dir, 'disk.img'), 'gpt', [
        { megabytes: 4, type: '4100', name: 'PReP' },
        { megabytes: 32, type: '8300', name: 'boot', image: join(dir, 'boot.img') },
        { megabytes: 320, type: '8300', name: 'root', image: join(dir, 'root.img') },
      ], '22222222-3333-4444-8555-666666666666');
    },
    expected: {
      type: 'linux', distro: 'fedora', version: '39', major: 39, minor: 0, productName: 'Fedora Linux 39 (Cloud Edition)', arch: 'ppc64le', hostname: 'fedora-cloud', osinfo: 'fedora39',
      firmware: 'bios', root: '/dev/sda3', mountpoints: { '/': '/dev/sda3', '/boot': '/dev/sda2' },
    },
  },
  {
    name: 'rocky93-s390x-lvm',
    key: 'v1',
    unavailable: () => toolsMissing(['mkfs.xfs', 'mkswap'])() ?? lvmUnavailable(),
    build(dir) {
      const root = join(dir, 'root');
      writeTree(root, linuxTree(debianBinaries('s390x'), {
        'etc/os-release': ROCKY_OS_RELEASE,
        'etc/rocky-release': 'Rocky Linux release 9.3 (Blue Onyx)\n',
        'etc/redhat-release': { link: 'rocky-release' },
        'etc/hostname': 'rocky-lvm\n',
        'boot': {},
        'etc/fstab': `/dev/mapper/rl-root / xfs defaults 0 0\nUUID=${IDS.rockyBoot} /boot xfs defaults 0 0\n/dev/mapper/rl-swap none swap defaults 0 0\n`,
      }));
      const boot = join(dir, 'boot');
      writeTree(boot, { 'grub2/grub.cfg': 'set timeout=1\n' });
      makeXfs(join(dir, 'root.img'), root, 320, IDS.rockyRoot, '');
      makeXfs(join(dir, 'boot.img'), boot, 320, IDS.rockyBoot, '');
      makeSwap(join(dir, 'swap.img'), 16, '3c3c3c3c-4d4d-4e4e-8f8f-5a5a5a5a5a5a', '');
      makeLvmPhysicalVolume(join(dir, 'pv.img'), 360, 'rl', [
        { name: 'root', megabytes: 320, image: join(dir, 'root.img') },
        { name: 'swap', megabytes: 16, image: join(dir, 'swap.img') },
      ]);
      assembleDisk(join(dir, 'disk.img'), 'mbr', [
        { megabytes: 320, type: '83', bootable: true, image: join(dir, 'boot.img') },
        { megabytes: 360, type: '8e', image: join(dir, 'pv.img') },
      ], '0x9abcdef0');
    },
    expected: {
      type: 'linux', distro: 'rocky', version: '9.3', major: 9, minor: 3, productName: 'Rocky Linux 9.3 (Blue Onyx)', arch: 's390x', hostname: 'rocky-lvm', osinfo: 'rocky9',
      firmware: 'bios', root: '/dev/rl/root', mountpoints: { '/': '/dev/rl/root', '/boot': '/dev/sda1' },
    },
  },
  {
    name: 'alpine319-i386',
    key: 'v1',
    unavailable: toolsMissing(),
    build(dir) {
      const root = join(dir, 'root');
      const busybox = join(debianPackage('busybox', 'i386'), 'root/bin/busybox');
      writeTree(root, {
        'bin/busybox': { copy: busybox },
        'bin/ls': { link: '/bin/busybox' },
        'bin/sh': { link: '/bin/busybox' },
        'etc/os-release': ALPINE_OS_RELEASE,
        'etc/alpine-release': '3.19.1\n',
        'etc/hostname': 'alpine-box\n',
        'etc/hosts': '127.0.0.1 localhost\n',
        'etc/fstab': `UUID=${IDS.alpineRoot} / ext4 rw,relatime 0 1\n/dev/cdrom /media/cdrom iso9660 noauto,ro 0 0\n/dev/usbdisk /media/usb vfat noauto 0 0\n`,
      });
      makeExt4(join(dir, 'root.img'), root, 64, IDS.alpineRoot, 'alpine');
      assembleDisk(join(dir, 'disk.img'), 'mbr', [{ megabytes: 64, type: '83', bootable: true, image: join(dir, 'root.img') }], '0x0a1b2c3d');
    },
    expected: {
      type: 'linux', distro: 'alpinelinux', version: '3.19', major: 3, minor: 19, productName: 'Alpine Linux v3.19', arch: 'i386', hostname: 'alpine-box', osinfo: 'alpinelinux3.19',
      firmware: 'bios', root: '/dev/sda1', mountpoints: { '/': '/dev/sda1' },
    },
  },
  {
    name: 'opensuse155-btrfs',
    key: 'v1',
    unavailable: () => toolsMissing()() ?? guestfishUnavailable(),
    build(dir) {
      const bootloader = sdBoot('amd64', 'systemd-bootx64.efi');
      const inputs = join(dir, 'inputs');
      writeTree(inputs, {
        'os-release': OPENSUSE_OS_RELEASE,
        hostname: 'suse-leap\n',
        fstab: 'LABEL=suse-root / btrfs defaults 0 0\nLABEL=suse-root /var btrfs subvol=/@/var 0 0\nLABEL=suse-root /home btrfs subvol=/@/home 0 0\nLABEL=EFI /boot/efi vfat utf8 0 2\n',
        hosts: '127.0.0.1 localhost\n',
      });
      const host = hostBinaries();
      const snapshot = '/@/.snapshots/1/snapshot';
      const script = [
        'run',
        'part-init /dev/sda gpt',
        'part-add /dev/sda p 2048 83967',
        'part-add /dev/sda p 83968 -2048',
        'part-set-gpt-type /dev/sda 1 C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
        'mkfs vfat /dev/sda1 label:EFI',
        'mkfs-btrfs /dev/sda2 label:suse-root',
        'mount /dev/sda2 /',
        'btrfs-subvolume-create /@',
        'btrfs-subvolume-create /@/.snapshots',
        'mkdir /@/.snapshots/1',
        `btrfs-subvolume-create ${snapshot}`,
        'btrfs-subvolume-create /@/var',
        'btrfs-subvolume-create /@/home',
        'btrfs-subvolume-create /@/opt',
        'btrfs-subvolume-set-default 258 /',
        `mkdir-p ${snapshot}/etc`,
        `upload ${inputs}/os-release ${snapshot}/etc/os-release`,
        `upload ${inputs}/hostname ${snapshot}/etc/hostname`,
        `upload ${inputs}/fstab ${snapshot}/etc/fstab`,
        `upload ${inputs}/hosts ${snapshot}/etc/hosts`,
        `mkdir-p ${snapshot}/usr/bin`,
        `upload ${host.bash} ${snapshot}/usr/bin/bash`,
        `upload ${host.ls} ${snapshot}/usr/bin/ls`,
        `ln-s usr/bin ${snapshot}/bin`,
        `mkdir-p ${snapshot}/var`,
        `mkdir-p ${snapshot}/home`,
        `mkdir-p ${snapshot}/boot/efi`,
        'mkdir-p /@/var/log',
        'mkdir /@/.snapshots/2',
        `btrfs-subvolume-snapshot ${snapshot} /@/.snapshots/2/snapshot ro:true`,
        'umount /',
        'mount /dev/sda1 /',
        'mkdir-p /EFI/BOOT',
        'mkdir-p /EFI/opensuse',
        `upload ${bootloader} /EFI/BOOT/BOOTX64.EFI`,
        'umount-all',
        '',
      ].join('\n');
      sh('truncate', ['-s', '600M', join(dir, 'disk.img')]);
      sh('guestfish', ['-a', join(dir, 'disk.img')], { input: script, env: { LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' }, timeout: 1_200_000 });
    },
    expected: {
      type: 'linux', distro: 'opensuse', version: '15.5', major: 15, minor: 5, productName: 'openSUSE Leap 15.5', arch: 'x86_64', hostname: 'suse-leap', osinfo: 'opensuse15.5',
      firmware: 'uefi', root: '/dev/sda2', mountpoints: { '/': '/dev/sda2', '/var': 'btrfsvol:/dev/sda2//@/var', '/home': 'btrfsvol:/dev/sda2//@/home', '/boot/efi': '/dev/sda1' },
      efiBootLoaders: { '/EFI/BOOT/BOOTX64.EFI': 'x86_64' },
    },
  },
  {
    name: 'windows2022-ntfs-uefi',
    key: 'v1',
    unavailable: () => {
      const absent = missing([...basicTools, 'ntfscp', 'hivexregedit', 'python3', 'tar']);
      if (absent.length > 0) return `missing tools: ${absent.join(', ')}`;
      // Its registry hives are made with Samba's library (package registry-tools).
      return hiveToolsMissing() ?? guestfishUnavailable();
    },
    build(dir) {
      const cmd = debianPackageFile('libwine', 'amd64', '/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/cmd.exe');
      const volume = join(dir, 'ntfs.img');
      copyFileSync(windowsNtfsVolume().path, volume);
      sh('ntfscp', ['-q', '-f', volume, cmd, '/Windows/System32/cmd.exe']);
      const guid = IDS.windowsData.replaceAll('-', '');
      const guidBytes = [...guid.slice(0, 8).match(/../g)!.reverse(), ...guid.slice(8, 12).match(/../g)!.reverse(), ...guid.slice(12, 16).match(/../g)!.reverse(), ...guid.slice(16).match(/../g)!];
      const dmio = [...'DMIO:ID:'].map((char) => char.charCodeAt(0).toString(16));
      const systemReg = `Windows Registry Editor Version 5.00

${regSection('\\Select', ['"Current"=dword:00000001', '"Default"=dword:00000001'])}${regSection('\\ControlSet001')}${regSection('\\ControlSet001\\Control')}${regSection('\\ControlSet001\\Control\\ComputerName')}${regSection('\\ControlSet001\\Control\\ComputerName\\ComputerName', ['"ComputerName"="WIN-COMPUTERNAME"'])}${regSection('\\ControlSet001\\Services')}${regSection('\\ControlSet001\\Services\\Tcpip')}${regSection('\\ControlSet001\\Services\\Tcpip\\Parameters', ['"Hostname"="win-inspected"', '"Domain"=""'])}${regSection('\\MountedDevices', [`"\\\\DosDevices\\\\C:"=hex:${[...dmio, ...guidBytes].join(',')}`])}`;
      const hives = join(dir, 'hives');
      mkdirSync(hives);
      writeFileSync(join(hives, 'SOFTWARE'), makeHive(join(hives, 'software.tmp'), windowsSoftwareReg));
      writeFileSync(join(hives, 'SYSTEM'), makeHive(join(hives, 'system.tmp'), systemReg));
      sh('ntfscp', ['-q', '-f', volume, join(hives, 'SOFTWARE'), '/Windows/System32/config/SOFTWARE']);
      sh('ntfscp', ['-q', '-f', volume, join(hives, 'SYSTEM'), '/Windows/System32/config/SYSTEM']);
      makeFat(join(dir, 'esp.img'), 40, '1a2b3c4d', 'SYSTEM', { '/EFI/BOOT/BOOTX64.EFI': sdBoot('amd64', 'systemd-bootx64.efi') }, ['/EFI/Microsoft/Boot']);
      assembleDisk(join(dir, 'disk.img'), 'gpt', [
        { megabytes: 40, type: 'ef00', name: 'EFI system partition', image: join(dir, 'esp.img') },
        { megabytes: 16, type: '0c01', name: 'Microsoft reserved partition' },
        { megabytes: 64, type: '0700', name: 'Basic data partition', guid: IDS.windowsData, image: volume },
      ], '33333333-4444-4555-8666-777777777777');
    },
    expected: {
      type: 'windows', distro: 'windows', version: '10.0', major: 10, minor: 0, productName: 'Windows Server 2022 Datacenter', productVariant: 'Server', arch: 'x86_64', hostname: 'win-inspected',
      buildId: '20348', osinfo: 'win2k22', firmware: 'uefi', root: '/dev/sda3', mountpoints: { '/': '/dev/sda3' }, efiBootLoaders: { '/EFI/BOOT/BOOTX64.EFI': 'x86_64' }, driveMappings: { C: '/dev/sda3' },
    },
  },
];

/** Builds (once) a guest's disk; returns its path. */
export function guestDisk(spec: GuestSpec): string {
  const dir = cached(`guest-${spec.name}`, `${spec.key}\n${spec.build.toString()}\n${JSON.stringify(spec.expected)}`, (work) => {
    spec.build(work);
    // Keep only the disk: the pieces it was assembled from are in it.
    for (const entry of readdirSync(work)) if (entry !== 'disk.img') rmSync(join(work, entry), { recursive: true, force: true });
  });
  return join(dir, 'disk.img');
}

/** Bytes a sparse file has allocated (`du --block-size=1`). */
export function allocatedBytes(path: string): number {
  return Number(sh('du', ['--block-size=1', path]).split(/\s/)[0]);
}

// ---------------------------------------------------------------------------------------
// virt-inspector

/** Why virt-inspector cannot run here, or undefined. */
export function virtInspectorUnavailable(): string | undefined {
  if (missing(['virt-inspector']).length > 0) return 'virt-inspector (libguestfs-tools) is not installed';
  return guestfishUnavailable();
}

/** virt-inspector's XML for a disk in `format` (run once per file under TCG, cached beside it), and how long the run took in ms. */
export function virtInspector(disk: string, format = 'raw'): { xml: string; milliseconds: number } {
  const cache = `${disk}.virt-inspector.xml`;
  const timing = `${disk}.virt-inspector.ms`;
  if (existsSync(cache) && existsSync(timing)) return { xml: readFileSync(cache, 'utf8'), milliseconds: Number(readFileSync(timing, 'utf8')) };
  const started = Date.now();
  const xml = sh('virt-inspector', [`--format=${format}`, '-a', disk, '--no-applications', '--no-icon'], { env: { LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' }, timeout: 900_000 });
  const milliseconds = Date.now() - started;
  writeFileSync(cache, xml);
  writeFileSync(timing, String(milliseconds));
  return { xml, milliseconds };
}

/** The fields of virt-inspector's first `<operatingsystem>` this library compares with. */
export interface VirtInspectorOs {
  root?: string;
  name?: string;
  arch?: string;
  distro?: string;
  product_name?: string;
  product_variant?: string;
  major_version?: number;
  minor_version?: number;
  hostname?: string;
  build_id?: string;
  osinfo?: string;
  package_format?: string;
  package_management?: string;
  windows_systemroot?: string;
  mountpoints: Record<string, string>;
  drive_mappings: Record<string, string>;
  filesystems: Record<string, { type?: string; label?: string; uuid?: string }>;
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** Parses virt-inspector's XML (its fixed, flat layout). */
export function parseVirtInspector(xml: string): VirtInspectorOs | undefined {
  const os = /<operatingsystem>([\s\S]*?)<\/operatingsystem>/.exec(xml)?.[1];
  if (os === undefined) return undefined;
  const tag = (name: string): string | undefined => {
    const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(os);
    return match === null ? undefined : unescapeXml(match[1] as string);
  };
  const number = (name: string): number | undefined => {
    const value = tag(name);
    return value === undefined ? undefined : Number(value);
  };
  const result: VirtInspectorOs = { mountpoints: {}, drive_mappings: {}, filesystems: {} };
  for (const name of ['root', 'name', 'arch', 'distro', 'product_name', 'product_variant', 'hostname', 'build_id', 'osinfo', 'package_format', 'package_management', 'windows_systemroot'] as const) {
    const value = tag(name);
    if (value !== undefined) result[name] = value;
  }
  const major = number('major_version');
  const minor = number('minor_version');
  if (major !== undefined) result.major_version = major;
  if (minor !== undefined) result.minor_version = minor;
  for (const match of os.matchAll(/<mountpoint dev="([^"]*)">([^<]*)<\/mountpoint>/g)) result.mountpoints[unescapeXml(match[2] as string)] = unescapeXml(match[1] as string);
  for (const match of os.matchAll(/<drive_mapping name="([^"]*)">([^<]*)<\/drive_mapping>/g)) result.drive_mappings[unescapeXml(match[1] as string)] = unescapeXml(match[2] as string);
  for (const match of os.matchAll(/<filesystem dev="([^"]*)">([\s\S]*?)<\/filesystem>/g)) {
    const body = match[2] as string;
    const field = (name: string) => {
      const found = new RegExp(`<${name}>([^<]*)</${name}>`).exec(body);
      return found === null ? undefined : unescapeXml(found[1] as string);
    };
    const type = field('type');
    const label = field('label');
    const uuid = field('uuid');
    result.filesystems[unescapeXml(match[1] as string)] = { ...(type === undefined ? {} : { type }), ...(label === undefined ? {} : { label }), ...(uuid === undefined ? {} : { uuid }) };
  }
  return result;
}
