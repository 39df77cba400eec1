/**
 * The command line's batch: the arguments expanded into images (directories walked
 * lazily), introspected on worker threads (`-j N`, N > 1) or `jobs` at a time with
 * `introspectMany` on this thread, each result handed to the output as it finishes, and
 * the exit status over the whole batch.
 *
 * @module
 */
import type { BuiltinContainer } from '../../containers/index.js';
import type { BuiltinFormat } from '../../formats/index.js';
import { isIntrospectionError, toIntrospectionError } from '../errors.js';
import type { ImageInfo } from '../index.js';
import { introspectMany } from '../many.js';
import { PathWalker, type WalkEntry, introspectEntry } from '../node-files.js';
import type { IntrospectOptions } from '../options.js';
import type { Settings } from './arguments.js';
import { type Finished, type RenderedResult, type ResultSink, type Terminal, renderResult } from './output.js';
import type { Progress } from './progress.js';
import { introspectStandardInput, introspectUrlArgument, isUrlArgument } from './remote.js';
import type { WorkerJob, WorkerSetup } from './worker.js';
import { JOBS_PER_WORKER, WorkerPool, workerThreadsFor } from './workers.js';

/** An image to introspect: a path, a URL, standard input, or a directory that could not be listed. */
type Input = WalkEntry & { stdin?: boolean; url?: boolean };

/**
 * The exit status over the batch (as for one image): 2 if any image could not be
 * introspected, else 1 if any is unsafe or not the expected format, else 0.
 */
export class ExitStatus {
  private worst: 0 | 1 | 2 = 0;

  record(result: RenderedResult): void {
    if (result.outcome > this.worst) this.worst = result.outcome;
  }

  get code(): number {
    return this.worst;
  }
}

/** The images the arguments stand for, in argument order. */
async function* inputs(settings: Settings, walker: PathWalker): AsyncGenerator<Input, void, undefined> {
  for (const file of settings.files) {
    if (file === '-') yield { path: '-', stdin: true };
    else if (isUrlArgument(file)) yield { path: file, url: true };
    else yield* walker.walk(file);
  }
}

/** True for an input a worker thread can take: a file path (not standard input, a URL, or a directory that could not be listed). */
function isPlainFile(input: Input): boolean {
  return input.stdin !== true && input.url !== true && input.error === undefined;
}

/**
 * Runs the batch: every result goes to `sink` (and to `status`) as it finishes. Resolves
 * when the batch ends (false), or, once `signal` fires, when the images in flight have
 * released their files (true: interrupted).
 *
 * With `-j N` (N > 1) and the built-in modules, files are introspected on worker threads
 * (`workers.ts`); otherwise, and always for standard input and URLs, on this thread.
 */
export async function runBatch(
  settings: Settings,
  terminal: Terminal,
  sink: ResultSink,
  status: ExitStatus,
  progress: Progress,
  signal: AbortSignal,
): Promise<boolean> {
  const walker = new PathWalker({
    recursive: settings.recursive,
    onSkip: (skipped) => terminal.error(`skipped ${skipped.path}: ${skipped.message}${skipped.reason === 'directory' ? ', use -r to include it' : ''}`),
  });
  const options = {
    ...(settings.introspect as IntrospectOptions<BuiltinFormat, BuiltinContainer>),
    // The command line's own modules (the built-in ones, or the lists given to run).
    ...({ formats: settings.registry.formats, containers: settings.registry.containers ?? [] } as unknown as IntrospectOptions<BuiltinFormat, BuiltinContainer>),
  };
  const introspectInput = (input: Input, inputOptions: IntrospectOptions<BuiltinFormat, BuiltinContainer>): Promise<ImageInfo> => {
    progress.started(input.path);
    if (input.stdin === true) return introspectStandardInput(inputOptions);
    if (input.url === true) return introspectUrlArgument(input.path, { ...inputOptions, headers: settings.headers });
    // A command line may block its own event loop: synchronous reads save a thread-pool round trip per call.
    return introspectEntry(input, { ...inputOptions, blockingReads: true });
  };
  const render = (finished: Finished) => renderResult(finished, settings.output, settings.registry, settings.introspect.backingChain === true);
  const deliver = (result: RenderedResult) => {
    progress.finished();
    status.record(result);
    sink.add(result);
  };
  const workers = workerThreadsFor(settings.jobs, settings.registry);
  if (workers > 0) {
    const setup: WorkerSetup = { mode: settings.output, options: settings.introspect };
    return runOnWorkers(inputs(settings, walker), workers, setup, options, introspectInput, render, deliver, progress, signal);
  }
  try {
    for await (const result of introspectMany<BuiltinFormat, Input>(inputs(settings, walker), { ...options, concurrency: settings.jobs, signal, introspect: introspectInput })) {
      const input = result.source as Input;
      deliver(
        render(result.error === undefined ? { index: result.index, filename: input.path, info: result.info } : { index: result.index, filename: input.path, error: result.error }),
      );
    }
  } catch (error) {
    if (signal.aborted && isIntrospectionError(error) && error.code === 'ABORTED') return true;
    throw error;
  }
  return false;
}

/**
 * The batch on worker threads and this one. The main thread pulls the inputs lazily
 * (never more than it and the workers can hold), introspects a file itself whenever it is
 * free (also while the workers start: it takes back the files handed to them), hands
 * the other files to the workers, and introspects standard input and URLs itself;
 * results go to `deliver` as they come. A batch of one file starts no thread.
 *
 * When `signal` fires no further input is taken, the introspections of standard input
 * and URLs are aborted, and the files already handed out (at most
 * {@link JOBS_PER_WORKER} per worker, and one on this thread) finish and are delivered;
 * the command's own deadline for an interruption (`main.ts`) bounds the wait. `options`
 * are the introspection options without the signal.
 */
async function runOnWorkers(
  list: AsyncGenerator<Input, void, undefined>,
  workers: number,
  setup: WorkerSetup,
  options: IntrospectOptions<BuiltinFormat, BuiltinContainer>,
  introspectInput: (input: Input, options: IntrospectOptions<BuiltinFormat, BuiltinContainer>) => Promise<ImageInfo>,
  render: (finished: Finished) => RenderedResult,
  deliver: (result: RenderedResult) => void,
  progress: Progress,
  signal: AbortSignal,
): Promise<boolean> {
  let wake: (() => void) | undefined;
  const notify = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const changed = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });
  signal.addEventListener('abort', notify, { once: true });
  let pool: WorkerPool | undefined;
  /** Introspections on this thread: standard input and URLs (any number), files (one at a time). */
  let onThisThread = 0;
  let fileOnThisThread = false;
  const pending = () => onThisThread + (pool?.pending ?? 0);
  const room = workers * JOBS_PER_WORKER;

  const toWorkers = (job: WorkerJob) => {
    pool ??= new WorkerPool(workers, setup, (result) => {
      deliver(result);
      notify();
    });
    pool.submit(job);
  };
  const here = (index: number, input: Input) => {
    onThisThread += 1;
    const file = isPlainFile(input);
    if (file) fileOnThisThread = true;
    // A file read with blocking reads never returns to the event loop by itself: starting
    // it from the event loop lets the workers' results (and their requests for more files)
    // in between two files of this thread.
    // A file is not given the signal: it is one the batch handed out, which finishes even
    // after Ctrl-C (as on a worker; with blocking reads nothing could stop it midway anyway).
    const started = file ? new Promise<void>((resolve) => setImmediate(resolve)).then(() => introspectInput(input, options)) : introspectInput(input, { ...options, signal });
    void started
      .then(
        (info): Finished => ({ index, filename: input.path, info }),
        (error: unknown): Finished => ({ index, filename: input.path, error: toIntrospectionError(error) }),
      )
      .then((finished) => {
        onThisThread -= 1;
        if (file) fileOnThisThread = false;
        // An introspection stopped by the interruption has no result to print.
        if (!(signal.aborted && finished.error?.code === 'ABORTED')) deliver(render(finished));
        notify();
      });
  };
  /** Gives this thread a file taken back from the workers, if it is free and there is one. */
  const takeBack = (): boolean => {
    if (fileOnThisThread) return false;
    const job = pool?.steal();
    if (job === undefined) return false;
    here(job.index, { path: job.path });
    return true;
  };

  let index = 0;
  try {
    for (;;) {
      while (!signal.aborted && fileOnThisThread && pending() >= room) {
        pool?.flush();
        await changed();
      }
      if (signal.aborted) break;
      if (takeBack()) continue;
      const step = await list.next();
      if (step.done === true) break;
      const input = step.value;
      const job = { index, path: input.path };
      index += 1;
      if (!isPlainFile(input) || !fileOnThisThread) {
        here(job.index, input);
        continue;
      }
      progress.started(input.path);
      toWorkers(job);
    }
    while (pending() > 0) {
      if (takeBack()) continue;
      pool?.flush();
      await changed();
    }
  } finally {
    signal.removeEventListener('abort', notify);
    await list.return(undefined);
    await pool?.close();
  }
  return signal.aborted;
}
