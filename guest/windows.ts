/**
 * Identifying a Windows system root, as libguestfs's `daemon/inspect_fs_windows.ml` does.
 *
 * | what | where |
 * | --- | --- |
 * | the system root | the first of `/windows`, `/winnt`, `/win32`, `/win`, `/reactos` (any case) holding a `system32` directory, `system32/config` and `system32/cmd.exe`; else the `[operating systems]` entries of `/boot.ini` |
 * | the architecture | the PE header of `system32/cmd.exe` (`executable-arch.ts`) |
 * | product name, version, variant, build | the `SOFTWARE` hive, `Microsoft\Windows NT\CurrentVersion`: `ProductName`; `CurrentMajorVersionNumber` and `CurrentMinorVersionNumber` (Windows 10 on), else `CurrentVersion`; `InstallationType`; `CurrentBuildNumber` |
 * | the current control set | the `SYSTEM` hive, `Select\Current` (`ControlSet001`, ...) |
 * | the hostname | the `SYSTEM` hive, `<control set>\Services\Tcpip\Parameters\Hostname`; where that is missing, `<control set>\Control\ComputerName\ComputerName\ComputerName` (this library's fallback: libguestfs has none) |
 * | drive letters | the `SYSTEM` hive, `MountedDevices`: `\DosDevices\X:` values that name a GPT partition (`DMIO:ID:` and its unique GUID) or an MBR partition (disk signature and byte offset) of the inspected disk |
 *
 * The registry is read only when both hives are regular files (as libguestfs does).
 *
 * @module
 */
import { u32le, u64le } from '../src/bytes.js';
import { RegistryHive, type RegistryKey, registryDword, registryText } from './registry-hive.js';
import type { GuestFiles } from './guest-files.js';
import { type InspectionData, parseVersionFromMajorMinor } from './inspection-data.js';
import type { GuestPartition } from './partitions.js';

/** Where libguestfs looks for the system root, in order. */
export const WINDOWS_SYSTEM_ROOTS: readonly string[] = ['/windows', '/winnt', '/win32', '/win', '/reactos'];
/** Most entries of the root directory listed to find the system root's name as stored (its case). */
export const MAX_ROOT_ENTRIES_LISTED = 4096;
/** Most values of `MountedDevices` read (one per volume and drive letter a system has seen). */
export const MAX_MOUNTED_DEVICES_VALUES = 4096;
/** Largest registry value read as text (product names are a few dozen characters). */
const MAX_REGISTRY_TEXT_BYTES = 64 * 1024;

/** What identifying a Windows root needs besides its files. */
export interface WindowsRootContext {
  warn(message: string): void;
  /** The inspected disk's partitions (for drive letters). */
  partitions: readonly GuestPartition[];
  /** The MBR disk signature as 8 lower-case hex digits, when the disk has an MBR. */
  mbrDiskSignature?: string;
}

/** `is_systemroot`: `system32`, `system32/config` directories and `system32/cmd.exe` (any case). */
async function isSystemRoot(files: GuestFiles, root: string): Promise<boolean> {
  return (await files.isDir(`${root}/system32`)) && (await files.isDir(`${root}/system32/config`)) && (await files.isFile(`${root}/system32/cmd.exe`));
}

const BOOT_INI_OS = /^(multi|scsi)\((\d+)\)disk\((\d+)\)rdisk\((\d+)\)partition\((\d+)\)([^=]+)=/;

/** The system roots `/boot.ini` names (`get_windows_systemroot_from_boot_ini`), with `/` for `\`. */
async function bootIniRoots(files: GuestFiles): Promise<string[]> {
  const lines = await files.readLines('/boot.ini');
  if (lines === undefined) return [];
  const start = lines.findIndex((line) => line.startsWith('[operating systems]'));
  if (start === -1) return [];
  const roots: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('multi(') && !line.startsWith('scsi(')) break;
    const match = BOOT_INI_OS.exec(line);
    if (match !== null) roots.push((match[6] as string).replaceAll('\\', '/'));
  }
  return roots;
}

/** A path's first component as the file system stores it (its case), from a listing of the root. */
async function storedCase(files: GuestFiles, path: string): Promise<string> {
  const [first, ...rest] = path.split('/').filter((part) => part !== '');
  if (first === undefined) return path;
  const root = await files.node('/', false);
  if (root === undefined) return path;
  const entries = await files.soft('/ (listing)', [], () => files.fs.list(root, MAX_ROOT_ENTRIES_LISTED));
  const stored = entries.find((entry) => entry.name.toLowerCase() === first.toLowerCase())?.name ?? first;
  return `/${[stored, ...rest].join('/')}`;
}

/** `get_windows_systemroot`: the system root as stored, or `undefined` when this is not a Windows root. */
export async function windowsSystemRoot(files: GuestFiles): Promise<string | undefined> {
  for (const candidate of WINDOWS_SYSTEM_ROOTS) {
    if (await isSystemRoot(files, candidate)) return storedCase(files, candidate);
  }
  if (!(await files.isFile('/boot.ini'))) return undefined;
  for (const candidate of await bootIniRoots(files)) {
    if (await isSystemRoot(files, candidate)) return storedCase(files, candidate);
  }
  return undefined;
}

/** `check_windows_root`. */
export async function checkWindowsRoot(files: GuestFiles, systemRoot: string, data: InspectionData, context: WindowsRootContext): Promise<void> {
  data.osType = 'windows';
  data.distro = 'windows';
  data.windowsSystemRoot = systemRoot;
  const cmd = `${systemRoot}/system32/cmd.exe`;
  if (await files.isFile(cmd, true)) {
    const arch = await files.architecture(cmd);
    if (arch !== undefined) data.arch = arch;
    else context.warn(`${files.device}: ${systemRoot}/system32/cmd.exe is not a PE executable of a known machine`);
  }
  const software = `${systemRoot}/system32/config/software`;
  const system = `${systemRoot}/system32/config/system`;
  const softwareNode = await files.node(software, false);
  const systemNode = await files.node(system, false);
  if (softwareNode === undefined || files.fs.kind(softwareNode) !== 'file' || systemNode === undefined || files.fs.kind(systemNode) !== 'file') return;
  data.windowsSoftwareHive = `${systemRoot}/system32/config/SOFTWARE`;
  data.windowsSystemHive = `${systemRoot}/system32/config/SYSTEM`;
  await files.soft('SOFTWARE hive', undefined, async () => readSoftwareHive(await openHive(files, softwareNode, context), data, context));
  await files.soft('SYSTEM hive', undefined, async () => readSystemHive(await openHive(files, systemNode, context), data, context));
}

function openHive<Node>(files: GuestFiles<Node>, node: Node, context: WindowsRootContext): Promise<RegistryHive> {
  const reader = files.fs.openFile?.(node);
  const warn = (message: string): void => context.warn(`${files.device}: ${message}`);
  if (reader !== undefined) return RegistryHive.open(reader, { warn });
  return files.fs.readFile(node, files.fs.size(node)).then((bytes) => RegistryHive.open(bytes, { warn }));
}

async function textValue(hive: RegistryHive, key: RegistryKey, name: string, context: WindowsRootContext): Promise<string | undefined> {
  const value = await hive.value(key, name, MAX_REGISTRY_TEXT_BYTES);
  if (value === undefined) return undefined;
  try {
    return registryText(value);
  } catch {
    context.warn(`registry value ${name} is ${value.typeName}, not text: ignored`);
    return undefined;
  }
}

async function dwordValue(hive: RegistryHive, key: RegistryKey, name: string): Promise<number | undefined> {
  const value = await hive.value(key, name, 8);
  if (value === undefined) return undefined;
  try {
    return registryDword(value);
  } catch {
    return undefined;
  }
}

/** `check_windows_software_registry`. */
async function readSoftwareHive(hive: RegistryHive, data: InspectionData, context: WindowsRootContext): Promise<void> {
  const key = await hive.openKey('Microsoft\\Windows NT\\CurrentVersion');
  if (key === undefined) {
    context.warn('the SOFTWARE hive has no Microsoft\\Windows NT\\CurrentVersion');
    return;
  }
  const productName = await textValue(hive, key, 'ProductName', context);
  if (productName !== undefined) data.productName = productName;
  const major = await dwordValue(hive, key, 'CurrentMajorVersionNumber');
  const minor = await dwordValue(hive, key, 'CurrentMinorVersionNumber');
  if (major !== undefined && minor !== undefined) data.version = { major, minor, text: `${major}.${minor}` };
  else {
    const current = await textValue(hive, key, 'CurrentVersion', context);
    if (current !== undefined) parseVersionFromMajorMinor(current, data);
  }
  const variant = await textValue(hive, key, 'InstallationType', context);
  if (variant !== undefined) data.productVariant = variant;
  // CurrentBuild meant something else on Windows XP: CurrentBuildNumber is the build everywhere.
  const build = await textValue(hive, key, 'CurrentBuildNumber', context);
  if (build !== undefined) data.buildId = build;
}

/** `check_windows_system_registry`: drive letters, the current control set, the hostname. */
async function readSystemHive(hive: RegistryHive, data: InspectionData, context: WindowsRootContext): Promise<void> {
  data.driveMappings = await driveMappings(hive, context);
  const select = await hive.openKey('Select');
  const current = select === undefined ? undefined : await dwordValue(hive, select, 'Current');
  if (current === undefined) return;
  const controlSet = `ControlSet${String(current).padStart(3, '0')}`;
  data.windowsCurrentControlSet = controlSet;
  const tcpip = await hive.openKey(`${controlSet}\\Services\\Tcpip\\Parameters`);
  const hostname = tcpip === undefined ? undefined : await textValue(hive, tcpip, 'Hostname', context);
  if (hostname !== undefined) {
    data.hostname = hostname;
    return;
  }
  const computerName = await hive.openKey(`${controlSet}\\Control\\ComputerName\\ComputerName`);
  const name = computerName === undefined ? undefined : await textValue(hive, computerName, 'ComputerName', context);
  if (name !== undefined) data.hostname = name;
}

/** A GUID stored as in `MountedDevices` (little-endian first three fields), lower case. */
function registryGuid(bytes: Uint8Array): string {
  const hex = (from: number, to: number, reverse: boolean): string => {
    const part = [...bytes.subarray(from, to)].map((byte) => byte.toString(16).padStart(2, '0'));
    return (reverse ? part.reverse() : part).join('');
  };
  return `${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10, false)}-${hex(10, 16, false)}`;
}

/** `get_drive_mappings`: `\DosDevices\X:` values mapped to the inspected disk's partitions. */
async function driveMappings(hive: RegistryHive, context: WindowsRootContext): Promise<InspectionData['driveMappings']> {
  const key = await hive.openKey('MountedDevices');
  if (key === undefined) return [];
  const mappings: InspectionData['driveMappings'] = [];
  for (const info of await hive.values(key, MAX_MOUNTED_DEVICES_VALUES)) {
    const match = /^\\dosdevices\\([A-Za-z]):$/i.exec(info.name);
    if (match === null || info.type !== 3) continue;
    const blob = await hive.valueData(info, 1024);
    let device: string | undefined;
    if (blob.byteLength >= 24 && new TextDecoder('latin1').decode(blob.subarray(0, 8)) === 'DMIO:ID:') {
      const guid = registryGuid(blob.subarray(8, 24));
      device = context.partitions.find((partition) => partition.partUuid === guid)?.device;
    } else if (blob.byteLength === 12 && context.mbrDiskSignature !== undefined) {
      const signature = u32le(blob, 0).toString(16).padStart(8, '0');
      const offset = u64le(blob, 4);
      if (signature === context.mbrDiskSignature) device = context.partitions.find((partition) => BigInt(partition.offset) === offset)?.device;
    }
    if (device !== undefined) mappings.push({ drive: (match[1] as string).toUpperCase(), device });
  }
  return mappings;
}
