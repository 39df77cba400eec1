/**
 * The built-in lists as the defaults of the root entry and the Node helpers: every format
 * and every container. This is the one place in `src/` that imports them (`src/core.ts`
 * defaults to none, so that a bundle pays only for what it lists).
 *
 * @module
 */
import { allContainers } from '../containers/index.js';
import { allFormats } from '../formats/index.js';

/**
 * The caller's options with the built-in formats and containers as the defaults (other
 * keys untouched, so that unknown ones are still refused; a non-object goes through to be
 * refused by the option checks).
 */
export function withDefaults<Options>(options: Options): Options & { formats: unknown; containers: unknown } {
  if (options === undefined) return { formats: allFormats, containers: allContainers } as unknown as Options & { formats: unknown; containers: unknown };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return options as Options & { formats: unknown; containers: unknown };
  const given = options as { formats?: unknown; containers?: unknown };
  return { ...options, formats: given.formats ?? allFormats, containers: given.containers ?? allContainers };
}

export { allContainers, allFormats };
