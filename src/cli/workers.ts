/**
 * The command line's worker threads (Node only): with `-j N` (N > 1) the files of a batch
 * are introspected on up to N threads, so that a batch uses as many cores as it is given
 * (one JavaScript thread would use one, whatever N). The main thread walks the
 * directories, hands each file to the least busy worker, and writes the results, which
 * come back already rendered (`worker.ts`), in the order they finish.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { toIntrospectionError } from '../errors.js';
import { type CliRegistry, defaultRegistry } from './names.js';
import { type RenderedResult, renderResult } from './output.js';
import type { WorkerJob, WorkerSetup } from './worker.js';

/**
 * The most worker threads a batch starts, whatever `-j` says: each is a JavaScript heap
 * of its own (about 10 MiB) plus up to `maxBufferBytes` while it reads an image, and
 * past the cores a machine has more threads only add memory.
 */
export const MAX_WORKER_THREADS = 16;

/**
 * Files handed to one worker before its first result comes back: enough that it never
 * waits for the main thread between two files, few enough that Ctrl-C (which lets the
 * files already handed over finish) ends at once.
 */
export const JOBS_PER_WORKER = 4;

/** The built worker, next to the built command (`dist/cli-worker.js`). */
const workerUrl = new URL('./cli-worker.js', import.meta.url);

/**
 * How many worker threads a batch with `jobs` and `registry` uses: none (the main thread
 * introspects) for `-j 1`, for a registry other than the built-in one (its modules are
 * functions, which cannot cross to another thread), and when the worker is not built
 * (the command run from its TypeScript sources).
 */
export function workerThreadsFor(jobs: number, registry: CliRegistry): number {
  if (jobs < 2 || registry !== defaultRegistry) return 0;
  if (workerUrl.protocol !== 'file:' || !workerUrl.pathname.endsWith('.js') || !existsSync(fileURLToPath(workerUrl))) return 0;
  return Math.min(jobs, availableParallelism(), MAX_WORKER_THREADS);
}

/** One worker and the jobs it holds (by index), to fail them if the thread dies. */
interface Slot {
  worker: Worker;
  jobs: Map<number, string>;
  alive: boolean;
}

/**
 * A set of worker threads. `submit` hands a file to the worker holding the fewest;
 * `onResult` gets every result (a worker that dies fails the files it held, as
 * `INTERNAL` errors, and gets no more).
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private held = 0;

  constructor(
    count: number,
    private readonly setup: WorkerSetup,
    private readonly onResult: (result: RenderedResult) => void,
  ) {
    for (let number = 0; number < count; number += 1) {
      const slot: Slot = { worker: new Worker(workerUrl, { workerData: setup }), jobs: new Map(), alive: true };
      slot.worker.on('message', (result: RenderedResult) => this.finished(slot, result));
      slot.worker.on('error', (error) => this.died(slot, error));
      slot.worker.on('exit', (code) => this.died(slot, new Error(`the worker thread exited (${code})`)));
      this.slots.push(slot);
    }
  }

  /** Files handed over whose result has not come back. */
  get pending(): number {
    return this.held;
  }

  /** How many files may be handed over at once: {@link JOBS_PER_WORKER} per live worker. */
  get capacity(): number {
    return this.slots.filter((slot) => slot.alive).length * JOBS_PER_WORKER;
  }

  /** Hands `job` to the least busy live worker (or fails it, if none is left). */
  submit(job: WorkerJob): void {
    let chosen: Slot | undefined;
    for (const slot of this.slots) if (slot.alive && (chosen === undefined || slot.jobs.size < chosen.jobs.size)) chosen = slot;
    if (chosen === undefined) {
      this.onResult(this.failure(job, new Error('no worker thread is left')));
      return;
    }
    chosen.jobs.set(job.index, job.path);
    this.held += 1;
    chosen.worker.postMessage([job]);
  }

  /** Ends every worker (what they hold is dropped). */
  async close(): Promise<void> {
    for (const slot of this.slots) slot.alive = false;
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private finished(slot: Slot, result: RenderedResult): void {
    if (!slot.jobs.delete(result.index)) return;
    this.held -= 1;
    this.onResult(result);
  }

  private died(slot: Slot, error: unknown): void {
    if (!slot.alive) return;
    slot.alive = false;
    const jobs = [...slot.jobs];
    slot.jobs.clear();
    this.held -= jobs.length;
    for (const [index, path] of jobs) this.onResult(this.failure({ index, path }, error));
  }

  private failure(job: WorkerJob, error: unknown): RenderedResult {
    const cause = toIntrospectionError(error);
    return renderResult({ index: job.index, filename: job.path, error: cause }, this.setup.mode, defaultRegistry, this.setup.options.backingChain === true);
  }
}
