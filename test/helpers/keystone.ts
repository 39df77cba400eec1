/**
 * A real OpenStack Keystone for the tests: Debian's `keystone` (22.0 on bookworm) with
 * SQLite and Fernet tokens in a temp dir, served by uWSGI (Debian's `uwsgi-core` and
 * `uwsgi-plugin-python3`, what the package's own service uses; one process with one thread,
 * because Keystone's SQLite connections must not cross threads) or, where uWSGI is absent,
 * by the WSGI server from Python's standard library that `keystone-wsgi-public` runs.
 *
 * Set-up as an operator does it: `keystone-manage db_sync`, `fernet_setup`,
 * `credential_setup` and `bootstrap` (an admin user, the identity service and its
 * endpoint), run in one Python process (each `keystone-manage` run spends ~5 s importing
 * Keystone). Then, through Keystone's own API: the image service with endpoints pointing at
 * the Glance harness, a test project and user with the `member` role, and an application
 * credential of that user.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM_PYTHON, freePort, readLogs, runCommand, spawnService, tail, waitForHttp } from './glance.js';

const KEYSTONE_PACKAGE = '/usr/lib/python3/dist-packages/keystone/cmd/cli.py';
const KEYSTONE_WSGI = '/usr/bin/keystone-wsgi-public';
const UWSGI = '/usr/bin/uwsgi';
const UWSGI_PYTHON_PLUGIN = '/usr/lib/uwsgi/plugins/python3_plugin.so';

/** Why Keystone cannot run here, or undefined when it can. */
export const keystoneMissing: string | undefined =
  !existsSync(KEYSTONE_PACKAGE) || !existsSync(KEYSTONE_WSGI) ? 'keystone is not installed (.ci/run installs it)' : undefined;

/**
 * An endpoint to register in the catalog. Its region must be the bootstrap one
 * ({@link KEYSTONE_REGION}): Keystone 22 on SQLite leaves the database locked after
 * `POST /v3/regions` (every later write fails with "database is locked").
 */
export interface CatalogEndpoint {
  url: string;
  interface: 'public' | 'internal' | 'admin';
  region: typeof KEYSTONE_REGION;
}

/** Options for {@link startKeystone}. */
export interface KeystoneOptions {
  /** Image-service endpoints (the Glance harness's URL, maybe a decoy in another region). */
  imageEndpoints: CatalogEndpoint[] | Promise<CatalogEndpoint[]>;
}

/** A running Keystone. */
export interface KeystoneService {
  /** `http://127.0.0.1:PORT/v3`. */
  readonly authUrl: string;
  /** The region of the bootstrap endpoints. */
  readonly region: string;
  readonly admin: { username: string; password: string; projectName: string; domainName: string };
  /** The test user, a `member` of its project. */
  readonly user: { id: string; username: string; password: string; projectId: string; projectName: string; domainName: string };
  /** An application credential of the test user. */
  readonly applicationCredential: { id: string; name: string; secret: string };
  /** Milliseconds from the start of the set-up to the last API call of it. */
  readonly startupMs: number;
  logs(): string;
  stop(options?: { keepDir?: boolean }): Promise<void>;
}

/** The one region: the bootstrap's. */
export const KEYSTONE_REGION = 'RegionOne';
const REGION = KEYSTONE_REGION;
const ADMIN_PASSWORD = 'admin-secret';

function keystoneConfig(dir: string): string {
  return `[DEFAULT]
log_file = ${join(dir, 'keystone.log')}
use_stderr = false

[database]
connection = sqlite:///${join(dir, 'keystone.sqlite')}

[fernet_tokens]
key_repository = ${join(dir, 'fernet-keys')}

[fernet_receipts]
key_repository = ${join(dir, 'fernet-keys')}

[credential]
key_repository = ${join(dir, 'credential-keys')}

[catalog]
driver = sql
`;
}

/**
 * The four keystone-manage steps in one interpreter: oslo.config is cleared between them,
 * as a fresh `keystone-manage` process would start.
 */
function setupScript(configPath: string, publicUrl: string): string {
  const user = process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'root');
  const steps = [
    ['db_sync'],
    ['fernet_setup', '--keystone-user', user, '--keystone-group', user],
    ['credential_setup', '--keystone-user', user, '--keystone-group', user],
    ['bootstrap', '--bootstrap-password', ADMIN_PASSWORD, '--bootstrap-region-id', REGION, '--bootstrap-public-url', publicUrl],
  ];
  return [
    'import sys',
    'from keystone.cmd import cli',
    `for step in ${JSON.stringify(steps)}:`,
    "    print('keystone-manage', step[0], flush=True)",
    '    cli.CONF.clear()',
    `    cli.main(argv=['keystone-manage', '--config-file', ${JSON.stringify(configPath)}] + step)`,
  ].join('\n');
}

async function api(url: string, init: { method?: string; token?: string; body?: unknown }): Promise<{ json: Record<string, unknown>; token: string | null }> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      'Content-Type': 'application/json',
      ...(init.token ? { 'X-Auth-Token': init.token } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`Keystone ${init.method ?? 'GET'} ${url}: ${response.status} ${text}`);
  return { json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), token: response.headers.get('x-subject-token') };
}

async function passwordToken(authUrl: string, username: string, password: string, project: string): Promise<string> {
  const { token } = await api(`${authUrl}/auth/tokens`, {
    method: 'POST',
    body: {
      auth: {
        identity: { methods: ['password'], password: { user: { name: username, domain: { id: 'default' }, password } } },
        scope: { project: { name: project, domain: { id: 'default' } } },
      },
    },
  });
  if (token === null) throw new Error('Keystone sent no X-Subject-Token');
  return token;
}

const field = (object: Record<string, unknown>, key: string): Record<string, unknown> => object[key] as Record<string, unknown>;

/** Starts Keystone in a temp dir on a free port, with the test user and catalog. */
export async function startKeystone(options: KeystoneOptions): Promise<KeystoneService> {
  if (keystoneMissing) throw new Error(keystoneMissing);
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'keystone-'));
  mkdirSync(join(dir, 'fernet-keys'));
  mkdirSync(join(dir, 'credential-keys'));
  const configPath = join(dir, 'keystone.conf');
  writeFileSync(configPath, keystoneConfig(dir));
  const logs = () => readLogs(dir, ['setup.out', 'server.out', 'keystone.log']);

  let port = await freePort();
  const publicUrl = () => `http://127.0.0.1:${port}/v3`;
  writeFileSync(join(dir, 'setup.py'), setupScript(configPath, publicUrl()));
  await runCommand(SYSTEM_PYTHON, [join(dir, 'setup.py')], { cwd: dir, outputPath: join(dir, 'setup.out'), timeoutMs: 300_000 });

  const env = { OS_KEYSTONE_CONFIG_FILES: configPath };
  const useUwsgi = existsSync(UWSGI) && existsSync(UWSGI_PYTHON_PLUGIN);
  let server: ReturnType<typeof spawnService> | undefined;
  for (let attempt = 1; server === undefined; attempt += 1) {
    const args = useUwsgi
      ? ['--plugins', 'python3', '--http-socket', `127.0.0.1:${port}`, '--wsgi-file', KEYSTONE_WSGI, '--processes', '1', '--threads', '1',
         '--die-on-term', '--need-app', '--buffer-size', '65535', '--env', `OS_KEYSTONE_CONFIG_FILES=${configPath}`]
      : [KEYSTONE_WSGI, '--host', '127.0.0.1', '--port', String(port)];
    const candidate = spawnService(useUwsgi ? UWSGI : SYSTEM_PYTHON, args, { cwd: dir, env, outputPath: join(dir, 'server.out') });
    let answered: boolean;
    try {
      answered = await waitForHttp(`http://127.0.0.1:${port}/v3`, candidate, 240_000);
    } catch (error) {
      await candidate.stop();
      throw new Error(`Keystone did not start: ${(error as Error).message}\n${tail(logs())}`);
    }
    if (answered) server = candidate;
    else if (attempt < 3 && /Address already in use|Errno 98/.test(candidate.output())) {
      // The catalog names the port: re-point the bootstrap endpoint through the API later.
      port = await freePort();
    } else throw new Error(`Keystone exited during start-up:\n${tail(candidate.output())}\n${tail(logs())}`);
  }
  const running = server;

  try {
    const authUrl = publicUrl();
    const admin = await passwordToken(authUrl, 'admin', ADMIN_PASSWORD, 'admin');
    // The identity endpoint bootstrap wrote names the first port; keep it right after a retry.
    const endpoints = (await api(`${authUrl}/endpoints`, { token: admin })).json.endpoints as Array<{ id: string; url: string }>;
    for (const endpoint of endpoints) {
      if (endpoint.url !== authUrl) await api(`${authUrl}/endpoints/${endpoint.id}`, { method: 'PATCH', token: admin, body: { endpoint: { url: authUrl } } });
    }

    const service = field((await api(`${authUrl}/services`, { method: 'POST', token: admin, body: { service: { type: 'image', name: 'glance' } } })).json, 'service');
    for (const endpoint of await options.imageEndpoints) {
      await api(`${authUrl}/endpoints`, {
        method: 'POST',
        token: admin,
        body: { endpoint: { service_id: service.id, interface: endpoint.interface, url: endpoint.url, region_id: endpoint.region } },
      });
    }

    const project = field((await api(`${authUrl}/projects`, { method: 'POST', token: admin, body: { project: { name: 'demo', domain_id: 'default' } } })).json, 'project');
    const password = 'demo-secret';
    const user = field(
      (await api(`${authUrl}/users`, { method: 'POST', token: admin, body: { user: { name: 'demo', password, domain_id: 'default', default_project_id: project.id } } })).json,
      'user',
    );
    const roles = (await api(`${authUrl}/roles?name=member`, { token: admin })).json.roles as Array<{ id: string }>;
    const member = roles[0];
    if (member === undefined) throw new Error('bootstrap made no member role');
    await api(`${authUrl}/projects/${project.id}/users/${user.id}/roles/${member.id}`, { method: 'PUT', token: admin });

    const userToken = await passwordToken(authUrl, 'demo', password, 'demo');
    const credential = field(
      (await api(`${authUrl}/users/${user.id}/application_credentials`, { method: 'POST', token: userToken, body: { application_credential: { name: 'image-introspect-test' } } })).json,
      'application_credential',
    );

    return {
      authUrl,
      region: REGION,
      admin: { username: 'admin', password: ADMIN_PASSWORD, projectName: 'admin', domainName: 'Default' },
      user: { id: user.id as string, username: 'demo', password, projectId: project.id as string, projectName: 'demo', domainName: 'Default' },
      applicationCredential: { id: credential.id as string, name: credential.name as string, secret: credential.secret as string },
      startupMs: Date.now() - started,
      logs,
      async stop({ keepDir = false } = {}) {
        await running.stop();
        if (!keepDir) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await running.stop();
    throw new Error(`Keystone set-up failed: ${(error as Error).message}\n${tail(logs())}`);
  }
}
