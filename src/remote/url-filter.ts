/**
 * The URL filter: which schemes, hosts, ports and addresses a fetch may reach. A service
 * that introspects URLs its users give (as Glance's `web-download` import does) must not
 * become a way into its own network (server-side request forgery).
 *
 * Modelled on Glance's `[import_filtering_opts]` (scheme, host and port allow and deny
 * lists), with what Glance had to add in its 2025-2026 SSRF fixes built in from the start:
 *
 * | bypass Glance fixed | here |
 * | --- | --- |
 * | redirects to internal hosts (bug 2138602) | every hop is checked before it is requested (`range-fetcher.ts`) |
 * | encoded addresses: `2130706433`, `0x7f000001`, `0177.0.0.1` (bug 2138602) | the WHATWG URL parser turns them into `127.0.0.1` before the check, and the request goes to the same parsed URL |
 * | loopback and link-local targets allowed by default (bug 2158998) | every special-purpose range is denied by default |
 * | names resolving to internal addresses (bug 2158998), DNS rebinding | Node resolves once, checks every address, and connects to a checked one (`src/node-transport.ts`) |
 * | IPv6 forms of IPv4 addresses | `::ffff:127.0.0.1`, NAT64, 6to4 and Teredo addresses are checked as the IPv4 address they lead to |
 *
 * Each level is judged on its own, as in Glance: an allow list, when not empty, is the only
 * thing that passes; otherwise the deny list refuses. Addresses are the exception:
 * `allowedRanges` carves exceptions out of `deniedRanges` (a private mirror in an otherwise
 * denied range).
 *
 * @module
 */
import { IntrospectionError } from '../errors.js';
import { type IpAddress, type IpRange, embeddedIpv4, formatIpAddress, inRange, parseIpAddress, parseIpRange } from './ip-address.js';

/**
 * What a fetch may reach. Fields left out take the value of {@link SERVICE_URL_FILTER};
 * an empty list switches that rule off.
 *
 * | field | meaning |
 * | --- | --- |
 * | `schemes` | `http`, `https` or both (nothing else is ever fetched) |
 * | `allowedHosts` | when not empty, only these hosts: names (`images.example.com`), `*.example.com` for any name under it, or address literals |
 * | `deniedHosts` | hosts refused (same forms), when `allowedHosts` is empty |
 * | `allowedPorts` | when not empty, only these ports (the scheme's default port counts as given) |
 * | `deniedPorts` | ports refused, when `allowedPorts` is empty |
 * | `deniedRanges` | CIDR ranges refused: the address literal in the URL, and every address a name resolves to |
 * | `allowedRanges` | CIDR ranges allowed even inside `deniedRanges` |
 */
export interface UrlFilter {
  readonly schemes?: readonly string[];
  readonly allowedHosts?: readonly string[];
  readonly deniedHosts?: readonly string[];
  readonly allowedPorts?: readonly number[];
  readonly deniedPorts?: readonly number[];
  readonly deniedRanges?: readonly string[];
  readonly allowedRanges?: readonly string[];
}

/** A filter, or the name of a preset: `'service'` ({@link SERVICE_URL_FILTER}) or `'permissive'` ({@link PERMISSIVE_URL_FILTER}). */
export type UrlFilterOption = UrlFilter | 'service' | 'permissive';

/**
 * Every IANA special-purpose IPv4 and IPv6 range (RFC 6890 registries), multicast and the
 * reserved blocks: loopback, "this network", RFC 1918 private networks, shared address
 * space (carrier-grade NAT), link-local (cloud metadata at 169.254.169.254 and
 * fd00:ec2::254), unique local, documentation, benchmarking, site-local, 6to4 relays,
 * NAT64 local use, Teredo and the IETF protocol assignments.
 */
export const SPECIAL_PURPOSE_RANGES: readonly string[] = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.31.196.0/24',
  '192.52.193.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '192.175.48.0/24',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  '::1/128',
  '64:ff9b:1::/48',
  '100::/64',
  '2001::/23',
  '2001:db8::/32',
  '2620:4f:8000::/48',
  '3fff::/20',
  '5f00::/16',
  'fc00::/7',
  'fe80::/10',
  'fec0::/10',
  'ff00::/8',
];

/**
 * The default: for a service fetching URLs its users give. `http` and `https` on ports 80
 * and 443 only (Glance's default `allowed_ports`); no special-purpose address
 * ({@link SPECIAL_PURPOSE_RANGES}), literal or resolved; no `localhost`, `*.localhost`
 * (RFC 6761), `*.local` (mDNS) or `*.internal` name, which a browser (which cannot resolve
 * names for us) would otherwise reach.
 */
export const SERVICE_URL_FILTER: Required<UrlFilter> = {
  schemes: ['http', 'https'],
  allowedHosts: [],
  deniedHosts: ['localhost', '*.localhost', '*.local', '*.internal'],
  allowedPorts: [80, 443],
  deniedPorts: [],
  deniedRanges: SPECIAL_PURPOSE_RANGES,
  allowedRanges: [],
};

/** Anything over `http` or `https`: for a user's own URL on the command line. */
export const PERMISSIVE_URL_FILTER: Required<UrlFilter> = {
  schemes: ['http', 'https'],
  allowedHosts: [],
  deniedHosts: [],
  allowedPorts: [],
  deniedPorts: [],
  deniedRanges: [],
  allowedRanges: [],
};

/** A host pattern: an exact host (a name or a normalized address literal), or every name under a suffix. */
type HostPattern = { exact: string } | { suffix: string };

/** A filter, validated and ready to check URLs and addresses. */
export class CompiledUrlFilter {
  private constructor(
    private readonly schemes: readonly string[],
    private readonly allowedHosts: readonly HostPattern[],
    private readonly deniedHosts: readonly HostPattern[],
    private readonly allowedPorts: readonly number[],
    private readonly deniedPorts: readonly number[],
    private readonly deniedRanges: readonly IpRange[],
    private readonly allowedRanges: readonly IpRange[],
  ) {}

  /** Validates a filter option (`INVALID_ARGUMENT` naming the field) and fills in the defaults. */
  static compile(option: UrlFilterOption | undefined): CompiledUrlFilter {
    const given = option === undefined || option === 'service' ? SERVICE_URL_FILTER : option === 'permissive' ? PERMISSIVE_URL_FILTER : option;
    if (typeof given !== 'object' || given === null || Array.isArray(given)) {
      throw invalid(`urlFilter must be 'service', 'permissive' or an object, not ${JSON.stringify(given)}`);
    }
    for (const key of Object.keys(given)) {
      if (!(key in SERVICE_URL_FILTER)) throw invalid(`urlFilter: unknown field "${key}" (known: ${Object.keys(SERVICE_URL_FILTER).join(', ')})`);
    }
    const filter = { ...SERVICE_URL_FILTER, ...dropUndefined(given) };
    const schemes = stringList(filter.schemes, 'schemes').map((scheme) => scheme.toLowerCase().replace(/:$/, ''));
    for (const scheme of schemes) if (scheme !== 'http' && scheme !== 'https') throw invalid(`urlFilter.schemes: "${scheme}" cannot be fetched (http and https only)`);
    return new CompiledUrlFilter(
      schemes.length === 0 ? ['http', 'https'] : schemes,
      stringList(filter.allowedHosts, 'allowedHosts').map(hostPattern),
      stringList(filter.deniedHosts, 'deniedHosts').map(hostPattern),
      portList(filter.allowedPorts, 'allowedPorts'),
      portList(filter.deniedPorts, 'deniedPorts'),
      rangeList(filter.deniedRanges, 'deniedRanges'),
      rangeList(filter.allowedRanges, 'allowedRanges'),
    );
  }

  /** True when addresses are checked (a name then has to be resolved to be judged). */
  get checksAddresses(): boolean {
    return this.deniedRanges.length > 0;
  }

  /**
   * Why `url` may not be fetched, or `undefined` when it may: its scheme, host and port, and
   * its address when the host is an address literal. A name is judged by its address at
   * connection time (see {@link checkAddress}).
   */
  checkUrl(url: URL): string | undefined {
    const scheme = url.protocol.replace(/:$/, '');
    if (!this.schemes.includes(scheme)) return `the scheme ${scheme} is not allowed (allowed: ${this.schemes.join(', ')})`;
    if (url.username !== '' || url.password !== '') return 'a URL with credentials in it is not fetched (pass them as headers)';
    const host = normalizeHost(url.hostname);
    if (this.allowedHosts.length > 0) {
      if (!this.allowedHosts.some((pattern) => hostMatches(pattern, host))) return `the host ${host} is not in allowedHosts`;
    } else if (this.deniedHosts.some((pattern) => hostMatches(pattern, host))) {
      return `the host ${host} is denied`;
    }
    const port = url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port);
    if (this.allowedPorts.length > 0) {
      if (!this.allowedPorts.includes(port)) return `the port ${port} is not allowed (allowed: ${this.allowedPorts.join(', ')})`;
    } else if (this.deniedPorts.includes(port)) {
      return `the port ${port} is denied`;
    }
    const literal = parseIpAddress(url.hostname);
    return literal === undefined ? undefined : this.checkAddress(literal);
  }

  /**
   * Why a connection to `address` (a literal, or one a name resolved to) is refused, or
   * `undefined`. An address that leads to an IPv4 address (mapped, NAT64, 6to4, Teredo) is
   * judged as that address too.
   */
  checkAddress(address: IpAddress | string): string | undefined {
    const parsed = typeof address === 'string' ? parseIpAddress(address) : address;
    if (parsed === undefined) return `${String(address)} is not an IP address`;
    for (const candidate of [parsed, embeddedIpv4(parsed)]) {
      if (candidate === undefined) continue;
      const denied = this.deniedRanges.find((range) => inRange(candidate, range));
      if (denied !== undefined && !this.allowedRanges.some((range) => inRange(candidate, range))) {
        return `the address ${formatIpAddress(candidate)} is in the denied range ${denied.text}`;
      }
    }
    return undefined;
  }
}

function invalid(message: string): IntrospectionError {
  return new IntrospectionError('INVALID_ARGUMENT', message, { field: 'urlFilter' });
}

function dropUndefined(filter: UrlFilter): UrlFilter {
  return Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== undefined)) as UrlFilter;
}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw invalid(`urlFilter.${field} must be a list of strings`);
  return value as string[];
}

function portList(value: unknown, field: string): number[] {
  if (!Array.isArray(value) || value.some((item) => !Number.isInteger(item) || (item as number) < 1 || (item as number) > 65535)) {
    throw invalid(`urlFilter.${field} must be a list of port numbers (1-65535)`);
  }
  return value as number[];
}

function rangeList(value: unknown, field: string): IpRange[] {
  return stringList(value, field).map((text) => {
    const range = parseIpRange(text);
    if (range === undefined) throw invalid(`urlFilter.${field}: "${text}" is not an address range (a.b.c.d/n or x::/n)`);
    return range;
  });
}

/** Lower case, without a trailing dot (`LOCALHOST.` is `localhost`). */
function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

/** A pattern from a host list: `*.example.com`, a name, or an address literal in any form a URL accepts (normalized as a URL would). */
function hostPattern(text: string): HostPattern {
  const lower = normalizeHost(text.trim());
  if (lower.startsWith('*.')) return { suffix: lower.slice(1) };
  try {
    const literal = lower.includes(':') && !lower.startsWith('[') ? `[${lower}]` : lower;
    return { exact: normalizeHost(new URL(`http://${literal}/`).hostname) };
  } catch {
    throw invalid(`"${text}" is not a host name or address`);
  }
}

function hostMatches(pattern: HostPattern, host: string): boolean {
  return 'exact' in pattern ? pattern.exact === host : host.endsWith(pattern.suffix) && host.length > pattern.suffix.length;
}
