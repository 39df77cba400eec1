/**
 * Where the glance commands find credentials, as the OpenStack client does: options over
 * OS_* variables over clouds.yaml (with secure.yaml merged), searched in openstacksdk's
 * order. Files are written to a temp dir; nothing is read from the machine's own config.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isIntrospectionError } from '../../src/errors.js';
import { resolveAuthOptions } from '../../src/glance/node-config.js';

const root = mkdtempSync(join(tmpdir(), 'glance-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const home = join(root, 'home');
const cwd = join(root, 'work');
mkdirSync(join(home, '.config', 'openstack'), { recursive: true });
mkdirSync(cwd, { recursive: true });

const userClouds = `clouds:
  prod:
    auth:
      auth_url: https://keystone.example:5000/v3
      username: alice
      project_name: web
      user_domain_name: Users
      project_domain_id: default
    region_name: RegionTwo
    interface: internal
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example:5000
      application_credential_id: 0123abcd
      application_credential_secret: s3cret
    regions:
      - name: RegionThree
  standalone:
    auth_type: none
    auth:
      endpoint: http://glance.local:9292
  defaulted:
    auth:
      auth_url: https://keystone.example:5000/v3
      username: bob
      password: pw
      project_name: demo
      default_domain: ldap
`;
writeFileSync(join(home, '.config', 'openstack', 'clouds.yaml'), userClouds);
writeFileSync(join(home, '.config', 'openstack', 'secure.yaml'), 'clouds:\n  prod:\n    auth:\n      password: from-secure-yaml\n');

describe('clouds.yaml, secure.yaml, OS_* and --os-*', () => {
  it('reads the named cloud from the user config folder, with secure.yaml merged', async () => {
    const options = await resolveAuthOptions({ options: { cloud: 'prod' }, env: {}, cwd, home });
    expect(options).toEqual({
      authUrl: 'https://keystone.example:5000/v3',
      username: 'alice',
      password: 'from-secure-yaml',
      projectName: 'web',
      userDomainName: 'Users',
      projectDomainId: 'default',
      regionName: 'RegionTwo',
      interface: 'internal',
    });
  });

  it('OS_CLOUD names the cloud; OS_* variables win over it, and --os-* options over both', async () => {
    const env = { OS_CLOUD: 'prod', OS_REGION_NAME: 'RegionOne', OS_PASSWORD: 'from-env' };
    const fromEnv = await resolveAuthOptions({ options: {}, env, cwd, home });
    expect(fromEnv).toMatchObject({ username: 'alice', regionName: 'RegionOne', password: 'from-env' });
    const fromOptions = await resolveAuthOptions({ options: { password: 'from-option', project_name: 'ops' }, env, cwd, home });
    expect(fromOptions).toMatchObject({ password: 'from-option', projectName: 'ops', regionName: 'RegionOne' });
  });

  it('application credentials, the first of regions, auth_type none with an endpoint', async () => {
    expect(await resolveAuthOptions({ options: { cloud: 'appcred' }, env: {}, cwd, home })).toEqual({
      authType: 'v3applicationcredential',
      authUrl: 'https://keystone.example:5000',
      applicationCredentialId: '0123abcd',
      applicationCredentialSecret: 's3cret',
      regionName: 'RegionThree',
    });
    expect(await resolveAuthOptions({ options: { cloud: 'standalone' }, env: {}, cwd, home })).toEqual({ authType: 'none', endpoint: 'http://glance.local:9292' });
  });

  it('default_domain fills the user and project domains that are not given', async () => {
    expect(await resolveAuthOptions({ options: { cloud: 'defaulted' }, env: {}, cwd, home })).toMatchObject({ userDomainId: 'ldap', projectDomainId: 'ldap' });
  });

  it('a clouds.yaml in the working directory comes first; OS_CLIENT_CONFIG_FILE replaces the search', async () => {
    writeFileSync(join(cwd, 'clouds.yaml'), 'clouds:\n  prod:\n    auth:\n      auth_url: http://local:5000\n');
    try {
      expect((await resolveAuthOptions({ options: { cloud: 'prod' }, env: {}, cwd, home })).authUrl).toBe('http://local:5000');
      const elsewhere = join(root, 'other.yaml');
      writeFileSync(elsewhere, 'clouds:\n  prod:\n    auth:\n      auth_url: http://other:5000\n');
      expect((await resolveAuthOptions({ options: { cloud: 'prod' }, env: { OS_CLIENT_CONFIG_FILE: elsewhere }, cwd, home })).authUrl).toBe('http://other:5000');
    } finally {
      rmSync(join(cwd, 'clouds.yaml'));
    }
  });

  it('OS_* variables alone, with the legacy tenant and endpoint-type names', async () => {
    const env = { OS_AUTH_URL: 'http://k:5000/v3', OS_USERNAME: 'u', OS_PASSWORD: 'p', OS_TENANT_NAME: 't', OS_ENDPOINT_TYPE: 'publicURL', HOME: '/nowhere' };
    expect(await resolveAuthOptions({ options: {}, env, cwd, home })).toEqual({ authUrl: 'http://k:5000/v3', username: 'u', password: 'p', projectName: 't', interface: 'publicURL' });
  });

  it('a missing cloud, a missing clouds.yaml, invalid YAML and an unknown auth type are clear errors', async () => {
    const failure = async (promise: Promise<unknown>) => {
      const error = await promise.then(() => undefined, (caught: unknown) => caught);
      expect(isIntrospectionError(error)).toBe(true);
      return (error as Error).message;
    };
    expect(await failure(resolveAuthOptions({ options: { cloud: 'nope' }, env: {}, cwd, home }))).toMatch(/no cloud named "nope"/);
    expect(await failure(resolveAuthOptions({ options: { cloud: 'prod' }, env: {}, cwd, home: join(root, 'empty') }))).toMatch(/no clouds\.yaml was found/);
    const broken = join(root, 'broken.yaml');
    writeFileSync(broken, 'clouds: [unclosed\n');
    expect(await failure(resolveAuthOptions({ options: { cloud: 'prod' }, env: { OS_CLIENT_CONFIG_FILE: broken }, cwd, home }))).toMatch(/not valid YAML/);
    expect(await failure(resolveAuthOptions({ options: { auth_type: 'saml2' }, env: {}, cwd, home }))).toMatch(/auth type "saml2" is not supported/);
  });
});
