/**
 * Every built-in format module, in order of preference when several match.
 *
 * Registration is this list and nothing else: importing a format module has no side
 * effect. To add a format, write `formats/<name>.ts` exporting a `FormatModule`
 * and add it here (before `raw`, which must stay last as the fallback).
 *
 * @module
 */
import { bochs } from './bochs.js';
import { cloop } from './cloop.js';
import { dmg } from './dmg.js';
import { iso } from './iso.js';
import { luks } from './luks.js';
import { parallels } from './parallels.js';
import { qcow } from './qcow.js';
import { qcow2 } from './qcow2.js';
import { qed } from './qed.js';
import { raw } from './raw.js';
import { vdi } from './vdi.js';
import { vhd } from './vhd.js';
import { vhdx } from './vhdx.js';
import { vmdk } from './vmdk.js';

export { bochs, type BochsDetails } from './bochs.js';
export { cloop, type CloopDetails } from './cloop.js';
export { dmg, type DmgChecksum, type DmgDetails, type DmgPartition } from './dmg.js';
export { iso, type IsoDetails } from './iso.js';
export { luks, type LuksDetails, type LuksKeySlot, type LuksSegment } from './luks.js';
export { parallels, type ParallelsDetails } from './parallels.js';
export { qcow, type QcowDetails } from './qcow.js';
export { qcow2, type Qcow2Bitmap, type Qcow2Details, type Qcow2FeatureName, type Qcow2HeaderExtension, type Qcow2Snapshot } from './qcow2.js';
export { qed, type QedDetails } from './qed.js';
export { raw, type RawDetails } from './raw.js';
export type { PartitionTable } from './partitions/index.js';
export { vdi, type VdiDetails, type VdiGeometry, type VdiImageType } from './vdi.js';
export { vhd, type VhdDetails, type VhdGeometry, type VhdParentLocator } from './vhd.js';
export {
  vhdx,
  type VhdxDetails,
  type VhdxHeaderState,
  type VhdxMetadataItem,
  type VhdxParentLocator,
  type VhdxParentLocatorEntry,
  type VhdxRegion,
} from './vhdx.js';
export { DEFAULT_VMDK_ALLOWED_TYPES, vmdk, type VmdkDetails, type VmdkExtent, type VmdkFooter, type VmdkOptions } from './vmdk.js';

/** Every built-in format module. */
export const allFormats = [qcow2, qcow, qed, vmdk, vhdx, vhd, vdi, parallels, luks, bochs, cloop, iso, dmg, raw] as const;

/** Default for the `bannedFormats` option with the built-in formats: every module banned by default (QED). */
export const DEFAULT_BANNED_FORMATS: readonly string[] = allFormats.filter((format) => 'bannedByDefault' in format && format.bannedByDefault === true).map((format) => format.name);

/** The union of the built-in format modules. */
export type BuiltinFormat = (typeof allFormats)[number];
