/**
 * Every failure the fuzzer ever found (test/regressions/*.bin), forever after: each must
 * end with an ImageInfo or an IntrospectionError other than INTERNAL, from every kind of
 * source, with the guest inspected (`inspectGuest`: the fuzzer's guest seeds are run so;
 * on an input without a guest it costs a few reads).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { introspect, isIntrospectionError } from '../src/index.js';
import { projectRoot } from './helpers/fixtures.js';
import { makeSource, sourceKinds } from './helpers/sources.js';

const folder = join(projectRoot, 'test', 'regressions');
const inputs = readdirSync(folder).filter((file) => file.endsWith('.bin')).sort();

describe.skipIf(inputs.length === 0)(`fuzzer regressions${inputs.length === 0 ? ' (skipped: the fuzzer has found none yet)' : ''}`, () => {
  for (const file of inputs) {
    it(file, async () => {
      const bytes = new Uint8Array(readFileSync(join(folder, file)));
      for (const kind of sourceKinds) {
        const outcome = await introspect(makeSource(kind, bytes), { inspectGuest: true }).catch((error: unknown) => error);
        if (outcome instanceof Error || isIntrospectionError(outcome)) {
          expect(isIntrospectionError(outcome), `${kind}: ${String(outcome)}`).toBe(true);
          expect((outcome as unknown as { code: string }).code, `${kind}: ${String(outcome)}`).not.toBe('INTERNAL');
        } else {
          expect(JSON.parse(JSON.stringify(outcome))).toEqual(outcome);
        }
      }
    });
  }
});
