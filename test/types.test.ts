/**
 * The package's types as users compile against them: every `moduleResolution` a
 * TypeScript project may use resolves the root and every subpath, and the README's
 * TypeScript examples compile under `--strict`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from './helpers/fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'image-introspect-types-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
mkdirSync(join(work, 'node_modules'));
symlinkSync(projectRoot, join(work, 'node_modules', 'image-introspect'));
const tsc = join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc');
const packageJson = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };

function compile(files: Record<string, string>, compilerOptions: Record<string, unknown>): { status: number | null; output: string } {
  const folder = mkdtempSync(join(work, 'project-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
  writeFileSync(
    join(folder, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, target: 'es2022', lib: ['es2022', 'dom'], types: ['node'], typeRoots: [join(projectRoot, 'node_modules', '@types')], ...compilerOptions }, include: ['*.ts'] }),
  );
  symlinkSync(join(work, 'node_modules'), join(folder, 'node_modules'));
  const result = spawnSync(process.execPath, [tsc, '-p', folder], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('types', () => {
  const subpaths = Object.keys(packageJson.exports).filter((subpath) => subpath !== './package.json');
  const consumer = subpaths.map((subpath, index) => `import * as entry${index} from 'image-introspect${subpath.slice(1)}';\nvoid entry${index};`).join('\n');

  for (const [moduleResolution, module] of [['node', 'commonjs'], ['node16', 'node16'], ['bundler', 'es2022']] as const) {
    it(`every subpath resolves with moduleResolution "${moduleResolution}"`, () => {
      const { status, output } = compile({ 'consumer.ts': `${consumer}\nexport {};\n` }, { moduleResolution, module });
      expect(output).toBe('');
      expect(status).toBe(0);
    });
  }

  it('the README\'s TypeScript examples compile under --strict', () => {
    const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);
    expect(blocks.length).toBeGreaterThan(5);
    // What the examples take as given: the caller's variables, declared with the types a
    // reader of the README would have at hand (an upload body, a file input, a Glance name...).
    const given: Record<string, string> = {
      source: 'declare const source: ReadableStream<Uint8Array>;',
      input: 'declare const input: HTMLInputElement;',
      label: 'declare const label: HTMLElement;',
      upload: 'declare const upload: ReadableStream<Uint8Array>;',
      request: 'declare const request: import("node:http").IncomingMessage;',
      stagingPath: 'declare const stagingPath: string;',
      declared: "declare const declared: 'qcow2' | 'vmdk' | 'raw';",
      file: 'declare const file: File;',
      reject: 'declare function reject(problems: unknown): never;',
      paths: 'declare const paths: string[];',
      token: 'declare const token: string;',
    };
    // An ES module project, as the examples' top-level await needs.
    const files: Record<string, string> = { 'package.json': '{ "type": "module" }' };
    blocks.forEach((block, index) => {
      const preamble = Object.entries(given)
        .filter(([name]) => new RegExp(`\\b${name}\\b`).test(block) && !new RegExp(`(\\b(const|let|function)\\s+${name}\\b)|(import\\s*\\{[^}]*\\b${name}\\b)`).test(block))
        .map(([, declaration]) => declaration);
      files[`readme-${index}.ts`] = `${preamble.join('\n')}\n${block}\nexport {};\n`;
    });
    const { status, output } = compile(files, { moduleResolution: 'node16', module: 'node16' });
    expect(output).toBe('');
    expect(status).toBe(0);
  });
});
