/**
 * One conformance loop, driven by the registry: for every registered format module
 * (`formats/index.ts`) and every committed fixture in `test/fixtures/<format>/*.gz` (made
 * by `scripts/make-fixtures.sh`, with `qemu-img info --output=json` recorded beside each):
 *
 * 1. the result agrees with qemu-img's recorded answer, through the format's table in
 *    `test/conformance/` (or, where qemu-img refused the image, we do what the table says);
 *    the result is JSON-safe;
 * 2. every kind of source, random hostile chunkings, and random budgets (`maxBufferBytes`,
 *    `probeBytes`) from random kinds of source give the same answer, the verdict included,
 *    or, for a budget too small to decide, `LIMIT_EXCEEDED` (issue 9).
 *
 * Containers (`containers/index.ts`) go through the same loop with their fixtures in
 * `test/fixtures/<container>/`: qemu-img has no driver for them and reads each as raw; we
 * must name the layer and answer the same from every source.
 *
 * A format added to the registry is in the loop without an edit here; the registry test
 * (`test/registry.test.ts`) fails until it has fixtures, and the type of
 * `test/conformance/index.ts` until it has a table. Per-format test files keep what is
 * specific to their format.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { allContainers } from '../containers/index.js';
import { allFormats } from '../formats/index.js';
import type { AnyFormatModule } from '../src/index.js';
import { correspondences } from './conformance/index.js';
import { type Fixture, fixtures } from './helpers/fixtures.js';
import { type Correspondence, expectAgreesWithQemu, expectRefusalDocumented, type AnyInfo } from './helpers/qemu-correspondence.js';
import { answerOf, itGivesTheSameAnswerFromEverySource } from './helpers/source-independence.js';

/**
 * Runs per fixture: every source kind once, then this many random chunkings and random
 * budgets. The per-format files ran 15 to 25 chunkings each; the budget property draws a
 * random kind of source too, so together they cover more ways of asking in fewer runs.
 */
const RUNS = { chunkings: 6, budgets: 8 };

const tables = correspondences as unknown as Readonly<Record<string, Correspondence<AnyInfo>>>;

/** A fixture's bytes, decompressed when its tests run and dropped after them: the loop holds one fixture at a time. */
function lazily(fixture: Fixture): () => Uint8Array {
  let bytes: Uint8Array | undefined;
  afterAll(() => {
    bytes = undefined;
  });
  return () => {
    bytes ??= fixture.bytes();
    return bytes;
  };
}

// A format without fixtures has no suite here (the registry test says it lacks them).
for (const module of (allFormats as readonly AnyFormatModule[]).filter((format) => fixtures(format.name).length > 0)) {
  const table = tables[module.name];
  describe(`${module.name} fixtures`, () => {
    for (const fixture of fixtures(module.name)) {
      describe(fixture.name, () => {
        const load = lazily(fixture);
        const refused = Object.keys(fixture.qemu).length === 0;

        it(refused ? 'is refused by qemu-img; we do what the table says instead' : 'agrees with qemu-img info', async () => {
          expect(table, `no table for ${module.name} in test/conformance/`).toBeDefined();
          const image = { name: fixture.name, length: load().byteLength };
          const answer = await answerOf(load());
          if (refused) {
            const outcome: { info: AnyInfo } | { error: { code: string; format: string | undefined; field: string | undefined } } =
              'result' in answer ? { info: answer.result as AnyInfo } : { error: answer.error };
            expectRefusalDocumented(outcome, image, table as Correspondence<AnyInfo>);
            if ('info' in outcome) expect(outcome.info.format).toBe(module.name);
            else expect(outcome.error.format).toBe(module.name);
            return;
          }
          expect(answer, 'qemu-img opened it; we must too').toHaveProperty('result');
          const info = (answer as { result: AnyInfo }).result;
          expect(info.format, 'the fixture folder names the format').toBe(module.name);
          expect(JSON.parse(JSON.stringify(info)), 'JSON-safe (no bigint, no undefined in lists)').toEqual(info);
          expectAgreesWithQemu(info, fixture.qemu, image, table as Correspondence<AnyInfo>, module);
          expect(table?.refused?.[fixture.name], 'the table lists it as refused, but qemu-img opened it').toBeUndefined();
        });

        itGivesTheSameAnswerFromEverySource(load, RUNS);
      });
    }
  });
}

// A container without fixtures has no suite here (the registry test says it lacks them).
for (const module of allContainers.filter((container) => fixtures(container.name).length > 0)) {
  describe(`${module.name} fixtures (a container)`, () => {
    for (const fixture of fixtures(module.name)) {
      describe(fixture.name, () => {
        const load = lazily(fixture);
        const options = { containers: allContainers };

        it('is the layer we name; qemu-img reads it as raw', async () => {
          const answer = await answerOf(load(), options);
          expect(answer, 'we read what is inside').toHaveProperty('result');
          const info = (answer as { result: AnyInfo }).result;
          expect(info.containers?.[0]?.format).toBe(module.name);
          if (Object.keys(fixture.qemu).length > 0) expect(fixture.qemu).toMatchObject({ format: 'raw', 'virtual-size': Math.ceil(load().byteLength / 512) * 512 });
        });

        itGivesTheSameAnswerFromEverySource(load, RUNS, options);
      });
    }
  });
}
