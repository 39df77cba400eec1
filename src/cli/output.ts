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

/** Where results go: `add` as each finishes, `finish` once at the end (also after an interruption). */
export interface ResultSink {
  add(result: Finished): void;
  finish(): void;
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
 * A sink for the output mode. Failures are also told on standard error, one line each.
 * With `backingChain`, each image is printed with its backing images (text: one block each).
 */
export function createSink(mode: OutputMode, terminal: Terminal, registry: CliRegistry = defaultRegistry, backingChain = false): ResultSink {
  const objectOf = backingChain ? chainObject : resultObject;
  const reportError = (result: Finished) => {
    if (result.error !== undefined) terminal.error(`${result.filename}: ${errorMessage(result.error, result.filename)}`);
  };
  if (mode === 'text') {
    let first = true;
    return {
      add(result) {
        reportError(result);
        if (result.info === undefined) return;
        const images = backingChain ? chainOf(result.filename, result.info) : [{ ...result.info, filename: result.filename }];
        for (const image of images) {
          terminal.out(`${first ? '' : '\n'}${formatSummary(image.filename, image, moduleFor(image.format, registry))}`);
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
        terminal.out(`${JSON.stringify(objectOf(result))}\n`);
      },
      finish: () => undefined,
    };
  }
  const results: Finished[] = [];
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
        terminal.out(glancePropertiesOutput(ordered.map((result) => ({ filename: result.filename, info: result.info as ImageInfo | undefined }))));
        return;
      }
      const objects = ordered.map(objectOf);
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
