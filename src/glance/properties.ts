/**
 * `glanceProperties(info)`: the properties to create a Glance image with, from what the
 * bytes say. Each format module declares its Glance name and its properties (its `glance`
 * field); the layers around the disk and an OVF descriptor add theirs here. See
 * `docs/glance.md` for every property and its source.
 *
 * Browser-safe.
 *
 * @module
 */
import type { AnyContainerModule } from '../container-module.js';
import { allContainers, allFormats } from '../defaults.js';
import type { AnyFormatModule } from '../format-module.js';
import type { GlanceProperties, GlancePropertyContext, OsDistroVocabulary } from './declaration.js';
import { type GuestFacts, guestProperties } from './guest-properties.js';
import { CIM_OS_TYPES, CIM_PASD_TAGS, CIM_PASD_VALUES, VMWARE_GUEST_IDS, containerFormatOf } from './vocabulary.js';

/** Bytes in a GiB, the unit of `min_disk`. */
const GIB = 1024 * 1024 * 1024;

/** Options for {@link glanceProperties}. */
export interface GlancePropertiesOptions {
  /** The vocabulary of `os_distro`; default `glance`. */
  osDistro?: OsDistroVocabulary;
  /** The format modules whose `glance` declarations apply; default every built-in format. */
  formats?: readonly AnyFormatModule[];
  /** The container modules whose `glance` declarations apply (`container_format`); default every built-in container. */
  containers?: readonly AnyContainerModule[];
}

/**
 * The parts of an OVF descriptor (`info.ovf`, from the OVA container) this module reads.
 *
 * | field | property |
 * | --- | --- |
 * | `operatingSystem.id` | `os_type`, through the CIM `OSType` value map |
 * | `operatingSystem.osType` | `vmware_ostype`, when it is a guest id Glance's metadef lists |
 * | `firmware` | `hw_firmware_type` (`efi` → `uefi`, `bios` → `bios`) |
 * | `cimPasd` | `cim_pasd_<Tag>` for the tags Glance's `ovf_process` copies, when the value is legal |
 */
export interface OvfFacts {
  operatingSystem?: { id: number; description?: string; osType?: string } | undefined;
  firmware?: 'bios' | 'efi' | undefined;
  /** `CIM_ProcessorAllocationSettingData` elements by tag name, as written in the descriptor. */
  cimPasd?: Record<string, string | readonly string[]> | undefined;
}

/** What {@link glanceProperties} reads from an introspection result. */
export interface GlancePropertiesInput {
  format: string;
  virtualSize: number;
  details: unknown;
  /** The layers around the disk, outermost first (absent for a bare image). */
  containers?: ReadonlyArray<{ format: string }> | undefined;
  /** The OVF descriptor of an OVA. */
  ovf?: OvfFacts | undefined;
  /** The guest, as the `inspectGuest` option found it. */
  guest?: GuestFacts | undefined;
}

/**
 * The properties to create a Glance image with (`POST /v2/images`), from what the bytes say:
 *
 * | property | from |
 * | --- | --- |
 * | `disk_format` | the format, in Glance's names (`vhd` for qemu's `vpc`, `ploop` for Parallels); absent where Glance has no name for it |
 * | `container_format` | `bare`, or `ova`/`compressed` from the layers around the disk |
 * | `min_disk` | the virtual size in GiB, rounded up |
 * | `vmware_disktype`, `vmware_adaptertype` | a VMDK's `createType` and `ddb.adapterType` |
 * | `hw_firmware_type` | a raw disk's partition table, an ISO's El Torito catalog, an OVF's firmware |
 * | `os_type`, `os_distro`, `os_version`, `architecture` | an installer ISO's volume id |
 * | `os_type`, `vmware_ostype`, `cim_pasd_*` | an OVF's operating system and processor sections |
 * | `os_type`, `os_distro`, `os_version`, `architecture`, `hw_firmware_type` | the inspected guest (`info.guest`, see `guest-properties.ts`); it speaks last, being read from the installed system itself |
 *
 * Nothing is guessed: a property is present only where the bytes say so. `virtual_size` is
 * Glance's to compute and is never set.
 */
export function glanceProperties(info: GlancePropertiesInput, options: GlancePropertiesOptions = {}): GlanceProperties {
  const context: GlancePropertyContext = { osDistro: options.osDistro ?? 'glance' };
  const formats = options.formats ?? (allFormats as readonly AnyFormatModule[]);
  const module = formats.find((candidate) => candidate.name === info.format);
  const declaration = module?.glance;
  const properties: GlanceProperties = {};
  if (declaration?.diskFormat) properties.disk_format = declaration.diskFormat;
  properties.container_format = containerFormatOf(info.containers, options.containers ?? (allContainers as readonly AnyContainerModule[]));
  if (Number.isSafeInteger(info.virtualSize) && info.virtualSize >= 0) properties.min_disk = Math.ceil(info.virtualSize / GIB);
  Object.assign(properties, declaration?.properties?.(info.details, context));
  if (info.ovf !== undefined) Object.assign(properties, ovfProperties(info.ovf));
  Object.assign(properties, guestProperties(info.guest, context));
  return properties;
}

/** The properties an OVF descriptor proves. */
function ovfProperties(ovf: OvfFacts): GlanceProperties {
  const properties: GlanceProperties = {};
  const osId = ovf.operatingSystem?.id;
  const osType = osId === undefined ? undefined : CIM_OS_TYPES.get(osId);
  if (osType !== undefined) properties.os_type = osType;
  const guestId = ovf.operatingSystem?.osType;
  if (guestId !== undefined && VMWARE_GUEST_IDS.has(guestId)) properties.vmware_ostype = guestId;
  if (ovf.firmware === 'efi') properties.hw_firmware_type = 'uefi';
  else if (ovf.firmware === 'bios') properties.hw_firmware_type = 'bios';
  for (const tag of CIM_PASD_TAGS) {
    // `info.ovf.cimPasd` is keyed as Glance names the properties (`cim_pasd_<Tag>`).
    const written = ovf.cimPasd?.[`cim_pasd_${tag}`];
    // Several values for one tag: Glance's own ovf_process keeps the last one, which says
    // nothing about the others; only a single legal value is taken.
    const values = written === undefined ? [] : typeof written === 'string' ? [written] : written;
    const value = values.length === 1 ? values[0]?.trim() : undefined;
    if (value !== undefined && CIM_PASD_VALUES[tag]?.has(value)) properties[`cim_pasd_${tag}`] = value;
  }
  return properties;
}
