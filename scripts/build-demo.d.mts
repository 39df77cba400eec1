/** Types of `build-demo.mjs` for the tests. */
export declare const projectRoot: string;
export declare const DEFAULT_DEMO_OUT: string;
/** One file of the built page. */
export interface BuiltDemoFile {
  file: string;
  bytes: number;
  gzipBytes: number;
  loads: 'initial' | 'worker' | 'lazy';
  source?: string;
}
export declare function buildDemo(options?: { outdir?: string; docsBase?: string; minify?: boolean }): Promise<{ outdir: string; docsBase: string; files: BuiltDemoFile[] }>;
