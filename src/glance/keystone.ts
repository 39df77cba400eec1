/**
 * Authentication as the OpenStack command-line client does it, over `fetch`: Keystone v3
 * password, application-credential and token authentication (keystoneauth's `password`,
 * `v3applicationcredential` and `token` plugins), a token given for an endpoint given
 * (`admin_token`), and no authentication at all (`none`, for a Glance without Keystone).
 * The image endpoint comes from the service catalog by interface and region, unless an
 * endpoint is given.
 *
 * Browser-safe (a browser needs Keystone's CORS to allow `Content-Type` and expose
 * `X-Subject-Token`).
 *
 * @module
 */
import { IntrospectionError } from '../errors.js';
import { type FetchFunction, sendJson, trimSlashes } from './http.js';

/** keystoneauth plugin names this client knows (the `auth_type` of `clouds.yaml`, `--os-auth-type`). */
export const AUTH_TYPES = ['password', 'v3password', 'v3applicationcredential', 'token', 'v3token', 'admin_token', 'none'] as const;

/** One of {@link AUTH_TYPES}. */
export type AuthType = (typeof AUTH_TYPES)[number];

/**
 * How to reach Glance, in the OpenStack client's terms (`--os-auth-url` is `authUrl`,
 * `OS_PROJECT_NAME` is `projectName`, ...).
 *
 * | `authType` | needs |
 * | --- | --- |
 * | `password`, `v3password` (default) | `authUrl`, `username` or `userId`, `password`, a project to scope to |
 * | `v3applicationcredential` | `authUrl`, `applicationCredentialSecret` and `applicationCredentialId` (or its name with the user) |
 * | `token`, `v3token` | `authUrl` and `token` (re-scoped to the project given, else validated as it is) |
 * | `admin_token` | `token` and `endpoint`: the token is sent as it is, no Keystone |
 * | `none` | `endpoint`: no token at all |
 *
 * The user's and project's domains default to the `default` domain, as the OpenStack
 * client's `--os-default-domain` does. `endpoint` overrides the catalog.
 */
export interface GlanceAuthOptions {
  authType?: AuthType | undefined;
  authUrl?: string | undefined;
  username?: string | undefined;
  userId?: string | undefined;
  password?: string | undefined;
  userDomainName?: string | undefined;
  userDomainId?: string | undefined;
  projectName?: string | undefined;
  projectId?: string | undefined;
  projectDomainName?: string | undefined;
  projectDomainId?: string | undefined;
  applicationCredentialId?: string | undefined;
  applicationCredentialName?: string | undefined;
  applicationCredentialSecret?: string | undefined;
  token?: string | undefined;
  /** The image endpoint to use instead of the catalog's. */
  endpoint?: string | undefined;
  /** The catalog region (`OS_REGION_NAME`); any region when unset. */
  regionName?: string | undefined;
  /** The catalog interface: `public` (default), `internal` or `admin` (`publicURL` etc. accepted). */
  interface?: string | undefined;
}

/** An authenticated way to Glance. */
export interface GlanceSession {
  /** The image endpoint, without a version suffix (`https://glance.example:9292`). */
  endpoint: string;
  /** The token to send as `X-Auth-Token`, if any. */
  token: string | undefined;
  /** When Keystone says the token expires (ISO 8601), if it does. */
  expiresAt?: string | undefined;
}

/** One entry of a Keystone v3 service catalog. */
export interface CatalogService {
  type: string;
  name?: string;
  endpoints: Array<{ interface: string; url: string; region_id?: string | null; region?: string | null }>;
}

interface TokenAnswer {
  token?: { catalog?: CatalogService[]; expires_at?: string; project?: { id: string; name: string } };
}

/** Authenticates as `options` say and finds the image endpoint. */
export async function authenticate(options: GlanceAuthOptions, fetchFunction: FetchFunction = fetch, signal?: AbortSignal): Promise<GlanceSession> {
  const authType = options.authType ?? inferAuthType(options);
  if (!AUTH_TYPES.includes(authType)) {
    throw new IntrospectionError('INVALID_ARGUMENT', `auth type "${authType}" is not supported (use one of ${AUTH_TYPES.join(', ')})`);
  }
  if (authType === 'none' || authType === 'admin_token') {
    const endpoint = required(options.endpoint, `auth type ${authType} needs an endpoint (--os-endpoint)`);
    const token = authType === 'admin_token' ? required(options.token, 'auth type admin_token needs a token (--os-token)') : undefined;
    return { endpoint: imageEndpoint(endpoint), token };
  }

  const tokensUrl = `${identityV3(required(options.authUrl, `auth type ${authType} needs an auth URL (--os-auth-url, OS_AUTH_URL)`))}/auth/tokens`;
  let answer: TokenAnswer;
  let token: string | null;
  if ((authType === 'token' || authType === 'v3token') && projectScope(options) === undefined) {
    // No project to re-scope to: validate the token as it is, which returns its catalog.
    const given = required(options.token, 'auth type token needs a token (--os-token)');
    const result = await sendJson<TokenAnswer>(fetchFunction, { method: 'GET', url: tokensUrl, headers: { 'X-Auth-Token': given, 'X-Subject-Token': given }, signal });
    answer = result.answer;
    token = given;
  } else {
    const result = await sendJson<TokenAnswer>(fetchFunction, { method: 'POST', url: tokensUrl, json: { auth: authBody(authType, options) }, signal });
    answer = result.answer;
    token = result.response.headers.get('X-Subject-Token');
    if (token === null) {
      throw new IntrospectionError('SOURCE_ERROR', `POST ${tokensUrl} sent no X-Subject-Token header (behind a browser, Keystone's CORS must expose it)`);
    }
  }
  const endpoint = options.endpoint ? imageEndpoint(options.endpoint) : endpointFromCatalog(answer.token?.catalog ?? [], options, tokensUrl);
  return { endpoint, token, expiresAt: answer.token?.expires_at };
}

/** The auth type the options imply when none is named, as the OpenStack client chooses. */
export function inferAuthType(options: GlanceAuthOptions): AuthType {
  if (options.applicationCredentialSecret !== undefined) return 'v3applicationcredential';
  if (options.token !== undefined) return options.authUrl === undefined && options.endpoint !== undefined ? 'admin_token' : 'token';
  if (options.authUrl === undefined && options.endpoint !== undefined) return 'none';
  return 'password';
}

/** The `auth` object of `POST /v3/auth/tokens` (Keystone API v3, "Authentication and token management"). */
function authBody(authType: AuthType, options: GlanceAuthOptions): Record<string, unknown> {
  if (authType === 'v3applicationcredential') {
    const secret = required(options.applicationCredentialSecret, 'application-credential auth needs the secret (--os-application-credential-secret)');
    let credential: Record<string, unknown>;
    if (options.applicationCredentialId) credential = { id: options.applicationCredentialId, secret };
    else {
      const name = required(options.applicationCredentialName, 'application-credential auth needs its id or its name (--os-application-credential-id)');
      credential = { name, secret, user: user(options) };
    }
    // An application credential carries its own scope: none is sent.
    return { identity: { methods: ['application_credential'], application_credential: credential } };
  }
  const scope = projectScope(options);
  if (authType === 'token' || authType === 'v3token') {
    const token = required(options.token, 'token auth needs a token (--os-token)');
    return { identity: { methods: ['token'], token: { id: token } }, ...(scope && { scope }) };
  }
  const password = required(options.password, 'password auth needs a password (--os-password, OS_PASSWORD)');
  if (scope === undefined) throw new IntrospectionError('INVALID_ARGUMENT', 'password auth needs a project (--os-project-name or --os-project-id): an unscoped token has no catalog');
  return { identity: { methods: ['password'], password: { user: { ...user(options), password } } }, scope };
}

function user(options: GlanceAuthOptions): Record<string, unknown> {
  if (options.userId) return { id: options.userId };
  const name = required(options.username, 'authentication needs a user (--os-username or --os-user-id)');
  return { name, domain: domain(options.userDomainId, options.userDomainName) };
}

function projectScope(options: GlanceAuthOptions): Record<string, unknown> | undefined {
  if (options.projectId) return { project: { id: options.projectId } };
  if (options.projectName) return { project: { name: options.projectName, domain: domain(options.projectDomainId, options.projectDomainName) } };
  return undefined;
}

function domain(id: string | undefined, name: string | undefined): Record<string, string> {
  if (id) return { id };
  if (name) return { name };
  return { id: 'default' };
}

/** The image endpoint the catalog lists for the interface and region asked for. */
export function endpointFromCatalog(catalog: readonly CatalogService[], options: Pick<GlanceAuthOptions, 'interface' | 'regionName'>, source: string): string {
  const wanted = (options.interface ?? 'public').replace(/URL$/, '');
  const region = options.regionName;
  const endpoints = catalog.filter((service) => service.type === 'image').flatMap((service) => service.endpoints);
  const match = endpoints.find(
    (endpoint) => endpoint.interface === wanted && (region === undefined || endpoint.region_id === region || endpoint.region === region),
  );
  if (match === undefined) {
    const listed = endpoints.map((endpoint) => `${endpoint.interface}@${endpoint.region_id ?? endpoint.region ?? '?'}`).join(', ') || 'none';
    throw new IntrospectionError(
      'SOURCE_ERROR',
      `the service catalog from ${source} has no ${wanted} image endpoint${region === undefined ? '' : ` in region ${region}`} (image endpoints: ${listed})`,
    );
  }
  return imageEndpoint(match.url);
}

/** The Keystone v3 base URL: `/v3` is added to an unversioned auth URL. */
function identityV3(authUrl: string): string {
  const base = trimSlashes(authUrl);
  if (/\/v3$/.test(base)) return base;
  if (/\/v2\.0$/.test(base)) throw new IntrospectionError('INVALID_ARGUMENT', `${authUrl} is Keystone's v2.0 API, which this client does not speak: use the v3 auth URL`);
  return `${base}/v3`;
}

/** An image endpoint without a trailing `/v2` (catalogs list either; python-glanceclient strips it too). */
export function imageEndpoint(url: string): string {
  return trimSlashes(url).replace(/\/v2(?:\.\d+)?$/, '');
}

function required(value: string | undefined, message: string): string {
  if (value === undefined || value === '') throw new IntrospectionError('INVALID_ARGUMENT', message);
  return value;
}
