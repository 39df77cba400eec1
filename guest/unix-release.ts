/**
 * Which distribution and version a Unix-like root is, from its release files, test for test
 * as libguestfs runs them (`daemon/inspect_fs_unix.ml`, `linux_root_tests`): in order, each
 * test whose file exists (links followed) parses it; the first parse that succeeds ends the
 * list. Parsers change the inspection data in place even when they give up (Debian's
 * `os-release` sets the product name and a major version, then gives up for want of a
 * minor one, and `/etc/debian_version` completes it), exactly as libguestfs's do.
 *
 * | file | parser | gives up when |
 * | --- | --- | --- |
 * | `/etc/os-release` | `ID` (libguestfs's distro for it), `PRETTY_NAME`, `VERSION_ID`, `BUILD_ID` | no known `ID` or no `PRETTY_NAME`; Debian, CentOS, Circle or Rocky with a minor version of 0; no version (rolling distros get 0.0) |
 * | `/etc/lsb-release` | `DISTRIB_ID` (CoreOS, LinuxMint, Mageia, Ubuntu), `DISTRIB_RELEASE`, `DISTRIB_DESCRIPTION` | neither a known id nor a description |
 * | `/etc/*-release`, `/etc/debian_version`, ... | the first line is the product name; a pattern gives the version | the pattern does not match (or the file is empty) |
 * | `/etc/SuSE-release` | SLES and NLD: `VERSION =` and `PATCHLEVEL =` lines; openSUSE: the second line | never |
 *
 * @module
 */
import type { GuestFiles } from './guest-files.js';
import { type InspectionData, parseVersionFromMajorMinor, versionOf } from './inspection-data.js';

/** `ID=` values of `/etc/os-release` and libguestfs's distro names for them (`distro_of_os_release_id`). */
const OS_RELEASE_IDS: ReadonlyMap<string, string> = new Map([
  ['alpine', 'alpinelinux'],
  ['altlinux', 'altlinux'],
  ['arch', 'archlinux'],
  ['centos', 'centos'],
  ['circle', 'circle'],
  ['coreos', 'coreos'],
  ['debian', 'debian'],
  ['fedora', 'fedora'],
  ['frugalware', 'frugalware'],
  ['gentoo', 'gentoo'],
  ['kali', 'kalilinux'],
  ['kylin', 'kylin'],
  ['mageia', 'mageia'],
  ['neokylin', 'neokylin'],
  ['openEuler', 'openeuler'],
  ['openmandriva', 'openmandriva'],
  ['opencloudos', 'opencloudos'],
  ['tencentos', 'tencentos'],
  ['opensuse', 'opensuse'],
  ['pardus', 'pardus'],
  ['pld', 'pldlinux'],
  ['rhel', 'rhel'],
  ['rocky', 'rocky'],
  ['sles', 'sles'],
  ['sled', 'sles'],
  ['ubuntu', 'ubuntu'],
  ['void', 'voidlinux'],
]);

/** libguestfs's distro for an os-release `ID`, or `undefined` for one it does not know. */
export function distroOfOsReleaseId(id: string): string | undefined {
  return OS_RELEASE_IDS.get(id) ?? (id.startsWith('opensuse-') ? 'opensuse' : undefined);
}

/** Distributions without releases: `os-release` has no `VERSION_ID`, and libguestfs says 0.0. */
const ROLLING_DISTROS: ReadonlySet<string> = new Set(['archlinux', 'gentoo', 'voidlinux']);

/** `parse_key_value_strings`: lines that are not empty and not comments, split at the first `=`. */
export function keyValueLines(lines: readonly string[], unquote: (value: string) => string): Array<[string, string]> {
  return lines
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const at = line.indexOf('=');
      return at === -1 ? [line, unquote('')] : [line.slice(0, at), unquote(line.slice(at + 1))];
    });
}

/** `simple_unquote`: one pair of surrounding double or single quotes removed. */
export function simpleUnquote(value: string): string {
  if (value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))) return value.slice(1, -1);
  return value;
}

/**
 * `shell_unquote`: a value as the shell would read it: inside double quotes `\` escapes
 * `$`, `` ` ``, `"`, `\` and newline; single quotes keep everything; outside quotes `\`
 * escapes the next character.
 */
export function shellUnquote(value: string): string {
  let out = '';
  let quote: '"' | "'" | undefined;
  for (let index = 0; index < value.length; index += 1) {
    const char = value[index] as string;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else out += char;
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && index + 1 < value.length && '$`"\\\n'.includes(value[index + 1] as string)) out += value[++index];
      else out += char;
    } else if (char === '"' || char === "'") quote = char;
    else if (char === '\\' && index + 1 < value.length) out += value[++index];
    else out += char;
  }
  return out;
}

/** NeoKylin's `VERSION_ID` form (`V7Update3`). */
const NEOKYLIN_VERSION = /^V(\d+)Update(\d+)$/;

/** `parse_os_release`. */
export async function parseOsRelease(files: GuestFiles, path: string, data: InspectionData): Promise<boolean> {
  const lines = await files.readLines(path);
  if (lines === undefined) return false;
  for (const [key, value] of keyValueLines(lines, shellUnquote)) {
    if (key === 'ID') {
      const distro = distroOfOsReleaseId(value);
      if (distro !== undefined) data.distro = distro;
    } else if (key === 'PRETTY_NAME') data.productName = value;
    else if (key === 'VERSION_ID') {
      const neokylin = NEOKYLIN_VERSION.exec(value);
      if (neokylin !== null) data.version = versionOf(neokylin[1] as string, neokylin[2] as string, value) ?? data.version;
      else parseVersionFromMajorMinor(value, data);
    } else if (key === 'BUILD_ID') data.buildId = value;
  }
  if (data.distro === undefined || data.productName === undefined) return false;
  // Debian's and CentOS's os-release give the major version only: the release files say more.
  if (['debian', 'centos', 'circle', 'rocky'].includes(data.distro) && data.version?.minor === 0) return false;
  if (data.version === undefined) {
    if (ROLLING_DISTROS.has(data.distro)) {
      data.version = { major: 0, minor: 0, text: '0.0' };
      return true;
    }
    return false;
  }
  return true;
}

/** `DISTRIB_ID=` values libguestfs knows (`distro_of_lsb_release_distrib_id`). */
const LSB_IDS: ReadonlyMap<string, string> = new Map([
  ['CoreOS', 'coreos'],
  ['LinuxMint', 'linuxmint'],
  ['Mageia', 'mageia'],
  ['Ubuntu', 'ubuntu'],
]);

/** `parse_lsb_release`. */
export async function parseLsbRelease(files: GuestFiles, path: string, data: InspectionData): Promise<boolean> {
  const lines = await files.readLines(path);
  if (lines === undefined) return false;
  let ok = false;
  for (const [key, value] of keyValueLines(lines, simpleUnquote)) {
    if (key === 'DISTRIB_ID') {
      const distro = LSB_IDS.get(value);
      if (distro !== undefined) {
        ok = true;
        data.distro = distro;
      }
    } else if (key === 'DISTRIB_RELEASE') parseVersionFromMajorMinor(value, data);
    else if (key === 'DISTRIB_DESCRIPTION') {
      ok = true;
      data.productName = value;
    }
  }
  return ok;
}

const SLES = /^SUSE (Linux|LINUX) Enterprise /;
const NLD = /^Novell Linux Desktop /;
const OPENSUSE = /^(openSUSE|SuSE Linux|SUSE LINUX) /;
const SLES_VERSION = /^VERSION = (\d+)/;
const SLES_PATCHLEVEL = /^PATCHLEVEL = (\d+)/;

/** `parse_suse_release`. */
export async function parseSuseRelease(files: GuestFiles, path: string, data: InspectionData): Promise<boolean> {
  const lines = await files.readLines(path);
  if (lines === undefined || lines.length === 0) return false;
  const productName = lines[0] as string;
  data.productName = productName;
  if (SLES.test(productName) || NLD.test(productName)) {
    const major = lines.length >= 2 ? SLES_VERSION.exec(lines[1] as string)?.[1] : undefined;
    const minor = lines.length >= 3 ? SLES_PATCHLEVEL.exec(lines[2] as string)?.[1] : undefined;
    data.distro = 'sles';
    const version = major === undefined ? undefined : versionOf(major, minor, minor === undefined ? major : `${major}.${minor}`);
    if (version === undefined) delete data.version;
    else data.version = version;
  } else if (OPENSUSE.test(productName)) {
    if (lines.length >= 2) parseVersionFromMajorMinor(lines[1] as string, data);
    data.distro = 'opensuse';
  }
  return true;
}

/**
 * `parse_generic ?rex distro`: the first line is the product name and the distro is set; with
 * a pattern, the pattern must match (groups 1 and 2 are major and minor); without one, a
 * version is looked for but not required.
 */
export async function parseGeneric(files: GuestFiles, path: string, distro: string, data: InspectionData, pattern?: RegExp): Promise<boolean> {
  const productName = await files.readFirstLine(path);
  if (productName === '') return false;
  data.productName = productName;
  data.distro = distro;
  if (pattern === undefined) {
    parseVersionFromMajorMinor(productName, data);
    return true;
  }
  const match = pattern.exec(productName);
  if (match === null) return false;
  const major = match[1];
  const minor = match[2];
  if (major !== undefined && /^\d+$/.test(major)) {
    const usableMinor = minor !== undefined && /^\d+$/.test(minor) ? minor : undefined;
    const version = versionOf(major, usableMinor, usableMinor === undefined ? major : `${major}.${usableMinor}`);
    if (version !== undefined) data.version = version;
  }
  return true;
}

/** One release-file test: the file that must exist (links followed), and its parser. */
export interface ReleaseTest {
  file: string;
  parse(files: GuestFiles, path: string, data: InspectionData): Promise<boolean>;
}

const generic = (file: string, distro: string, pattern?: RegExp): ReleaseTest => ({ file, parse: (files, path, data) => parseGeneric(files, path, distro, data, pattern) });
const setDistro = (file: string, distro: string): ReleaseTest => ({
  file,
  parse: async (_files, _path, data) => {
    data.distro = distro;
    return true;
  },
});

/**
 * Tests a release file against each of a distro's patterns in turn (libguestfs lists one
 * test a pattern: the old `release N ... Update M` form first, then `N.M`, then `N` alone).
 */
const generics = (file: string, distro: string, patterns: readonly RegExp[]): ReleaseTest[] => patterns.map((pattern) => generic(file, distro, pattern));

const FEDORA = /Fedora release (\d+)/;
const RHEL = [/Red Hat.*release (\d+).*Update (\d+)/, /Red Hat.*release (\d+)\.(\d+)/, /Red Hat.*release (\d+)/];
const CENTOS = [/CentOS.*release (\d+).*Update (\d+)/, /CentOS.*release (\d+)\.(\d+)/, /CentOS.*release (\d+)/];
const CIRCLE = [/Circle Linux.*release (\d+)\.(\d+)/, /Circle Linux.*release (\d+)/];
const ROCKY = [/Rocky Linux.*release (\d+)\.(\d+)/, /Rocky Linux.*release (\d+)/];
const SCIENTIFIC = [/Scientific Linux.*release (\d+).*Update (\d+)/, /Scientific Linux.*release (\d+)\.(\d+)/, /Scientific Linux.*release (\d+)/];
const ORACLE = [/Oracle Linux.*release (\d+).*Update (\d+)/, /Oracle Linux.*release (\d+)\.(\d+)/, /Oracle Linux.*release (\d+)/];
const OPENMANDRIVA = /OpenMandriva.*release (\d+)\.(\d+)\.?(\d+)? .*/;
const OPENCLOUDOS = /OpenCloudOS.*release (\d+)/;
const TENCENTOS = /TencentOS.* (\d+)\.(\d+)/;
const FRUGALWARE = /Frugalware (\d+)\.(\d+)/;
const PLD = /(\d+)\.(\d+) PLD Linux/;

/** libguestfs's `linux_root_tests`, in its order. */
export const LINUX_RELEASE_TESTS: readonly ReleaseTest[] = [
  { file: '/etc/os-release', parse: parseOsRelease },
  { file: '/etc/lsb-release', parse: parseLsbRelease },
  generic('/etc/openmandriva-release', 'openmandriva', OPENMANDRIVA),
  generic('/etc/opencloudos-release', 'opencloudos', OPENCLOUDOS),
  generic('/etc/tencentos-release', 'tencentos', TENCENTOS),
  ...generics('/etc/oracle-release', 'oraclelinux', ORACLE),
  ...generics('/etc/centos-release', 'centos', CENTOS),
  ...generics('/etc/circle-release', 'circle', CIRCLE),
  ...generics('/etc/rocky-release', 'rocky', ROCKY),
  generic('/etc/altlinux-release', 'altlinux'),
  generic('/etc/redhat-release', 'fedora', FEDORA),
  ...generics('/etc/redhat-release', 'rhel', RHEL),
  ...generics('/etc/redhat-release', 'centos', CENTOS),
  ...generics('/etc/redhat-release', 'circle', CIRCLE),
  ...generics('/etc/redhat-release', 'rocky', ROCKY),
  ...generics('/etc/redhat-release', 'scientificlinux', SCIENTIFIC),
  generic('/etc/redhat-release', 'redhat-based'),
  setDistro('/etc/redhat-release', 'redhat-based'),
  generic('/etc/debian_version', 'debian'),
  generic('/etc/pardus-release', 'pardus'),
  setDistro('/etc/arch-release', 'archlinux'),
  generic('/etc/gentoo-release', 'gentoo'),
  generic('/etc/meego-release', 'meego'),
  generic('/etc/slackware-version', 'slackware'),
  generic('/etc/ttylinux-target', 'ttylinux'),
  { file: '/etc/SuSE-release', parse: parseSuseRelease },
  setDistro('/etc/SuSE-release', 'suse-based'),
  generic('/etc/cirros/version', 'cirros'),
  {
    file: '/etc/br-version',
    parse: async (files, path, data) => parseGeneric(files, path, (await files.isFile('/usr/share/cirros/logo', true)) ? 'cirros' : 'buildroot', data),
  },
  generic('/etc/alpine-release', 'alpinelinux'),
  generic('/etc/frugalware-release', 'frugalware', FRUGALWARE),
  generic('/etc/pld-release', 'pldlinux', PLD),
];

/** libguestfs's `hurd_root_tests`. */
export const HURD_RELEASE_TESTS: readonly ReleaseTest[] = [{ file: '/etc/os-release', parse: parseOsRelease }, generic('/etc/debian_version', 'debian')];

/** `check_tests`: runs the tests in order until one whose file exists succeeds. */
export async function runReleaseTests(files: GuestFiles, tests: readonly ReleaseTest[], data: InspectionData): Promise<void> {
  for (const test of tests) {
    if (!(await files.isFile(test.file, true))) continue;
    if (await test.parse(files, test.file, data)) return;
  }
}

/** NetBSD's `/etc/release` first line (`re_netbsd`). */
export const NETBSD_RELEASE = /^NetBSD (\d+)\.(\d+)/;
/** Minix's `/etc/version` (`re_minix`). */
export const MINIX_VERSION = /^(\d+)\.(\d+)(\.(\d+))?/;
