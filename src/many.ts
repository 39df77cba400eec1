/**
 * Many images at once: a bounded pool of introspections over a lazily pulled list of
 * sources, with results in completion order.
 *
 * This is the worker side of the original specification (Glance introspecting uploads on
 * asynchronous workers): `concurrency` is the number of workers, and the "workspace" an
 * operator sizes is `concurrency × maxBufferBytes`, the most this library holds at once
 * (nothing is staged on disk). Platform-neutral.
 *
 * @module
 */
import type { BuiltinFormat } from '../formats/index.js';
import { IntrospectionError, isIntrospectionError, toIntrospectionError } from './errors.js';
import type { AnyFormatModule } from './format-module.js';
import { type ImageSource, type InfoWith, introspect as introspectOne } from './index.js';
import type { BuiltinContainer } from '../containers/index.js';
import type { IntrospectOptions } from './options.js';
import { followSignal } from './reading/chunks.js';

/**
 * Default for the `concurrency` of {@link introspectMany}: four introspections in flight.
 * Most of an introspection is waiting for bytes, so a few overlap well even on one core;
 * the memory bound is this many times `maxBufferBytes` (64 MiB with the defaults).
 */
export const DEFAULT_CONCURRENCY = 4;

/** One input with options of its own, merged over the shared ones (its `signal` adds to the shared one). */
export interface SourceWithOptions<Source, Modules extends AnyFormatModule = BuiltinFormat> {
  source: Source;
  options?: IntrospectOptions<Modules, BuiltinContainer>;
}

/** What {@link introspectMany} takes: sources, or sources with options of their own. */
export type ManyInput<Source = ImageSource, Modules extends AnyFormatModule = BuiltinFormat> = Source | SourceWithOptions<Source, Modules>;

/**
 * One finished introspection: `index` is the input's position (0-based, in the order the
 * input yielded it), `source` the input as given, and either `info` or `error`.
 */
export type ManyResult<Info, Item> =
  | { index: number; source: Item; info: Info; error?: undefined }
  | { index: number; source: Item; error: IntrospectionError; info?: undefined };

/** Options of {@link introspectMany}: those of `introspect`, shared by every source, and the pool's. */
export type IntrospectManyOptions<Modules extends AnyFormatModule = BuiltinFormat, Source = ImageSource> = IntrospectOptions<Modules, BuiltinContainer> & PoolOptions<Modules, Source>;

/** The pool's own options (see {@link IntrospectManyOptions}). */
export interface PoolOptions<Modules extends AnyFormatModule = BuiltinFormat, Source = ImageSource> {
  /**
   * The most introspections in flight at once (default {@link DEFAULT_CONCURRENCY}). A
   * finished result holds its slot until it is consumed, so memory stays bounded by
   * `concurrency × maxBufferBytes` however slowly the results are read.
   */
  concurrency?: number;
  /**
   * The function that introspects one source (default: the root `introspect`). Pass
   * another to take other kinds of input, as `introspectFiles` does with paths.
   */
  introspect?: (source: Source, options: IntrospectOptions<Modules, BuiltinContainer>) => Promise<InfoWith<Modules, BuiltinContainer>>;
}

/**
 * Introspects every source of `sources` (an iterable or async iterable, pulled lazily: a
 * generator of a million paths is fine), at most `concurrency` at a time, and yields
 * each result as it finishes (completion order, `index` tells the input order).
 *
 * A source that fails is yielded with its `error` (an `IntrospectionError`), and the
 * others go on. Every source taken from the input is handed to `introspect`, which
 * releases it whatever happens (a stream's iterator is returned, a web stream cancelled).
 * Stopping early (`break` out of `for await`) aborts the introspections in flight, waits
 * for them to settle, and closes the input.
 *
 * One `signal` aborts everything: no further source is taken, the ones in flight are
 * aborted, and once they have settled the iteration rejects with `ABORTED` (results
 * finished but not yet consumed are dropped).
 *
 * ```ts
 * for await (const result of introspectMany(uploads, { concurrency: 8, expectedFormat: 'qcow2' })) {
 *   if (result.error) console.log(result.index, result.error.code);
 *   else console.log(result.index, result.info.format, result.info.safety.safe);
 * }
 * ```
 *
 * @throws `INVALID_ARGUMENT` (on the first `next()`) for a bad `concurrency`, `signal` or
 *   input; `ABORTED` when the signal fires; `SOURCE_ERROR` when the input itself throws
 *   (after the results of the sources already taken).
 */
export async function* introspectMany<Modules extends AnyFormatModule = BuiltinFormat, Source = ImageSource>(
  sources: Iterable<ManyInput<Source, Modules>> | AsyncIterable<ManyInput<Source, Modules>>,
  options: IntrospectManyOptions<Modules, Source> = {},
): AsyncGenerator<ManyResult<InfoWith<Modules, BuiltinContainer>, ManyInput<Source, Modules>>, void, undefined> {
  type Item = ManyInput<Source, Modules>;
  type Result = ManyResult<InfoWith<Modules, BuiltinContainer>, Item>;
  const { concurrency = DEFAULT_CONCURRENCY, introspect, signal, ...shared } = options;
  const run = introspect ?? (introspectOne as unknown as NonNullable<typeof introspect>);
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new IntrospectionError('INVALID_ARGUMENT', `options.concurrency must be a positive integer, not ${String(concurrency)}`);
  }
  if (signal !== undefined && !isSignal(signal)) throw new IntrospectionError('INVALID_ARGUMENT', 'options.signal must be an AbortSignal');
  if (typeof run !== 'function') throw new IntrospectionError('INVALID_ARGUMENT', 'options.introspect must be a function');
  if (signal?.aborted) throw abortedBatch(signal.reason);
  const iterator = iteratorOf(sources);

  // One controller for the batch, aborted by the caller's signal or an early stop, whose
  // signal every source shares; a pair with a signal of its own gets a controller that
  // follows both. (A controller per source cost more than a small image's parse.) Races
  // against a shared signal hold one listener, not one per source (`raceAbort`).
  const batch = new AbortController();
  let stopped: { reason: unknown } | undefined;
  const finished: Result[] = [];
  const inFlight = new Set<Promise<void>>();
  let nextIndex = 0;
  let exhausted = false;
  let pulling = false;
  let inputError: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const stopAll = (reason: unknown) => {
    if (stopped !== undefined) return;
    stopped = { reason };
    batch.abort(reason);
    notify();
  };
  const onAbort = () => stopAll(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });

  const start = (item: Item) => {
    const index = nextIndex;
    nextIndex += 1;
    const { source, options: own } = splitItem<Source, Modules>(item);
    const { signal: itemSignal, unlink } = signalFor(batch.signal, own?.signal);
    const merged: IntrospectOptions<Modules, BuiltinContainer> = { ...(shared as IntrospectOptions<Modules, BuiltinContainer>), ...own, signal: itemSignal };
    // A value that is not a signal is the caller's mistake: introspect rejects it as such.
    if (own?.signal !== undefined && !isSignal(own.signal)) merged.signal = own.signal;
    const task = (async () => {
      let result: Result;
      try {
        result = { index, source: item, info: await run(source, merged) };
      } catch (error) {
        result = { index, source: item, error: toIntrospectionError(error) };
      }
      finished.push(result);
    })().finally(() => {
      unlink();
      inFlight.delete(task);
      notify();
    });
    inFlight.add(task);
  };

  const pull = async () => {
    pulling = true;
    try {
      const step = await iterator.next();
      if (step.done === true) exhausted = true;
      // Taken from the input: handed to introspect even after an abort, which releases it.
      else start(step.value);
    } catch (error) {
      exhausted = true;
      inputError = error;
    } finally {
      pulling = false;
      notify();
    }
  };

  try {
    for (;;) {
      if (stopped !== undefined) throw abortedBatch(stopped.reason);
      if (!exhausted && !pulling && inFlight.size + finished.length < concurrency) void pull();
      const result = finished.shift();
      if (result !== undefined) {
        yield result;
        continue;
      }
      if (exhausted && !pulling && inFlight.size === 0) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    if (inputError !== undefined) {
      if (isIntrospectionError(inputError)) throw inputError;
      const what = inputError instanceof Error ? inputError.message : String(inputError);
      throw new IntrospectionError('SOURCE_ERROR', `the list of sources failed: ${what}`, { cause: inputError });
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (inFlight.size > 0 || !exhausted) stopAll(new IntrospectionError('ABORTED', 'the iteration was stopped early'));
    while (pulling || inFlight.size > 0) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    if (!exhausted) {
      try {
        await iterator.return?.();
      } catch {
        // Closing the input is a courtesy; its failure changes nothing for the results.
      }
    }
  }
}

/** An iterator over an iterable or async iterable, or `INVALID_ARGUMENT`. */
function iteratorOf<Item>(sources: Iterable<Item> | AsyncIterable<Item>): Iterator<Item> | AsyncIterator<Item> {
  const candidate = sources as Partial<Iterable<Item> & AsyncIterable<Item>> | null | undefined;
  try {
    const asyncIterate = candidate?.[Symbol.asyncIterator];
    if (typeof asyncIterate === 'function') return asyncIterate.call(candidate);
    // Strings are iterable, by character: never a list of sources.
    const iterate = typeof candidate === 'string' ? undefined : candidate?.[Symbol.iterator];
    if (typeof iterate === 'function') return iterate.call(candidate);
  } catch (error) {
    throw new IntrospectionError('INVALID_ARGUMENT', 'the sources could not be iterated', { cause: error });
  }
  throw new IntrospectionError('INVALID_ARGUMENT', 'sources must be an iterable or an async iterable');
}

/**
 * A `{ source, options }` pair is a plain object with a `source` key; anything else
 * (a stream, a Blob, a random-access `{ size, read }` object, a path) is a source itself.
 */
function splitItem<Source, Modules extends AnyFormatModule>(item: ManyInput<Source, Modules>): { source: Source; options: IntrospectOptions<Modules, BuiltinContainer> | undefined } {
  if (typeof item === 'object' && item !== null && 'source' in item) {
    const prototype = Object.getPrototypeOf(item) as unknown;
    if (prototype === Object.prototype || prototype === null) {
      const pair = item as SourceWithOptions<Source, Modules>;
      return { source: pair.source, options: pair.options };
    }
  }
  return { source: item as Source, options: undefined };
}

function abortedBatch(reason: unknown): IntrospectionError {
  return new IntrospectionError('ABORTED', 'the batch was aborted', { cause: reason });
}

function isSignal(value: unknown): value is AbortSignal {
  return typeof value === 'object' && value !== null && typeof (value as AbortSignal).aborted === 'boolean' && typeof (value as AbortSignal).addEventListener === 'function';
}

/**
 * The signal a source runs under: the batch's, or, for a pair with a signal of its own, one
 * that fires with either (`followSignal`: one listener on each, however many pairs share
 * them). `unlink` unhooks it once the source is done.
 */
function signalFor(batch: AbortSignal, own: AbortSignal | undefined): { signal: AbortSignal; unlink: () => void } {
  if (!isSignal(own)) return { signal: batch, unlink: () => undefined };
  const { signal, stop } = followSignal(batch, own);
  return { signal, unlink: stop };
}
