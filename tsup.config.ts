import { readdirSync } from 'node:fs';
import { defineConfig } from 'tsup';

// One entry per format and container module, so that `image-introspect/formats/<name>`
// (or `containers/<name>`) loads only that module.
const entriesIn = (folder: string) =>
  Object.fromEntries(
    readdirSync(folder)
      .filter((file) => file.endsWith('.ts') && file !== 'index.ts')
      .map((file) => [`${folder}/${file.slice(0, -3)}`, `${folder}/${file}`]),
  );
const formatEntries = { ...entriesIn('formats'), ...entriesIn('containers') };

export default defineConfig([
  {
    // The root, the format-neutral core, every format and the Glance client (all
    // platform-neutral) and the Node helpers, in one build so that they share one copy of the core: an IntrospectionError
    // thrown by introspectFile is an instance of the class the root exports.
    entry: { index: 'src/index.ts', core: 'src/core.ts', node: 'src/node.ts', glance: 'src/glance/index.ts', ...formatEntries },
    format: ['esm', 'cjs'],
    platform: 'neutral',
    target: 'es2022',
    external: [/^node:/],
    dts: true,
    splitting: true,
    sourcemap: false,
    clean: true,
    treeshake: true,
    removeNodeProtocol: false,
  },
  {
    // The command line: ESM only; tsup keeps the shebang and makes the file executable.
    // Its worker thread (src/cli/worker.ts) is an entry of its own, next to it in dist:
    // the command starts it by URL (new URL('./cli-worker.js', import.meta.url)).
    entry: { cli: 'src/cli.ts', 'cli-worker': 'src/cli/worker.ts' },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    sourcemap: false,
    removeNodeProtocol: false,
  },
]);
