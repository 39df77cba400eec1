/**
 * Every built-in format module, in order of preference when several match.
 *
 * Registration is this list and nothing else: importing a format module has no side
 * effect. To add a format, write `formats/<name>.ts` exporting a `FormatModule`
 * and add it here (before `raw`, which must stay last as the fallback).
 *
 * @module
 */
import { raw } from './raw.js';
import { vmdk } from './vmdk.js';

export { raw, type RawDetails } from './raw.js';
export { vmdk, type VmdkDetails, type VmdkExtent } from './vmdk.js';

/** Every built-in format module. */
export const allFormats = [vmdk, raw] as const;

/** The union of the built-in format modules. */
export type BuiltinFormat = (typeof allFormats)[number];
