#!/usr/bin/env node
/**
 * The `image-introspect` command (Node only).
 *
 * ```
 * image-introspect [--json] [--expect FORMAT] [--allow-check NAME]... FILE|DIRECTORY|- ...
 * ```
 *
 * | exit status | meaning |
 * | --- | --- |
 * | 0 | every file was introspected |
 * | 1 | a file failed a safety check, or is not the `--expect`ed format |
 * | 2 | a file could not be introspected, or the arguments were wrong |
 *
 * @module
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { allFormats } from '../formats/index.js';
import { isIntrospectionError } from './errors.js';
import type { AnyFormatModule } from './format-module.js';
import type { ImageInfo, IntrospectOptions } from './index.js';
import { chainOf, introspectStandardInput, introspectUrlArgument, isUrlArgument, parseHeaderArgument } from './cli-remote.js';
import { introspectFile } from './node.js';
import { formatSummary } from './summary.js';

const usage = `Usage: image-introspect [options] FILE|DIRECTORY|URL|- ...

Reads the metadata inside virtual-machine disk images (VMDK, raw, ...).
A directory stands for the files directly in it; an http:// or https:// URL is read by
range requests; - reads standard input as a stream (curl --fail URL | image-introspect -).

Options:
  --json                 print the results as JSON (an object for one file, an array for several)
  --expect FORMAT        fail a file whose content is not FORMAT (reading stops as soon as it cannot be)
  --allow-check NAME     treat a failed safety check NAME as a warning (repeatable)
  --vmdk-allowed-types T comma-separated VMDK createTypes the descriptor check accepts
                         (default monolithicSparse,streamOptimized)
  --backing-chain        also read each backing image (--json: an array, the image first)
  --header 'NAME: VALUE' send this header with every request to a URL (repeatable)
  -h, --help             show this help
  --version              print the version

Exit status: 0 when every file was introspected and is safe, 1 when a file failed a
safety check or was not the expected format, 2 when a file could not be introspected.`;

interface Outcome {
  filename: string;
  info?: ImageInfo;
  error?: { code: string; message: string };
}

type CliOptions = {
  expectedFormat?: ImageInfo['format'];
  allowChecks?: NonNullable<IntrospectOptions<(typeof allFormats)[number]>['allowChecks']>;
  vmdkAllowedTypes?: readonly string[];
  backingChain?: boolean;
  headers?: Record<string, string>;
};

async function expand(argument: string): Promise<string[]> {
  if (argument === '-' || isUrlArgument(argument)) return [argument];
  try {
    const stats = await stat(argument);
    if (stats.isDirectory()) {
      const entries = await readdir(argument, { withFileTypes: true });
      return entries
        .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
        .map((entry) => join(argument, entry.name))
        .sort();
    }
  } catch {
    // Let introspection report the missing file with its own message.
  }
  return [argument];
}

async function introspectOne(filename: string, options: CliOptions): Promise<Outcome> {
  try {
    const { headers, ...fileOptions } = options;
    const info =
      filename === '-' ? await introspectStandardInput(fileOptions) : isUrlArgument(filename) ? await introspectUrlArgument(filename, options) : await introspectFile(filename, fileOptions);
    return { filename, info };
  } catch (error) {
    if (isIntrospectionError(error)) return { filename, error: { code: error.code, message: error.message } };
    const message = error instanceof Error ? error.message : String(error);
    return { filename, error: { code: 'INTERNAL', message } };
  }
}

function formatModuleFor(name: string): AnyFormatModule | undefined {
  return (allFormats as readonly AnyFormatModule[]).find((module) => module.name === name);
}

async function readVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const packageJson = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return packageJson.version;
}

export async function main(argv: string[]): Promise<number> {
  const files: string[] = [];
  let json = false;
  const options: CliOptions = {};
  const allowChecks: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index] as string;
    const value = (): string | undefined => {
      index += 1;
      return argv[index];
    };
    if (argument === '--json') json = true;
    else if (argument === '--backing-chain') options.backingChain = true;
    else if (argument === '--header') {
      const header = parseHeaderArgument(value() ?? '');
      if ('error' in header) {
        process.stderr.write(`image-introspect: ${header.error}\n`);
        return 2;
      }
      options.headers = { ...options.headers, [header.name]: header.value };
    }
    else if (argument === '--expect' || argument === '--allow-check' || argument === '--vmdk-allowed-types') {
      const given = value();
      if (given === undefined || given === '') {
        process.stderr.write(`image-introspect: ${argument} needs a value\n`);
        return 2;
      }
      if (argument === '--expect') options.expectedFormat = given as ImageInfo['format'];
      else if (argument === '--allow-check') allowChecks.push(given);
      else options.vmdkAllowedTypes = given.split(',').map((type) => type.trim()).filter((type) => type !== '');
    }
    else if (argument === '-h' || argument === '--help') {
      process.stdout.write(`${usage}\n`);
      return 0;
    } else if (argument === '--version') {
      process.stdout.write(`${await readVersion()}\n`);
      return 0;
    } else if (argument.startsWith('-') && argument !== '-') {
      process.stderr.write(`image-introspect: unknown option ${argument}\n${usage}\n`);
      return 2;
    } else files.push(...(await expand(argument)));
  }
  if (files.length === 0) {
    process.stderr.write(`image-introspect: no file given\n${usage}\n`);
    return 2;
  }

  if (allowChecks.length > 0) options.allowChecks = allowChecks as CliOptions['allowChecks'];
  const outcomes: Outcome[] = [];
  for (const filename of files) outcomes.push(await introspectOne(filename, options));

  for (const outcome of outcomes) {
    if (outcome.error) process.stderr.write(`image-introspect: ${outcome.filename}: ${outcome.error.message}\n`);
  }
  if (json) {
    const objects = outcomes.map((outcome) => (outcome.info ? (options.backingChain ? chainOf(outcome.filename, outcome.info) : { filename: outcome.filename, ...outcome.info }) : outcome));
    process.stdout.write(`${JSON.stringify(objects.length === 1 ? objects[0] : objects, null, 2)}\n`);
  } else {
    const blocks = outcomes
      .filter((outcome) => outcome.info !== undefined)
      .flatMap((outcome) => (options.backingChain ? chainOf(outcome.filename, outcome.info as ImageInfo) : [{ ...(outcome.info as ImageInfo), filename: outcome.filename }]))
      .map((info) => formatSummary(info.filename, info, formatModuleFor(info.format)));
    if (blocks.length > 0) process.stdout.write(`${blocks.join('\n')}`);
  }
  const policyFailure = (outcome: Outcome) => outcome.error?.code === 'FORMAT_MISMATCH' || (outcome.info !== undefined && !outcome.info.safety.safe);
  if (outcomes.some((outcome) => outcome.error !== undefined && outcome.error.code !== 'FORMAT_MISMATCH')) return 2;
  return outcomes.some(policyFailure) ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.stderr.write(`image-introspect: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
