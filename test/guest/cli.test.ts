/**
 * `image-introspect --inspect-guest` (the built CLI, `dist/cli.js`) on a test guest: the text
 * summary has the guest's lines, `--json` has `guest`, `--glance` has the guest's
 * properties; without the flag there is no guest. Compared with what the guest was built to
 * be (`test/helpers/guest-images.ts`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/fixtures.js';
import { GUESTS, guestDisk } from '../helpers/guest-images.js';

const cli = join(projectRoot, 'dist', 'cli.js');
const spec = GUESTS.find((guest) => guest.name === 'alpine319-i386');
const why = !existsSync(cli) ? 'dist/cli.js is not built (npm run build)' : spec === undefined ? 'no alpine guest' : spec.unavailable();

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(why !== undefined)(`image-introspect --inspect-guest${why === undefined ? '' : ` (skipped: ${why})`}`, () => {
  let disk = '';
  beforeAll(() => {
    if (spec !== undefined) disk = guestDisk(spec);
  }, 1_800_000);

  it('prints the guest in the summary', () => {
    const expected = spec?.expected;
    const result = run(['--inspect-guest', disk]);
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout.split('\n').map((line) => line.trim());
    const row = (label: string) => lines.find((line) => line.startsWith(`${label}:`))?.slice(label.length + 1).trim();
    expect(lines).toContain('guest:');
    expect(row('distro')).toBe(expected?.distro);
    expect(row('version')).toBe(expected?.version);
    expect(row('arch')).toBe(expected?.arch);
    expect(row('hostname')).toBe(expected?.hostname);
    expect(row('firmware')?.startsWith(`${expected?.firmware} (`)).toBe(true);
    expect(row('mount /')).toBe(expected?.mountpoints['/']);
    const without = run([disk]);
    expect(without.stdout).not.toContain('guest:');
  });

  it('puts the guest in the JSON and its properties in --glance', () => {
    const json = run(['--inspect-guest', '--json', disk]);
    expect(json.status, json.stderr).toBe(0);
    const info = JSON.parse(json.stdout) as { guest?: { os?: { distro?: string; arch?: string; hostname?: string } } };
    expect(info.guest?.os).toMatchObject({ distro: spec?.expected.distro, arch: spec?.expected.arch, hostname: spec?.expected.hostname });
    const glance = run(['--inspect-guest', '--glance', disk]);
    expect(glance.status, glance.stderr).toBe(0);
    // Alpine has no name in Glance's documented os_distro list: libosinfo's is used. Nova names libguestfs's i386 i686.
    expect(glance.stdout).toContain('"os_type": "linux"');
    expect(glance.stdout).toContain('"architecture": "i686"');
    expect(glance.stdout).toContain(`"os_version": "${spec?.expected.version}"`);
    expect(glance.stdout).toContain('"os_distro": "alpinelinux"');
  });
});
