/**
 * The command line's worker threads (`-j N`, N > 1, with IMAGE_INTROSPECT_THREADS allowing
 * more than one thread whatever the CPUs: by default a batch leaves one CPU to V8's own
 * threads, so a two-CPU machine would use one): the batch really runs on more than
 * one thread (each thread of a Node process writes its own `--cpu-prof` profile), prints
 * the same results as the single-threaded `-j 1` (the oracle: the command's own main-thread
 * path, which the other CLI tests compare with single-file `--json` and qemu-img), passes
 * the command's options to the workers, ends on Ctrl-C with exactly what it says
 * finished, and keeps a custom registry (given to `run`) on the main thread. Nothing here
 * is timed.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../src/cli/main.js';
import { defaultRegistry } from '../src/cli/names.js';
import { THREADS_VARIABLE, threadBudget, workerThreadsFor } from '../src/cli/workers.js';
import { allFormats } from '../src/defaults.js';
import { fixtures, fixtureBytes, projectRoot } from './helpers/fixtures.js';
import { startNode } from './helpers/running-command.js';

const cli = join(projectRoot, 'dist', 'cli.js');
const builtWorker = pathToFileURL(join(projectRoot, 'dist', 'cli-worker.js'));
const work = mkdtempSync(join(tmpdir(), 'image-introspect-cli-workers-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Fixtures of many formats (every committed one of these folders up to 4 MiB, three times
 * over: enough files that the worker gets its share while it starts), a truncated one and
 * a file that is not an image, in subfolders.
 */
function fixtureFolder(): string {
  const folder = join(work, 'fixtures');
  for (const copy of ['a', 'b', 'c']) mkdirSync(join(folder, copy, 'sub'), { recursive: true });
  for (const directory of ['qcow2', 'vmdk', 'vhd', 'vhdx', 'vdi', 'qed', 'parallels', 'iso', 'raw', 'gzip', 'ova']) {
    for (const fixture of fixtures(directory)) {
      const bytes = fixture.bytes();
      if (bytes.byteLength > 4 * 1024 * 1024) continue;
      for (const copy of ['a', 'b', 'c']) writeFileSync(join(folder, copy, directory === 'raw' ? 'sub' : '.', `${directory}-${fixture.name}`), bytes);
    }
  }
  writeFileSync(join(folder, 'truncated.vmdk'), fixtureBytes('vmdk', 'sparse-ide.vmdk').subarray(0, 200));
  writeFileSync(join(folder, 'a', 'sub', 'notes.txt'), 'not an image\n');
  return folder;
}
const folder = fixtureFolder();
/** Two threads allowed, whatever the CPUs. */
const twoThreads = { [THREADS_VARIABLE]: '2' };

/** Runs the built command (with `node` options before it, such as --cpu-prof), two threads allowed unless `env` says otherwise. */
function command(args: string[], nodeOptions: string[] = [], env: Record<string, string> = twoThreads) {
  const result = spawnSync(process.execPath, [...nodeOptions, cli, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * How many threads of the command ran JavaScript (each writes its own profile with
 * --cpu-prof, named `CPU.<date>.<time>.<pid>.<thread id>.<n>.cpuprofile`, thread 0 the
 * main one), and how many of the others were seen introspecting a file.
 */
function threadsOf(args: string[], env: Record<string, string> = twoThreads): { threads: number; introspecting: number } {
  const profiles = mkdtempSync(join(work, 'profiles-'));
  command(args, ['--cpu-prof', `--cpu-prof-dir=${profiles}`], env);
  const names = readdirSync(profiles).filter((name) => name.endsWith('.cpuprofile'));
  const workers = names.filter((name) => name.split('.')[4] !== '0');
  const introspecting = workers.filter((name) => {
    const profile = JSON.parse(readFileSync(join(profiles, name), 'utf8')) as { nodes: Array<{ callFrame: { functionName: string } }> };
    return profile.nodes.some((node) => node.callFrame.functionName === 'introspectFile');
  });
  return { threads: names.length, introspecting: introspecting.length };
}

const sortedLines = (text: string) => text.split('\n').filter((line) => line !== '').sort();
/** Text mode's summaries (each starts with `image: `), sorted: the order is the completion order. */
const sortedSummaries = (text: string) => text.split(/^(?=image: )/m).map((block) => block.trim()).sort();

describe('the CLI on worker threads', () => {
  it('-j 2 runs on a worker thread besides the main one, -j 1 and a single file on one thread', () => {
    expect(threadsOf(['--ndjson', '-r', '-j', '2', folder])).toEqual({ threads: 2, introspecting: 1 });
    expect(threadsOf(['--ndjson', '-r', '-j', '1', folder]).threads).toBe(1);
    expect(threadsOf(['--ndjson', '-j', '2', join(folder, 'truncated.vmdk')]).threads).toBe(1);
    // Never more threads than allowed, whatever -j says; never more than -j.
    expect(threadsOf(['--ndjson', '-r', '-j', '64', folder], { [THREADS_VARIABLE]: '3' }).threads).toBe(3);
    expect(threadsOf(['--ndjson', '-r', '-j', '2', folder], { [THREADS_VARIABLE]: '3' }).threads).toBe(2);
    // By default one CPU is left to V8's own threads.
    expect(threadsOf(['--ndjson', '-r', '-j', '64', folder], {}).threads).toBe(Math.min(Math.max(availableParallelism() - 1, 1), 16));
  });

  it('the thread budget: IMAGE_INTROSPECT_THREADS when it is a whole number from 1, else one less than the CPUs', () => {
    expect(threadBudget({}, 2)).toBe(1);
    expect(threadBudget({}, 1)).toBe(1);
    expect(threadBudget({}, 8)).toBe(7);
    expect(threadBudget({ [THREADS_VARIABLE]: '3' }, 2)).toBe(3);
    expect(threadBudget({ [THREADS_VARIABLE]: '0' }, 8)).toBe(7);
    expect(threadBudget({ [THREADS_VARIABLE]: 'many' }, 8)).toBe(7);
  });

  // Each with what shows that its options took effect (so that the workers must have had them).
  const variants: Array<[string, string[], (text: string) => unknown, RegExp[]]> = [
    ['NDJSON', ['--ndjson'], sortedLines, [/"code":"TRUNCATED"/]],
    ['text', ['--output=human'], sortedSummaries, [/^image: /m]],
    [
      'JSON with --backing-chain, --expect and --allow-check',
      ['--json', '--backing-chain', '--expect', 'qcow2', '--allow-check', 'backing_file'],
      (text) => JSON.parse(text),
      [/"FORMAT_MISMATCH"/, /"backingFile"/, /"name": "backing_file",\s+"passed": false,[^}]*"waived": true/],
    ],
    ['NDJSON with --inspect-guest and a module flag', ['--ndjson', '--inspect-guest', '--vmdk-allowed-types', 'monolithicFlat'], sortedLines, [/"guest":\{/, /is not allowed \(allowed: monolithicFlat\)/]],
    ['Glance properties', ['--glance'], (text) => JSON.parse(text), [/"disk_format"/]],
  ];
  for (const [title, args, normalize, effect] of variants) {
    it(`${title}: -j 2 prints what -j 1 prints, with the same errors and exit status`, () => {
      const single = command([...args, '-r', '-j', '1', folder]);
      const threaded = command([...args, '-r', '-j', '2', folder]);
      for (const shown of effect) expect(single.stdout).toMatch(shown);
      expect(threaded.status).toBe(single.status);
      expect(normalize(threaded.stdout)).toEqual(normalize(single.stdout));
      expect(sortedLines(threaded.stderr)).toEqual(sortedLines(single.stderr));
    });
  }
});

describe('Ctrl-C on worker threads', () => {
  it('in the middle of a batch: exits 130 and prints exactly the images it says finished', async () => {
    const big = join(work, 'big');
    mkdirSync(big);
    const first = join(big, 'img-00000.qcow2');
    writeFileSync(first, fixtureBytes('qcow2', 'v3-empty.qcow2'));
    for (let index = 1; index < 3000; index += 1) copyFileSync(first, join(big, `img-${String(index).padStart(5, '0')}.qcow2`));
    // Standard input comes first and stays open: the batch cannot end before the interruption.
    const running = startNode(cli, ['--ndjson', '-j', '4', '-', big], twoThreads);
    await running.until((command) => command.stdout.split('\n').length > 20);
    running.child.kill('SIGINT');
    expect((await running.exited).code).toBe(130);
    const finished = Number(/interrupted: (\d+) images? finished/.exec(running.stderr)?.[1]);
    const objects = running.stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { filename: string; format: string });
    expect(objects).toHaveLength(finished);
    expect(finished).toBeGreaterThanOrEqual(20);
    expect(new Set(objects.map((object) => object.filename)).size).toBe(finished);
    expect(objects.every((object) => object.format === 'qcow2' && object.filename.startsWith(big))).toBe(true);
    expect(running.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('a custom registry', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('keeps the batch on the main thread (its modules cannot cross to a worker); the built-in one may use workers', () => {
    expect(workerThreadsFor(2, { formats: allFormats, containers: defaultRegistry.containers }, builtWorker, 4)).toBe(0);
    expect(workerThreadsFor(1, defaultRegistry, builtWorker, 4)).toBe(0);
    expect(workerThreadsFor(2, defaultRegistry, builtWorker, 4)).toBe(1);
    expect(workerThreadsFor(8, defaultRegistry, builtWorker, 4)).toBe(3);
    expect(workerThreadsFor(8, defaultRegistry, builtWorker, 1)).toBe(0);
    expect(workerThreadsFor(2, defaultRegistry, new URL('./no-such-worker.js', builtWorker), 4)).toBe(0);
  });

  it('introspects every image of a -j 2 batch with its own modules', async () => {
    // A registry without qcow2: every qcow2 image must come out as something else.
    const formats = allFormats.filter((module) => module.name !== 'qcow2');
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await run(['--ndjson', '-j', '2', join(folder, 'a')], { formats, containers: defaultRegistry.containers });
    vi.restoreAllMocks();
    const objects = sortedLines(stdout).map((line) => JSON.parse(line) as { filename: string; format?: string });
    const qcow2Files = objects.filter((object) => object.filename.includes('/qcow2-'));
    expect(qcow2Files.length).toBe(readdirSync(join(folder, 'a')).filter((name) => name.startsWith('qcow2-')).length);
    expect(objects.some((object) => object.format === 'qcow2')).toBe(false);
    expect(objects.some((object) => object.format === 'vmdk')).toBe(true);
  });
});
