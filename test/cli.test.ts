/**
 * The command line, run as a user runs it: `node dist/cli.js` (built by `npm test`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtures, projectRoot, fixtureBytes } from './helpers/fixtures.js';

const cli = join(projectRoot, 'dist', 'cli.js');
const work = mkdtempSync(join(tmpdir(), 'image-introspect-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const vmdkFixtures = fixtures('vmdk');
function materialize(name: string): string {
  const fixture = vmdkFixtures.find((candidate) => candidate.name === name);
  if (!fixture) throw new Error(name);
  const path = join(work, name);
  writeFileSync(path, fixture.bytes());
  return path;
}

function run(args: string[], input?: Uint8Array) {
  const result = spawnSync(process.execPath, [cli, ...args], { input, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('image-introspect (CLI)', () => {
  const sparse = materialize('sparse-buslogic.vmdk');
  const stream = materialize('stream.vmdk');

  it('prints a qemu-img-like summary', () => {
    const { status, stdout, stderr } = run([sparse]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout).toContain(`image: ${sparse}`);
    expect(stdout).toContain('file format: vmdk');
    expect(stdout).toContain('virtual size: 64 MiB (67108864 bytes)');
    expect(stdout).toContain('create type: monolithicSparse');
    expect(stdout).toContain('adapter type: buslogic');
  });

  it('prints one JSON object for one file and an array for several', () => {
    const one = run(['--json', stream]);
    expect(one.status).toBe(0);
    const parsed = JSON.parse(one.stdout) as { filename: string; format: string; virtualSize: number; details: { createType: string } };
    expect(parsed).toMatchObject({ filename: stream, format: 'vmdk', virtualSize: 4194304 });
    expect(parsed.details.createType).toBe('streamOptimized');
    const several = run(['--json', sparse, stream]);
    const array = JSON.parse(several.stdout) as unknown[];
    expect(Array.isArray(array)).toBe(true);
    expect(array).toHaveLength(2);
  });

  it('reads standard input as a stream with -', () => {
    const fixture = fixtureBytes('vmdk', 'stream.vmdk');
    const { status, stdout } = run(['--json', '-'], fixture);
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ filename: '-', format: 'vmdk', virtualSize: 4194304 });
  });

  it('expands a directory to the files in it', () => {
    const { status, stdout } = run(['--json', work]);
    expect(status).toBe(0);
    expect((JSON.parse(stdout) as unknown[]).length).toBeGreaterThanOrEqual(2);
  });

  it('exits 2 with one line on stderr, no stack trace, when a file cannot be introspected', () => {
    const truncated = join(work, 'truncated.vmdk');
    const bytes = fixtureBytes('vmdk', 'sparse-ide.vmdk');
    writeFileSync(truncated, bytes.subarray(0, 200));
    const { status, stdout, stderr } = run([sparse, truncated, join(work, 'missing.img')]);
    expect(status).toBe(2);
    expect(stdout).toContain('file format: vmdk'); // the good file is still reported
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^image-introspect: .*truncated\.vmdk: vmdk: sparse header: needs bytes 0\.\.512/);
    expect(lines[1]).toMatch(/^image-introspect: .*missing\.img: cannot open/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('reports failures in JSON too', () => {
    const { status, stdout } = run(['--json', join(work, 'missing.img')]);
    expect(status).toBe(2);
    expect(JSON.parse(stdout)).toMatchObject({ error: { code: 'SOURCE_ERROR' } });
  });

  it('exits 2 on a bad option or no file, 0 for --help and --version', () => {
    expect(run(['--bogus']).status).toBe(2);
    expect(run([]).status).toBe(2);
    expect(run(['--help'])).toMatchObject({ status: 0 });
    expect(run(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
