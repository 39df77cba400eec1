/**
 * `/etc/fstab`, read as libguestfs reads it (`daemon/inspect_fs_unix_fstab.ml`, through
 * Augeas's fstab lens): each entry's device is resolved to the name libguestfs gives it on
 * the inspected disk, giving the guest's mount points.
 *
 * Lines are `spec file vfstype [options [dump [passno]]]`, separated by blanks; `#` starts
 * a comment line. Entries are skipped as libguestfs skips them:
 *
 * | skipped | why |
 * | --- | --- |
 * | `spec` a floppy or CD drive (`/dev/fdN`, `/dev/cdN`, `/dev/floppy`, `/dev/cdrom`, `/dev/iso9660/...`) | not a disk of the guest |
 * | mount point `/dev`, `/proc`, `/sys`, `/selinux` and below, `/media/...` | pseudo file systems, removable media |
 * | `UUID=`, `LABEL=`, `PARTUUID=`, `PARTLABEL=` naming nothing on the disk | cannot be resolved |
 * | a `spec` that is neither a tag nor a `/dev` path (`tmpfs`, `proc`, `none`) | not a device |
 *
 * | `spec` | resolved to |
 * | --- | --- |
 * | `UUID=`, `LABEL=`, `/dev/disk/by-uuid/...` | the file system with that UUID or label (`blkid -U`/`-L`) |
 * | `PARTUUID=`, `PARTLABEL=` | the partition with that GPT unique GUID (MBR: `signature-NN`) or GPT name |
 * | `/dev/root` (and `/` on the BSDs) | the root file system being inspected |
 * | `/dev/sdXN`, `/dev/vdXN`, `/dev/hdXN`, `/dev/xvdXN` | `/dev/sdaN` when X is the first disk and partition N exists, else unchanged |
 * | `/dev/mapper/VG-LV` (`--` for a `-` in a name) | `/dev/VG/LV` when that logical volume exists |
 * | `/dev/disk/by-id/...-partN` | `/dev/sdaN` (one disk only) |
 * | `/dev/disk/by-id/dm-uuid-LVM-<vg uuid><lv uuid>` | that logical volume |
 * | any other `/dev` path | unchanged |
 *
 * A Btrfs entry with a `subvol=` option names the subvolume: `btrfsvol:<device>/<subvol>`.
 * When several entries mount `/`, the first is kept.
 *
 * @module
 */

/** Most fstab entries read (a guest has a dozen; a crafted one cannot make the list long). */
export const MAX_FSTAB_ENTRIES = 1024;

/** What fstab entries are resolved against: the inspected disk's devices. */
export interface FstabDevices {
  /** The device being inspected as root (for `/dev/root`). */
  root: string;
  /** The file system with this UUID (`blkid -U`). */
  byUuid(uuid: string): string | undefined;
  /** The file system with this label (`blkid -L`). */
  byLabel(label: string): string | undefined;
  /** The partition with this PARTUUID. */
  byPartUuid(uuid: string): string | undefined;
  /** The partition with this GPT name. */
  byPartLabel(label: string): string | undefined;
  /** True when partition `number` of the first disk exists. */
  hasPartition(number: number): boolean;
  /** `/dev/VG/LV` when volume group `vg` has logical volume `lv`. */
  logicalVolume(vg: string, lv: string): string | undefined;
  /** The logical volume with these UUIDs (dashes removed), as `/dev/VG/LV`. */
  logicalVolumeByUuids(vgUuid: string, lvUuid: string): string | undefined;
}

/** One resolved entry. */
export interface FstabEntry {
  device: string;
  mountpoint: string;
}

/** One line of fstab, split into fields. */
interface FstabLine {
  spec: string;
  file: string;
  vfstype: string;
  options: Array<{ name: string; value?: string }>;
}

/** The entries of an fstab's text; lines that are not entries (too few fields) are reported through `warn`. */
export function parseFstabLines(lines: readonly string[], warn: (message: string) => void): FstabLine[] {
  const entries: FstabLine[] = [];
  for (const [index, line] of lines.entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const fields = trimmed.split(/[ \t]+/);
    if (fields.length < 3) {
      warn(`/etc/fstab line ${index + 1} has ${fields.length} field${fields.length === 1 ? '' : 's'}, not an entry: ignored`);
      continue;
    }
    const options = (fields[3] ?? '')
      .split(',')
      .filter((option) => option !== '')
      .map((option) => {
        const at = option.indexOf('=');
        return at === -1 ? { name: option } : { name: option.slice(0, at), value: option.slice(at + 1) };
      });
    entries.push({ spec: fields[0] as string, file: fields[1] as string, vfstype: fields[2] as string, options });
    if (entries.length >= MAX_FSTAB_ENTRIES) {
      warn(`/etc/fstab has more than ${MAX_FSTAB_ENTRIES} entries; the rest are ignored`);
      break;
    }
  }
  return entries;
}

/** `unix_canonical_path`: empty components removed (`///usr//local//` is `/usr/local`). */
export function canonicalPath(path: string): string {
  const parts = path.split('/').filter((part) => part !== '');
  return (path.startsWith('/') ? '/' : '') + parts.join('/');
}

/** `shell_unquote` as fstab tags need it: one pair of quotes removed. */
function unquoteTag(value: string): string {
  if (value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))) return value.slice(1, -1);
  return value;
}

const XDEV = /^\/dev\/(h|s|v|xv)d([a-z]+)(\d*)$/;
const DISK_BY_ID_PART = /^\/dev\/disk\/by-id\/.*-part(\d+)$/;
const DM_UUID_LVM = /^\/dev\/disk\/by-id\/dm-uuid-LVM-([0-9a-zA-Z]{32})([0-9a-zA-Z]{32})$/;

/** The index of a drive letter sequence (`a` 0, `z` 25, `aa` 26), as libguestfs's `drive_index`. */
function driveIndex(letters: string): number {
  let index = 0;
  for (const char of letters) index = index * 26 + (char.charCodeAt(0) - 0x60);
  return index - 1;
}

/**
 * Splits a device-mapper name into volume group and logical volume: LVM doubles every `-`
 * inside a name and joins the two with a single `-`.
 */
export function splitDeviceMapperName(name: string): { vg: string; lv: string } | undefined {
  let vg = '';
  for (let index = 0; index < name.length; index += 1) {
    const char = name[index] as string;
    if (char !== '-') {
      vg += char;
      continue;
    }
    if (name[index + 1] === '-') {
      vg += '-';
      index += 1;
      continue;
    }
    const lv = name.slice(index + 1).replaceAll('--', '-');
    return vg === '' || lv === '' ? undefined : { vg, lv };
  }
  return undefined;
}

/** libguestfs's `resolve_fstab_device` for a `/dev` path (not a tag). */
function resolveDevicePath(spec: string, devices: FstabDevices): string {
  if (spec.startsWith('/dev/mapper/')) {
    const split = splitDeviceMapperName(spec.slice('/dev/mapper/'.length));
    return (split === undefined ? undefined : devices.logicalVolume(split.vg, split.lv)) ?? spec;
  }
  const xdev = XDEV.exec(spec);
  if (xdev !== null) {
    // Disks are taken in the order the guest had them: only the first is inspected here.
    const partition = xdev[3] as string;
    if (driveIndex(xdev[2] as string) !== 0 || partition === '') return spec;
    const number = Number(partition);
    return devices.hasPartition(number) ? `/dev/sda${number}` : spec;
  }
  const byIdPart = DISK_BY_ID_PART.exec(spec);
  if (byIdPart !== null) {
    const number = Number(byIdPart[1]);
    return devices.hasPartition(number) ? `/dev/sda${number}` : spec;
  }
  if (spec.startsWith('/dev/disk/by-uuid/')) return devices.byUuid(spec.slice('/dev/disk/by-uuid/'.length)) ?? spec;
  const dmUuid = DM_UUID_LVM.exec(spec);
  if (dmUuid !== null) return devices.logicalVolumeByUuids(dmUuid[1] as string, dmUuid[2] as string) ?? spec;
  return spec;
}

function ignoredSpec(spec: string): boolean {
  return (
    (spec.startsWith('/dev/fd') && spec.length >= 8 && /\d/.test(spec[7] as string)) ||
    (spec.startsWith('/dev/cd') && spec.length >= 8 && /\d/.test(spec[7] as string)) ||
    spec === '/dev/floppy' ||
    spec === '/dev/cdrom' ||
    spec.startsWith('/dev/iso9660/')
  );
}

function ignoredMountpoint(mountpoint: string): boolean {
  return ['/dev', '/proc', '/selinux', '/sys'].some((prefix) => mountpoint === prefix || mountpoint.startsWith(`${prefix}/`)) || mountpoint.startsWith('/media/');
}

/**
 * The entries of `/etc/fstab` resolved to the inspected disk's devices (see the module
 * documentation). `bsd` selects the BSD rule that `/` is the root being inspected.
 */
export function resolveFstab(lines: readonly string[], devices: FstabDevices, bsd: boolean, warn: (message: string) => void): FstabEntry[] {
  const entries: FstabEntry[] = [];
  for (const line of parseFstabLines(lines, warn)) {
    const { spec } = line;
    if (ignoredSpec(spec)) continue;
    const mountpoint = canonicalPath(line.file);
    if (ignoredMountpoint(mountpoint)) continue;
    let device: string | undefined;
    if (spec.startsWith('UUID=')) device = devices.byUuid(unquoteTag(spec.slice(5)));
    else if (spec.startsWith('LABEL=')) device = devices.byLabel(unquoteTag(spec.slice(6)));
    else if (spec.startsWith('PARTUUID=')) device = devices.byPartUuid(unquoteTag(spec.slice(9)));
    else if (spec.startsWith('PARTLABEL=')) device = devices.byPartLabel(unquoteTag(spec.slice(10)));
    else if (spec === '/dev/root' || (bsd && mountpoint === '/')) device = devices.root;
    else if (spec.startsWith('/dev/')) device = resolveDevicePath(spec, devices);
    if (device === undefined) continue;
    if (line.vfstype === 'btrfs' && !device.startsWith('btrfsvol:')) {
      const subvolume = line.options.find((option) => option.name === 'subvol' && option.value !== undefined);
      if (subvolume !== undefined) device = `btrfsvol:${device}/${subvolume.value as string}`;
    }
    entries.push({ device, mountpoint });
  }
  const roots = entries.filter((entry) => entry.mountpoint === '/');
  if (roots.length <= 1) return entries;
  if (roots.some((root) => root.device !== roots[0]?.device)) {
    warn(`/etc/fstab mounts / more than once (${roots.map((root) => root.device).join(', ')}); the first is taken`);
  }
  return [roots[0] as FstabEntry, ...entries.filter((entry) => entry.mountpoint !== '/')];
}
