/**
 * How a format module declares itself to OpenStack Glance: the `disk_format` name Glance
 * uses for it, and the image properties its own metadata proves.
 *
 * Browser-safe: types only.
 *
 * @module
 */

/** One Glance image property value: extra properties are strings; `min_disk` is an integer (GiB). */
export type GlancePropertyValue = string | number;

/** Image properties as Glance's `POST /v2/images` takes them. */
export type GlanceProperties = Record<string, GlancePropertyValue>;

/**
 * Glance's `disk_format` values (glance `common/config.py`, `[image_format] disk_formats`
 * default in Glance 25.1).
 */
export type GlanceDiskFormat = 'ami' | 'ari' | 'aki' | 'vhd' | 'vhdx' | 'vmdk' | 'raw' | 'qcow2' | 'vdi' | 'iso' | 'ploop';

/**
 * Glance's `container_format` values (glance `common/config.py`, `[image_format]
 * container_formats` default in Glance 25.1).
 */
export type GlanceContainerFormat = 'ami' | 'ari' | 'aki' | 'bare' | 'ovf' | 'ova' | 'docker' | 'compressed';

/**
 * Which vocabulary `os_distro` is written in.
 *
 * | value | `os_distro` for Ubuntu 22.04 | who reads it |
 * | --- | --- | --- |
 * | `glance` (default) | `ubuntu` (and `os_version` `22.04`) | Glance's documented vocabulary; dashboards (Skyline's icons and filters), image catalogues, simplestreams |
 * | `libosinfo` | `ubuntu22.04` (and `os_version` `22.04`) | Nova's libvirt driver, which looks `os_distro` up as a libosinfo short id to choose disk and NIC models (`nova/virt/osinfo.py`) |
 *
 * With `libosinfo`, media whose ids name no single release (Windows) get no `os_distro`.
 */
export type OsDistroVocabulary = 'glance' | 'libosinfo';

/** What a format module's `glance.properties` is told. */
export interface GlancePropertyContext {
  readonly osDistro: OsDistroVocabulary;
}

/**
 * A format module's `glance` declaration.
 *
 * | field | meaning |
 * | --- | --- |
 * | `diskFormat` | Glance's name for the format (`vhd` for what qemu calls `vpc`, `ploop` for Parallels), or `null` where Glance has none (QED, qcow v1, LUKS, DMG...) |
 * | `properties` | the image properties the format's own metadata proves (a VMDK's `vmware_adaptertype`, an ISO's `hw_firmware_type`); a property is present only where the bytes say so |
 */
export interface GlanceDeclaration<Details> {
  readonly diskFormat: GlanceDiskFormat | null;
  readonly properties?: (details: Details, context: GlancePropertyContext) => GlanceProperties;
}
