/**
 * The firmware a guest boots with, as virt-v2v decides it (`convert/firmware.ml`,
 * `detect_firmware`): UEFI when the disk has a GUID partition table with an EFI system
 * partition and no BIOS boot partition, BIOS otherwise (an MBR disk, a GPT disk with a BIOS
 * boot partition for GRUB, a disk without partitions).
 *
 * What the EFI system partition holds is reported beside it: the fallback loaders
 * `\EFI\BOOT\BOOT*.EFI` (UEFI 2.10 section 3.5.1.1: the name says the architecture,
 * `BOOTX64.EFI`, `BOOTAA64.EFI`, ...) with the architecture their PE header names, and the
 * vendor directories under `\EFI` (`debian`, `fedora`, `Microsoft`, ...).
 *
 * @module
 */
import { GPT_BIOS_BOOT_PARTITION, GPT_EFI_SYSTEM_PARTITION, MBR_EFI_SYSTEM_PARTITION } from '../src/glance/vocabulary.js';
import type { GuestFiles } from './guest-files.js';
import type { GuestPartitioning } from './partitions.js';

/** Most entries of `\EFI` and `\EFI\BOOT` listed. */
export const MAX_ESP_DIRECTORY_ENTRIES = 256;

/** `bios` or `uefi`, and what showed it. */
export interface GuestFirmware {
  firmware: 'bios' | 'uefi';
  /** Why, in words (`GPT with an EFI system partition (/dev/sda1) and no BIOS boot partition`). */
  reason: string;
}

/** virt-v2v's decision from the partition table alone. */
export function firmwareOfPartitioning(partitioning: GuestPartitioning): GuestFirmware {
  if (partitioning.scheme !== 'gpt') {
    return { firmware: 'bios', reason: partitioning.scheme === undefined ? 'no partition table' : `a ${partitioning.scheme} partition table (UEFI needs GPT with an EFI system partition)` };
  }
  const esp = partitioning.partitions.filter((partition) => partition.type === GPT_EFI_SYSTEM_PARTITION);
  const biosBoot = partitioning.partitions.filter((partition) => partition.type === GPT_BIOS_BOOT_PARTITION);
  if (esp.length === 0) return { firmware: 'bios', reason: 'GPT without an EFI system partition' };
  if (biosBoot.length > 0) return { firmware: 'bios', reason: `GPT with a BIOS boot partition (${biosBoot.map((partition) => partition.device).join(', ')}) beside the EFI system partition` };
  return { firmware: 'uefi', reason: `GPT with an EFI system partition (${esp.map((partition) => partition.device).join(', ')}) and no BIOS boot partition` };
}

/** The partitions that are EFI system partitions (GPT type, or MBR type 0xEF). */
export function efiSystemPartitions(partitioning: GuestPartitioning): number[] {
  return partitioning.partitions
    .filter((partition) => partition.type === GPT_EFI_SYSTEM_PARTITION || partition.type === `0x${MBR_EFI_SYSTEM_PARTITION.toString(16)}`)
    .map((partition) => partition.number);
}

/** What an EFI system partition holds. */
export interface EfiSystemPartitionContents {
  device: string;
  /** Fallback boot loaders, `/EFI/BOOT/BOOTX64.EFI`, with the architecture of their PE header. */
  bootLoaders: Array<{ path: string; arch?: string }>;
  /** Directories under `/EFI` other than `BOOT` (the installed systems' loaders). */
  vendors: string[];
}

/** Lists the loaders of an EFI system partition's FAT file system. */
export async function readEfiSystemPartition(files: GuestFiles): Promise<EfiSystemPartitionContents> {
  const fs = files.fs;
  const contents: EfiSystemPartitionContents = { device: files.device, bootLoaders: [], vendors: [] };
  const efi = await files.node('/EFI', true);
  if (efi === undefined || fs.kind(efi) !== 'directory') return contents;
  const entries = await files.soft('/EFI', [], () => fs.list(efi, MAX_ESP_DIRECTORY_ENTRIES));
  for (const entry of entries) if (entry.kind === 'directory' && entry.name.toUpperCase() !== 'BOOT') contents.vendors.push(entry.name);
  const bootName = entries.find((entry) => entry.kind === 'directory' && entry.name.toUpperCase() === 'BOOT')?.name;
  if (bootName === undefined) return contents;
  const boot = await files.node(`/EFI/${bootName}`, true);
  if (boot === undefined) return contents;
  for (const entry of await files.soft(`/EFI/${bootName}`, [], () => fs.list(boot, MAX_ESP_DIRECTORY_ENTRIES))) {
    if (entry.kind !== 'file' || !/^BOOT.*\.EFI$/i.test(entry.name)) continue;
    const path = `/EFI/${bootName}/${entry.name}`;
    const arch = await files.architecture(path);
    contents.bootLoaders.push({ path, ...(arch === undefined ? {} : { arch }) });
  }
  return contents;
}
