/** Types of `demo-server.mjs` for the tests. */
export declare const DEFAULT_DEMO_ROOT: string;
export declare const DEFAULT_DEMO_PORT: number;
export declare const VIOLATION_REPORT_PATH: string;
/** A Content-Security-Policy violation the browser reported. */
export interface DemoViolation {
  document?: string;
  directive?: string;
  blocked?: string;
  sample?: string;
}
export declare function contentSecurityPolicy(connectTo?: string[], reportPath?: string): string;
export interface DemoServer {
  url: string;
  origin: string;
  policy: string;
  close(): Promise<void>;
}
export declare function startDemoServer(options?: {
  root?: string;
  host?: string;
  port?: number;
  connectTo?: string[];
  onViolation?: (violation: DemoViolation) => void;
}): Promise<DemoServer>;
