/**
 * The glance commands as a user runs them: `node dist/cli.js` (built by `npm test`). The
 * commands' behaviour against a real Glance is in services.test.ts; here, the wiring in the
 * main command and the argument errors.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureBytes, projectRoot } from '../helpers/fixtures.js';

const cli = join(projectRoot, 'dist', 'cli.js');
const work = mkdtempSync(join(tmpdir(), 'image-introspect-glance-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[]) {
  // No OS_* variables from the machine.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OS_')));
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(!existsSync(cli))('image-introspect --glance and glance (CLI)', () => {
  const sparse = join(work, 'sparse-buslogic.vmdk');
  const stream = join(work, 'stream.vmdk');
  writeFileSync(sparse, fixtureBytes('vmdk', 'sparse-buslogic.vmdk'));
  writeFileSync(stream, fixtureBytes('vmdk', 'stream.vmdk'));

  it('--glance prints the property object of one file, and { filename, properties } for several', () => {
    const one = run(['--glance', sparse]);
    expect(one.stderr).toBe('');
    expect(one.status).toBe(0);
    // The fixture's descriptor: monolithicSparse, ddb.adapterType "buslogic", 64 MiB.
    expect(JSON.parse(one.stdout)).toEqual({ disk_format: 'vmdk', container_format: 'bare', min_disk: 1, vmware_disktype: 'sparse', vmware_adaptertype: 'busLogic' });
    const two = run(['--glance', sparse, stream]);
    const parsed = JSON.parse(two.stdout) as Array<{ filename: string; properties: Record<string, unknown> }>;
    expect(parsed.map((entry) => entry.filename)).toEqual([sparse, stream]);
    expect(parsed[1]?.properties).toMatchObject({ disk_format: 'vmdk', vmware_disktype: 'streamOptimized' });
  });

  it('glance --help, and argument errors exit 2 with the usage', () => {
    const help = run(['glance', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/image-introspect glance upload FILE\|URL\|- --name NAME/);
    for (const args of [['glance'], ['glance', 'frobnicate'], ['glance', 'upload', sparse], ['glance', 'audit', '-j', 'x'], ['glance', 'upload', sparse, '--name', 'x', '--property', 'novalue']]) {
      const result = run(args);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(/^image-introspect glance: /);
    }
  });

  it('no credentials at all is a clear error naming what is missing', () => {
    const result = run(['glance', 'audit']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/needs an auth URL \(--os-auth-url, OS_AUTH_URL\)/);
  });
});
