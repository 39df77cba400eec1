/**
 * The registry is the lists `allFormats` (`formats/index.ts`) and `allContainers`
 * (`containers/index.ts`); adding a module is one file and one line there. This test walks
 * the lists and fails when a registered module lacks what every module has:
 *
 * | module | must have |
 * | --- | --- |
 * | format | fixtures in `test/fixtures/<name>/` (at least one `*.gz`, each with qemu-img's `*.qemu.json` beside it), a table in `test/conformance/`, `docs/formats/<name>.md`, `test/formats/<name>.test.ts`, a `./formats/<name>` subpath in package.json |
 * | container | fixtures in `test/fixtures/<name>/` (at least one `*.gz`, each with qemu-img's `*.qemu.json` beside it), a row `` | `<name>` | `` in the table of `docs/containers.md`, `test/containers/<name>.test.ts`, a `./containers/<name>` subpath in package.json |
 * | every module | a name (and aliases) no other module has: two modules with one name would make results ambiguous (as mp4box.js's registry refuses a second box of one type) |
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allContainers } from '../containers/index.js';
import { allFormats } from '../formats/index.js';
import type { AnyContainerModule } from '../src/container-module.js';
import type { AnyFormatModule } from '../src/index.js';
import { correspondences } from './conformance/index.js';
import { fixtures, projectRoot } from './helpers/fixtures.js';

const formats = allFormats as readonly AnyFormatModule[];
const containers = allContainers as readonly AnyContainerModule[];
const exists = (...path: string[]) => existsSync(join(projectRoot, ...path));

/** Every name under which a module can be asked for: its name and aliases, lower case, with who claims it. */
function claimedNames(formatList: readonly AnyFormatModule[], containerList: readonly AnyContainerModule[]): Array<[name: string, module: string]> {
  return [
    ...formatList.flatMap((module) => [module.name, ...(module.aliases ?? [])].map((name): [string, string] => [name.toLowerCase(), `format ${module.name}`])),
    ...containerList.map((module): [string, string] => [module.name.toLowerCase(), `container ${module.name}`]),
  ];
}

/** The names claimed more than once, with every claimant. */
function sharedNames(claims: ReadonlyArray<[string, string]>): Record<string, string[]> {
  const byName = new Map<string, string[]>();
  for (const [name, module] of claims) byName.set(name, [...(byName.get(name) ?? []), module]);
  return Object.fromEntries([...byName].filter(([, modules]) => modules.length > 1));
}

describe('the registry', () => {
  it('has no two modules under one name or alias', () => {
    expect(sharedNames(claimedNames(formats, containers))).toEqual({});
  });

  it('the check for shared names fails when two modules share one', () => {
    const [first, second] = formats;
    if (first === undefined || second === undefined) throw new Error('fewer than two formats');
    const copy = { ...second, name: first.name };
    expect(sharedNames(claimedNames([first, copy], []))).toEqual({ [first.name]: [`format ${first.name}`, `format ${first.name}`] });
    const alias = { ...second, aliases: [first.name.toUpperCase()] };
    expect(Object.keys(sharedNames(claimedNames([first, alias], containers)))).toEqual([first.name]);
  });

  it('package.json lists a subpath for every format and container (scripts/sync-exports.mjs --check)', () => {
    const check = spawnSync(process.execPath, [join(projectRoot, 'scripts', 'sync-exports.mjs'), '--check'], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    const exportsField = (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports;
    expect(formats.map((module) => module.name).filter((name) => exportsField[`./formats/${name}`] === undefined)).toEqual([]);
    expect(containers.map((module) => module.name).filter((name) => exportsField[`./containers/${name}`] === undefined)).toEqual([]);
  });
});

describe('every registered format has fixtures, a qemu table, a docs page and a test file', () => {
  for (const module of formats) {
    it(module.name, () => {
      const found = fixtures(module.name);
      expect(found.length, `test/fixtures/${module.name}/ holds no *.gz fixture (scripts/fixtures/${module.name}.sh makes them)`).toBeGreaterThan(0);
      for (const fixture of found) {
        expect(exists('test', 'fixtures', module.name, `${fixture.name}.qemu.json`), `${fixture.name}: no qemu-img info recorded beside it`).toBe(true);
      }
      expect((correspondences as Record<string, unknown>)[module.name], `no table in test/conformance/ for ${module.name}`).toBeDefined();
      expect(exists('docs', 'formats', `${module.name}.md`), `docs/formats/${module.name}.md`).toBe(true);
      expect(exists('test', 'formats', `${module.name}.test.ts`), `test/formats/${module.name}.test.ts`).toBe(true);
    });
  }
});

describe('every registered container has fixtures, a row in docs/containers.md and a test file', () => {
  const guide = exists('docs', 'containers.md') ? readFileSync(join(projectRoot, 'docs', 'containers.md'), 'utf8') : '';
  // The table of containers: one row each, its name first, in backquotes.
  const rows = new Set([...guide.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1]));
  for (const module of containers) {
    it(module.name, () => {
      const found = fixtures(module.name);
      expect(found.length, `test/fixtures/${module.name}/ holds no *.gz fixture (scripts/fixtures/containers.sh makes them)`).toBeGreaterThan(0);
      for (const fixture of found) {
        expect(exists('test', 'fixtures', module.name, `${fixture.name}.qemu.json`), `${fixture.name}: no qemu-img info recorded beside it`).toBe(true);
      }
      expect(rows.has(module.name), `docs/containers.md has a row for ${module.name} in its table of containers`).toBe(true);
      expect(exists('test', 'containers', `${module.name}.test.ts`), `test/containers/${module.name}.test.ts`).toBe(true);
    });
  }
});
