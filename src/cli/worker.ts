/**
 * The command line's worker thread (Node only; built as `dist/cli-worker.js`, started by
 * `workers.ts`): introspects the files the main thread hands it, one after the other
 * with blocking reads (the thread has nothing else to do while it waits for the disk),
 * and sends back each result already rendered for the output mode, so that the main
 * thread only writes it.
 *
 * It always runs with the built-in formats and containers: a custom registry (given to
 * `run`) holds functions, which cannot cross to another thread, so such a command line
 * introspects on its main thread instead.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { toIntrospectionError } from '../errors.js';
import { introspectFile } from '../node.js';
import type { IntrospectOptions } from '../options.js';
import type { BuiltinFormat } from '../../formats/index.js';
import type { BuiltinContainer } from '../../containers/index.js';
import { defaultRegistry } from './names.js';
import { type Finished, type RenderedResult, renderResult } from './output.js';
import type { OutputMode } from './arguments.js';

/** What a worker is started with (`workerData`): plain data only. */
export interface WorkerSetup {
  mode: OutputMode;
  /** The command's introspection options (`--expect`, `--allow-check`, `--inspect-guest`, `--backing-chain`, the modules' flags). */
  options: Record<string, unknown>;
}

/** One file to introspect: its position in the batch and its path. */
export interface WorkerJob {
  index: number;
  path: string;
}

/** Introspects one file and renders its result (a failure is a result too). */
async function introspectJob(job: WorkerJob, setup: WorkerSetup): Promise<RenderedResult> {
  const options = {
    ...setup.options,
    formats: defaultRegistry.formats,
    containers: defaultRegistry.containers,
    blockingReads: true,
  } as unknown as IntrospectOptions<BuiltinFormat, BuiltinContainer> & { blockingReads: boolean };
  let finished: Finished;
  try {
    finished = { index: job.index, filename: job.path, info: await introspectFile(job.path, options) };
  } catch (error) {
    finished = { index: job.index, filename: job.path, error: toIntrospectionError(error) };
  }
  return renderResult(finished, setup.mode, defaultRegistry, setup.options.backingChain === true);
}

/**
 * Results kept before they are posted together: each message wakes the main thread, and
 * on a busy machine every wake-up costs the worker its time slice. Posted earlier when
 * the worker runs out of files or {@link RESULT_DELAY_MS} have passed, so that results
 * still come as they finish.
 */
const RESULTS_PER_MESSAGE = 8;

/** The longest a finished result waits in the worker before it is posted. */
const RESULT_DELAY_MS = 20;

/**
 * Runs the jobs as they come (each message is a list of jobs), one at a time, and posts
 * the results in small groups (a list of {@link RenderedResult}).
 */
function serve(port: NonNullable<typeof parentPort>, setup: WorkerSetup): void {
  const queue: WorkerJob[] = [];
  let running = false;
  const drain = async () => {
    running = true;
    let results: RenderedResult[] = [];
    let firstAt = 0;
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
      if (results.length === 0) firstAt = performance.now();
      results.push(await introspectJob(job, setup));
      if (queue.length === 0 || results.length >= RESULTS_PER_MESSAGE || performance.now() - firstAt >= RESULT_DELAY_MS) {
        port.postMessage(results);
        results = [];
      }
    }
    running = false;
  };
  port.on('message', (jobs: WorkerJob[]) => {
    queue.push(...jobs);
    if (!running) void drain();
  });
  // Ready: an empty list of results tells the main thread that files can be posted now.
  port.postMessage([]);
}

if (parentPort !== null) serve(parentPort, workerData as WorkerSetup);
