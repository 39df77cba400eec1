/**
 * What the command line prints: results on standard output in one of three modes (text
 * as each image finishes, NDJSON as each image finishes, one JSON document at the end),
 * one line per failure on standard error, and nothing at all once standard output is
 * closed (`| head -1`).
 *
 * @module
 */
import { type IntrospectionError, isIntrospectionError } from '../errors.js';
import { glancePropertiesOutput } from '../glance/cli.js';
import type { AnyFormatModule } from '../format-module.js';
import type { ImageInfo } from '../index.js';
import { describeSystemError } from '../node-files.js';
import { formatSummary } from '../summary.js';
import type { OutputMode } from './arguments.js';
import { chainOf } from './remote.js';
import { type CliRegistry, defaultRegistry } from './names.js';

/** The program's name, at the start of every line on standard error. */
export const PROGRAM = 'image-introspect';

/**
 * Standard output and standard error, written synchronously in order. When standard
 * output is closed by its reader (EPIPE), `onClosed` is told once and nothing more is
 * written anywhere.
 */
export class Terminal {
  private closed = false;
  /** Called before anything is written to standard output (the progress line clears itself). */
  beforeWrite: (() => void) | undefined;

  constructor(
    private readonly stdout: NodeJS.WriteStream,
    private readonly stderr: NodeJS.WriteStream,
    onClosed: () => void,
  ) {
    stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (this.closed) return;
      // EPIPE is the reader going away (quietly); any other failure to write ends the output too.
      if (error.code !== 'EPIPE') this.error(`cannot write the output: ${describeSystemError(error) ?? error.message}`);
      this.closed = true;
      onClosed();
    });
    // A closed standard error has no one left to tell.
    stderr.on('error', () => undefined);
  }

  /** True once standard output has been closed by its reader. */
  get isClosed(): boolean {
    return this.closed;
  }

  out(text: string): void {
    if (this.closed) return;
    this.beforeWrite?.();
    this.stdout.write(text);
  }

  /** One line on standard error, prefixed with the program's name. */
  error(line: string): void {
    if (this.closed) return;
    this.stderr.write(`${PROGRAM}: ${line}\n`);
  }
}

/**
 * The failure in words, without the file name (the line names the file once): a system
 * error as `cannot open: no such file or directory (ENOENT)`, anything else as its message.
 */
export function errorMessage(error: IntrospectionError, filename: string): string {
  const system = describeSystemError(error.cause);
  if (system !== undefined) {
    const syscall = (error.cause as { syscall?: unknown }).syscall;
    return `cannot ${typeof syscall === 'string' ? syscall : 'read'}: ${system}`;
  }
  return error.message.startsWith(`${filename} `) ? error.message.slice(filename.length + 1) : error.message;
}

/** The JSON form of a failure: every field present, `null` where unknown. */
export interface ErrorObject {
  code: string;
  message: string;
  format: string | null;
  field: string | null;
  offset: number | null;
}

/** What `--json` prints for one image (and `--ndjson` prints on one line). */
export type ResultObject = ({ filename: string } & ImageInfo) | { filename: string; error: ErrorObject };

/** One finished image, as the batch hands it over. */
export type Finished = { index: number; filename: string; info: ImageInfo; error?: undefined } | { index: number; filename: string; error: IntrospectionError; info?: undefined };

/** The JSON object for one result. */
export function resultObject(result: Finished): ResultObject {
  if (result.error === undefined) return { filename: result.filename, ...result.info };
  const error = result.error;
  return {
    filename: result.filename,
    error: {
      code: error.code,
      message: errorMessage(error, result.filename),
      format: error.format ?? null,
      field: error.field ?? null,
      offset: error.offset ?? null,
    },
  };
}

function moduleFor(name: string, registry: CliRegistry): AnyFormatModule | undefined {
  return registry.formats.find((module) => module.name === name);
}

/**
 * What `--json` and `--ndjson` print for one image with `--backing-chain`: an array, the
 * image first and then its backing images (as `qemu-img info --backing-chain
 * --output=json`); a failure stays one error object.
 */
export function chainObject(result: Finished): ResultObject | ResultObject[] {
  return result.info === undefined ? resultObject(result) : chainOf(result.filename, result.info);
}

/**
 * One finished image as the output prints it, made where the image was introspected (a
 * worker thread, or the main thread) so that only plain data crosses threads, and the
 * printing is the same code whichever thread ran the introspection. Only the field of
 * the output mode is set.
 */
export interface RenderedResult {
  /** The input's position, for `--json`'s input order. */
  index: number;
  /** For the exit status: 0 introspected and safe, 1 unsafe or not the expected format, 2 not introspected. */
  outcome: 0 | 1 | 2;
  /** The failure's line for standard error (without the program's name), if the image failed. */
  errorLine?: string;
  /** Text mode: the summary of the image (and of each backing image with `--backing-chain`). */
  summaries?: string[];
  /** NDJSON mode: the line, with its newline. */
  line?: string;
  /** JSON mode: the object (an array with `--backing-chain`). */
  object?: ResultObject | ResultObject[];
  /** Glance mode: the file and what was found (nothing for a failure). */
  glance?: { filename: string; info: ImageInfo | undefined };
}

/** The exit-status outcome of one result (see {@link RenderedResult.outcome}). */
export function outcomeOf(result: Finished): 0 | 1 | 2 {
  if (result.error === undefined) return result.info.safety.safe ? 0 : 1;
  return result.error.code === 'FORMAT_MISMATCH' ? 1 : 2;
}

/**
 * What the output mode prints for one result. With `backingChain`, each image is printed
 * with its backing images (text: one summary each; JSON: an array, the image first).
 */
export function renderResult(result: Finished, mode: OutputMode, registry: CliRegistry = defaultRegistry, backingChain = false): RenderedResult {
  const rendered: RenderedResult = { index: result.index, outcome: outcomeOf(result) };
  if (result.error !== undefined) rendered.errorLine = `${result.filename}: ${errorMessage(result.error, result.filename)}`;
  if (mode === 'text') {
    if (result.info !== undefined) {
      const images = backingChain ? chainOf(result.filename, result.info) : [{ ...result.info, filename: result.filename }];
      rendered.summaries = images.map((image) => formatSummary(image.filename, image, moduleFor(image.format, registry)));
    }
  } else if (mode === 'ndjson') rendered.line = `${JSON.stringify(backingChain ? chainObject(result) : resultObject(result))}\n`;
  else if (mode === 'json') rendered.object = backingChain ? chainObject(result) : resultObject(result);
  else rendered.glance = { filename: result.filename, info: result.info };
  return rendered;
}

/** Where results go: `add` as each finishes, `finish` once at the end (also after an interruption). */
export interface ResultSink {
  add(result: RenderedResult): void;
  finish(): void;
}

/**
 * A sink for the output mode: text and NDJSON printed as each result comes, JSON and
 * Glance collected and printed in input order at the end. Failures are also told on
 * standard error, one line each.
 */
export function createSink(mode: OutputMode, terminal: Terminal): ResultSink {
  const reportError = (result: RenderedResult) => {
    if (result.errorLine !== undefined) terminal.error(result.errorLine);
  };
  if (mode === 'text') {
    let first = true;
    return {
      add(result) {
        reportError(result);
        for (const summary of result.summaries ?? []) {
          terminal.out(`${first ? '' : '\n'}${summary}`);
          first = false;
        }
      },
      finish: () => undefined,
    };
  }
  if (mode === 'ndjson') {
    return {
      add(result) {
        reportError(result);
        if (result.line !== undefined) terminal.out(result.line);
      },
      finish: () => undefined,
    };
  }
  const results: RenderedResult[] = [];
  let finished = false;
  return {
    add(result) {
      reportError(result);
      results.push(result);
    },
    finish() {
      if (finished) return;
      finished = true;
      const ordered = results.sort((left, right) => left.index - right.index);
      if (mode === 'glance') {
        terminal.out(glancePropertiesOutput(ordered.flatMap((result) => (result.glance === undefined ? [] : [result.glance]))));
        return;
      }
      const objects = ordered.flatMap((result) => (result.object === undefined ? [] : [result.object]));
      terminal.out(`${JSON.stringify(objects.length === 1 ? objects[0] : objects, null, 2)}\n`);
    },
  };
}

/** Anything thrown, as one line: an error's message, never its stack. */
export function oneLine(error: unknown): string {
  if (isIntrospectionError(error)) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`.split('\n')[0] as string;
  return String(error).split('\n')[0] as string;
}
