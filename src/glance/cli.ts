/**
 * The `glance` commands of `image-introspect` (Node only).
 *
 * ```
 * image-introspect glance upload FILE|URL|- --name NAME [--property K=V]... [--disk-format F]
 *                                [--allow-check NAME]... [--distro-names glance|libosinfo] [--json]
 * image-introspect glance audit [--apply] [--json] [-j N] [--allow-check NAME]...
 * ```
 *
 * Both take the OpenStack client's connection options: `--os-cloud NAME` (`clouds.yaml`),
 * `--os-auth-url`, `--os-username`, `--os-password`, `--os-project-name`,
 * `--os-application-credential-id`/`-secret`, `--os-token`, `--os-region-name`,
 * `--os-interface`, `--os-auth-type none --os-endpoint URL`, ... and the `OS_*` variables.
 *
 * | exit status | upload | audit |
 * | --- | --- | --- |
 * | 0 | uploaded and verified | no image has a problem |
 * | 1 | refused (unsafe, or the content contradicts `--disk-format`); nothing left in Glance | an image has a problem |
 * | 2 | failed (arguments, authentication, Glance, the source); nothing left in Glance | the audit could not be completed |
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fieldError, isIntrospectionError } from '../errors.js';
import type { ImageInfo } from '../index.js';
import type { ImageSource } from '../reading/open.js';
import { type AuditEntry, applyProposals, auditImages } from './audit.js';
import { GlanceClient, type JsonPatchOperation } from './client.js';
import { send } from './http.js';
import type { OsDistroVocabulary } from './declaration.js';
import { resolveAuthOptions } from './node-config.js';
import { glanceProperties } from './properties.js';
import { uploadImage } from './upload.js';

const usage = `Usage:
  image-introspect glance upload FILE|URL|- --name NAME [--property KEY=VALUE]... [--disk-format FORMAT]
                                 [--allow-check NAME]... [--distro-names glance|libosinfo] [--json]
  image-introspect glance audit [--apply] [--json] [-j N] [--allow-check NAME]...

upload  reads the image once: creates it in Glance with the properties its bytes prove
        (disk_format, container_format, min_disk, vmware_*, hw_firmware_type, os_*), streams
        it, and compares Glance's size and SHA-512 with its own. Refuses an unsafe image, or
        one whose content contradicts --disk-format (exit 1); never leaves a record behind.
audit   reads every image by ranges and reports where the declared formats or properties
        contradict the content, and unsafe content (exit 1 if any); --apply adds the missing
        properties it proposes (never disk_format, container_format or the data).

Connection (as the OpenStack client): --os-cloud NAME (clouds.yaml), --os-auth-url URL,
--os-username, --os-password, --os-project-name, --os-user-domain-name,
--os-project-domain-name, --os-application-credential-id, --os-application-credential-secret,
--os-token, --os-region-name, --os-interface, --os-auth-type none --os-endpoint URL, and
the OS_* environment variables.`;

/** Where the command reads and writes (the process's own by default; tests pass theirs). */
export interface GlanceCommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  stdin: ImageSource;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

interface ParsedArguments {
  positional: string[];
  os: Record<string, string>;
  values: Map<string, string[]>;
  flags: Set<string>;
}

const VALUE_OPTIONS = new Set(['--name', '--property', '--disk-format', '--allow-check', '--distro-names', '-j', '--jobs']);
const FLAG_OPTIONS = new Set(['--json', '--apply', '-h', '--help']);

class UsageError extends Error {}

function parseArguments(argv: readonly string[]): ParsedArguments {
  const parsed: ParsedArguments = { positional: [], os: {}, values: new Map(), flags: new Set() };
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index] as string;
    const [option, inline] = argument.startsWith('--') && argument.includes('=') ? [argument.slice(0, argument.indexOf('=')), argument.slice(argument.indexOf('=') + 1)] : [argument, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      index += 1;
      const next = argv[index];
      if (next === undefined) throw new UsageError(`${option} needs a value`);
      return next;
    };
    if (option.startsWith('--os-')) parsed.os[option.slice(5).replace(/-/g, '_')] = value();
    else if (VALUE_OPTIONS.has(option)) parsed.values.set(option, [...(parsed.values.get(option) ?? []), value()]);
    else if (FLAG_OPTIONS.has(option)) parsed.flags.add(option);
    else if (option.startsWith('-') && option !== '-') throw new UsageError(`unknown option ${option}`);
    else parsed.positional.push(argument);
  }
  return parsed;
}

/**
 * Runs `image-introspect glance ...` with `argv` (the arguments after `glance`); resolves
 * to the exit status.
 */
export async function runGlanceCommand(argv: readonly string[], io: GlanceCommandIo = processIo()): Promise<number> {
  const fail = (message: string) => {
    io.stderr.write(`image-introspect glance: ${message}\n`);
    return 2;
  };
  let parsed: ParsedArguments;
  try {
    parsed = parseArguments(argv);
  } catch (error) {
    return fail(`${(error as Error).message}\n${usage}`);
  }
  const [command, ...rest] = parsed.positional;
  if (parsed.flags.has('-h') || parsed.flags.has('--help')) {
    io.stdout.write(`${usage}\n`);
    return 0;
  }
  if (command === undefined) return fail(`no command given\n${usage}`);
  try {
    if (command === 'upload') return await upload(rest, parsed, io);
    if (command === 'audit') return await audit(rest, parsed, io);
    return fail(`unknown command ${command}\n${usage}`);
  } catch (error) {
    if (error instanceof UsageError) return fail(`${error.message}\n${usage}`);
    return fail(isIntrospectionError(error) || error instanceof Error ? error.message : String(error));
  }
}

async function connect(parsed: ParsedArguments, io: GlanceCommandIo): Promise<GlanceClient> {
  return GlanceClient.connect(await resolveAuthOptions({ options: parsed.os, env: io.env, cwd: io.cwd }));
}

function allowChecks(parsed: ParsedArguments): { allowChecks?: string[] } {
  const checks = parsed.values.get('--allow-check');
  return checks ? { allowChecks: checks } : {};
}

function single(parsed: ParsedArguments, option: string): string | undefined {
  const values = parsed.values.get(option);
  if (values && values.length > 1) throw new UsageError(`${option} given more than once`);
  return values?.[0];
}

// ---------------------------------------------------------------------------------------
// upload

async function upload(positional: string[], parsed: ParsedArguments, io: GlanceCommandIo): Promise<number> {
  if (positional.length !== 1) throw new UsageError('upload takes one FILE, URL or -');
  const location = positional[0] as string;
  const name = single(parsed, '--name');
  if (name === undefined) throw new UsageError('upload needs --name');
  const properties: Record<string, string> = {};
  for (const pair of parsed.values.get('--property') ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--property takes KEY=VALUE, not "${pair}"`);
    properties[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const distroNames = single(parsed, '--distro-names');
  if (distroNames !== undefined && distroNames !== 'glance' && distroNames !== 'libosinfo') throw new UsageError('--distro-names is glance or libosinfo');
  const diskFormat = single(parsed, '--disk-format');

  const client = await connect(parsed, io);
  const { source, total } = await openSource(location, io);
  const progress = io.stderr.isTTY ? progressBar(io.stderr, total) : undefined;
  const outcome = await uploadImage(client, source, {
    name,
    properties,
    ...(diskFormat !== undefined && { diskFormat }),
    ...allowChecks(parsed),
    ...(distroNames !== undefined && { osDistro: distroNames as OsDistroVocabulary }),
    createHash: () => {
      const hash = createHash('sha512');
      return { update: (chunk) => hash.update(chunk), digest: () => hash.digest('hex') };
    },
    ...(progress && { onProgress: progress.update }),
  }).finally(() => progress?.done());

  for (const warning of outcome.warnings) io.stderr.write(`image-introspect glance: warning: ${warning}\n`);
  if (parsed.flags.has('--json')) {
    const { info: _info, ...rest } = outcome;
    io.stdout.write(`${JSON.stringify({ ...rest, format: outcome.info.format, virtualSize: outcome.info.virtualSize, safety: outcome.info.safety }, null, 2)}\n`);
  }
  if (outcome.status === 'refused') {
    io.stderr.write(`image-introspect glance: refused ${location}: ${outcome.reason}${outcome.deleted ? ' (the image record was deleted)' : ''}\n`);
    return 1;
  }
  if (!parsed.flags.has('--json')) {
    const shown = Object.entries(outcome.properties).map(([key, value]) => `${key}=${value}`).join(' ');
    const checksum = outcome.sha512 === undefined ? '' : ', sha512 verified';
    io.stdout.write(`${outcome.image.id} ${outcome.image.name ?? ''}: ${outcome.image.status}, ${outcome.size} bytes${checksum}\n  ${shown}\n`);
  }
  return 0;
}

/** The source as a stream, and its length when known (for the progress bar). */
async function openSource(location: string, io: GlanceCommandIo): Promise<{ source: ImageSource; total: number | undefined }> {
  if (location === '-') return { source: io.stdin, total: undefined };
  if (/^https?:\/\//i.test(location)) {
    const response = await send(fetch, { method: 'GET', url: location });
    if (response.body === null) throw fieldError('SOURCE_ERROR', 'source', `GET ${location} answered ${response.status} with no body`);
    const length = Number(response.headers.get('Content-Length') ?? Number.NaN);
    return { source: response.body, total: Number.isSafeInteger(length) ? length : undefined };
  }
  const stats = await stat(location).catch((error: Error) => {
    throw fieldError('SOURCE_ERROR', 'source', `cannot read ${location}: ${error.message}`);
  });
  if (!stats.isFile()) throw fieldError('INVALID_ARGUMENT', 'source', `${location} is not a file`);
  return { source: createReadStream(location, { highWaterMark: 1024 * 1024 }), total: stats.size };
}

/** A one-line progress bar on a terminal, redrawn at most ten times a second. */
function progressBar(stream: { write(text: string): unknown }, total: number | undefined): { update(bytes: number): void; done(): void } {
  const started = Date.now();
  let drawn = 0;
  let last = 0;
  const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
  const draw = (bytes: number) => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = `${mib(bytes / seconds)}/s`;
    if (total !== undefined && total > 0) {
      const fraction = Math.min(bytes / total, 1);
      const width = 30;
      const filled = Math.round(fraction * width);
      stream.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${mib(bytes)} of ${mib(total)} ${rate}   `);
    } else stream.write(`\r${mib(bytes)} ${rate}   `);
    drawn = bytes;
  };
  return {
    update(bytes) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      draw(bytes);
    },
    done() {
      if (last !== 0) {
        draw(drawn);
        stream.write('\n');
      }
    },
  };
}

// ---------------------------------------------------------------------------------------
// audit

async function audit(positional: string[], parsed: ParsedArguments, io: GlanceCommandIo): Promise<number> {
  if (positional.length > 0) throw new UsageError('audit takes no file');
  const jobs = single(parsed, '-j') ?? single(parsed, '--jobs');
  if (jobs !== undefined && !/^[1-9]\d*$/.test(jobs)) throw new UsageError('-j takes a positive number');
  const json = parsed.flags.has('--json');
  const client = await connect(parsed, io);
  const entries = await auditImages(client, {
    ...allowChecks(parsed),
    ...(jobs !== undefined && { concurrency: Number(jobs) }),
  });
  const applied = new Map<string, JsonPatchOperation[]>();
  if (parsed.flags.has('--apply')) {
    for (const { id, operations } of await applyProposals(client, entries)) applied.set(id, operations);
  }
  if (json) {
    const output = entries.map((entry) => (applied.has(entry.id) ? { ...entry, applied: applied.get(entry.id) } : entry));
    io.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  } else io.stdout.write(auditReport(entries, applied));
  if (entries.some((entry) => entry.error !== undefined)) {
    for (const entry of entries) if (entry.error) io.stderr.write(`image-introspect glance: ${entry.id}: ${entry.error}\n`);
    return 2;
  }
  return entries.some((entry) => entry.problems.length > 0) ? 1 : 0;
}

function auditReport(entries: readonly AuditEntry[], applied: ReadonlyMap<string, JsonPatchOperation[]>): string {
  const lines: string[] = [];
  let bytes = 0;
  let requests = 0;
  for (const entry of entries) {
    bytes += entry.reads?.bytes ?? 0;
    requests += entry.reads?.requests ?? 0;
    const label = `${entry.id} ${JSON.stringify(entry.name ?? '')}`;
    const declared = `declared ${entry.declared.disk_format ?? '-'}/${entry.declared.container_format ?? '-'}`;
    if (entry.skipped) lines.push(`skip     ${label}: ${entry.skipped}`);
    else if (entry.error) lines.push(`error    ${label}: ${entry.error}`);
    else if (entry.problems.length > 0) lines.push(`PROBLEM  ${label}: ${declared}, content ${entry.detected?.format ?? '?'}`, ...entry.problems.map((problem) => `           ${problem}`));
    else lines.push(`ok       ${label}: ${declared}, content ${entry.detected?.format ?? '?'}`);
    for (const note of entry.notes) lines.push(`           note: ${note}`);
    const proposed = Object.entries(entry.proposed).map(([key, value]) => `${key}=${value}`);
    if (proposed.length > 0) lines.push(`           ${applied.has(entry.id) ? 'applied' : 'proposed'}: ${proposed.join(' ')}`);
  }
  const withProblems = entries.filter((entry) => entry.problems.length > 0).length;
  lines.push(`${entries.length} images, ${withProblems} with problems; read ${bytes} bytes in ${requests} range requests`);
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------
// --glance

/**
 * What `image-introspect --glance FILE...` prints: for one file its property object, for
 * several an array of `{ filename, properties }` (files that could not be read are left
 * out; the main command reports them).
 */
export function glancePropertiesOutput(outcomes: ReadonlyArray<{ filename: string; info?: ImageInfo | undefined }>): string {
  const results = outcomes.flatMap((outcome) => (outcome.info ? [{ filename: outcome.filename, properties: glanceProperties(outcome.info) }] : []));
  const output = outcomes.length === 1 ? (results[0]?.properties ?? {}) : results;
  return `${JSON.stringify(output, null, 2)}\n`;
}

function processIo(): GlanceCommandIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}
