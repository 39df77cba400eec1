#!/usr/bin/env node
/**
 * The `image-introspect` command (Node only): see `docs/cli.md`.
 *
 * ```
 * image-introspect [--json|--ndjson] [-j N] [-r] [--expect FORMAT] [--allow-check CHECK]... FILE|DIRECTORY|- ...
 * ```
 *
 * | exit status | meaning |
 * | --- | --- |
 * | 0 | every image was introspected and is safe |
 * | 1 | an image failed a safety check, or is not the `--expect`ed format |
 * | 2 | an image could not be introspected, or the arguments were wrong |
 * | 130 | interrupted (Ctrl-C); what finished is printed |
 *
 * No stack trace ever reaches the terminal: an unexpected failure prints one line and
 * exits 2.
 *
 * @module
 */
import { main } from './cli/main.js';
import { PROGRAM, oneLine } from './cli/output.js';

function fatal(error: unknown): never {
  try {
    process.stderr.write(`${PROGRAM}: unexpected failure: ${oneLine(error)}\n`);
  } catch {
    // Nowhere left to say it.
  }
  process.exit(2);
}

process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

main(process.argv.slice(2)).then((status) => {
  process.exitCode = status;
  // Output is written synchronously; anything still holding the event loop (a stalled
  // standard input) must not keep a finished command alive.
  setTimeout(() => process.exit(), 200).unref();
}, fatal);
