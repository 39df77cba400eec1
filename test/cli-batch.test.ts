/**
 * The command line on many images: results as they arrive, NDJSON lines equal to the
 * single-file JSON, `| head -1` quiet in every output mode, Ctrl-C printing what finished.
 * Ordering is observed by holding standard input (one of the inputs) open: whatever is
 * printed before it is fed was printed before the batch could end. Nothing here is timed.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Progress } from '../src/cli/progress.js';
import { fixtureBytes, projectRoot } from './helpers/fixtures.js';
import { type Running, startNode } from './helpers/running-command.js';

const cli = join(projectRoot, 'dist', 'cli.js');
const work = mkdtempSync(join(tmpdir(), 'image-introspect-cli-batch-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A folder of `count` safe images (copies of one small qcow2), named so that they sort. */
function safeFolder(name: string, count: number): string {
  const folder = join(work, name);
  mkdirSync(folder);
  const first = join(folder, 'img-00000.qcow2');
  writeFileSync(first, fixtureBytes('qcow2', 'v3-empty.qcow2'));
  for (let index = 1; index < count; index += 1) copyFileSync(first, join(folder, `img-${String(index).padStart(5, '0')}.qcow2`));
  return folder;
}

const many = safeFolder('many', 300);

/**
 * A folder of `count` safe images and a dangling link that sorts last: the link is
 * reported once every file before it has been taken from the walk, i.e. once all but the
 * last `jobs` have finished (a slot frees only when a result is consumed).
 */
function markedFolder(name: string, count: number): string {
  const folder = safeFolder(name, count);
  symlinkSync('nowhere', join(folder, 'zz-dangling'));
  return folder;
}
const stdinImage = fixtureBytes('vmdk', 'stream.vmdk');

function start(args: string[]): Running {
  return startNode(cli, args);
}

const lines = (text: string) => text.split('\n').filter((line) => line !== '');

describe('the CLI on a batch', () => {
  it('prints each NDJSON line as the single-file --json object', () => {
    const folder = join(work, 'mixed');
    mkdirSync(folder);
    const fixtures: Array<[string, string]> = [
      ['qcow2', 'backing-raw.qcow2'],
      ['qcow2', 'snapshots.qcow2'],
      ['vmdk', 'stream.vmdk'],
      ['vhd', 'dynamic-64M.vhd'],
      ['iso', 'genisoimage-plain.iso'],
      ['raw', 'mbr-logical.img'],
      ['qcow2', 'version-4.qcow2'],
    ];
    for (const [format, name] of fixtures) writeFileSync(join(folder, name), fixtureBytes(format, name));
    writeFileSync(join(folder, 'truncated.vmdk'), fixtureBytes('vmdk', 'sparse-ide.vmdk').subarray(0, 200));
    const missing = join(work, 'missing.img');
    const batch = spawnSync(process.execPath, [cli, '--ndjson', '-j', '3', folder, missing], { encoding: 'utf8' });
    expect(batch.status).toBe(2);
    const objects = lines(batch.stdout).map((line) => JSON.parse(line) as { filename: string; error?: { code: string } });
    expect(objects.map((object) => object.filename).sort()).toEqual([...fixtures.map(([, name]) => join(folder, name)), join(folder, 'truncated.vmdk'), missing].sort());
    expect(objects.filter((object) => object.error !== undefined).map((object) => object.error?.code).sort()).toEqual(['SOURCE_ERROR', 'TRUNCATED', 'UNSUPPORTED']);
    for (const object of objects) {
      const single = spawnSync(process.execPath, [cli, '--json', object.filename], { encoding: 'utf8' });
      expect(object).toEqual(JSON.parse(single.stdout));
    }
  });

  for (const mode of ['--ndjson', '--output=human']) {
    it(`${mode}: prints results as they finish, long before the batch ends`, async () => {
      // Standard input is the first input, and stays open: the batch cannot end before it is fed.
      const running = start([mode, '-j', '2', '-', many]);
      const printed = (text: string) => (mode === '--ndjson' ? lines(text).length : (text.match(/^image: /gm) ?? []).length);
      await running.until((command) => printed(command.stdout) === 300);
      expect(running.child.exitCode).toBeNull(); // all 300 printed while the first input is unfinished
      running.child.stdin.end(stdinImage);
      const { code } = await running.exited;
      expect(code).toBe(0);
      expect(printed(running.stdout)).toBe(301);
      expect(running.stderr).toBe('');
    });
  }

  it('--json keeps one array, in input order, printed at the end', async () => {
    const folder = markedFolder('json-order', 100);
    const running = start(['--json', '-j', '2', '-', folder]);
    await running.until((command) => command.stderr.includes('zz-dangling'));
    expect(running.stdout).toBe(''); // 99 or more finished, nothing printed yet
    running.child.stdin.end(stdinImage);
    const { code } = await running.exited;
    expect(code).toBe(0);
    const array = JSON.parse(running.stdout) as Array<{ filename: string; format: string }>;
    expect(array).toHaveLength(101);
    expect(array[0]).toMatchObject({ filename: '-', format: 'vmdk' });
    const names = array.slice(1).map((entry) => entry.filename);
    expect(names).toEqual([...names].sort());
  });

  for (const mode of ['--output=human', '--ndjson', '--json']) {
    it(`${mode} | head -1 exits 0 with nothing on stderr`, () => {
      const errors = join(work, `head${mode}.stderr`);
      const shell = spawnSync('bash', ['-c', `"${process.execPath}" "${cli}" ${mode} "${many}" 2>"${errors}" | head -1; echo "status \${PIPESTATUS[0]}"`], { encoding: 'utf8' });
      const [first, status] = lines(shell.stdout);
      expect(status).toBe('status 0');
      // Completion order: any of the images may come first.
      expect(first).toEqual(mode === '--ndjson' ? expect.stringMatching(/^\{"filename":/) : mode === '--json' ? '[' : expect.stringMatching(new RegExp(`^image: ${many}/img-\\d{5}\\.qcow2$`)));
      expect(spawnSync('cat', [errors], { encoding: 'utf8' }).stdout).toBe('');
    });
  }

  for (const mode of ['--ndjson', '--json']) {
    it(`${mode}: Ctrl-C prints what finished and exits 130`, async () => {
      const folder = markedFolder(`interrupted${mode}`, 50);
      const running = start([mode, '-j', '2', '-', folder]);
      await running.until((command) => command.stderr.includes('zz-dangling'));
      running.child.kill('SIGINT');
      const { code } = await running.exited;
      expect(code).toBe(130);
      const finished = Number(/interrupted: (\d+) images? finished/.exec(running.stderr)?.[1]);
      expect(finished).toBe(50); // every file; standard input was still open
      const objects: Array<{ filename: string; format: string }> = mode === '--ndjson' ? lines(running.stdout).map((line) => JSON.parse(line)) : JSON.parse(running.stdout);
      expect(objects).toHaveLength(finished);
      expect(objects.every((object) => object.format === 'qcow2' && object.filename.startsWith(folder))).toBe(true);
      expect(running.stderr).not.toMatch(/\n\s+at /);
    });
  }
});

describe('the progress line', () => {
  const fakeStream = (isTTY: boolean) => {
    const written: string[] = [];
    return { stream: { isTTY, columns: 40, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream, written };
  };

  it('is off when standard error is not a terminal', () => {
    const { stream, written } = fakeStream(false);
    const progress = new Progress(stream);
    expect(progress.enabled).toBe(false);
    progress.started('a');
    progress.finished();
    progress.stop();
    expect(written).toEqual([]);
  });

  it('on a terminal, says the count, the rate and the current file, within the width', () => {
    const { stream } = fakeStream(true);
    const progress = new Progress(stream);
    expect(progress.enabled).toBe(true);
    progress.started('/images/first.qcow2');
    progress.finished();
    progress.finished();
    progress.started('/images/a-very-long-name-that-does-not-fit.qcow2');
    const text = progress.text(Date.now() + 1000);
    progress.stop();
    expect(text).toMatch(/^2 done, \d+\.\d\/s, \/images\/a-very/);
    expect(text.length).toBeLessThanOrEqual(40);
  });
});
