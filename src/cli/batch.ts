/**
 * The command line's batch: the arguments expanded into images (directories walked
 * lazily), introspected `jobs` at a time with `introspectMany`, each result handed to the
 * output as it finishes, and the exit status over the whole batch.
 *
 * @module
 */
import type { BuiltinContainer } from '../../containers/index.js';
import type { BuiltinFormat } from '../../formats/index.js';
import { isIntrospectionError } from '../errors.js';
import type { ImageInfo } from '../index.js';
import { introspectMany } from '../many.js';
import { PathWalker, type WalkEntry, introspectEntry } from '../node-files.js';
import type { IntrospectOptions } from '../options.js';
import type { Settings } from './arguments.js';
import type { Finished, ResultSink, Terminal } from './output.js';
import type { Progress } from './progress.js';
import { introspectStandardInput, introspectUrlArgument, isUrlArgument } from './remote.js';

/** An image to introspect: a path, a URL, standard input, or a directory that could not be listed. */
type Input = WalkEntry & { stdin?: boolean; url?: boolean };

/**
 * The exit status over the batch (as for one image): 2 if any image could not be
 * introspected, else 1 if any is unsafe or not the expected format, else 0.
 */
export class ExitStatus {
  private failed = false;
  private refused = false;

  record(result: Finished): void {
    if (result.error === undefined) {
      if (!result.info.safety.safe) this.refused = true;
    } else if (result.error.code === 'FORMAT_MISMATCH') this.refused = true;
    else this.failed = true;
  }

  get code(): number {
    return this.failed ? 2 : this.refused ? 1 : 0;
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

/**
 * Runs the batch: every result goes to `sink` (and to `status`) as it finishes. Resolves
 * when the batch ends (false), or, once `signal` fires, when the images in flight have
 * released their files (true: interrupted).
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
  const introspectInput = (input: Input, options: IntrospectOptions<BuiltinFormat, BuiltinContainer>): Promise<ImageInfo> => {
    progress.started(input.path);
    if (input.stdin === true) return introspectStandardInput(options);
    if (input.url === true) return introspectUrlArgument(input.path, { ...options, headers: settings.headers });
    // A command line may block its own event loop: synchronous reads save a thread-pool round trip per call.
    return introspectEntry(input, { ...options, blockingReads: true });
  };
  try {
    for await (const result of introspectMany<BuiltinFormat, Input>(inputs(settings, walker), {
      ...(settings.introspect as IntrospectOptions<BuiltinFormat, BuiltinContainer>),
      // The command line's own modules (the built-in ones, or the lists given to run).
      ...({ formats: settings.registry.formats, containers: settings.registry.containers ?? [] } as unknown as IntrospectOptions<BuiltinFormat, BuiltinContainer>),
      concurrency: settings.jobs,
      signal,
      introspect: introspectInput,
    })) {
      const input = result.source as Input;
      const finished: Finished =
        result.error === undefined
          ? { index: result.index, filename: input.path, info: result.info }
          : { index: result.index, filename: input.path, error: result.error };
      progress.finished();
      status.record(finished);
      sink.add(finished);
    }
  } catch (error) {
    if (signal.aborted && isIntrospectionError(error) && error.code === 'ABORTED') return true;
    throw error;
  }
  return false;
}
