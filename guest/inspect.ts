/**
 * Guest inspection: which operating system a disk holds, read from its bytes, as
 * libguestfs's `inspect_os` finds it (`daemon/inspect.ml`) without booting anything.
 *
 * The pipeline, step for step as libguestfs's:
 *
 * 1. the partition table (every scheme the raw format reads; `partitions.ts`), or the whole
 *    disk when there is none;
 * 2. every partition that can hold a file system (`list_filesystems`), then every linear
 *    logical volume of the LVM2 volume groups found on them, is probed by the file-system
 *    drivers of {@link GUEST_FILE_SYSTEM_MODULES} (an explicit list); a Btrfs file system
 *    is its default subvolume plus each other subvolume (`btrfsvol:/dev/sda2/@/home`);
 * 3. each file system is classified (`classify.ts`: root, `/usr`, other) and roots are
 *    identified (`unix-root.ts`, `windows.ts`);
 * 4. Btrfs snapshots that duplicate a root are dropped, a separate `/usr` named in a root's
 *    fstab is merged into that root (`collect_linux_inspection_info`), CoreOS's `/usr` into
 *    its root;
 * 5. the firmware (`firmware.ts`, as virt-v2v decides it) and the EFI system partition's
 *    loaders.
 *
 * Bounded: the whole inspection reads at most `maxReadBytes` distinct bytes of the disk
 * (`guest-reader.ts`; past it, `LIMIT_EXCEEDED`), and at most {@link MAX_GUEST_PARTITIONS}
 * partitions, {@link MAX_GUEST_LOGICAL_VOLUMES} logical volumes and
 * {@link MAX_GUEST_FILE_SYSTEMS} file systems are looked at. A damaged file system ends in a
 * warning, and the next one is tried.
 *
 * Browser-safe.
 *
 * @module
 */
import { btrfsModule, type BtrfsFileSystem } from '../filesystems/btrfs.js';
import { ext } from '../filesystems/ext.js';
import { fatModule } from '../filesystems/fat.js';
import type { FileSystem, FileSystemModule } from '../filesystems/file-system.js';
import { ntfsModule } from '../filesystems/ntfs.js';
import { xfs } from '../filesystems/xfs.js';
import { latin1Text } from '../src/bytes.js';
import { isIntrospectionError } from '../src/errors.js';
import type { ByteReader } from '../src/format-module.js';
import { sliceView } from '../src/reading/views.js';
import { type Classification, type FileSystemRole, classifyFileSystem } from './classify.js';
import { type EfiSystemPartitionContents, efiSystemPartitions, firmwareOfPartitioning, readEfiSystemPartition } from './firmware.js';
import type { FstabDevices } from './fstab.js';
import { GuestFiles, type GuestFilesContext } from './guest-files.js';
import { type GuestReaderOptions, guestDiskReader } from './guest-reader.js';
import { type GuestOsType, type InspectionData, mergeInspectionData, osinfoOf, packageFormatOf, packageManagementOf } from './inspection-data.js';
import { type LvmPhysicalVolume, openLogicalVolume, probeLvm, readLvmPhysicalVolume } from './lvm.js';
import { GUEST_DISK_DEVICE, type GuestPartition, MAX_GUEST_PARTITIONS, guestPartitions, readGuestPartitionTable } from './partitions.js';

export { DEFAULT_GUEST_READ_BYTES } from './guest-reader.js';
export { MAX_GUEST_PARTITIONS } from './partitions.js';

/** The file-system drivers inspection probes each volume with, in order. */
export const GUEST_FILE_SYSTEM_MODULES: readonly FileSystemModule[] = [ext, xfs, btrfsModule, fatModule, ntfsModule];
/** Most file systems (Btrfs subvolumes included) inspected on one disk. */
export const MAX_GUEST_FILE_SYSTEMS = 64;
/** Most logical volumes probed (RHEL-family servers have three or four). */
export const MAX_GUEST_LOGICAL_VOLUMES = 64;
/** Most Btrfs subvolumes besides the default one inspected per file system (openSUSE keeps a snapshot per update: each is a full copy of the root to test). */
export const MAX_BTRFS_SUBVOLUMES_INSPECTED = 32;

/** Options of {@link inspectGuest}. */
export interface GuestInspectionOptions extends GuestReaderOptions {
  /** The file-system drivers to probe with; default {@link GUEST_FILE_SYSTEM_MODULES}. */
  fileSystems?: readonly FileSystemModule[];
}

/**
 * One file system of the guest (libguestfs's `list_filesystems`, with `vfs_type`,
 * `vfs_label`, `vfs_uuid`).
 *
 * | field | meaning |
 * | --- | --- |
 * | `device` | libguestfs's name: `/dev/sda2`, `/dev/VG/LV`, `btrfsvol:/dev/sda2/@/home`, or `/dev/sda` for a disk without partitions |
 * | `partition` | the partition number it is on, if it is on one |
 * | `lv` | `VG/LV`, for a file system on a logical volume |
 * | `subvolume` | the Btrfs subvolume's path from the top level, for `btrfsvol:` entries |
 * | `type` | `ext4`, `xfs`, `btrfs`, `vfat`, `ntfs`, `swap`; `unknown` where no driver recognised it |
 * | `label`, `uuid` | as `blkid` prints them |
 * | `role` | what inspection made of it: `root`, `usr`, `other`, `swap` (absent when it could not be read) |
 */
export interface GuestFileSystem {
  device: string;
  partition?: number;
  lv?: string;
  subvolume?: string;
  type: string;
  label?: string;
  uuid?: string;
  role?: FileSystemRole | 'swap';
}

/**
 * One operating system found (libguestfs's `inspect_get_*` for one root).
 *
 * | field | libguestfs |
 * | --- | --- |
 * | `type` | `inspect_get_type`: `linux`, `windows`, `freebsd`, `netbsd`, `openbsd`, `hurd`, `dos`, `minix` |
 * | `distro` | `inspect_get_distro` (`debian`, `ubuntu`, `fedora`, `rhel`, `centos`, `rocky`, `alpinelinux`, `archlinux`, `opensuse`, `sles`, `windows`, ...) |
 * | `version` | the version as the guest spells it (`22.04`, `9.3`, `10.0`): this library's; libguestfs keeps `major` and `minor` only |
 * | `major`, `minor` | `inspect_get_major_version`, `inspect_get_minor_version` |
 * | `productName`, `productVariant` | `inspect_get_product_name`, `inspect_get_product_variant` (Windows: `InstallationType`, `Client` or `Server`) |
 * | `arch` | `inspect_get_arch`: `x86_64`, `aarch64`, `i386`, `ppc64le`, `s390x`, `riscv64`, ... |
 * | `hostname`, `buildId` | `inspect_get_hostname`, `inspect_get_build_id` (Windows: `CurrentBuildNumber`) |
 * | `osinfo` | `inspect_get_osinfo`: the libosinfo short id (`debian12`, `win2k22`) |
 * | `packageFormat`, `packageManagement` | `inspect_get_package_format`, `inspect_get_package_management` |
 * | `root` | the root file system's device |
 * | `mountpoints` | `inspect_get_mountpoints`: from `/etc/fstab`, or `/` on the root alone |
 * | `windows` | `inspect_get_windows_systemroot`, `_software_hive`, `_system_hive`, `_current_control_set`, `inspect_get_drive_mappings` |
 */
export interface GuestOs {
  type: GuestOsType;
  distro?: string;
  version?: string;
  major?: number;
  minor?: number;
  productName?: string;
  productVariant?: string;
  arch?: string;
  hostname?: string;
  buildId?: string;
  osinfo?: string;
  packageFormat?: string;
  packageManagement?: string;
  root: string;
  mountpoints: Array<{ path: string; device: string }>;
  windows?: {
    systemRoot: string;
    softwareHive?: string;
    systemHive?: string;
    currentControlSet?: string;
    driveMappings: Array<{ drive: string; device: string }>;
  };
}

/** One volume group, as inspection found it. */
export interface GuestVolumeGroup {
  name: string;
  uuid: string;
  /** The physical volumes of it found on this disk. */
  physicalVolumes: string[];
  logicalVolumes: Array<{ name: string; device: string; uuid: string; size: number; readable: boolean; reason?: string }>;
}

/**
 * What is inside the guest.
 *
 * | field | meaning |
 * | --- | --- |
 * | `firmware`, `firmwareReason` | `bios` or `uefi` as virt-v2v decides it, and why |
 * | `efiSystemPartition` | the ESP's fallback loaders (`/EFI/BOOT/BOOTX64.EFI` and their architecture) and vendor directories |
 * | `partitionTable` | the scheme (`gpt`, `mbr`, ...), absent for a disk without one |
 * | `partitions` | every partition, numbered and named as Linux does |
 * | `volumeGroups` | LVM2 volume groups found on the partitions |
 * | `filesystems` | every file system found (see {@link GuestFileSystem}) |
 * | `os` | the operating system (the first root, in libguestfs's order) |
 * | `otherOperatingSystems` | further roots (a multi-boot disk) |
 * | `bytesRead` | distinct bytes of the guest's disk the inspection read |
 * | `warnings` | damaged or unreadable structures met on the way (inspection went on) |
 */
export interface GuestInfo {
  firmware?: 'bios' | 'uefi';
  firmwareReason?: string;
  efiSystemPartition?: EfiSystemPartitionContents;
  partitionTable?: string;
  partitions: GuestPartition[];
  volumeGroups?: GuestVolumeGroup[];
  filesystems: GuestFileSystem[];
  os?: GuestOs;
  otherOperatingSystems?: GuestOs[];
  bytesRead: number;
  warnings: string[];
}

/** One mountable thing found: its entry in the result, and the opened file system (absent for swap and unknown ones). */
interface Mountable {
  entry: GuestFileSystem;
  fs?: FileSystem;
  classification?: Classification;
}

const LUKS_MAGIC = 'LUKS\xba\xbe';
/** The Linux swap signature and where it ends: the last 10 bytes of the first page (`union swap_header`, 4 KiB pages). */
const SWAP_SIGNATURES = ['SWAPSPACE2', 'SWAP-SPACE'];
const SWAP_PAGE_BYTES = 4096;

/** A Linux swap area's UUID and label (`union swap_header.info`: `sws_uuid` at 1036, `sws_volume` at 1052), or `undefined` when `head` is not one. */
function swapArea(head: Uint8Array): { uuid?: string; label?: string } | undefined {
  if (head.byteLength < SWAP_PAGE_BYTES || !SWAP_SIGNATURES.includes(latin1Text(head.subarray(SWAP_PAGE_BYTES - 10, SWAP_PAGE_BYTES)))) return undefined;
  const uuidBytes = head.subarray(1036, 1052);
  const hex = [...uuidBytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  const uuid = uuidBytes.every((byte) => byte === 0) ? undefined : `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const labelBytes = head.subarray(1052, 1068);
  const end = labelBytes.indexOf(0);
  const label = new TextDecoder().decode(end === -1 ? labelBytes : labelBytes.subarray(0, end));
  return { ...(uuid === undefined ? {} : { uuid }), ...(label === '' ? {} : { label }) };
}

/**
 * Inspects the guest on `disk` (a reader of the guest's whole disk, readable in any order).
 *
 * @throws IntrospectionError `UNSUPPORTED` when the disk cannot be read in any order (a
 *   stream); `LIMIT_EXCEEDED` when the inspection would read more than `maxReadBytes`;
 *   `ABORTED`; `SOURCE_ERROR`. Damaged partition tables and file systems are warnings.
 */
export async function inspectGuest(disk: ByteReader, options: GuestInspectionOptions = {}): Promise<GuestInfo> {
  const guest = guestDiskReader(disk, options);
  const reader = guest.reader;
  const modules = options.fileSystems ?? GUEST_FILE_SYSTEM_MODULES;
  const warnings: string[] = [];
  const warn = (message: string): void => {
    if (!warnings.includes(message)) warnings.push(message);
  };
  const mustStop = (error: unknown): boolean =>
    guest.exhausted() || !isIntrospectionError(error) || error.code === 'ABORTED' || error.code === 'SOURCE_ERROR' || error.code === 'INTERNAL' || error.code === 'INVALID_ARGUMENT';
  /** Runs one step on one volume; a damaged structure becomes a warning. */
  const attempt = async <T>(what: string, work: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await work();
    } catch (error) {
      if (mustStop(error)) throw error;
      warn(`${what}: ${(error as Error).message}`);
      return undefined;
    }
  };

  // 1. The partition table.
  const scan = await attempt('partition table', () => readGuestPartitionTable(reader, warn));
  const partitioning = scan === undefined || scan.bootSector !== undefined ? { partitions: [] } : guestPartitions(scan, warn);
  const volumes: Array<{ device: string; partition?: number; reader: ByteReader }> =
    partitioning.partitions.length === 0 && partitioning.scheme === undefined
      ? [{ device: GUEST_DISK_DEVICE, reader }]
      : partitioning.partitions.filter((partition) => partition.probed).map((partition) => ({ device: partition.device, partition: partition.number, reader: sliceView(reader, partition.offset, partition.size) }));

  // 2. File systems on the volumes, then on the logical volumes of the PVs found there.
  const mountables: Mountable[] = [];
  const physicalVolumes: Array<{ device: string; pv: LvmPhysicalVolume; reader: ByteReader }> = [];
  const fsContext = (device: string) => ({ warn: (message: string) => warn(`${device}: ${message}`), signal: options.signal });
  const addFileSystem = async (device: string, volume: ByteReader, place: Pick<GuestFileSystem, 'partition' | 'lv'>): Promise<void> => {
    if (mountables.length >= MAX_GUEST_FILE_SYSTEMS) {
      warn(`more than ${MAX_GUEST_FILE_SYSTEMS} file systems: ${device} and the rest are not inspected`);
      return;
    }
    const head = await attempt(device, () => volume.readAvailable(0, SWAP_PAGE_BYTES, 'volume start'));
    if (head === undefined) return;
    if (latin1Text(head.subarray(0, 6)) === LUKS_MAGIC) {
      warn(`${device} is encrypted (LUKS): not inspected`);
      return;
    }
    const swap = swapArea(head);
    if (swap !== undefined) {
      mountables.push({ entry: { device, ...place, type: 'swap', ...swap, role: 'swap' } });
      return;
    }
    for (const module of modules) {
      if (!(await attempt(`${device} (${module.name} probe)`, () => module.probe(volume)))) continue;
      const fs = await attempt(device, () => module.open(volume, fsContext(device)));
      if (fs === undefined) {
        mountables.push({ entry: { device, ...place, type: module.name } });
        return;
      }
      mountables.push({ entry: { device, ...place, ...fs.info }, fs });
      if (fs.info.type === 'btrfs') await addSubvolumes(device, fs as BtrfsFileSystem, place);
      return;
    }
    mountables.push({ entry: { device, ...place, type: 'unknown' } });
  };
  const addSubvolumes = async (device: string, fs: BtrfsFileSystem, place: Pick<GuestFileSystem, 'partition' | 'lv'>): Promise<void> => {
    const listed = await attempt(`${device} (subvolumes)`, () => fs.subvolumes(MAX_BTRFS_SUBVOLUMES_INSPECTED + 1));
    const others = (listed ?? []).filter((subvolume) => subvolume.id !== fs.details.defaultSubvolumeId);
    if (others.length > MAX_BTRFS_SUBVOLUMES_INSPECTED) warn(`${device}: more than ${MAX_BTRFS_SUBVOLUMES_INSPECTED} subvolumes; the first ${MAX_BTRFS_SUBVOLUMES_INSPECTED} are inspected`);
    for (const subvolume of others.slice(0, MAX_BTRFS_SUBVOLUMES_INSPECTED)) {
      if (mountables.length >= MAX_GUEST_FILE_SYSTEMS) return;
      const view = await attempt(`${device} subvolume ${subvolume.path}`, () => fs.openSubvolume({ id: subvolume.id }));
      if (view === undefined) continue;
      mountables.push({ entry: { device: `btrfsvol:${device}/${subvolume.path}`, ...place, subvolume: subvolume.path, ...fs.info }, fs: view });
    }
  };
  for (const volume of volumes) {
    const isPv = await attempt(`${volume.device} (lvm2 probe)`, () => probeLvm(volume.reader));
    if (isPv === true) {
      const pv = await attempt(volume.device, () => readLvmPhysicalVolume(volume.reader, { warn: (message) => warn(`${volume.device}: ${message}`) }));
      if (pv !== undefined) physicalVolumes.push({ device: volume.device, pv, reader: volume.reader });
      continue;
    }
    await addFileSystem(volume.device, volume.reader, volume.partition === undefined ? {} : { partition: volume.partition });
  }
  const volumeGroups = collectVolumeGroups(physicalVolumes);
  let logicalVolumesProbed = 0;
  for (const group of volumeGroups) {
    for (const lv of group.logicalVolumes) {
      if (!lv.readable) {
        warn(`${lv.device}: not readable from this disk (${lv.reason ?? 'unsupported layout'})`);
        continue;
      }
      if (logicalVolumesProbed >= MAX_GUEST_LOGICAL_VOLUMES) {
        warn(`more than ${MAX_GUEST_LOGICAL_VOLUMES} logical volumes: ${lv.device} and the rest are not inspected`);
        break;
      }
      logicalVolumesProbed += 1;
      const source = physicalVolumes.find((candidate) => candidate.pv.volumeGroup?.uuid === group.uuid && candidate.pv.volumeGroup.logicalVolumes.some((entry) => entry.name === lv.name && entry.readable));
      if (source === undefined) continue;
      const view = await attempt(lv.device, async () => openLogicalVolume(source.reader, source.pv, lv.name));
      if (view !== undefined) await addFileSystem(lv.device, view, { lv: `${group.name}/${lv.name}` });
    }
  }

  // 3. Roles and identification.
  const devices = fstabDevices(mountables, partitioning.partitions, volumeGroups);
  const mbrSignature = partitioning.table?.scheme === 'mbr' ? partitioning.table.diskSignature.replace(/^0x/, '').padStart(8, '0').toLowerCase() : undefined;
  for (const mountable of mountables) {
    if (mountable.fs === undefined) continue;
    const files = new GuestFiles(mountable.fs, mountable.entry.device, { warn, mustStop });
    mountable.classification = await attempt(mountable.entry.device, () =>
      classifyFileSystem(files, {
        warn,
        devices: { ...devices, root: mountable.entry.device },
        partitions: partitioning.partitions,
        ...(mbrSignature === undefined ? {} : { mbrDiskSignature: mbrSignature }),
      }),
    );
    if (mountable.classification !== undefined) mountable.entry.role = mountable.classification.role;
  }

  // 4. libguestfs's clean-ups of the list of roots.
  const inspected = mountables.filter((mountable): mountable is Mountable & { classification: Classification } => mountable.classification !== undefined);
  mergeCoreos(inspected);
  const roots = dropBtrfsSnapshotsOfRoots(inspected.filter((mountable) => mountable.classification.role === 'root'));
  for (const root of roots) mergeSeparateUsr(root, inspected);
  const operatingSystems: GuestOs[] = [];
  for (const root of roots) operatingSystems.push(await describeOs(root, { warn, mustStop }));

  // 5. Firmware and the EFI system partition.
  const firmware = firmwareOfPartitioning(partitioning);
  let efiSystemPartition: EfiSystemPartitionContents | undefined;
  for (const number of efiSystemPartitions(partitioning)) {
    const esp = mountables.find((mountable) => mountable.entry.partition === number && mountable.entry.lv === undefined && mountable.fs !== undefined && mountable.entry.type === 'vfat');
    if (esp?.fs === undefined) continue;
    efiSystemPartition = await attempt(`${esp.entry.device} (EFI system partition)`, () => readEfiSystemPartition(new GuestFiles(esp.fs as FileSystem, esp.entry.device, { warn, mustStop })));
    if (efiSystemPartition !== undefined) break;
  }

  return {
    firmware: firmware.firmware,
    firmwareReason: firmware.reason,
    ...(efiSystemPartition === undefined ? {} : { efiSystemPartition }),
    ...(partitioning.scheme === undefined ? {} : { partitionTable: partitioning.scheme }),
    partitions: partitioning.partitions,
    ...(volumeGroups.length === 0 ? {} : { volumeGroups }),
    filesystems: mountables.map((mountable) => mountable.entry),
    ...(operatingSystems[0] === undefined ? {} : { os: operatingSystems[0] }),
    ...(operatingSystems.length > 1 ? { otherOperatingSystems: operatingSystems.slice(1) } : {}),
    bytesRead: guest.bytesRead(),
    warnings,
  };
}

/** The volume groups of the PVs found, each once, with their logical volumes (`/dev/VG/LV`). */
function collectVolumeGroups(physicalVolumes: ReadonlyArray<{ device: string; pv: LvmPhysicalVolume }>): GuestVolumeGroup[] {
  const groups = new Map<string, GuestVolumeGroup>();
  for (const { device, pv } of physicalVolumes) {
    const group = pv.volumeGroup;
    if (group === undefined) continue;
    let entry = groups.get(group.uuid);
    if (entry === undefined) {
      entry = {
        name: group.name,
        uuid: group.uuid,
        physicalVolumes: [],
        logicalVolumes: group.logicalVolumes.filter((lv) => lv.visible).map((lv) => ({ name: lv.name, device: lv.path, uuid: lv.uuid, size: lv.size, readable: false, ...(lv.unreadableReason === undefined ? {} : { reason: lv.unreadableReason }) })),
      };
      groups.set(group.uuid, entry);
    }
    entry.physicalVolumes.push(device);
    // An LV is readable when it lies whole on one of the PVs found.
    for (const lv of entry.logicalVolumes) {
      const here = group.logicalVolumes.find((candidate) => candidate.name === lv.name);
      if (here?.readable === true) {
        lv.readable = true;
        delete lv.reason;
      }
    }
  }
  return [...groups.values()];
}

/** What fstab entries resolve against: the file systems, partitions and logical volumes found. */
function fstabDevices(mountables: readonly Mountable[], partitions: readonly GuestPartition[], groups: readonly GuestVolumeGroup[]): Omit<FstabDevices, 'root'> {
  // `blkid -U` and `-L` name devices, not subvolumes.
  const devices = mountables.filter((mountable) => mountable.entry.subvolume === undefined).map((mountable) => mountable.entry);
  const lvByName = (vg: string, lv: string) => groups.find((group) => group.name === vg)?.logicalVolumes.find((entry) => entry.name === lv)?.device;
  return {
    byUuid: (uuid) => devices.find((entry) => entry.uuid === uuid)?.device,
    byLabel: (label) => devices.find((entry) => entry.label === label)?.device,
    byPartUuid: (uuid) => partitions.find((partition) => partition.partUuid === uuid.toLowerCase())?.device,
    byPartLabel: (label) => partitions.find((partition) => partition.name === label)?.device,
    hasPartition: (number) => partitions.some((partition) => partition.number === number),
    logicalVolume: lvByName,
    logicalVolumeByUuids: (vgUuid, lvUuid) => {
      const bare = (uuid: string) => uuid.replaceAll('-', '');
      return groups.find((group) => bare(group.uuid) === vgUuid)?.logicalVolumes.find((lv) => bare(lv.uuid) === lvUuid)?.device;
    },
  };
}

/** `collect_coreos_inspection_info`: the newest CoreOS `/usr` merged into the CoreOS root. */
function mergeCoreos(inspected: ReadonlyArray<Mountable & { classification: Classification }>): void {
  const coreosRoots = inspected.filter((mountable) => mountable.classification.role === 'root' && mountable.classification.data.distro === 'coreos');
  const coreosUsrs = inspected.filter((mountable) => mountable.classification.role === 'usr' && mountable.classification.data.distro === 'coreos');
  const root = coreosRoots[0];
  if (coreosRoots.length !== 1 || root === undefined || coreosUsrs.length === 0) return;
  const version = (mountable: Mountable & { classification: Classification }) => mountable.classification.data.version ?? { major: 0, minor: 0 };
  const newest = [...coreosUsrs].sort((a, b) => version(b).major - version(a).major || version(b).minor - version(a).minor)[0];
  if (newest !== undefined) mergeInspectionData(newest.classification.data, root.classification.data);
}

/** `check_for_duplicated_btrfs_snapshots_of_root`: a subvolume root that repeats its device's root (same type, distro, product, version) is a snapshot. */
function dropBtrfsSnapshotsOfRoots<T extends Mountable & { classification: Classification }>(roots: readonly T[]): T[] {
  return roots.filter((root) => {
    if (root.entry.subvolume === undefined || root.entry.type !== 'btrfs') return true;
    const device = root.entry.device.slice('btrfsvol:'.length, root.entry.device.length - root.entry.subvolume.length - 1);
    const a = root.classification.data;
    return !roots.some((other) => {
      if (other.entry.device !== device || other.entry.type !== 'btrfs') return false;
      const b = other.classification.data;
      return a.osType === b.osType && a.distro === b.distro && a.productName === b.productName && a.version?.major === b.version?.major && a.version?.minor === b.version?.minor;
    });
  });
}

/** `collect_linux_inspection_info_for`: a `/usr` file system named in the root's fstab fills what the root lacks. */
function mergeSeparateUsr(root: Mountable & { classification: Classification }, inspected: ReadonlyArray<Mountable & { classification: Classification }>): void {
  if (root.classification.data.distro === 'coreos') return;
  const fstabDevicesOfRoot = root.classification.data.fstab.map((entry) => entry.device);
  const usr = inspected.find((mountable) => mountable.classification.role === 'usr' && fstabDevicesOfRoot.includes(mountable.entry.device));
  if (usr !== undefined) mergeInspectionData(usr.classification.data, root.classification.data);
}

/** The public description of one root. */
async function describeOs(root: Mountable & { classification: Classification }, context: GuestFilesContext): Promise<GuestOs> {
  const data: InspectionData = root.classification.data;
  const major = data.version?.major ?? 0;
  const minor = data.version?.minor ?? 0;
  let hasDnf = false;
  if (data.distro === 'fedora' && major >= 22 && root.fs !== undefined) {
    hasDnf = await new GuestFiles(root.fs, root.entry.device, context).isFile('/usr/bin/dnf', true);
  }
  const osinfo = osinfoOf(data.osType, data.distro, major, minor, data.productName, data.productVariant, data.buildId);
  const packageFormat = packageFormatOf(data.distro);
  const packageManagement = packageManagementOf(data.distro, major, hasDnf);
  const mountpoints = data.fstab.length === 0 ? [{ path: '/', device: root.entry.device }] : data.fstab.filter((entry) => entry.mountpoint.startsWith('/')).map((entry) => ({ path: entry.mountpoint, device: entry.device }));
  return {
    type: data.osType ?? 'linux',
    ...(data.distro === undefined ? {} : { distro: data.distro }),
    ...(data.version === undefined ? {} : { version: data.version.text, major: data.version.major, minor: data.version.minor }),
    ...(data.productName === undefined ? {} : { productName: data.productName }),
    ...(data.productVariant === undefined ? {} : { productVariant: data.productVariant }),
    ...(data.arch === undefined ? {} : { arch: data.arch }),
    ...(data.hostname === undefined ? {} : { hostname: data.hostname }),
    ...(data.buildId === undefined ? {} : { buildId: data.buildId }),
    ...(osinfo === undefined ? {} : { osinfo }),
    ...(packageFormat === undefined ? {} : { packageFormat }),
    ...(packageManagement === undefined ? {} : { packageManagement }),
    root: root.entry.device,
    mountpoints,
    ...(data.windowsSystemRoot === undefined
      ? {}
      : {
          windows: {
            systemRoot: data.windowsSystemRoot,
            ...(data.windowsSoftwareHive === undefined ? {} : { softwareHive: data.windowsSoftwareHive }),
            ...(data.windowsSystemHive === undefined ? {} : { systemHive: data.windowsSystemHive }),
            ...(data.windowsCurrentControlSet === undefined ? {} : { currentControlSet: data.windowsCurrentControlSet }),
            driveMappings: data.driveMappings,
          },
        }),
  };
}
