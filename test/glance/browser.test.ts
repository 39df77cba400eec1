/**
 * `image-introspect/glance` is platform-neutral: bundled for a browser from its source, it
 * pulls in no Node built-in (the clouds.yaml and OS_* reader and the command line are
 * Node-only modules outside it), and no YAML parser.
 */
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/fixtures.js';

describe('image-introspect/glance in a browser', () => {
  it('bundles with no Node built-ins, no Buffer, no process, no yaml', async () => {
    const result = await build({
      entryPoints: [join(projectRoot, 'src', 'glance', 'index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      metafile: true,
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]?.text ?? '';
    expect(code).not.toMatch(/\brequire\(|["'`]node:|\bBuffer\b|\bprocess\./);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((input) => input.includes('node_modules/yaml'))).toBe(false);
    expect(inputs.some((input) => input.endsWith('src/glance/client.ts'))).toBe(true);
  });
});
