/**
 * The built root entry (`dist/index.js`) bundled for browsers as one script that defines
 * `ImageIntrospect`, as a page would load it: the browser tests run it under a strict CSP,
 * the package tests in a realm with web APIs only.
 */
import { join } from 'node:path';
import { build } from 'esbuild';
import { projectRoot } from './fixtures.js';

/** The bundle's errors (none expected) and its text. */
export async function browserBundle(): Promise<{ errors: unknown[]; code: string }> {
  const result = await build({
    entryPoints: [join(projectRoot, 'dist', 'index.js')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'ImageIntrospect',
    write: false,
    logLevel: 'silent',
  });
  return { errors: result.errors, code: result.outputFiles[0]?.text ?? '' };
}

/**
 * Page-script text (inside an async function that has a `results` object) that records in
 * `results.evalBlocked` whether `new Function` throws an `EvalError`: the page's
 * Content-Security-Policy must forbid eval, or the test proves nothing about it.
 */
export const EVAL_PROBE = `try {
    new Function('return 1')();
    results.evalBlocked = false;
  } catch (error) {
    results.evalBlocked = error instanceof EvalError;
  }`;
