/**
 * A real OpenStack Glance API for the tests: Debian's `python3-glance` (25.1 on bookworm)
 * with SQLite, the file store and no Keystone (the paste pipeline without a flavor: every
 * request gets an unauthenticated admin context), on a free loopback port, in a temp dir.
 *
 * Start-up: `glance-manage db_sync` (about 10 s) then the API (about 8 s on an idle 2-core
 * machine). Logs stay in the temp dir; `logs()` returns them for a failing test, and a
 * failed start throws with their tail. The process group is stopped by `stop()`, or when
 * the test process exits.
 *
 * The process helpers here (free ports, service processes, waiting for HTTP) are shared
 * with the Keystone harness.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The system Python: Debian's OpenStack packages live in its dist-packages, not in a pyenv's. */
export const SYSTEM_PYTHON = '/usr/bin/python3';
const GLANCE_PACKAGE = '/usr/lib/python3/dist-packages/glance/cmd/api.py';
const GLANCE_PASTE_INI = '/usr/share/glance-common/glance-api-paste.ini';

/** Why Glance cannot run here, or undefined when it can. */
export const glanceMissing: string | undefined = !existsSync(SYSTEM_PYTHON)
  ? `${SYSTEM_PYTHON} is missing`
  : !existsSync(GLANCE_PACKAGE)
    ? 'python3-glance is not installed (.ci/run installs it)'
    : !existsSync(GLANCE_PASTE_INI)
      ? 'glance-common is not installed (its paste pipeline and metadefs are needed; .ci/run installs it)'
      : undefined;

/** Glance's metadef JSON files (from glance-common). */
export const GLANCE_METADEFS_DIR = '/usr/share/glance-common/metadefs';

// ---------------------------------------------------------------------------------------
// Processes

/** A loopback TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** A service process, in its own process group, writing to a log file. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** What the process wrote to standard output and error. */
  output(): string;
  /** SIGTERM to the group, SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/**
 * Starts `command` through the system Python, which asks the kernel to send it SIGTERM when
 * the test process dies (`prctl(PR_SET_PDEATHSIG)`, kept across `execv`): a test run that
 * is killed leaves no service behind.
 */
const DIE_WITH_PARENT = [
  '-c',
  'import ctypes, os, sys; ctypes.CDLL(None).prctl(1, 15); os.execv(sys.argv[1], sys.argv[1:])',
];

/** Runs a long-lived service process. */
export function spawnService(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; outputPath: string }): ServiceProcess {
  writeFileSync(options.outputPath, '');
  const child = spawn(SYSTEM_PYTHON, [...DIE_WITH_PARENT, command, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const output = () => Buffer.concat(chunks).toString('utf8');
  void exited.then(() => {
    running.delete(child);
    writeFileSync(options.outputPath, output());
  });
  return {
    child,
    exited,
    output,
    async stop() {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a command to completion; throws with its output when it fails. */
export async function runCommand(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; outputPath: string; timeoutMs: number }): Promise<string> {
  const service = spawnService(command, args, options);
  const timer = setTimeout(() => killGroup(service.child, 'SIGKILL'), options.timeoutMs);
  await service.exited;
  clearTimeout(timer);
  const output = service.output();
  writeFileSync(options.outputPath, output);
  if (service.child.exitCode !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${service.child.exitCode ?? service.child.signalCode}):\n${tail(output)}`);
  }
  return output;
}

/** The named log files of a service's folder that exist, one after the other, each under its path. */
export function readLogs(dir: string, names: readonly string[]): string {
  return names
    .filter((name) => existsSync(join(dir, name)))
    .map((name) => `==> ${join(dir, name)} <==\n${readFileSync(join(dir, name), 'utf8')}`)
    .join('\n');
}

/** The last lines of a log, for error messages. */
export function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * Waits until `url` answers (any HTTP status), the process exits, or `timeoutMs` passes.
 * Returns false when the process exited first.
 */
export async function waitForHttp(url: string, service: ServiceProcess, timeoutMs: number): Promise<boolean> {
  let exited = false;
  void service.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) return false;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

// ---------------------------------------------------------------------------------------
// Glance

/** Options for {@link startGlance}. */
export interface GlanceOptions {
  /** Origins allowed by CORS (`[cors] allowed_origin`); none by default. */
  corsOrigins?: string[];
  /** Images per page of `GET /v2/images` (`limit_param_default`, 25 in Glance). */
  pageSize?: number;
}

/** One request from Glance's access log. */
export interface GlanceAccessLogEntry {
  method: string;
  path: string;
  status: number;
  /** Bytes eventlet wrote for the response: its status line and headers, and the body. */
  bytes: number;
}

/** A running Glance API. */
export interface GlanceService {
  /** `http://127.0.0.1:PORT`, the image endpoint (no version suffix, as Keystone catalogs list it). */
  readonly url: string;
  readonly dir: string;
  /** Milliseconds from the start of `db_sync` to the first answer. */
  readonly startupMs: number;
  /** Every log the service wrote so far. */
  logs(): string;
  /** The requests Glance served, from its access log. */
  accessLog(): GlanceAccessLogEntry[];
  /** Stops the API; removes the temp dir unless `keepDir` (e.g. a test failed and the logs matter). */
  stop(options?: { keepDir?: boolean }): Promise<void>;
}

const CORS_ALLOW_HEADERS = ['Content-Type', 'X-Auth-Token', 'Range', 'If-Range', 'X-Openstack-Request-Id', 'X-Image-Meta-Checksum'];
const CORS_EXPOSE_HEADERS = ['Content-Range', 'Content-Length', 'Location', 'X-Openstack-Request-Id', 'ETag', 'Content-MD5'];
const CORS_ALLOW_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'];

function glanceConfig(dir: string, port: number, options: GlanceOptions): string {
  const cors = options.corsOrigins?.length
    ? [
        `allowed_origin = ${options.corsOrigins.join(',')}`,
        `allow_headers = ${CORS_ALLOW_HEADERS.join(',')}`,
        `expose_headers = ${CORS_EXPOSE_HEADERS.join(',')}`,
        `allow_methods = ${CORS_ALLOW_METHODS.join(',')}`,
      ].join('\n')
    : '';
  return `[DEFAULT]
bind_host = 127.0.0.1
bind_port = ${port}
workers = 0
log_file = ${join(dir, 'glance-api.log')}
use_stderr = false
limit_param_default = ${options.pageSize ?? 25}
api_limit_max = 1000
node_staging_uri = file://${join(dir, 'staging')}

[database]
connection = sqlite:///${join(dir, 'glance.sqlite')}

[paste_deploy]
config_file = ${join(dir, 'glance-api-paste.ini')}
flavor =

[glance_store]
stores = file,http
default_store = file
filesystem_store_datadir = ${join(dir, 'images')}

[oslo_concurrency]
lock_path = ${join(dir, 'lock')}

[cors]
${cors}
`;
}

/**
 * Glance's own paste pipeline, with two changes: the CORS filter reads its options from
 * this config file (it reads /etc/glance otherwise), and the health check's disable file
 * is in the temp dir.
 */
function pasteIni(configPath: string, dir: string): string {
  return readFileSync(GLANCE_PASTE_INI, 'utf8')
    .replace(/^(oslo_config_program = glance-api)$/m, `$1\noslo_config_file = ${configPath}`)
    .replace(/^disable_by_file_path = .*$/m, `disable_by_file_path = ${join(dir, 'healthcheck_disable')}`);
}

function pythonMain(module: string, argv: string[]): string[] {
  return ['-c', `import sys; sys.argv = ${JSON.stringify(argv)}; from ${module} import main; sys.exit(main())`];
}

/** Starts a Glance API in a temp dir on a free port. */
export async function startGlance(options: GlanceOptions = {}): Promise<GlanceService> {
  if (glanceMissing) throw new Error(glanceMissing);
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'glance-'));
  for (const sub of ['images', 'staging', 'lock']) mkdirSync(join(dir, sub));
  const configPath = join(dir, 'glance-api.conf');
  writeFileSync(join(dir, 'glance-api-paste.ini'), pasteIni(configPath, dir));
  const logs = () => readLogs(dir, ['db-sync.out', 'glance-api.out', 'glance-api.log']);

  let port = await freePort();
  writeFileSync(configPath, glanceConfig(dir, port, options));
  await runCommand(SYSTEM_PYTHON, pythonMain('glance.cmd.manage', ['glance-manage', '--config-file', configPath, 'db_sync']), {
    cwd: dir,
    outputPath: join(dir, 'db-sync.out'),
    timeoutMs: 300_000,
  });

  // A port taken between freePort() and the bind is retried with another one.
  for (let attempt = 1; ; attempt += 1) {
    writeFileSync(configPath, glanceConfig(dir, port, options));
    const api = spawnService(SYSTEM_PYTHON, pythonMain('glance.cmd.api', ['glance-api', '--config-file', configPath]), {
      cwd: dir,
      outputPath: join(dir, 'glance-api.out'),
    });
    const url = `http://127.0.0.1:${port}`;
    let answered: boolean;
    try {
      answered = await waitForHttp(`${url}/versions`, api, 240_000);
    } catch (error) {
      await api.stop();
      throw new Error(`Glance did not start: ${(error as Error).message}\n${tail(logs())}`);
    }
    if (!answered) {
      if (attempt < 3 && /Address already in use|Errno 98/.test(logs())) {
        port = await freePort();
        continue;
      }
      throw new Error(`Glance exited during start-up:\n${tail(logs())}`);
    }
    const startupMs = Date.now() - started;
    return {
      url,
      dir,
      startupMs,
      logs,
      accessLog: () => parseAccessLog(existsSync(join(dir, 'glance-api.log')) ? readFileSync(join(dir, 'glance-api.log'), 'utf8') : ''),
      async stop({ keepDir = false } = {}) {
        await api.stop();
        if (keepDir) rmSync(join(dir, 'images'), { recursive: true, force: true });
        else rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

/**
 * eventlet's access log lines, as Glance 25 writes them to its log file:
 * `... eventlet.wsgi.server [-] 127.0.0.1 - - [date] "GET /v2/images HTTP/1.1" 200 1234 0.01`.
 */
function parseAccessLog(text: string): GlanceAccessLogEntry[] {
  const entries: GlanceAccessLogEntry[] = [];
  for (const match of text.matchAll(/"([A-Z]+) (\S+) HTTP\/1\.[01]" (\d{3}) (\d+) /g)) {
    entries.push({ method: match[1] as string, path: match[2] as string, status: Number(match[3]), bytes: Number(match[4]) });
  }
  return entries;
}
