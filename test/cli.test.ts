/**
 * The command line, run as a user runs it: `node dist/cli.js` (built by `npm test`).
 * Options, directories, errors and help; the batch behaviour is in cli-batch.test.ts and
 * the text against qemu-img in cli-summary.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allFormats } from '../formats/index.js';
import type { AnyFormatModule } from '../src/format-module.js';
import { type IntrospectionError, isIntrospectionError } from '../src/index.js';
import { introspectFile } from '../src/node.js';
import { fixtureBytes, projectRoot } from './helpers/fixtures.js';

const cli = join(projectRoot, 'dist', 'cli.js');
const work = mkdtempSync(join(tmpdir(), 'image-introspect-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Writes a committed fixture into `folder` (default: the work folder) and returns its path. */
function materialize(format: string, name: string, folder = work, as = name): string {
  mkdirSync(folder, { recursive: true });
  const path = join(folder, as);
  writeFileSync(path, fixtureBytes(format, name));
  return path;
}

function run(args: string[], options: { input?: Uint8Array; cwd?: string; nodeArgs?: string[] } = {}) {
  const result = spawnSync(process.execPath, [...(options.nodeArgs ?? []), cli, ...args], { input: options.input, cwd: options.cwd, encoding: 'utf8' });
  // No stack trace ever reaches the terminal.
  expect(`${result.stdout}${result.stderr}`).not.toMatch(/\n\s+at .*:\d+/);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const modules = allFormats as readonly AnyFormatModule[];
const checkNames = [...new Set([...modules.flatMap((module) => (module.checks ?? []).map((check) => check.name)), 'banned', 'multiple_formats', 'parse_error'])];

async function libraryError(path: string): Promise<IntrospectionError> {
  try {
    await introspectFile(path);
  } catch (error) {
    if (isIntrospectionError(error)) return error;
  }
  throw new Error(`${path} was expected to fail`);
}

describe('image-introspect (CLI)', () => {
  const sparse = materialize('vmdk', 'sparse-buslogic.vmdk');
  const stream = materialize('vmdk', 'stream.vmdk');

  it('prints a qemu-img-like summary, the CID in decimal', () => {
    const { status, stdout, stderr } = run([sparse]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout).toContain(`image: ${sparse}\nfile format: vmdk\nvirtual size: 64 MiB (67108864 bytes)\n`);
    expect(stdout).toContain('    create type: monolithicSparse');
    expect(stdout).toContain('adapter type: buslogic');
    // qemu-img prints the CID in decimal, as the JSON has it.
    const cid = (JSON.parse(run(['--json', sparse]).stdout) as { details: { cid: number } }).details.cid;
    expect(stdout).toContain(`    cid: ${cid}\n`);
  });

  it('prints one JSON object for one file and an array for several; --output=json is the same', () => {
    const one = run(['--json', stream]);
    expect(one.status).toBe(0);
    const parsed = JSON.parse(one.stdout) as { filename: string; format: string; virtualSize: number; details: { createType: string } };
    expect(parsed).toMatchObject({ filename: stream, format: 'vmdk', virtualSize: 4194304 });
    expect(parsed.details.createType).toBe('streamOptimized');
    expect(run(['--output=json', stream]).stdout).toBe(one.stdout);
    expect(run(['--output', 'JSON', stream]).stdout).toBe(one.stdout);
    expect(run(['--output=human', stream]).stdout).toBe(run([stream]).stdout);
    const several = run(['--json', sparse, stream]);
    const array = JSON.parse(several.stdout) as Array<{ filename: string }>;
    expect(array.map((entry) => entry.filename)).toEqual([sparse, stream]); // input order
  });

  it('reads standard input as a stream with -', () => {
    const { status, stdout } = run(['--json', '-'], { input: fixtureBytes('vmdk', 'stream.vmdk') });
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ filename: '-', format: 'vmdk', virtualSize: 4194304 });
  });

  it('refuses standard input twice at parse time', () => {
    const { status, stdout, stderr } = run(['-', '-'], { input: fixtureBytes('vmdk', 'stream.vmdk') });
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^image-introspect: standard input \(-\) can be read only once/);
  });

  it('exits 2 with one line per failure on stderr, naming the file once', () => {
    const truncated = join(work, 'truncated.vmdk');
    writeFileSync(truncated, fixtureBytes('vmdk', 'sparse-ide.vmdk').subarray(0, 200));
    const missing = join(work, 'missing.img');
    const { status, stdout, stderr } = run(['-j', '1', sparse, truncated, missing]);
    expect(status).toBe(2);
    expect(stdout).toContain('file format: vmdk'); // the good file is still reported
    const lines = stderr.trim().split('\n');
    expect(lines).toEqual([
      `image-introspect: ${truncated}: vmdk: sparse header: needs bytes 0..512, but the image ends at 200`,
      `image-introspect: ${missing}: cannot open: no such file or directory (ENOENT)`,
    ]);
    for (const [line, name] of [[lines[0], truncated], [lines[1], missing]] as const) expect(line?.split(name)).toHaveLength(2);
  });

  it('reports failures in JSON with code, message, format, field and offset, as the library raised them', async () => {
    const truncated = join(work, 'truncated.vmdk');
    const missing = join(work, 'missing.img');
    const { status, stdout } = run(['--json', truncated, missing]);
    expect(status).toBe(2);
    const [cut, absent] = JSON.parse(stdout) as Array<{ filename: string; error: Record<string, unknown> }>;
    const raised = await libraryError(truncated);
    expect(cut).toEqual({
      filename: truncated,
      error: { code: raised.code, message: raised.message, format: raised.format ?? null, field: raised.field ?? null, offset: raised.offset ?? null },
    });
    expect(cut?.error).toMatchObject({ code: 'TRUNCATED', format: 'vmdk', field: 'sparse header' });
    expect(absent).toEqual({
      filename: missing,
      error: { code: 'SOURCE_ERROR', message: 'cannot open: no such file or directory (ENOENT)', format: null, field: null, offset: null },
    });
  });

  it('exits 2 on a bad option or no file, 0 for --help and --version', () => {
    expect(run(['--bogus', sparse])).toMatchObject({ status: 2, stdout: '' });
    expect(run(['--json=yes', sparse])).toMatchObject({ status: 2, stderr: expect.stringMatching(/--json takes no value/) });
    expect(run(['--expect'])).toMatchObject({ status: 2, stderr: expect.stringMatching(/--expect needs a value/) });
    expect(run(['-j', '0', sparse])).toMatchObject({ status: 2, stderr: expect.stringMatching(/-j needs a whole number/) });
    expect(run(['--json', '--ndjson', sparse]).status).toBe(2);
    expect(run([]).status).toBe(2);
    expect(run(['--help'])).toMatchObject({ status: 0 });
    expect(run(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('takes --name=value, -jN, grouped short flags, and -- to end the options', () => {
    expect(run(['--jobs=2', '-j1', '-rj', '3', sparse]).status).toBe(0);
    const dashed = materialize('vmdk', 'stream.vmdk', work, '--json');
    const { status, stdout } = run(['--', '--json'], { cwd: work });
    expect(status).toBe(0);
    expect(stdout).toContain(`image: --json\nfile format: vmdk`);
    expect(dashed).toBe(join(work, '--json'));
  });

  it('validates --expect against the registry, accepting qemu\'s and Glance\'s spellings in any case', () => {
    const iso = materialize('iso', 'genisoimage-plain.iso');
    const vhd = materialize('vhd', 'dynamic-64M.vhd');
    const parallels = materialize('parallels', 'default.hds');
    expect(run(['--expect=iso', iso]).status).toBe(0);
    expect(run(['--expect', 'QCOW2', iso])).toMatchObject({ status: 1, stderr: expect.stringMatching(/FORMAT_MISMATCH|not qcow2|qcow2/) });
    expect(run(['--expect', 'vpc', vhd]).status).toBe(0);
    expect(run(['--expect=VHD', vhd]).status).toBe(0);
    expect(run(['--expect', 'ploop', parallels]).status).toBe(0);
    const bad = run(['--expect', 'vpc2', iso]);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    for (const module of modules) expect(bad.stderr).toContain(module.name);
  });

  it('validates --allow-check names at parse time, listing the valid ones', () => {
    const backing = materialize('qcow2', 'backing-raw.qcow2');
    const typo = run(['--allow-check', 'backing-file', backing]);
    expect(typo.status).toBe(2);
    expect(typo.stdout).toBe('');
    expect(typo.stderr).toMatch(/unknown check "backing-file" \(did you mean backing_file\?\)/);
    for (const name of checkNames) expect(typo.stderr).toContain(name);
    expect(run([backing]).status).toBe(1);
    const waived = run(['--allow-check=BACKING_FILE', backing]);
    expect(waived.status).toBe(0);
    expect(waived.stdout).toMatch(/^waived check backing_file: /m);
  });

  it('--help lists every option, format and safety check from the registry', () => {
    const { stdout } = run(['--help']);
    for (const option of ['--json', '--ndjson', '--output', '--expect', '--allow-check', '--jobs', '--recursive', '--vmdk-allowed-types', '--version']) {
      expect(stdout).toContain(option);
    }
    for (const module of modules) expect(stdout).toMatch(new RegExp(`^  ${module.name} +${module.title.replace(/[()]/g, '\\$&')}`, 'm'));
    // Each check once, with the formats that declare it.
    for (const name of checkNames) {
      const declaring = modules.filter((module) => module.checks?.some((check) => check.name === name)).map((module) => module.name);
      const formats = declaring.length === 0 ? 'every format' : declaring.join(', ');
      expect(stdout).toMatch(new RegExp(`^  ${name} +\\S.*\\[${formats}\\]$`, 'm'));
    }
  });

  it('prints one line and exits 2 on an unexpected failure, never a stack trace', () => {
    // A standard output that throws on write: nothing the command expects.
    const hook = `data:text/javascript,${encodeURIComponent("process.stdout.write = () => { throw new TypeError('write exploded'); };")}`;
    const { status, stderr } = run([sparse], { nodeArgs: ['--import', hook] });
    expect(status).toBe(2);
    expect(stderr).toBe('image-introspect: unexpected failure: TypeError: write exploded\n');
  });
});

describe('image-introspect on directories', () => {
  const folder = join(work, 'store');
  const good = ['a.qcow2', 'b.vmdk', '.hidden-upload'];
  materialize('qcow2', 'v3-empty.qcow2', folder, 'a.qcow2');
  materialize('vmdk', 'stream.vmdk', folder, 'b.vmdk');
  materialize('qcow2', 'v2-empty.qcow2', folder, '.hidden-upload');
  materialize('vhd', 'dynamic-64M.vhd', join(folder, 'sub'), 'c.vhd');
  symlinkSync('..', join(folder, 'sub', 'up')); // a loop, with -r
  symlinkSync('nowhere', join(folder, 'dangling'));
  const links = join(work, 'links');
  mkdirSync(links);
  for (const name of good) symlinkSync(join(folder, name), join(links, `link-${name}`));
  const hasFifo = spawnSync('mkfifo', [join(folder, 'pipe')]).status === 0;

  const names = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { filename: string }).filename)
      .sort();

  it('takes the files in it, dot-files included, and says on stderr what it skipped', () => {
    const { status, stdout, stderr } = run(['--ndjson', folder]);
    expect(status).toBe(0);
    expect(names(stdout)).toEqual(good.map((name) => join(folder, name)).sort());
    expect(stderr).toContain(`image-introspect: skipped ${join(folder, 'sub')}: a directory (not recursive), use -r to include it\n`);
    expect(stderr).toContain(`image-introspect: skipped ${join(folder, 'dangling')}: a symbolic link to nothing usable`);
    if (hasFifo) expect(stderr).toContain(`image-introspect: skipped ${join(folder, 'pipe')}: not a regular file`);
  });

  it('follows symbolic links: a folder of links works', () => {
    const { status, stdout, stderr } = run(['--ndjson', links]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(names(stdout)).toEqual(good.map((name) => join(links, `link-${name}`)).sort());
  });

  it('descends with -r, and detects a link back to a directory being walked', () => {
    const { status, stdout, stderr } = run(['-r', '--ndjson', folder]);
    expect(status).toBe(0);
    expect(names(stdout)).toEqual([...good.map((name) => join(folder, name)), join(folder, 'sub', 'c.vhd')].sort());
    expect(stderr).toContain(`image-introspect: skipped ${join(folder, 'sub', 'up')}: a symbolic link loop`);
  });
});
