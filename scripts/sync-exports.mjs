#!/usr/bin/env node
// Keeps package.json's "exports" in step with the entry points (tsup.config.ts): the root,
// ./core, ./node and ./glance, and one
// `./formats/<name>` subpath per formats/<name>.ts and one `./containers/<name>` per containers/<name>.ts (attw does not analyse wildcard
// subpaths, so each is listed). `--check` exits 1 when package.json is out of date.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packagePath = join(root, 'package.json');
const packageJson = JSON.parse(readFileSync(packagePath, 'utf8'));

const entry = (base) => ({
  import: { types: `./dist/${base}.d.ts`, default: `./dist/${base}.js` },
  require: { types: `./dist/${base}.d.cts`, default: `./dist/${base}.cjs` },
});
const modulesIn = (folder) =>
  readdirSync(join(root, folder))
    .filter((file) => file.endsWith('.ts') && file !== 'index.ts')
    .map((file) => file.slice(0, -3))
    .sort();
const formats = modulesIn('formats');
const containers = modulesIn('containers');
// The other subpaths: the format-neutral core, the Node helpers, the Glance client.
const exports = { '.': entry('index'), './core': entry('core'), './node': entry('node'), './glance': entry('glance') };
for (const format of formats) exports[`./formats/${format}`] = entry(`formats/${format}`);
for (const container of containers) exports[`./containers/${container}`] = entry(`containers/${container}`);
exports['./package.json'] = './package.json';

// TypeScript's old `moduleResolution: "node"` ignores "exports": typesVersions maps each
// subpath to its declarations so that `image-introspect/node` resolves there too.
const typesVersions = { '*': {} };
for (const subpath of Object.keys(exports)) {
  if (subpath === '.' || subpath === './package.json') continue;
  typesVersions['*'][subpath.slice(2)] = [exports[subpath].require.types];
}

const current = JSON.stringify([packageJson.exports, packageJson.typesVersions]);
if (current === JSON.stringify([exports, typesVersions])) process.exit(0);
if (process.argv.includes('--check')) {
  console.error('package.json exports are out of date: run node scripts/sync-exports.mjs');
  process.exit(1);
}
packageJson.exports = exports;
packageJson.typesVersions = typesVersions;
writeFileSync(packagePath, `${JSON.stringify(packageJson, null, 2)}\n`);
console.log(`package.json exports: ${formats.length} formats, ${containers.length} containers`);
