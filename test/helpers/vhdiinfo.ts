/**
 * libvhdi's `vhdiinfo`, a second oracle (beside qemu-img) for VHD and VHDX: disk type,
 * sizes, identifiers and parent. Each format's test compares its own fields; this runs the
 * tool and walks the fixtures.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'vitest';
import type { Fixture } from './fixtures.js';
import { formatKit, scratch } from './format-kit.js';

export const hasVhdiinfo = spawnSync('vhdiinfo', ['-V'], { encoding: 'utf8' }).status === 0;
export const vhdiinfoMissing = 'vhdiinfo is not on the PATH (install libvhdi-utils)';

/** vhdiinfo's "Key : value" lines. */
export function vhdiinfo(path: string): Record<string, string> {
  const result = spawnSync('vhdiinfo', [path], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`vhdiinfo ${path} failed: ${result.stdout}${result.stderr}`);
  const fields: Record<string, string> = {};
  for (const line of result.stdout.split('\n')) {
    const match = /^\t([^:\t]+?)\t*: (.*)$/.exec(line);
    if (match) fields[match[1] as string] = match[2] as string;
  }
  return fields;
}

/** Registers one test per fixture: written to a file, read by us and by vhdiinfo, compared with `expectAgrees`. */
export function describeFixturesAgainstVhdiinfo<Details>(
  format: 'vhd' | 'vhdx',
  fixtures: readonly Fixture[],
  what: string,
  expectAgrees: (details: Details, fields: Record<string, string>) => void,
): void {
  describe.skipIf(!hasVhdiinfo)(`${format} fixtures against vhdiinfo (libvhdi)${hasVhdiinfo ? '' : ` (skipped: ${vhdiinfoMissing})`}`, () => {
    const { path } = scratch(`${format}-vhdiinfo`);
    const { info } = formatKit(format);
    for (const fixture of fixtures) {
      it(`${fixture.name}: ${what} agree`, async () => {
        writeFileSync(path(fixture.name), fixture.bytes());
        expectAgrees((await info(fixture.bytes())).details as Details, vhdiinfo(path(fixture.name)));
      });
    }
  });
}
