/**
 * introspectMany: a bounded pool over a lazily pulled input, observed through instrumented
 * sources (async generators that count themselves while they are open) and instrumented
 * inputs. Nothing here is timed: "slow" means more turns of the event loop.
 */
import { describe, expect, it } from 'vitest';
import { type ImageSource, type IntrospectionError, type ManyResult, introspect, introspectMany } from '../src/index.js';
import { fixtureBytes } from './helpers/fixtures.js';

const qcow2 = fixtureBytes('qcow2', 'v3-empty.qcow2');
const vmdk = fixtureBytes('vmdk', 'stream.vmdk');

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Lets a source that was told to stop finish stopping: an async generator asked to return
 * while it awaits returns when that await is over (a few turns of the event loop here).
 */
async function settled(condition: () => boolean): Promise<boolean> {
  for (let turns = 0; turns < 1000 && !condition(); turns += 1) await turn();
  return condition();
}

/** Sources that record how many are open at once, and whether each was released. */
class Instrumented {
  open = 0;
  mostOpen = 0;
  released = 0;

  /** The bytes in 4 KiB chunks, `delay` event-loop turns before each. */
  source(bytes: Uint8Array, delay = 1): AsyncIterable<Uint8Array> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        self.open += 1;
        self.mostOpen = Math.max(self.mostOpen, self.open);
        try {
          for (let offset = 0; offset < bytes.byteLength; offset += 4096) {
            for (let wait = 0; wait < delay; wait += 1) await turn();
            yield bytes.subarray(offset, offset + 4096);
          }
        } finally {
          self.open -= 1;
          self.released += 1;
        }
      },
    };
  }
}

async function collect<Info, Item>(results: AsyncIterable<ManyResult<Info, Item>>): Promise<Array<ManyResult<Info, Item>>> {
  const all: Array<ManyResult<Info, Item>> = [];
  for await (const result of results) all.push(result);
  return all;
}

async function rejection(promise: Promise<unknown>): Promise<IntrospectionError> {
  try {
    await promise;
  } catch (error) {
    return error as IntrospectionError;
  }
  throw new Error('expected a rejection');
}

describe('introspectMany', () => {
  it('never has more than `concurrency` sources open, and uses all of them', async () => {
    for (const concurrency of [1, 3, 8]) {
      const probe = new Instrumented();
      const sources = Array.from({ length: 30 }, (_, index) => probe.source(index % 2 === 0 ? qcow2 : vmdk, 1 + (index % 4)));
      const results = await collect(introspectMany(sources, { concurrency }));
      expect(results).toHaveLength(30);
      expect(probe.mostOpen).toBe(concurrency);
      expect(probe.open).toBe(0);
      expect(probe.released).toBe(30);
    }
  });

  it('yields every index once, in completion order, with the input as given', async () => {
    const probe = new Instrumented();
    // Later sources are quicker: they finish first.
    const sources = Array.from({ length: 12 }, (_, index) => probe.source(qcow2, 12 - index));
    const results = await collect(introspectMany(sources, { concurrency: 12 }));
    expect(results.map((result) => result.index).sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    expect(results.map((result) => result.index)).not.toEqual([...Array(12).keys()]);
    for (const result of results) {
      expect(result.source).toBe(sources[result.index]);
      expect(result.info?.format).toBe('qcow2');
    }
  });

  it('keeps going past failures, each one an IntrospectionError result', async () => {
    const failing: AsyncIterable<Uint8Array> = {
      async *[Symbol.asyncIterator]() {
        yield qcow2.subarray(0, 100);
        throw new Error('disk on fire');
      },
    };
    const inputs = [qcow2, { source: qcow2, options: { expectedFormat: 'vmdk' as const } }, failing, 42 as unknown as ImageSource, vmdk, qcow2.subarray(0, 50)];
    const results = await collect(introspectMany(inputs, { concurrency: 2 }));
    const byIndex = new Map(results.map((result) => [result.index, result]));
    expect(results).toHaveLength(inputs.length);
    expect(byIndex.get(0)?.info?.format).toBe('qcow2');
    expect(byIndex.get(1)?.error?.code).toBe('FORMAT_MISMATCH');
    expect(byIndex.get(2)?.error?.code).toBe('SOURCE_ERROR');
    expect(byIndex.get(3)?.error?.code).toBe('INVALID_ARGUMENT');
    expect(byIndex.get(4)?.info?.format).toBe('vmdk');
    expect(byIndex.get(5)?.error?.code).toBe('TRUNCATED');
    // The same answers as one introspect call each.
    for (const [index, input] of inputs.entries()) {
      const alone = await introspect(input === inputs[1] ? qcow2 : input === failing ? failing : (input as ImageSource), input === inputs[1] ? { expectedFormat: 'vmdk' } : undefined).then(
        (info) => info.format,
        (error: IntrospectionError) => error.code,
      );
      const result = byIndex.get(index);
      expect(result?.info?.format ?? result?.error?.code).toBe(alone);
    }
  });

  it('pulls its input lazily: a generator of a million sources is fine', async () => {
    let pulled = 0;
    let closed = false;
    function* millions() {
      try {
        for (let index = 0; index < 1_000_000; index += 1) {
          pulled += 1;
          yield qcow2;
        }
      } finally {
        closed = true;
      }
    }
    let consumed = 0;
    for await (const result of introspectMany(millions(), { concurrency: 4 })) {
      expect(result.info?.format).toBe('qcow2');
      consumed += 1;
      // Taken: the consumed ones and at most `concurrency` in flight or waiting.
      expect(pulled).toBeLessThanOrEqual(consumed + 4);
      if (consumed === 25) break;
    }
    expect(pulled).toBeLessThanOrEqual(25 + 4);
    expect(closed).toBe(true);
  });

  it('holds a finished result\'s slot until it is consumed (memory bounded by concurrency)', async () => {
    let started = 0;
    let consumed = 0;
    const quick = async () => {
      started += 1;
      return introspect(qcow2);
    };
    for await (const _ of introspectMany(Array.from({ length: 40 }, () => qcow2), { concurrency: 5, introspect: quick })) {
      // A slow consumer: finished results wait, nothing new starts.
      for (let wait = 0; wait < 20; wait += 1) await turn();
      expect(started - consumed).toBeLessThanOrEqual(5);
      consumed += 1;
    }
    expect(started).toBe(40);
  });

  it('stopping early aborts the sources in flight, releases them, and closes the input', async () => {
    const probe = new Instrumented();
    let closed = false;
    async function* inputs() {
      try {
        for (let index = 0; index < 100; index += 1) yield probe.source(qcow2, 3 + (index % 5));
      } finally {
        closed = true;
      }
    }
    let seen = 0;
    for await (const _ of introspectMany(inputs(), { concurrency: 6 })) {
      seen += 1;
      if (seen === 3) break;
    }
    expect(await settled(() => probe.open === 0)).toBe(true);
    expect(probe.released).toBeGreaterThanOrEqual(3);
    expect(closed).toBe(true);
  });

  it('one signal aborts everything: the iteration rejects ABORTED, every source taken is released', async () => {
    const probe = new Instrumented();
    const controller = new AbortController();
    const sources = Array.from({ length: 50 }, () => probe.source(qcow2, 4));
    const iteration = (async () => {
      let seen = 0;
      for await (const _ of introspectMany(sources, { concurrency: 4, signal: controller.signal })) {
        seen += 1;
        if (seen === 5) controller.abort(new Error('stop'));
      }
    })();
    const error = await rejection(iteration);
    expect(error.code).toBe('ABORTED');
    expect(await settled(() => probe.open === 0)).toBe(true);
    expect(probe.released).toBeLessThan(50); // the rest were never taken

    let pulled = false;
    const before = rejection(
      collect(
        introspectMany(
          (function* () {
            pulled = true;
            yield qcow2;
          })(),
          { signal: AbortSignal.abort() },
        ),
      ),
    );
    expect((await before).code).toBe('ABORTED');
    expect(pulled).toBe(false);
  });

  it('sources in flight share one signal (pairs their own one too) without piling listeners on it, and an abort still reaches each', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const probe = new Instrumented();
      const controller = new AbortController();
      // Slow sources, 32 at once: each waits on the shared signal while it reads; every
      // other one is a pair with a signal of its own, the same for all of them, that never fires.
      const own = new AbortController();
      const sources = Array.from({ length: 64 }, (_, index) => (index % 2 === 0 ? probe.source(qcow2, 50) : { source: probe.source(qcow2, 50), options: { signal: own.signal } }));
      const iteration = collect(introspectMany(sources, { concurrency: 32, signal: controller.signal }));
      expect(await settled(() => probe.open === 32)).toBe(true);
      controller.abort(new Error('stop'));
      expect((await rejection(iteration)).code).toBe('ABORTED');
      expect(await settled(() => probe.open === 0)).toBe(true);
      expect(probe.released).toBe(32);
      await turn();
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a pair\'s own signal aborts only that source', async () => {
    const probe = new Instrumented();
    const own = new AbortController();
    own.abort();
    const results = await collect(introspectMany([probe.source(qcow2), { source: probe.source(vmdk), options: { signal: own.signal } }, probe.source(vmdk)], { concurrency: 3 }));
    const codes = results.sort((a, b) => a.index - b.index).map((result) => result.info?.format ?? result.error?.code);
    expect(codes).toEqual(['qcow2', 'ABORTED', 'vmdk']);
  });

  it('an input that fails: the results of the sources taken, then SOURCE_ERROR', async () => {
    function* failing() {
      yield qcow2;
      yield vmdk;
      throw new Error('listing failed');
    }
    const seen: number[] = [];
    const error = await rejection(
      (async () => {
        for await (const result of introspectMany(failing(), { concurrency: 1 })) seen.push(result.index);
      })(),
    );
    expect(seen).toEqual([0, 1]);
    expect(error.code).toBe('SOURCE_ERROR');
    expect(error.message).toMatch(/listing failed/);
  });

  it('rejects a bad concurrency, a bad signal and an input that is not iterable with INVALID_ARGUMENT', async () => {
    for (const concurrency of [0, -1, 1.5, Number.NaN, '2' as unknown as number]) {
      expect((await rejection(collect(introspectMany([qcow2], { concurrency })))).code).toBe('INVALID_ARGUMENT');
    }
    expect((await rejection(collect(introspectMany([qcow2], { signal: 'now' as unknown as AbortSignal })))).code).toBe('INVALID_ARGUMENT');
    for (const input of [42, null, 'a path', { source: qcow2 }]) {
      expect((await rejection(collect(introspectMany(input as unknown as Iterable<ImageSource>)))).code).toBe('INVALID_ARGUMENT');
    }
  });
});
