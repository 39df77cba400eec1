/**
 * Where the OpenStack command-line client finds its credentials, read the same way (Node
 * only: files and the environment):
 *
 * 1. `--os-*` options (`--os-auth-url URL`, `--os-project-name NAME`, ...),
 * 2. `OS_*` environment variables (`OS_AUTH_URL`, `OS_PROJECT_NAME`, ...),
 * 3. the cloud named by `--os-cloud` or `OS_CLOUD` in `clouds.yaml`, with `secure.yaml`
 *    merged over it, found as openstacksdk finds them: `OS_CLIENT_CONFIG_FILE` (and
 *    `OS_CLIENT_SECURE_FILE`), else the first of `./clouds.yaml`,
 *    `$XDG_CONFIG_HOME/openstack/clouds.yaml` (`~/.config/openstack`) and
 *    `/etc/openstack/clouds.yaml` (`.yml` too).
 *
 * An earlier source wins over a later one, key by key, as in the OpenStack client (whose
 * options default to the `OS_*` variables, and override the cloud's settings).
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { IntrospectionError } from '../errors.js';
import { AUTH_TYPES, type AuthType, type GlanceAuthOptions } from './keystone.js';

/** Options names (as in `--os-<name>` with dashes, `OS_<NAME>`, and `clouds.yaml` keys) and where they go. */
const OPTION_KEYS: Readonly<Record<string, keyof GlanceAuthOptions>> = {
  auth_type: 'authType',
  auth_url: 'authUrl',
  username: 'username',
  user_name: 'username',
  user_id: 'userId',
  password: 'password',
  user_domain_name: 'userDomainName',
  user_domain_id: 'userDomainId',
  project_name: 'projectName',
  tenant_name: 'projectName',
  project_id: 'projectId',
  tenant_id: 'projectId',
  project_domain_name: 'projectDomainName',
  project_domain_id: 'projectDomainId',
  application_credential_id: 'applicationCredentialId',
  application_credential_name: 'applicationCredentialName',
  application_credential_secret: 'applicationCredentialSecret',
  token: 'token',
  endpoint: 'endpoint',
  image_endpoint_override: 'endpoint',
  region_name: 'regionName',
  interface: 'interface',
  endpoint_type: 'interface',
};

/** Option names that take their value from `default_domain_*` when not given. */
const DEFAULT_DOMAIN_TARGETS = { id: ['userDomainId', 'projectDomainId'], name: ['userDomainName', 'projectDomainName'] } as const;

/** What {@link resolveAuthOptions} looks at. */
export interface AuthSources {
  /** `--os-*` options, by their snake_case name (`auth_url`), and `cloud`. */
  options: Record<string, string>;
  /** The environment (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** The working directory, where `clouds.yaml` is looked for first (default `process.cwd()`). */
  cwd?: string;
  /** The home directory (default `os.homedir()`). */
  home?: string;
}

/** The auth options for the cloud and the options given. */
export async function resolveAuthOptions(sources: AuthSources): Promise<GlanceAuthOptions> {
  const env = sources.env ?? process.env;
  const layers: Array<Record<string, string>> = [sources.options, fromEnvironment(env)];
  const cloudName = sources.options.cloud ?? env.OS_CLOUD;
  if (cloudName) layers.push(await cloudSettings(cloudName, env, sources.cwd ?? process.cwd(), sources.home ?? homedir()));

  const resolved: GlanceAuthOptions = {};
  const defaultDomain: { id?: string; name?: string } = {};
  for (const layer of layers) {
    for (const [name, value] of Object.entries(layer)) {
      if (value === '') continue;
      if (name === 'default_domain_id' || name === 'default_domain') defaultDomain.id ??= value;
      else if (name === 'default_domain_name') defaultDomain.name ??= value;
      const key = OPTION_KEYS[name];
      if (key !== undefined && resolved[key] === undefined) (resolved as Record<string, string>)[key] = value;
    }
  }
  for (const kind of ['id', 'name'] as const) {
    const value = defaultDomain[kind];
    if (value === undefined) continue;
    for (const key of DEFAULT_DOMAIN_TARGETS[kind]) {
      const other = key.replace(/(Id|Name)$/, kind === 'id' ? 'Name' : 'Id') as keyof GlanceAuthOptions;
      if (resolved[key] === undefined && resolved[other] === undefined) (resolved as Record<string, string>)[key] = value;
    }
  }
  if (resolved.authType !== undefined && !AUTH_TYPES.includes(resolved.authType as AuthType)) {
    throw new IntrospectionError('INVALID_ARGUMENT', `auth type "${resolved.authType}" is not supported (use one of ${AUTH_TYPES.join(', ')})`);
  }
  return resolved;
}

/** `OS_AUTH_URL` and the like, by their snake_case option name. */
function fromEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('OS_') || value === undefined) continue;
    settings[name.slice(3).toLowerCase()] = value;
  }
  return settings;
}

/** The named cloud's settings from `clouds.yaml` (and `secure.yaml`), flattened to option names. */
async function cloudSettings(name: string, env: NodeJS.ProcessEnv, cwd: string, home: string): Promise<Record<string, string>> {
  const configHome = env.XDG_CONFIG_HOME || join(home, '.config');
  const folders = [cwd, join(configHome, 'openstack'), '/etc/openstack'];
  const candidates = (base: string, override: string | undefined) =>
    override ? [override] : folders.flatMap((folder) => [join(folder, `${base}.yaml`), join(folder, `${base}.yml`)]);
  const clouds = await firstYaml(candidates('clouds', env.OS_CLIENT_CONFIG_FILE));
  if (clouds === undefined) {
    throw new IntrospectionError('INVALID_ARGUMENT', `cloud "${name}" asked for, but no clouds.yaml was found (looked in ${folders.join(', ')})`);
  }
  const secure = await firstYaml(candidates('secure', env.OS_CLIENT_SECURE_FILE));
  const cloud = cloudEntry(clouds.document, name);
  if (cloud === undefined) throw new IntrospectionError('INVALID_ARGUMENT', `${clouds.path} has no cloud named "${name}"`);
  const secret = secure === undefined ? undefined : cloudEntry(secure.document, name);
  return { ...flatten(cloud), ...(secret && flatten(secret)) };
}

async function firstYaml(paths: readonly string[]): Promise<{ path: string; document: unknown } | undefined> {
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      continue;
    }
    // Loaded only when a clouds.yaml is there: `--os-auth-type none` and `OS_*` users never pay for it.
    const { parse } = await import('yaml');
    try {
      return { path, document: parse(text) as unknown };
    } catch (error) {
      throw new IntrospectionError('INVALID_ARGUMENT', `${path} is not valid YAML: ${(error as Error).message}`);
    }
  }
  return undefined;
}

function cloudEntry(document: unknown, name: string): Record<string, unknown> | undefined {
  const clouds = (document as { clouds?: Record<string, unknown> } | null)?.clouds;
  const entry = clouds?.[name];
  return typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : undefined;
}

/** A cloud entry's settings: its `auth` keys and its top-level keys, strings only; the first of `regions` as the region. */
function flatten(cloud: Record<string, unknown>): Record<string, string> {
  const settings: Record<string, string> = {};
  const take = (object: Record<string, unknown>) => {
    for (const [key, value] of Object.entries(object)) {
      if (typeof value === 'string' || typeof value === 'number') settings[key] = String(value);
    }
  };
  take(cloud);
  if (typeof cloud.auth === 'object' && cloud.auth !== null) take(cloud.auth as Record<string, unknown>);
  const regions = cloud.regions;
  if (settings.region_name === undefined && Array.isArray(regions)) {
    const first = regions[0] as unknown;
    const region = typeof first === 'string' ? first : (first as { name?: unknown } | undefined)?.name;
    if (typeof region === 'string') settings.region_name = region;
  }
  return settings;
}
