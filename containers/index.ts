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
import { ova } from './ova.js';
import { tar } from './tar.js';

export { ova, type OvaExtra, type OvaLayer, type OvfInfo } from './ova.js';
export { tar, type TarLayer } from './tar.js';

/** Every built-in container module. */
export const allContainers = [ova, tar] as const;

/** The union of the built-in container modules. */
export type BuiltinContainer = (typeof allContainers)[number];
