/**
 * The command line's worker threads (Node only): with `-j N` (N > 1) a batch's files are
 * introspected on the main thread and on worker threads, so that a batch uses as many
 * cores as it is given (one JavaScript thread would use one, whatever N). The main thread
 * walks the directories, introspects a file whenever it is free, hands the others to the
 * least busy worker, and writes the results, which come back already rendered
 * (`worker.ts`), in the order they finish.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { fieldError, toIntrospectionError } from '../errors.js';
import { type CliRegistry, defaultRegistry } from './names.js';
import { type RenderedResult, renderResult } from './output.js';
import type { WorkerJob, WorkerSetup } from './worker.js';

/**
 * The most threads (the main one included) a batch introspects on, whatever `-j` says:
 * each worker is a JavaScript heap of its own (about 15 MiB, and its own compiled code)
 * plus up to `maxBufferBytes` while it reads an image, and past the cores a machine has
 * more threads only add memory.
 */
export const MAX_THREADS = 16;

/**
 * Files handed to one worker before its results come back: enough that it never waits
 * for the main thread between two files (results come back in groups), few enough that
 * Ctrl-C (which lets the files already handed over finish) ends at once.
 */
export const JOBS_PER_WORKER = 16;

/**
 * Files posted to a worker in one message: each message wakes the worker's thread, so
 * they go in groups, except when the worker holds fewer than {@link LOW_WATER_JOBS}
 * (it would otherwise wait for work).
 */
const JOBS_PER_MESSAGE = 8;

/** Below this many posted files, a worker gets a file as soon as there is one. */
const LOW_WATER_JOBS = 2;

/** The built worker, next to the built command (`dist/cli-worker.js`). */
const workerUrl = new URL('./cli-worker.js', import.meta.url);

/** The environment variable that sets how many threads a batch may introspect on (see {@link threadBudget}). */
export const THREADS_VARIABLE = 'IMAGE_INTROSPECT_THREADS';

/**
 * The threads a batch may introspect on, the main one included: `$IMAGE_INTROSPECT_THREADS`
 * when it is a whole number from 1, else one less than the CPUs (at least one). One CPU is
 * left because every JavaScript thread keeps V8's own threads busy beside it (compiling,
 * collecting garbage): measured on 3,000 images, a third of the CPU time of a
 * one-thread batch went to them, so on two CPUs a second thread found no CPU free and
 * cost a quarter more CPU per image (bench/batch.mjs; see docs/cli.md).
 */
export function threadBudget(environment: NodeJS.ProcessEnv = process.env, cpus: number = availableParallelism()): number {
  const text = environment[THREADS_VARIABLE];
  const asked = text !== undefined && /^\d+$/.test(text) ? Number(text) : Number.NaN;
  return Number.isSafeInteger(asked) && asked >= 1 ? asked : Math.max(cpus - 1, 1);
}

/**
 * How many worker threads a batch with `jobs` and `registry` starts besides the main
 * thread: `min(jobs, threads, MAX_THREADS) - 1` (`threads` from {@link threadBudget}),
 * and none (everything on the main thread) for `-j 1`, for a registry other than the
 * built-in one (its modules are functions, which cannot cross to another thread), and
 * when the worker is not built (the command run from its TypeScript sources; `worker` is
 * where the built worker is looked for).
 */
export function workerThreadsFor(jobs: number, registry: CliRegistry, worker: URL = workerUrl, threads: number = threadBudget()): number {
  if (jobs < 2 || registry !== defaultRegistry) return 0;
  if (worker.protocol !== 'file:' || !worker.pathname.endsWith('.js') || !existsSync(fileURLToPath(worker))) return 0;
  return Math.max(Math.min(jobs, threads, MAX_THREADS) - 1, 0);
}

/** One worker: the jobs it holds (by index, to fail them if the thread dies), those not yet posted to it, and its state. */
interface Slot {
  worker: Worker;
  jobs: Map<number, string>;
  unposted: WorkerJob[];
  /** The worker has loaded its code (its first message, an empty list, says so): until then nothing is posted. */
  ready: boolean;
  alive: boolean;
}

/**
 * A set of worker threads. `submit` hands a file to the worker holding the fewest;
 * `onResult` gets every result (a worker that dies fails the files it held, as
 * `INTERNAL` errors, and gets no more). Files handed to a worker still starting can be
 * taken back with `steal`, for the main thread. `worker`
 * is the built worker's URL (by default the one next to the built command).
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private held = 0;

  constructor(
    count: number,
    private readonly setup: WorkerSetup,
    private readonly onResult: (result: RenderedResult) => void,
    worker: URL = workerUrl,
  ) {
    for (let number = 0; number < count; number += 1) {
      const slot: Slot = { worker: new Worker(worker, { workerData: setup }), jobs: new Map(), unposted: [], ready: false, alive: true };
      slot.worker.on('message', (results: RenderedResult[]) => this.finished(slot, results));
      slot.worker.on('error', (error) => this.died(slot, error));
      slot.worker.on('exit', (code) => this.died(slot, fieldError('INTERNAL', 'cli worker thread', `exited (${code}) with files not finished`)));
      this.slots.push(slot);
    }
  }

  /** Files handed over whose result has not come back. */
  get pending(): number {
    return this.held;
  }

  /**
   * Hands `job` to the least busy live worker (or fails it, if none is left). It may wait
   * for a few more before it is posted: call {@link flush} before waiting for results.
   */
  submit(job: WorkerJob): void {
    let chosen: Slot | undefined;
    for (const slot of this.slots) if (slot.alive && (chosen === undefined || slot.jobs.size < chosen.jobs.size)) chosen = slot;
    if (chosen === undefined) {
      this.onResult(this.failure(job, fieldError('INTERNAL', 'cli worker thread', 'none is left to introspect the file')));
      return;
    }
    chosen.jobs.set(job.index, job.path);
    this.held += 1;
    chosen.unposted.push(job);
    if (chosen.unposted.length >= JOBS_PER_MESSAGE || chosen.jobs.size - chosen.unposted.length < LOW_WATER_JOBS) this.post(chosen);
  }

  /**
   * Takes back a file handed to a worker that is still starting (the one handed over
   * last), for the main thread to introspect. Files of a ready worker stay with it: taking
   * them would leave it waiting for work.
   */
  steal(): WorkerJob | undefined {
    let richest: Slot | undefined;
    for (const slot of this.slots) if (!slot.ready && slot.unposted.length > 0 && (richest === undefined || slot.unposted.length > richest.unposted.length)) richest = slot;
    const job = richest?.unposted.pop();
    if (richest === undefined || job === undefined) return undefined;
    richest.jobs.delete(job.index);
    this.held -= 1;
    return job;
  }

  /** Posts every file handed over and not yet posted (to the workers that are ready). */
  flush(): void {
    for (const slot of this.slots) this.post(slot);
  }

  /** Ends every worker (what they hold is dropped). */
  async close(): Promise<void> {
    for (const slot of this.slots) slot.alive = false;
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private post(slot: Slot): void {
    if (slot.unposted.length === 0 || !slot.alive || !slot.ready) return;
    slot.worker.postMessage(slot.unposted);
    slot.unposted = [];
  }

  private finished(slot: Slot, results: RenderedResult[]): void {
    slot.ready = true;
    for (const result of results) {
      if (!slot.jobs.delete(result.index)) continue;
      this.held -= 1;
      this.onResult(result);
    }
    if (slot.jobs.size - slot.unposted.length < LOW_WATER_JOBS) this.post(slot);
  }

  private died(slot: Slot, error: unknown): void {
    if (!slot.alive) return;
    slot.alive = false;
    const jobs = [...slot.jobs];
    slot.jobs.clear();
    slot.unposted = [];
    this.held -= jobs.length;
    for (const [index, path] of jobs) this.onResult(this.failure({ index, path }, error));
  }

  private failure(job: WorkerJob, error: unknown): RenderedResult {
    return renderResult({ index: job.index, filename: job.path, error: toIntrospectionError(error) }, this.setup.mode, defaultRegistry, this.setup.options.backingChain === true);
  }
}
