/**
 * The command line with URLs (dist/cli.js, built by npm test), against a real server in
 * this process: the CLI is spawned asynchronously so that the server keeps answering.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureBytes, projectRoot } from '../helpers/fixtures.js';
import { hasQemuImg, qemuImg } from '../helpers/qemu.js';
import { type RangeServer, startRangeServer } from '../helpers/range-server.mjs';

const cli = join(projectRoot, 'dist', 'cli.js');
const hasCurl = existsSync('/usr/bin/curl');

function run(command: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => {
      stdout += data.toString();
    });
    child.stderr.on('data', (data: Buffer) => {
      stderr += data.toString();
    });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
const image = (...args: string[]) => run(process.execPath, [cli, ...args]);

describe('image-introspect URL', () => {
  let server: RangeServer;
  beforeAll(async () => {
    server = await startRangeServer();
    server.add('disk.vmdk', fixtureBytes('vmdk', 'stream.vmdk'));
    server.add('backing.qcow2', fixtureBytes('qcow2', 'backing-raw.qcow2'));
  });
  afterAll(() => server.close());

  it('reads an http URL by ranges (the user\'s own URL: any address), with the exit status of a file', async () => {
    server.reset();
    const safe = await image(server.at('glance', 'disk.vmdk'));
    expect(safe.stderr).toBe('');
    expect(safe.status).toBe(0);
    expect(safe.stdout).toContain(`image: ${server.at('glance', 'disk.vmdk')}`);
    expect(safe.stdout).toContain('create type: streamOptimized');
    expect(server.log.every((entry) => entry.method === 'GET' && entry.range !== undefined)).toBe(true);
    const unsafe = await image('--json', server.at('ranges', 'backing.qcow2'));
    expect(unsafe.status).toBe(1);
    expect(JSON.parse(unsafe.stdout)).toMatchObject({ filename: server.at('ranges', 'backing.qcow2'), format: 'qcow2' });
  });

  it('--header sends a header with every request; a malformed one is an argument error', async () => {
    server.reset();
    expect((await image('--header', 'X-Auth-Token: abc123', '--header', 'X-Other:v', server.at('echo-headers', 'disk.vmdk'))).status).toBe(0);
    expect(server.log[0]?.headers).toMatchObject({ 'x-auth-token': 'abc123', 'x-other': 'v' });
    const bad = await image('--header', 'no colon', server.at('ranges', 'disk.vmdk'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--header needs "Name: value"/);
  });

  it.skipIf(!hasQemuImg)('--backing-chain over a URL: names resolved against it; --ndjson prints one array per image, the image first', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'image-introspect-cli-chain-'));
    try {
      qemuImg(['create', '-q', '-f', 'qcow2', join(folder, 'base.qcow2'), '64M']);
      qemuImg(['create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', join(folder, 'top.qcow2')]);
      server.add('chain/base.qcow2', new Uint8Array(readFileSync(join(folder, 'base.qcow2'))));
      server.add('chain/top.qcow2', new Uint8Array(readFileSync(join(folder, 'top.qcow2'))));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    const url = server.at('ranges', 'chain/top.qcow2');
    const { status, stdout } = await image('--ndjson', '--backing-chain', url);
    expect(status).toBe(1);
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as Array<{ filename: string; format: string; details: { backingFile?: string } }>);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.map((entry) => [entry.filename, entry.format, entry.details.backingFile])).toEqual([
      [url, 'qcow2', 'base.qcow2'],
      [server.at('ranges', 'chain/base.qcow2'), 'qcow2', undefined],
    ]);
  });

  it('an HTTP error is exit status 2, naming the status and the URL', async () => {
    const missing = `${server.url}/status/404/disk.vmdk`;
    const result = await image(missing);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`GET ${missing} answered 404`);
  });

  it.skipIf(!hasCurl)('standard input stays a stream; a curl --fail pipeline fails on an HTTP error (empty input is an error)', async () => {
    const url = server.at('norange', 'disk.vmdk');
    const piped = await run('bash', ['-c', `curl --fail --silent --show-error '${url}' | '${process.execPath}' '${cli}' --json -`]);
    expect(piped.status).toBe(0);
    const direct = await image('--json', url);
    const comparable = (text: string) => ({ ...(JSON.parse(text) as Record<string, unknown>), filename: undefined, bytesRead: undefined });
    expect(comparable(piped.stdout)).toEqual(comparable(direct.stdout));
    const failing = await run('bash', ['-c', `curl --fail --silent --show-error '${server.url}/status/404/x' | '${process.execPath}' '${cli}' -`]);
    expect(failing.status).toBe(2);
    expect(failing.stderr).toMatch(/404/);
    expect(failing.stderr).toMatch(/standard input was empty/);
  });
});
