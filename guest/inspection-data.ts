/**
 * What inspection learns about one file system that holds (part of) an operating system,
 * field for field as libguestfs keeps it (`daemon/inspect_types.ml`, `inspection_data`),
 * and how a `/usr` file system's findings are merged into its root's.
 *
 * @module
 */

/** Operating-system types, in libguestfs's names (`inspect_get_type`). */
export type GuestOsType = 'linux' | 'windows' | 'freebsd' | 'netbsd' | 'openbsd' | 'hurd' | 'dos' | 'minix';

/**
 * Mutable inspection data (libguestfs fills it in place while it runs its tests; a test that
 * gives up may leave fields set, and later tests see them). `versionText` is this library's
 * addition: the version as the file spelled it (`22.04`, `9.3`), from which `major` and
 * `minor` were parsed.
 */
export interface InspectionData {
  osType?: GuestOsType;
  distro?: string;
  productName?: string;
  productVariant?: string;
  version?: { major: number; minor: number; text: string };
  arch?: string;
  hostname?: string;
  buildId?: string;
  /** `/etc/fstab` resolved: libguestfs device names and mount points, in file order. */
  fstab: Array<{ device: string; mountpoint: string }>;
  windowsSystemRoot?: string;
  windowsSoftwareHive?: string;
  windowsSystemHive?: string;
  windowsCurrentControlSet?: string;
  driveMappings: Array<{ drive: string; device: string }>;
}

/** Empty inspection data. */
export function emptyInspectionData(): InspectionData {
  return { fstab: [], driveMappings: [] };
}

/**
 * libguestfs's `merge_inspection_data child parent`: every field the parent lacks is taken
 * from the child; fstab entries and drive mappings are concatenated, the child's first.
 */
export function mergeInspectionData(child: InspectionData, parent: InspectionData): void {
  const keys = ['osType', 'distro', 'productName', 'productVariant', 'version', 'arch', 'hostname', 'buildId', 'windowsSystemRoot', 'windowsSoftwareHive', 'windowsSystemHive', 'windowsCurrentControlSet'] as const;
  for (const key of keys) {
    if (parent[key] === undefined && child[key] !== undefined) (parent as unknown as Record<string, unknown>)[key] = child[key];
  }
  parent.fstab = [...child.fstab, ...parent.fstab];
  parent.driveMappings = [...child.driveMappings, ...parent.driveMappings];
}

const MAJOR_MINOR = /(\d+)\.(\d+)/;
const MAJOR_ONLY = /(\d+)/;

/**
 * libguestfs's `parse_version_from_major_minor`: the first `N.N` in the text, else the first
 * `N` (minor 0); nothing when there is no number.
 */
export function parseVersionFromMajorMinor(text: string, data: InspectionData): void {
  const both = MAJOR_MINOR.exec(text);
  if (both !== null) {
    const version = versionOf(both[1] as string, both[2] as string, both[0]);
    if (version !== undefined) data.version = version;
    return;
  }
  const single = MAJOR_ONLY.exec(text);
  if (single !== null) {
    const version = versionOf(single[1] as string, undefined, single[0]);
    if (version !== undefined) data.version = version;
  }
}

/** A version from matched digits (OCaml's `int_of_string` fails past 2^62: such a number gives nothing). */
export function versionOf(major: string, minor: string | undefined, text: string): InspectionData['version'] {
  const majorNumber = Number(major);
  const minorNumber = minor === undefined ? 0 : Number(minor);
  if (!Number.isSafeInteger(majorNumber) || !Number.isSafeInteger(minorNumber)) return undefined;
  return { major: majorNumber, minor: minorNumber, text };
}

/** `package_format` by distro (libguestfs `check_package_format`). */
export function packageFormatOf(distro: string | undefined): string | undefined {
  switch (distro) {
    case 'altlinux': case 'centos': case 'circle': case 'fedora': case 'kylin': case 'mageia': case 'mandriva': case 'meego':
    case 'neokylin': case 'opencloudos': case 'tencentos': case 'openeuler': case 'openmandriva': case 'opensuse': case 'oraclelinux':
    case 'redhat-based': case 'rhel': case 'rocky': case 'scientificlinux': case 'sles': case 'suse-based':
      return 'rpm';
    case 'debian': case 'kalilinux': case 'linuxmint': case 'ubuntu':
      return 'deb';
    case 'archlinux': return 'pacman';
    case 'gentoo': return 'ebuild';
    case 'pardus': return 'pisi';
    case 'alpinelinux': return 'apk';
    case 'voidlinux': return 'xbps';
    default: return undefined;
  }
}

/**
 * `package_management` by distro and major version (libguestfs `check_package_management`);
 * Fedora 22 on says `dnf` only when `/usr/bin/dnf` exists, which the caller tells.
 */
export function packageManagementOf(distro: string | undefined, major: number, hasDnf: boolean): string | undefined {
  switch (distro) {
    case 'meego': return 'yum';
    case 'fedora': return major >= 22 && hasDnf ? 'dnf' : major >= 1 ? 'yum' : undefined;
    case 'neokylin': return 'dnf';
    case 'centos': case 'circle': case 'kylin': case 'oraclelinux': case 'redhat-based': case 'rhel': case 'rocky': case 'scientificlinux':
      return major >= 8 ? 'dnf' : major >= 5 ? 'yum' : major >= 2 ? 'up2date' : undefined;
    case 'altlinux': case 'debian': case 'kalilinux': case 'linuxmint': case 'ubuntu': return 'apt';
    case 'archlinux': return 'pacman';
    case 'gentoo': return 'portage';
    case 'pardus': return 'pisi';
    case 'mageia': case 'mandriva': return 'urpmi';
    case 'opensuse': case 'sles': case 'suse-based': return 'zypper';
    case 'alpinelinux': return 'apk';
    case 'voidlinux': return 'xbps';
    case 'openmandriva': case 'opencloudos': case 'tencentos': case 'openeuler': return 'dnf';
    default: return undefined;
  }
}

/**
 * The libosinfo short id libguestfs derives (`lib/inspect-osinfo.c`,
 * `guestfs_inspect_get_osinfo`), or `undefined` where it answers `unknown`.
 */
export function osinfoOf(type: GuestOsType | undefined, distro: string | undefined, major: number, minor: number, productName: string | undefined, productVariant: string | undefined, buildId: string | undefined): string | undefined {
  const d = distro ?? 'unknown';
  if (type === 'linux') {
    switch (d) {
      case 'centos':
        if (major >= 8) return `centos${major}`;
        if (major === 7) return 'centos7.0';
        if (major === 6) return `centos6.${minor}`;
        break;
      case 'circle':
      case 'rocky':
        if (major >= 8) return `${d}${major}`;
        break;
      case 'debian':
        if (major >= 4) return `debian${major}`;
        break;
      case 'fedora':
      case 'mageia':
        return `${d}${major}`;
      case 'sles': {
        const base = major >= 15 ? 'sle' : 'sles';
        return minor === 0 ? `${base}${major}` : `${base}${major}sp${minor}`;
      }
      case 'ubuntu':
        return `ubuntu${major}.${String(minor).padStart(2, '0')}`;
      case 'archlinux':
      case 'gentoo':
      case 'voidlinux':
        return d;
      case 'altlinux':
        return major >= 8 ? `alt${major}.${minor}` : `altlinux${major}.${minor}`;
    }
    if (d !== 'unknown' && (major > 0 || minor > 0)) return `${d}${major}.${minor}`;
    return undefined;
  }
  if (type === 'freebsd' || type === 'netbsd' || type === 'openbsd') return `${d}${major}.${minor}`;
  if (type === 'dos') return d === 'msdos' ? 'msdos6.22' : undefined;
  if (type === 'windows') return windowsOsinfo(major, minor, productName ?? 'unknown', productVariant ?? 'unknown', buildId);
  return undefined;
}

function windowsOsinfo(major: number, minor: number, name: string, variant: string, buildId: string | undefined): string | undefined {
  const server = variant.includes('Server');
  if (major === 5) {
    if (minor === 1) return 'winxp';
    if (minor === 2) return name.includes('XP') ? 'winxp' : name.includes('R2') ? 'win2k3r2' : 'win2k3';
  } else if (major === 6) {
    if (minor === 0) return server ? 'win2k8' : 'winvista';
    if (minor === 1) return server ? 'win2k8r2' : 'win7';
    if (minor === 2) return server ? 'win2k12' : 'win8';
    if (minor === 3) return server ? 'win2k12r2' : 'win8.1';
  } else if (major === 10 && minor === 0) {
    if (server) return name.includes('2025') ? 'win2k25' : name.includes('2022') ? 'win2k22' : name.includes('2019') ? 'win2k19' : 'win2k16';
    // Clients from Windows 11 on keep 10.0: only the build tells them apart.
    if (buildId === undefined || !/^\d+$/.test(buildId)) return undefined;
    return Number(buildId) >= 22000 ? 'win11' : 'win10';
  }
  return undefined;
}
