/**
 * Identifying a Unix-like root (or `/usr`) file system, as libguestfs's
 * `daemon/inspect_fs_unix.ml` does: the release files (`unix-release.ts`), the
 * architecture from the first standard binary that is an ELF file, the hostname, and the
 * mount points from `/etc/fstab`.
 *
 * | system | release | hostname |
 * | --- | --- | --- |
 * | Linux | `linux_root_tests` | `/etc/HOSTNAME`, `/etc/hostname` (first line that is neither empty nor a comment), then `HOSTNAME=` in `/etc/sysconfig/network` |
 * | Linux `/usr` | `/lib/os-release` of that file system | none |
 * | CoreOS root / `/usr` | distro `coreos`; `/usr`'s `lib/os-release` or `share/coreos/lsb-release` | as Linux |
 * | FreeBSD | first line of `/etc/motd` | `hostname=` in `/etc/rc.conf` |
 * | NetBSD | `/etc/release` (`NetBSD N.N`) | `/etc/rc.conf` |
 * | OpenBSD | first line of `/etc/motd` | `/etc/rc.conf` |
 * | Hurd | `/etc/os-release`, `/etc/debian_version` | as Linux |
 * | Minix | `/etc/version` | `/etc/hostname.file` |
 *
 * libguestfs records an OpenBSD root as `freebsd` (its `check_openbsd_root` sets the FreeBSD
 * type and distro); this library says `openbsd`.
 *
 * @module
 */
import { type FstabDevices, resolveFstab } from './fstab.js';
import type { GuestFiles } from './guest-files.js';
import type { InspectionData } from './inspection-data.js';
import {
  HURD_RELEASE_TESTS,
  LINUX_RELEASE_TESTS,
  MINIX_VERSION,
  NETBSD_RELEASE,
  parseGeneric,
  parseLsbRelease,
  parseOsRelease,
  runReleaseTests,
  shellUnquote,
} from './unix-release.js';

/** The binaries whose ELF header names the architecture, in libguestfs's order (`arch_binaries`). */
export const ARCHITECTURE_BINARIES: readonly string[] = ['/bin/bash', '/bin/ls', '/bin/echo', '/bin/rm', '/bin/sh'];

/** What identifying a root needs besides its files: warnings, and the devices fstab entries name. */
export interface UnixRootContext {
  warn(message: string): void;
  devices: FstabDevices;
}

/** `check_architecture`: the first of {@link ARCHITECTURE_BINARIES} that is a regular file (links followed) and an ELF file of a known machine. */
export async function checkArchitecture(files: GuestFiles): Promise<string | undefined> {
  for (const binary of ARCHITECTURE_BINARIES) {
    if (!(await files.isFile(binary, true))) continue;
    const arch = await files.architecture(binary);
    if (arch !== undefined) return arch;
  }
  return undefined;
}

/** `check_hostname_from_file`: the first line that is neither empty nor a comment. */
export async function hostnameFromFile(files: GuestFiles, path: string): Promise<string | undefined> {
  const lines = await files.readLines(path);
  return lines?.find((line) => line !== '' && !line.startsWith('#'));
}

/** `HOSTNAME=` of `/etc/sysconfig/network` (Augeas's Shellvars lens gives nothing when the variable is set twice). */
async function hostnameFromSysconfigNetwork(files: GuestFiles): Promise<string | undefined> {
  if (!(await files.isFile('/etc/sysconfig/network'))) return undefined;
  const lines = await files.readConfigLines('/etc/sysconfig/network');
  const values = (lines ?? [])
    .map((line) => /^\s*(?:export\s+)?HOSTNAME=(.*)$/.exec(line)?.[1])
    .filter((value): value is string => value !== undefined)
    .map((value) => shellUnquote(value.replace(/\s+#.*$/, '').trim()));
  return values.length === 1 ? values[0] : undefined;
}

/** `check_hostname_linux`. */
export async function linuxHostname(files: GuestFiles): Promise<string | undefined> {
  for (const path of ['/etc/HOSTNAME', '/etc/hostname']) {
    const hostname = await hostnameFromFile(files, path);
    if (hostname !== undefined) return hostname;
  }
  return hostnameFromSysconfigNetwork(files);
}

/** `check_hostname_freebsd`: `hostname=` in `/etc/rc.conf`, quotes removed. */
async function rcConfHostname(files: GuestFiles): Promise<string | undefined> {
  const lines = await files.readLines('/etc/rc.conf');
  for (const line of lines ?? []) {
    if (line.startsWith('hostname="') || line.startsWith("hostname='")) return line.slice(10, Math.max(10, line.length - 1));
    if (line.startsWith('hostname=')) return line.slice(9);
  }
  return undefined;
}

async function fstabOf(files: GuestFiles, context: UnixRootContext, bsd: boolean): Promise<InspectionData['fstab']> {
  const lines = await files.readConfigLines('/etc/fstab');
  if (lines === undefined) return [];
  return resolveFstab(lines, context.devices, bsd, (message) => context.warn(`${files.device}: ${message}`));
}

/**
 * What every full root check ends with: the architecture, the mount points from
 * `/etc/fstab` (`bsd`: BSD device names) and the hostname, in libguestfs's order.
 */
async function setRootFacts(
  files: GuestFiles,
  data: InspectionData,
  context: UnixRootContext,
  bsd: boolean,
  hostnameOf: (files: GuestFiles) => Promise<string | undefined>,
): Promise<void> {
  setArch(data, await checkArchitecture(files));
  data.fstab = await fstabOf(files, context, bsd);
  setHostname(data, await hostnameOf(files));
}

/** The release tests of the systems {@link checkLinuxOrHurdRoot} identifies. */
const RELEASE_TESTS = { linux: LINUX_RELEASE_TESTS, hurd: HURD_RELEASE_TESTS } as const;

/** `check_linux_root` and `check_hurd_root`, which differ only in their release tests. */
export async function checkLinuxOrHurdRoot(files: GuestFiles, data: InspectionData, context: UnixRootContext, system: 'linux' | 'hurd'): Promise<void> {
  data.osType = system;
  await runReleaseTests(files, RELEASE_TESTS[system], data);
  await setRootFacts(files, data, context, false, linuxHostname);
}

/** `check_linux_usr`: a separate `/usr` file system (its `lib/os-release`, its binaries). */
export async function checkLinuxUsr(files: GuestFiles, data: InspectionData): Promise<void> {
  data.osType = 'linux';
  if (await files.isFile('/lib/os-release', true)) await parseOsRelease(files, '/lib/os-release', data);
  const arch = await checkArchitecture(files);
  if (arch !== undefined) data.arch = arch;
}

/** `check_coreos_root`: only the hostname; the root is mounted at `/`. */
export async function checkCoreosRoot(files: GuestFiles, data: InspectionData): Promise<void> {
  data.osType = 'linux';
  data.distro = 'coreos';
  setHostname(data, await linuxHostname(files));
  data.fstab = [{ device: files.device, mountpoint: '/' }];
}

/** `check_coreos_usr`. */
export async function checkCoreosUsr(files: GuestFiles, data: InspectionData): Promise<void> {
  data.osType = 'linux';
  data.distro = 'coreos';
  if (await files.isFile('/lib/os-release', true)) await parseOsRelease(files, '/lib/os-release', data);
  else if (await files.isFile('/share/coreos/lsb-release', true)) await parseLsbRelease(files, '/share/coreos/lsb-release', data);
  const arch = await checkArchitecture(files);
  if (arch !== undefined) data.arch = arch;
  data.fstab = [{ device: files.device, mountpoint: '/usr' }];
}

/** `check_freebsd_root`, `check_netbsd_root`, `check_openbsd_root`. */
export async function checkBsdRoot(files: GuestFiles, data: InspectionData, context: UnixRootContext, flavour: 'freebsd' | 'netbsd' | 'openbsd'): Promise<void> {
  data.osType = flavour;
  data.distro = flavour;
  if (flavour === 'netbsd') {
    if (await files.isFile('/etc/release', true)) await parseGeneric(files, '/etc/release', 'netbsd', data, NETBSD_RELEASE);
  } else if (await files.isFile('/etc/motd', true)) {
    await parseGeneric(files, '/etc/motd', flavour, data);
  }
  await setRootFacts(files, data, context, true, rcConfHostname);
}

/** `check_minix_root`: the version from `/etc/version`, no distro. */
export async function checkMinixRoot(files: GuestFiles, data: InspectionData): Promise<void> {
  data.osType = 'minix';
  if (await files.isFile('/etc/version', true)) {
    await parseGeneric(files, '/etc/version', 'minix', data, MINIX_VERSION);
    delete data.distro;
  }
  setArch(data, await checkArchitecture(files));
  setHostname(data, await hostnameFromFile(files, '/etc/hostname.file'));
}

function setArch(data: InspectionData, arch: string | undefined): void {
  if (arch === undefined) delete data.arch;
  else data.arch = arch;
}

function setHostname(data: InspectionData, hostname: string | undefined): void {
  if (hostname === undefined) delete data.hostname;
  else data.hostname = hostname;
}
