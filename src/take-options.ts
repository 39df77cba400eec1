/**
 * Taking a wrapper's own options out of an options object before the rest goes to the core,
 * whose validation refuses keys it does not know.
 *
 * @module
 */

/**
 * The values of `keys` in `options` (those given), and a copy of `options` without them.
 * Anything that is not an options object goes through untouched, for the core to refuse.
 */
export function takeOptions<Key extends string, Rest>(options: Rest, keys: readonly Key[]): { taken: Partial<Record<Key, unknown>>; rest: Rest } {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return { taken: {}, rest: options };
  const rest = { ...(options as Record<string, unknown>) };
  const taken: Partial<Record<Key, unknown>> = {};
  for (const key of keys) {
    const value = rest[key];
    delete rest[key];
    if (value !== undefined) taken[key] = value;
  }
  return { taken, rest: rest as Rest };
}
