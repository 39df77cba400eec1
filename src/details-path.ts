/**
 * Reading a {@link DetailsPath} (`a.b`, `list[]`, `list[key=value].field`) out of a
 * module's details: how the core finds the file names a module declares as data.
 *
 * @module
 */
import { fieldError } from './errors.js';
import type { DetailsPath } from './format-module.js';

const STEP = /^([A-Za-z0-9_$]+)(?:\[(?:([A-Za-z0-9_$]+)=([^\]]*))?\])?$/;

/** Every value at `path` in `details`, in order (none where a step is missing). */
export function valuesAt(details: unknown, path: DetailsPath): unknown[] {
  let current: unknown[] = [details];
  for (const step of path.split('.')) {
    const match = STEP.exec(step);
    // A module's declaration is wrong: our bug, not the image's.
    if (match === null) throw fieldError('INTERNAL', 'references', `"${path}" is not a details path`);
    const [, field, key, value] = match as unknown as [string, string, string | undefined, string | undefined];
    const next: unknown[] = [];
    for (const item of current) {
      if (typeof item !== 'object' || item === null) continue;
      const child = (item as Record<string, unknown>)[field];
      if (child === undefined) continue;
      if (!step.endsWith(']')) {
        next.push(child);
      } else if (Array.isArray(child)) {
        for (const element of child) {
          if (key === undefined || (typeof element === 'object' && element !== null && String((element as Record<string, unknown>)[key]) === value)) next.push(element);
        }
      }
    }
    current = next;
  }
  return current;
}

/** The first string at `path`, if any. */
export function stringAt(details: unknown, path: DetailsPath): string | undefined {
  return valuesAt(details, path).find((value): value is string => typeof value === 'string');
}
