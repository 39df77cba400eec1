/**
 * The Glance properties an inspected guest proves (`info.guest`, from the `inspectGuest`
 * option): `os_type`, `os_distro`, `os_version`, `architecture`, `hw_firmware_type`, each only
 * with a value Glance, Nova or libosinfo accept; a value outside their vocabularies is left
 * out rather than written wrong.
 *
 * | property | from | vocabulary |
 * | --- | --- | --- |
 * | `os_type` | `os.type` | `linux`, `windows` (glance `etc/metadefs/compute-libvirt-image.json`); a BSD or DOS guest gets none |
 * | `os_distro` (`glance`) | `os.distro` in libguestfs's names, through {@link GUEST_DISTRO_NAMES} | Glance's documented names, else libosinfo's `<distro>` |
 * | `os_distro` (`libosinfo`) | `os.osinfo`, the libosinfo short id libguestfs computes (`debian12`, `win2k22`) | libosinfo short ids |
 * | `os_version` | `os.version`, as the guest spells it (`22.04`, `9.3`; `10.0` for Windows NT 10) | free text |
 * | `architecture` | `os.arch` in libguestfs's names, through {@link GUEST_ARCH_TO_GLANCE} | Nova's `fields.Architecture` (which `hw_architecture` is checked against) |
 * | `hw_firmware_type` | `firmware` (virt-v2v's rule: an ESP and no BIOS-boot partition on GPT) | `bios`, `uefi` |
 *
 * Browser-safe.
 *
 * @module
 */
import type { GlanceProperties, GlancePropertyContext } from './declaration.js';
import type { GlanceOsType } from './vocabulary.js';

/** The parts of `info.guest` this module reads (an inspection, or `{ unavailable }`). */
export type GuestFacts =
  | { unavailable: string }
  | {
      firmware?: 'bios' | 'uefi' | undefined;
      os?: { type: string; distro?: string | undefined; version?: string | undefined; arch?: string | undefined; osinfo?: string | undefined } | undefined;
    };

/**
 * libguestfs's distro names (`daemon/inspect_types.ml`) mapped to `os_distro`: Glance's
 * documented name where it has one (`GLANCE_OS_DISTROS`: `arch` for `archlinux`), else
 * libosinfo's `<distro>` name (the osinfo-db `os` files), which Glance's metadef says the
 * vocabulary is, as installer media do here (`docs/glance.md`). A libguestfs distro absent
 * here (`linuxmint`, `kalilinux`, `redhat-based`, `unknown`, ...) gets no `os_distro` in the
 * `glance` vocabulary.
 */
export const GUEST_DISTRO_NAMES: Readonly<Record<string, string>> = {
  archlinux: 'arch',
  centos: 'centos',
  debian: 'debian',
  fedora: 'fedora',
  freebsd: 'freebsd',
  gentoo: 'gentoo',
  mandriva: 'mandriva',
  msdos: 'msdos',
  netbsd: 'netbsd',
  openbsd: 'openbsd',
  opensuse: 'opensuse',
  rhel: 'rhel',
  rocky: 'rocky',
  ubuntu: 'ubuntu',
  windows: 'windows',
  // libosinfo's names, where Glance documents none.
  alpinelinux: 'alpinelinux',
  altlinux: 'altlinux',
  cirros: 'cirros',
  freedos: 'freedos',
  mageia: 'mageia',
  oraclelinux: 'ol',
  scientificlinux: 'scientificlinux',
  slackware: 'slackware',
  sles: 'sles',
  voidlinux: 'voidlinux',
};

/**
 * libguestfs's architecture names (`daemon/filearch.ml`) mapped to Nova's
 * (`nova/objects/fields.py` `Architecture`, whose `canonicalize` turns `i386` into `i686`).
 * libguestfs's `arm` says no ARM version (Nova has `armv6`, `armv7l`, `armv7b`) and RISC-V
 * and LoongArch are not in Nova's list: those get no `architecture`.
 */
export const GUEST_ARCH_TO_GLANCE: Readonly<Record<string, string>> = {
  x86_64: 'x86_64',
  i386: 'i686',
  aarch64: 'aarch64',
  ppc: 'ppc',
  ppc64: 'ppc64',
  ppc64le: 'ppc64le',
  s390: 's390',
  s390x: 's390x',
  sparc: 'sparc',
  sparc64: 'sparc64',
  ia64: 'ia64',
};

const OS_TYPES: ReadonlySet<string> = new Set<GlanceOsType>(['linux', 'windows']);

/** The Glance properties `info.guest` proves; nothing for an absent or unavailable inspection. */
export function guestProperties(guest: GuestFacts | undefined, context: GlancePropertyContext): GlanceProperties {
  if (guest === undefined || 'unavailable' in guest) return {};
  const properties: GlanceProperties = {};
  if (guest.firmware === 'bios' || guest.firmware === 'uefi') properties.hw_firmware_type = guest.firmware;
  const os = guest.os;
  if (os === undefined) return properties;
  if (OS_TYPES.has(os.type)) properties.os_type = os.type;
  const distro = context.osDistro === 'libosinfo' ? os.osinfo : os.distro === undefined ? undefined : GUEST_DISTRO_NAMES[os.distro];
  if (distro !== undefined) properties.os_distro = distro;
  if (os.version !== undefined && os.version !== '') properties.os_version = os.version;
  const arch = os.arch === undefined ? undefined : GUEST_ARCH_TO_GLANCE[os.arch];
  if (arch !== undefined) properties.architecture = arch;
  return properties;
}
