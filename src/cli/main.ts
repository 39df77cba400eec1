/**
 * The command line from arguments to exit status: parse, run the batch, print, and end
 * cleanly on Ctrl-C (what finished is printed, status 130) and on a closed standard
 * output (quietly, status 0).
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { runGlanceCommand } from '../glance/cli.js';
import { UsageError, helpText, parseArguments, type Settings } from './arguments.js';
import { ExitStatus, runBatch } from './batch.js';
import { type CliRegistry, defaultRegistry } from './names.js';
import { PROGRAM, type ResultSink, Terminal, createSink } from './output.js';
import { Progress } from './progress.js';

/**
 * After Ctrl-C, how long the images in flight get to release their files before what
 * finished is printed anyway: an interrupted command must end promptly.
 */
const INTERRUPT_GRACE_MS = 2000;

/** The exit status of a command interrupted by SIGINT (128 + 2), as shells report it. */
export const INTERRUPTED = 130;

async function readVersion(): Promise<string> {
  const packageJson = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return packageJson.version;
}

/** Runs the command with `argv` (without `node` and the script) and the built-in modules, and returns its exit status. */
export function main(argv: readonly string[]): Promise<number> {
  return run(argv, defaultRegistry);
}

/**
 * Runs the command with `argv` and the given modules: `--expect`'s names, `--allow-check`'s
 * checks, the modules' own flags, `--help`'s lists, the summary and every introspection
 * come from `registry` (a tool built on this library with a format of its own).
 */
export async function run(argv: readonly string[], registry: CliRegistry): Promise<number> {
  // `image-introspect glance upload|audit ...`: the Glance tool (src/glance/cli.ts).
  if (argv[0] === 'glance') return runGlanceCommand(argv.slice(1));
  let settings: Settings;
  try {
    settings = parseArguments(argv, registry);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${PROGRAM}: ${error.message}\nTry '${PROGRAM} --help' for the options, formats and checks.\n`);
    return 2;
  }
  if (settings.help) {
    process.stdout.write(`${helpText(registry)}\n`);
    return 0;
  }
  if (settings.version) {
    process.stdout.write(`${await readVersion()}\n`);
    return 0;
  }
  if (settings.files.length === 0) {
    process.stderr.write(`${PROGRAM}: no file given\n${helpText(registry)}\n`);
    return 2;
  }

  const controller = new AbortController();
  let outputClosed = false;
  const terminal = new Terminal(process.stdout, process.stderr, () => {
    outputClosed = true;
    controller.abort();
  });
  const progress = new Progress(process.stderr);
  if (progress.enabled && process.stdout.isTTY === true) terminal.beforeWrite = () => progress.clear();
  const sink = createSink(settings.output, terminal);
  const status = new ExitStatus();
  let count = 0;

  let reported = false;
  const reportInterrupted = (): number => {
    if (!reported) {
      reported = true;
      progress.stop();
      sink.finish();
      terminal.error(`interrupted: ${count} image${count === 1 ? '' : 's'} finished`);
    }
    return INTERRUPTED;
  };
  const onInterrupt = () => {
    controller.abort();
    // A second Ctrl-C, or images that take too long to let go, end the command at once.
    process.once('SIGINT', () => process.exit(reportInterrupted()));
    setTimeout(() => process.exit(reportInterrupted()), INTERRUPT_GRACE_MS).unref();
  };
  process.once('SIGINT', onInterrupt);

  let interrupted = false;
  try {
    const counted: ResultSink = {
      add(result) {
        count += 1;
        sink.add(result);
      },
      finish: () => sink.finish(),
    };
    interrupted = await runBatch(settings, terminal, counted, status, progress, controller.signal);
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    progress.stop();
  }
  if (!outputClosed && interrupted) reportInterrupted();
  else if (!outputClosed) {
    sink.finish();
    if (count === 0) terminal.error('no image to introspect');
  }
  // A write to a closed pipe fails in the next tick: let it, before deciding the status.
  await new Promise((resolve) => setImmediate(resolve));
  // The reader closed standard output (| head): it has what it wanted; nothing failed.
  if (outputClosed) return 0;
  return interrupted ? INTERRUPTED : status.code;
}
