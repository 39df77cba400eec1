/**
 * Operating-system installer media recognised by their ISO 9660 volume id, as libosinfo's
 * `osinfo-detect` recognises them (osinfo-db `os/<vendor>/<os>.xml`, `<media><iso>`
 * elements). Each row is written here from the distribution's own naming convention and
 * checked against `osinfo-detect` on media built at test time; the rows are not copied from
 * osinfo-db.
 *
 * A row names the libosinfo OS (its short id, e.g. `ubuntu22.04`), from which come
 * `os_distro` (libosinfo's `<distro>`, `windows` for its `win`), `os_version` (the OS
 * entry's `<version>`), `os_type` and, where the id spells it, `architecture`. Where the
 * id does not tell one release from another (Windows' `CCCOMA_X64FRE_...` is on both
 * Windows 10 and Windows 11 media), the row gives no short id and no version: nothing is
 * guessed.
 *
 * Browser-safe: data and pure functions only.
 *
 * @module
 */
import type { GlanceProperties, GlancePropertyContext } from './declaration.js';
import { ARCHITECTURE_NAMES, type GlanceOsType } from './vocabulary.js';

/**
 * One kind of installer medium.
 *
 * | field | meaning |
 * | --- | --- |
 * | `name` | what the row recognises, for the docs |
 * | `example` | a real volume id of such media |
 * | `volumeId` | the pattern; named groups `major`, `minor` and `arch` feed the templates |
 * | `publisherId` | the publisher id the medium must also carry, where the volume id alone is too loose |
 * | `distro` | `os_distro` in Glance's vocabulary |
 * | `osType` | `os_type` |
 * | `shortId` | the libosinfo short id, `{major}`/`{minor}` replaced; absent where the id does not say which release |
 * | `version` | `os_version` (the libosinfo OS entry's `<version>`), same templates |
 * | `source` | where the naming convention is documented or can be seen |
 */
export interface InstallerMediaRow {
  readonly name: string;
  readonly example: string;
  readonly volumeId: RegExp;
  readonly publisherId?: string;
  readonly distro: string;
  readonly osType: GlanceOsType;
  readonly shortId?: string;
  readonly version?: string;
  readonly source: string;
}

const ARCH = '(?<arch>amd64|arm64|i386|armhf|ppc64el|p64el|s390x|x86_64|aarch64|ppc64le)';

/** The installer media this library recognises. */
export const INSTALLER_MEDIA: readonly InstallerMediaRow[] = [
  {
    name: 'Ubuntu (desktop and server)',
    example: 'Ubuntu-Server 22.04.3 LTS amd64',
    volumeId: new RegExp(`^Ubuntu(?:-Server)? (?<major>\\d+)\\.(?<minor>\\d+)(?:\\.\\d+)?(?: LTS)? ${ARCH}$`),
    distro: 'ubuntu',
    osType: 'linux',
    shortId: 'ubuntu{major}.{minor}',
    version: '{major}.{minor}',
    source: 'Ubuntu ISO volume ids (cdimage.ubuntu.com); osinfo-db os/ubuntu.com',
  },
  {
    name: 'Debian (netinst, CD and DVD sets)',
    example: 'Debian 12.2.0 amd64 n',
    volumeId: new RegExp(`^Debian (?<major>\\d+)\\.\\d+(?:\\.\\d+)? ${ARCH} (?:n|\\d+)$`),
    distro: 'debian',
    osType: 'linux',
    shortId: 'debian{major}',
    version: '{major}',
    source: 'debian-cd volume ids (cdimage.debian.org); osinfo-db os/debian.org',
  },
  {
    name: 'Fedora Server and Everything DVDs',
    example: 'Fedora-S-dvd-x86_64-39',
    volumeId: new RegExp(`^Fedora-(?:S|E)-dvd-${ARCH}-(?<major>\\d+)$`),
    distro: 'fedora',
    osType: 'linux',
    shortId: 'fedora{major}',
    version: '{major}',
    source: 'Fedora release engineering (pungi) volume ids; osinfo-db os/fedoraproject.org',
  },
  {
    name: 'Fedora Workstation live media (the id names no architecture)',
    example: 'Fedora-WS-Live-39-1-5',
    volumeId: /^Fedora-WS-Live-(?<major>\d+)(?:-|$)/,
    distro: 'fedora',
    osType: 'linux',
    shortId: 'fedora{major}',
    version: '{major}',
    source: 'Fedora release engineering (pungi) volume ids; osinfo-db os/fedoraproject.org',
  },
  {
    name: 'CentOS Stream',
    example: 'CentOS-Stream-9-BaseOS-x86_64',
    volumeId: new RegExp(`^CentOS-Stream-(?<major>\\d+)-BaseOS-${ARCH}$`),
    distro: 'centos',
    osType: 'linux',
    shortId: 'centos-stream{major}',
    version: '{major}',
    source: 'CentOS Stream compose volume ids; osinfo-db os/centos.org',
  },
  {
    name: 'Red Hat Enterprise Linux 8 and later',
    example: 'RHEL-9-2-0-BaseOS-x86_64',
    volumeId: new RegExp(`^RHEL[-_](?<major>\\d+)[-_](?<minor>\\d+)[-_](?:\\d+[-_])?BaseOS[-_]${ARCH}$`),
    distro: 'rhel',
    osType: 'linux',
    shortId: 'rhel{major}.{minor}',
    version: '{major}.{minor}',
    source: 'RHEL compose volume ids; osinfo-db os/redhat.com',
  },
  {
    name: 'Rocky Linux',
    example: 'Rocky-9-2-x86_64-dvd',
    volumeId: new RegExp(`^Rocky-(?<major>\\d+)-(?<minor>\\d+)-${ARCH}-(?:dvd|boot|minimal)$`),
    distro: 'rocky',
    osType: 'linux',
    shortId: 'rocky{major}',
    version: '{major}',
    source: 'Rocky Linux release volume ids; osinfo-db os/rockylinux.org',
  },
  {
    name: 'AlmaLinux',
    example: 'AlmaLinux-9-2-x86_64-dvd',
    volumeId: new RegExp(`^AlmaLinux-(?<major>\\d+)-(?<minor>\\d+)-${ARCH}-(?:dvd|boot|minimal)$`),
    distro: 'almalinux',
    osType: 'linux',
    shortId: 'almalinux{major}',
    version: '{major}',
    source: 'AlmaLinux release volume ids; osinfo-db os/almalinux.org',
  },
  {
    name: 'openSUSE Leap',
    example: 'openSUSE-Leap-15.4-DVD-x86_64',
    volumeId: new RegExp(`^openSUSE-Leap-(?<major>\\d+)\\.(?<minor>\\d+)(?:-\\d+)?-(?:DVD|NET)-${ARCH}`),
    distro: 'opensuse',
    osType: 'linux',
    shortId: 'opensuse{major}.{minor}',
    version: '{major}.{minor}',
    source: 'openSUSE (kiwi) volume ids; osinfo-db os/opensuse.org',
  },
  {
    name: 'Microsoft Windows installation media (client and server)',
    example: 'CCCOMA_X64FRE_EN-US_DV9',
    volumeId: /^(?:J_)?[A-Z]{2,8}_(?<arch>X64|X86|A64)(?:FRE|CHK)[EV]?_/,
    publisherId: 'MICROSOFT CORPORATION',
    distro: 'windows',
    osType: 'windows',
    source: 'Microsoft media volume ids (build label, architecture, FRE/CHK); osinfo-db os/microsoft.com',
  },
];

/** What installer media say about the system they install. */
export interface InstallerMediaFacts {
  row: InstallerMediaRow;
  osType: GlanceOsType;
  distro: string;
  shortId: string | undefined;
  version: string | undefined;
  architecture: string | undefined;
}

/** The ids of an ISO this module looks at (from `IsoDetails`). */
export interface InstallerMediaIds {
  volumeId: string | undefined;
  publisherId: string | undefined;
}

/** Recognises installer media by their ids; `undefined` when no row matches. */
export function recogniseInstallerMedia(ids: InstallerMediaIds): InstallerMediaFacts | undefined {
  const volumeId = ids.volumeId?.trim();
  if (volumeId === undefined || volumeId === '') return undefined;
  for (const row of INSTALLER_MEDIA) {
    if (row.publisherId !== undefined && ids.publisherId?.trim() !== row.publisherId) continue;
    const match = row.volumeId.exec(volumeId);
    if (match === null) continue;
    const groups = match.groups ?? {};
    const fill = (template: string | undefined) =>
      template?.replace(/\{(major|minor)\}/g, (_whole, name: string) => groups[name] ?? '');
    const arch = groups.arch;
    return {
      row,
      osType: row.osType,
      distro: row.distro,
      shortId: fill(row.shortId),
      version: fill(row.version),
      architecture: arch === undefined ? undefined : ARCHITECTURE_NAMES[arch],
    };
  }
  return undefined;
}

/** The OS properties installer media prove (see {@link INSTALLER_MEDIA}). */
export function installerMediaProperties(facts: InstallerMediaFacts | undefined, context: GlancePropertyContext): GlanceProperties {
  if (facts === undefined) return {};
  const properties: GlanceProperties = { os_type: facts.osType };
  const distro = context.osDistro === 'libosinfo' ? facts.shortId : facts.distro;
  if (distro !== undefined) properties.os_distro = distro;
  if (facts.version !== undefined) properties.os_version = facts.version;
  if (facts.architecture !== undefined) properties.architecture = facts.architecture;
  return properties;
}

