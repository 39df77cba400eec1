/**
 * The result of an introspection.
 *
 * @module
 */
import type { AnyFormatModule, FormatModule } from './format-module.js';
import type { SafetyVerdict } from './safety.js';
import type { GuestResult } from './guest-inspection.js';

/**
 * What `introspect` found, for a format named `Name` whose metadata is `Details`.
 *
 * | field | meaning |
 * | --- | --- |
 * | `format` | the format's name: `'vmdk'`, `'qcow2'`, `'vhd'`, ..., `'raw'` when nothing else matched |
 * | `virtualSize` | the disk's size in bytes as a hypervisor sees it (`qemu-img info`'s `virtual-size`); rounded to the nearest number above 2^53 |
 * | `virtualSizeExact` | only for sizes above 2^53 (2^53 bytes is 8 PiB; qemu opens larger qcow2 images): the exact size as a decimal string |
 * | `details` | the format's typed metadata |
 * | `warnings` | soft problems found while reading (the result is still usable) |
 * | `bytesRead` | bytes taken from the source |
 * | `matchedFormats` | every format whose signature matched, in the order considered (more than one is suspicious) |
 * | `safety` | the safety verdict: every check that applies, passed or not, with reasons (a layer's own checks included) |
 * | `containers` | the layers around the disk (compression, archives, an OVA), outermost first; absent for a bare image |
 * | `disks` | every disk, in order, when a layer holds more than one (`info` itself describes the first) |
 * | `filename` | the file or URL read, for an image found through another (a backing file), and for the top image when `backingChain` was asked for |
 * | `backingChain` | with `backingChain: true`, the backing images, nearest first (`qemu-img info --backing-chain` without the top image) |
 * | `guest` | with the `inspectGuest` option: what is inside the guest (`GuestInfo`), or `{ unavailable: reason }` |
 */
export interface ImageInfoOf<Name extends string, Details> {
  format: Name;
  virtualSize: number;
  virtualSizeExact?: string;
  details: Details;
  warnings: string[];
  bytesRead: number;
  matchedFormats: string[];
  safety: SafetyVerdict;
  containers?: ContainerLayer[];
  disks?: ImageInfoOf<Name, Details>[];
  filename?: string;
  backingChain?: ImageInfoOf<string, unknown>[];
  guest?: GuestResult;
}

/**
 * One layer around a disk: its container's name, the member that holds the disk (for an
 * archive), and what else the layer knows (sizes, entries...; see each container module).
 */
export interface ContainerLayer {
  format: string;
  member?: string;
  [field: string]: unknown;
}

/** The {@link ImageInfoOf} a format module produces. */
export type InfoFor<Module> = Module extends FormatModule<infer Name, infer Details, any, any> ? ImageInfoOf<Name, Details> : never;

/** The result for any of the given modules. */
export type InfoForAny<Modules extends AnyFormatModule> = InfoFor<Modules>;
