/**
 * Pass-through inspection: the source's chunks flow on to the caller unchanged while the
 * metadata is read from them as they pass.
 *
 * The introspection sees the chunks through a {@link Feed}: the pass-through hands each
 * chunk to the feed, then to the caller. Once the result is known the feed is detached
 * and chunks pass with no further work. Nothing is copied and the image is never buffered:
 * the pass-through waits for the introspection to take a chunk before it pulls the next
 * one whenever the feed holds more than `maxBufferBytes`.
 *
 * @module
 */
import { type ChunkSource, abortError } from './reading/chunks.js';
import { IntrospectionError } from './errors.js';

/** A {@link ChunkSource} that is pushed to rather than pulled from. */
export class Feed implements ChunkSource {
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private waiter: { resolve: (chunk: Uint8Array | null) => void; reject: (error: unknown) => void } | undefined;
  private drainWaiter: (() => void) | undefined;
  private ended = false;
  private failure: unknown;
  /** Set once the introspection no longer wants chunks. */
  detached = false;

  /** Hands one chunk to the introspection. */
  push(chunk: Uint8Array): void {
    if (this.detached) return;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter.resolve(chunk);
      return;
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.byteLength;
  }

  /** Bytes handed over but not yet taken. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Resolves once the introspection has taken every queued chunk (or stopped wanting them). */
  drained(): Promise<void> {
    if (this.queue.length === 0 || this.detached) return Promise.resolve();
    return new Promise((resolve) => {
      this.drainWaiter = resolve;
    });
  }

  /** The source ended. */
  end(): void {
    this.ended = true;
    this.settleWaiter();
  }

  /** The source failed, or the caller stopped reading before the result was known. */
  fail(error: unknown): void {
    this.failure = error;
    this.settleWaiter();
  }

  next(): Promise<Uint8Array | null> {
    const chunk = this.queue.shift();
    if (chunk !== undefined) {
      this.queuedBytes -= chunk.byteLength;
      if (this.queue.length === 0) this.notifyDrained();
      return Promise.resolve(chunk);
    }
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** The introspection is done with the feed; the pass-through goes on without it. */
  async release(): Promise<void> {
    this.detached = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.notifyDrained();
  }

  private notifyDrained(): void {
    const drainWaiter = this.drainWaiter;
    this.drainWaiter = undefined;
    drainWaiter?.();
  }

  private settleWaiter(): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    this.waiter = undefined;
    if (this.failure !== undefined) waiter.reject(this.failure);
    else waiter.resolve(null);
  }
}

/**
 * The pass-through stream: yields exactly the upstream's chunks, feeding each to `feed`
 * first. Once the introspection is done with the feed (and no signal is watched), each step
 * is the source's own step: the pass-through then costs one function call per chunk.
 * Stopping early (a `break` in `for await`) releases the upstream and tells the
 * introspection that the image was not read to its end.
 */
export class PassThrough implements AsyncIterableIterator<Uint8Array> {
  private finished = false;

  constructor(
    private readonly upstream: ChunkSource,
    private readonly feed: Feed,
    private readonly maxPendingBytes: number,
    private readonly signal: AbortSignal | undefined,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    const step = this.upstream.step;
    if (this.feed.detached && this.signal === undefined && step !== undefined) {
      return step() as Promise<IteratorResult<Uint8Array>>;
    }
    return this.feedingNext();
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    await this.stop();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<Uint8Array>> {
    await this.stop();
    throw error;
  }

  private async feedingNext(): Promise<IteratorResult<Uint8Array>> {
    if (this.finished) return { done: true, value: undefined };
    try {
      if (this.signal?.aborted) throw abortError(this.signal);
      const chunk = await this.upstream.next();
      if (chunk === null) {
        this.finished = true;
        this.feed.end();
        return { done: true, value: undefined };
      }
      if (!this.feed.detached) {
        this.feed.push(chunk);
        if (this.feed.pendingBytes > this.maxPendingBytes) await this.feed.drained();
      }
      return { done: false, value: chunk };
    } catch (error) {
      this.feed.fail(error);
      await this.stop();
      throw error;
    }
  }

  /** Releases the upstream once, telling the introspection if it was still waiting. */
  private async stop(): Promise<void> {
    if (this.finished) {
      await this.upstream.release();
      return;
    }
    this.finished = true;
    this.feed.fail(new IntrospectionError('ABORTED', 'the pass-through stream was closed before the metadata was known'));
    await this.upstream.release();
  }
}
