/**
 * Every built-in container module, in order of preference when several match (an OVA is a
 * tar: `ova` comes before `tar`).
 *
 * Registration is this list and nothing else: importing a container module has no side
 * effect, and a bundle that lists none (`image-introspect/core` without `containers`)
 * pays nothing for them.
 *
 * @module
 */
import { bzip2 } from './bzip2.js';
import { gzip } from './gzip.js';
import { ova } from './ova.js';
import { tar } from './tar.js';
import { xz } from './xz.js';
import { zip } from './zip.js';
import { zstd } from './zstd.js';

export { bzip2, type Bzip2Layer } from './bzip2.js';
export { gzip, type GzipLayer } from './gzip.js';
export { ova, type OvaExtra, type OvaLayer, type OvfInfo } from './ova.js';
export type { CompressedLayer } from './shared/compression.js';
export type { ArchiveEntry } from './shared/members.js';
export { tar, type TarLayer } from './tar.js';
export { xz, type XzLayer } from './xz.js';
export { zip, type ZipLayer } from './zip.js';
export { zstd, type ZstdLayer } from './zstd.js';

/** Every built-in container module. */
export const allContainers = [gzip, xz, zstd, bzip2, zip, ova, tar] as const;

/** The union of the built-in container modules. */
export type BuiltinContainer = (typeof allContainers)[number];
